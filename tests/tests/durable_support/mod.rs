//! Harness for the durable runtime tests: a backend (embedded, or the AWS
//! one on moto) wrapped to inject crashes or duplicate messages, a
//! deterministic invoker, and a driver that runs executions to their end
//! with simulated time, answering `.waitForTaskToken` callbacks and
//! replacing the service after a crash.

// Test harness: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use flowstate_embedded::Embedded;
use flowstate_engine::Status;
use flowstate_ports::*;
use flowstate_runtime::contract::{Fault, Watch, Watched};
use flowstate_runtime::{Config, CreateStateMachine, Service, ServiceError, StartExecution};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub mod aws;

/// When the Nth I/O call fails: before doing it, or after doing it (the
/// effect happened but the caller never learns: a crash right after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    Before,
    After,
}

#[derive(Default)]
pub struct Faults {
    pub calls: AtomicUsize,
    pub crash_at: AtomicUsize,
    pub after: AtomicBool,
    pub duplicate_sends: AtomicBool,
    pub crashed: AtomicBool,
    /// Set with `crashed`, cleared by the harness once it restarted: a
    /// crash the service swallowed (a client's request whose effects are
    /// left to the outbox) still ends the process.
    pub unhandled_crash: AtomicBool,
    /// The name of every counted I/O call, in order (call n is `log[n - 1]`).
    pub log: Mutex<Vec<&'static str>>,
}

impl Faults {
    /// Counts one I/O call; says whether it must fail, and when.
    fn tick(&self, name: &'static str) -> Option<CrashMode> {
        let mut log = self.log.lock().unwrap();
        log.push(name);
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        drop(log);
        if n == self.crash_at.load(Ordering::SeqCst) {
            self.crashed.store(true, Ordering::SeqCst);
            self.unhandled_crash.store(true, Ordering::SeqCst);
            Some(if self.after.load(Ordering::SeqCst) {
                CrashMode::After
            } else {
                CrashMode::Before
            })
        } else {
            None
        }
    }
}

/// The calls a crash may hit: every call that a step or its effects make.
const COUNTED: [&str; 13] = [
    "get_revision",
    "create_execution",
    "load_execution",
    "commit_step",
    "complete_outbox",
    "outbox_entry",
    "pending_outbox",
    "claim_outbox",
    "load_frame",
    "send",
    "receive",
    "ack",
    "retry",
];

impl Watch for Faults {
    fn call(&self, name: &'static str) -> Fault {
        if !COUNTED.contains(&name) {
            return Fault::None;
        }
        match self.tick(name) {
            Some(CrashMode::Before) => Fault::Before,
            Some(CrashMode::After) => Fault::After,
            None => Fault::None,
        }
    }

    fn duplicate(&self, message: &QueueMessage) -> Option<QueueMessage> {
        self.duplicate_sends.load(Ordering::SeqCst).then(|| {
            let mut copy = message.clone();
            copy.id = format!("{}#dup", message.id);
            copy
        })
    }
}

/// A backend with fault injection on every call that a step or its
/// effects make.
pub type Faulty<B> = Watched<B>;

/// Deterministic tasks. `echo` returns its parameters; `fail` always fails
/// with `Custom.Boom`; `.waitForTaskToken` resources record the token.
#[derive(Clone, Default)]
pub struct Tasks {
    pub tokens: Arc<Mutex<Vec<String>>>,
    pub calls: Arc<AtomicUsize>,
}

impl Invoker for Tasks {
    async fn invoke(&self, _ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(t) = &task.task_token {
            let mut tokens = self.tokens.lock().unwrap();
            if !tokens.contains(t) {
                tokens.push(t.clone());
            }
            return TaskResult::AwaitingCallback;
        }
        if task.resource.ends_with(":fail") {
            return TaskResult::Failed(flowstate_asl::errors::Failure::new(
                "Custom.Boom",
                "always fails",
            ));
        }
        TaskResult::Succeeded(task.parameters.clone())
    }
}

pub type Svc<B> = Service<Faulty<B>, Faulty<B>, Tasks, SimulatedClock>;

pub const START: i64 = 1_700_000_000_000;

pub fn service<B: Store + Queue + Clone>(
    backend: B,
    faults: &Arc<Faults>,
    tasks: &Tasks,
    clock: &SimulatedClock,
) -> Svc<B> {
    let f = Faulty {
        inner: backend,
        watch: faults.clone(),
    };
    let config = Config {
        spawn_tasks: false,
        token_key: b"test-key".to_vec(),
        ..Config::default()
    };
    Service::new(f.clone(), f, tasks.clone(), clock.clone(), config)
}

