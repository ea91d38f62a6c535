//! The runtime as it is deployed on AWS, on any backend: tasks deferred to
//! the queue (`defer_tasks`), several services on one store and queue
//! (`sole_writer: false`), each message delivered to more than one of them
//! at once, sweeps over lapsed claims. An effect is performed once per
//! claim, a sweep ends, stopping an execution cancels its queued tasks,
//! and results that arrive together commit together.

use super::ok;
use super::watched::{Fault, Watch, Watched};
use crate::{Applied, Config, CreateStateMachine, Service, StartExecution};
use flowstate_engine::Status;
use flowstate_ports::{
    Clock, Delivery, InvokeContext, Invoker, Queue, SimulatedClock, Store, TaskInvocation,
    TaskResult, WorkflowType,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Answers every task with its parameters and counts invocations by
/// invocation id (the outbox entry's). With a barrier, each invocation
/// waits until that many have started: their results arrive together.
#[derive(Clone, Default)]
struct Tasks {
    calls: Arc<Mutex<HashMap<String, u32>>>,
    together: Option<Arc<tokio::sync::Barrier>>,
}

impl Tasks {
    fn calls(&self) -> HashMap<String, u32> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Invoker for Tasks {
    async fn invoke(&self, ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(ctx.invocation_id.clone()).or_default() += 1;
        }
        if let Some(barrier) = &self.together {
            barrier.wait().await;
        }
        // Let a concurrent duplicate run into this one, if it can.
        tokio::task::yield_now().await;
        TaskResult::Succeeded(task.parameters.clone())
    }
}

type Deployed<B> = Service<B, B, Tasks, SimulatedClock>;

/// A service configured as the Lambda functions are.
fn deployed<B: Store + Queue + Clone>(b: &B, tasks: &Tasks, clock: &SimulatedClock) -> Deployed<B> {
    let config = Config {
        defer_tasks: true,
        sole_writer: false,
        spawn_tasks: false,
        token_key: b"contract".to_vec(),
        ..Config::default()
    };
    Service::new(b.clone(), b.clone(), tasks.clone(), clock.clone(), config)
}

const START: i64 = 1_700_000_000_000;

async fn machine<B: Store + Queue + Clone>(
    s: &Deployed<B>,
    name: &str,
    definition: Value,
) -> String {
    let created = s
        .create_state_machine(CreateStateMachine {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: WorkflowType::Standard,
            description: None,
        })
        .await;
    ok(created, "create state machine").arn
}

async fn start<B: Store + Queue + Clone>(
    s: &Deployed<B>,
    machine: &str,
    name: &str,
    input: Value,
) -> String {
    let started = s
        .start_execution(StartExecution {
            state_machine_arn: machine.into(),
            name: Some(name.into()),
            input: Some(input.to_string()),
            parent: None,
            trace_header: None,
        })
        .await;
    ok(started, "start execution").execution_arn
}

fn task(next: Option<&str>) -> Value {
    let mut t =
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work"});
    match next {
        Some(n) => t["Next"] = json!(n),
        None => t["End"] = json!(true),
    }
    t
}

fn map_of_tasks() -> Value {
    json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "Next": "After",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work",
                "States": {"Work": task(None)}}},
        "After": task(None)
    }})
}

/// Receives every due message and hands each to every service at once
/// (a duplicate delivery to each worker), then deletes it. Returns the
/// number of messages received.
async fn deliver_to_all<B: Store + Queue + Clone>(
    services: &[Deployed<B>],
    queue: &B,
    clock: &SimulatedClock,
    limit: Option<usize>,
) -> usize {
    let mut received = 0;
    loop {
        let want = limit.map_or(10, |l| (l - received).min(10));
        if want == 0 {
            return received;
        }
        let got: Vec<Delivery> = ok(queue.receive(clock.now(), want, 600_000).await, "receive");
        if got.is_empty() {
            return received;
        }
        received += got.len();
        let mut handling = tokio::task::JoinSet::new();
        for d in &got {
            for s in services {
                let (s, m) = (s.clone(), d.message.clone());
                handling.spawn(async move { s.handle(&m).await });
            }
        }
        while let Some(done) = handling.join_next().await {
            ok(
                ok(done, "handling task"),
                "contract: a duplicate message is handled",
            );
        }
        for d in &got {
            ok(queue.ack(&d.receipt).await, "ack");
        }
    }
}

