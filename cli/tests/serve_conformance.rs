//! The conformance corpus through `flowstate serve`, with the project's
//! endpoint runner (`flowstate_tests::conformance::endpoint`, the Rust AWS
//! SDK): it must pass at least the cases the in-memory conformance test
//! passes (`tests/tests/conformance.rs` minus
//! `tests/conformance-known-failures.txt`).

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{conformance, Server};

#[test]
fn conformance_runner_passes_against_serve() {
    let expected = conformance::in_memory_passes();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&["--data-dir", dir.path().to_str().unwrap()]);
    let run = conformance::run(&s.url, 8);
    eprintln!(
        "conformance runner against flowstate serve: {} in {:.1?}",
        run.summary(),
        run.wall
    );
    assert!(
        run.passed() >= expected,
        "the runner passed {}, the in-memory test passes {expected}: {}\n{}",
        run.passed(),
        run.summary(),
        run.failure_lines().join("\n")
    );
}
