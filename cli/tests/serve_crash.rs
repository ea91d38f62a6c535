//! `flowstate serve` survives SIGKILL: executions in flight (Waits,
//! `.waitForTaskToken` callbacks, Map fan-out) killed mid-way finish after a
//! restart on the same data directory with the same output and history as
//! executions that were never interrupted.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::Server;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

fn waits() -> Value {
    json!({"StartAt": "W1", "States": {
        "W1": {"Type": "Wait", "Seconds": 2, "Next": "Mid"},
        "Mid": {"Type": "Pass", "Parameters": {"n.$": "$.n", "stage": "mid"}, "Next": "W2"},
        "W2": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "stage": "done"}, "End": true}
    }})
}

fn callback() -> Value {
    json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                               "MessageBody": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
                "ResultPath": "$.answer", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "End": true}
    }})
}

fn fanout() -> Value {
    json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Sleep", "States": {
                    "Sleep": {"Type": "Wait", "Seconds": 2, "Next": "Square"},
                    "Square": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($.v, $.v)"}, "End": true}
                }},
                "Next": "Sum"},
        "Sum": {"Type": "Pass", "Parameters": {"count.$": "States.ArrayLength($)"}, "End": true}
    }})
}

/// Starts the workload: (execution ARN, uses Map) per execution.
fn start_all(s: &Server) -> Vec<(String, bool)> {
    let w = s.create("waits", &waits());
    let c = s.create("callback", &callback());
    let f = s.create("fanout", &fanout());
    let mut out = Vec::new();
    for i in 0..12 {
        let v = s.ok("StartExecution", json!({"stateMachineArn": w, "name": format!("w{i}"), "input": json!({"n": i}).to_string()}));
        out.push((v["executionArn"].as_str().unwrap().to_string(), false));
    }
    for i in 0..6 {
        let v = s.ok("StartExecution", json!({"stateMachineArn": c, "name": format!("c{i}"), "input": json!({"n": i}).to_string()}));
        out.push((v["executionArn"].as_str().unwrap().to_string(), false));
    }
    for i in 0..3 {
        let items: Vec<Value> = (0..15).map(|k| json!({"v": k + i})).collect();
        let v = s.ok("StartExecution", json!({"stateMachineArn": f, "name": format!("f{i}"), "input": json!({"items": items}).to_string()}));
        out.push((v["executionArn"].as_str().unwrap().to_string(), true));
    }
    out
}

/// Answers every callback execution's task (token from the history).
fn answer_callbacks(s: &Server, executions: &[(String, bool)]) {
    for (arn, _) in executions.iter().filter(|(a, _)| a.contains(":callback:")) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let token = loop {
            let scheduled = s
                .history(arn)
                .into_iter()
                .find(|e| e["type"] == "TaskScheduled");
            if let Some(e) = scheduled {
                let params: Value = serde_json::from_str(
                    e["taskScheduledEventDetails"]["parameters"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap();
                break params["MessageBody"]["token"].as_str().unwrap().to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{arn}: no TaskScheduled event"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let n = arn.rsplit(':').next().unwrap().to_string();
        s.ok(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": json!({"answered": n}).to_string()}),
        );
    }
}

#[derive(Debug, PartialEq)]
enum Shape {
    /// id, previousEventId, type: in order.
    Exact(Vec<(u64, u64, String)>),
    /// Map iterations interleave differently from run to run: the types as
    /// a multiset, and ids 1..=n without gaps.
    Multiset(BTreeMap<String, usize>, usize),
}

/// Per execution name: status, output, history shape.
fn outcome(s: &Server, executions: &[(String, bool)]) -> BTreeMap<String, (String, Value, Shape)> {
    let mut out = BTreeMap::new();
    for (arn, map) in executions {
        let d = s.wait_done(arn, Duration::from_secs(60));
        let output: Value = d["output"]
            .as_str()
            .map(|o| serde_json::from_str(o).unwrap())
            .unwrap_or(Value::Null);
        let events = s.history(arn);
        let shape = if *map {
            let mut types = BTreeMap::new();
            for e in &events {
                *types
                    .entry(e["type"].as_str().unwrap().to_string())
                    .or_insert(0) += 1;
            }
            let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
            assert_eq!(
                ids,
                (1..=events.len() as u64).collect::<Vec<_>>(),
                "{arn}: event ids"
            );
            Shape::Multiset(types, events.len())
        } else {
            Shape::Exact(
                events
                    .iter()
                    .map(|e| {
                        (
                            e["id"].as_u64().unwrap(),
                            e["previousEventId"].as_u64().unwrap(),
                            e["type"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect(),
            )
        };
        let name = arn.rsplit(':').next().unwrap().to_string();
        out.insert(
            name,
            (d["status"].as_str().unwrap().to_string(), output, shape),
        );
    }
    out
}

#[test]
fn executions_killed_mid_flight_finish_as_if_never_interrupted() {
    // The reference: the same workload, never interrupted.
    let reference = {
        let s = Server::start(&["--memory"]);
        let execs = start_all(&s);
        answer_callbacks(&s, &execs);
        outcome(&s, &execs)
    };
    assert_eq!(reference.len(), 21);
    assert!(
        reference
            .values()
            .all(|(status, _, _)| status == "SUCCEEDED"),
        "{reference:#?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let mut first = Server::start(&["--data-dir", data]);
    let execs = start_all(&first);
    // Mid-flight: Waits pending, callbacks unanswered, Map iterations asleep.
    std::thread::sleep(Duration::from_millis(800));
    let running = execs
        .iter()
        .filter(|(arn, _)| {
            first.ok("DescribeExecution", json!({"executionArn": arn}))["status"] == "RUNNING"
        })
        .count();
    assert_eq!(
        running,
        execs.len(),
        "every execution should still be running when the server is killed"
    );
    first.kill9();

    let second = Server::start(&["--data-dir", data]);
    answer_callbacks(&second, &execs);
    let after = outcome(&second, &execs);
    for (name, expected) in &reference {
        assert_eq!(
            after.get(name),
            Some(expected),
            "execution {name} differs after the crash"
        );
    }
}

#[test]
fn sigterm_stops_the_server_cleanly_and_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let mut s = Server::start(&["--data-dir", &data]);
    let arn = s.create(
        "keep",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let status = s.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let s = Server::start(&["--data-dir", &data]);
    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": arn}));
    assert_eq!(d["name"], "keep");
}
