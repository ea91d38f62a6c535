//! A write whose answer is lost: DynamoDB applied the step's transaction,
//! the connection dropped before the answer (the test kit's proxy drops
//! it), the SDK's retry then fails the version condition. The step is
//! recognised as committed — its effects (here: handing a task to the
//! queue) are performed at once, not left claimed in the outbox until the
//! claim lapses.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::AwsBackend;
use flowstate_engine::Status;
use flowstate_ports::{
    Clock, InvokeContext, Invoker, SimulatedClock, Store, TaskInvocation, TaskResult,
};
use flowstate_runtime::{Config, CreateStateMachine, Service, StartExecution};
use flowstate_testkit::{Fault, FaultProxy, Rule};
use serde_json::json;

/// Every task succeeds.
struct Succeed;

impl Invoker for Succeed {
    async fn invoke(&self, _ctx: &InvokeContext, _task: &TaskInvocation) -> TaskResult {
        TaskResult::Succeeded(json!(null))
    }
}

/// The deployed configuration (several writers, tasks handed to the
/// queue, nothing spawned) on moto, every call through a fault proxy.
struct Proxied<I> {
    _moto: flowstate_testkit::Moto,
    /// Straight to moto: not faulted.
    direct: AwsBackend,
    proxy: FaultProxy,
    clock: SimulatedClock,
    service: Service<AwsBackend, AwsBackend, I, SimulatedClock>,
}

async fn proxied<I: Invoker>(invoker: I) -> Proxied<I> {
    let moto = flowstate_testkit::Moto::start();
    let direct = moto.backend().await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(proxy.url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let backend = AwsBackend::new(&sdk, direct.settings().clone());
    let clock = SimulatedClock::new(1_000_000_000);
    let config = Config {
        spawn_tasks: false,
        defer_tasks: true,
        sole_writer: false,
        ..Config::default()
    };
    let service = Service::new(backend.clone(), backend, invoker, clock.clone(), config);
    Proxied {
        _moto: moto,
        direct,
        proxy,
        clock,
        service,
    }
}

impl<I: Invoker> Proxied<I> {
    /// Starts an execution of `definition`; its ARN.
    async fn start(&self, definition: serde_json::Value) -> String {
        let s = &self.service;
        let machine = s
            .create_state_machine(CreateStateMachine {
                name: "m".into(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                kind: flowstate_ports::WorkflowType::Standard,
                description: None,
            })
            .await
            .unwrap()
            .arn;
        s.start_execution(StartExecution {
            state_machine_arn: machine,
            name: Some("e".into()),
            input: Some("{}".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn
    }
}

fn function(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_answer_was_lost_is_recognised_as_committed() {
    let w = proxied(Succeed).await;
    let arn = w
        .start(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 10, "Next": "T"},
            "T": {"Type": "Task", "End": true, "Resource": function("f")}}}))
        .await;
    let (s, proxy, direct, clock) = (&w.service, &w.proxy, &w.direct, &w.clock);
    // The timer's step (it schedules the task): applied by DynamoDB, its
    // answer dropped.
    proxy.add(Rule::new(&["dynamodb:TransactWriteItems"], Fault::DropAnswer).limit(1));
    s.run_until_idle(100).await.unwrap();
    assert_eq!(
        proxy.calls().faults.values().sum::<u64>(),
        1,
        "the answer was dropped: {:?}",
        proxy.calls().faults
    );
    let d = s.describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    // Nothing left for a sweep: the step's effects were performed by its
    // own process, as after any commit.
    let left = direct
        .pending_outbox(clock.now() + 24 * 3_600_000, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "effects left claimed: {left:?}");
}

/// Counts invocations per function.
#[derive(Clone, Default)]
struct Counting {
    calls: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
}

impl Invoker for Counting {
    async fn invoke(&self, _ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(task.resource.clone())
            .or_default() += 1;
        TaskResult::Succeeded(json!(null))
    }
}

/// A step writes its outbox entries ahead of its transaction (a plain
/// write costs half a transactional one). When the transaction then fails
/// — here throttled past the SDK's retries, as a process that dies between
/// the two leaves it — the entry written ahead is never performed: the
/// result is applied again by a later step with entries of its own, and
/// the sweep that finds the orphan once its claim lapsed deletes it,
/// because the commit its first history item names is not the one that
/// wrote it. Each task runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_entries_written_ahead_of_a_failed_transaction_are_never_performed() {
    let invoker = Counting::default();
    let w = proxied(invoker.clone()).await;
    let arn = w
        .start(json!({"StartAt": "T1", "States": {
            "T1": {"Type": "Task", "Resource": function("one"), "Next": "T2"},
            "T2": {"Type": "Task", "Resource": function("two"), "End": true}}}))
        .await;
    let (s, proxy, direct, clock) = (&w.service, &w.proxy, &w.direct, &w.clock);
    // T1's result step: its entry for T2 is written, then every attempt
    // of its transaction is throttled (the SDK tries three times).
    proxy.add(Rule::new(&["dynamodb:TransactWriteItems"], Fault::Throttling).limit(3));
    s.run_until_idle(100).await.unwrap();
    assert_eq!(proxy.calls().faults.values().sum::<u64>(), 3);
    let d = s.describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    let later = clock.now() + s.config().claim_ms + 1;
    let orphans = direct.pending_outbox(later, 10).await.unwrap();
    assert_eq!(
        orphans.len(),
        1,
        "the failed step's entry, written ahead: {orphans:?}"
    );
    clock.advance_to(later);
    s.sweep_outbox(later).await.unwrap();
    s.run_until_idle(100).await.unwrap();
    assert!(direct.pending_outbox(later, 10).await.unwrap().is_empty());
    let calls = invoker.calls.lock().unwrap().clone();
    assert_eq!(
        calls.values().copied().collect::<Vec<_>>(),
        vec![1, 1],
        "each task once: {calls:?}"
    );
}
