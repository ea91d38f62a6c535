//! Activity Task states: scheduled with a task token, started by a
//! worker, answered through the token; retries and catchers as for any Task.

use super::*;
use crate::token;

const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:approve";

fn activity_machine(extra: Value) -> StateMachine {
    let mut t = json!({"Type": "Task", "Resource": ACTIVITY, "Parameters": {"id.$": "$.id"},
        "TimeoutSeconds": 30, "HeartbeatSeconds": 10, "End": true});
    if let (Some(t), Value::Object(extra)) = (t.as_object_mut(), extra) {
        t.extend(extra);
        // `"End": false` stands for "no End" (the state goes on to Next).
        if t.get("End") == Some(&json!(false)) {
            t.remove("End");
        }
    }
    machine(json!({"StartAt": "Approve", "States": {"Approve": t,
        "Caught": {"Type": "Pass", "End": true}}}))
}

fn started(seq: u64, worker: &str) -> Event {
    Event::ActivityStarted {
        frame: ROOT,
        seq,
        worker_name: Some(worker.into()),
    }
}

#[test]
fn an_activity_task_is_scheduled_with_a_token_and_its_timers() {
    let sm = activity_machine(json!({}));
    let (exec, step) = start(&sm, json!({"id": 7}));
    assert_eq!(
        types(&step),
        ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled"]
    );
    let json = step.history[2].to_aws_json(true);
    assert_eq!(
        json["activityScheduledEventDetails"],
        json!({"resource": ACTIVITY, "input": "{\"id\":7}", "inputDetails": {"truncated": false},
               "timeoutInSeconds": 30, "heartbeatInSeconds": 10})
    );
    let calls = invocations(&step);
    let token_text = calls[0]
        .2
        .task_token
        .clone()
        .expect("an activity has a token");
    let r = token::verify(KEY, &token_text).expect("the token verifies");
    assert_eq!((r.frame, r.seq), (ROOT, 1));
    assert_eq!(calls[0].2.parameters, json!({"id": 7}));
    let due: Vec<Timer> = timers(&step).into_iter().map(|t| t.2).collect();
    assert!(due.contains(&Timer::TaskTimeout) && due.contains(&Timer::Heartbeat));
    assert!(matches!(exec.frames[&ROOT].waiting, Waiting::Task(_)));
}

#[test]
fn a_worker_starts_it_once_and_its_answer_ends_the_state() {
    let sm = activity_machine(json!({}));
    let (mut exec, _) = start(&sm, json!({"id": 7}));
    let step = apply(&mut exec, &sm, started(1, "w-1"), NOW + 5_000);
    assert_eq!(types(&step), ["ActivityStarted"]);
    assert_eq!(
        step.history[0].to_aws_json(true)["activityStartedEventDetails"],
        json!({"workerName": "w-1"})
    );
    // Taking the task counts as a heartbeat.
    match &exec.frames[&ROOT].waiting {
        Waiting::Task(t) => assert_eq!(t.heartbeat_deadline, Some(NOW + 15_000)),
        other => panic!("expected a task wait, found {other:?}"),
    }
    assert!(try_apply(&mut exec, &sm, started(1, "w-2"), NOW + 6_000).is_err());
    let step = apply(
        &mut exec,
        &sm,
        succeeded(ROOT, 1, json!({"ok": true})),
        NOW + 7_000,
    );
    assert_eq!(
        types(&step),
        ["ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"]
    );
    assert_eq!(output(&exec), Some(&json!({"ok": true})));
}

#[test]
fn failures_and_timeouts_are_activity_events_and_are_caught() {
    let sm = activity_machine(json!({"End": false, "Next": "Caught",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}));
    let (mut exec, _) = start(&sm, json!({"id": 1}));
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Rejected", "no"), NOW + 1);
    assert_eq!(step.history[0].type_name(), "ActivityFailed");
    assert_eq!(
        step.history[0].to_aws_json(true)["activityFailedEventDetails"],
        json!({"error": "Rejected", "cause": "no"})
    );
    assert_eq!(exec.status, Status::Succeeded);

    let (mut exec, _) = start(&sm, json!({"id": 1}));
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::TaskTimeout),
        NOW + 30_000,
    );
    assert_eq!(step.history[0].type_name(), "ActivityTimedOut");
    assert_eq!(
        step.history[0].to_aws_json(true)["activityTimedOutEventDetails"]["error"],
        "States.Timeout"
    );
    assert_eq!(exec.status, Status::Succeeded);
}

#[test]
fn a_retried_activity_is_scheduled_again_with_a_new_token() {
    let sm = activity_machine(
        json!({"Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"],
        "IntervalSeconds": 1, "MaxAttempts": 1}]}),
    );
    let (mut exec, first) = start(&sm, json!({"id": 1}));
    let first_token = invocations(&first)[0].2.task_token.clone();
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::Heartbeat),
        NOW + 10_000,
    );
    assert_eq!(step.history[0].type_name(), "ActivityTimedOut");
    let retry_seq = exec.frames[&ROOT].seq;
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, retry_seq, Timer::Retry),
        NOW + 11_000,
    );
    assert_eq!(types(&step), ["ActivityScheduled"]);
    let again = invocations(&step)[0].2.task_token.clone();
    assert!(again.is_some() && again != first_token);
}
