//! RedriveExecution through `flowstate serve`, driven by boto3 and the AWS
//! CLI, on the embedded store and on DynamoDB + SQS (moto): a Task that
//! fails runs again from where it failed, under the same ARN, and the
//! Task before it does not run again (the local handlers count their
//! invocations in a file).

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{aws_cli as aws, run_boto3_script, Server};
use serde_json::json;
use std::path::Path;

/// `reserve` always succeeds; `charge` waits while the file `hold-charge`
/// exists and fails while `fail-charge` does. Both append their state's
/// name to `calls.txt`.
const TASKS: &str = r#"
[tasks.reserve]
command = ["sh", "-c", "cat > /dev/null; echo \"$FLOWSTATE_STATE_NAME\" >> calls.txt; echo '{\"ok\": true}'"]

[tasks.charge]
command = ["sh", "-c", "cat > /dev/null; while [ -e hold-charge ]; do sleep 0.05; done; echo \"$FLOWSTATE_STATE_NAME\" >> calls.txt; if [ -e fail-charge ]; then echo '{\"errorType\": \"Declined\", \"errorMessage\": \"card declined\"}'; exit 1; fi; echo '{\"paid\": true}'"]
"#;

/// A work directory with `flowstate.toml` and the failure flag set.
fn work_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flowstate.toml"), TASKS).unwrap();
    std::fs::write(dir.path().join("fail-charge"), "").unwrap();
    dir
}

const BOTO3_REDRIVE: &str = r#"
import json, os, sys, time
import boto3
from botocore.config import Config

endpoint, work = sys.argv[1], "@WORK@"
sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(inject_host_prefix=False))
role = "arn:aws:iam::123456789012:role/flowstate"
fn = "arn:aws:lambda:us-east-1:123456789012:function:"
def expect(code, f, **kw):
    try:
        f(**kw)
    except sfn.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, (code, e.response)
        return e.response["Error"]["Message"]
    raise SystemExit(f"expected {code} from {f.__name__}")
def wait(e):
    for _ in range(600):
        d = sfn.describe_execution(executionArn=e)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise SystemExit(f"{e} still runs")
def calls():
    with open(os.path.join(work, "calls.txt")) as f:
        return f.read().split()

