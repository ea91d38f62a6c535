//! The recorded conformance corpus (`tests/data/conformance/cases`): the
//! case model, loading, the list of known failures, and the one comparison
//! of an execution with what AWS recorded, used by the in-memory test and
//! by the endpoint runner alike. The case format and the comparison rules
//! are described in `tests/data/conformance/README.md`.

pub mod endpoint;
pub mod json;

use json::Numbers;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The corpus shipped with the project.
pub fn cases_dir() -> PathBuf {
    crate::data_dir().join("conformance/cases")
}

/// The cases the in-memory engine is known to fail, each with its reason.
pub fn known_failures_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance-known-failures.txt"
    ))
}

/// Why the corpus or the known-failures list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid case: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no cases in {}", path.display())]
    Empty { path: PathBuf },
}

/// One recorded case: a definition and an input, and what real AWS Step
/// Functions did with them.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Unique; also the file name. Defaults to the file name.
    #[serde(default)]
    pub id: String,
    /// The LocalStack test the case comes from.
    #[serde(default)]
    pub source: String,
    pub definition: Value,
    /// The exact text to send, when it differs from `definition` (duplicate
    /// keys).
    #[serde(default)]
    pub definition_text: Option<String>,
    /// StartExecution's input; `{}` when absent, as Step Functions defaults.
    #[serde(default = "empty_object")]
    pub input: Value,
    pub expected: Expected,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// Set (to a reason, or any truthy value) for a case not to run.
    #[serde(default)]
    pub skip: Option<Value>,
    /// The file the case was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

/// What AWS recorded for a case.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    pub status: String,
    /// The output, when recorded (`null` included).
    #[serde(default, deserialize_with = "present")]
    pub output: Option<Value>,
    #[serde(default)]
    pub ignore_paths: Vec<String>,
    #[serde(default)]
    pub output_patterns: HashMap<String, String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub cause_regex: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub cause_json: Option<Value>,
    #[serde(default)]
    pub cause_json_ignore_paths: Vec<String>,
    #[serde(default)]
    pub history_types: Option<Vec<String>>,
    #[serde(default)]
    pub history_compare: HistoryCompare,
}

/// How history event types are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryCompare {
    /// Order ignored: Parallel branches and Map iterations interleave.
    Multiset,
    /// In order: the default, and what any other value means.
    #[default]
    #[serde(other)]
    InOrder,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// What an implementation did with a case's execution.
#[derive(Debug, Clone)]
pub struct Observed {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    pub output: Option<Output>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// An execution's output.
#[derive(Debug, Clone)]
pub enum Output {
    Json(Value),
    /// Output text that does not parse as JSON.
    NotJson(String),
}

impl Output {
    /// An output as an endpoint returns it: JSON text.
    pub fn from_text(text: &str) -> Output {
        serde_json::from_str(text).map_or_else(|_| Output::NotJson(text.to_string()), Output::Json)
    }
}

/// Why a case did not pass: every difference found, `; `-separated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub String);

impl Case {
    /// The definition as CreateStateMachine receives it: `definition_text`
    /// verbatim when present, else `definition` as JSON.
    pub fn definition_text(&self) -> String {
        match &self.definition_text {
            Some(t) if !t.is_empty() => t.clone(),
            _ => self.definition.to_string(),
        }
    }

    /// Whether `filter` appears in the case's id, category, source or path.
    pub fn matches(&self, filter: &str) -> bool {
        self.id.contains(filter)
            || self.category.contains(filter)
            || self.source.contains(filter)
            || self.path.to_string_lossy().contains(filter)
    }

    /// Why the case is not to run, if it carries a `skip`.
    pub fn skip_reason(&self) -> Option<String> {
        match self.skip.as_ref()? {
            Value::Null | Value::Bool(false) => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            v => Some(v.to_string()),
        }
    }

    /// Whether the case checks history event types.
    pub fn checks_history(&self) -> bool {
        self.expected.history_types.is_some()
    }

