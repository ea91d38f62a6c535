//! Nested executions (`states:startExecution` in its three patterns), the
//! status-change notifier, and deferred Task invocations (`Perform`
//! messages), on the embedded backend.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use flowstate_embedded::Embedded;
use flowstate_engine::Status;
use flowstate_ports::*;
use flowstate_runtime::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Counts invocations; `fail` makes the function named so fail.
#[derive(Clone, Default)]
struct Tasks {
    calls: Arc<Mutex<Vec<String>>>,
}

impl Invoker for Tasks {
    async fn invoke(&self, _ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        self.calls.lock().unwrap().push(task.resource.clone());
        if task.resource.ends_with(":fail") {
            return TaskResult::Failed(flowstate_asl::errors::Failure::new("Boom", "it failed"));
        }
        TaskResult::Succeeded(json!({"doubled": task.parameters["n"].as_i64().unwrap_or(0) * 2}))
    }
}

#[derive(Default)]
struct Recorder {
    changes: Mutex<Vec<StatusChange>>,
}

impl Notifier for Recorder {
    fn notify<'a>(&'a self, change: &'a StatusChange) -> NotifyFuture<'a> {
        self.changes.lock().unwrap().push(change.clone());
        Box::pin(async { Ok(()) })
    }
}

type Svc = Service<Embedded, Embedded, Tasks, SimulatedClock>;

fn svc(defer_tasks: bool) -> Svc {
    let db = Embedded::memory().unwrap();
    Service::new(
        db.clone(),
        db,
        Tasks::default(),
        SimulatedClock::new(1_700_000_000_000),
        Config {
            spawn_tasks: false,
            defer_tasks,
            ..Config::default()
        },
    )
}

async fn machine(s: &Svc, name: &str, def: Value) -> String {
    s.create_state_machine(CreateStateMachine {
        name: name.into(),
        definition: def.to_string(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        kind: WorkflowType::Standard,
        description: None,
    })
    .await
    .unwrap()
    .arn
}

async fn run(s: &Svc, arn: &str, name: &str, input: Value) -> ExecutionDescription {
    let started = s
        .start_execution(StartExecution {
            state_machine_arn: arn.into(),
            name: Some(name.into()),
            input: Some(input.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.run_until_idle(1000).await.unwrap();
    s.describe_execution(&started.execution_arn).await.unwrap()
}

const F: &str = "arn:aws:lambda:us-east-1:123456789012:function:double";
const FAIL: &str = "arn:aws:lambda:us-east-1:123456789012:function:fail";

fn child_def() -> Value {
    json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": F, "Next": "Choose"},
        "Choose": {"Type": "Choice", "Choices": [
            {"Variable": "$.doubled", "NumericGreaterThan": 100, "Next": "TooBig"}],
            "Default": "Done"},
        "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "over 100"},
        "Done": {"Type": "Succeed"}}})
}

fn parent_def(child: &str, resource: &str) -> Value {
    json!({"StartAt": "Child", "States": {
        "Child": {"Type": "Task", "Resource": resource,
            "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Failed"}],
            "End": true},
        "Failed": {"Type": "Pass", "End": true}}})
}