order = {"StartAt": "Reserve", "States": {
    "Reserve": {"Type": "Task", "Resource": fn + "reserve", "ResultPath": "$.reserved", "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": fn + "charge", "ResultPath": "$.charged", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}
arn = sfn.create_state_machine(name="order", definition=json.dumps(order), roleArn=role)["stateMachineArn"]
e = sfn.start_execution(stateMachineArn=arn, name="o1", input='{"order": "A-1"}')["executionArn"]
d = wait(e)
assert d["status"] == "FAILED" and d["error"] == "Declined", d
assert d["redriveStatus"] == "REDRIVABLE" and d["redriveCount"] == 0, d
assert calls() == ["Reserve", "Charge"], calls()

os.remove(os.path.join(work, "fail-charge"))
hold = os.path.join(work, "hold-charge")
open(hold, "w").close()
r = sfn.redrive_execution(executionArn=e, clientToken="first-redrive")
assert "redriveDate" in r, r
# Running again, with no stop date, until Charge is let go.
d = sfn.describe_execution(executionArn=e)
assert d["status"] == "RUNNING" and "stopDate" not in d and d["redriveCount"] == 1, d
msg = expect("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=e)
assert msg == "Execution is RUNNING and cannot be redriven.", msg
listed = sfn.list_executions(stateMachineArn=arn)["executions"]
assert [(x["status"], "stopDate" in x) for x in listed] == [("RUNNING", False)], listed
running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
assert [x["executionArn"] for x in running] == [e], running
assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []
os.remove(hold)
d = wait(e)
assert d["status"] == "SUCCEEDED", d
assert d["executionArn"] == e and d["redriveCount"] == 1 and "redriveDate" in d, d
assert d["redriveStatus"] == "NOT_REDRIVABLE", d
assert d["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven.", d
out = json.loads(d["output"])
assert out["reserved"] == {"ok": True} and out["charged"] == {"paid": True}, out
# Reserve did not run again.
assert calls() == ["Reserve", "Charge", "Charge"], calls()
events = [ev for p in sfn.get_paginator("get_execution_history").paginate(executionArn=e) for ev in p["events"]]
types = [ev["type"] for ev in events]
i = types.index("ExecutionRedriven")
assert types[i - 1] == "ExecutionFailed" and types[i + 1] == "TaskStateEntered", types
assert events[i]["executionRedrivenEventDetails"] == {"redriveCount": 1}, events[i]
assert events[i + 1]["stateEnteredEventDetails"]["name"] == "Charge", events[i + 1]
assert types[-1] == "ExecutionSucceeded", types
# The same client token answers as before; a new one is refused.
assert sfn.redrive_execution(executionArn=e, clientToken="first-redrive")["redriveDate"] == r["redriveDate"]
msg = expect("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=e)
assert msg == "Execution is SUCCEEDED and cannot be redriven.", msg
expect("ExecutionDoesNotExist", sfn.redrive_execution, executionArn=e + "-missing")

# A failed Map iteration: refused by name until Flowstate redrives Map states.
open(os.path.join(work, "fail-charge"), "w").close()
each = {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": True, "ItemProcessor": {
    "StartAt": "Charge", "States": {"Charge": {"Type": "Task", "Resource": fn + "charge", "End": True}}}}}}
marn = sfn.create_state_machine(name="each", definition=json.dumps(each), roleArn=role)["stateMachineArn"]
m = sfn.start_execution(stateMachineArn=marn, name="m1", input="[1, 2]")["executionArn"]
assert wait(m)["status"] == "FAILED"
msg = expect("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=m)
assert "Map state 'Each'" in msg, msg
print("redrive ok")
"#;

fn run(s: &Server, work: &Path) -> String {
    let script = BOTO3_REDRIVE.replace("@WORK@", work.to_str().unwrap());
    run_boto3_script(&script, &s.url)
}

#[test]
fn boto3_redrives_a_failed_task_on_the_embedded_store() {
    let work = work_dir();
    let toml = work.path().join("flowstate.toml");
    let s = Server::start(&["--memory", "--config", toml.to_str().unwrap()]);
    let stdout = run(&s, work.path());
    assert!(stdout.contains("redrive ok"), "{stdout}");
}

#[test]
fn boto3_redrives_a_failed_task_on_dynamodb_and_sqs() {
    let moto = flowstate_testkit::Moto::start();
    let work = work_dir();
    let toml = work.path().join("flowstate.toml");
    let data = tempfile::tempdir().unwrap();
    let s = Server::start_on_moto(
        &moto.endpoint,
        "flowstate-redrive",
        data.path(),
        &["--config", toml.to_str().unwrap()],
    );
    let stdout = run(&s, work.path());
    assert!(stdout.contains("redrive ok"), "{stdout}");
}

#[test]
fn the_aws_cli_redrives_an_execution() {
    let work = work_dir();
    let toml = work.path().join("flowstate.toml");
    let s = Server::start(&["--memory", "--config", toml.to_str().unwrap()]);
    let definition = json!({"StartAt": "Charge", "States": {"Charge": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge", "End": true}}});
    let arn = s.create("cli-redrive", &definition);
    let exec = s.ok(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "c1"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "FAILED", "{d}");
    std::fs::remove_file(work.path().join("fail-charge")).unwrap();
    let r = aws(&s, &["redrive-execution", "--execution-arn", &exec]).unwrap();
    assert!(
        r["redriveDate"].is_number() || r["redriveDate"].is_string(),
        "{r}"
    );
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let d = aws(&s, &["describe-execution", "--execution-arn", &exec]).unwrap();
    assert_eq!(d["redriveCount"], 1, "{d}");
    let err = aws(&s, &["redrive-execution", "--execution-arn", &exec]).unwrap_err();
    assert!(err.contains("ExecutionNotRedrivable"), "{err}");
}