/// How the process that replaces a crashed one gets the crashed one's
/// work done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// A single-process backend: the new process calls
    /// [`Service::recover`] at start (nothing can be in flight then).
    Restart,
    /// A shared backend (SQS + DynamoDB, no process restart on AWS): the
    /// crashed process's in-flight messages come back when their
    /// visibility timeout runs out — simulated by releasing them, the
    /// timeout being wall-clock seconds — and the new process performs
    /// pending effects with [`Service::sweep_outbox`], as the stepper's
    /// periodic sweep does once the crashed process's claims lapsed.
    Sweep,
}

/// One execution's observable result: status, output, and its history
/// without timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub history: Vec<(u64, u64, String, Value)>,
}

/// What one [`run_on`] did.
pub struct Run {
    pub outcomes: Vec<Outcome>,
    /// Counted I/O calls.
    pub calls: usize,
    /// Whether the injected crash happened.
    pub crashed: bool,
    /// The name of each counted I/O call, in order.
    pub log: Vec<&'static str>,
}

/// Runs `inputs` on `definition` to the end. With `crash_at = Some((n,
/// mode))` the nth counted I/O call fails; the service is then dropped and
/// a new one recovers from the same database, as after a process crash.
pub async fn run(
    definition: &str,
    inputs: &[Value],
    crash_at: Option<(usize, CrashMode)>,
    duplicate: bool,
) -> (Vec<Outcome>, usize, bool) {
    run_kind(
        definition,
        inputs,
        crash_at,
        duplicate,
        WorkflowType::Standard,
    )
    .await
}

/// [`run`] with the state machine's type.
pub async fn run_kind(
    definition: &str,
    inputs: &[Value],
    crash_at: Option<(usize, CrashMode)>,
    duplicate: bool,
    kind: WorkflowType,
) -> (Vec<Outcome>, usize, bool) {
    let db = Embedded::memory().unwrap();
    let r = run_on(
        move || db.clone(),
        Recovery::Restart,
        definition,
        inputs,
        crash_at,
        duplicate,
        kind,
    )
    .await;
    (r.outcomes, r.calls, r.crashed)
}

