//! RedriveExecution on the embedded backend: a Task that failed runs again
//! from where it failed, under the same ARN, and the redrive survives a
//! restart like any other step.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use flowstate_embedded::Embedded;
use flowstate_engine::Status;
use flowstate_ports::*;
use flowstate_runtime::*;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Fails the task of the state named in `failing`; records every
/// invocation's state.
#[derive(Clone, Default)]
struct Flaky {
    failing: Arc<Mutex<Option<String>>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Invoker for Flaky {
    async fn invoke(&self, _ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        self.calls.lock().unwrap().push(task.state_name.clone());
        if self.failing.lock().unwrap().as_deref() == Some(task.state_name.as_str()) {
            return TaskResult::Failed(flowstate_asl::errors::Failure {
                error: "Declined".into(),
                cause: Some("the card was declined".into()),
            });
        }
        TaskResult::Succeeded(json!({"paid": task.parameters}))
    }
}

type Svc = Service<Embedded, Embedded, Flaky, SimulatedClock>;

const T0: i64 = 1_700_000_000_000;
const DAY: i64 = 24 * 3600 * 1000;

/// Reserve (a Task) → Charge (a Task) → Done.
const ORDER: &str = r#"{"StartAt":"Reserve","States":{
  "Reserve":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:reserve","ResultPath":"$.reserved","Next":"Charge"},
  "Charge":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:charge","ResultPath":"$.charged","Next":"Done"},
  "Done":{"Type":"Succeed"}}}"#;

fn service(db: Embedded, invoker: Flaky, clock: SimulatedClock) -> Svc {
    service_deferring(db, invoker, clock, false)
}

/// With `defer_tasks`, tasks are queued rather than performed by the
/// process that committed the step.
fn service_deferring(
    db: Embedded,
    invoker: Flaky,
    clock: SimulatedClock,
    defer_tasks: bool,
) -> Svc {
    let config = Config {
        spawn_tasks: false,
        defer_tasks,
        ..Config::default()
    };
    Service::new(db.clone(), db, invoker, clock, config)
}

async fn create(s: &Svc, name: &str, kind: WorkflowType) -> String {
    s.create_state_machine(CreateStateMachine {
        name: name.into(),
        definition: ORDER.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        kind,
        description: None,
    })
    .await
    .unwrap()
    .arn
}

/// Starts an order whose Charge fails (Reserve succeeds).
async fn failed_order(s: &Svc, arn: &str, name: &str) -> String {
    *s.invoker().failing.lock().unwrap() = Some("Charge".into());
    let e = s
        .start_execution(StartExecution {
            state_machine_arn: arn.into(),
            name: Some(name.into()),
            input: Some(r#"{"order":"A-1"}"#.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn;
    s.run_due(100).await.unwrap();
    assert_eq!(
        s.describe_execution(&e).await.unwrap().status,
        Status::Failed
    );
    *s.invoker().failing.lock().unwrap() = None;
    e
}

async fn history_types(s: &Svc, e: &str) -> Vec<String> {
    let page = s
        .get_execution_history(
            e,
            HistoryRequest {
                max_results: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    page.events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_failed_task_runs_again_from_that_task_and_the_execution_succeeds() {
    let s = service(
        Embedded::memory().unwrap(),
        Flaky::default(),
        SimulatedClock::new(T0),
    );
    let arn = create(&s, "order", WorkflowType::Standard).await;
    let e = failed_order(&s, &arn, "o1").await;
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.redrive_status, Some(RedriveStatus::Redrivable));
    assert_eq!(d.redrive_count, 0);
    s.invoker().calls.lock().unwrap().clear();

    s.clock().advance_to(T0 + DAY);
    let date = s.redrive_execution(&e, Some("token-1")).await.unwrap();
    assert_eq!(date, T0 + DAY);
    s.run_due(100).await.unwrap();

    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.execution_arn, e);
    assert_eq!(d.redrive_count, 1);
    assert_eq!(d.redrive_date, Some(T0 + DAY));
    assert_eq!(
        d.output.as_deref().map(|o| &o["reserved"]["paid"]),
        Some(&json!({"order": "A-1"}))
    );
    // Only Charge ran again.
    assert_eq!(*s.invoker().calls.lock().unwrap(), ["Charge"]);
    let types = history_types(&s, &e).await;
    let redriven = types.iter().position(|t| t == "ExecutionRedriven").unwrap();
    assert_eq!(types[redriven - 1], "ExecutionFailed");
    assert_eq!(types[redriven + 1], "TaskStateEntered");
    assert_eq!(types.last().map(String::as_str), Some("ExecutionSucceeded"));
    assert_eq!(
        d.redrive_status,
        Some(RedriveStatus::NotRedrivable(
            "Execution is SUCCEEDED and cannot be redriven.".into()
        ))
    );
    // The same client token answers the redrive it made; another is refused.
    assert_eq!(
        s.redrive_execution(&e, Some("token-1")).await.unwrap(),
        T0 + DAY
    );
    let refused = s.redrive_execution(&e, Some("token-2")).await.unwrap_err();
    assert_eq!(refused.code(), "ExecutionNotRedrivable");
    assert_eq!(
        refused.to_string(),
        "Execution is SUCCEEDED and cannot be redriven."
    );
}

#[tokio::test]
async fn redrive_is_refused_after_fourteen_days_and_for_unknown_executions() {
    let s = service(
        Embedded::memory().unwrap(),
        Flaky::default(),
        SimulatedClock::new(T0),
    );
    let arn = create(&s, "order", WorkflowType::Standard).await;
    let e = failed_order(&s, &arn, "old").await;
    s.clock().advance_to(T0 + 15 * DAY);
    let refused = s.redrive_execution(&e, None).await.unwrap_err();
    assert_eq!(refused.code(), "ExecutionNotRedrivable");
    assert_eq!(refused.to_string(), "Execution redrivable period exceeded.");
    let missing = e.replace(":old", ":nobody");
    assert_eq!(
        s.redrive_execution(&missing, None)
            .await
            .unwrap_err()
            .code(),
        "ExecutionDoesNotExist"
    );
    assert_eq!(
        s.redrive_execution("not-an-arn", None)
            .await
            .unwrap_err()
            .code(),
        "InvalidArn"
    );
}

#[tokio::test]
async fn a_redrive_answered_before_a_crash_goes_on_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = SimulatedClock::new(T0);
    let invoker = Flaky::default();
    let e = {
        let s = service_deferring(
            Embedded::open(dir.path()).unwrap(),
            invoker.clone(),
            clock.clone(),
            true,
        );
        let arn = create(&s, "order", WorkflowType::Standard).await;
        let e = failed_order(&s, &arn, "crash").await;
        invoker.calls.lock().unwrap().clear();
        s.redrive_execution(&e, None).await.unwrap();
        // The process ends here, before anything runs the redriven task.
        assert!(invoker.calls.lock().unwrap().is_empty());
        e
    };
    let s = service(Embedded::open(dir.path()).unwrap(), invoker.clone(), clock);
    s.recover().await.unwrap();
    s.run_due(100).await.unwrap();
    let d = s.describe_execution(&e).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.redrive_count, 1);
    assert_eq!(*invoker.calls.lock().unwrap(), ["Charge"]);
}
