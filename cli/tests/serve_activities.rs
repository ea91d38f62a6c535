//! Activity workers against `flowstate serve`: worker processes written
//! with boto3 poll GetActivityTask and answer with SendTaskSuccess,
//! SendTaskFailure and SendTaskHeartbeat; the AWS CLI takes and answers a
//! task too. On the embedded store (`serve --memory`), and on DynamoDB +
//! SQS on moto with two API processes (`serve --backend aws --no-worker`)
//! and two `flowstate worker`s: every task goes to exactly one worker, and
//! every execution ends as its worker answered.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{aws_env, require_boto3, require_tool, Server};
use flowstate_testkit::{process_env, Moto, WorkerCommand, Workers};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A worker: polls until killed; prints one JSON line per task it took.
/// A task whose input says `fail` is answered with SendTaskFailure.
const WORKER: &str = r#"
import json, sys
import boto3
from botocore.config import Config

endpoint, activity, name = sys.argv[1:4]
sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(read_timeout=75, retries={"max_attempts": 0}))
while True:
    task = sfn.get_activity_task(activityArn=activity, workerName=name)
    token = task.get("taskToken")
    if not token:
        continue
    job = json.loads(task["input"])
    print(json.dumps({"worker": name, "n": job["n"]}), flush=True)
    sfn.send_task_heartbeat(taskToken=token)
    if job.get("fail"):
        sfn.send_task_failure(taskToken=token, error="Rejected", cause="job %d" % job["n"])
    else:
        sfn.send_task_success(taskToken=token, output=json.dumps({"n": job["n"], "by": name}))
"#;

fn definition(activity: &str) -> Value {
    json!({"StartAt": "Approve", "States": {
        "Approve": {"Type": "Task", "Resource": activity,
            "Parameters": {"n.$": "$.n", "fail.$": "$.fail"}, "TimeoutSeconds": 600,
            "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "Rejected"}],
            "End": true},
        "Rejected": {"Type": "Pass", "End": true}}})
}

