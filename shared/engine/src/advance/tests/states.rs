//! Pass, Choice, Wait, Succeed and Fail.

use super::*;

#[test]
fn pass_puts_its_result_where_result_path_says() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$.in", "Result": {"b": 2}, "ResultPath": "$.out", "End": true}
    }}));
    let (exec, _) = start(&sm, json!({"in": {"a": 1}}));
    assert_eq!(
        output(&exec),
        Some(&json!({"in": {"a": 1}, "out": {"b": 2}}))
    );
}

#[test]
fn pass_parameters_build_the_output_from_the_input_and_the_context() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"v.$": "$.v", "state.$": "$$.State.Name"}, "End": true}
    }}));
    let (exec, _) = start(&sm, json!({"v": 3}));
    assert_eq!(output(&exec), Some(&json!({"v": 3, "state": "A"})));
}

#[test]
fn choice_takes_the_first_rule_that_matches() {
    let sm = machine(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Medium"},
            {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Small"}
        ], "Default": "Other"},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Medium": {"Type": "Pass", "Result": "medium", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "End": true},
        "Other": {"Type": "Pass", "Result": "other", "End": true}
    }}));
    let (exec, _) = start(&sm, json!({"n": 5}));
    assert_eq!(output(&exec), Some(&json!("medium")));
    let (exec, _) = start(&sm, json!({"n": -1}));
    assert_eq!(output(&exec), Some(&json!("other")));
}

#[test]
fn choice_without_a_match_or_default_fails_with_no_choice_matched() {
    let sm = machine(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericEquals": 1, "Next": "One"}
        ]},
        "One": {"Type": "Succeed"}
    }}));
    let (exec, step) = start(&sm, json!({"n": 2}));
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.NoChoiceMatched"));
    assert_eq!(
        types(&step),
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    );
}

#[test]
fn wait_schedules_its_timer_at_entry_plus_seconds_and_blocks() {
    let sm = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 90, "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Running);
    assert_eq!(timers(&step), [(ROOT, 1, Timer::WaitState, NOW + 90_000)]);
    assert_eq!(
        exec.frames[&ROOT].waiting,
        Waiting::WaitState { due: NOW + 90_000 }
    );
    assert_eq!(types(&step), ["ExecutionStarted", "WaitStateEntered"]);
}

#[test]
fn the_wait_timer_firing_resumes_the_frame_at_the_next_state() {
    let sm = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 90, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "done", "End": true}
    }}));
    let due = NOW + 90_000;
    let mut exec = waiting_in(&sm, "W", json!({}), Waiting::WaitState { due }, 4);
    let step = apply(&mut exec, &sm, fired(ROOT, 4, Timer::WaitState), due);
    assert_eq!(
        types(&step),
        [
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(output(&exec), Some(&json!("done")));
}

#[test]
fn a_wait_already_due_does_not_block() {
    let sm = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "Next": "Z"},
        "Z": {"Type": "Wait", "Seconds": 0, "End": true}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Succeeded);
    assert!(timers(&step).is_empty());
}

#[test]
fn wait_timestamp_path_schedules_at_that_time() {
    let sm = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "TimestampPath": "$.at", "End": true}
    }}));
    let (_, step) = start(&sm, json!({"at": "2030-01-01T00:00:00Z"}));
    assert_eq!(
        timers(&step),
        [(ROOT, 1, Timer::WaitState, 1_893_456_000_000)]
    );
}

#[test]
fn wait_seconds_path_that_is_not_an_integer_fails_with_states_runtime() {
    let sm = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}
    }}));
    let (exec, _) = start(&sm, json!({"s": "soon"}));
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    let cause = exec.cause.unwrap_or_default();
    assert!(
        cause.contains("The SecondsPath parameter cannot be parsed as a long value: $.s == soon"),
        "{cause}"
    );
    assert!(cause.contains("'W'"), "the cause names the state: {cause}");
}

#[test]
fn succeed_ends_the_execution_with_its_output_path() {
    let sm = machine(json!({"StartAt": "S", "States": {
        "S": {"Type": "Succeed", "OutputPath": "$.keep"}
    }}));
    let (exec, step) = start(&sm, json!({"keep": [1], "drop": 2}));
    assert_eq!(output(&exec), Some(&json!([1])));
    assert_eq!(
        types(&step),
        [
            "ExecutionStarted",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn fail_fails_the_execution_with_its_error_and_cause() {
    let sm = machine(json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "Error": "Oops", "Cause": "it broke"}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("Oops"));
    assert_eq!(exec.cause.as_deref(), Some("it broke"));
    assert_eq!(
        types(&step),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
}

#[test]
fn fail_reads_error_and_cause_paths_from_its_input() {
    let sm = machine(json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}
    }}));
    let (exec, _) = start(&sm, json!({"e": "Custom", "c": {"n": 1}}));
    assert_eq!(exec.error.as_deref(), Some("Custom"));
    assert_eq!(exec.cause.as_deref(), Some(r#"{"n":1}"#));
    let (exec, _) = start(&sm, json!({"c": "x"}));
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec.cause.as_deref().is_some_and(
        |c| c.contains("The JSONPath '$.e' specified for the field 'ErrorPath' could not be found")
    ));
}

#[test]
fn fail_without_error_ends_the_execution_with_no_error() {
    let sm = machine(json!({"StartAt": "F", "States": {"F": {"Type": "Fail"}}}));
    let (exec, _) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error, None);
    assert_eq!(exec.cause, None);
}
