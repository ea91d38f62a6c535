//! `flowstate serve` driven by the tools users have: the AWS CLI and boto3.
//! Both must be installed (`pip install awscli boto3`); a missing one fails
//! the test with that hint instead of skipping it.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{aws_cli as aws, run_boto3_script, Server, ROLE};
use serde_json::{json, Value};

#[test]
fn aws_cli_drives_the_server() {
    let s = Server::start(&["--memory"]);
    let def = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.answer", "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 1, "End": true}
    }})
    .to_string();
    let sm = aws(
        &s,
        &[
            "create-state-machine",
            "--name",
            "cli",
            "--role-arn",
            ROLE,
            "--definition",
            &def,
        ],
    )
    .unwrap();
    let sm_arn = sm["stateMachineArn"].as_str().unwrap().to_string();
    assert!(sm["creationDate"].is_number(), "{sm}");

    let started = aws(
        &s,
        &[
            "start-execution",
            "--state-machine-arn",
            &sm_arn,
            "--name",
            "run1",
            "--input",
            r#"{"order": 7}"#,
        ],
    )
    .unwrap();
    let exec = started["executionArn"].as_str().unwrap().to_string();
    // Idempotent by name: the same request returns the same execution...
    let again = aws(
        &s,
        &[
            "start-execution",
            "--state-machine-arn",
            &sm_arn,
            "--name",
            "run1",
            "--input",
            r#"{"order": 7}"#,
        ],
    )
    .unwrap();
    assert_eq!(again["executionArn"], started["executionArn"]);
    // ...another input under the same name is refused.
    let err = aws(
        &s,
        &[
            "start-execution",
            "--state-machine-arn",
            &sm_arn,
            "--name",
            "run1",
            "--input",
            "{}",
        ],
    )
    .unwrap_err();
    assert!(err.contains("ExecutionAlreadyExists"), "{err}");

    // The token is in the task's parameters, as the definition put it.
    let token = loop {
        let h = aws(&s, &["get-execution-history", "--execution-arn", &exec]).unwrap();
        let scheduled = h["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "TaskScheduled")
            .cloned();
        if let Some(e) = scheduled {
            let p: Value = serde_json::from_str(
                e["taskScheduledEventDetails"]["parameters"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            break p["MessageBody"]["token"].as_str().unwrap().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let d = aws(&s, &["describe-execution", "--execution-arn", &exec]).unwrap();
    assert_eq!(d["status"], "RUNNING");
    aws(
        &s,
        &[
            "send-task-success",
            "--task-token",
            &token,
            "--task-output",
            r#"{"ok": true}"#,
        ],
    )
    .unwrap();
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(
        serde_json::from_str::<Value>(d["output"].as_str().unwrap()).unwrap(),
        json!({"order": 7, "answer": {"ok": true}})
    );
    let err = aws(
        &s,
        &[
            "send-task-success",
            "--task-token",
            &token,
            "--task-output",
            "{}",
        ],
    )
    .unwrap_err();
    assert!(err.contains("TaskTimedOut"), "{err}");
    let err = aws(&s, &["send-task-failure", "--task-token", "not-a-token"]).unwrap_err();
    assert!(err.contains("InvalidToken"), "{err}");

    let h = aws(
        &s,
        &[
            "get-execution-history",
            "--execution-arn",
            &exec,
            "--reverse-order",
            "--no-include-execution-data",
        ],
    )
    .unwrap();
    let events = h["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "ExecutionSucceeded");
    assert_eq!(events.last().unwrap()["type"], "ExecutionStarted");
    assert!(events.last().unwrap()["executionStartedEventDetails"]
        .get("input")
        .is_none());
    // The CLI paginates by itself with small pages.
    let paged = aws(
        &s,
        &[
            "get-execution-history",
            "--execution-arn",
            &exec,
            "--page-size",
            "2",
        ],
    )
    .unwrap();
    assert_eq!(paged["events"].as_array().unwrap().len(), events.len());

    let list = aws(
        &s,
        &[
            "list-executions",
            "--state-machine-arn",
            &sm_arn,
            "--status-filter",
            "SUCCEEDED",
        ],
    )
    .unwrap();
    assert_eq!(list["executions"][0]["name"], "run1");
    let sms = aws(&s, &["list-state-machines"]).unwrap();
    assert_eq!(sms["stateMachines"][0]["name"], "cli");
    let for_exec = aws(
        &s,
        &[
            "describe-state-machine-for-execution",
            "--execution-arn",
            &exec,
        ],
    )
    .unwrap();
    assert_eq!(for_exec["definition"].as_str(), Some(def.as_str()));

    // StartSyncExecution (Express), with host prefix injection disabled.
    let ex = aws(&s, &["create-state-machine", "--name", "fast", "--type", "EXPRESS", "--role-arn", ROLE,
        "--definition", r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.a, 1)"},"End":true}}}"#]).unwrap();
    let sync = aws(
        &s,
        &[
            "start-sync-execution",
            "--state-machine-arn",
            ex["stateMachineArn"].as_str().unwrap(),
            "--input",
            r#"{"a": 41}"#,
        ],
    )
    .unwrap();
    assert_eq!(sync["status"], "SUCCEEDED");
    assert_eq!(sync["output"], r#"{"sum":42}"#);

    let v = aws(
        &s,
        &[
            "validate-state-machine-definition",
            "--definition",
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#,
        ],
    )
    .unwrap();
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["diagnostics"][0]["location"], "/States/A/Next");

    let err = aws(
        &s,
        &[
            "describe-state-machine",
            "--state-machine-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
        ],
    )
    .unwrap_err();
    assert!(err.contains("StateMachineDoesNotExist"), "{err}");
    let err = aws(
        &s,
        &[
            "create-state-machine",
            "--name",
            "bad",
            "--role-arn",
            ROLE,
            "--definition",
            r#"{"StartAt":"X","States":{}}"#,
        ],
    )
    .unwrap_err();
    assert!(err.contains("InvalidDefinition"), "{err}");
    aws(&s, &["stop-execution", "--execution-arn", &exec]).unwrap();
    aws(
        &s,
        &["delete-state-machine", "--state-machine-arn", &sm_arn],
    )
    .unwrap();
}

const BOTO3_SCRIPT: &str = r#"
import json, sys, time
import boto3
from botocore.config import Config

endpoint = sys.argv[1]
sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(inject_host_prefix=False))
definition = {"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
    "P": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "End": True}}}
sm = sfn.create_state_machine(name="boto", definition=json.dumps(definition),
                              roleArn="arn:aws:iam::123456789012:role/flowstate")
arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name="b1",
                          input=json.dumps({"who": "boto3"}))["executionArn"]
while True:
    d = sfn.describe_execution(executionArn=arn)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.1)
assert d["status"] == "SUCCEEDED", d
assert json.loads(d["output"]) == {"greeting": "hello boto3"}, d
# botocore parses epoch-second timestamps into datetimes.
assert d["stopDate"] >= d["startDate"], d
paginator = sfn.get_paginator("get_execution_history")
types = [e["type"] for page in paginator.paginate(executionArn=arn, PaginationConfig={"PageSize": 2}) for e in page["events"]]
assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded", types
try:
    sfn.describe_execution(executionArn=arn + "-missing")
    raise SystemExit("expected ExecutionDoesNotExist")
except sfn.exceptions.ExecutionDoesNotExist:
    pass
ex = sfn.create_state_machine(name="boto-express", type="EXPRESS", roleArn="arn:aws:iam::123456789012:role/flowstate",
                              definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
r = sfn.start_sync_execution(stateMachineArn=ex["stateMachineArn"], input='{"x": 1}')
assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"x": 1}, r
print("boto3 ok", len(types))
"#;

#[test]
fn boto3_drives_the_server() {
    let s = Server::start(&["--memory"]);
    let stdout = run_boto3_script(BOTO3_SCRIPT, &s.url);
    assert!(stdout.contains("boto3 ok"), "{stdout}");
}

#[test]
fn a_mapped_wait_for_task_token_handler_answers_and_an_unmapped_one_waits() {
    // The serve-specific rule (see flowstate-local-tasks' LocalInvoker):
    // unmapped callback tasks wait
    // for SendTaskSuccess; mapped ones are answered by their handler, as
    // with `flowstate run`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flowstate.toml"),
        "[tasks.\"arn:aws:states:::sns:publish.waitForTaskToken\"]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo '{\\\"from\\\": \\\"handler\\\"}'\"]\n",
    )
    .unwrap();
    let s = Server::start_in(&["--memory"], Some(dir.path()));
    let def = |resource: &str| {
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource,
            "Parameters": {"t.$": "$$.Task.Token"}, "End": true}}})
    };
    let mapped = s.create(
        "mapped",
        &def("arn:aws:states:::sns:publish.waitForTaskToken"),
    );
    let unmapped = s.create(
        "unmapped",
        &def("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
    );
    let a = s.ok("StartExecution", json!({"stateMachineArn": mapped}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let b = s.ok("StartExecution", json!({"stateMachineArn": unmapped}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = s.wait_done(&a, std::time::Duration::from_secs(30));
    assert_eq!(d["output"], r#"{"from":"handler"}"#);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        s.ok("DescribeExecution", json!({"executionArn": b}))["status"],
        "RUNNING"
    );
}

#[test]
fn load_creates_state_machines_and_updates_them_in_place_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let defs = dir.path().join("defs");
    std::fs::create_dir_all(defs.join("nested")).unwrap();
    let pass = |result: &str| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}})
            .to_string()
    };
    std::fs::write(defs.join("zz-order.asl.json"), pass("v1")).unwrap();
    std::fs::write(
        defs.join("nested/greet.asl.yaml"),
        "StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n",
    )
    .unwrap();
    std::fs::write(
        defs.join("broken.asl.json"),
        r#"{"StartAt": "Nope", "States": {}}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--load",
        defs.to_str().unwrap(),
    ];
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:zz-order";

    let mut s = Server::start(&args);
    let listed = s.ok("ListStateMachines", json!({}));
    let names: Vec<&str> = listed["stateMachines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["greet", "zz-order"], "the broken file is skipped");
    let first = s.ok("DescribeStateMachine", json!({"stateMachineArn": arn}));
    // More state machines than ListStateMachines' first page, all listed
    // before the loaded one: the next load must still find it.
    for i in 0..100 {
        s.create(
            &format!("a{i:03}"),
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        );
    }
    assert!(s.terminate().success());

    std::fs::write(defs.join("zz-order.asl.json"), pass("v2")).unwrap();
    let s = Server::start(&args);
    let second = s.ok("DescribeStateMachine", json!({"stateMachineArn": arn}));
    assert_ne!(second["revisionId"], first["revisionId"]);
    assert_eq!(second["creationDate"], first["creationDate"]);
    let definition: Value = serde_json::from_str(second["definition"].as_str().unwrap()).unwrap();
    assert_eq!(definition["States"]["P"]["Result"], "v2");
}
