//! Local testing conveniences of `flowstate serve`: the mock config named
//! by the variables other tools use, mocked test cases answering
//! StartSyncExecution, and moving the server's timers on.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{Server, ROLE};
use serde_json::json;

const MOCKS: &str = r#"{
  "StateMachines": {
    "Quote": {"TestCases": {"Cheap": {"Price": "Low"}}}
  },
  "MockedResponses": {
    "Low": {"0": {"Return": {"StatusCode": 200, "Payload": {"price": 1}}}}
  }
}"#;

#[test]
fn localstack_mock_config_variable_mocks_a_start_sync_execution() {
    let dir = tempfile::tempdir().unwrap();
    let mocks = dir.path().join("MockConfigFile.json");
    std::fs::write(&mocks, MOCKS).unwrap();
    let s = Server::start_with(
        &["--memory"],
        Some(dir.path()),
        &[
            ("LOCALSTACK_SFN_MOCK_CONFIG", mocks.to_str().unwrap()),
            ("SFN_MOCK_CONFIG", ""),
        ],
    );
    let definition = json!({"StartAt": "Price", "States": {"Price": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "price"}, "OutputPath": "$.Payload", "End": true}}});
    let arn = s.ok(
        "CreateStateMachine",
        json!({"name": "Quote", "type": "EXPRESS", "roleArn": ROLE,
               "definition": definition.to_string()}),
    )["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.ok(
        "StartSyncExecution",
        json!({"stateMachineArn": format!("{arn}#Cheap"), "input": "{}"}),
    );
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
    assert_eq!(r["output"], r#"{"price":1}"#, "{r}");
}
