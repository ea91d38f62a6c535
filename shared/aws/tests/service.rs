//! Whole executions through the runtime's `Service` on DynamoDB + SQS
//! (moto): Pass, Choice, Wait, Retry, Catch, Parallel, Map, a
//! `.waitForTaskToken` callback, payloads near the 256 KiB limit, steps too
//! large for one DynamoDB transaction, and the worker loop on the wall clock.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use flowstate_aws::AwsBackend;
use flowstate_engine::Status;
use flowstate_ports::*;
use flowstate_runtime::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tasks by function name: `echo` returns its input, `flaky` fails twice
/// per execution then succeeds, `boom` always fails; `.waitForTaskToken`
/// resources hand their token to the test.
#[derive(Clone, Default)]
struct Tasks {
    tokens: Arc<Mutex<Vec<String>>>,
    calls: Arc<Mutex<HashMap<String, u32>>>,
}

impl Invoker for Tasks {
    async fn invoke(&self, ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        if let Some(t) = &task.task_token {
            self.tokens.lock().unwrap().push(t.clone());
            return TaskResult::AwaitingCallback;
        }
        let function = task.resource.rsplit(':').next().unwrap_or_default();
        match function {
            "flaky" => {
                let mut calls = self.calls.lock().unwrap();
                let n = calls.entry(ctx.execution_arn.clone()).or_default();
                *n += 1;
                if *n <= 2 {
                    TaskResult::Failed(flowstate_asl::errors::Failure::new(
                        "Flaky.Error",
                        format!("attempt {n}"),
                    ))
                } else {
                    TaskResult::Succeeded(json!("ok"))
                }
            }
            "boom" => {
                TaskResult::Failed(flowstate_asl::errors::Failure::new("Custom.Boom", "always"))
            }
            _ => TaskResult::Succeeded(json!({"echo": task.parameters})),
        }
    }
}

type Svc<C> = Service<AwsBackend, AwsBackend, Tasks, C>;

/// A service whose simulated clock lies in the past: SQS delays are then
/// zero and every timer is the queue's caller-time logic — deterministic.
async fn simulated(moto: &flowstate_testkit::Moto) -> Svc<SimulatedClock> {
    let backend = moto.backend().await;
    let config = Config {
        spawn_tasks: false,
        ..Config::default()
    };
    Service::new(
        backend.clone(),
        backend,
        Tasks::default(),
        SimulatedClock::new(1_000_000_000),
        config,
    )
}

async fn machine<C: Clock>(s: &Svc<C>, name: &str, def: &str) -> String {
    s.create_state_machine(CreateStateMachine {
        name: name.into(),
        definition: def.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        kind: WorkflowType::Standard,
        description: None,
    })
    .await
    .unwrap()
    .arn
}

async fn start<C: Clock>(s: &Svc<C>, arn: &str, name: &str, input: &Value) -> String {
    s.start_execution(StartExecution {
        state_machine_arn: arn.into(),
        name: Some(name.into()),
        input: Some(input.to_string()),
        ..Default::default()
    })
    .await
    .unwrap()
    .execution_arn
}

