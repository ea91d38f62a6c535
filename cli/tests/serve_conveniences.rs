//! Local testing conveniences of `flowstate serve`: the mock config named
//! by the variables other tools use, mocked test cases answering
//! StartSyncExecution, moving the server's timers on, and ARNs in the
//! region and account the client names.

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

/// `POST /_flowstate/clock/next-timer`; the timer it moved the clock to.
fn fire_next_timer(s: &Server) -> serde_json::Value {
    let text = ureq::post(&format!("{}/_flowstate/clock/next-timer", s.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    answer["timerDue"].clone()
}

#[test]
fn a_one_day_wait_ends_when_the_next_timer_is_fired() {
    let s = Server::start(&["--memory"]);
    let arn = s.create(
        "daylong",
        &json!({"StartAt": "Day", "States": {
            "Day": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "later", "End": true}}}),
    );
    let exec = s.ok("StartExecution", json!({"stateMachineArn": arn}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    // The Wait's timer is scheduled by the execution's first step, which
    // the worker may not have taken yet: fire until one was there.
    let mut fired = serde_json::Value::Null;
    for _ in 0..200 {
        fired = fire_next_timer(&s);
        if !fired.is_null() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let due = fired.as_i64().expect("a timer was pending");
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], r#""later""#);
    // The execution saw the day pass.
    let start = (d["startDate"].as_f64().unwrap() * 1000.0) as i64;
    let stop = (d["stopDate"].as_f64().unwrap() * 1000.0) as i64;
    assert!(stop - start >= 86_400_000, "{d}");
    assert!(due - start >= 86_400_000 - 1_000, "{due} {start}");
}

#[test]
fn wait_scale_zero_runs_a_one_day_wait_without_waiting() {
    let s = Server::start(&["--memory", "--wait-scale", "0"]);
    let arn = s.create(
        "scaled",
        &json!({"StartAt": "Day", "States": {
            "Day": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
    );
    let exec = s.ok("StartExecution", json!({"stateMachineArn": arn}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let start = d["startDate"].as_f64().unwrap();
    let stop = d["stopDate"].as_f64().unwrap();
    assert!(stop - start >= 86_400.0, "{d}");
}

const REGION_SCRIPT: &str = r#"
import json, sys
import boto3
from botocore.config import Config

def client(region, key="test"):
    return boto3.client("stepfunctions", endpoint_url=sys.argv[1], region_name=region,
                        aws_access_key_id=key, aws_secret_access_key="test",
                        config=Config(inject_host_prefix=False))

definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
role = "arn:aws:iam::123456789012:role/flowstate"
paris = client("eu-west-3")
arn = paris.create_state_machine(name="regional", definition=definition, roleArn=role)["stateMachineArn"]
assert arn == "arn:aws:states:eu-west-3:123456789012:stateMachine:regional", arn
# The ARN the client builds itself names the same state machine.
assert paris.describe_state_machine(stateMachineArn=arn)["name"] == "regional"
ex = paris.start_execution(stateMachineArn=arn, name="one")["executionArn"]
assert ex == "arn:aws:states:eu-west-3:123456789012:execution:regional:one", ex
# A 12-digit access key id is the account, as LocalStack reads it.
other = client("ap-south-1", key="111122223333")
arn = other.create_state_machine(name="elsewhere", definition=definition, roleArn=role)["stateMachineArn"]
assert arn == "arn:aws:states:ap-south-1:111122223333:stateMachine:elsewhere", arn
try:
    paris.describe_execution(executionArn="arn:aws:states:eu-west-3:123456789012:stateMachine:regional")
    raise SystemExit("expected InvalidArn")
except paris.exceptions.InvalidArn as e:
    assert "stateMachine:regional" in str(e), e
print("regions ok")
"#;

#[test]
fn arns_take_the_region_and_account_of_the_request() {
    let s = Server::start_with(&["--memory"], None, &[("AWS_REGION", "us-west-2")]);
    let stdout = crate::serve_support::run_boto3_script(REGION_SCRIPT, &s.url);
    assert!(stdout.contains("regions ok"), "{stdout}");
    // Unsigned requests take the server's region: here the environment's.
    let arn = s.create(
        "unsigned",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    assert_eq!(
        arn,
        "arn:aws:states:us-west-2:123456789012:stateMachine:unsigned"
    );
}

#[test]
fn express_executions_have_express_arns_and_are_not_listed() {
    let s = Server::start(&["--memory"]);
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let arn = s.ok(
        "CreateStateMachine",
        json!({"name": "quick", "type": "EXPRESS", "roleArn": ROLE,
               "definition": definition.to_string()}),
    )["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string();
    let exec = s.ok(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "run"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        exec.starts_with("arn:aws:states:us-east-1:123456789012:express:quick:run:"),
        "{exec}"
    );
    let (status, err) = s
        .call("ListExecutions", json!({"stateMachineArn": arn}))
        .unwrap_err();
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("StateMachineTypeNotSupported"))
    );
    // This server keeps an Express execution started asynchronously, so
    // the inspector can still open it by its ARN.
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let standard = s.create("slow", &definition);
    let exec = s.ok("StartExecution", json!({"stateMachineArn": standard}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    s.wait_done(&exec, std::time::Duration::from_secs(30));
    let history = s.ok("GetExecutionHistory", json!({"executionArn": exec}));
    let started = &history["events"][0]["executionStartedEventDetails"];
    let mut members: Vec<&str> = started
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort();
    // ExecutionStartedEventDetails' members in the service model.
    for m in &members {
        assert!(
            [
                "input",
                "inputDetails",
                "roleArn",
                "stateMachineAliasArn",
                "stateMachineVersionArn"
            ]
            .contains(m),
            "{m} is not in the model: {started}"
        );
    }
    assert_eq!(members, ["input", "inputDetails", "roleArn"]);
}
