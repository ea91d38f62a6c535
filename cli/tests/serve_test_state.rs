//! TestState through `flowstate serve`, as users call it: boto3 at the
//! three inspection levels with mocks (each raw answer checked against the
//! members botocore's model has), an unmocked Task performed by a local
//! handler, and `aws stepfunctions test-state`.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{aws_env, require_tool, run_boto3_script, Server};
use serde_json::{json, Value};
use std::process::Command;

const BOTO3_SCRIPT: &str = r#"
import json, sys
import boto3
from botocore.config import Config

endpoint = sys.argv[1]
# TestState, like StartSyncExecution, has the `sync-` host prefix.
sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(inject_host_prefix=False))
model = sfn.meta.service_model

def members_in_model(shape, value, where):
    """Every member of the raw answer is one the model's shape has."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        for k, v in value.items():
            assert k in shape.members, f"{where}.{k} is not in {shape.name}"
            members_in_model(shape.members[k], v, f"{where}.{k}")
    elif shape.type_name == "string":
        assert isinstance(value, str), where
    elif shape.type_name == "integer":
        assert isinstance(value, int), where

raw = []
def keep_raw(http_response, **kwargs):
    raw.append(json.loads(http_response.content))
sfn.meta.events.register("after-call.states.TestState", keep_raw)
out_shape = model.operation_model("TestState").output_shape

def test(**kw):
    r = sfn.test_state(**kw)
    members_in_model(out_shape, raw[-1], "TestStateOutput")
    return r

task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
        "ResultSelector": {"total.$": "$.Payload.total"}, "ResultPath": "$.charged",
        "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 3, "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"}],
        "Next": "Ship"}
mocked = {"result": json.dumps({"Payload": {"total": 42}, "StatusCode": 200})}

# INFO: the answer without inspection data.
r = test(definition=json.dumps(task), input='{"order": 7}', mock=mocked)
assert r["status"] == "SUCCEEDED" and r["nextState"] == "Ship", r
assert json.loads(r["output"]) == {"order": 7, "charged": {"total": 42}}, r
assert "inspectionData" not in r, r

# DEBUG: the data after each processing step.
r = test(definition=json.dumps(task), input='{"order": 7}', mock=mocked, inspectionLevel="DEBUG")
d = r["inspectionData"]
assert json.loads(d["input"]) == {"order": 7}, d
assert json.loads(d["afterInputPath"]) == {"order": 7}, d
assert json.loads(d["afterParameters"]) == {"FunctionName": "charge", "Payload": {"order": 7}}, d
assert json.loads(d["result"]) == {"Payload": {"total": 42}, "StatusCode": 200}, d
assert json.loads(d["afterResultSelector"]) == {"total": 42}, d
assert json.loads(d["afterResultPath"]) == {"order": 7, "charged": {"total": 42}}, d

# A mocked error a retrier takes, then the same past its retries.
busy = {"errorOutput": {"error": "Busy", "cause": "try later"}}
r = test(definition=json.dumps(task), mock=busy, inspectionLevel="DEBUG")
assert r["status"] == "RETRIABLE" and r["error"] == "Busy", r
assert r["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 3}, r
r = test(definition=json.dumps(task), input='{"order": 7}', mock=busy, inspectionLevel="DEBUG",
         stateConfiguration={"retrierRetryCount": 2})
assert r["status"] == "CAUGHT_ERROR" and r["nextState"] == "Refund", r
assert json.loads(r["output"]) == {"order": 7, "error": {"Error": "Busy", "Cause": "try later"}}, r
assert r["inspectionData"]["errorDetails"] == {"catchIndex": 0}, r

# TRACE: an HTTP Task's request and response.
http = {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
        "Parameters": {"ApiEndpoint": "https://api.example.com/orders", "Method": "GET",
                       "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}}}
r = test(definition=json.dumps(http), inspectionLevel="TRACE",
         mock={"result": json.dumps({"StatusCode": 200, "StatusText": "OK", "ResponseBody": {"n": 1}})})
d = r["inspectionData"]
assert d["request"]["method"] == "GET" and d["request"]["url"] == "https://api.example.com/orders", d
assert d["response"]["statusCode"] == "200" and json.loads(d["response"]["body"]) == {"n": 1}, d

# A state named within a whole definition; a Map answered by its mock.
machine = {"StartAt": "Each", "States": {
    "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "Next": "Done",
             "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}},
    "Done": {"Type": "Succeed"}}}
r = test(definition=json.dumps(machine), stateName="Each", input='{"items": [1, 2]}',
         mock={"result": "[10, 20]"}, inspectionLevel="DEBUG")
assert r["status"] == "SUCCEEDED" and r["nextState"] == "Done" and json.loads(r["output"]) == [10, 20], r
assert json.loads(r["inspectionData"]["afterItemsPath"]) == [1, 2] and r["inspectionData"]["maxConcurrency"] == 2, r
try:
    sfn.test_state(definition=json.dumps(machine), stateName="Each", input='{"items": []}')
    raise SystemExit("expected ValidationException for a Map without a mock")
except sfn.exceptions.ValidationException:
    pass
try:
    sfn.test_state(definition=json.dumps({"Type": "Pass", "Next": 3}))
    raise SystemExit("expected InvalidDefinition")
except sfn.exceptions.InvalidDefinition:
    pass

# Without a mock, the server performs the task (here a local handler).
local = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
         "ResultPath": "$.doubled", "End": True}
r = test(definition=json.dumps(local), input='{"n": 21}')
assert r["status"] == "SUCCEEDED", r
assert json.loads(r["output"]) == {"n": 21, "doubled": {"n": 42}}, r
print("test_state ok")
"#;

/// A local handler for the unmocked Task: doubles `n`.
const HANDLERS: &str = r#"[tasks.double]
command = ["python3", "-c", "import json,sys; d=json.load(sys.stdin); print(json.dumps({'n': d['n'] * 2}))"]
"#;

#[test]
fn boto3_tests_states_at_every_inspection_level() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flowstate.toml"), HANDLERS).unwrap();
    let s = Server::start_in(&["--memory"], Some(dir.path()));
    let stdout = run_boto3_script(BOTO3_SCRIPT, &s.url);
    assert!(stdout.contains("test_state ok"), "{stdout}");
}

#[test]
fn aws_cli_test_state_with_a_mock() {
    let bin = require_tool("aws", "pip install awscli boto3");
    let s = Server::start(&["--memory"]);
    let state = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        "OutputPath": "$.Payload", "Next": "After"});
    let mut cmd = Command::new(bin);
    aws_env(&mut cmd).args([
        "stepfunctions",
        "test-state",
        "--endpoint-url",
        &s.url,
        "--output",
        "json",
        "--definition",
        &state.to_string(),
        "--input",
        r#"{"x": 1}"#,
        "--inspection-level",
        "DEBUG",
        "--mock",
        &json!({"result": json!({"Payload": {"y": 2}}).to_string()}).to_string(),
    ]);
    let out = cmd.output().expect("run aws");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
    assert_eq!(answer["nextState"], "After", "{answer}");
    assert_eq!(answer["output"], r#"{"y":2}"#, "{answer}");
    assert_eq!(
        answer["inspectionData"]["afterParameters"], r#"{"FunctionName":"f","Payload":{"x":1}}"#,
        "{answer}"
    );
}

#[test]
fn aws_cli_validate_state_machine_definition_gives_codes_by_type() {
    let bin = require_tool("aws", "pip install awscli boto3");
    let s = Server::start(&["--memory"]);
    let definition = json!({"StartAt": "Cb", "States": {
        "Cb": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
               "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}}, "Next": "Gone"}}})
    .to_string();
    let validate = |extra: &[&str]| -> Value {
        let mut cmd = Command::new(&bin);
        aws_env(&mut cmd)
            .args([
                "stepfunctions",
                "validate-state-machine-definition",
                "--endpoint-url",
                &s.url,
                "--output",
                "json",
                "--definition",
                &definition,
            ])
            .args(extra);
        let out = cmd.output().expect("run aws");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let standard = validate(&[]);
    assert_eq!(standard["result"], "FAIL", "{standard}");
    let codes = |v: &Value| -> Vec<String> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect()
    };
    let mut found = codes(&standard);
    found.sort();
    assert_eq!(
        found,
        ["MISSING_END_STATE", "MISSING_TRANSITION_TARGET"],
        "{standard}"
    );
    let express = validate(&["--type", "EXPRESS"]);
    let mut found = codes(&express);
    found.sort();
    assert_eq!(
        found,
        [
            "INVALID_RESOURCE",
            "MISSING_END_STATE",
            "MISSING_TRANSITION_TARGET"
        ],
        "{express}"
    );
    let one = validate(&["--type", "EXPRESS", "--max-results", "1"]);
    assert_eq!(one["diagnostics"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["truncated"], true, "{one}");
}
