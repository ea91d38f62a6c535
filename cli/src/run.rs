//! `flowstate run`: one execution in memory, output on stdout.

use crate::clock::ScaledClock;
use crate::validate::{check_file, print_diagnostics};
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use flowstate_asl::definition::StateMachine;
use flowstate_asl::validate::Severity;
use flowstate_engine::driver::{self, RunOptions, TaskHandler};
use flowstate_engine::{Limits, Status};
use flowstate_local_tasks::mock::{self, MockError, MockedTasks};
use flowstate_local_tasks::LocalTasks;
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
    /// duration limit, Step Functions' 256 KiB payload limit.
    #[arg(long = "type", value_enum)]
    pub workflow_type: Option<WorkflowType>,
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
    /// (MockConfigFile.json). Default: $SFN_MOCK_CONFIG, if set.
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
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("the input is not valid JSON: {e}"))
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if !(args.wait_scale >= 0.0 && args.wait_scale.is_finite()) {
        bail!("--wait-scale must be a number >= 0");
    }
    let (value, diagnostics) = check_file(&args.definition)?;
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        print_diagnostics(&args.definition, &diagnostics);
        return Ok(ExitCode::from(2));
    }
    let sm = match StateMachine::from_value(&value) {
        Ok(sm) => sm,
        Err(errors) => {
            for e in errors {
                eprintln!(
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
    let (limits, timeout) = match args.workflow_type {
        None => (Limits::LOCAL, None),
        Some(WorkflowType::Standard) => (Limits::STANDARD, None),
        Some(WorkflowType::Express) => (Limits::EXPRESS, Some(300)),
    };
    let opts = RunOptions {
        execution_name: args.name.clone(),
        state_machine_name: name,
        limits,
        timeout_seconds: timeout.map(|t: u64| sm.timeout_seconds.map_or(t, |d| d.min(t))),
        ..RunOptions::default()
    };
    let mut clock = ScaledClock::new(args.wait_scale);
    let outcome = driver::run(&sm, input, tasks, &mut clock, &opts);
    let exec = &outcome.execution;
    if args.json {
        let mut doc = json!({
            "status": exec.status.as_str(),
            "output": exec.output.as_deref(),
            "error": exec.error,
            "cause": exec.cause,
        });
        if args.history {
            doc["history"] = Value::Array(
                outcome
                    .history
                    .iter()
                    .map(|e| e.to_aws_json(true))
                    .collect(),
            );
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        if args.history {
            for e in &outcome.history {
                let name = e.to_aws_json(false);
                let state = name
                    .as_object()
                    .and_then(|m| m.values().find_map(|v| v.get("name")))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                eprintln!(
                    "{:>5} {:>5}  {:<28} {state}",
                    e.id,
                    e.previous_event_id,
                    e.type_name()
                );
            }
        }
        match exec.status {
            Status::Succeeded => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(exec.output.as_deref().unwrap_or(&Value::Null))?
                )
            }
            other => {
                eprintln!("execution {}", other.as_str());
                if let Some(e) = &exec.error {
                    eprintln!("error: {e}");
                }
                if let Some(c) = &exec.cause {
                    eprintln!("cause: {c}");
                }
            }
        }
    }
    Ok(if exec.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
