//! The conformance corpus through `flowstate serve --backend aws` on moto
//! (DynamoDB + SQS), with the project's endpoint runner: it must pass the same
//! cases as the embedded backend (`serve_conformance.rs`), i.e. every case
//! the in-memory test passes.
//!
//! The whole corpus runs: ~50 s on moto on a 2-core machine (most cases
//! take 0.3–1 s; the slowest are the Retry cases' real back-offs, up to
//! ~8 s), well inside CI's budget, so no subset is needed.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{conformance, Server};

#[test]
fn conformance_runner_passes_against_serve_on_dynamodb_and_sqs() {
    let expected = conformance::in_memory_passes();
    let moto = flowstate_testkit::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on_moto(&moto.endpoint, "flowstate-conformance", dir.path(), &[]);
    let run = conformance::run(&s.url, 8);
    eprintln!(
        "conformance runner against flowstate serve --backend aws on moto: {} in {:.1?}",
        run.summary(),
        run.wall
    );
    assert!(
        run.passed() >= expected,
        "the runner passed {} on DynamoDB + SQS, the in-memory test passes {expected}: {}\n{}",
        run.passed(),
        run.summary(),
        run.failure_lines().join("\n")
    );
}
