//! RedriveExecution: the point to resume from, rebuilt from the history,
//! and the step that resumes there.

use super::*;
use crate::history::HistoryEvent;
use crate::{redrive, redrive_point, NotRedrivable, RedrivePoint};

const LATER: i64 = NOW + 60_000;

/// Pass (assigns a variable) → Charge (a Task that uses it) → Done.
fn charge_machine() -> StateMachine {
    machine(
        json!({"StartAt": "Prepare", "TimeoutSeconds": 100, "States": {
            "Prepare": {"Type": "Pass", "Result": {"ready": true}, "ResultPath": "$.prepared",
                        "Assign": {"attempt": "first"}, "Next": "Charge"},
            "Charge": {"Type": "Task", "Resource": LAMBDA,
                       "Parameters": {"order.$": "$.order", "attempt.$": "$attempt"}, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }}),
    )
}

/// Starts `sm`, fails its first task, and returns the execution and its
/// whole history.
fn failed_at_first_task(sm: &StateMachine) -> (Execution, Vec<HistoryEvent>) {
    let (mut exec, step) = start(sm, json!({"order": "A-1"}));
    let mut history = step.history.clone();
    let (frame, seq, _) = invocations(&step).remove(0);
    let step = apply(
        &mut exec,
        sm,
        failed(frame, seq, "Boom", "the card was declined"),
        NOW,
    );
    history.extend(step.history);
    assert_eq!(exec.status, Status::Failed);
    (exec, history)
}

fn env(now: i64) -> Env<'static> {
    Env {
        now,
        token_key: KEY,
    }
}

#[test]
fn a_failed_task_is_entered_again_with_its_input_and_the_variables_assigned_before_it() {
    let sm = charge_machine();
    let (mut exec, history) = failed_at_first_task(&sm);
    let point = redrive_point(&sm, &history).expect("redrivable");
    assert_eq!(point.state, state(&sm, "Charge"));
    assert_eq!(
        *point.input,
        json!({"order": "A-1", "prepared": {"ready": true}})
    );
    assert_eq!(point.variables.get("attempt"), Some(&json!("first")));

    let step = redrive(&mut exec, &sm, point, &env(LATER)).expect("redriven");
    assert_eq!(
        types(&step),
        [
            "ExecutionRedriven",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted"
        ]
    );
    assert_eq!(
        step.history[0].to_aws_json(true)["executionRedrivenEventDetails"],
        json!({"redriveCount": 1})
    );
    assert_eq!(step.history[0].id, history.last().map_or(0, |e| e.id) + 1);
    assert_eq!(exec.status, Status::Running);
    assert_eq!(exec.redrive_count, 1);
    assert_eq!(exec.stop_time, None);
    assert_eq!(exec.error, None);
    let (frame, seq, invocation) = invocations(&step).remove(0);
    assert_eq!(
        invocation.parameters,
        json!({"order": "A-1", "attempt": "first"})
    );
    // The definition's timeout counts from the redrive, under the attempt's seq.
    assert_eq!(
        timers(&step),
        [(ROOT, 1, Timer::ExecutionTimeout, LATER + 100_000)]
    );

    let step = apply(&mut exec, &sm, succeeded(frame, seq, json!("paid")), LATER);
    assert_eq!(
        types(&step),
        [
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(exec.status, Status::Succeeded);
}

#[test]
fn timers_and_task_answers_of_the_attempt_before_the_redrive_are_stale() {
    let sm = charge_machine();
    // The first attempt's task, as its answer would address it.
    let (_, first) = start(&sm, json!({"order": "A-1"}));
    let (old_frame, old_seq, _) = invocations(&first).remove(0);
    let (mut exec, history) = failed_at_first_task(&sm);
    let point = redrive_point(&sm, &history).expect("redrivable");
    redrive(&mut exec, &sm, point, &env(LATER)).expect("redriven");
    let before = exec.clone();
    // The first attempt's execution timeout (seq 0) and its task.
    for event in [
        fired(ROOT, 0, Timer::ExecutionTimeout),
        succeeded(old_frame, old_seq, json!("late")),
    ] {
        assert!(matches!(
            try_apply(&mut exec, &sm, event, LATER),
            Err(EngineError::Stale { .. })
        ));
        assert_eq!(exec, before);
    }
    // The redriven attempt's own timeout applies.
    apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::ExecutionTimeout),
        LATER,
    );
    assert_eq!(exec.status, Status::TimedOut);
}