    /// The whole comparison: [`Case::check_result`], then, when that
    /// passes and `history` is given, [`Case::check_history`].
    pub fn check<S: AsRef<str>>(
        &self,
        observed: &Observed,
        history: Option<&[S]>,
        numbers: Numbers,
    ) -> Result<(), Mismatch> {
        self.check_result(observed, numbers)?;
        match history {
            Some(types) => self.check_history(types),
            None => Ok(()),
        }
    }

    /// Status; when it matches, output (if recorded), and for executions
    /// that did not succeed, error and cause.
    pub fn check_result(&self, observed: &Observed, numbers: Numbers) -> Result<(), Mismatch> {
        let exp = &self.expected;
        let mut problems = Vec::new();
        if observed.status != exp.status {
            let detail = if has_text(&observed.error) || has_text(&observed.cause) {
                format!(
                    " (error={}, cause={})",
                    quoted(observed.error.as_deref(), 160),
                    quoted(observed.cause.as_deref(), 200)
                )
            } else {
                String::new()
            };
            problems.push(format!(
                "status: expected {}, got {}{detail}",
                exp.status, observed.status
            ));
        } else {
            if let Some(want) = &exp.output {
                match &observed.output {
                    None => problems.push("output: missing".to_string()),
                    Some(Output::NotJson(text)) => {
                        problems.push(format!("output: not JSON: {}", json::cut(text, 160)));
                    }
                    Some(Output::Json(got)) => {
                        if let Err(m) = json::compare(
                            want,
                            got,
                            &exp.ignore_paths,
                            &exp.output_patterns,
                            numbers,
                        ) {
                            problems.push(format!("output {m}"));
                        }
                    }
                }
            }
            if exp.status != "SUCCEEDED" {
                self.check_error_and_cause(observed, numbers, &mut problems);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Mismatch(problems.join("; ")))
        }
    }

    fn check_error_and_cause(
        &self,
        observed: &Observed,
        numbers: Numbers,
        problems: &mut Vec<String>,
    ) {
        let exp = &self.expected;
        let error = observed.error.as_deref();
        match &exp.error {
            Some(want) if error != Some(want.as_str()) => {
                problems.push(format!(
                    "error: expected {}, got {}",
                    quoted(Some(want), 160),
                    quoted(error, 160)
                ));
            }
            Some(_) => {}
            None if has_text(&observed.error) => {
                problems.push(format!("error: expected none, got {}", quoted(error, 160)));
            }
            None => {}
        }
        let cause = observed.cause.as_deref();
        let shown = || quoted(cause, 160);
        if let Some(want) = &exp.cause {
            if cause != Some(want.as_str()) {
                problems.push(format!(
                    "cause: expected {}, got {}",
                    quoted(Some(want), 160),
                    shown()
                ));
            }
        } else if let Some(pattern) = &exp.cause_regex {
            match cause.map(|c| json::full_match(pattern, c)) {
                Some(Ok(true)) => {}
                Some(Err(e)) => problems.push(format!("cause: {e}")),
                _ => problems.push(format!(
                    "cause: {} does not match the expected pattern",
                    shown()
                )),
            }
        } else if let Some(want) = &exp.cause_json {
            let parsed = serde_json::from_str::<Value>(cause.unwrap_or("null"))
                .map_err(|e| e.to_string())
                .and_then(|got| {
                    json::compare(
                        want,
                        &got,
                        &exp.cause_json_ignore_paths,
                        &HashMap::new(),
                        numbers,
                    )
                });
            if let Err(m) = parsed {
                problems.push(format!("cause (JSON): {m}"));
            }
        } else if has_text(&observed.cause) {
            problems.push(format!("cause: expected none, got {}", shown()));
        }
    }

