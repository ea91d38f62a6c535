//! The project's conformance runner (`flowstate_tests::conformance`)
//! against a running `flowstate serve`, and what to expect of it.

use flowstate_tests::conformance::endpoint::{self, Report, RunOptions};
use flowstate_tests::conformance::{cases_dir, known_failures, load_cases};
use std::time::Duration;

/// How many cases the in-memory conformance test passes: every case of
/// the corpus but those in `tests/conformance-known-failures.txt`.
pub fn in_memory_passes() -> usize {
    let cases = load_cases(&cases_dir()).unwrap();
    cases.len() - known_failures().unwrap().len()
}

/// Runs the whole corpus against `endpoint`, `jobs` cases at a time, 60 s
/// per execution.
pub fn run(endpoint: &str, jobs: usize) -> Report {
    let cases = load_cases(&cases_dir()).unwrap();
    let options = RunOptions {
        jobs,
        timeout: Duration::from_secs(60),
        ..RunOptions::new(endpoint)
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(endpoint::run(cases, &options, |_| {}))
}
