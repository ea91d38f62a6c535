//! The deployed shape under real concurrency, on moto: `flowstate serve
//! --backend aws --no-worker` as the API function and four `flowstate
//! worker` processes as four stepper instances on one table and queue,
//! their AWS calls through a fault proxy ([`FaultProxy`]), their Lambda
//! tasks served by the test ([`LambdaEndpoint`], reached through
//! `AWS_ENDPOINT_URL_LAMBDA`).
//!
//! Every scenario runs the same work on the embedded backend first
//! (`flowstate serve --memory`, the same Lambda behaviour through
//! `flowstate.toml` `url` handlers) and checks, for every execution:
//!
//! - the same status, output, error and cause, and the same multiset of
//!   history event types, as on the embedded backend;
//! - nothing in the dead-letter queue;
//! - no task invoked twice (the endpoint counts invocations by function
//!   and payload, and the payloads name the execution, the state, the
//!   retry attempt and the Map index) — except, when a worker is killed,
//!   tasks that the killed process had invoked (each worker's SDK
//!   User-Agent names it: `AWS_SDK_UA_APP_ID`).
//!
//! Scenarios: inline Maps of Lambda tasks with retries; chains of Tasks
//! with `.waitForTaskToken` callbacks; StopExecution in the middle of a
//! Map; the same work under throttling (`ThrottlingException`,
//! `ProvisionedThroughputExceededException`) and answers dropped after the
//! write; a worker SIGKILLed mid-run and restarted. Waits of several hours
//! with time moved by the test are not here: they need the timer design of
//! issue 11's item 5.
//!
//! Sizes: small by default, to keep the test command's time;
//! `FLOWSTATE_AWS_SCENARIO_SCALE=full` runs issue 11's sizes (20
//! executions × 200-item Maps), as does `flowstate bench-aws`.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::Server;
use flowstate_testkit::{
    process_env, Answer, Behaviour, Calls, Fault, FaultProxy, Gate, Invocation, LambdaEndpoint,
    Moto, Rule, Stack, WorkerCommand, Workers,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 4;
const ACCOUNT: &str = "123456789012";
/// How long a scenario's executions may take before the test gives up
/// (a bound against hanging, not a speed check): 3 minutes, 30 at full
/// scale.
fn patience() -> Duration {
    match std::env::var("FLOWSTATE_AWS_SCENARIO_SCALE").as_deref() {
        Ok("full") => Duration::from_secs(1800),
        _ => Duration::from_secs(180),
    }
}

fn lambda_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

/// How big the scenarios are.
#[derive(Debug, Clone, Copy)]
struct Scale {
    executions: usize,
    items: usize,
}

fn scale(small: Scale) -> Scale {
    match std::env::var("FLOWSTATE_AWS_SCENARIO_SCALE").as_deref() {
        Ok("full") => Scale {
            executions: 20,
            items: 200,
        },
        _ => small,
    }
}

// ---- the work --------------------------------------------------------

/// What identifies a task invocation, in its payload.
fn identity() -> Value {
    json!({
        "execution.$": "$$.Execution.Id",
        "state.$": "$$.State.Name",
        "attempt.$": "$$.State.RetryCount"
    })
}

fn with_identity(extra: Value) -> Value {
    let mut p = identity();
    p.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    p
}

/// An inline Map of Lambda tasks of `function` (`work`, or `slow`: the
/// same a quarter second later); every seventh item fails once with a
/// retried error.
fn map_of_tasks(function: &str) -> Value {
    json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Map", "ItemsPath": "$.items",
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work", "States": {
                "Work": {"Type": "Task", "Resource": lambda_arn(function),
                    "Parameters": with_identity(json!({"index.$": "$.index", "value.$": "$.value"})),
                    "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 2}],
                    "End": true}
            }},
            "ResultSelector": {"count.$": "States.ArrayLength($)", "results.$": "$"},
            "End": true}
    }})
}

/// Task, callback, Task, callback, Task: the callbacks answered through
/// the API (SendTaskSuccess) by the test.
fn chain_with_callbacks() -> Value {
    let callback = |next: &str| {
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "callback",
                "Payload": with_identity(json!({"token.$": "$$.Task.Token", "n.$": "$.n"}))},
            "Next": next})
    };
    let step = |next: Option<&str>| {
        let mut s = json!({"Type": "Task", "Resource": lambda_arn("step"),
            "Parameters": with_identity(json!({"n.$": "$.n"}))});
        match next {
            Some(n) => s["Next"] = json!(n),
            None => s["End"] = json!(true),
        }
        s
    };
    json!({"StartAt": "S1", "States": {
        "S1": step(Some("C1")), "C1": callback("S2"), "S2": step(Some("C2")),
        "C2": callback("S3"), "S3": step(None)
    }})
}

