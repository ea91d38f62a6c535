//! `flowstate.toml`: which local handler performs which Task resource.
//!
//! The file has one table, `[tasks]`; each entry's key names what it
//! handles and its value says how:
//!
//! ```toml
//! [tasks.charge]                      # a Lambda function, by name
//! command = ["python3", "handlers/charge.py"]
//! timeout_seconds = 10
//! env = { STAGE = "local" }
//!
//! [tasks.send-email]
//! url = "http://127.0.0.1:9000"       # a Lambda Invoke API endpoint
//!
//! [tasks."arn:aws:states:::sqs:sendMessage"]
//! command = ["sh", "-c", "cat"]       # any resource, by its full string
//! ```
//!
//! Loading checks everything it can up front (unknown keys, a handler that
//! is neither or both of `command` and `url`, keys that cannot match any
//! resource) so that a typo is a config error naming the file and the task,
//! not a task failure halfway through a run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flowstate_engine::integration::{FunctionRef, TaskResource};
use serde::Deserialize;

/// Why `flowstate.toml` could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: unknown top-level key '{key}' (the file has one table, [tasks])", path.display())]
    UnknownSection { path: PathBuf, key: String },
    #[error("{}: [tasks.{key}]: {problem}", path.display())]
    Task {
        path: PathBuf,
        key: String,
        problem: TaskProblem,
    },
}

/// What is wrong with one `[tasks.KEY]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskProblem {
    /// The key is neither a function name (optionally `NAME:QUALIFIER`) nor a
    /// resource ARN.
    BadKey(String),
    /// The entry did not deserialize: an unknown field, a wrong type.
    Invalid(String),
    NoHandler,
    BothHandlers,
    EmptyCommand,
    BadUrl(String),
    ZeroTimeout,
    /// `env` or `cwd` given for a `url` handler, which runs no process.
    CommandOnly(&'static str),
    /// A `url` handler for a resource that names no function needs `function`.
    FunctionNeeded,
    BadFunction(String),
}

impl fmt::Display for TaskProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskProblem::BadKey(reason) => write!(
                f,
                "the key must be a Lambda function name (e.g. charge or \"charge:live\") or a full resource ARN (e.g. \"arn:aws:states:::sqs:sendMessage\"): {reason}"
            ),
            TaskProblem::Invalid(message) => f.write_str(message),
            TaskProblem::NoHandler => f.write_str(
                "no handler: set `command = [\"program\", \"arg\", ...]` or `url = \"http://127.0.0.1:9000\"`",
            ),
            TaskProblem::BothHandlers => f.write_str("set either `command` or `url`, not both"),
            TaskProblem::EmptyCommand => f.write_str("`command` is empty: it needs at least the program to run"),
            TaskProblem::BadUrl(url) => write!(f, "`url` must start with http:// or https://, got '{url}'"),
            TaskProblem::ZeroTimeout => f.write_str("`timeout_seconds` must be at least 1"),
            TaskProblem::CommandOnly(field) => {
                write!(f, "`{field}` applies to `command` handlers only; a `url` handler runs no process")
            }
            TaskProblem::FunctionNeeded => f.write_str(
                "a `url` handler for a resource that is not a Lambda function needs `function = \"NAME\"`: the function name the endpoint serves",
            ),
            TaskProblem::BadFunction(reason) => write!(f, "`function`: {reason}"),
        }
    }
}

/// The entry as written; checked and resolved into a [`TaskSpec`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    command: Option<Vec<String>>,
    url: Option<String>,
    function: Option<String>,
    timeout_seconds: Option<u64>,
    env: Option<BTreeMap<String, String>>,
    cwd: Option<PathBuf>,
}

/// How one entry performs tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// The entry's key in `[tasks]`.
    pub key: String,
    pub handler: Handler,
    /// `timeout_seconds`: how long the handler may run, like a Lambda
    /// function's configured timeout.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handler {
    Command(CommandSpec),
    Http(HttpSpec),
}

/// A process: payload JSON on stdin, result JSON on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program: a relative path with a separator (`./run.sh`,
    /// `bin/handler`) is resolved against the config file's directory, a
    /// bare name (`python3`) is looked up on `PATH`.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The working directory: `cwd` resolved against the config file's
    /// directory, or that directory itself, so that `["python3",
    /// "handlers/charge.py"]` works wherever `flowstate` is started.
    pub cwd: PathBuf,
    /// Set on top of the inherited environment.
    pub env: BTreeMap<String, String>,
}