/// Python workers, the i-th polling `endpoints[i % len]`.
fn start_workers(endpoints: &[&str], activity: &str, n: usize) -> Vec<Child> {
    let python = require_boto3();
    (0..n)
        .map(|i| {
            Command::new(&python)
                .args(["-c", WORKER, endpoints[i % endpoints.len()], activity])
                .arg(format!("worker-{i}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Kills the workers; every `(worker, n)` they reported.
fn stop_workers(workers: Vec<Child>) -> Vec<(String, u64)> {
    let mut taken = Vec::new();
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
        let mut out = String::new();
        w.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            taken.push((
                v["worker"].as_str().unwrap().to_string(),
                v["n"].as_u64().unwrap(),
            ));
        }
    }
    taken
}

/// Starts `count` executions through `apis` in turn, runs `workers` boto3
/// workers (polling the APIs in turn), and checks that every execution
/// ends as its one worker answered.
fn workers_answer_every_task_once(apis: &[&Server], count: u64, workers: usize) {
    let api = apis[0];
    let activity = api.ok("CreateActivity", json!({"name": "approve"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let machine = api.create("approvals", &definition(&activity));
    let executions: Vec<String> = (0..count)
        .map(|n| {
            let input = json!({"n": n, "fail": n == 2}).to_string();
            apis[n as usize % apis.len()].ok(
                "StartExecution",
                json!({"stateMachineArn": machine, "name": format!("job-{n}"), "input": input}),
            )["executionArn"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let urls: Vec<&str> = apis.iter().map(|a| a.url.as_str()).collect();
    let running = start_workers(&urls, &activity, workers);
    let ended: Vec<Value> = executions
        .iter()
        .map(|arn| api.wait_done(arn, Duration::from_secs(240)))
        .collect();
    let taken = stop_workers(running);
    let mut by_job: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (worker, n) in &taken {
        by_job.entry(*n).or_default().push(worker);
    }
    assert_eq!(
        by_job.len() as u64,
        count,
        "every task was taken: {taken:?}"
    );
    assert!(
        by_job.values().all(|w| w.len() == 1),
        "no task was taken twice: {by_job:?}"
    );
    for (n, (arn, d)) in executions.iter().zip(&ended).enumerate() {
        let n = n as u64;
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        let worker = by_job[&n][0];
        if n == 2 {
            assert_eq!(output["error"]["Error"], "Rejected", "{output}");
            assert_eq!(output["error"]["Cause"], "job 2", "{output}");
        } else {
            assert_eq!(output, json!({"n": n, "by": worker}), "{arn}");
        }
        let history = api.history(arn);
        let types: Vec<&str> = history
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        let answered = if n == 2 {
            "ActivityFailed"
        } else {
            "ActivitySucceeded"
        };
        assert_eq!(
            &types[..5],
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "ActivityScheduled",
                "ActivityStarted",
                answered
            ],
            "{arn}"
        );
        assert_eq!(
            history[3]["activityStartedEventDetails"]["workerName"], worker,
            "{arn}"
        );
    }
    let listed = api.ok("ListActivities", json!({}));
    assert_eq!(listed["activities"][0]["activityArn"], json!(activity));
}

#[test]
fn boto3_workers_answer_activity_tasks_on_the_embedded_store() {
    let server = Server::start(&["--memory"]);
    workers_answer_every_task_once(&[&server], 8, 3);
}

#[test]
fn the_aws_cli_takes_and_answers_an_activity_task() {
    let bin = require_tool("aws", "pip install awscli boto3");
    let server = Server::start(&["--memory"]);
    let aws = |args: &[&str]| -> Value {
        let out = aws_env(&mut Command::new(&bin))
            .args([
                "--endpoint-url",
                &server.url,
                "--output",
                "json",
                "stepfunctions",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    };
    let activity = aws(&[
        "create-activity",
        "--name",
        "review",
        "--tags",
        "key=team,value=ops",
    ])["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        aws(&["describe-activity", "--activity-arn", &activity])["name"],
        "review"
    );
    // An activity's tags: those given at creation, then TagResource and
    // UntagResource, as for a state machine.
    aws(&[
        "tag-resource",
        "--resource-arn",
        &activity,
        "--tags",
        "key=stage,value=prod",
    ]);
    aws(&[
        "untag-resource",
        "--resource-arn",
        &activity,
        "--tag-keys",
        "team",
    ]);
    assert_eq!(
        aws(&["list-tags-for-resource", "--resource-arn", &activity])["tags"],
        json!([{"key": "stage", "value": "prod"}])
    );
    let machine = server.create("reviews", &definition(&activity));
    let arn = server.ok(
        "StartExecution",
        json!({"stateMachineArn": machine, "input": "{\"n\": 7, \"fail\": false}"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let task = aws(&[
        "get-activity-task",
        "--activity-arn",
        &activity,
        "--worker-name",
        "cli",
    ]);
    let input: Value = serde_json::from_str(task["input"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"n": 7, "fail": false}));
    let token = task["taskToken"].as_str().unwrap();
    aws(&["send-task-heartbeat", "--task-token", token]);
    aws(&[
        "send-task-success",
        "--task-token",
        token,
        "--task-output",
        "{\"ok\": true}",
    ]);
    let d = server.wait_done(&arn, Duration::from_secs(60));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"ok\":true}");
    let listed = aws(&["list-activities"]);
    assert_eq!(listed["activities"][0]["name"], "review");
    aws(&["delete-activity", "--activity-arn", &activity]);
    let missing = aws_env(&mut Command::new(&bin))
        .args([
            "--endpoint-url",
            &server.url,
            "stepfunctions",
            "describe-activity",
        ])
        .args(["--activity-arn", &activity])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("ActivityDoesNotExist"));
    let untaggable = aws_env(&mut Command::new(&bin))
        .args(["--endpoint-url", &server.url, "stepfunctions"])
        .args(["list-tags-for-resource", "--resource-arn", &activity])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&untaggable.stderr).contains("ResourceNotFound"));
}

#[test]
fn boto3_workers_answer_activity_tasks_on_dynamodb_with_two_api_processes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto::start();
    let stack = rt.block_on(moto.stack());
    let queue = stack.queue_url.rsplit('/').next().unwrap().to_string();
    let env = process_env(&moto.endpoint, "http://127.0.0.1:9", "flowstate=warn");
    let stack_args = [
        "--table",
        stack.table.as_str(),
        "--queue",
        queue.as_str(),
        "--kms-key",
        stack.kms_key_arn.as_str(),
    ];
    let mut worker_args: Vec<String> = ["worker", "--backend", "aws", "--poll-wait-seconds", "0"]
        .iter()
        .chain(stack_args.iter())
        .map(|s| s.to_string())
        .collect();
    worker_args.extend(["--topic-arn".to_string(), stack.topic_arn.clone()]);
    let _workers = Workers::start(
        WorkerCommand {
            program: env!("CARGO_BIN_EXE_flowstate").into(),
            args: worker_args,
            env: env.clone(),
            ready: "flowstate worker: polling".into(),
        },
        2,
    );
    let serve_env: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("AWS_PROFILE", "")])
        .collect();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let apis: Vec<Server> = dirs
        .iter()
        .map(|dir| {
            let mut args = vec![
                "--backend",
                "aws",
                "--no-worker",
                "--data-dir",
                dir.path().to_str().unwrap(),
            ];
            args.extend(stack_args);
            Server::start_with(&args, None, &serve_env)
        })
        .collect();
    workers_answer_every_task_once(&[&apis[0], &apis[1]], 6, 3);
}

/// `kill -9` of the server: a task scheduled before is still handed out
/// after the restart, and one handed out whose answer never comes still
/// times out.
#[test]
fn activity_tasks_survive_a_server_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut server = Server::start(&["--data-dir", data]);
    let activity = server.ok("CreateActivity", json!({"name": "approve"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let definition = json!({"StartAt": "Approve", "States": {
        "Approve": {"Type": "Task", "Resource": activity, "TimeoutSecondsPath": "$.timeout",
            "Parameters": {"job.$": "$.job"}, "End": true}}});
    let machine = server.create("approvals", &definition);
    let start = |server: &Server, name: &str, timeout: u64| -> String {
        let input = json!({"job": name, "timeout": timeout}).to_string();
        server.ok(
            "StartExecution",
            json!({"stateMachineArn": machine, "name": name, "input": input}),
        )["executionArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let handed_out = start(&server, "handed-out", 3);
    let task = server.ok(
        "GetActivityTask",
        json!({"activityArn": activity, "workerName": "lost"}),
    );
    assert_eq!(task["input"], "{\"job\":\"handed-out\"}");
    // A second execution's task, scheduled and not taken yet.
    let waiting = start(&server, "waiting", 600);
    server.kill9();
    let server = Server::start(&["--data-dir", data]);
    let task = server.ok(
        "GetActivityTask",
        json!({"activityArn": activity, "workerName": "after"}),
    );
    assert_eq!(task["input"], "{\"job\":\"waiting\"}");
    server.ok(
        "SendTaskSuccess",
        json!({"taskToken": task["taskToken"], "output": "{\"done\": true}"}),
    );
    let d = server.wait_done(&waiting, Duration::from_secs(60));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let d = server.wait_done(&handed_out, Duration::from_secs(60));
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["error"], "States.Timeout", "{d}");
    let types: Vec<String> = server
        .history(&handed_out)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert!(types.iter().any(|t| t == "ActivityTimedOut"), "{types:?}");
}
