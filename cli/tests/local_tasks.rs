//! `flowstate run` with mocked service integrations (`--mock-config`,
//! `--test-case`, `SFN_MOCK_CONFIG`) and handlers' stderr passed through.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

const DEFINITION: &str = r#"{
  "StartAt": "Charge",
  "States": {
    "Charge": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
      "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 5, "MaxAttempts": 2}],
      "ResultSelector": {"paid.$": "$.Payload.paid"},
      "Next": "Notify"
    },
    "Notify": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:orders", "Message.$": "States.JsonToString($)"},
      "End": true
    }
  }
}"#;

const MOCKS: &str = r#"{
  "StateMachines": {
    "Orders": {
      "TestCases": {
        "HappyPath": {"Charge": "ChargeOk", "Notify": "Published"},
        "Throttled": {"Charge": "ChargeThrottledTwice"}
      }
    }
  },
  "MockedResponses": {
    "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"paid": true}}}},
    "ChargeThrottledTwice": {
      "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"}},
      "2": {"Return": {"StatusCode": 200, "Payload": {"paid": "late"}}}
    },
    "Published": {"0": {"Return": {"MessageId": "mock-1"}}}
  }
}"#;

/// `orders.asl.json`, `MockConfigFile.json` and a `flowstate.toml` whose
/// SNS handler logs to stderr and echoes the message.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("orders.asl.json"), DEFINITION).expect("write the definition");
    std::fs::write(dir.path().join("MockConfigFile.json"), MOCKS).expect("write the mock config");
    std::fs::write(
        dir.path().join("flowstate.toml"),
        r#"[tasks."arn:aws:states:::sns:publish"]
command = ["sh", "-c", "cat > /dev/null; echo 'publishing' >&2; echo 'done' >&2; echo '{\"MessageId\": \"real-1\"}'"]
"#,
    )
    .expect("write flowstate.toml");
    dir
}

fn flowstate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowstate"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("SFN_MOCK_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the flowstate binary runs")
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

const RUN: [&str; 5] = ["run", "orders.asl.json", "--wait-scale", "0", "--json"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    RUN.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn a_test_case_answers_every_mocked_state() {
    let dir = project();
    let o = flowstate(
        dir.path(),
        &args(&[
            "--state-machine-name",
            "Orders",
            "--mock-config",
            "MockConfigFile.json",
            "--test-case",
            "HappyPath",
        ]),
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json_out(&o)["output"], json!({"MessageId": "mock-1"}));
    // The SNS handler did not run.
    assert!(!String::from_utf8_lossy(&o.stderr).contains("[Notify]"));
}

#[test]
fn sfn_mock_config_and_retries_through_the_ranges_then_the_real_handler() {
    let dir = project();
    let o = flowstate(
        dir.path(),
        &args(&[
            "--state-machine-name",
            "Orders",
            "--test-case",
            "Throttled",
            "--history",
        ]),
        &[("SFN_MOCK_CONFIG", "MockConfigFile.json")],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc = json_out(&o);
    assert_eq!(doc["output"], json!({"MessageId": "real-1"}));
    let failed: Vec<&Value> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0]["taskFailedEventDetails"]["error"],
        "Lambda.TooManyRequestsException"
    );
    // Notify is not mocked in this test case: flowstate.toml's handler ran,
    // and its stderr reached ours, line by line, under the state's name.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("[Notify] publishing\n[Notify] done\n"),
        "{stderr}"
    );
}

#[test]
fn the_state_machine_name_defaults_to_the_file_name_without_asl_and_the_error_says_so() {
    let dir = project();
    let o = flowstate(
        dir.path(),
        &args(&[
            "--mock-config",
            "MockConfigFile.json",
            "--test-case",
            "HappyPath",
        ]),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("StateMachines has no state machine 'orders' (its state machines: Orders)"),
        "{stderr}"
    );
    assert!(stderr.contains("--state-machine-name"), "{stderr}");
}

#[test]
fn mock_flags_that_cannot_work_are_usage_errors() {
    let dir = project();
    let o = flowstate(dir.path(), &args(&["--test-case", "HappyPath"]), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SFN_MOCK_CONFIG"));

    let o = flowstate(
        dir.path(),
        &args(&[
            "--state-machine-name",
            "Orders",
            "--mock-config",
            "MockConfigFile.json",
        ]),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("HappyPath, Throttled"));

    let o = flowstate(dir.path(), &args(&["--state-machine-name", "a:b"]), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--state-machine-name must be"));

    std::fs::write(
        dir.path().join("MockConfigFile.json"),
        r#"{"StateMachines": {}, "MockedResponses": {"R": {"1-0": {"Return": 1}}}}"#,
    )
    .unwrap();
    let o = flowstate(
        dir.path(),
        &args(&[
            "--mock-config",
            "MockConfigFile.json",
            "--test-case",
            "HappyPath",
        ]),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("MockConfigFile.json: MockedResponses.R.\"1-0\": an invocation key is"),
        "{stderr}"
    );
}

#[test]
fn sfn_mock_config_without_a_test_case_mocks_nothing() {
    let dir = project();
    let o = flowstate(
        dir.path(),
        &args(&["--state-machine-name", "Orders"]),
        &[("SFN_MOCK_CONFIG", "MockConfigFile.json")],
    );
    // Charge is unmapped in flowstate.toml: the real (missing) handler fails.
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["error"], "States.TaskFailed");
}