/// `length` Lambda Tasks of `function` in a row.
fn lambda_chain(function: &str, length: usize) -> Value {
    let states: serde_json::Map<String, Value> = (1..=length)
        .map(|i| {
            let mut state = json!({"Type": "Task", "Resource": lambda_arn(function),
                "Parameters": with_identity(json!({"n.$": "$.n"}))});
            match i < length {
                true => state["Next"] = json!(format!("T{}", i + 1)),
                false => state["End"] = json!(true),
            }
            (format!("T{i}"), state)
        })
        .collect();
    json!({"StartAt": "T1", "States": states})
}

/// An inline Map whose tasks are held at a gate until the test opens it.
fn gated_map() -> Value {
    json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Map", "ItemsPath": "$.items",
            "ItemSelector": {"index.$": "$$.Map.Item.Index"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Hold", "States": {
                "Hold": {"Type": "Task", "Resource": lambda_arn("gated"),
                    "Parameters": with_identity(json!({"index.$": "$.index"})), "End": true}
            }},
            "End": true}
    }})
}

/// The Lambda functions, the same on both backends: decided from the
/// payload alone, so that both runs see the same answers.
fn behaviour(gate: Gate) -> Behaviour {
    Arc::new(move |i: &Invocation| {
        let p = &i.payload;
        match i.function.as_str() {
            "work" | "slow" => {
                let index = p["index"].as_u64().unwrap_or(0);
                if index % 7 == 3 && p["attempt"] == json!(0) {
                    return Answer::error("Flaky", "try again");
                }
                let value = p["value"].as_i64().unwrap_or(0);
                let ms = if i.function == "slow" {
                    250
                } else {
                    index % 4 * 10
                };
                Answer::ok(json!({"index": index, "doubled": value * 2}))
                    .after(Duration::from_millis(ms))
            }
            "step" => Answer::ok(json!({"n": p["n"].as_i64().unwrap_or(0) + 1})),
            "slow-step" => Answer::ok(json!({"n": p["n"].as_i64().unwrap_or(0) + 1}))
                .after(Duration::from_millis(250)),
            // The result comes from SendTaskSuccess.
            "callback" => Answer::ok(json!({"accepted": true})),
            "gated" => Answer::ok(json!({"index": p["index"]})).behind(&gate),
            other => Answer::error("Unknown", &format!("no function {other}")),
        }
    })
}

// ---- the two deployments -----------------------------------------------

/// The API, its Lambda functions and (on AWS) the moto behind it.
struct Side {
    api: Server,
    lambda: LambdaEndpoint,
    gate: Gate,
    aws: Option<Aws>,
    /// Keeps `flowstate.toml` of the embedded side.
    _dir: tempfile::TempDir,
}

