//! The stepper on DynamoDB + SQS (moto): executions started as the API
//! function starts them (`defer_tasks`), then advanced only by SQS batches
//! handed to the stepper as Lambda's event source hands them. Every AWS
//! call goes through a counting proxy, which gives the cost meter: calls
//! per execution for a chain of Pass/Choice states, one Lambda Task and a
//! Wait (printed; run with `--nocapture` to see the table).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use flowstate_aws::{AwsBackend, AwsNotifier, NotifierSettings, Settings};
use flowstate_engine::Status;
use flowstate_lambda_stepper::Stepper;
use flowstate_ports::{InvokeContext, Invoker, Store, SystemClock, TaskInvocation, TaskResult};
use flowstate_runtime::{Config, CreateStateMachine, Service, StartExecution};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// An HTTP proxy in front of moto that counts requests by operation
/// (`X-Amz-Target` for JSON protocols, `Action=` for query ones).
async fn counting_proxy(target: String) -> (String, Counts) {
    let counts: Counts = Arc::default();
    let c = counts.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (counts, target) = (c.clone(), target.clone());
            async move {
                let op = operation(&headers, &body);
                let units = write_units(&op, &body);
                {
                    let mut counts = counts.lock().unwrap();
                    *counts.entry(op).or_default() += 1;
                    if units > 0 {
                        *counts.entry("dynamodb WRU".into()).or_default() += units;
                    }
                }
                tokio::task::spawn_blocking(move || forward(&target, method, uri, headers, body))
                    .await
                    .unwrap()
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), counts)
}

fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = t.split_once('.').unwrap_or(("?", t));
        let service = if service.starts_with("DynamoDB") {
            "dynamodb"
        } else if service.starts_with("AmazonSQS") {
            "sqs"
        } else {
            service
        };
        return format!("{service}:{op}");
    }
    let text = String::from_utf8_lossy(body);
    let action = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("?");
    format!("query:{action}")
}

/// DynamoDB write request units a request consumes (on-demand pricing):
/// one per KB of each item written or deleted, twice that inside a
/// transaction. Item sizes are estimated from their JSON encoding.
fn write_units(op: &str, body: &[u8]) -> u64 {
    let kb = |item: &Value| (item.to_string().len() as u64).div_ceil(1024).max(1);
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    match op {
        "dynamodb:TransactWriteItems" => request["TransactItems"]
            .as_array()
            .map(|items| items.iter().map(|i| 2 * kb(i)).sum())
            .unwrap_or(0),
        "dynamodb:BatchWriteItem" => request["RequestItems"]
            .as_object()
            .map(|tables| {
                tables
                    .values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .map(kb)
                    .sum()
            })
            .unwrap_or(0),
        "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem" => kb(&request),
        _ => 0,
    }
}

/// US East list prices (2026): what a million of each costs, in dollars.
const DYNAMODB_WRU: f64 = 0.625;
const DYNAMODB_RRU: f64 = 0.125;
const SQS_REQUEST: f64 = 0.40;
const SNS_PUBLISH: f64 = 0.50;
const LAMBDA_REQUEST: f64 = 0.20;
/// arm64, per GB-second; the stepper has 512 MB.
const LAMBDA_GB_SECOND: f64 = 0.0000133334 * 1_000_000.0;

/// Dollars per million state transitions for `runs` of one execution
/// making `transitions` transitions, from the counted calls (reads: one
/// unit per call, consistent reads of items under 4 KB), `records` SQS
/// messages received by the event source (one receive and one delete
/// each, at worst) and `invocations` of the stepper at `ms` milliseconds.
fn dollars_per_million_transitions(
    counts: &BTreeMap<String, u64>,
    transitions: u64,
    records: u64,
    invocations: u64,
    ms: f64,
) -> f64 {
    let get = |k: &str| *counts.get(k).unwrap_or(&0) as f64;
    let reads = get("dynamodb:GetItem") + get("dynamodb:Query");
    let publishes = get("query:Publish");
    let sends = get("sqs:SendMessage");
    let per_execution = get("dynamodb WRU") * DYNAMODB_WRU
        + reads * DYNAMODB_RRU
        + (sends + 2.0 * records as f64) * SQS_REQUEST
        + publishes * SNS_PUBLISH
        + invocations as f64 * (LAMBDA_REQUEST + 0.5 * ms / 1000.0 * LAMBDA_GB_SECOND);
    per_execution / transitions as f64
}

