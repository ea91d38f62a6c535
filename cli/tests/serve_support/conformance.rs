//! The conformance corpus's own runner (`../shared/conformance/run.py`,
//! boto3) against a running `flowstate serve`, and what to expect of it.

use super::{require_boto3, shared_dir, workspace_dir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one run of run.py reported.
pub struct RunSummary {
    pub passed: usize,
    /// run.py's summary line, e.g. `639 passed, 0 failed`.
    pub line: String,
    /// Its `FAIL <id>: <why>` lines.
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

fn count_cases(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += count_cases(&p);
        } else if p.extension().is_some_and(|x| x == "json")
            && p.file_name().is_some_and(|f| f != "MANIFEST.json")
        {
            n += 1;
        }
    }
    n
}

/// Case ids listed in a known-failures file of the workspace: one id per
/// line, `#` starts a comment (the reason). A missing file lists none.
pub fn known_failures(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace_dir().join(file)).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// How many cases the in-memory conformance test passes: every case but
/// `tests/conformance-known-failures.txt`.
pub fn in_memory_passes() -> usize {
    count_cases(&shared_dir().join("conformance/cases"))
        - known_failures("tests/conformance-known-failures.txt").len()
}

/// Runs run.py against `endpoint` with `jobs` cases at a time.
pub fn run(endpoint: &str, jobs: usize) -> RunSummary {
    let python = require_boto3();
    let runner = shared_dir().join("conformance/run.py");
    assert!(
        runner.is_file(),
        "the conformance runner is missing: {}",
        runner.display()
    );
    let started = Instant::now();
    let out = Command::new(python)
        .arg(&runner)
        .args([
            "--endpoint",
            endpoint,
            "--jobs",
            &jobs.to_string(),
            "--timeout",
            "60",
            "--no-fail",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        // run.py talks to flowstate, never to moto.
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run run.py");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| {
            panic!(
                "run.py printed no summary line:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_string();
    let passed: usize = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("N passed");
    let failures = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL "))
        .map(str::to_string)
        .collect();
    RunSummary {
        passed,
        line,
        failures,
        elapsed,
    }
}