    /// History event types, in order or as a multiset as the case says.
    /// A case without `history_types` passes.
    pub fn check_history<S: AsRef<str>>(&self, got: &[S]) -> Result<(), Mismatch> {
        let Some(want) = &self.expected.history_types else {
            return Ok(());
        };
        let got: Vec<&str> = got.iter().map(AsRef::as_ref).collect();
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        match self.expected.history_compare {
            HistoryCompare::Multiset => {
                let count = |types: &[&str]| {
                    let mut m: BTreeMap<String, i64> = BTreeMap::new();
                    for t in types {
                        *m.entry((*t).to_string()).or_default() += 1;
                    }
                    m
                };
                let (w, g) = (count(&want), count(&got));
                if w == g {
                    return Ok(());
                }
                let less = |a: &BTreeMap<String, i64>, b: &BTreeMap<String, i64>| {
                    a.iter()
                        .map(|(k, n)| (k.clone(), n - b.get(k).copied().unwrap_or(0)))
                        .filter(|(_, n)| *n > 0)
                        .collect::<BTreeMap<_, _>>()
                };
                Err(Mismatch(format!(
                    "history (multiset): missing {:?}, unexpected {:?}",
                    less(&w, &g),
                    less(&g, &w)
                )))
            }
            HistoryCompare::InOrder if got == want => Ok(()),
            HistoryCompare::InOrder => {
                let i = want
                    .iter()
                    .zip(&got)
                    .position(|(w, g)| w != g)
                    .unwrap_or(want.len().min(got.len()));
                let window = |v: &[&str]| format!("{:?}", &v[i..v.len().min(i + 3)]);
                Err(Mismatch(format!(
                    "history: first difference at event {}: expected {}, got {} ({} vs {} events)",
                    i + 1,
                    window(&want),
                    window(&got),
                    want.len(),
                    got.len()
                )))
            }
        }
    }
}

/// A string as JSON (`null` when absent), cut to `n` characters.
fn quoted(s: Option<&str>, n: usize) -> String {
    s.map_or_else(|| "null".into(), |s| json::short(&Value::from(s), n))
}

fn has_text(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// Every case under `dir` (searched recursively, `MANIFEST.json` aside),
/// in path order. JSON files that are not cases (no `definition` or
/// `expected`) are passed over; a file that cannot be read or parsed is an
/// error, as is a folder without cases.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, CorpusError> {
    let mut files = Vec::new();
    json_files(dir, &mut files)?;
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| CorpusError::Read {
            path: path.clone(),
            source,
        })?;
        let parse = |source| CorpusError::Parse {
            path: path.clone(),
            source,
        };
        let value: Value = serde_json::from_str(&text).map_err(parse)?;
        let is_case = value.get("definition").is_some() && value.get("expected").is_some();
        if !is_case {
            continue;
        }
        let mut case: Case = serde_json::from_value(value).map_err(parse)?;
        if case.id.is_empty() {
            case.id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        case.path = path;
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(CorpusError::Empty {
            path: dir.to_path_buf(),
        });
    }
    Ok(cases)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let read = |source| CorpusError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json")
            && path.file_name().is_some_and(|n| n != "MANIFEST.json")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// `tests/conformance-known-failures.txt`: one case id per line, then its
/// reason (optionally after `#`); blank lines and lines starting with `#`
/// are comments.
pub fn known_failures() -> Result<BTreeMap<String, String>, CorpusError> {
    let path = known_failures_file();
    let text = std::fs::read_to_string(&path).map_err(|source| CorpusError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(parse_known_failures(&text))
}

fn parse_known_failures(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, why) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let why = why.trim().trim_start_matches('#').trim();
            (id.to_string(), why.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(expected: Value) -> Case {
        serde_json::from_value(json!({
            "id": "t",
            "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "expected": expected,
        }))
        .unwrap()
    }

    fn observed(
        status: &str,
        output: Option<Value>,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Observed {
        Observed {
            status: status.into(),
            output: output.map(Output::Json),
            error: error.map(String::from),
            cause: cause.map(String::from),
        }
    }

    fn check(c: &Case, o: &Observed) -> Result<(), Mismatch> {
        c.check_result(o, Numbers::ByValue)
    }

    #[test]
    fn absent_input_is_an_empty_object_and_null_output_is_recorded() {
        let c = case(json!({"status": "SUCCEEDED", "output": null}));
        assert_eq!(c.input, json!({}));
        assert_eq!(c.expected.output, Some(Value::Null));
        assert!(check(&c, &observed("SUCCEEDED", Some(json!(1)), None, None)).is_err());
        assert!(check(&c, &observed("SUCCEEDED", None, None, None)).is_err());
        let c = case(json!({"status": "SUCCEEDED"}));
        assert_eq!(c.expected.output, None);
    }

    #[test]
    fn status_is_compared_first() {
        let c = case(json!({"status": "SUCCEEDED", "output": {}}));
        let e = check(&c, &observed("FAILED", None, Some("E"), Some("c"))).unwrap_err();
        assert_eq!(
            e.0,
            r#"status: expected SUCCEEDED, got FAILED (error="E", cause="c")"#
        );
    }

    #[test]
    fn error_and_cause_are_checked_for_executions_that_did_not_succeed() {
        let c = case(json!({"status": "FAILED", "error": "E", "cause": "c"}));
        assert!(check(&c, &observed("FAILED", None, Some("E"), Some("c"))).is_ok());
        assert!(check(&c, &observed("FAILED", None, Some("F"), Some("c"))).is_err());
        assert!(check(&c, &observed("FAILED", None, Some("E"), None)).is_err());
        let c = case(json!({"status": "FAILED"}));
        assert!(check(&c, &observed("FAILED", None, Some(""), None)).is_ok());
        assert!(check(&c, &observed("FAILED", None, Some("E"), None)).is_err());
        assert!(check(&c, &observed("FAILED", None, None, Some("c"))).is_err());
        let c = case(json!({"status": "FAILED", "error": "E", "cause_regex": "a.*z"}));
        assert!(check(&c, &observed("FAILED", None, Some("E"), Some("a\nz"))).is_ok());
        assert!(check(&c, &observed("FAILED", None, Some("E"), Some("az!"))).is_err());
        let c = case(
            json!({"status": "FAILED", "error": "E", "cause_json": {"n": 1, "id": "x"},
                            "cause_json_ignore_paths": ["$.id"]}),
        );
        assert!(check(
            &c,
            &observed("FAILED", None, Some("E"), Some(r#"{"id":"y","n":1.0}"#))
        )
        .is_ok());
        assert!(check(&c, &observed("FAILED", None, Some("E"), Some("not json"))).is_err());
    }

    #[test]
    fn history_in_order_or_as_a_multiset() {
        let c = case(json!({"status": "SUCCEEDED", "history_types": ["A", "B", "B"]}));
        assert!(c.check_history(&["A", "B", "B"]).is_ok());
        let e = c.check_history(&["A", "B"]).unwrap_err();
        assert_eq!(
            e.0,
            r#"history: first difference at event 3: expected ["B"], got [] (3 vs 2 events)"#
        );
        let c = case(
            json!({"status": "SUCCEEDED", "history_types": ["A", "B", "B"],
                            "history_compare": "multiset"}),
        );
        assert!(c.check_history(&["B", "A", "B"]).is_ok());
        let e = c.check_history(&["B", "A", "C"]).unwrap_err();
        assert_eq!(
            e.0,
            r#"history (multiset): missing {"B": 1}, unexpected {"C": 1}"#
        );
        let c = case(json!({"status": "SUCCEEDED"}));
        assert!(c.check_history(&["anything"]).is_ok());
    }

    #[test]
    fn known_failures_take_a_reason_after_the_id() {
        let k = parse_known_failures("# comment\n\na.b  why not\nc.d # because\ne.f\n");
        assert_eq!(k["a.b"], "why not");
        assert_eq!(k["c.d"], "because");
        assert_eq!(k["e.f"], "");
        assert_eq!(k.len(), 3);
    }

    #[test]
    fn skip_takes_a_reason_or_a_truthy_value() {
        let mut c = case(json!({"status": "SUCCEEDED"}));
        assert_eq!(c.skip_reason(), None);
        c.skip = Some(json!("needs S3"));
        assert_eq!(c.skip_reason().as_deref(), Some("needs S3"));
        c.skip = Some(json!(false));
        assert_eq!(c.skip_reason(), None);
    }
}