/// Several services, every message delivered to each of them at once:
/// each task is invoked once, every execution ends as it would alone.
pub(super) async fn effects_are_performed_once_by_several_services_with_duplicate_messages<
    B: Store + Queue + Clone,
>(
    b: &B,
) {
    let (tasks, clock) = (Tasks::default(), SimulatedClock::new(START));
    let services: Vec<Deployed<B>> = (0..3).map(|_| deployed(b, &tasks, &clock)).collect();
    let m = machine(&services[0], "Fan", map_of_tasks()).await;
    let items: Vec<u32> = (0..12).collect();
    let mut arns = Vec::new();
    for (i, s) in services.iter().enumerate().take(2) {
        arns.push(start(s, &m, &format!("e{i}"), json!(items)).await);
    }
    deliver_to_all(&services, b, &clock, None).await;
    for arn in &arns {
        let d = ok(services[2].describe_execution(arn).await, "describe");
        assert_eq!(d.status, Status::Succeeded, "contract: {arn} ends");
        assert_eq!(d.output.as_deref(), Some(&json!(items)));
    }
    let calls = tasks.calls();
    assert_eq!(calls.len(), 2 * 13, "one invocation per task");
    assert!(
        calls.values().all(|n| *n == 1),
        "contract: each task is performed once although every message reached three services: {calls:?}"
    );
    assert!(
        ok(b.pending_outbox(i64::MAX, 10).await, "pending").is_empty(),
        "contract: the outbox is drained"
    );
}

/// Entries whose claims lapsed (their process died) are each taken once
/// by a sweep, which ends; a second sweep finds nothing; the tasks it
/// hands back to the queue are performed once.
pub(super) async fn a_sweep_takes_each_lapsed_entry_once_and_ends<B: Store + Queue + Clone>(b: &B) {
    let (tasks, clock) = (Tasks::default(), SimulatedClock::new(START));
    let first = deployed(b, &tasks, &clock);
    let m = machine(&first, "Swept", map_of_tasks()).await;
    let arn = start(&first, &m, "swept", json!([1, 2, 3, 4, 5])).await;
    // The process that started it died: its messages are lost to it, and
    // its claims lapse.
    let sweeper = deployed(b, &tasks, &clock);
    let lapsed = clock.now() + sweeper.config().claim_ms;
    let sweep = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        sweeper.sweep_outbox(lapsed),
    )
    .await
    .unwrap_or_else(|_| panic!("contract: a sweep over deferred tasks ends"));
    assert_eq!(
        ok(sweep, "sweep"),
        5,
        "contract: each lapsed entry is taken once"
    );
    assert_eq!(
        ok(sweeper.sweep_outbox(lapsed).await, "sweep again"),
        0,
        "contract: a second sweep finds the entries claimed again"
    );
    let workers = [deployed(b, &tasks, &clock), deployed(b, &tasks, &clock)];
    deliver_to_all(&workers, b, &clock, None).await;
    let d = ok(workers[0].describe_execution(&arn).await, "describe");
    assert_eq!(d.status, Status::Succeeded);
    let calls = tasks.calls();
    assert_eq!(calls.len(), 6);
    assert!(
        calls.values().all(|n| *n == 1),
        "contract: a task handed to the queue twice (at the start and by the sweep) is performed once: {calls:?}"
    );
}

/// A Map of 100 tasks (40 at once) stopped after five messages' tasks
/// (and the tasks they chained): nothing queued for it is performed
/// afterwards.
pub(super) async fn stopping_an_execution_cancels_its_queued_tasks<B: Store + Queue + Clone>(
    b: &B,
) {
    let (tasks, clock) = (Tasks::default(), SimulatedClock::new(START));
    let workers = [deployed(b, &tasks, &clock), deployed(b, &tasks, &clock)];
    let m = machine(&workers[0], "Stopped", map_of_tasks()).await;
    let items: Vec<u32> = (0..100).collect();
    let arn = start(&workers[0], &m, "stopped", json!(items)).await;
    assert_eq!(
        deliver_to_all(&workers[..1], b, &clock, Some(5)).await,
        5,
        "five messages handled"
    );
    // Each message's task may have chained the next iterations' tasks.
    let performed = tasks.calls().len();
    assert!(performed >= 5, "{performed} tasks performed");
    ok(workers[1].stop_execution(&arn, None, None).await, "stop");
    deliver_to_all(&workers, b, &clock, None).await;
    let d = ok(workers[0].describe_execution(&arn).await, "describe");
    assert_eq!(d.status, Status::Aborted);
    assert_eq!(
        tasks.calls().len(),
        performed,
        "contract: tasks queued for a stopped execution are not performed"
    );
    assert!(
        ok(b.pending_outbox(i64::MAX, 10).await, "pending").is_empty(),
        "contract: its queued work is settled"
    );
}

