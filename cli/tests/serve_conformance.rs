//! The conformance corpus through `flowstate serve`, with the corpus's own
//! runner (`../shared/conformance/run.py`, boto3): it must pass at least
//! the cases the in-memory conformance test passes
//! (`tests/tests/conformance.rs` minus `tests/conformance-known-failures.txt`).

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

mod serve_support;

use serve_support::{require_boto3, shared_dir, workspace_dir, Server};
use std::path::Path;
use std::process::Command;

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

/// Cases the in-memory test expects to fail: one id per line, `#` comments.
fn known_failures() -> usize {
    let text =
        std::fs::read_to_string(workspace_dir().join("tests/conformance-known-failures.txt"))
            .unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .count()
}

#[test]
fn conformance_runner_passes_against_serve() {
    let python = require_boto3();
    let runner = shared_dir().join("conformance/run.py");
    assert!(
        runner.is_file(),
        "the conformance runner is missing: {}",
        runner.display()
    );
    let expected = count_cases(&shared_dir().join("conformance/cases")) - known_failures();

    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&["--data-dir", dir.path().to_str().unwrap()]);
    let out = Command::new(python)
        .arg(&runner)
        .args([
            "--endpoint",
            &s.url,
            "--jobs",
            "8",
            "--timeout",
            "60",
            "--no-fail",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run run.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| {
            panic!(
                "run.py printed no summary line:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let passed: usize = last
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("N passed");
    eprintln!("run.py against flowstate serve: {last}");
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(
        passed >= expected,
        "run.py passed {passed}, the in-memory test passes {expected}: {last}\n{}",
        failures.join("\n")
    );
}
