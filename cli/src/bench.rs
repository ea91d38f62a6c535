//! `flowstate bench`: the workloads of `tests/data/bench/workloads`, run in
//! memory with the history recorded as for any execution.
//!
//! Each workload runs in a child process of its own, so that the peak RSS
//! reported is that workload's alone. Times are medians over repeated runs;
//! CPU time is the process's user+system time per run.

use anyhow::{bail, Context};
use clap::Args;
use flowstate_asl::definition::StateMachine;
use flowstate_engine::driver::{run_simulated, NoTasks, RunOptions};
use flowstate_engine::{Limits, Status};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub const WORKLOADS: [&str; 5] = [
    "loop-counter",
    "map-10k",
    "parallel-fanout",
    "payload-transform",
    "many-small",
];

#[derive(Args)]
pub struct BenchArgs {
    /// Folder with `<name>.asl.json`, `.input.json`, `.expected.json`
    /// (the default is relative to the project root, where to run from).
    #[arg(long, default_value = "tests/data/bench/workloads")]
    pub workloads: PathBuf,
    /// Run only this workload (in this process).
    #[arg(long)]
    pub workload: Option<String>,
    /// Minimum measuring time per workload, in seconds.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Print one JSON object per workload instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Benchmark this definition instead of `<workload>.asl.json`, with the
    /// workload's input and expected output (e.g. a JSONata rewrite of it).
    #[arg(long, requires = "workload")]
    pub definition: Option<PathBuf>,
}

/// The JSONata rewrite of payload-transform, run as an extra row when the
/// project's `benches/` folder is at hand.
const JSONATA_VARIANT: (&str, &str) = (
    "payload-transform",
    "benches/jsonata/payload-transform-jsonata.asl.json",
);

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Equality that keeps integers and non-integral numbers apart, as the
/// workloads' README asks.
fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.is_f64() == y.is_f64() && x.as_f64() == y.as_f64()
                || (x.as_i64().is_some() && x.as_i64() == y.as_i64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| strict_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| strict_equal(v, w)))
        }
        _ => a == b,
    }
}

/// User + system CPU time of this process (Linux `/proc/self/stat`).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on Linux.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Peak resident set size in bytes (Linux `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct Measured {
    runs: usize,
    median: Duration,
    cpu_per_run: Option<Duration>,
    transitions: u64,
    executions: usize,
    /// Median time to parse and validate the definition, measured apart:
    /// a deployed state machine is parsed once, at CreateStateMachine.
    parse: Duration,
}