/// Every history event, read in pages of `page` (exercises the store's
/// pagination and the API's tokens).
async fn history<C: Clock>(s: &Svc<C>, arn: &str, page: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let got = s
            .get_execution_history(
                arn,
                HistoryRequest {
                    max_results: page,
                    next_token: token,
                    reverse_order: false,
                    include_execution_data: true,
                },
            )
            .await
            .unwrap();
        events.extend(got.events);
        token = got.next_token;
        if token.is_none() {
            return events;
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

const FLOW: &str = r#"{"StartAt":"Init","States":{
 "Init":{"Type":"Pass","Result":{"n":3},"ResultPath":"$.cfg","Next":"Check"},
 "Check":{"Type":"Choice","Choices":[{"Variable":"$.cfg.n","NumericGreaterThan":2,"Next":"Sleep"}],"Default":"Bad"},
 "Sleep":{"Type":"Wait","Seconds":3600,"Next":"Flaky"},
 "Flaky":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:flaky",
   "Retry":[{"ErrorEquals":["Flaky.Error"],"IntervalSeconds":2,"MaxAttempts":3}],"ResultPath":"$.task","Next":"Risky"},
 "Risky":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:boom",
   "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.caught","Next":"Fan"}],"End":true},
 "Fan":{"Type":"Parallel","ResultPath":"$.fan","Next":"Each","Branches":[
   {"StartAt":"B1","States":{"B1":{"Type":"Pass","Result":"one","End":true}}},
   {"StartAt":"B2","States":{"B2":{"Type":"Wait","Seconds":5,"Next":"B2b"},"B2b":{"Type":"Pass","Result":"two","End":true}}}]},
 "Each":{"Type":"Map","ItemsPath":"$.items","ResultPath":"$.each","End":true,
   "Iterator":{"StartAt":"Echo","States":{"Echo":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}}},
 "Bad":{"Type":"Fail","Error":"Bad"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_on_dynamodb_and_sqs() {
    let moto = flowstate_testkit::Moto::start();
    let s = simulated(&moto).await;

    // Pass, Choice, a one-hour Wait, Retry, Catch, Parallel and Map.
    let arn = machine(&s, "Flow", FLOW).await;
    let e = start(&s, &arn, "flow-1", &json!({"items": [1, 2, 3]})).await;
    s.run_until_idle(500).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    let out = d.output.as_deref().cloned().unwrap_or_default();
    assert_eq!(out["cfg"], json!({"n": 3}));
    assert_eq!(out["task"], json!("ok"));
    assert_eq!(out["caught"]["Error"], json!("Custom.Boom"));
    assert_eq!(out["fan"], json!(["one", "two"]));
    assert_eq!(out["each"], json!([{"echo": 1}, {"echo": 2}, {"echo": 3}]));
    let events = history(&s, &e, 7).await;
    let t = types(&events);
    assert_eq!(t.first(), Some(&"ExecutionStarted"));
    assert_eq!(t.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(
        t.iter().filter(|t| **t == "LambdaFunctionFailed").count(),
        3,
        "{t:?}"
    );
    let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    // Starting it again with the same name and input is idempotent; listing
    // finds it.
    let listed = s
        .list_executions(
            &arn,
            None,
            PageRequest {
                max_results: 10,
                next_token: None,
            },
        )
        .await;
    assert!(listed.is_ok_and(|p| p.items.iter().any(|x| x.execution_arn == e)));

    // A callback: the execution waits for the token, then finishes.
    let cb = machine(
        &s,
        "Callback",
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}"#,
    )
    .await;
    let e = start(&s, &cb, "cb-1", &json!({})).await;
    // Due work only: moving time on would reach its one-year timeout.
    s.run_due(50).await.unwrap();
    assert_eq!(
        s.describe_execution(&e).await.unwrap().status,
        Status::Running
    );
    let token = s
        .invoker()
        .tokens
        .lock()
        .unwrap()
        .pop()
        .expect("a task token");
    s.send_task_success(&token, r#"{"ok":true}"#).await.unwrap();
    s.run_until_idle(50).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&json!({"ok": true})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads_and_large_steps() {
    let moto = flowstate_testkit::Moto::start();
    let s = simulated(&moto).await;

    // ~240 KB in and ~240 KB out: the header carries both (chunked), the
    // task result is too large for an SQS message (spilled to the table).
    let echo = machine(
        &s,
        "Echo",
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}}"#,
    )
    .await;
    let blob = "x".repeat(240_000);
    let e = start(&s, &echo, "big", &json!({ "blob": blob })).await;
    s.run_until_idle(50).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    assert_eq!(d.input["blob"].as_str().map(str::len), Some(240_000));
    assert_eq!(
        d.output
            .as_deref()
            .map(|o| o["echo"]["blob"] == json!(blob)),
        Some(true)
    );

    // 150 Pass iterations run to block in the first step: ~600 history
    // events, written ahead of the header's commit.
    let wide = machine(
        &s,
        "Wide",
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#,
    )
    .await;
    let items: Vec<u32> = (0..150).collect();
    let e = start(&s, &wide, "wide", &json!(items)).await;
    s.run_until_idle(50).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    assert_eq!(d.output.as_deref(), Some(&json!(items)));
    let events = history(&s, &e, 100).await;
    assert!(events.len() > 600, "{}", events.len());
    let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());

    // 120 branches each waiting: 121 frames created ahead in one step,
    // then changed and removed one step at a time.
    let branches: Vec<Value> = (0..120)
        .map(|i| {
            json!({"StartAt": format!("W{i}"), "States": {
                format!("W{i}"): {"Type": "Wait", "Seconds": 1, "Next": format!("P{i}")},
                format!("P{i}"): {"Type": "Pass", "Result": i, "End": true}}})
        })
        .collect();
    let waits = machine(
        &s,
        "Waits",
        &json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": branches}}})
            .to_string(),
    )
    .await;
    let e = start(&s, &waits, "waits", &json!({})).await;
    let loaded = s.store().load_execution(&e, true).await.unwrap().unwrap();
    assert_eq!(
        loaded.execution.frames.len(),
        121,
        "frames written ahead are visible"
    );
    s.run_until_idle(1000).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    let expected: Vec<u32> = (0..120).collect();
    assert_eq!(d.output.as_deref(), Some(&json!(expected)));

    // A Map over 120 waiting items runs 40 at a time, as on AWS: its
    // iterations' frames are created as they start.
    let map = machine(
        &s,
        "MapWaits",
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"Iterator":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"P"},"P":{"Type":"Pass","End":true}}}}}}"#,
    )
    .await;
    let items: Vec<u32> = (0..120).collect();
    let e = start(&s, &map, "map-waits", &json!(items)).await;
    let loaded = s.store().load_execution(&e, true).await.unwrap().unwrap();
    assert_eq!(
        loaded.execution.frames.len(),
        41,
        "the Map and 40 iterations"
    );
    s.run_until_idle(1000).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    assert_eq!(d.output.as_deref(), Some(&json!(items)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_loop_on_the_wall_clock() {
    let moto = flowstate_testkit::Moto::start();
    let backend = moto.backend().await;
    let s: Svc<SystemClock> = Service::new(
        backend.clone(),
        backend,
        Tasks::default(),
        SystemClock,
        Config::default(),
    );
    let arn = machine(
        &s,
        "Timed",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2,"Next":"T"},"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:flaky","Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":3}],"End":true}}}"#,
    )
    .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let s = s.clone();
        tokio::spawn(async move {
            s.run_worker(async {
                let _ = stopped.await;
            })
            .await
        })
    };
    let began = Instant::now();
    let e = start(&s, &arn, "timed", &json!({})).await;
    let status = loop {
        let d = s.describe_execution(&e).await.unwrap();
        if d.status != Status::Running || began.elapsed() > Duration::from_secs(30) {
            break d.status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = stop.send(());
    worker.await.unwrap();
    assert_eq!(status, Status::Succeeded);
    // A 2 s Wait and two 1 s retries, by SQS's DelaySeconds.
    assert!(
        began.elapsed() >= Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
}

/// ListExecutions with a status filter queries the status index (`GSI2`),
/// whose partitions hold one state machine's executions of one status: the
/// header's key there follows its status from start to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_filter_queries_the_status_index() {
    let moto = flowstate_testkit::Moto::start();
    let s = simulated(&moto).await;
    let sm = machine(
        &s,
        "Statuses",
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.wait","IsPresent":true,"Next":"T"}],"Default":"Done"},
            "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true},
            "Done":{"Type":"Succeed"}}}"#,
    )
    .await;
    let running = start(&s, &sm, "waits", &json!({"wait": true})).await;
    let done = start(&s, &sm, "ends", &json!({})).await;
    s.run_due(50).await.unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let in_index = |status: &'static str| {
        let ddb = ddb.clone();
        let table = s.store().settings().table.clone();
        let sm = sm.clone();
        async move {
            let out = ddb
                .query()
                .table_name(table)
                .index_name("GSI2")
                .key_condition_expression("GSI2PK = :pk")
                .expression_attribute_values(
                    ":pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("S#{sm}#{status}")),
                )
                .send()
                .await
                .unwrap();
            out.items()
                .iter()
                .filter_map(|i| i.get("PK").and_then(|v| v.as_s().ok()).cloned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(in_index("RUNNING").await, [format!("X#{running}")]);
    assert_eq!(in_index("SUCCEEDED").await, [format!("X#{done}")]);
    let page = PageRequest {
        max_results: 10,
        next_token: None,
    };
    for (status, arn) in [(Status::Running, &running), (Status::Succeeded, &done)] {
        let listed = s
            .list_executions(&sm, Some(status), page.clone())
            .await
            .unwrap();
        let arns: Vec<&str> = listed
            .items
            .iter()
            .map(|x| x.execution_arn.as_str())
            .collect();
        assert_eq!(arns, [arn.as_str()], "{status:?}");
    }
}

/// Issue 11: every item of an execution carries a `ttl` (DynamoDB deletes
/// it then): 90 days after the execution ended, or, while it runs, 90 days
/// after the latest it can end (its start and a year).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_of_an_execution_expires_after_its_retention() {
    const DAY_S: i64 = 86_400;
    let moto = flowstate_testkit::Moto::start();
    let s = simulated(&moto).await;
    let sm = machine(
        &s,
        "Retained",
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.wait","IsPresent":true,"Next":"T"}],"Default":"P"},
            "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true},
            "P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}}]}}}"#,
    )
    .await;
    let running = start(&s, &sm, "waits", &json!({"wait": true})).await;
    let ended = start(&s, &sm, "ends", &json!({})).await;
    s.run_due(50).await.unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = s.store().settings().table.clone();
    let ttls = |arn: String| {
        let (ddb, table) = (ddb.clone(), table.clone());
        async move {
            let out = ddb
                .query()
                .table_name(table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(
                    ":pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("X#{arn}")),
                )
                .send()
                .await
                .unwrap();
            out.items()
                .iter()
                .map(|i| {
                    let sk = i["SK"].as_s().unwrap().clone();
                    let ttl = i
                        .get("ttl")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok());
                    (sk, ttl)
                })
                .collect::<Vec<_>>()
        }
    };
    let d = s.describe_execution(&ended).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    let stop_s = d.stop_date.unwrap() / 1000;
    let items = ttls(ended.clone()).await;
    assert!(
        items.len() >= 4,
        "header, input, frames, history: {items:?}"
    );
    let header = items.iter().find(|(sk, _)| sk == "E").unwrap();
    assert_eq!(
        header.1,
        Some(stop_s + 90 * DAY_S),
        "the header: 90 days after the end"
    );
    for (sk, ttl) in &items {
        assert!(ttl.is_some(), "item {sk} has no ttl");
    }
    let d = s.describe_execution(&running).await.unwrap();
    let start_s = d.start_date / 1000;
    for (sk, ttl) in ttls(running.clone()).await {
        assert_eq!(ttl, Some(start_s + 365 * DAY_S + 90 * DAY_S), "item {sk}");
    }
}
