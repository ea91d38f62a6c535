//! `flowstate`: run and validate Amazon States Language state machines
//! locally, and measure the engine.
//!
//! - `flowstate run <definition>`: one execution in memory ([`run`]);
//! - `flowstate validate <definition>`: every problem at once ([`validate`]);
//! - `flowstate bench`: the shared benchmark workloads ([`bench`]);
//! - `flowstate bench-aws`: the AWS deployment's shape on moto ([`bench_aws`]);
//! - `flowstate serve`: the Step Functions API on a local port ([`serve`]);
//! - `flowstate worker`: one stepper instance on DynamoDB + SQS ([`worker`]);
//! - `flowstate keys`: access keys of a deployed stack ([`keys`]).
//!
//! Exit codes: 0 success, 1 the execution did not succeed or the
//! definition is invalid, 2 bad usage (unreadable file, bad flag, invalid
//! definition given to `run`).

// First, so that its macros are in scope in every module after it.
#[macro_use]
mod output;

mod bench;
mod bench_aws;
mod clock;
mod keys;
mod run;
mod serve;
mod serve_clock;
mod validate;
mod worker;

use clap::{Parser, Subcommand};
use flowstate_local_tasks::{load_config, HandlerLog, TaskConfig};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

// Executions clone and drop many small JSON nodes; mimalloc handles that
// allocation pattern markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "flowstate",
    version,
    about = "Run AWS Step Functions state machines (Amazon States Language) locally"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one execution in memory and print its output.
    Run(run::RunArgs),
    /// Check a definition and list every problem with its location.
    Validate(validate::ValidateArgs),
    /// Run the benchmark workloads and report speed and memory.
    Bench(bench::BenchArgs),
    /// Measure the AWS deployment's shape on moto: serve --no-worker and worker processes.
    BenchAws(bench_aws::BenchAwsArgs),
    /// Serve the Step Functions API locally (durable, with timers and callbacks).
    Serve(serve::ServeArgs),
    /// Manage the access keys a deployed stack's API accepts.
    Keys(keys::KeysArgs),
    /// Advance executions on DynamoDB + SQS as one stepper function instance.
    Worker(worker::WorkerArgs),
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Bench(a) => bench::run(a),
        Command::BenchAws(a) => bench_aws::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Keys(a) => keys::run(a),
        Command::Worker(a) => worker::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("flowstate: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The libraries log through `tracing`: their warnings (e.g. the runtime's
/// "effects left to the outbox sweep" under `serve`) go to stderr.
/// `RUST_LOG` chooses what is shown; by default Flowstate's own warnings,
/// and nothing from other crates.
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("flowstate=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The Task handlers of `run` and `serve`: the `--config` file, else
/// `./flowstate.toml` when it exists, else none (every task then fails
/// saying what to write there).
fn task_config(path: Option<&Path>) -> anyhow::Result<TaskConfig> {
    let default = Path::new("flowstate.toml");
    Ok(match path {
        Some(p) => load_config(p)?,
        None if default.exists() => load_config(default)?,
        None => TaskConfig::empty(default),
    })
}

/// Command handlers' stderr on ours, as `[StateName] line`.
fn handler_log() -> HandlerLog {
    HandlerLog::Lines(Arc::new(|state_name: &str, line: &str| {
        // One locked write per line, so that concurrent handlers' lines
        // never interleave mid-line; a closed stderr is not the handler's
        // failure.
        let _ = writeln!(std::io::stderr().lock(), "[{state_name}] {line}");
    }))
}