#[test]
fn a_second_redrive_counts_two_and_resumes_where_the_first_one_failed() {
    let sm = charge_machine();
    let (mut exec, mut history) = failed_at_first_task(&sm);
    let point = redrive_point(&sm, &history).expect("redrivable");
    let step = redrive(&mut exec, &sm, point, &env(LATER)).expect("redriven");
    history.extend(step.history.clone());
    let (frame, seq, _) = invocations(&step).remove(0);
    let step = apply(&mut exec, &sm, failed(frame, seq, "Boom", "again"), LATER);
    history.extend(step.history);
    let point = redrive_point(&sm, &history).expect("redrivable");
    assert_eq!(point.state, state(&sm, "Charge"));
    let step = redrive(&mut exec, &sm, point, &env(LATER)).expect("redriven");
    assert_eq!(
        step.history[0].to_aws_json(true)["executionRedrivenEventDetails"],
        json!({"redriveCount": 2})
    );
}

#[test]
fn an_execution_that_succeeded_or_runs_is_not_redrivable() {
    let sm = machine(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    let (mut exec, step) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Succeeded);
    let point = RedrivePoint {
        state: 0,
        input: Arc::new(json!({})),
        variables: Default::default(),
    };
    assert_eq!(
        redrive(&mut exec, &sm, point.clone(), &env(LATER)),
        Err(NotRedrivable(
            "Execution is SUCCEEDED and cannot be redriven.".into()
        ))
    );
    // Nothing unfinished in its history either.
    assert!(redrive_point(&sm, &step.history).is_err());

    let task = charge_machine();
    let (mut running, _) = start(&task, json!({"order": "A-1"}));
    assert_eq!(
        redrive(&mut running, &task, point, &env(LATER)),
        Err(NotRedrivable(
            "Execution is RUNNING and cannot be redriven.".into()
        ))
    );
}

#[test]
fn an_aborted_execution_resumes_in_the_state_it_was_stopped_in() {
    let sm = charge_machine();
    let (mut exec, step) = start(&sm, json!({"order": "A-1"}));
    let mut history = step.history;
    let step = apply(
        &mut exec,
        &sm,
        Event::Stop {
            error: None,
            cause: None,
        },
        NOW,
    );
    history.extend(step.history);
    assert_eq!(exec.status, Status::Aborted);
    let point = redrive_point(&sm, &history).expect("redrivable");
    assert_eq!(point.state, state(&sm, "Charge"));
}

#[test]
fn a_failed_map_or_parallel_state_is_refused_for_now() {
    let sm = machine(json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": LAMBDA, "End": true}}}}
    }}));
    let (mut exec, step) = start(&sm, json!([1]));
    let mut history = step.history.clone();
    let (frame, seq, _) = invocations(&step).remove(0);
    history.extend(apply(&mut exec, &sm, failed(frame, seq, "Boom", "no"), NOW).history);
    assert_eq!(exec.status, Status::Failed);
    let refused = redrive_point(&sm, &history).expect_err("not yet");
    assert!(refused.0.contains("Map state 'Each'"), "{refused}");
}

#[test]
fn the_history_event_limit_leaves_no_room_for_a_redrive() {
    let sm = charge_machine();
    let (mut exec, history) = failed_at_first_task(&sm);
    exec.info.limits.max_history_events = Some(exec.last_event_id + 2);
    let point = redrive_point(&sm, &history).expect("a point");
    assert_eq!(
        redrive(&mut exec, &sm, point, &env(LATER)),
        Err(NotRedrivable(
            "Execution history event limit exceeded.".into()
        ))
    );
}
