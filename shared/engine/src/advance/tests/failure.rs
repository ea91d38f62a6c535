//! Retry and Catch.

use super::*;

fn retrying(retrier: Value) -> StateMachine {
    machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA,
            "Parameters": {"attempt.$": "$$.State.RetryCount"},
            "Retry": [retrier], "End": true}
    }}))
}

/// The root frame has used `attempts` of its first retrier.
fn retried(exec: &mut Execution, attempts: u32) {
    if let Some(f) = exec.frames.get_mut(&ROOT) {
        f.retry_counts = vec![attempts];
    }
}

#[test]
fn a_matching_retrier_schedules_a_retry_timer_with_the_back_off() {
    let sm = retrying(
        json!({"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 3}),
    );
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "c"), NOW);
    assert_eq!(types(&step), ["TaskFailed"]);
    assert_eq!(timers(&step), [(ROOT, 3, Timer::Retry, NOW + 2_000)]);
    let root = &exec.frames[&ROOT];
    assert_eq!(root.waiting, Waiting::Retry { due: NOW + 2_000 });
    assert_eq!(root.retry_counts, [1]);

    // The second attempt waits IntervalSeconds × BackoffRate.
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    retried(&mut exec, 1);
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "c"), NOW);
    assert_eq!(timers(&step), [(ROOT, 3, Timer::Retry, NOW + 6_000)]);
}

#[test]
fn max_delay_seconds_caps_the_back_off() {
    let sm = retrying(
        json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10.0,
        "MaxDelaySeconds": 15, "MaxAttempts": 5}),
    );
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    retried(&mut exec, 2);
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Any", "c"), NOW);
    assert_eq!(timers(&step), [(ROOT, 3, Timer::Retry, NOW + 15_000)]);
}

#[test]
fn the_retry_timer_runs_the_task_again_without_entering_the_state_again() {
    let sm = retrying(json!({"ErrorEquals": ["Boom"], "MaxAttempts": 2}));
    let mut exec = waiting_in(&sm, "T", json!({}), Waiting::Retry { due: NOW + 1_000 }, 3);
    retried(&mut exec, 1);
    let step = apply(&mut exec, &sm, fired(ROOT, 3, Timer::Retry), NOW + 1_000);
    assert_eq!(types(&step), ["TaskScheduled", "TaskStarted"]);
    let calls = invocations(&step);
    assert_eq!(calls[0].1, 4);
    assert_eq!(calls[0].2.parameters, json!({"attempt": 1}));
}

#[test]
fn a_retrier_out_of_attempts_hands_the_error_to_catch() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA,
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}], "End": true},
        "Recover": {"Type": "Pass", "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    retried(&mut exec, 1);
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "c"), NOW);
    assert!(timers(&step).is_empty());
    assert_eq!(exec.status, Status::Succeeded);
    assert_eq!(output(&exec), Some(&json!({"Error": "Boom", "Cause": "c"})));
}

#[test]
fn a_catcher_routes_the_error_output_through_its_result_path_to_its_next() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA,
            "Catch": [
                {"ErrorEquals": ["Other"], "Next": "Wrong"},
                {"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Recover"}
            ], "End": true},
        "Wrong": {"Type": "Fail", "Error": "Wrong"},
        "Recover": {"Type": "Pass", "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({"id": 5}));
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "it broke"), NOW);
    assert_eq!(
        types(&step),
        [
            "TaskFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        output(&exec),
        Some(&json!({"id": 5, "error": {"Error": "Boom", "Cause": "it broke"}}))
    );
}

#[test]
fn states_all_catches_a_task_timeout() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 1,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "Late"}], "End": true},
        "Late": {"Type": "Succeed"}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({"kept": true}));
    apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::TaskTimeout),
        NOW + 1_000,
    );
    assert_eq!(exec.status, Status::Succeeded);
    assert_eq!(output(&exec), Some(&json!({"kept": true})));
}

#[test]
fn a_failure_no_retrier_or_catcher_matches_fails_the_execution() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA,
            "Retry": [{"ErrorEquals": ["Other"]}],
            "Catch": [{"ErrorEquals": ["Another"], "Next": "C"}], "End": true},
        "C": {"Type": "Succeed"}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "c"), NOW);
    assert_eq!(types(&step), ["TaskFailed", "ExecutionFailed"]);
    assert_eq!(exec.error.as_deref(), Some("Boom"));
}