fn measure_one(
    dir: &Path,
    name: &str,
    definition: Option<&Path>,
    min_time: Duration,
) -> anyhow::Result<Measured> {
    let def_path = match definition {
        Some(p) => p.to_path_buf(),
        None => dir.join(format!("{name}.asl.json")),
    };
    let def_text = std::fs::read_to_string(&def_path)
        .with_context(|| format!("cannot read workload {name}: {}", def_path.display()))?;
    let input = read_json(&dir.join(format!("{name}.input.json")))?;
    let expected = read_json(&dir.join(format!("{name}.expected.json")))?;
    let opts = RunOptions {
        limits: Limits::LOCAL,
        ..RunOptions::default()
    };
    let inputs: Vec<Value> = if name == "many-small" {
        input
            .as_array()
            .cloned()
            .context("many-small input must be an array")?
    } else {
        vec![input]
    };
    // A deployed state machine is parsed once (at CreateStateMachine), not per
    // execution: parsing is timed on its own and kept out of the runs.
    let parse =
        || StateMachine::from_json_str(&def_text).map_err(|e| anyhow::anyhow!("{name}: {e:?}"));
    let sm = parse()?;
    let mut parse_times = Vec::new();
    let parse_started = Instant::now();
    while parse_times.len() < 5
        || (parse_started.elapsed() < min_time / 10 && parse_times.len() < 1000)
    {
        let t = Instant::now();
        drop(parse()?);
        parse_times.push(t.elapsed());
    }
    parse_times.sort();
    let run_all = || -> anyhow::Result<(Vec<Value>, u64)> {
        let mut outputs = Vec::with_capacity(inputs.len());
        let mut transitions = 0;
        for i in &inputs {
            let out = run_simulated(&sm, i.clone(), &mut NoTasks, &opts);
            if out.execution.status != Status::Succeeded {
                bail!(
                    "{name}: execution {} ({:?}: {:?})",
                    out.execution.status.as_str(),
                    out.execution.error,
                    out.execution.cause
                );
            }
            transitions += out.execution.transitions;
            outputs.push(
                out.execution
                    .output
                    .as_deref()
                    .cloned()
                    .unwrap_or(Value::Null),
            );
        }
        Ok((outputs, transitions))
    };
    // First run: check the result.
    let (outputs, transitions) = run_all()?;
    let got = if name == "many-small" {
        Value::Array(outputs)
    } else {
        outputs.into_iter().next().unwrap_or(Value::Null)
    };
    if !strict_equal(&expected, &got) {
        bail!("{name}: the output differs from {name}.expected.json");
    }
    let mut times = Vec::new();
    let cpu_start = cpu_time();
    let started = Instant::now();
    while times.len() < 5 || started.elapsed() < min_time {
        let t = Instant::now();
        run_all()?;
        times.push(t.elapsed());
        if times.len() >= 10_000 {
            break;
        }
    }
    let cpu_per_run = match (cpu_start, cpu_time()) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a)) / times.len() as u32),
        _ => None,
    };
    times.sort();
    Ok(Measured {
        runs: times.len(),
        median: times[times.len() / 2],
        cpu_per_run,
        transitions,
        executions: inputs.len(),
        parse: parse_times[parse_times.len() / 2],
    })
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if !args.workloads.is_dir() {
        bail!(
            "workloads folder {} not found (run from the project root, where tests/data/bench/workloads is, or pass --workloads)",
            args.workloads.display()
        );
    }
    let min_time = Duration::from_secs_f64(args.seconds.max(0.0));
    if let Some(name) = &args.workload {
        let m = measure_one(&args.workloads, name, args.definition.as_deref(), min_time)?;
        let secs = m.median.as_secs_f64();
        outln!(
            "{}",
            json!({
                "workload": name,
                "runs": m.runs,
                "median_ms": secs * 1000.0,
                "parse_ms": m.parse.as_secs_f64() * 1000.0,
                "cpu_ms_per_run": m.cpu_per_run.map(|d| d.as_secs_f64() * 1000.0),
                "transitions": m.transitions,
                "transitions_per_s": m.transitions as f64 / secs,
                "executions_per_s": m.executions as f64 / secs,
                "peak_rss_mib": peak_rss().map(|b| b as f64 / (1024.0 * 1024.0)),
            })
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe().context("cannot find the flowstate binary")?;
    let mut failed = false;
    if !args.json {
        outln!(
            "{:<25} {:>6} {:>11} {:>11} {:>12} {:>14} {:>12} {:>9} {:>9}",
            "workload",
            "runs",
            "median ms",
            "cpu ms/run",
            "transitions",
            "transitions/s",
            "executions/s",
            "peak MiB",
            "parse ms"
        )?;
    }
    let mut rows: Vec<(String, &str, Option<&str>)> = WORKLOADS
        .iter()
        .map(|w| (w.to_string(), *w, None))
        .collect();
    if Path::new(JSONATA_VARIANT.1).is_file() {
        rows.push((
            "payload-transform/jsonata".into(),
            JSONATA_VARIANT.0,
            Some(JSONATA_VARIANT.1),
        ));
    }
    for (label, name, definition) in rows {
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("bench")
            .arg("--workloads")
            .arg(&args.workloads)
            .arg("--workload")
            .arg(name)
            .arg("--seconds")
            .arg(args.seconds.to_string());
        if let Some(d) = definition {
            cmd.arg("--definition").arg(d);
        }
        let out = cmd
            .output()
            .context("cannot start the benchmark child process")?;
        let name = label.as_str();
        if !out.status.success() {
            failed = true;
            errln!(
                "{name}: FAILED: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        let line = String::from_utf8_lossy(&out.stdout);
        if args.json {
            out!("{line}")?;
            continue;
        }
        let v: Value = serde_json::from_str(line.trim()).context("bad child output")?;
        let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        outln!(
            "{:<25} {:>6} {:>11.3} {:>11.3} {:>12} {:>14.0} {:>12.0} {:>9.1} {:>9.3}",
            name,
            v["runs"],
            f("median_ms"),
            f("cpu_ms_per_run"),
            v["transitions"],
            f("transitions_per_s"),
            f("executions_per_s"),
            f("peak_rss_mib"),
            f("parse_ms"),
        )?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