impl CommandSpec {
    /// The command as the user wrote it, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A Lambda Invoke API endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSpec {
    /// Without a trailing `/`.
    pub url: String,
    /// The function name to invoke there, when it differs from the one the
    /// state machine names (or the resource names none).
    pub function: Option<String>,
}

/// A loaded `flowstate.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskConfig {
    path: PathBuf,
    exists: bool,
    tasks: BTreeMap<String, TaskSpec>,
}

/// Reads and checks `flowstate.toml` at `path`.
pub fn load_config(path: impl AsRef<Path>) -> Result<TaskConfig, ConfigError> {
    let path = absolute(path.as_ref());
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    TaskConfig::parse(&text, &path)
}

/// The config's directory anchors relative paths, so it must not depend on
/// the process's later working directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl TaskConfig {
    /// A config with no tasks, for when `path` does not exist: every task
    /// fails with a message saying what to write there.
    pub fn empty(path: impl AsRef<Path>) -> TaskConfig {
        TaskConfig {
            path: absolute(path.as_ref()),
            exists: false,
            tasks: BTreeMap::new(),
        }
    }

    /// Parses `text` as the contents of the file at `path` (which anchors
    /// relative paths and names the file in errors).
    pub fn parse(text: &str, path: &Path) -> Result<TaskConfig, ConfigError> {
        let path = absolute(path);
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut tasks = BTreeMap::new();
        for (section, value) in table {
            if section != "tasks" {
                return Err(ConfigError::UnknownSection { path, key: section });
            }
            let toml::Value::Table(entries) = value else {
                return Err(ConfigError::Syntax {
                    path,
                    message: "`tasks` must be a table: write entries as [tasks.NAME]".to_string(),
                });
            };
            for (key, value) in entries {
                let spec = Self::task(&key, value, &base).map_err(|problem| ConfigError::Task {
                    path: path.clone(),
                    key: key.clone(),
                    problem,
                })?;
                tasks.insert(key, spec);
            }
        }
        Ok(TaskConfig {
            path,
            exists: true,
            tasks,
        })
    }

    fn task(key: &str, value: toml::Value, base: &Path) -> Result<TaskSpec, TaskProblem> {
        let names_function = check_key(key)?;
        let raw: RawTask = value
            .try_into()
            .map_err(|e: toml::de::Error| TaskProblem::Invalid(e.message().to_string()))?;
        if raw.timeout_seconds == Some(0) {
            return Err(TaskProblem::ZeroTimeout);
        }
        let handler = match (raw.command, raw.url) {
            (None, None) => return Err(TaskProblem::NoHandler),
            (Some(_), Some(_)) => return Err(TaskProblem::BothHandlers),
            (Some(command), None) => {
                if raw.function.is_some() {
                    return Err(TaskProblem::Invalid(
                        "`function` applies to `url` handlers only: it names the function to invoke at the endpoint".into(),
                    ));
                }
                let mut parts = command.into_iter();
                let program = parts
                    .next()
                    .filter(|p| !p.is_empty())
                    .ok_or(TaskProblem::EmptyCommand)?;
                let program_path = PathBuf::from(&program);
                let program = if program_path.is_relative() && program_path.components().count() > 1
                {
                    base.join(program_path)
                } else {
                    program_path
                };
                Handler::Command(CommandSpec {
                    program,
                    args: parts.collect(),
                    cwd: raw
                        .cwd
                        .map(|c| base.join(c))
                        .unwrap_or_else(|| base.to_path_buf()),
                    env: raw.env.unwrap_or_default(),
                })
            }
            (None, Some(url)) => {
                if raw.env.is_some() {
                    return Err(TaskProblem::CommandOnly("env"));
                }
                if raw.cwd.is_some() {
                    return Err(TaskProblem::CommandOnly("cwd"));
                }
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(TaskProblem::BadUrl(url));
                }
                if let Some(function) = &raw.function {
                    let parsed = FunctionRef::parse(function)
                        .map_err(|e| TaskProblem::BadFunction(e.to_string()))?;
                    if parsed.qualifier.is_some() || parsed.account.is_some() {
                        return Err(TaskProblem::BadFunction(format!(
                            "'{function}' must be a bare function name; the version or alias comes from the state machine"
                        )));
                    }
                } else if !names_function {
                    return Err(TaskProblem::FunctionNeeded);
                }
                Handler::Http(HttpSpec {
                    url: url.trim_end_matches('/').to_string(),
                    function: raw.function,
                })
            }
        };
        Ok(TaskSpec {
            key: key.to_string(),
            handler,
            timeout: raw.timeout_seconds.map(Duration::from_secs),
        })
    }

    /// The file this config came from (or would have).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file existed: `false` for [`TaskConfig::empty`].
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// The entry with this key.
    pub fn get(&self, key: &str) -> Option<&TaskSpec> {
        self.tasks.get(key)
    }
}