struct Aws {
    // Dropped in this order: the processes before moto.
    workers: Workers,
    proxy: FaultProxy,
    stack: Stack,
    /// Straight to moto: not metered, never faulted.
    sqs: aws_sdk_sqs::Client,
    _moto: Moto,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `flowstate serve --memory` with the functions as `url` handlers.
fn embedded(rt: &tokio::runtime::Runtime) -> Side {
    embedded_with(rt, &[])
}

/// [`embedded`], the server's environment extended by `env`.
fn embedded_with(rt: &tokio::runtime::Runtime, env: &[(&str, &str)]) -> Side {
    let gate = Gate::new();
    let lambda = rt.block_on(LambdaEndpoint::start(behaviour(gate.clone())));
    let dir = tempfile::tempdir().unwrap();
    // `callback` has no handler: its tasks wait for SendTaskSuccess, as on
    // AWS (a handler would answer for the callback).
    let config: String = ["work", "slow", "step", "slow-step", "gated"]
        .iter()
        .map(|f| format!("[tasks.{f}]\nurl = \"{}\"\n", lambda.url()))
        .collect();
    std::fs::write(dir.path().join("flowstate.toml"), config).unwrap();
    let toml = dir.path().join("flowstate.toml");
    let api = Server::start_with(&["--memory", "--config", toml.to_str().unwrap()], None, env);
    Side {
        api,
        lambda,
        gate,
        aws: None,
        _dir: dir,
    }
}

/// moto, the proxy, the API without a worker and four workers.
/// `worker_args`: extra arguments for every worker.
fn on_aws(rt: &tokio::runtime::Runtime, worker_args: &[&str]) -> Side {
    on_aws_with(rt, worker_args, &[])
}

/// [`on_aws`], the environment of the API and of every worker extended by
/// `extra_env`.
fn on_aws_with(
    rt: &tokio::runtime::Runtime,
    worker_args: &[&str],
    extra_env: &[(&str, &str)],
) -> Side {
    let moto = Moto::start();
    let stack = rt.block_on(moto.stack());
    let proxy = rt.block_on(FaultProxy::start(&moto.endpoint));
    let gate = Gate::new();
    let lambda = rt.block_on(LambdaEndpoint::start(behaviour(gate.clone())));
    let sqs = aws_sdk_sqs::Client::new(&rt.block_on(moto.sdk_config()));
    let queue = stack.queue_url.rsplit('/').next().unwrap().to_string();
    let mut env = process_env(
        proxy.url(),
        lambda.url(),
        "flowstate=warn,flowstate_lambda_stepper=warn",
    );
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let stack_args = [
        "--table",
        &stack.table,
        "--queue",
        &queue,
        "--kms-key",
        &stack.kms_key_arn,
    ];
    let mut args: Vec<String> = ["worker", "--backend", "aws", "--poll-wait-seconds", "0"]
        .iter()
        .chain(stack_args.iter())
        .chain(worker_args.iter())
        .map(|s| s.to_string())
        .collect();
    args.extend(["--topic-arn".to_string(), stack.topic_arn.clone()]);
    let workers = Workers::start(
        WorkerCommand {
            program: env!("CARGO_BIN_EXE_flowstate").into(),
            args,
            env: env.clone(),
            ready: "flowstate worker: polling".into(),
        },
        WORKERS,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut serve_args: Vec<&str> = vec![
        "--backend",
        "aws",
        "--no-worker",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ];
    serve_args.extend(stack_args);
    let mut serve_env: Vec<(&str, &str)> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    serve_env.extend([("AWS_PROFILE", ""), ("AWS_SDK_UA_APP_ID", "api")]);
    let api = Server::start_with(&serve_args, None, &serve_env);
    Side {
        api,
        lambda,
        gate,
        aws: Some(Aws {
            workers,
            proxy,
            stack,
            sqs,
            _moto: moto,
        }),
        _dir: dir,
    }
}

impl Aws {
    fn queue_depth(&self, rt: &tokio::runtime::Runtime, url: &str) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = rt
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(A::ApproximateNumberOfMessages)
                    .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                    .attribute_names(A::ApproximateNumberOfMessagesDelayed)
                    .send(),
            )
            .unwrap()
            .attributes
            .unwrap_or_default();
        attrs.values().map(|v| v.parse::<u64>().unwrap_or(0)).sum()
    }

