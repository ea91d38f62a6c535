//! What keeps an execution finite and its records readable (issue 12):
//! bounded steps, the transition cap, Express's five minutes, the history
//! kept, values nested too deep, times out of range, and a panic in a step.

use super::*;
use crate::limits::{
    transition_limit_cause, MAX_DEPTH, MAX_TIME, MAX_TRANSITIONS_PER_STEP, MAX_WAIT_SECONDS,
};

fn endless() -> StateMachine {
    machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "A"}
    }}))
}

fn with_limits(limits: Limits) -> Execution {
    Execution::new(ExecutionInfo {
        limits,
        ..info(json!({}))
    })
}

/// [`advance_or_fail`] at [`NOW`]: a panic is a failing step.
fn apply_or_fail(exec: &mut Execution, sm: &StateMachine, event: Event) -> Step {
    let env = Env {
        now: NOW,
        token_key: KEY,
    };
    advance_or_fail(exec, sm, event, &env).expect("the failure is a step")
}

fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |v, _| json!([v]))
}

#[test]
fn issue_12_an_endless_loop_of_pass_states_is_many_bounded_steps() {
    let sm = endless();
    let mut exec = with_limits(Limits::EXPRESS);
    let step = apply(&mut exec, &sm, Event::Start, NOW);
    assert_eq!(exec.status, Status::Running);
    assert_eq!(exec.transitions, MAX_TRANSITIONS_PER_STEP);
    assert!(matches!(exec.frames[&ROOT].waiting, Waiting::Continue));
    // The step asks to be continued at once; Express's timeout is there too.
    assert_eq!(
        timers(&step),
        [
            (ROOT, 0, Timer::ExecutionTimeout, NOW + 300_000),
            (ROOT, 0, Timer::Continue, NOW)
        ]
    );
    let step = apply(&mut exec, &sm, fired(ROOT, 0, Timer::Continue), NOW + 7);
    assert_eq!(exec.transitions, 2 * MAX_TRANSITIONS_PER_STEP);
    assert_eq!(timers(&step), [(ROOT, 0, Timer::Continue, NOW + 7)]);
    // Time moves on between steps: the execution timeout ends the loop.
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 0, Timer::ExecutionTimeout),
        NOW + 300_000,
    );
    assert_eq!(exec.status, Status::TimedOut);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
    assert_eq!(types(&step), ["ExecutionTimedOut"]);
}

#[test]
fn a_continue_with_no_frame_left_to_continue_is_stale() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    let before = exec.clone();
    assert!(matches!(
        try_apply(&mut exec, &sm, fired(ROOT, 0, Timer::Continue), NOW),
        Err(EngineError::Stale { .. })
    ));
    assert_eq!(exec, before);
}

#[test]
fn a_map_larger_than_one_step_continues_every_iteration_it_left() {
    let sm = machine(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Next": "Q"},
            "Q": {"Type": "Pass", "End": true}
        }}}
    }}));
    let items: Vec<Value> = (0..6_000).map(|i| json!(i)).collect();
    // 36,000 history events: more than Standard's limit allows.
    let mut exec = Execution::new(ExecutionInfo {
        limits: Limits::LOCAL,
        ..info(json!(items))
    });
    let step = apply(&mut exec, &sm, Event::Start, NOW);
    let mut steps = 1;
    let mut last = step;
    while exec.status == Status::Running {
        assert_eq!(timers(&last), [(ROOT, 0, Timer::Continue, NOW)]);
        last = apply(&mut exec, &sm, fired(ROOT, 0, Timer::Continue), NOW);
        steps += 1;
    }
    assert_eq!(exec.status, Status::Succeeded);
    assert_eq!(output(&exec), Some(&json!(items)));
    // 1 + 12,000 transitions, at most 10,000 a step.
    assert_eq!((exec.transitions, steps), (12_001, 2));
}

#[test]
fn issue_12_the_transition_cap_fails_the_execution_with_states_runtime() {
    let sm = endless();
    let mut exec = with_limits(Limits {
        max_transitions: Some(5),
        ..Limits::LOCAL
    });
    let step = apply(&mut exec, &sm, Event::Start, NOW);
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert_eq!(exec.cause, Some(transition_limit_cause(5)));
    assert_eq!(exec.transitions, 5);
    assert_eq!(types(&step).last(), Some(&"ExecutionFailed"));
}