/// [`run_kind`] on any backend: `open` opens it on the run's data as a new
/// process would (called at start and after each crash).
pub async fn run_on<B: Store + Queue + Clone>(
    open: impl Fn() -> B,
    recovery: Recovery,
    definition: &str,
    inputs: &[Value],
    crash_at: Option<(usize, CrashMode)>,
    duplicate: bool,
    kind: WorkflowType,
) -> Run {
    let faults = Arc::new(Faults::default());
    if let Some((n, mode)) = crash_at {
        faults.crash_at.store(n, Ordering::SeqCst);
        faults
            .after
            .store(mode == CrashMode::After, Ordering::SeqCst);
    }
    faults.duplicate_sends.store(duplicate, Ordering::SeqCst);
    let tasks = Tasks::default();
    let clock = SimulatedClock::new(START);
    let mut svc = service(open(), &faults, &tasks, &clock);
    let sm = svc
        .create_state_machine(CreateStateMachine {
            name: "M".into(),
            definition: definition.into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind,
            description: None,
        })
        .await
        .unwrap();
    let mut arns = Vec::new();
    let mut answered: Vec<String> = Vec::new();
    let mut i = 0;
    let mut restarts = 0;
    loop {
        assert!(restarts < 10, "too many restarts");
        let result: Result<bool, ServiceError> = async {
            while i < inputs.len() {
                let name = format!("e{i}");
                let started = svc
                    .start_execution(StartExecution {
                        state_machine_arn: sm.arn.clone(),
                        name: Some(name),
                        input: Some(inputs[i].to_string()),
                        parent: None,
                        trace_header: None,
                    })
                    .await?;
                if faults.unhandled_crash.load(Ordering::SeqCst) {
                    return Err(ServiceError::Internal("injected crash (swallowed)".into()));
                }
                if !arns.contains(&started.execution_arn) {
                    arns.push(started.execution_arn);
                }
                i += 1;
            }
            loop {
                svc.run_due(1_000_000).await?;
                let pending: Vec<String> = {
                    let tokens = tasks.tokens.lock().unwrap();
                    tokens
                        .iter()
                        .filter(|t| !answered.contains(t))
                        .cloned()
                        .collect()
                };
                if pending.is_empty() {
                    // Nothing due and no callback to answer: time moves on.
                    match svc.queue().next_due().await? {
                        Some(due) => {
                            clock.advance_to(due);
                            continue;
                        }
                        None => return Ok(true),
                    }
                }
                for t in pending {
                    match svc
                        .send_task_success(&t, &json!({"callback": "ok"}).to_string())
                        .await
                    {
                        Ok(()) | Err(ServiceError::TaskTimedOut(_)) => answered.push(t),
                        Err(e) => return Err(e),
                    }
                    if faults.unhandled_crash.load(Ordering::SeqCst) {
                        return Err(ServiceError::Internal("injected crash (swallowed)".into()));
                    }
                }
            }
        }
        .await;
        // A real crash ends the process even where the service would
        // have carried on (it does not fail a request it already committed).
        let result = match result {
            Ok(_) if faults.unhandled_crash.load(Ordering::SeqCst) => {
                Err(ServiceError::Internal("injected crash (swallowed)".into()))
            }
            other => other,
        };
        faults.unhandled_crash.store(false, Ordering::SeqCst);
        match result {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    e.to_string().contains("injected crash"),
                    "unexpected error {e}"
                );
                restarts += 1;
                // The process died: a new service on the same data.
                if recovery == Recovery::Sweep {
                    svc.queue().inner.release_all().await.unwrap();
                }
                drop(svc);
                svc = service(open(), &faults, &tasks, &clock);
                match recovery {
                    Recovery::Restart => {
                        svc.recover().await.unwrap();
                    }
                    Recovery::Sweep => {
                        // As a sweep once the crashed process's claims lapsed.
                        let lapsed = clock.now() + svc.config().claim_ms;
                        svc.sweep_outbox(lapsed).await.unwrap();
                    }
                }
            }
        }
    }
    // Reading the outcome is not part of the run: no more faults.
    let calls = faults.calls.load(Ordering::SeqCst);
    faults.crash_at.store(0, Ordering::SeqCst);
    // Read as a new process would: nothing this one remembers counts.
    let db = open();
    let mut outcomes = Vec::new();
    for arn in &arns {
        let d = svc.describe_execution(arn).await.unwrap();
        let history = db
            .history(
                arn,
                &HistoryQuery {
                    after: None,
                    limit: 100_000,
                    reverse: false,
                },
            )
            .await
            .unwrap();
        let history = history
            .into_iter()
            .map(|e| {
                let mut v = e.to_aws_json(true);
                if let Some(o) = v.as_object_mut() {
                    o.remove("timestamp");
                }
                (e.id, e.previous_event_id, e.type_name().to_string(), v)
            })
            .collect();
        outcomes.push(Outcome {
            status: d.status,
            output: d.output.map(|o| (*o).clone()),
            history,
        });
    }
    // Nothing is left behind: no pending effects, no messages.
    assert_eq!(
        db.pending_outbox(i64::MAX, 10).await.unwrap(),
        vec![],
        "outbox drained"
    );
    assert_eq!(db.next_due().await.unwrap(), None, "queue drained");
    let log = faults.log.lock().unwrap().clone();
    Run {
        outcomes,
        calls,
        crashed: faults.crashed.load(Ordering::SeqCst),
        log,
    }
}

/// Waits, a retried-then-caught task, a callback, Parallel and a Map with
/// MaxConcurrency.
pub const WORKFLOW: &str = r#"{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Result": {"items": [1, 2, 3, 4]}, "ResultPath": "$.data", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 3600, "Next": "Flaky"},
    "Flaky": {
      "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
      "Retry": [{"ErrorEquals": ["Custom.Boom"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 2}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Fan"}],
      "End": true
    },
    "Fan": {
      "Type": "Parallel", "ResultPath": "$.parallel", "Next": "Each",
      "Branches": [
        {"StartAt": "Callback", "States": {"Callback": {
          "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
          "Parameters": {"FunctionName": "approve", "Payload": {"token.$": "$$.Task.Token"}},
          "HeartbeatSeconds": 600, "TimeoutSeconds": 86400, "End": true}}},
        {"StartAt": "Short", "States": {
          "Short": {"Type": "Wait", "Seconds": 5, "Next": "Echo"},
          "Echo": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                   "Parameters": {"branch": "b"}, "End": true}}}
      ]
    },
    "Each": {
      "Type": "Map", "ItemsPath": "$.data.items", "MaxConcurrency": 2, "ResultPath": "$.mapped",
      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                 "Parameters": {"item.$": "$"}, "Next": "Rest"},
        "Rest": {"Type": "Wait", "Seconds": 1, "End": true}}},
      "End": true
    }
  }
}"#;
