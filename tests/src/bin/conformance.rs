//! Runs the recorded conformance corpus against any endpoint that speaks
//! the Step Functions API:
//!
//! ```text
//! cargo run -p flowstate-tests --bin conformance -- --endpoint http://127.0.0.1:8083 [--filter map] [--jobs 8]
//! ```
//!
//! Prints `FAIL <id>: <reason>` for each failing case and ends with
//! `N passed, M failed`. Exits 0 only when nothing failed (or with
//! `--no-fail`), 1 otherwise, 2 on bad usage or an unreadable corpus.

use anyhow::Context;
use clap::Parser;
use flowstate_tests::conformance::endpoint::{self, RunOptions, Verdict, DEFAULT_ROLE_ARN};
use flowstate_tests::conformance::json::Numbers;
use flowstate_tests::conformance::{cases_dir, load_cases};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Run the recorded conformance corpus against a Step Functions API endpoint")]
struct Args {
    /// The endpoint, e.g. http://127.0.0.1:8083.
    #[arg(long)]
    endpoint: String,
    /// Case folder, searched recursively (default: the project's corpus).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Only cases whose id, category, source or path contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Cases run at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Seconds an execution may run.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Write per-case results and timings to this file (JSON).
    #[arg(long)]
    json_report: Option<PathBuf>,
    /// Exit 0 even if cases fail.
    #[arg(long)]
    no_fail: bool,
    /// Do not call GetExecutionHistory.
    #[arg(long)]
    no_history: bool,
    /// Tell integers and non-integral numbers apart (1 differs from 1.0).
    #[arg(long)]
    strict_numbers: bool,
    /// Do not delete the state machines.
    #[arg(long)]
    keep: bool,
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = DEFAULT_ROLE_ARN)]
    role_arn: String,
    /// Also print passing cases.
    #[arg(short, long)]
    verbose: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.cases.clone().unwrap_or_else(cases_dir);
    let mut cases = load_cases(&dir).context("loading the conformance cases")?;
    if let Some(f) = &args.filter {
        cases.retain(|c| c.matches(f));
    }
    let total = cases.len();
    let options = RunOptions {
        jobs: args.jobs,
        timeout: Duration::try_from_secs_f64(args.timeout).context("--timeout")?,
        // An empty AWS_DEFAULT_REGION counts as unset.
        region: match args.region.as_str() {
            "" => "us-east-1".to_string(),
            r => r.to_string(),
        },
        role_arn: args.role_arn.clone(),
        history: !args.no_history,
        numbers: if args.strict_numbers {
            Numbers::Strict
        } else {
            Numbers::ByValue
        },
        keep: args.keep,
        ..RunOptions::new(&args.endpoint)
    };
    let verbose = args.verbose;
    let report = endpoint::run(cases, &options, |r| match &r.verdict {
        Verdict::Fail(why) => println!("FAIL {}: {why}", r.id),
        Verdict::Pass if verbose => println!("PASS {} ({:.2}s)", r.id, r.duration.as_secs_f64()),
        Verdict::Skip(why) if verbose => println!("SKIP {}: {why}", r.id),
        _ => {}
    })
    .await;
    if let Some(path) = &args.json_report {
        let mut results = report.results.clone();
        results.sort_by(|a, b| a.id.cmp(&b.id));
        let results: Vec<_> = results
            .iter()
            .map(|r| {
                let (result, reason) = match &r.verdict {
                    Verdict::Pass => ("pass", ""),
                    Verdict::Fail(why) => ("fail", why.as_str()),
                    Verdict::Skip(why) => ("skip", why.as_str()),
                };
                json!({
                    "id": r.id,
                    "category": r.category,
                    "result": result,
                    "reason": reason,
                    "duration_s": (r.duration.as_secs_f64() * 1000.0).round() / 1000.0,
                })
            })
            .collect();
        let doc = json!({
            "endpoint": args.endpoint,
            "cases_dir": dir.display().to_string(),
            "filter": args.filter,
            "passed": report.passed(),
            "failed": report.failed(),
            "skipped": report.skipped(),
            "wall_s": (report.wall.as_secs_f64() * 100.0).round() / 100.0,
            "results": results,
        });
        let text = serde_json::to_string_pretty(&doc).context("JSON report")?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    println!("# {total} cases in {:.1}s", report.wall.as_secs_f64());
    println!("{}", report.summary());
    Ok(if report.failed() == 0 || args.no_fail {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