#[test]
fn express_executions_end_at_five_minutes_or_their_own_earlier_timeout() {
    let task = |timeout: u64| {
        machine(
            json!({"TimeoutSeconds": timeout, "StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
            }}),
        )
    };
    for (timeout, due) in [(600, NOW + 300_000), (60, NOW + 60_000)] {
        let mut exec = with_limits(Limits::EXPRESS);
        let step = apply(&mut exec, &task(timeout), Event::Start, NOW);
        assert_eq!(timers(&step), [(ROOT, 0, Timer::ExecutionTimeout, due)]);
    }
    // Standard executions keep the definition's timeout, however long.
    let step = apply(
        &mut with_limits(Limits::STANDARD),
        &task(600),
        Event::Start,
        NOW,
    );
    assert_eq!(
        timers(&step),
        [(ROOT, 0, Timer::ExecutionTimeout, NOW + 600_000)]
    );
}

#[test]
fn standard_executions_time_out_at_one_year_as_step_functions_does() {
    const YEAR_MS: i64 = 365 * 86_400_000;
    let callback = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
              "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}}, "End": true}
    }}));
    let mut exec = with_limits(Limits::STANDARD);
    let step = apply(&mut exec, &callback, Event::Start, NOW);
    assert_eq!(
        timers(&step),
        [(ROOT, 0, Timer::ExecutionTimeout, NOW + YEAR_MS)],
        "a callback that never comes still ends at one year"
    );
    let step = apply(
        &mut exec,
        &callback,
        fired(ROOT, 0, Timer::ExecutionTimeout),
        NOW + YEAR_MS,
    );
    assert_eq!(exec.status, Status::TimedOut);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
    assert_eq!(types(&step), ["ExecutionTimedOut"]);
    // A definition's longer TimeoutSeconds does not lift the year.
    let long = machine(
        json!({"TimeoutSeconds": 99_999_999, "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 99_999_999, "End": true}
        }}),
    );
    let step = apply(&mut with_limits(Limits::STANDARD), &long, Event::Start, NOW);
    assert_eq!(
        timers(&step)[0],
        (ROOT, 0, Timer::ExecutionTimeout, NOW + YEAR_MS)
    );
}

#[test]
fn history_beyond_the_recorded_limit_is_counted_but_not_kept_except_the_end() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Succeed"}
    }}));
    let mut exec = with_limits(Limits {
        max_recorded_events: Some(3),
        ..Limits::EXPRESS
    });
    let step = apply(&mut exec, &sm, Event::Start, NOW);
    let ids: Vec<_> = step
        .history
        .iter()
        .map(|e| (e.id, e.details.type_name()))
        .collect();
    assert_eq!(
        ids,
        [
            (1, "ExecutionStarted"),
            (2, "PassStateEntered"),
            (3, "PassStateExited"),
            (8, "ExecutionSucceeded")
        ]
    );
    assert_eq!(exec.last_event_id, 8);
}

#[test]
fn issue_12_a_panic_while_starting_fails_the_execution_with_states_runtime() {
    // A definition whose start names no state: indexing it panics.
    let mut sm = machine(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}));
    sm.blocks[0].start_at = 99;
    let mut exec = Execution::new(info(json!({"k": 1})));
    let step = apply_or_fail(&mut exec, &sm, Event::Start);
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("internal error") && c.contains("out of bounds")));
    assert_eq!(types(&step), ["ExecutionStarted", "ExecutionFailed"]);
    assert_eq!(
        step.effects,
        [Effect::Finished {
            status: Status::Failed
        }]
    );
}

#[test]
fn issue_12_a_panic_in_a_later_step_fails_it_after_the_last_applied_step() {
    let mut sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "Next": "P"},
        "P": {"Type": "Pass", "End": true}
    }}));
    let t = state(&sm, "T");
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    sm.states[t].next = Some(99);
    let step = apply_or_fail(&mut exec, &sm, succeeded(ROOT, 1, json!({})));
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    // The interrupted step's events are gone; the failure follows event 4.
    let ids: Vec<_> = step
        .history
        .iter()
        .map(|e| (e.id, e.previous_event_id, e.details.type_name()))
        .collect();
    assert_eq!(ids, [(5, 4, "ExecutionFailed")]);
    assert_eq!(exec.version, 1);
}

