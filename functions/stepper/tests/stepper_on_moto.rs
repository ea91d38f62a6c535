//! The stepper on DynamoDB + SQS (moto): executions started as the API
//! function starts them (`defer_tasks`), then advanced only by SQS batches
//! handed to the stepper by the library's event source, as Lambda's event
//! source hands them. Every AWS call goes through a metering proxy
//! (`flowstate_testkit::FaultProxy`), which gives the cost meter: calls
//! and dollars per million transitions for Pass/Choice states, Lambda
//! Tasks one at a time, a chain of 10 and a Map of 100, and Waits of
//! seconds and of a day (printed; run with `--nocapture` to see the
//! table). The stepper's Lambda duration is priced from its CPU time, not
//! from its wall time here: moto answers one request at a time, tens of
//! milliseconds each, where DynamoDB and SQS answer in a few; the CPU time
//! (which includes the in-process proxy's forwarding, a little more than
//! the stepper's own) is the lower bound of what Lambda would bill.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::{AwsBackend, AwsNotifier, NotifierSettings, Settings};
use flowstate_engine::Status;
use flowstate_lambda_stepper::event_source::EventSource;
use flowstate_lambda_stepper::Stepper;
use flowstate_ports::{InvokeContext, Invoker, Store, SystemClock, TaskInvocation, TaskResult};
use flowstate_runtime::{Config, CreateStateMachine, Service, StartExecution};
use flowstate_testkit::{cost, task_chain, Calls, FaultProxy};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A Lambda function in-process: doubles `n`. Counts its invocations (on
/// AWS each is one Lambda Invoke request, the same cost as on Step
/// Functions, so left out of the table).
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
    proxy: FaultProxy,
    /// Lambda's event source, its calls metered.
    source: EventSource,
    /// The same table, read directly (not metered).
    observer: AwsBackend,
    /// Straight to moto (not metered).
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// What driving an execution to its end took.
#[derive(Debug, Default, Clone, Copy)]
struct Driven {
    /// Stepper invocations (batches).
    invocations: u64,
    records: u64,
    /// Time in the stepper's handler, in all.
    stepper_ms: f64,
    /// CPU time meanwhile, in all.
    stepper_cpu_ms: f64,
}

/// The configuration of a stepper that is not also the API: nothing is
/// decoded already when a step begins, so the loads are counted.
fn stepper_config() -> Config {
    Config {
        spawn_tasks: false,
        defer_tasks: true,
        sole_writer: false,
        cache_capacity: 0,
        ..Config::default()
    }
}

/// A world whose stepper runs with `config`: a fresh table and queue, a
/// status topic, every call of the service and the event source through
/// the metering proxy.
pub(super) async fn world_with(
    moto: &flowstate_testkit::Moto,
    name: &str,
    config: Config,
) -> World {
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let proxied = sdk_config(proxy.url()).await;
    let mut settings = Settings::new(format!("{name}-table"), format!("{name}-steps"));
    settings.track_messages = false;
    let backend = AwsBackend::new(&proxied, settings.clone());
    backend.create_resources().await.unwrap();
    let service = Service::new(
        backend.clone(),
        backend,
        Double::default(),
        SystemClock,
        config,
    );
    // Status changes go to SNS, as in the stack (metered: "the end").
    let direct = sdk_config(&moto.endpoint).await;
    let topic = aws_sdk_sns::Client::new(&direct)
        .create_topic()
        .name(format!("{name}-status"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    service.set_notifier(Arc::new(AwsNotifier::new(
        &proxied,
        NotifierSettings::new(topic),
    )));
    let sqs = aws_sdk_sqs::Client::new(&direct);
    let queue_url = sqs
        .get_queue_url()
        .queue_name(format!("{name}-steps"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let source = EventSource::new(&proxied, &queue_url, 0).await.unwrap();
    proxy.take_calls();
    World {
        observer: AwsBackend::new(&direct, settings),
        stepper: Stepper::new(service, flowstate_lambda_stepper::SWEEP_AGE_MS),
        proxy,
        source,
        sqs,
        queue_url,
    }
}

impl World {
    /// Lambda's event source until the execution ends: batches received,
    /// handed to the stepper, the records it reports done deleted.
    /// `between` runs before the first batch and after every batch (time
    /// moves on in a simulation). Fails after `limit`.
    async fn drive(&self, arn: &str, limit: Duration, between: impl Fn()) -> Driven {
        let deadline = Instant::now() + limit;
        let mut driven = Driven::default();
        between();
        loop {
            let rec = self.observer.load_execution(arn, false).await.unwrap();
            if rec.unwrap().execution.status != Status::Running {
                return driven;
            }
            assert!(Instant::now() < deadline, "{arn} did not end: {driven:?}");
            let batch = self.source.poll(&self.stepper).await.unwrap();
            if batch.records == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            assert_eq!(batch.failed, 0, "records failed: {batch:?}");
            driven.invocations += 1;
            driven.records += batch.records as u64;
            driven.stepper_ms += batch.handler_ms;
            driven.stepper_cpu_ms += batch.handler_cpu_ms;
            between();
        }
    }

    /// [`World::drive`] on the wall clock: (stepper invocations, records).
    pub(super) async fn drive_for(&self, arn: &str, limit: Duration) -> (usize, usize) {
        let driven = self.drive(arn, limit, || {}).await;
        (driven.invocations as usize, driven.records as usize)
    }

    /// The calls so far, by operation (and `dynamodb WRU`, the write
    /// units), counting from zero again.
    pub(super) fn take_counts(&self) -> BTreeMap<String, u64> {
        let calls = self.proxy.take_calls();
        let mut counts = calls.operations;
        counts.insert("dynamodb WRU".into(), calls.write_units);
        counts
    }

    async fn start(&self, machine: &str, name: &str, input: Value) -> String {
        self.stepper
            .service()
            .start_execution(StartExecution {
                state_machine_arn: machine.into(),
                name: Some(name.into()),
                input: Some(input.to_string()),
                ..Default::default()
            })
            .await
            .unwrap()
            .execution_arn
    }

    /// One execution of `machine`, measured: (its ARN, calls in
    /// StartExecution, calls after it, how it was driven). A first
    /// execution (of `warm_input`) warms the definition cache, as a warm
    /// function has it.
    async fn measure(
        &self,
        machine: &str,
        name: &str,
        (input, warm_input): (Value, Value),
    ) -> (String, Calls, Calls, Driven) {
        let limit = Duration::from_secs(120);
        let warm = self
            .start(machine, &format!("{name}-warm"), warm_input)
            .await;
        self.drive_for(&warm, limit).await;
        self.proxy.take_calls();
        let arn = self.start(machine, name, input).await;
        let at_start = self.proxy.take_calls();
        let driven = self.drive(&arn, limit, || {}).await;
        let after = self.proxy.take_calls();
        (arn, at_start, after, driven)
    }

    /// One row of the cost table for an execution that ended.
    async fn row(
        &self,
        label: &str,
        arn: &str,
        at_start: &Calls,
        after: &Calls,
        driven: Driven,
    ) -> Row {
        let d = self
            .stepper
            .service()
            .describe_execution(arn)
            .await
            .unwrap();
        let mut all = at_start.clone();
        add(&mut all, after);
        Row {
            label: label.to_string(),
            transitions: d.transitions,
            at_start: at_start.summary(),
            after: after.summary(),
            invocations: driven.invocations,
            calls: all.total(),
            shares: cost::breakdown(&all, driven.invocations, driven.stepper_cpu_ms)
                .iter()
                .filter(|(_, dollars)| *dollars > 0.0)
                .map(|(what, dollars)| {
                    let per_million = dollars * 1_000_000.0 / d.transitions.max(1) as f64;
                    format!("{what} ${per_million:.2}")
                })
                .chain(std::iter::once(format!(
                    "(write units: {})",
                    all.write_units_by_operation
                        .iter()
                        .map(|(op, wru)| format!("{op} {wru}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
                .collect::<Vec<_>>()
                .join(", "),
            dollars: cost::per_million_transitions(
                &all,
                driven.invocations,
                driven.stepper_cpu_ms,
                d.transitions,
            ),
            stepper_ms: driven.stepper_ms,
            stepper_cpu_ms: driven.stepper_cpu_ms,
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

/// Counts as `op n, op n, ...`.
pub(super) fn show(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same input for the measured execution and the warm-up.
fn twice(input: Value) -> (Value, Value) {
    (input.clone(), input)
}

fn add(into: &mut Calls, more: &Calls) {
    for (k, v) in &more.operations {
        *into.operations.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &more.write_units_by_operation {
        *into.write_units_by_operation.entry(k.clone()).or_default() += v;
    }
    into.write_units += more.write_units;
    into.read_units += more.read_units;
    into.write_bytes += more.write_bytes;
    into.commits += more.commits;
    into.conflicts += more.conflicts;
    into.received_messages += more.received_messages;
}

struct Row {
    label: String,
    transitions: u64,
    at_start: String,
    after: String,
    invocations: u64,
    calls: u64,
    dollars: f64,
    /// Where the dollars go, per million transitions.
    shares: String,
    stepper_ms: f64,
    stepper_cpu_ms: f64,
}

fn print(rows: &[Row]) {
    println!("| execution | transitions | calls in StartExecution | calls after it | stepper invocations | AWS calls per transition | stepper ms per invocation (on moto / CPU) | $ per million transitions (Step Functions Standard: ${}) | where it goes |", cost::prices::STEP_FUNCTIONS_TRANSITION);
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        let per = |ms: f64| ms / r.invocations.max(1) as f64;
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.0} / {:.0} | ${:.2} | {} |",
            r.label,
            r.transitions,
            r.at_start,
            r.after,
            r.invocations,
            r.calls as f64 / r.transitions.max(1) as f64,
            per(r.stepper_ms),
            per(r.stepper_cpu_ms),
            r.dollars,
            r.shares
        );
    }
}

fn pass_choice_chain(length: usize) -> Value {
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

const DOUBLE: &str = "arn:aws:lambda:us-east-1:123456789012:function:double";

fn task_map() -> Value {
    json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "ItemsPath": "$.items",
        "ItemSelector": {"n.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": DOUBLE, "End": true}}},
        "End": true}}})
}

fn wait(seconds: u64) -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "Next": "P"},
        "P": {"Type": "Pass", "End": true}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_advance_through_sqs_batches_and_the_calls_are_counted() {
    let moto = flowstate_testkit::Moto::start();
    let w = world_with(
        &moto,
        &format!("stepper-{}", std::process::id()),
        stepper_config(),
    )
    .await;
    let mut rows = Vec::new();

    let machine = create(&w, "chain", pass_choice_chain(10)).await;
    let (arn, at_start, after, driven) = w.measure(&machine, "c1", twice(json!({"n": 3}))).await;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(
        driven.invocations, 0,
        "a Pass/Choice chain ends within StartExecution"
    );
    assert_eq!(
        after.total(),
        0,
        "nothing after StartExecution's own calls: {}",
        after.summary()
    );
    assert_eq!(
        at_start.count("sns:Publish"),
        1,
        "the end: one status change published: {}",
        at_start.summary()
    );
    rows.push(
        w.row("10 Pass/Choice", &arn, &at_start, &after, driven)
            .await,
    );

    let machine = create(&w, "task", task_chain(DOUBLE, 1)).await;
    let (arn, at_start, after, driven) = w.measure(&machine, "t1", twice(json!({"n": 3}))).await;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&json!({"n": 6})));
    assert_eq!(
        (driven.invocations, driven.records),
        (1, 1),
        "one stepper invocation"
    );
    assert_eq!(
        at_start.count("sqs:SendMessage"),
        1,
        "one SQS message: {}",
        at_start.summary()
    );
    assert_eq!(
        after.count("dynamodb:TransactWriteItems"),
        1,
        "one transaction beyond the start: {}",
        after.summary()
    );
    assert_eq!(after.count("sqs:SendMessage"), 0, "{}", after.summary());
    rows.push(
        w.row("one Lambda Task", &arn, &at_start, &after, driven)
            .await,
    );

    let machine = create(&w, "chain10", task_chain(DOUBLE, 10)).await;
    let (arn, at_start, after, driven) = w.measure(&machine, "ch1", twice(json!({"n": 1}))).await;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.output.as_deref(), Some(&json!({"n": 1024})));
    // Issue 17: the chain's tasks run in the invocation that received
    // its one message, each the moment the step before commits.
    assert_eq!(
        (driven.invocations, driven.records),
        (1, 1),
        "one stepper invocation for the chain"
    );
    assert_eq!(
        at_start.service("sqs") + after.service("sqs"),
        3,
        "one SQS message (sent, received, deleted): {} / {}",
        at_start.summary(),
        after.summary()
    );
    assert_eq!(
        after.count("dynamodb:UpdateItem"),
        1,
        "one claim: {}",
        after.summary()
    );
    // A Task's completion is one transaction of four items under 1 KB
    // each (header, frame state with its small data, history, the next
    // outbox entry): 8 write units, 2 per item.
    let tx_units = after
        .write_units_by_operation
        .get("dynamodb:TransactWriteItems")
        .copied()
        .unwrap_or(0);
    assert!(
        tx_units <= 8 * after.count("dynamodb:TransactWriteItems"),
        "{tx_units} write units in {}",
        after.summary()
    );
    rows.push(
        w.row("10 Lambda Tasks", &arn, &at_start, &after, driven)
            .await,
    );

    let machine = create(&w, "map100", task_map()).await;
    let items: Vec<i64> = (0..100).collect();
    let (arn, at_start, after, driven) = w
        .measure(
            &machine,
            "m1",
            (json!({"items": items}), json!({"items": [1]})),
        )
        .await;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(
        d.output.as_deref().and_then(|o| o.as_array()).map(Vec::len),
        Some(100)
    );
    rows.push(
        w.row("Map of 100 Lambda Tasks", &arn, &at_start, &after, driven)
            .await,
    );

    let machine = create(&w, "wait", wait(2)).await;
    let (arn, at_start, after, driven) = w.measure(&machine, "w1", twice(json!({}))).await;
    assert_eq!(driven.invocations, 1);
    rows.push(w.row("Wait 2 s", &arn, &at_start, &after, driven).await);
    print(&rows);
}

/// Issue 17: a chain of Tasks goes on in one invocation only while the
/// invocation has time left. A function whose timeout leaves less than
/// the chain's margin performs the task its record names and hands the
/// next to the queue: the chain continues from there, one invocation per
/// task, and ends as it would in one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_chain_stops_at_the_invocation_deadline_and_continues_from_the_queue() {
    let moto = flowstate_testkit::Moto::start();
    let mut w = world_with(
        &moto,
        &format!("deadline-{}", std::process::id()),
        stepper_config(),
    )
    .await;
    w.source = w
        .source
        .clone()
        .with_function_timeout(flowstate_runtime::chain::CHAIN_MARGIN - Duration::from_secs(1));
    let machine = create(&w, "chain10", task_chain(DOUBLE, 10)).await;
    let arn = w.start(&machine, "short", json!({"n": 1})).await;
    let (invocations, records) = w.drive_for(&arn, Duration::from_secs(120)).await;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.output.as_deref(), Some(&json!({"n": 1024})));
    assert_eq!(
        (invocations, records),
        (10, 10),
        "one invocation per task: no time to chain"
    );
}

/// Lambda's event source as the library plays it: the records the stepper
/// reports failed stay in the queue for redelivery, the others are deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_source_deletes_the_records_that_did_not_fail() {
    let moto = flowstate_testkit::Moto::start();
    let w = world_with(
        &moto,
        &format!("partial-{}", std::process::id()),
        stepper_config(),
    )
    .await;
    // A message nobody can read (the stepper reports it failed) and a
    // Perform of an effect that is not in the outbox (dropped: done).
    w.sqs
        .send_message()
        .queue_url(&w.queue_url)
        .message_body("not a message")
        .send()
        .await
        .unwrap();
    flowstate_ports::Queue::send(
        &w.observer,
        &flowstate_ports::QueueMessage {
            id: "gone#perform".into(),
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:none:x".into(),
            due: 0,
            body: flowstate_ports::MessageBody::Perform {
                outbox_id: "gone".into(),
            },
        },
    )
    .await
    .unwrap();
    let mut outcomes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while outcomes
        .iter()
        .map(|o: &flowstate_lambda_stepper::event_source::BatchOutcome| o.records)
        .sum::<usize>()
        < 2
    {
        assert!(Instant::now() < deadline, "the messages were not received");
        let batch = w.source.poll(&w.stepper).await.unwrap();
        if batch.records > 0 {
            outcomes.push(batch);
        }
    }
    assert_eq!(
        outcomes.iter().map(|o| o.failed).sum::<usize>(),
        1,
        "{outcomes:?}"
    );
    let counts = w.take_counts();
    assert_eq!(
        counts.get("sqs:DeleteMessageBatch").copied(),
        Some(outcomes.len() as u64),
        "one DeleteMessageBatch per batch: {}",
        show(&counts)
    );
    let attrs = w
        .sqs
        .get_queue_attributes()
        .queue_url(&w.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let count =
        |name: aws_sdk_sqs::types::QueueAttributeName| -> u64 { attrs[&name].parse().unwrap() };
    use aws_sdk_sqs::types::QueueAttributeName as A;
    assert_eq!(
        (
            count(A::ApproximateNumberOfMessages),
            count(A::ApproximateNumberOfMessagesNotVisible)
        ),
        (0, 1),
        "the failed record is left in flight, to come back; the other deleted"
    );
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
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut settings = Settings::new(format!("{name}-table"), format!("{name}-steps"));
    settings.track_messages = false;
    let backend = AwsBackend::new(&sdk_config(proxy.url()).await, settings);
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
    let take = || {
        let calls = proxy.take_calls();
        let mut counts = calls.operations;
        counts.insert("dynamodb WRU".into(), calls.write_units);
        counts
    };
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
