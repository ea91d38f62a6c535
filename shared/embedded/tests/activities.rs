//! Activities through the runtime's Service on the embedded backend: tasks
//! handed to one worker each, answered through their tokens, timed out,
//! and never handed out once their execution stopped.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used)]

use flowstate_embedded::Embedded;
use flowstate_engine::Status;
use flowstate_ports::*;
use flowstate_runtime::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Nothing is invoked: activity Tasks never reach the invoker.
struct NoTasks;

impl Invoker for NoTasks {
    async fn invoke(&self, _ctx: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        panic!("the invoker was asked to perform {}", task.resource)
    }
}

type Svc<C = SimulatedClock> = Service<Embedded, Embedded, NoTasks, C>;

const SHORT: Duration = Duration::from_millis(50);

fn svc() -> Svc {
    svc_on(SimulatedClock::new(1_700_000_000_000))
}

fn svc_on<C: Clock>(clock: C) -> Svc<C> {
    let db = Embedded::memory().unwrap();
    let config = Config {
        spawn_tasks: false,
        ..Config::default()
    };
    Service::new(db.clone(), db, NoTasks, clock, config)
}

/// An activity and a state machine whose one Task runs it.
async fn set_up(s: &Svc, task: Value) -> (String, String) {
    set_up_as(s, task, WorkflowType::Standard).await
}

