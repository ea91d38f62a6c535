//! The Service end to end on the embedded backend: the operations the
//! Step Functions API maps to, with their error codes.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use flowstate_embedded::Embedded;
use flowstate_engine::Status;
use flowstate_ports::*;
use flowstate_runtime::*;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Tasks {
    tokens: Arc<Mutex<Vec<String>>>,
    cases: Arc<Mutex<Vec<Option<String>>>>,
}

impl Invoker for Tasks {
    async fn invoke(&self, ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        self.cases.lock().unwrap().push(ctx.test_case.clone());
        if let Some(t) = &task.task_token {
            self.tokens.lock().unwrap().push(t.clone());
            return TaskResult::AwaitingCallback;
        }
        TaskResult::Succeeded(serde_json::json!({"echo": task.parameters}))
    }
}

type Svc = Service<Embedded, Embedded, Tasks, SimulatedClock>;

fn svc() -> Svc {
    let db = Embedded::memory().unwrap();
    let config = Config {
        spawn_tasks: false,
        ..Config::default()
    };
    Service::new(
        db.clone(),
        db,
        Tasks::default(),
        SimulatedClock::new(1_700_000_000_000),
        config,
    )
}

async fn machine<C: Clock>(
    s: &Service<Embedded, Embedded, Tasks, C>,
    name: &str,
    def: &str,
    kind: WorkflowType,
) -> String {
    s.create_state_machine(CreateStateMachine {
        name: name.into(),
        definition: def.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        kind,
        description: None,
    })
    .await
    .unwrap()
    .arn
}

const WAIT: &str = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"Next":"P"},"P":{"Type":"Pass","Result":"done","End":true}}}"#;
const CALLBACK: &str = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}"#;
const TASK: &str = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}"#;