    /// Waits (up to a minute) until the step queue is empty: every message
    /// handled, none left in flight.
    fn drain(&self, rt: &tokio::runtime::Runtime) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let depth = self.queue_depth(rt, &self.stack.queue_url);
            if depth == 0 || Instant::now() > deadline {
                return depth;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

// ---- running work and comparing --------------------------------------

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
struct Ended {
    name: String,
    status: String,
    output: Value,
    error: Value,
    cause: Value,
    /// History event types and how many of each.
    types: BTreeMap<String, usize>,
}

/// Calls an action as an SDK client does: an answer of throttling or of an
/// internal failure (the API's own calls throttled past the SDK's retries
/// by the proxy) is asked again after a growing pause.
fn call(side: &Side, action: &str, body: Value) -> Value {
    let mut pause = Duration::from_millis(100);
    for _ in 0..6 {
        match side.api.call(action, body.clone()) {
            Ok(v) => return v,
            Err((code, v))
                if code >= 500
                    || v["__type"]
                        .as_str()
                        .is_some_and(|t| t.contains("Throttling")) =>
            {
                std::thread::sleep(pause);
                pause *= 2;
            }
            Err((code, v)) => panic!("{action} {body} failed with HTTP {code}: {v}"),
        }
    }
    side.api.ok(action, body)
}

/// Every history event of `arn`, through [`call`].
fn history(side: &Side, arn: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"executionArn": arn, "maxResults": 100});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = call(side, "GetExecutionHistory", req);
        out.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

fn create(side: &Side, name: &str, definition: &Value) -> String {
    side.api.create(name, definition)
}

fn start(side: &Side, machine: &str, name: &str, input: &Value) -> String {
    let v = call(
        side,
        "StartExecution",
        json!({"stateMachineArn": machine, "name": name, "input": input.to_string()}),
    );
    v["executionArn"].as_str().unwrap().to_string()
}

/// The output a SendTaskSuccess answers a callback task with.
fn callback_output(payload: &Value) -> Value {
    json!({"n": payload["n"].as_i64().unwrap_or(0) + 10})
}

/// Answers every callback task of `arn` scheduled so far (read from its
/// history, where the payload shows the token); `answered` keeps the
/// tokens already answered.
fn answer_callbacks(side: &Side, arn: &str, answered: &mut BTreeSet<String>) {
    for event in history(side, arn) {
        if event["type"] != "TaskScheduled" {
            continue;
        }
        let parameters: Value = event["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        let payload = &parameters["Payload"];
        let Some(token) = payload["token"].as_str() else {
            continue;
        };
        if answered.insert(token.to_string()) {
            call(
                side,
                "SendTaskSuccess",
                json!({"taskToken": token, "output": callback_output(payload).to_string()}),
            );
        }
    }
}

/// Waits for every execution to end, answering the callbacks of those
/// whose state machine is `chain` meanwhile.
fn finish(side: &Side, arns: &[String], what: &str) -> Vec<Ended> {
    let deadline = Instant::now() + patience();
    let mut answered = BTreeSet::new();
    let mut running: BTreeSet<String> = arns.iter().cloned().collect();
    while !running.is_empty() {
        for arn in running.clone() {
            let d = call(side, "DescribeExecution", json!({"executionArn": arn}));
            if d["status"] != "RUNNING" {
                running.remove(&arn);
            } else if arn.contains(":execution:chain:") {
                answer_callbacks(side, &arn, &mut answered);
            }
        }
        if running.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let stuck = running.iter().next().cloned().unwrap_or_default();
            let last: Vec<String> = history(side, &stuck)
                .iter()
                .rev()
                .take(6)
                .map(|e| e["type"].as_str().unwrap_or("?").to_string())
                .collect();
            let logs = side
                .aws
                .as_ref()
                .map(|a| a.workers.outputs(30))
                .unwrap_or_default();
            panic!(
                "{what}: {} of {} executions still RUNNING after {:?}: {:?}; the last events of {stuck}, newest first: {last:?}\nworkers:\n{logs}",
                running.len(),
                arns.len(),
                patience(),
                running.iter().take(5).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    arns.iter().map(|arn| ended(side, arn)).collect()
}

fn ended(side: &Side, arn: &str) -> Ended {
    let d = call(side, "DescribeExecution", json!({"executionArn": arn}));
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null)
    };
    let mut types = BTreeMap::new();
    for e in history(side, arn) {
        *types
            .entry(e["type"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    Ended {
        name: d["name"].as_str().unwrap_or_default().to_string(),
        status: d["status"].as_str().unwrap_or_default().to_string(),
        output: parse(&d["output"]),
        error: d["error"].clone(),
        cause: d["cause"].clone(),
        types,
    }
}

/// Executions whose ending differs between the two sides, described.
fn differences(embedded: &[Ended], aws: &[Ended]) -> Vec<String> {
    let mut out = Vec::new();
    for (e, a) in embedded.iter().zip(aws) {
        if e == a {
            continue;
        }
        let mut what = Vec::new();
        if e.status != a.status {
            what.push(format!("status {} vs {}", e.status, a.status));
        }
        if e.output != a.output {
            what.push("output".to_string());
        }
        if (&e.error, &e.cause) != (&a.error, &a.cause) {
            what.push(format!(
                "error {} {} vs {} {}",
                e.error, e.cause, a.error, a.cause
            ));
        }
        let keys: BTreeSet<&String> = e.types.keys().chain(a.types.keys()).collect();
        for k in keys {
            let (x, y) = (
                e.types.get(k).copied().unwrap_or(0),
                a.types.get(k).copied().unwrap_or(0),
            );
            if x != y {
                what.push(format!("{k} {x} vs {y}"));
            }
        }
        out.push(format!("{}: {}", e.name, what.join(", ")));
    }
    out
}

/// Duplicate invocations: (function, payload) invoked more than once,
/// described with the clients that made each call.
fn duplicates(lambda: &LambdaEndpoint) -> Vec<Vec<Invocation>> {
    lambda.duplicates()
}

fn describe_duplicates(d: &[Vec<Invocation>]) -> String {
    d.iter()
        .take(10)
        .map(|calls| {
            let clients: Vec<String> = calls
                .iter()
                .map(|c| c.client.clone().unwrap_or_else(|| "?".into()))
                .collect();
            format!(
                "{} {} x{} by {:?}",
                calls[0].function,
                calls[0].payload,
                calls.len(),
                clients
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The totals each worker printed when it stopped: (client, failed records).
fn failed_records(outputs: &[(String, String)]) -> Vec<(String, u64)> {
    outputs
        .iter()
        .filter_map(|(client, text)| {
            let line = text
                .lines()
                .find(|l| l.starts_with("flowstate worker: stopped after"))?;
            let failed = line
                .split(", ")
                .find_map(|p| p.strip_suffix(" failed"))
                .and_then(|n| n.parse().ok())?;
            Some((client.clone(), failed))
        })
        .collect()
}

/// What a scenario on AWS came to, for the report and the checks.
struct Report {
    differences: Vec<String>,
    duplicates: Vec<Vec<Invocation>>,
    dead_letters: u64,
    left_in_queue: u64,
    failed_records: Vec<(String, u64)>,
    calls: Calls,
    wall: Duration,
}

impl Report {
    fn print(&self, what: &str) {
        eprintln!(
            "{what}: {:.1?} on AWS (moto), {} AWS calls, {} commits, {} conflicts, {} faults injected; {} duplicate invocations; {} dead letters; {} messages left; failed records per worker {:?}",
            self.wall,
            self.calls.total(),
            self.calls.commits,
            self.calls.conflicts,
            self.calls.faults.values().sum::<u64>(),
            self.duplicates.len(),
            self.dead_letters,
            self.left_in_queue,
            self.failed_records
        );
    }
}

/// Stops the workers (their totals printed) and collects the report.
fn close(
    rt: &tokio::runtime::Runtime,
    aws: &mut Side,
    embedded: &[Ended],
    on_aws: &[Ended],
    wall: Duration,
) -> Report {
    let duplicates = duplicates(&aws.lambda);
    let a = aws.aws.as_mut().unwrap();
    let left_in_queue = a.drain(rt);
    let dlq = a.stack.dlq_url.clone();
    let dead_letters = a.queue_depth(rt, &dlq);
    let outputs = a.workers.stop(Duration::from_secs(20));
    Report {
        differences: differences(embedded, on_aws),
        duplicates,
        dead_letters,
        left_in_queue,
        failed_records: failed_records(&outputs),
        calls: a.proxy.calls(),
        wall,
    }
}

/// The checks every scenario makes; `killed`: clients SIGKILLed during it.
fn check(report: &Report, what: &str, killed: &[String], workers_output: &str) {
    assert!(
        report.differences.is_empty(),
        "{what}: executions ended differently on AWS than on the embedded backend:\n{}\nworkers:\n{workers_output}",
        report.differences.join("\n")
    );
    assert_eq!(
        report.dead_letters, 0,
        "{what}: messages in the dead-letter queue"
    );
    let unexplained: Vec<Vec<Invocation>> = report
        .duplicates
        .iter()
        .filter(|calls| {
            // A repeat is explained when an earlier call of the same task
            // was made by a process that was then killed.
            !calls[..calls.len() - 1]
                .iter()
                .any(|c| c.client.as_ref().is_some_and(|id| killed.contains(id)))
        })
        .cloned()
        .collect();
    assert!(
        unexplained.is_empty(),
        "{what}: {} tasks invoked more than once (not by a killed process):\n{}",
        unexplained.len(),
        describe_duplicates(&unexplained)
    );
}

/// Runs `work` on `side`: creates the machine, starts the executions,
/// waits for them to end.
fn run(side: &Side, machine: &str, definition: &Value, inputs: &[(String, Value)]) -> Vec<Ended> {
    let sm = create(side, machine, definition);
    let arns: Vec<String> = inputs
        .iter()
        .map(|(name, input)| start(side, &sm, name, input))
        .collect();
    finish(side, &arns, machine)
}

fn map_inputs(scale: Scale) -> Vec<(String, Value)> {
    (0..scale.executions)
        .map(|e| {
            let items: Vec<Value> = (0..scale.items).map(|i| json!(e * 1000 + i)).collect();
            (format!("map-{e}"), json!({"items": items}))
        })
        .collect()
}

fn chain_inputs(executions: usize) -> Vec<(String, Value)> {
    (0..executions)
        .map(|e| (format!("chain-{e}"), json!({"n": e * 100})))
        .collect()
}

/// The Map and callback-chain scenarios on AWS, compared with the
/// embedded backend; `during` runs once the AWS executions are started
/// (faults, kills), and returns the clients it killed.
fn map_and_chains(
    what: &str,
    work: &str,
    map: Scale,
    chains: usize,
    worker_args: &[&str],
    during: impl FnOnce(&tokio::runtime::Runtime, &mut Side) -> Vec<String>,
) -> Report {
    let rt = runtime();
    let maps = map_inputs(map);
    let chain_work = chain_inputs(chains);
    let reference = embedded(&rt);
    let mut expected = run(&reference, "map", &map_of_tasks(work), &maps);
    expected.extend(run(
        &reference,
        "chain",
        &chain_with_callbacks(),
        &chain_work,
    ));
    drop(reference);

    let mut aws = on_aws(&rt, worker_args);
    let started = Instant::now();
    let map_sm = create(&aws, "map", &map_of_tasks(work));
    let chain_sm = create(&aws, "chain", &chain_with_callbacks());
    let mut arns: Vec<String> = maps
        .iter()
        .map(|(name, input)| start(&aws, &map_sm, name, input))
        .collect();
    arns.extend(
        chain_work
            .iter()
            .map(|(name, input)| start(&aws, &chain_sm, name, input)),
    );
    let killed = during(&rt, &mut aws);
    let got = finish(&aws, &arns, what);
    let wall = started.elapsed();
    let report = close(&rt, &mut aws, &expected, &got, wall);
    report.print(what);
    let outputs = aws.aws.as_ref().unwrap().workers.outputs(40);
    check(&report, what, &killed, &outputs);
    report
}

// ---- the scenarios ---------------------------------------------------

#[test]
fn four_workers_run_maps_of_lambda_tasks_and_callback_chains_as_the_embedded_backend_does() {
    let report = map_and_chains(
        "maps and chains",
        "work",
        scale(Scale {
            executions: 4,
            items: 25,
        }),
        4,
        &[],
        |_, _| Vec::new(),
    );
    assert!(
        report.failed_records.iter().all(|(_, n)| *n == 0),
        "records failed without any fault: {:?}",
        report.failed_records
    );
    assert_eq!(report.left_in_queue, 0, "messages left in the step queue");
}

/// The Map and chain scenarios with `rules` in the proxy once the
/// executions started.
fn under_faults(what: &str, rules: Vec<Rule>) -> Report {
    map_and_chains(
        what,
        "work",
        scale(Scale {
            executions: 3,
            items: 20,
        }),
        3,
        &[],
        move |_, aws| {
            let proxy = &aws.aws.as_ref().unwrap().proxy;
            for rule in rules {
                proxy.add(rule);
            }
            Vec::new()
        },
    )
}

#[test]
fn throttling_and_delays_change_nothing_but_the_number_of_calls() {
    let report = under_faults(
        "throttled",
        vec![
            Rule::new(&["dynamodb:TransactWriteItems"], Fault::ThroughputExceeded).every(7),
            Rule::new(&["dynamodb:*"], Fault::Throttling).every(11),
            Rule::new(&["sqs:*"], Fault::Throttling).every(13),
            Rule::new(
                &["dynamodb:*", "sqs:*"],
                Fault::Delay(Duration::from_millis(150)),
            )
            .every(17),
        ],
    );
    assert!(
        report
            .calls
            .faults
            .keys()
            .any(|k| k.ends_with("Throttling"))
            && report
                .calls
                .faults
                .keys()
                .any(|k| k.ends_with("ThroughputExceeded")),
        "the faults were injected: {:?}",
        report.calls.faults
    );
}

#[test]
fn answers_dropped_after_the_write_change_nothing_but_the_number_of_calls() {
    under_faults(
        "answers dropped",
        vec![
            Rule::new(&["dynamodb:TransactWriteItems"], Fault::DropAnswer)
                .every(5)
                .limit(10),
            Rule::new(
                &["sqs:SendMessage", "sqs:DeleteMessageBatch"],
                Fault::DropAnswer,
            )
            .every(7)
            .limit(10),
        ],
    );
}

#[test]
fn a_worker_killed_mid_run_and_restarted_loses_nothing() {
    let map = scale(Scale {
        executions: 3,
        items: 30,
    });
    let total = map.executions * map.items;
    map_and_chains(
        "a worker killed",
        "slow",
        map,
        3,
        // The task a killed process held claimed is the sweep's once its
        // claim lapsed: claims of 10 s (tasks take a quarter second) and a
        // sweep every 2 s, for the stack's 15 minutes and one minute, to
        // end in the test's time.
        &["--claim-seconds", "10", "--sweep-every-seconds", "2"],
        move |_, aws| {
            // Once a third of the Map's tasks ran, kill worker 0 while it
            // performs a task (each takes a quarter second).
            let deadline = Instant::now() + patience();
            while aws.lambda.count() < total / 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let by_w0 = |lambda: &LambdaEndpoint| {
                lambda
                    .invocations()
                    .iter()
                    .filter(|i| i.client.as_deref() == Some("w0-g1"))
                    .count()
            };
            let before = by_w0(&aws.lambda);
            while by_w0(&aws.lambda) == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let workers = &mut aws.aws.as_mut().unwrap().workers;
            let killed = workers.kill(0).into_iter().collect();
            std::thread::sleep(Duration::from_millis(500));
            workers.restart(0);
            killed
        },
    );
}

/// Issue 17: a worker performs the Tasks of a chain one after the other in
/// the invocation that received the chain's message. Killed while it
/// performs one, it loses nothing: the task it held claimed is performed
/// again by another worker once the claim lapsed (the only duplicate a
/// killed process may leave), and the chain goes on from there to the end
/// it has on the embedded backend.
#[test]
fn a_chain_of_tasks_interrupted_by_a_kill_is_finished_by_another_worker() {
    let rt = runtime();
    let length = 10;
    let executions = 4;
    let definition = lambda_chain("slow-step", length);
    let inputs = chain_inputs(executions);
    let reference = embedded(&rt);
    let expected = run(&reference, "tasks", &definition, &inputs);
    drop(reference);

    let mut aws = on_aws(
        &rt,
        &["--claim-seconds", "10", "--sweep-every-seconds", "2"],
    );
    let started = Instant::now();
    let sm = create(&aws, "tasks", &definition);
    let arns: Vec<String> = inputs
        .iter()
        .map(|(name, input)| start(&aws, &sm, name, input))
        .collect();
    // Wait until worker 0 performed two Tasks of one execution — it is in
    // a chain — then kill it as it starts another.
    let deadline = Instant::now() + patience();
    let by_w0 = |lambda: &LambdaEndpoint| -> Vec<Invocation> {
        lambda
            .invocations()
            .into_iter()
            .filter(|i| i.client.as_deref() == Some("w0-g1"))
            .collect()
    };
    let chained = |calls: &[Invocation]| {
        let mut per_execution: BTreeMap<String, usize> = BTreeMap::new();
        for c in calls {
            *per_execution
                .entry(c.payload["execution"].to_string())
                .or_default() += 1;
        }
        per_execution.values().any(|n| *n >= 2)
    };
    while !chained(&by_w0(&aws.lambda)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = by_w0(&aws.lambda).len();
    while by_w0(&aws.lambda).len() == before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let workers = &mut aws.aws.as_mut().unwrap().workers;
    let killed: Vec<String> = workers.kill(0).into_iter().collect();
    assert!(!killed.is_empty(), "worker 0 was killed mid-chain");
    std::thread::sleep(Duration::from_millis(500));
    workers.restart(0);

    let got = finish(&aws, &arns, "tasks");
    let wall = started.elapsed();
    let report = close(&rt, &mut aws, &expected, &got, wall);
    report.print("a chain interrupted by a kill");
    let outputs = aws.aws.as_ref().unwrap().workers.outputs(40);
    check(&report, "a chain interrupted by a kill", &killed, &outputs);
    assert!(
        report.duplicates.iter().all(|calls| calls.len() == 2),
        "a task the killed worker held is performed once more, no more"
    );
    let repeats: usize = report.duplicates.iter().map(|calls| calls.len() - 1).sum();
    assert_eq!(aws.lambda.count(), executions * length + repeats);
}

#[test]
fn stop_execution_in_the_middle_of_a_map_starts_no_more_tasks() {
    let scale = scale(Scale {
        executions: 3,
        items: 60,
    });
    let rt = runtime();
    let inputs: Vec<(String, Value)> = (0..scale.executions)
        .map(|e| {
            let items: Vec<Value> = (0..scale.items).map(|i| json!(i)).collect();
            (format!("stop-{e}"), json!({"items": items}))
        })
        .collect();
    let stop_all = |side: &Side| -> (Vec<String>, usize) {
        let sm = create(side, "gated", &gated_map());
        let arns: Vec<String> = inputs
            .iter()
            .map(|(name, input)| start(side, &sm, name, input))
            .collect();
        // A task is held at the gate: the Maps are under way (every
        // iteration started, its task scheduled). On AWS the workers hold
        // what they received and the other tasks wait in the queue.
        let deadline = Instant::now() + patience();
        while side.lambda.count() == 0 {
            assert!(Instant::now() < deadline, "no task started");
            std::thread::sleep(Duration::from_millis(20));
        }
        for arn in &arns {
            call(
                side,
                "StopExecution",
                json!({"executionArn": arn, "error": "Halt", "cause": "stopped by the test"}),
            );
        }
        let before = side.lambda.count();
        side.gate.open();
        (arns, before)
    };

    let reference = embedded(&rt);
    let (arns, _) = stop_all(&reference);
    let expected = finish(&reference, &arns, "stopped (embedded)");
    drop(reference);

    let mut aws = on_aws(&rt, &[]);
    let started = Instant::now();
    let (arns, before) = stop_all(&aws);
    let got = finish(&aws, &arns, "stopped");
    let report = close(&rt, &mut aws, &expected, &got, started.elapsed());
    report.print("StopExecution mid-Map");
    let after = aws.lambda.count();
    assert!(got.iter().all(|e| e.status == "ABORTED"), "{got:?}");
    let outputs = aws.aws.as_ref().unwrap().workers.outputs(40);
    check(&report, "StopExecution mid-Map", &[], &outputs);
    assert_eq!(
        after - before,
        0,
        "{} tasks of stopped executions were invoked after StopExecution answered ({before} before it)",
        after - before
    );
}

fn wait_then_task() -> Value {
    json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3 * 3600, "Next": "T"},
        "T": {"Type": "Task", "Resource": lambda_arn("work"), "End": true}
    }})
}

/// Waits of three hours, with time moved by the test (every process reads
/// its clock's offset from `FLOWSTATE_TEST_CLOCK_FILE`): nothing is in the
/// step queue while they wait (the timers wait in the table), and once the
/// clock moves past them the workers' sweep sends them and the executions
/// end as on the embedded backend.
#[test]
fn waits_of_hours_end_when_the_test_moves_the_clock_of_every_process() {
    let rt = runtime();
    let inputs: Vec<(String, Value)> = (0..8)
        .map(|e| (format!("hours-{e}"), json!({"n": e})))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let wait_hours = |side: &Side, clock: &std::path::Path| -> Vec<String> {
        let sm = create(side, "hours", &wait_then_task());
        let arns: Vec<String> = inputs
            .iter()
            .map(|(name, input)| start(side, &sm, name, input))
            .collect();
        if let Some(aws) = &side.aws {
            assert_eq!(
                aws.drain(&rt),
                0,
                "the step queue holds messages while the timers wait"
            );
        } else {
            std::thread::sleep(Duration::from_secs(1));
        }
        for arn in &arns {
            let d = call(side, "DescribeExecution", json!({"executionArn": arn}));
            assert_eq!(d["status"], "RUNNING", "{arn} did not wait");
        }
        assert_eq!(side.lambda.count(), 0, "a task ran before its Wait ended");
        std::fs::write(clock, (3 * 3600 + 60).to_string()).unwrap();
        arns
    };

    let embedded_clock = dir.path().join("embedded-clock");
    std::fs::write(&embedded_clock, "0").unwrap();
    let reference = embedded_with(
        &rt,
        &[(
            "FLOWSTATE_TEST_CLOCK_FILE",
            embedded_clock.to_str().unwrap(),
        )],
    );
    let arns = wait_hours(&reference, &embedded_clock);
    let expected = finish(&reference, &arns, "waits of hours (embedded)");
    drop(reference);

    let aws_clock = dir.path().join("aws-clock");
    std::fs::write(&aws_clock, "0").unwrap();
    let mut aws = on_aws_with(
        &rt,
        &["--sweep-every-seconds", "2"],
        &[("FLOWSTATE_TEST_CLOCK_FILE", aws_clock.to_str().unwrap())],
    );
    let started = Instant::now();
    let arns = wait_hours(&aws, &aws_clock);
    let got = finish(&aws, &arns, "waits of hours");
    let report = close(&rt, &mut aws, &expected, &got, started.elapsed());
    report.print("waits of hours");
    assert!(got.iter().all(|e| e.status == "SUCCEEDED"), "{got:?}");
    let outputs = aws.aws.as_ref().unwrap().workers.outputs(40);
    check(&report, "waits of hours", &[], &outputs);
}

/// What `worker` and `serve --no-worker` need is named when it is missing.
#[test]
fn worker_and_serve_without_a_worker_name_what_they_miss() {
    let flowstate = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowstate"))
            .args(args)
            .env_remove("FLOWSTATE_KEYS_KMS_KEY")
            .env_remove("FLOWSTATE_TABLE")
            .env_remove("FLOWSTATE_QUEUE_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = flowstate(&["worker", "--backend", "aws", "--table", "t", "--queue", "q"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--kms-key"), "{stderr}");
    let (code, stderr) = flowstate(&["worker", "--backend", "embedded"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, stderr) = flowstate(&["serve", "--memory", "--no-worker"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--backend aws"), "{stderr}");
    let (code, stderr) = flowstate(&[
        "serve",
        "--backend",
        "aws",
        "--table",
        "t",
        "--queue",
        "q",
        "--no-worker",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--kms-key"), "{stderr}");
}