fn forward(
    target: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let url = format!(
        "{target}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut req = ureq::request(method.as_str(), &url);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.set(name.as_str(), value.to_str().unwrap_or_default());
        }
    }
    let response = match req.send_bytes(&body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                HeaderMap::new(),
                e.to_string().into(),
            )
        }
    };
    let status = StatusCode::from_u16(response.status()).unwrap();
    let mut out = HeaderMap::new();
    for name in response.headers_names() {
        if let (Ok(n), Some(v)) = (
            axum::http::HeaderName::try_from(name.as_str()),
            response.header(&name),
        ) {
            if n != "content-length" && n != "transfer-encoding" {
                out.insert(n, v.parse().unwrap());
            }
        }
    }
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).unwrap();
    (status, out, bytes)
}

/// A Lambda function in-process: doubles `n`. Counts its invocations (on
/// AWS each is one Lambda Invoke request).
#[derive(Clone, Default)]
pub(super) struct Double {
    calls: Arc<Mutex<u64>>,
}

impl Invoker for Double {
    async fn invoke(&self, _ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        *self.calls.lock().unwrap() += 1;
        let n = task.parameters["n"].as_i64().unwrap_or(0);
        TaskResult::Succeeded(json!({"n": n * 2}))
    }
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

pub(super) struct World {
    pub(super) stepper: Stepper<Double, SystemClock>,
    counts: Counts,
    /// Talks to moto directly (not counted): plays Lambda's event source.
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    /// The same table, read directly (not counted).
    observer: AwsBackend,
    /// Time spent in the stepper's handler (on moto: slower than AWS).
    stepper_ms: Mutex<f64>,
}

async fn world(moto: &flowstate_testkit::Moto, name: &str) -> World {
    let config = Config {
        spawn_tasks: false,
        defer_tasks: true,
        // The API and the stepper are different functions: nothing is
        // decoded already when a step begins, so count the loads.
        cache_capacity: 0,
        ..Config::default()
    };
    world_with(moto, name, config).await
}

/// A world whose stepper runs with `config`.
pub(super) async fn world_with(
    moto: &flowstate_testkit::Moto,
    name: &str,
    config: Config,
) -> World {
    let (proxy, counts) = counting_proxy(moto.endpoint.clone()).await;
    let mut settings = Settings::new(format!("{name}-table"), format!("{name}-steps"));
    settings.track_messages = false;
    let backend = AwsBackend::new(&sdk_config(&proxy).await, settings);
    backend.create_resources().await.unwrap();
    let service = Service::new(
        backend.clone(),
        backend,
        Double::default(),
        SystemClock,
        config,
    );
    // Status changes go to SNS, as in the stack (counted: "the end").
    let topic = aws_sdk_sns::Client::new(&sdk_config(&moto.endpoint).await)
        .create_topic()
        .name(format!("{name}-status"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let proxied = sdk_config(&proxy).await;
    service.set_notifier(Arc::new(AwsNotifier::new(
        &proxied,
        NotifierSettings::new(topic),
    )));
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto.endpoint).await);
    let queue_url = sqs
        .get_queue_url()
        .queue_name(format!("{name}-steps"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let mut settings = Settings::new(format!("{name}-table"), format!("{name}-steps"));
    settings.track_messages = false;
    let observer = AwsBackend::new(&sdk_config(&moto.endpoint).await, settings);
    World {
        stepper_ms: Mutex::new(0.0),
        observer,
        stepper: Stepper::new(service, 15 * 60 * 1000),
        counts,
        sqs,
        queue_url,
    }
}

impl World {
    pub(super) fn take_counts(&self) -> BTreeMap<String, u64> {
        *self.stepper_ms.lock().unwrap() = 0.0;
        std::mem::take(&mut *self.counts.lock().unwrap())
    }

    /// One row of the cost table for an execution that just ended.
    async fn cost_row(
        &self,
        label: &str,
        arn: &str,
        start: &BTreeMap<String, u64>,
        after: &BTreeMap<String, u64>,
        (invocations, records): (usize, usize),
    ) -> String {
        let mut all = start.clone();
        for (k, v) in after {
            *all.entry(k.clone()).or_default() += v;
        }
        let transitions = self
            .stepper
            .service()
            .describe_execution(arn)
            .await
            .unwrap()
            .transitions;
        let ms = *self.stepper_ms.lock().unwrap();
        let dollars = dollars_per_million_transitions(
            &all,
            transitions,
            records as u64,
            invocations as u64,
            ms / invocations.max(1) as f64,
        );
        format!(
            "{label:<16} | {transitions:>2} | {} | {} | {invocations} | ${dollars:.2} |",
            show(start),
            show(after)
        )
    }

    /// Lambda's event source: receives batches, invokes the stepper,
    /// deletes the records it reports done. Returns the number of stepper
    /// invocations it took for the execution to end.
    async fn drive(&self, arn: &str) -> (usize, usize) {
        self.drive_for(arn, Duration::from_secs(60)).await
    }

    /// [`World::drive`], giving up (failing) after `limit`.
    pub(super) async fn drive_for(&self, arn: &str, limit: Duration) -> (usize, usize) {
        let deadline = Instant::now() + limit;
        let (mut invocations, mut records) = (0, 0);
        loop {
            let rec = self.observer.load_execution(arn, false).await.unwrap();
            if rec.unwrap().execution.status != Status::Running {
                return (invocations, records);
            }
            assert!(Instant::now() < deadline, "{arn} did not end");
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            let event = json!({"Records": messages.iter().map(|m| json!({
                "messageId": m.message_id.clone().unwrap(),
                "receiptHandle": m.receipt_handle.clone().unwrap(),
                "body": m.body.clone().unwrap(),
                "eventSource": "aws:sqs",
            })).collect::<Vec<_>>()});
            invocations += 1;
            records += messages.len();
            let started = Instant::now();
            let response = self.stepper.handle(event).await.unwrap();
            *self.stepper_ms.lock().unwrap() += started.elapsed().as_secs_f64() * 1000.0;
            let failed: Vec<&str> = response["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            assert!(failed.is_empty(), "records failed: {response}");
            for m in &messages {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle.clone().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

pub(super) async fn create(w: &World, name: &str, definition: Value) -> String {
    w.stepper
        .service()
        .create_state_machine(CreateStateMachine {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: flowstate_ports::WorkflowType::Standard,
            description: None,
        })
        .await
        .unwrap()
        .arn
}

async fn start(w: &World, machine: &str, name: &str) -> String {
    w.stepper
        .service()
        .start_execution(StartExecution {
            state_machine_arn: machine.into(),
            name: Some(name.into()),
            input: Some(r#"{"n": 3}"#.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn
}

fn chain(length: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..length {
        let next = if i + 1 < length {
            json!({"Next": format!("S{}", i + 1)})
        } else {
            json!({"End": true})
        };
        let state = if i % 2 == 0 {
            let mut s = json!({"Type": "Pass"});
            s.as_object_mut()
                .unwrap()
                .extend(next.as_object().unwrap().clone());
            s
        } else {
            let target = next
                .get("Next")
                .cloned()
                .unwrap_or(json!(format!("End{i}")));
            if next.get("End").is_some() {
                states.insert(format!("End{i}"), json!({"Type": "Succeed"}));
            }
            json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": target}], "Default": target})
        };
        states.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": states})
}

pub(super) fn show(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_advance_through_sqs_batches_and_the_calls_are_counted() {
    let moto = flowstate_testkit::Moto::start();
    let w = world(&moto, &format!("stepper-{}", std::process::id())).await;
    let pass_chain = create(&w, "chain", chain(10)).await;
    let task = create(
        &w,
        "task",
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true}}}),
    )
    .await;
    let wait = create(
        &w,
        "wait",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let mut table = Vec::new();

    // Warm the definition cache, as a warm function has it.
    let warm = start(&w, &pass_chain, "warm").await;
    w.drive(&warm).await;
    w.take_counts();

    let arn = start(&w, &pass_chain, "c1").await;
    let at_start = w.take_counts();
    let driven = w.drive(&arn).await;
    let after = w.take_counts();
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(
        driven.0, 0,
        "a Pass/Choice chain ends within StartExecution"
    );
    assert!(
        after.is_empty(),
        "nothing after StartExecution's own calls: {after:?}"
    );
    assert_eq!(
        at_start.get("query:Publish"),
        Some(&1),
        "the end: one status change published: {at_start:?}"
    );
    table.push(
        w.cost_row("10 Pass/Choice", &arn, &at_start, &after, driven)
            .await,
    );

    let warm = start(&w, &task, "warm").await;
    w.drive(&warm).await;
    w.take_counts();
    let arn = start(&w, &task, "t1").await;
    let at_start = w.take_counts();
    let driven = w.drive(&arn).await;
    let (invocations, records) = driven;
    let ms = *w.stepper_ms.lock().unwrap();
    let after = w.take_counts();
    *w.stepper_ms.lock().unwrap() = ms;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&json!({"n": 6})));
    assert_eq!((invocations, records), (1, 1), "one stepper invocation");
    assert_eq!(
        at_start.get("sqs:SendMessage"),
        Some(&1),
        "one SQS message: {at_start:?}"
    );
    assert_eq!(
        after.get("dynamodb:TransactWriteItems"),
        Some(&1),
        "one transaction beyond the start: {after:?}"
    );
    assert_eq!(after.get("sqs:SendMessage"), None, "{after:?}");
    table.push(
        w.cost_row("one Lambda Task", &arn, &at_start, &after, driven)
            .await,
    );

    let warm = start(&w, &wait, "warm").await;
    w.drive(&warm).await;
    w.take_counts();
    let arn = start(&w, &wait, "w1").await;
    let at_start = w.take_counts();
    let driven = w.drive(&arn).await;
    let ms = *w.stepper_ms.lock().unwrap();
    let after = w.take_counts();
    *w.stepper_ms.lock().unwrap() = ms;
    assert_eq!(driven.0, 1);
    table.push(w.cost_row("Wait", &arn, &at_start, &after, driven).await);

    println!("| execution | transitions | calls in StartExecution | calls after it | stepper invocations | $ per million transitions |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in &table {
        println!("| {row}");
    }
}

/// Issue 11: a one-day Wait costs one timer write, one message and one
/// stepper invocation, not a message every 900 s. The stepper's clock is
/// simulated (starting at the wall clock) and moved an hour at a time,
/// with the one-minute schedule's sweep run at each hour (catching up its
/// 60 minutes); the sweep's own calls are fixed costs of the stack, shared
/// by every timer, and counted apart. Before, the same Wait was 96 SQS
/// messages sent, received and deleted, and 96 stepper invocations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_a_one_day_wait_is_one_stored_timer_not_a_message_every_900_s() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    use flowstate_ports::{Clock, SimulatedClock};
    const HOUR: i64 = 3_600_000;
    let moto = flowstate_testkit::Moto::start();
    let name = format!("day-{}", std::process::id());
    let (proxy, counts) = counting_proxy(moto.endpoint.clone()).await;
    let mut settings = Settings::new(format!("{name}-table"), format!("{name}-steps"));
    settings.track_messages = false;
    let backend = AwsBackend::new(&sdk_config(&proxy).await, settings);
    backend.create_resources().await.unwrap();
    let clock = SimulatedClock::new(SystemClock.now());
    let config = Config {
        spawn_tasks: false,
        defer_tasks: true,
        cache_capacity: 0,
        ..Config::default()
    };
    let service = Service::new(
        backend.clone(),
        backend,
        Double::default(),
        clock.clone(),
        config,
    );
    let stepper = Stepper::new(service, 15 * 60 * 1000);
    let machine = stepper
        .service()
        .create_state_machine(CreateStateMachine {
            name: "day".into(),
            definition: json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 86_400, "Next": "P"},
                "P": {"Type": "Pass", "End": true}}})
            .to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: flowstate_ports::WorkflowType::Standard,
            description: None,
        })
        .await
        .unwrap()
        .arn;
    let take = || std::mem::take(&mut *counts.lock().unwrap());
    take();
    let arn = stepper
        .service()
        .start_execution(StartExecution {
            state_machine_arn: machine,
            name: Some("day".into()),
            input: Some("{}".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn;
    let at_start = take();
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto.endpoint).await);
    let queue_url = sqs
        .get_queue_url()
        .queue_name(format!("{name}-steps"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queued = || async {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(A::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .map(|a| {
            attrs
                .get(a)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum::<u64>()
    };
    let start = clock.now();
    let mut sweeps = BTreeMap::new();
    let mut delivered = BTreeMap::new();
    let mut invocations = 0;
    for hour in 1..=25 {
        clock.advance_to(start + hour * HOUR);
        stepper.handle(json!({"sweep": true})).await.unwrap();
        for (k, v) in take() {
            *sweeps.entry(k).or_insert(0) += v;
        }
        let waiting = queued().await;
        if hour < 24 {
            assert_eq!(
                waiting, 0,
                "hour {hour}: the timer is in SQS while it waits"
            );
            continue;
        }
        // Lambda's event source: the timer's message, handed to the stepper.
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        let event = json!({"Records": messages.iter().map(|m| json!({
            "messageId": m.message_id.clone().unwrap(),
            "receiptHandle": m.receipt_handle.clone().unwrap(),
            "body": m.body.clone().unwrap(),
            "eventSource": "aws:sqs",
        })).collect::<Vec<_>>()});
        invocations += 1;
        stepper.handle(event).await.unwrap();
        for m in &messages {
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(m.receipt_handle.clone().unwrap())
                .send()
                .await
                .unwrap();
        }
        for (k, v) in take() {
            *delivered.entry(k).or_insert(0) += v;
        }
    }
    let d = stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(invocations, 1, "one stepper invocation for the day");
    let sent_by_sweeps = sweeps.get("sqs:SendMessage").copied().unwrap_or(0)
        + sweeps.get("sqs:SendMessageBatch").copied().unwrap_or(0);
    assert_eq!(
        sent_by_sweeps,
        1,
        "one message for the day: {}",
        show(&sweeps)
    );
    println!("one-day Wait, at start: {}", show(&at_start));
    println!(
        "one-day Wait, the sweeps of the day (fixed, shared by all timers): {}",
        show(&sweeps)
    );
    println!(
        "one-day Wait, its delivery: {} ({invocations} stepper invocation)",
        show(&delivered)
    );
}
