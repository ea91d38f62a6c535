//! Task states: the invocation, the answer, timeouts and heartbeats.

use super::*;
use crate::token;

#[test]
fn a_task_asks_for_an_invocation_with_its_evaluated_parameters() {
    let sm = machine(json!({"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": LAMBDA, "InputPath": "$.order",
            "Parameters": {"FunctionName": "charge", "Payload": {"amount.$": "$.total", "state.$": "$$.State.Name"}},
            "End": true}
    }}));
    let (exec, step) = start(&sm, json!({"order": {"total": 12}}));
    let calls = invocations(&step);
    assert_eq!(calls.len(), 1);
    let (frame, seq, call) = &calls[0];
    assert_eq!((*frame, *seq), (ROOT, 1));
    assert_eq!(call.resource, LAMBDA);
    assert_eq!(
        call.parameters,
        json!({"FunctionName": "charge", "Payload": {"amount": 12, "state": "Charge"}})
    );
    assert_eq!(call.state_name, "Charge");
    assert_eq!(call.execution_arn, ARN);
    assert_eq!(call.task_token, None);
    let root = &exec.frames[&ROOT];
    assert_eq!(root.seq, 1);
    assert_eq!(root.effective.as_deref(), Some(&json!({"total": 12})));
    match &step.history[2].details {
        Details::TaskScheduled {
            resource_type,
            resource,
            parameters,
            region,
            ..
        } => {
            assert_eq!(
                (resource_type.as_str(), resource.as_str()),
                ("lambda", "invoke")
            );
            assert_eq!(region, "us-east-1");
            assert_eq!(**parameters, call.parameters);
        }
        other => panic!("expected TaskScheduled, found {other:?}"),
    }
}

#[test]
fn task_succeeded_applies_result_selector_result_path_and_output_path() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA,
            "ResultSelector": {"v.$": "$.Payload.value"}, "ResultPath": "$.result",
            "OutputPath": "$.result", "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({"id": 1}));
    let step = apply(
        &mut exec,
        &sm,
        succeeded(
            ROOT,
            1,
            json!({"Payload": {"value": 42}, "StatusCode": 200}),
        ),
        NOW,
    );
    assert_eq!(
        types(&step),
        ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    );
    assert_eq!(output(&exec), Some(&json!({"v": 42})));
    match &step.history[1].details {
        Details::StateExited { output, .. } => assert_eq!(**output, json!({"v": 42})),
        other => panic!("expected TaskStateExited, found {other:?}"),
    }
}

#[test]
fn result_path_merges_the_result_into_the_state_input() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.r", "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({"id": 1}));
    apply(&mut exec, &sm, succeeded(ROOT, 1, json!([1, 2])), NOW);
    assert_eq!(output(&exec), Some(&json!({"id": 1, "r": [1, 2]})));
}

#[test]
fn an_uncaught_task_failure_fails_the_execution_with_its_error_and_cause() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    let step = apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "it broke"), NOW);
    assert_eq!(types(&step), ["TaskFailed", "ExecutionFailed"]);
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("Boom"));
    assert_eq!(exec.cause.as_deref(), Some("it broke"));
}

#[test]
fn timeout_and_heartbeat_seconds_schedule_their_timers_with_the_task() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 30, "HeartbeatSeconds": 10, "End": true}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(
        timers(&step),
        [
            (ROOT, 1, Timer::TaskTimeout, NOW + 30_000),
            (ROOT, 1, Timer::Heartbeat, NOW + 10_000)
        ]
    );
    let call = &invocations(&step)[0].2;
    assert_eq!(
        (call.timeout_seconds, call.heartbeat_seconds),
        (Some(30), Some(10))
    );
    match &exec.frames[&ROOT].waiting {
        Waiting::Task(t) => {
            assert_eq!(t.timeout_at, Some(NOW + 30_000));
            assert_eq!(t.heartbeat_deadline, Some(NOW + 10_000));
        }
        other => panic!("expected a task wait, found {other:?}"),
    }
}

#[test]
fn timeout_seconds_path_that_is_not_an_integer_fails_with_states_runtime() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSecondsPath": "$.t", "End": true}
    }}));
    let (exec, step) = start(&sm, json!({"t": -3}));
    assert!(invocations(&step).is_empty());
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec.cause.as_deref().is_some_and(|c| c.contains(
        "The TimeoutSecondsPath field refers to value \"-3\" which is not a valid integer: $.t"
    )));
}

#[test]
fn the_task_timeout_timer_fails_the_task_with_states_timeout() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 30, "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::TaskTimeout),
        NOW + 30_000,
    );
    assert_eq!(types(&step), ["TaskTimedOut", "ExecutionFailed"]);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
}

fn heartbeat_case() -> (StateMachine, Execution) {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "HeartbeatSeconds": 10, "End": true}
    }}));
    let wait = TaskWait {
        heartbeat_seconds: Some(10),
        heartbeat_deadline: Some(NOW + 10_000),
        ..lambda_wait()
    };
    let exec = waiting_in(&sm, "T", json!({}), Waiting::Task(wait), 1);
    (sm, exec)
}

#[test]
fn a_heartbeat_timer_past_the_deadline_fails_with_heartbeat_timeout() {
    let (sm, mut exec) = heartbeat_case();
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::Heartbeat),
        NOW + 10_000,
    );
    assert_eq!(types(&step), ["TaskTimedOut", "ExecutionFailed"]);
    assert_eq!(exec.error.as_deref(), Some("States.HeartbeatTimeout"));
}

#[test]
fn a_heartbeat_moves_the_deadline_and_the_early_timer_is_set_again() {
    let (sm, mut exec) = heartbeat_case();
    let beat = Event::TaskHeartbeat {
        frame: ROOT,
        seq: 1,
    };
    let step = apply(&mut exec, &sm, beat, NOW + 4_000);
    assert!(step.history.is_empty() && step.effects.is_empty());
    assert_eq!(step.frames_changed, [ROOT]);
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 1, Timer::Heartbeat),
        NOW + 10_000,
    );
    assert!(step.history.is_empty());
    assert_eq!(timers(&step), [(ROOT, 1, Timer::Heartbeat, NOW + 14_000)]);
    assert_eq!(exec.status, Status::Running);
}

#[test]
fn wait_for_task_token_gives_the_invocation_a_token_naming_the_wait() {
    let resource = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
    let sm = machine(json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": resource,
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}
    }}));
    let (exec, step) = start(&sm, json!({}));
    let call = &invocations(&step)[0].2;
    let issued = call.task_token.clone().expect("a token");
    assert_eq!(call.parameters["MessageBody"]["token"], json!(issued));
    let named = token::verify(KEY, &issued).expect("a valid token");
    assert_eq!(
        (named.execution_arn.as_str(), named.frame, named.seq),
        (ARN, ROOT, 1)
    );
    assert!(
        matches!(&exec.frames[&ROOT].waiting, Waiting::Task(t) if t.token.as_deref() == Some(issued.as_str()))
    );
}

#[test]
fn a_plain_function_arn_records_lambda_function_events() {
    let sm = machine(json!({"StartAt": "F", "States": {
        "F": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge", "End": true}
    }}));
    let (mut exec, step) = start(&sm, json!({}));
    assert_eq!(
        types(&step),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted"
        ]
    );
    let step = apply(&mut exec, &sm, succeeded(ROOT, 1, json!(1)), NOW);
    assert_eq!(
        types(&step),
        [
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}