#[test]
fn issue_12_a_value_nested_deeper_than_the_engine_keeps_fails_the_state() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": nested(MAX_DEPTH + 1), "End": true}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(exec.cause.as_deref().is_some_and(|c| c.contains("'A'")));
    assert_eq!(
        types(&step),
        ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
    );
    // As deep as the limit is fine.
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": nested(MAX_DEPTH), "End": true}
    }}));
    assert_eq!(start(&sm, json!({})).0.status, Status::Succeeded);
}

#[test]
fn parameters_that_nest_too_deep_fail_the_task_before_it_is_invoked() {
    let mut deep = json!({"v.$": "$"});
    for _ in 0..MAX_DEPTH {
        deep = json!({ "w": deep });
    }
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "Parameters": deep, "End": true}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(exec.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(invocations(&step).is_empty());
}

#[test]
fn issue_12_a_task_result_too_large_or_too_deep_fails_the_task() {
    let task = TaskInvocation {
        resource: LAMBDA.into(),
        parameters: json!({}),
        task_token: None,
        state_name: "Charge".into(),
        execution_arn: ARN.into(),
        timeout_seconds: None,
        heartbeat_seconds: None,
    };
    let big = json!("x".repeat(256 * 1024));
    for (result, says) in [
        (big, "size exceeding the maximum number of bytes"),
        (nested(MAX_DEPTH + 1), "nested more than 100 levels"),
    ] {
        match TaskResult::Succeeded(result).into_event(ROOT, 1, &task) {
            Some(Event::TaskFailed { error, cause, .. }) => {
                assert_eq!(error, "States.DataLimitExceeded");
                assert!(cause
                    .as_deref()
                    .is_some_and(|c| c.contains(says) && c.contains("'Charge'")));
            }
            other => panic!("expected a task failure, got {other:?}"),
        }
    }
    let ok = TaskResult::Succeeded(nested(MAX_DEPTH)).into_event(ROOT, 1, &task);
    assert!(matches!(ok, Some(Event::TaskSucceeded { .. })));
}

#[test]
fn issue_12_a_wait_longer_than_step_functions_allows_fails() {
    let path = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}
    }}));
    let (exec, _) = start(&path, json!({"s": MAX_WAIT_SECONDS + 1}));
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("99999999")));
    // A value too large for a long is not a long.
    let (exec, _) = start(&path, json!({"s": 1e300}));
    assert!(exec
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("cannot be parsed as a long value")));
    let (exec, step) = start(&path, json!({"s": MAX_WAIT_SECONDS}));
    assert_eq!(exec.status, Status::Running);
    assert_eq!(
        timers(&step),
        [(ROOT, 1, Timer::WaitState, NOW + MAX_WAIT_SECONDS * 1000)]
    );
    let jsonata = machine(
        json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": true}
        }}),
    );
    let (exec, _) = start(&jsonata, json!({"s": 1_000_000_000_000_i64}));
    assert_eq!(exec.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(exec
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("'Seconds'")));
}

#[test]
fn timers_beyond_year_9999_are_set_at_its_last_instant() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": MAX_WAIT_SECONDS, "End": true}
    }}));
    // Started a moment before the last instant a timestamp can show.
    let late = MAX_TIME - 1_000;
    let mut exec = Execution::new(ExecutionInfo {
        start_time: late,
        ..info(json!({}))
    });
    let step = apply(&mut exec, &sm, Event::Start, late);
    assert_eq!(timers(&step), [(ROOT, 1, Timer::TaskTimeout, MAX_TIME)]);
}

#[test]
fn a_timeout_from_a_path_beyond_the_ceiling_fails_the_state_and_sets_no_timer() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSecondsPath": "$.t", "End": true}
    }}));
    let (exec, step) = start(&sm, json!({"t": 9_000_000_000_000_000_i64}));
    assert!(timers(&step).is_empty());
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn a_result_merged_into_the_input_too_deep_fails_the_state() {
    // B's output is measured from its input's size (a ResultPath merge):
    // its depth from the one member that changed.
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Result": nested(MAX_DEPTH), "ResultPath": "$.r", "Next": "C"},
        "C": {"Type": "Pass", "Result": nested(MAX_DEPTH - 1), "ResultPath": "$.r", "End": true}
    }}));
    let (exec, _) = start(&sm, json!({"k": [1]}));
    assert_eq!(exec.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(exec.cause.as_deref().is_some_and(|c| c.contains("'B'")));
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Pass", "Result": nested(MAX_DEPTH - 1), "ResultPath": "$.r", "End": true}
    }}));
    assert_eq!(start(&sm, json!({"k": [1]})).0.status, Status::Succeeded);
}