/// Ten task results arriving at once commit in fewer than ten steps.
pub(super) async fn results_that_arrive_together_commit_together<B: Store + Queue + Clone>(b: &B) {
    let commits = Arc::new(Commits(AtomicUsize::new(0)));
    let counted = Watched {
        inner: b.clone(),
        watch: commits.clone(),
    };
    let tasks = Tasks {
        together: Some(Arc::new(tokio::sync::Barrier::new(10))),
        ..Tasks::default()
    };
    let clock = SimulatedClock::new(START);
    let service = deployed(&counted, &tasks, &clock);
    let branches: Vec<Value> = (0..10)
        .map(|i| json!({"StartAt": format!("Work{i}"), "States": {format!("Work{i}"): task(None)}}))
        .collect();
    let m = machine(
        &service,
        "Together",
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": true}}}),
    )
    .await;
    let arn = start(&service, &m, "together", json!({"n": 1})).await;
    let got = ok(counted.receive(clock.now(), 10, 600_000).await, "receive");
    assert_eq!(got.len(), 10, "ten tasks queued");
    let before = commits.0.load(Ordering::SeqCst);
    let mut handling = tokio::task::JoinSet::new();
    for d in &got {
        let (s, m) = (service.clone(), d.message.clone());
        handling.spawn(async move { s.handle(&m).await });
    }
    let mut committed = 0;
    while let Some(done) = handling.join_next().await {
        if ok(ok(done, "task"), "handle") == Applied::Committed {
            committed += 1;
        }
    }
    assert_eq!(committed, 10, "every result is part of a committed step");
    let steps = commits.0.load(Ordering::SeqCst) - before;
    assert!(
        steps < 10,
        "contract: results of one execution arriving together commit together ({steps} commits for 10)"
    );
    let d = ok(service.describe_execution(&arn).await, "describe");
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&json!(vec![json!({"n": 1}); 10])));
}

/// A timer that no longer applies (its execution was stopped, so its Wait
/// will never end and its one-year limit is moot) is dropped after one
/// small read of the frame it names, never a load of the execution.
pub(super) async fn a_stale_timer_costs_one_frame_read<B: Store + Queue + Clone>(b: &B) {
    let calls = Arc::new(Calls::default());
    let counted = Watched {
        inner: b.clone(),
        watch: calls.clone(),
    };
    let clock = SimulatedClock::new(START);
    let service = deployed(&counted, &Tasks::default(), &clock);
    let m = machine(
        &service,
        "Stale",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    )
    .await;
    let arn = start(&service, &m, "stale", json!({})).await;
    ok(service.stop_execution(&arn, None, None).await, "stop");
    calls.0.lock().map(|mut c| c.clear()).unwrap_or_default();
    let report = ok(service.run_until_idle(10).await, "run");
    assert!(
        report.dropped >= 2,
        "the Wait's timer and the year's: {report:?}"
    );
    let counted = calls.0.lock().map(|c| c.clone()).unwrap_or_default();
    let count = |name: &str| counted.get(name).copied().unwrap_or(0);
    assert_eq!(
        (
            count("load_frame"),
            count("load_execution"),
            count("commit_step")
        ),
        (report.dropped, 0, 0),
        "contract: a stale timer costs one frame read: {counted:?}"
    );
}

/// Counts calls by name.
#[derive(Default)]
struct Calls(Mutex<HashMap<&'static str, usize>>);

impl Watch for Calls {
    fn call(&self, name: &'static str) -> Fault {
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(name).or_default() += 1;
        }
        Fault::None
    }
}

/// Counts commits.
struct Commits(AtomicUsize);

impl Watch for Commits {
    fn call(&self, name: &'static str) -> Fault {
        if name == "commit_step" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Fault::None
    }
}
