//! Waits of several hours, with time moved by the test rather than waited:
//! `flowstate serve` started with `FLOWSTATE_TEST_CLOCK_FILE` reads its
//! clock's offset from a file the test rewrites. On the embedded backend,
//! and on DynamoDB + SQS (moto), where a timer over 900 s waits in the
//! table until the worker's sweep sends it.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{moto_env, Server};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const HOURS: i64 = 3;

/// Starts an execution waiting three hours, checks it still waits, moves
/// the server's clock three hours and a minute ahead, and expects it to end
/// with the Wait's own timestamps three hours apart.
fn a_three_hour_wait_ends_when_the_clock_file_moves(s: &Server, clock_file: &Path) {
    let definition = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": HOURS * 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}
    }});
    let sm = s.create("hours", &definition);
    let started = s.ok(
        "StartExecution",
        json!({"stateMachineArn": sm, "input": "{\"n\":1}"}),
    );
    let arn = started["executionArn"].as_str().unwrap().to_string();
    let d = s.ok("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(d["status"], "RUNNING");
    std::fs::write(clock_file, ((HOURS * 3600) + 60).to_string()).unwrap();
    let d = s.wait_done(&arn, Duration::from_secs(120));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let history = s.history(&arn);
    let at = |kind: &str| -> f64 {
        history
            .iter()
            .find(|e| e["type"] == kind)
            .and_then(|e| e["timestamp"].as_f64())
            .unwrap_or_else(|| panic!("no {kind} in {history:?}"))
    };
    let waited = at("WaitStateExited") - at("WaitStateEntered");
    assert!(
        waited >= (HOURS * 3600) as f64,
        "the Wait ended {waited} s after it began"
    );
}

#[test]
fn a_wait_of_hours_ends_when_the_test_moves_the_clock_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock-offset");
    std::fs::write(&clock, "0").unwrap();
    let s = Server::start_with(
        &["--memory"],
        None,
        &[("FLOWSTATE_TEST_CLOCK_FILE", clock.to_str().unwrap())],
    );
    a_three_hour_wait_ends_when_the_clock_file_moves(&s, &clock);
}

#[test]
fn a_wait_of_hours_ends_when_the_test_moves_the_clock_on_dynamodb_and_sqs() {
    let moto = flowstate_testkit::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock-offset");
    std::fs::write(&clock, "0").unwrap();
    let mut env = moto_env(&moto.endpoint).to_vec();
    env.push(("FLOWSTATE_TEST_CLOCK_FILE", clock.to_str().unwrap()));
    let s = Server::start_with(
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--backend",
            "aws",
            "--table",
            "flowstate-hours",
            "--queue",
            "flowstate-hours-steps",
            "--create-resources",
        ],
        None,
        &env,
    );
    a_three_hour_wait_ends_when_the_clock_file_moves(&s, &clock);
}
