//! `flowstate run`: one execution in memory, output on stdout.

use crate::clock::ScaledClock;
use crate::validate::{check_file, print_diagnostics};
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use flowstate_asl::definition::StateMachine;
use flowstate_asl::validate::Severity;
use flowstate_engine::driver::{self, RunOptions, TaskHandler};
use flowstate_engine::history::HistoryEvent;
use flowstate_engine::limits::transition_limit_cause;
use flowstate_engine::{Limits, Status};
use flowstate_local_tasks::mock::{self, MockError, MockedTasks};
use flowstate_local_tasks::LocalTasks;
use flowstate_runtime::constraints;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct RunArgs {
    /// The definition, JSON or YAML.
    pub definition: PathBuf,
    /// The execution input as JSON text (default `{}`).
    #[arg(long, conflicts_with = "input_file")]
    pub input: Option<String>,
    /// Read the execution input from a file (`-` for stdin).
    #[arg(long)]
    pub input_file: Option<PathBuf>,
    /// Print one JSON object: {"status", "output", "error", "cause"}.
    #[arg(long)]
    pub json: bool,
    /// Also print the execution history.
    #[arg(long)]
    pub history: bool,
    /// Task handlers (default: ./flowstate.toml when it exists).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Workflow type whose limits apply. Default: no history-event or
    /// duration limit, Step Functions' 256 KiB payload limit, and at most
    /// --max-transitions states entered.
    #[arg(long = "type", value_enum)]
    pub workflow_type: Option<WorkflowType>,
    /// Fail the execution (States.Runtime) rather than enter more states
    /// than this: how an endless loop ends. Default: 1000000 without
    /// --type; with --type, that type's own limits only.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_transitions: Option<u64>,
    /// Scale Waits and retry back-offs: 1 = real time, 0.01 = 100x faster,
    /// 0 = no waiting at all.
    #[arg(long, default_value_t = 1.0)]
    pub wait_scale: f64,
    /// The execution name (appears in $$.Execution.Name and the ARN).
    #[arg(long, default_value = "local")]
    pub name: String,
    /// The state machine name (in ARNs, $$.StateMachine.Name and mock
    /// configs). Default: the definition file's name without its extension.
    #[arg(long, value_name = "NAME")]
    pub state_machine_name: Option<String>,
    /// Answer Task states from this Step Functions Local mock config
    /// (MockConfigFile.json). Default: $SFN_MOCK_CONFIG, else $LOCALSTACK_SFN_MOCK_CONFIG, if set.
    #[arg(long, value_name = "FILE")]
    pub mock_config: Option<PathBuf>,
    /// The mock config's test case to run, as an execution started with
    /// `<stateMachineArn>#<TestCase>` in Step Functions Local; states it does
    /// not mock run their flowstate.toml handlers.
    #[arg(long, value_name = "NAME")]
    pub test_case: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum WorkflowType {
    Standard,
    Express,
}

/// The execution input, refused as StartExecution refuses it: over
/// 256 KiB, not JSON, or nested deeper than an execution may keep.
fn read_input(args: &RunArgs) -> anyhow::Result<Value> {
    let text = match (&args.input, &args.input_file) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) if p.as_os_str() == "-" => {
            std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
        }
        (None, Some(p)) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        (None, None) => "{}".to_string(),
    };
    constraints::check_payload_size("input", &text)?;
    let input = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("the input is not valid JSON: {e}"))?;
    match constraints::payload_too_deep(&input) {
        Some(why) => bail!("the input is not valid: {why}"),
        None => Ok(input),
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if !(args.wait_scale >= 0.0 && args.wait_scale.is_finite()) {
        bail!("--wait-scale must be a number >= 0");
    }
    let (value, diagnostics) = check_file(&args.definition)?;
    let value = match value {
        Some(v) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => v,
        Some(_) => {
            print_diagnostics(&args.definition, true, &diagnostics);
            return Ok(ExitCode::from(2));
        }
        None => {
            print_diagnostics(&args.definition, false, &diagnostics);
            return Ok(ExitCode::from(2));
        }
    };
    let sm = match StateMachine::from_value(&value) {
        Ok(sm) => sm,
        Err(errors) => {
            for e in errors {
                errln!(
                    "{}: error at {}: {}",
                    args.definition.display(),
                    e.pointer,
                    e.message
                );
            }
            return Ok(ExitCode::from(2));
        }
    };
    let input = read_input(&args)?;
    let config = crate::task_config(args.config.as_deref())?;
    let name = match &args.state_machine_name {
        // Step Functions' rule for names, which end up in ARNs.
        Some(name) if flowstate_runtime::names::check_name(name).is_err() => {
            bail!("--state-machine-name must be 1 to 80 characters, without whitespace or any of < > {{ }} [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : /")
        }
        Some(name) => name.clone(),
        None => args
            .definition
            .file_stem()
            .map(|s| {
                // `order.asl.json` names the state machine `order`, as SAM
                // projects lay definitions out.
                let stem = s.to_string_lossy();
                let stem = stem.strip_suffix(".asl").unwrap_or(&stem);
                stem.replace(
                    |c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                    "-",
                )
            })
            .unwrap_or_else(|| "local".into()),
    };
    let mut local = LocalTasks::new(config).with_log(crate::handler_log());
    let mut mocked;
    let tasks: &mut dyn TaskHandler = match mock::for_run(
        args.mock_config.as_deref(),
        args.test_case.as_deref(),
        &name,
        &sm,
    ) {
        Ok(Some(case)) => {
            mocked = MockedTasks::new(case, local);
            &mut mocked
        }
        Ok(None) => &mut local,
        Err(e @ MockError::UnknownStateMachine { .. }) if args.state_machine_name.is_none() => {
            bail!("{e}; the state machine's name is the definition file's name, '{name}', unless --state-machine-name gives it")
        }
        Err(e) => return Err(e.into()),
    };
    let limits = match args.workflow_type {
        None => Limits::LOCAL,
        Some(WorkflowType::Standard) => Limits::STANDARD,
        Some(WorkflowType::Express) => Limits::EXPRESS,
    };
    let limits = Limits {
        max_transitions: args.max_transitions.or(limits.max_transitions),
        ..limits
    };
    let opts = RunOptions {
        execution_name: args.name.clone(),
        state_machine_name: name,
        limits,
        ..RunOptions::default()
    };
    let mut clock = ScaledClock::new(args.wait_scale);
    // The history is printed as it happens, never kept: with --json it
    // opens the document, whose other members follow once the run ends.
    let mut json_history = (args.json && args.history).then(JsonHistory::start);
    let mut exec = driver::run_streaming(&sm, input, tasks, &mut clock, &opts, &mut |events| {
        match &mut json_history {
            Some(h) => h.add(&events),
            None if args.history => print_history_rows(&events),
            None => {}
        }
    });
    if let Some(max) = limits.max_transitions {
        if exec.cause.as_deref() == Some(transition_limit_cause(max).as_str()) {
            // The cap is this command's: say how to raise it.
            exec.cause = Some(format!(
                "{} Raise the limit with --max-transitions.",
                transition_limit_cause(max)
            ));
        }
    }
    let exec = &exec;
    if args.json {
        let doc = json!({
            "status": exec.status.as_str(),
            "output": exec.output.as_deref(),
            "error": exec.error,
            "cause": exec.cause,
        });
        match json_history {
            Some(h) => h.finish(&doc)?,
            None => outln!("{}", serde_json::to_string_pretty(&doc)?)?,
        }
    } else {
        match exec.status {
            Status::Succeeded => {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(exec.output.as_deref().unwrap_or(&Value::Null))?
                )?;
            }
            other => crate::output::stderr(|w| {
                writeln!(w, "execution {}", other.as_str())?;
                if let Some(e) = &exec.error {
                    writeln!(w, "error: {e}")?;
                }
                if let Some(c) = &exec.cause {
                    writeln!(w, "cause: {c}")?;
                }
                Ok(())
            }),
        }
    }
    Ok(if exec.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--json --history`: the document written as the run goes, its
/// `"history"` member first, so that however long the history, only one
/// step's events are in memory at a time.
struct JsonHistory {
    first: bool,
    /// The first failure to write (a closed pipe is none).
    failed: Option<std::io::Error>,
}

impl JsonHistory {
    fn start() -> JsonHistory {
        let mut h = JsonHistory {
            first: true,
            failed: None,
        };
        h.write(|w| write!(w, "{{\n  \"history\": ["));
        h
    }

    fn write(&mut self, f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) {
        if self.failed.is_none() {
            self.failed = crate::output::stdout(f).err();
        }
    }

    /// Each event as GetExecutionHistory returns it, indented as a member
    /// of the array.
    fn add(&mut self, events: &[HistoryEvent]) {
        for e in events {
            let text = serde_json::to_string_pretty(&e.to_aws_json(true)).unwrap_or_default();
            let sep = if std::mem::take(&mut self.first) {
                ""
            } else {
                ","
            };
            self.write(|w| write!(w, "{sep}\n    {}", text.replace('\n', "\n    ")));
        }
    }

    /// Closes the array and writes the members of `doc` after it.
    fn finish(mut self, doc: &Value) -> anyhow::Result<()> {
        let close = if self.first { "]" } else { "\n  ]" };
        self.write(|w| write!(w, "{close}"));
        for (k, v) in doc.as_object().into_iter().flatten() {
            let text = serde_json::to_string_pretty(v)?.replace('\n', "\n  ");
            self.write(|w| write!(w, ",\n  {}: {text}", Value::from(k.as_str())));
        }
        self.write(|w| writeln!(w, "\n}}"));
        match self.failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

/// History events as table rows on stderr, as they happen.
fn print_history_rows(events: &[HistoryEvent]) {
    crate::output::stderr(|w| {
        for e in events {
            let name = e.to_aws_json(false);
            let state = name
                .as_object()
                .and_then(|m| m.values().find_map(|v| v.get("name")))
                .and_then(Value::as_str)
                .unwrap_or("");
            writeln!(
                w,
                "{:>5} {:>5}  {:<28} {state}",
                e.id,
                e.previous_event_id,
                e.type_name()
            )?;
        }
        Ok(())
    });
}