#[tokio::test]
async fn a_sync_child_answers_its_parent_with_its_description() {
    let s = svc(false);
    let child = machine(&s, "child", child_def()).await;
    let parent = machine(
        &s,
        "parent",
        parent_def(&child, "arn:aws:states:::states:startExecution.sync"),
    )
    .await;
    let d = run(&s, &parent, "p1", json!({"n": 21})).await;
    assert_eq!(d.status, Status::Succeeded, "{:?} {:?}", d.error, d.cause);
    let out = d.output.unwrap();
    assert_eq!(out["Status"], "SUCCEEDED");
    assert_eq!(out["StateMachineArn"], child.as_str());
    // `.sync`: JSON text, as DescribeExecution shows it.
    assert_eq!(out["Output"], r#"{"doubled":42}"#);
    assert_eq!(out["Input"], r#"{"n":21}"#);
    let child_arn = out["ExecutionArn"].as_str().unwrap();
    let c = s.describe_execution(child_arn).await.unwrap();
    assert_eq!(c.status, Status::Succeeded);
}

#[tokio::test]
async fn a_sync2_child_shows_json_values_and_a_failed_child_fails_the_task() {
    let s = svc(false);
    let child = machine(&s, "child", child_def()).await;
    let parent = machine(
        &s,
        "parent",
        parent_def(&child, "arn:aws:states:::states:startExecution.sync:2"),
    )
    .await;
    let ok = run(&s, &parent, "ok", json!({"n": 5})).await;
    assert_eq!(ok.output.unwrap()["Output"], json!({"doubled": 10}));

    let failed = run(&s, &parent, "too-big", json!({"n": 60})).await;
    assert_eq!(failed.status, Status::Succeeded, "the parent caught it");
    let failure = &failed.output.unwrap()["failure"];
    assert_eq!(failure["Error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(failure["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "TooBig");
}

#[tokio::test]
async fn a_plain_start_returns_at_once_and_a_missing_machine_is_a_task_error() {
    let s = svc(false);
    let child = machine(&s, "child", child_def()).await;
    let parent = machine(
        &s,
        "parent",
        parent_def(&child, "arn:aws:states:::states:startExecution"),
    )
    .await;
    let d = run(&s, &parent, "p", json!({"n": 1})).await;
    let out = d.output.unwrap();
    assert!(out["ExecutionArn"]
        .as_str()
        .unwrap()
        .contains(":execution:child:"));
    assert!(out["StartDate"].is_i64());

    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
    let orphan = machine(
        &s,
        "orphan",
        json!({"StartAt": "C", "States": {"C": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": missing}, "End": true}}}),
    )
    .await;
    let d = run(&s, &orphan, "o", json!({})).await;
    assert_eq!(d.status, Status::Failed);
    assert_eq!(
        d.error.as_deref(),
        Some("StepFunctions.StateMachineDoesNotExistException")
    );
}

#[tokio::test]
async fn every_ended_execution_is_published_once_with_its_status() {
    let s = svc(false);
    let recorder = Arc::new(Recorder::default());
    assert!(s.set_notifier(recorder.clone()));
    let ok = machine(&s, "ok", child_def()).await;
    let bad = machine(
        &s,
        "bad",
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FAIL, "End": true}}}),
    )
    .await;
    run(&s, &ok, "a", json!({"n": 1})).await;
    run(&s, &bad, "b", json!({})).await;
    let changes = recorder.changes.lock().unwrap().clone();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(changes[0].status, "SUCCEEDED");
    assert_eq!(changes[0].output.as_deref(), Some(r#"{"doubled":2}"#));
    assert_eq!(changes[1].status, "FAILED");
    assert_eq!(changes[1].error.as_deref(), Some("Boom"));
    let event = changes[1].event("id-1", "2026-11-25T00:00:00Z", "us-east-1", "123456789012");
    assert_eq!(event["detail-type"], DETAIL_TYPE);
    assert_eq!(event["detail"]["status"], "FAILED");
    assert_eq!(event["resources"][0], changes[1].execution_arn.as_str());
}

#[tokio::test]
async fn deferred_tasks_are_performed_from_the_queue_once() {
    let s = svc(true);
    let arn = machine(&s, "m", child_def()).await;
    let started = s
        .start_execution(StartExecution {
            state_machine_arn: arn,
            name: Some("d".into()),
            input: Some(r#"{"n": 4}"#.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        s.invoker().calls.lock().unwrap().is_empty(),
        "StartExecution does not perform the task itself"
    );
    let pending = s.store().pending_outbox(i64::MAX, 10).await.unwrap();
    assert_eq!(pending.len(), 1, "the task waits in the outbox");
    // The same Perform message delivered twice invokes once: the second
    // finds the entry completed.
    let message = QueueMessage {
        id: "dup".into(),
        execution_arn: started.execution_arn.clone(),
        due: 0,
        body: MessageBody::Perform {
            outbox_id: pending[0].id.clone(),
        },
    };
    assert_eq!(s.handle(&message).await.unwrap(), Applied::Committed);
    assert_eq!(s.handle(&message).await.unwrap(), Applied::Dropped);
    s.run_until_idle(100).await.unwrap();
    assert_eq!(s.invoker().calls.lock().unwrap().len(), 1);
    let d = s.describe_execution(&started.execution_arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert!(s
        .store()
        .pending_outbox(i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
}