async fn set_up_as<C: Clock>(s: &Svc<C>, task: Value, kind: WorkflowType) -> (String, String) {
    let activity = s
        .create_activity(CreateActivity {
            name: "approve".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .arn;
    let mut state = json!({"Type": "Task", "Resource": activity, "End": true});
    if let (Some(st), Value::Object(extra)) = (state.as_object_mut(), task) {
        st.extend(extra);
    }
    let definition = json!({"StartAt": "Approve", "States": {"Approve": state}});
    let machine = s
        .create_state_machine(CreateStateMachine {
            name: "m".into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind,
            description: None,
        })
        .await
        .unwrap()
        .arn;
    (activity, machine)
}

async fn start(s: &Svc, machine: &str, name: &str, input: Value) -> String {
    s.start_execution(StartExecution {
        state_machine_arn: machine.into(),
        name: Some(name.into()),
        input: Some(input.to_string()),
        ..Default::default()
    })
    .await
    .unwrap()
    .execution_arn
}

async fn history(s: &Svc, arn: &str) -> Vec<Value> {
    s.get_execution_history(arn, HistoryRequest::default())
        .await
        .unwrap()
        .events
}

#[tokio::test]
async fn each_task_goes_to_one_worker_and_its_answer_ends_the_execution() {
    let s = svc();
    let (activity, machine) = set_up(&s, json!({"Parameters": {"n.$": "$.n"}})).await;
    let a = start(&s, &machine, "a", json!({"n": 1})).await;
    let b = start(&s, &machine, "b", json!({"n": 2})).await;
    let first = s
        .get_activity_task(&activity, Some("w-1".into()), SHORT)
        .await
        .unwrap()
        .expect("a task waits");
    let second = s
        .get_activity_task(&activity, Some("w-2".into()), SHORT)
        .await
        .unwrap()
        .expect("a second task waits");
    assert_eq!(first.input, r#"{"n":1}"#, "oldest first");
    assert_eq!(second.input, r#"{"n":2}"#);
    assert_eq!(
        s.get_activity_task(&activity, None, SHORT).await.unwrap(),
        None,
        "each task is handed out once"
    );
    s.send_task_heartbeat(&first.task_token).await.unwrap();
    s.send_task_success(&first.task_token, r#"{"ok":1}"#)
        .await
        .unwrap();
    s.send_task_failure(
        &second.task_token,
        Some("Rejected".into()),
        Some("no".into()),
    )
    .await
    .unwrap();
    let d = s.describe_execution(&a).await.unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&json!({"ok": 1})));
    let types: Vec<Value> = history(&s, &a)
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        types,
        json!([
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    let events = history(&s, &a).await;
    assert_eq!(
        events[2]["activityScheduledEventDetails"]["resource"],
        json!(activity)
    );
    assert_eq!(
        events[3]["activityStartedEventDetails"],
        json!({"workerName": "w-1"})
    );
    let d = s.describe_execution(&b).await.unwrap();
    assert_eq!(d.status, Status::Failed);
    assert_eq!(d.error.as_deref(), Some("Rejected"));
    let events = history(&s, &b).await;
    assert_eq!(
        events[4]["activityFailedEventDetails"],
        json!({"error": "Rejected", "cause": "no"})
    );
}

#[tokio::test]
async fn a_stopped_execution_s_task_is_never_handed_out() {
    let s = svc();
    let (activity, machine) = set_up(&s, json!({})).await;
    let a = start(&s, &machine, "a", json!({})).await;
    s.stop_execution(&a, None, None).await.unwrap();
    assert_eq!(
        s.get_activity_task(&activity, None, SHORT).await.unwrap(),
        None
    );
    let b = start(&s, &machine, "b", json!({})).await;
    let taken = s
        .get_activity_task(&activity, None, SHORT)
        .await
        .unwrap()
        .expect("b's task");
    s.stop_execution(&b, None, None).await.unwrap();
    let late = s.send_task_success(&taken.task_token, "{}").await;
    assert!(
        matches!(late, Err(ServiceError::TaskTimedOut(_))),
        "{late:?}"
    );
}

#[tokio::test]
async fn a_waiting_poller_gets_a_task_scheduled_while_it_waits() {
    let s = svc();
    let (activity, machine) = set_up(&s, json!({})).await;
    let poller = {
        let s = s.clone();
        let activity = activity.clone();
        tokio::spawn(async move {
            s.get_activity_task(&activity, Some("waiting".into()), Duration::from_secs(60))
                .await
        })
    };
    // Let the poll find nothing first and wait.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let a = start(&s, &machine, "a", json!({"late": true})).await;
    let got = poller
        .await
        .unwrap()
        .unwrap()
        .expect("the waiting poll gets it");
    assert_eq!(got.input, r#"{"late":true}"#);
    assert_eq!(
        history(&s, &a).await[3]["activityStartedEventDetails"]["workerName"],
        "waiting"
    );
}

#[tokio::test]
async fn a_worker_silent_past_its_heartbeat_times_the_task_out() {
    let s = svc();
    let (activity, machine) = set_up(&s, json!({"HeartbeatSeconds": 5})).await;
    let a = start(&s, &machine, "a", json!({})).await;
    let taken = s.get_activity_task(&activity, None, SHORT).await.unwrap();
    assert!(taken.is_some());
    s.run_until_idle(100).await.unwrap();
    let d = s.describe_execution(&a).await.unwrap();
    assert_eq!(d.status, Status::Failed);
    assert_eq!(d.error.as_deref(), Some("States.HeartbeatTimeout"));
    let events = history(&s, &a).await;
    assert_eq!(events[4]["type"], "ActivityTimedOut");
}

#[tokio::test]
async fn activities_are_idempotent_by_name_and_checked_by_arn() {
    let s = svc();
    let created = s
        .create_activity(CreateActivity {
            name: "approve".into(),
            tags: vec![("a".into(), "1".into())],
            ..Default::default()
        })
        .await
        .unwrap();
    let again = s
        .create_activity(CreateActivity {
            name: "approve".into(),
            tags: vec![("b".into(), "2".into())],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        again, created,
        "the same name again is the same activity, tags unchanged"
    );
    let other_encryption = s
        .create_activity(CreateActivity {
            name: "approve".into(),
            encryption_configuration: Some(json!({"type": "CUSTOMER_MANAGED_KMS_KEY"})),
            ..Default::default()
        })
        .await;
    assert!(matches!(
        other_encryption,
        Err(ServiceError::ActivityAlreadyExists(_))
    ));
    assert!(matches!(
        s.create_activity(CreateActivity {
            name: "a b".into(),
            ..Default::default()
        })
        .await,
        Err(ServiceError::InvalidName(_))
    ));
    let missing = "arn:aws:states:us-east-1:123456789012:activity:missing";
    assert!(matches!(
        s.describe_activity(missing).await,
        Err(ServiceError::ActivityDoesNotExist(_))
    ));
    assert!(matches!(
        s.get_activity_task(missing, None, SHORT).await,
        Err(ServiceError::ActivityDoesNotExist(_))
    ));
    assert!(matches!(
        s.describe_activity("arn:aws:states:us-east-1:123456789012:stateMachine:m")
            .await,
        Err(ServiceError::InvalidArn(_))
    ));
    s.delete_activity(&created.arn).await.unwrap();
    s.delete_activity(&created.arn).await.unwrap();
    let listed = s.list_activities(PageRequest::default()).await.unwrap();
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn start_sync_execution_waits_for_a_worker_s_answer() {
    // Real time: a simulated clock would jump to the Express execution's
    // five-minute timeout while it waits for the worker.
    let s = svc_on(SystemClock);
    let (activity, machine) = set_up_as(&s, json!({}), WorkflowType::Express).await;
    let run = {
        let s = s.clone();
        tokio::spawn(async move {
            s.start_sync_execution(StartExecution {
                state_machine_arn: machine,
                input: Some(r#"{"sync":1}"#.into()),
                ..Default::default()
            })
            .await
        })
    };
    let task = s
        .get_activity_task(&activity, Some("w".into()), Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the Express execution's task");
    assert_eq!(task.input, r#"{"sync":1}"#);
    s.send_task_success(&task.task_token, r#"{"done":true}"#)
        .await
        .unwrap();
    let d = run.await.unwrap().unwrap();
    assert_eq!(d.status, Status::Succeeded);
    assert_eq!(d.output.as_deref(), Some(&json!({"done": true})));
}