fn start(arn: &str, name: &str, input: &str) -> StartExecution {
    StartExecution {
        state_machine_arn: arn.into(),
        name: Some(name.into()),
        input: Some(input.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn state_machine_lifecycle_and_errors() {
    let s = svc();
    let arn = machine(&s, "M", WAIT, WorkflowType::Standard).await;
    // The same create again is idempotent; another definition is not.
    assert_eq!(machine(&s, "M", WAIT, WorkflowType::Standard).await, arn);
    let err = s
        .create_state_machine(CreateStateMachine {
            name: "M".into(),
            definition: TASK.into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: WorkflowType::Standard,
            description: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "StateMachineAlreadyExists");
    let bad = s
        .create_state_machine(CreateStateMachine {
            name: "Bad".into(),
            definition: r#"{"StartAt":"Nope","States":{}}"#.into(),
            role_arn: "r".into(),
            kind: WorkflowType::Standard,
            description: None,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "InvalidDefinition");
    assert_eq!(
        s.describe_state_machine("nonsense")
            .await
            .unwrap_err()
            .code(),
        "InvalidArn"
    );
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:Missing";
    assert_eq!(
        s.describe_state_machine(missing).await.unwrap_err().code(),
        "StateMachineDoesNotExist"
    );
    let started = s.start_execution(start(&arn, "e1", "{}")).await.unwrap();
    let updated = s
        .update_state_machine(
            &arn,
            UpdateStateMachine {
                definition: Some(TASK.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.definition, TASK);
    // The execution keeps the revision it started with.
    let for_exec = s
        .describe_state_machine_for_execution(&started.execution_arn)
        .await
        .unwrap();
    assert_eq!(for_exec.definition, WAIT);
    s.delete_state_machine(&arn).await.unwrap();
    assert_eq!(
        s.describe_state_machine(&arn).await.unwrap_err().code(),
        "StateMachineDoesNotExist"
    );
    // A running execution goes on after the delete.
    s.run_until_idle(100).await.unwrap();
    assert_eq!(
        s.describe_execution(&started.execution_arn)
            .await
            .unwrap()
            .status,
        Status::Succeeded
    );
    assert!(s
        .validate_definition("{")
        .iter()
        .any(|d| d.severity == flowstate_asl::validate::Severity::Error));
}

#[tokio::test]
async fn start_is_idempotent_by_name_and_input() {
    let s = svc();
    let arn = machine(&s, "M", WAIT, WorkflowType::Standard).await;
    let a = s
        .start_execution(start(&arn, "same", r#"{"a":1}"#))
        .await
        .unwrap();
    let b = s
        .start_execution(start(&arn, "same", r#"{ "a": 1 }"#))
        .await
        .unwrap();
    assert_eq!(a, b);
    let c = s
        .start_execution(start(&arn, "same", r#"{"a":2}"#))
        .await
        .unwrap_err();
    assert_eq!(c.code(), "ExecutionAlreadyExists");
    assert_eq!(
        s.start_execution(start(&arn, "bad name", "{}"))
            .await
            .unwrap_err()
            .code(),
        "InvalidName"
    );
    assert_eq!(
        s.start_execution(start(&arn, "x", "{nope"))
            .await
            .unwrap_err()
            .code(),
        "InvalidExecutionInput"
    );
    s.run_until_idle(100).await.unwrap();
    // Closed: the same name and input is now ExecutionAlreadyExists.
    let d = s
        .start_execution(start(&arn, "same", r#"{"a":1}"#))
        .await
        .unwrap_err();
    assert_eq!(d.code(), "ExecutionAlreadyExists");
    let desc = s.describe_execution(&a.execution_arn).await.unwrap();
    assert_eq!(desc.output.as_deref(), Some(&serde_json::json!("done")));
    assert_eq!(
        desc.stop_date,
        Some(desc.start_date + 60_000),
        "the Wait took 60 simulated seconds"
    );
}

#[tokio::test]
async fn history_pages_forward_and_backward() {
    let s = svc();
    let arn = machine(&s, "M", WAIT, WorkflowType::Standard).await;
    let e = s
        .start_execution(start(&arn, "h", "{}"))
        .await
        .unwrap()
        .execution_arn;
    s.run_until_idle(100).await.unwrap();
    let all = s
        .get_execution_history(&e, HistoryRequest::default())
        .await
        .unwrap();
    let types: Vec<&str> = all
        .events
        .iter()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(all.next_token, None);
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let req = HistoryRequest {
            max_results: 4,
            next_token: token,
            reverse_order: true,
            include_execution_data: false,
        };
        let page = s.get_execution_history(&e, req).await.unwrap();
        ids.extend(page.events.iter().map(|v| v["id"].as_u64().unwrap()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(ids, [6, 5, 4, 3, 2, 1]);
    let bad = HistoryRequest {
        next_token: Some("garbage".into()),
        ..Default::default()
    };
    assert_eq!(
        s.get_execution_history(&e, bad).await.unwrap_err().code(),
        "InvalidToken"
    );
    let missing = "arn:aws:states:us-east-1:123456789012:execution:M:none";
    assert_eq!(
        s.describe_execution(missing).await.unwrap_err().code(),
        "ExecutionDoesNotExist"
    );
}

#[tokio::test]
async fn list_executions_filters_and_pages() {
    let s = svc();
    let arn = machine(&s, "M", WAIT, WorkflowType::Standard).await;
    for i in 0..5 {
        s.start_execution(start(&arn, &format!("e{i}"), "{}"))
            .await
            .unwrap();
    }
    s.stop_execution(
        &names::execution_arn("us-east-1", "123456789012", "M", "e1"),
        Some("E".into()),
        None,
    )
    .await
    .unwrap();
    let running = s
        .list_executions(&arn, Some(Status::Running), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(running.items.len(), 4);
    let page = s
        .list_executions(
            &arn,
            None,
            PageRequest {
                max_results: 3,
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    let rest = s
        .list_executions(
            &arn,
            None,
            PageRequest {
                max_results: 3,
                next_token: page.next_token,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.next_token, None);
}

#[tokio::test]
async fn callbacks_heartbeats_and_stop() {
    let s = svc();
    let arn = machine(&s, "C", CALLBACK, WorkflowType::Standard).await;
    let e = s
        .start_execution(start(&format!("{arn}#HappyPath"), "cb", "{}"))
        .await
        .unwrap()
        .execution_arn;
    s.run_due(100).await.unwrap();
    let token = s.invoker().tokens.lock().unwrap()[0].clone();
    assert_eq!(
        s.invoker().cases.lock().unwrap()[0].as_deref(),
        Some("HappyPath"),
        "the #TestCase reaches the invoker"
    );
    assert_eq!(
        s.send_task_success("forged.token", "{}")
            .await
            .unwrap_err()
            .code(),
        "InvalidToken"
    );
    assert_eq!(
        s.send_task_success(&token, "{not json")
            .await
            .unwrap_err()
            .code(),
        "InvalidOutput"
    );
    s.send_task_heartbeat(&token).await.unwrap();
    s.send_task_success(&token, r#"{"ok":true}"#).await.unwrap();
    assert_eq!(
        s.send_task_success(&token, "{}").await.unwrap_err().code(),
        "TaskTimedOut"
    );
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&serde_json::json!({"ok": true})));

    let e2 = s
        .start_execution(start(&arn, "stopped", "{}"))
        .await
        .unwrap()
        .execution_arn;
    s.run_due(100).await.unwrap();
    let stop = s
        .stop_execution(&e2, Some("Halt".into()), Some("by test".into()))
        .await
        .unwrap();
    let d2 = s.describe_execution(&e2).await.unwrap();
    assert_eq!(d2.status, Status::Aborted);
    assert_eq!(d2.stop_date, Some(stop));
    let token2 = s.invoker().tokens.lock().unwrap()[1].clone();
    assert_eq!(
        s.send_task_failure(&token2, None, None)
            .await
            .unwrap_err()
            .code(),
        "TaskTimedOut"
    );
}

#[tokio::test]
async fn sync_express_runs_in_memory() {
    let s = svc();
    let express = machine(&s, "X", TASK, WorkflowType::Express).await;
    let standard = machine(&s, "S", TASK, WorkflowType::Standard).await;
    let r = s
        .start_sync_execution(start(&express, "x", r#"{"v":1}"#))
        .await
        .unwrap();
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(
        r.output.as_deref(),
        Some(&serde_json::json!({"echo": {"v": 1}}))
    );
    assert!(r.execution_arn.contains(":express:X:x:"));
    assert_eq!(
        s.describe_execution(&r.execution_arn)
            .await
            .unwrap_err()
            .code(),
        "ExecutionDoesNotExist"
    );
    let err = s
        .start_sync_execution(start(&standard, "y", "{}"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "StateMachineTypeNotSupported");
    // A year-long Wait takes no time with the simulated clock.
    let wait = machine(&s, "XW", WAIT, WorkflowType::Express).await;
    let r = s
        .start_sync_execution(start(&wait, "w", "{}"))
        .await
        .unwrap();
    assert_eq!(r.output.as_deref(), Some(&serde_json::json!("done")));
}

#[tokio::test]
async fn recovery_from_a_data_dir_finishes_waiting_executions() {
    let dir = tempfile::tempdir().unwrap();
    let clock = SimulatedClock::new(1_700_000_000_000);
    let config = Config {
        spawn_tasks: false,
        ..Config::default()
    };
    let e = {
        let db = Embedded::open(dir.path()).unwrap();
        let s: Svc = Service::new(
            db.clone(),
            db,
            Tasks::default(),
            clock.clone(),
            config.clone(),
        );
        let arn = machine(&s, "M", WAIT, WorkflowType::Standard).await;
        s.start_execution(start(&arn, "r", "{}"))
            .await
            .unwrap()
            .execution_arn
    };
    let db = Embedded::open(dir.path()).unwrap();
    let s: Svc = Service::new(db.clone(), db, Tasks::default(), clock, config);
    s.recover().await.unwrap();
    s.run_until_idle(100).await.unwrap();
    assert_eq!(
        s.describe_execution(&e).await.unwrap().status,
        Status::Succeeded
    );
}

type WallSvc = Service<Embedded, Embedded, Tasks, SystemClock>;

fn wall_clock_service() -> WallSvc {
    let db = Embedded::memory().unwrap();
    Service::new(
        db.clone(),
        db,
        Tasks::default(),
        SystemClock,
        Config::default(),
    )
}

/// Runs the worker loop until the sender is used (or dropped).
fn start_worker(
    s: &WallSvc,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn({
        let s = s.clone();
        async move {
            s.run_worker(async {
                let _ = rx.await;
            })
            .await
        }
    });
    (tx, worker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_loop_runs_executions_concurrently() {
    let s = wall_clock_service();
    let arn = machine(&s, "T", TASK, WorkflowType::Standard).await;
    let (tx, worker) = start_worker(&s);
    let mut arns = Vec::new();
    for i in 0..50 {
        arns.push(
            s.start_execution(start(&arn, &format!("w{i}"), "{}"))
                .await
                .unwrap()
                .execution_arn,
        );
    }
    for _ in 0..500 {
        let mut done = 0;
        for a in &arns {
            if s.describe_execution(a).await.unwrap().status == Status::Succeeded {
                done += 1;
            }
        }
        if done == arns.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for a in &arns {
        assert_eq!(
            s.describe_execution(a).await.unwrap().status,
            Status::Succeeded
        );
    }
    let _ = tx.send(());
    worker.await.unwrap();
}

/// Express executions end at Express's five minutes, however long they
/// would wait (issue 12); simulated time, so the test takes none.
#[tokio::test]
async fn issue_12_express_executions_time_out_at_five_minutes() {
    let s = svc();
    const LONG_WAIT: &str =
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}"#;
    let express = machine(&s, "XL", LONG_WAIT, WorkflowType::Express).await;
    let r = s
        .start_sync_execution(start(&express, "sync", "{}"))
        .await
        .unwrap();
    assert_eq!(
        (
            r.status,
            r.error.as_deref(),
            r.stop_date.map(|t| t - r.start_date)
        ),
        (Status::TimedOut, Some("States.Timeout"), Some(300_000))
    );
    let arn = s
        .start_execution(start(&express, "async", "{}"))
        .await
        .unwrap()
        .execution_arn;
    s.run_until_idle(100).await.unwrap();
    let d = s.describe_execution(&arn).await.unwrap();
    assert_eq!(
        (d.status, d.stop_date.map(|t| t - d.start_date)),
        (Status::TimedOut, Some(300_000))
    );
}

/// An Express state machine looping through Pass states forever ends at
/// its timeout, started either way, and keeps a bounded history (issue 12:
/// it used to grow the server by gigabytes a second until killed). Real
/// time, with a one-second timeout standing in for the five minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_an_endless_express_loop_ends_at_its_timeout_with_bounded_history() {
    use std::time::Duration;
    let s = wall_clock_service();
    // A way out, never taken: AWS refuses a machine without a terminal state.
    let endless = r#"{"TimeoutSeconds":1,"StartAt":"A","States":{
        "A":{"Type":"Pass","Next":"B"},
        "B":{"Type":"Choice","Choices":[{"Variable":"$.never","IsPresent":true,"Next":"Out"}],"Default":"A"},
        "Out":{"Type":"Succeed"}}}"#;
    let arn = machine(&s, "Endless", endless, WorkflowType::Express).await;
    // Guards against the old behaviour, a call that never returns.
    let guard = Duration::from_secs(120);
    let r = tokio::time::timeout(guard, s.start_sync_execution(start(&arn, "sync", "{}")))
        .await
        .expect("StartSyncExecution returns")
        .unwrap();
    assert_eq!(
        (r.status, r.error.as_deref()),
        (Status::TimedOut, Some("States.Timeout"))
    );
    assert!(r.transitions > flowstate_engine::limits::MAX_TRANSITIONS_PER_STEP);

    let (tx, worker) = start_worker(&s);
    let started = tokio::time::timeout(guard, s.start_execution(start(&arn, "async", "{}")))
        .await
        .expect("StartExecution returns")
        .unwrap();
    let ended = tokio::time::timeout(guard, async {
        loop {
            let d = s.describe_execution(&started.execution_arn).await.unwrap();
            if d.status != Status::Running {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the execution ends");
    assert_eq!(ended.status, Status::TimedOut);
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = s
            .get_execution_history(
                &started.execution_arn,
                HistoryRequest {
                    max_results: 1000,
                    next_token: token,
                    ..HistoryRequest::default()
                },
            )
            .await
            .unwrap();
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let kept = flowstate_engine::Limits::EXPRESS
        .max_recorded_events
        .unwrap() as usize;
    assert!(events.len() <= kept + 1, "{} events kept", events.len());
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(serde_json::json!("ExecutionTimedOut"))
    );
    let _ = tx.send(());
    worker.await.unwrap();
}