/// Checks that a key can match some task; returns whether it names a Lambda
/// function (and so gives a `url` handler its function name).
fn check_key(key: &str) -> Result<bool, TaskProblem> {
    if key.starts_with("arn:") {
        return match TaskResource::parse(key) {
            Ok(TaskResource::LambdaFunction(_)) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) => Err(TaskProblem::BadKey(e.to_string())),
        };
    }
    match FunctionRef::parse(key) {
        Ok(function) if function.account.is_none() => Ok(true),
        Ok(_) => Err(TaskProblem::BadKey(
            "use the function name, or its full ARN".to_string(),
        )),
        Err(e) => Err(TaskProblem::BadKey(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TaskConfig, ConfigError> {
        TaskConfig::parse(text, Path::new("/project/flowstate.toml"))
    }

    fn problem(text: &str) -> (String, TaskProblem) {
        match parse(text) {
            Err(ConfigError::Task { key, problem, .. }) => (key, problem),
            other => panic!("expected a task error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_config_resolves_paths_against_the_file() {
        let config = parse(
            r#"
            [tasks.charge]
            command = ["python3", "handlers/charge.py"]
            timeout_seconds = 5
            env = { STAGE = "local" }

            [tasks.local-script]
            command = ["./bin/run.sh", "--fast"]
            cwd = "work"

            [tasks.send-email]
            url = "http://127.0.0.1:9000/"

            [tasks."charge:live"]
            url = "http://127.0.0.1:9000"
            function = "charge"

            [tasks."arn:aws:states:::sqs:sendMessage"]
            command = ["/bin/cat"]

            [tasks."arn:aws:states:::sqs:sendMessage.waitForTaskToken"]
            url = "http://127.0.0.1:9001"
            function = "approver"
            "#,
        )
        .unwrap();
        assert!(config.exists());
        assert_eq!(config.tasks.len(), 6);
        let charge = config.get("charge").unwrap();
        assert_eq!(charge.timeout, Some(Duration::from_secs(5)));
        let Handler::Command(command) = &charge.handler else {
            panic!("not a command")
        };
        assert_eq!(command.program, PathBuf::from("python3"));
        assert_eq!(command.args, ["handlers/charge.py"]);
        assert_eq!(command.cwd, PathBuf::from("/project"));
        assert_eq!(command.env.get("STAGE").map(String::as_str), Some("local"));
        let Handler::Command(script) = &config.get("local-script").unwrap().handler else {
            panic!()
        };
        assert_eq!(script.program, PathBuf::from("/project/bin/run.sh"));
        assert_eq!(script.cwd, PathBuf::from("/project/work"));
        let Handler::Http(http) = &config.get("send-email").unwrap().handler else {
            panic!()
        };
        assert_eq!(http.url, "http://127.0.0.1:9000");
        let Handler::Command(cat) = &config
            .get("arn:aws:states:::sqs:sendMessage")
            .unwrap()
            .handler
        else {
            panic!()
        };
        assert_eq!(cat.program, PathBuf::from("/bin/cat"));
    }

    #[test]
    fn empty_and_missing_tasks_are_fine() {
        assert!(parse("").unwrap().tasks.is_empty());
        assert!(parse("[tasks]").unwrap().tasks.is_empty());
        let empty = TaskConfig::empty("/nowhere/flowstate.toml");
        assert!(!empty.exists());
        assert_eq!(empty.path(), Path::new("/nowhere/flowstate.toml"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_task_named() {
        let (key, problem) = problem("[tasks.charge]\ncomand = [\"x\"]");
        assert_eq!(key, "charge");
        let TaskProblem::Invalid(message) = problem else {
            panic!("{problem:?}")
        };
        assert!(message.contains("comand"), "{message}");
        let err = parse("[tasks.charge]\ncomand = [\"x\"]")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/project/flowstate.toml: [tasks.charge]: unknown field `comand`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_sections_and_bad_syntax() {
        assert!(
            matches!(parse("[task.charge]\ncommand=[\"x\"]"), Err(ConfigError::UnknownSection { key, .. }) if key == "task")
        );
        assert!(matches!(
            parse("[tasks.charge\n"),
            Err(ConfigError::Syntax { .. })
        ));
        assert!(matches!(
            parse("tasks = 3"),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn handler_problems() {
        assert_eq!(
            problem("[tasks.a]\ntimeout_seconds = 3").1,
            TaskProblem::NoHandler
        );
        assert_eq!(
            problem("[tasks.a]\ncommand = [\"x\"]\nurl = \"http://h\"").1,
            TaskProblem::BothHandlers
        );
        assert_eq!(
            problem("[tasks.a]\ncommand = []").1,
            TaskProblem::EmptyCommand
        );
        assert_eq!(
            problem("[tasks.a]\ncommand = [\"\"]").1,
            TaskProblem::EmptyCommand
        );
        assert_eq!(
            problem("[tasks.a]\nurl = \"127.0.0.1:9000\"").1,
            TaskProblem::BadUrl("127.0.0.1:9000".into())
        );
        assert_eq!(
            problem("[tasks.a]\ncommand = [\"x\"]\ntimeout_seconds = 0").1,
            TaskProblem::ZeroTimeout
        );
        assert_eq!(
            problem("[tasks.a]\nurl = \"http://h\"\ncwd = \"x\"").1,
            TaskProblem::CommandOnly("cwd")
        );
        assert_eq!(
            problem("[tasks.a]\nurl = \"http://h\"\nenv = {A = \"1\"}").1,
            TaskProblem::CommandOnly("env")
        );
        assert!(matches!(
            problem("[tasks.a]\ncommand = [\"x\"]\nfunction = \"f\"").1,
            TaskProblem::Invalid(_)
        ));
        assert!(matches!(
            problem("[tasks.a]\ncommand = \"x\"").1,
            TaskProblem::Invalid(_)
        ));
        assert!(matches!(
            problem("[tasks.a]\ncommand = [\"x\"]\ntimeout_seconds = -1").1,
            TaskProblem::Invalid(_)
        ));
    }

    #[test]
    fn keys_must_be_able_to_match() {
        assert!(matches!(
            problem("[tasks.\"has space\"]\ncommand = [\"x\"]").1,
            TaskProblem::BadKey(_)
        ));
        assert!(matches!(
            problem("[tasks.\"arn:aws:states:::sqs\"]\ncommand = [\"x\"]").1,
            TaskProblem::BadKey(_)
        ));
        assert!(matches!(
            problem("[tasks.\"123456789012:function:f\"]\ncommand = [\"x\"]").1,
            TaskProblem::BadKey(_)
        ));
        let err = parse("[tasks.\"has space\"]\ncommand = [\"x\"]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[tasks.has space]: the key must be a Lambda function name"),
            "{err}"
        );
    }

    #[test]
    fn url_handlers_need_a_function_name_for_other_resources() {
        assert_eq!(
            problem("[tasks.\"arn:aws:states:::sqs:sendMessage\"]\nurl = \"http://h\"").1,
            TaskProblem::FunctionNeeded
        );
        assert!(
            parse("[tasks.\"arn:aws:lambda:us-east-1:1:function:f\"]\nurl = \"http://h\"").is_ok()
        );
        assert!(matches!(
            problem("[tasks.a]\nurl = \"http://h\"\nfunction = \"f:live\"").1,
            TaskProblem::BadFunction(_)
        ));
        assert!(matches!(
            problem("[tasks.a]\nurl = \"http://h\"\nfunction = \"a b\"").1,
            TaskProblem::BadFunction(_)
        ));
    }

    #[test]
    fn load_config_reads_the_file_and_names_it_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flowstate.toml");
        let err = load_config(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(err.to_string().contains("flowstate.toml"));
        std::fs::write(&path, "[tasks.charge]\ncommand = [\"./charge.sh\"]\n").unwrap();
        let config = load_config(&path).unwrap();
        let Handler::Command(c) = &config.get("charge").unwrap().handler else {
            panic!()
        };
        assert_eq!(c.program, dir.path().join("charge.sh"));
        assert_eq!(c.cwd, dir.path());
    }
}
