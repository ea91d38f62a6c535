//! Unit tests of `advance`, each starting from an execution in a given
//! state: a fresh one fed [`Event::Start`], or one built with
//! [`Execution::from_parts`] whose root frame already waits in some state.
//! One file per state family, like the code; this one holds the helpers and
//! what belongs to no family (run to block, stale events, Stop, limits).

mod activity;
mod context;
mod failure;
mod fan_out;
mod jsonata;
mod limits;
mod numeric;
mod redrive;
mod states;
mod task;

use crate::execution::*;
use crate::history::Details;
use crate::{advance, advance_or_fail, Env};
use flowstate_asl::definition::{StateId, StateMachine};
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) const NOW: i64 = 1_700_000_000_000;
pub(super) const KEY: &[u8] = b"test-key";
pub(super) const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:test:run";
pub(super) const LAMBDA: &str = "arn:aws:states:::lambda:invoke";

pub(super) fn machine(definition: Value) -> StateMachine {
    StateMachine::from_value(&definition).expect("a valid definition")
}

pub(super) fn info(input: Value) -> ExecutionInfo {
    ExecutionInfo {
        arn: ARN.into(),
        name: "run".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:test".into(),
        state_machine_name: "test".into(),
        role_arn: "arn:aws:iam::123456789012:role/test".into(),
        region: "us-east-1".into(),
        start_time: NOW,
        input: Arc::new(input),
        // Without Standard's one-year timer, so that tests of other rules
        // list only the timers they are about (`limits.rs` tests the year).
        limits: Limits {
            max_duration_seconds: None,
            ..Limits::STANDARD
        },
        timeout_seconds: None,
    }
}

/// Applies one event at `now`; the step must be accepted.
pub(super) fn apply(exec: &mut Execution, sm: &StateMachine, event: Event, now: i64) -> Step {
    try_apply(exec, sm, event, now).expect("the event applies")
}

pub(super) fn try_apply(
    exec: &mut Execution,
    sm: &StateMachine,
    event: Event,
    now: i64,
) -> Result<Step, EngineError> {
    advance(
        exec,
        sm,
        event,
        &Env {
            now,
            token_key: KEY,
        },
    )
}

/// A new execution of `sm` with `input`, started at [`NOW`].
pub(super) fn start(sm: &StateMachine, input: Value) -> (Execution, Step) {
    let mut exec = Execution::new(info(input));
    let step = apply(&mut exec, sm, Event::Start, NOW);
    (exec, step)
}

pub(super) fn state(sm: &StateMachine, name: &str) -> StateId {
    sm.states
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no state named {name}"))
}

/// An execution whose root frame entered `name` with `input` (history
/// events 2 to 4 are behind it) and now waits as `waiting`, under `seq`.
pub(super) fn waiting_in(
    sm: &StateMachine,
    name: &str,
    input: Value,
    waiting: Waiting,
    seq: u64,
) -> Execution {
    let id = state(sm, name);
    let input = Arc::new(input);
    let frame = Frame {
        entered_event_id: 2,
        entered_time: NOW,
        last_event_id: 4,
        effective: Some(input.clone()),
        seq,
        waiting,
        ..Frame::new(ROOT, sm.state(id).block, id, input)
    };
    Execution::from_parts(info(json!({})), [frame])
}

/// What a frame waiting for a `lambda:invoke` task holds.
pub(super) fn lambda_wait() -> TaskWait {
    TaskWait {
        resource: "invoke".into(),
        resource_type: "lambda".into(),
        lambda_legacy: false,
        token: None,
        timeout_at: None,
        heartbeat_seconds: None,
        heartbeat_deadline: None,
        activity_started: false,
    }
}

/// An execution whose root frame waits (seq 1) for the answer of Task `name`.
pub(super) fn waiting_for_task(sm: &StateMachine, name: &str, input: Value) -> Execution {
    waiting_in(sm, name, input, Waiting::Task(lambda_wait()), 1)
}

/// The history event types of a step, in order.
pub(super) fn types(step: &Step) -> Vec<&'static str> {
    step.history.iter().map(|e| e.details.type_name()).collect()
}

pub(super) fn timers(step: &Step) -> Vec<(FrameId, u64, Timer, i64)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleTimer {
                frame,
                seq,
                timer,
                at,
            } => Some((*frame, *seq, *timer, *at)),
            _ => None,
        })
        .collect()
}

pub(super) fn invocations(step: &Step) -> Vec<(FrameId, u64, TaskInvocation)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::InvokeTask {
                frame,
                seq,
                invocation,
            } => Some((*frame, *seq, invocation.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn output(exec: &Execution) -> Option<&Value> {
    exec.output.as_deref()
}

pub(super) fn succeeded(frame: FrameId, seq: u64, output: Value) -> Event {
    Event::TaskSucceeded { frame, seq, output }
}

pub(super) fn fired(frame: FrameId, seq: u64, timer: Timer) -> Event {
    Event::TimerFired { frame, seq, timer }
}

pub(super) fn failed(frame: FrameId, seq: u64, error: &str, cause: &str) -> Event {
    Event::TaskFailed {
        frame,
        seq,
        error: error.into(),
        cause: Some(cause.into()),
    }
}

// ---- run to block ------------------------------------------------------

#[test]
fn a_step_runs_through_pass_and_choice_until_a_task_blocks_it() {
    let sm = machine(json!({"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": {"kind": "card"}, "ResultPath": "$.payment", "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$.payment.kind", "StringEquals": "card", "Next": "Charge"}
        ], "Default": "Refuse"},
        "Charge": {"Type": "Task", "Resource": LAMBDA, "End": true},
        "Refuse": {"Type": "Fail", "Error": "Refused"}
    }}));
    let (exec, step) = start(&sm, json!({"order": 7}));
    assert_eq!(
        types(&step),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
        ]
    );
    // Ids count up from 1 and each event follows the one before it.
    let ids: Vec<_> = step
        .history
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(
        ids,
        [
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 6),
            (8, 7)
        ]
    );
    assert_eq!(exec.status, Status::Running);
    assert_eq!(exec.transitions, 3);
    let root = &exec.frames[&ROOT];
    assert_eq!(root.state, state(&sm, "Charge"));
    assert!(matches!(root.waiting, Waiting::Task(_)));
    let calls = invocations(&step);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].2.parameters,
        json!({"order": 7, "payment": {"kind": "card"}})
    );
}

#[test]
fn a_machine_that_needs_nothing_from_the_world_ends_in_one_step() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Succeed", "OutputPath": "$.a"}
    }}));
    let (exec, step) = start(&sm, json!({}));
    assert_eq!(exec.status, Status::Succeeded);
    assert_eq!(output(&exec), Some(&json!(1)));
    assert_eq!(exec.stop_time, Some(NOW));
    assert!(exec.frames.is_empty());
    assert_eq!(types(&step).last(), Some(&"ExecutionSucceeded"));
    assert_eq!(
        step.effects,
        [Effect::Finished {
            status: Status::Succeeded
        }]
    );
    assert_eq!(step.frames_removed, [ROOT]);
}

#[test]
fn every_step_bumps_the_version_and_names_the_frames_it_touched() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
    }}));
    let (mut exec, step) = start(&sm, json!({}));
    assert_eq!(exec.version, 1);
    assert_eq!(step.frames_changed, [ROOT]);
    let step = apply(&mut exec, &sm, succeeded(ROOT, 1, json!("r")), NOW);
    assert_eq!(exec.version, 2);
    assert!(step.frames_changed.is_empty());
    assert_eq!(step.frames_removed, [ROOT]);
}

#[test]
fn from_parts_continues_frame_and_event_ids_after_the_frames_it_is_given() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "Next": "P"},
        "P": {"Type": "Pass", "End": true}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    assert_eq!((exec.next_frame_id, exec.last_event_id), (1, 4));
    let step = apply(&mut exec, &sm, succeeded(ROOT, 1, json!({"x": 1})), NOW + 5);
    assert_eq!(step.history[0].id, 5);
    assert_eq!(step.history[0].previous_event_id, 4);
    assert!(step.history.iter().all(|e| e.timestamp == NOW + 5));
    assert_eq!(output(&exec), Some(&json!({"x": 1})));
}

#[test]
fn starting_an_execution_twice_is_refused() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
    }}));
    let (mut exec, _) = start(&sm, json!({}));
    let before = exec.clone();
    assert_eq!(
        try_apply(&mut exec, &sm, Event::Start, NOW),
        Err(EngineError::AlreadyStarted)
    );
    assert_eq!(exec, before);
}

#[test]
fn an_ended_execution_refuses_every_event() {
    let sm = machine(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}));
    let (mut exec, _) = start(&sm, json!({}));
    let stop = Event::Stop {
        error: None,
        cause: None,
    };
    assert_eq!(
        try_apply(&mut exec, &sm, stop, NOW),
        Err(EngineError::Ended("SUCCEEDED"))
    );
}

// ---- stale events --------------------------------------------------------

fn stale_case() -> (StateMachine, Execution) {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 30, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 60, "End": true}
    }}));
    let exec = waiting_for_task(&sm, "T", json!({}));
    (sm, exec)
}

fn assert_stale(exec: &mut Execution, sm: &StateMachine, event: Event) {
    let before = exec.clone();
    assert!(matches!(
        try_apply(exec, sm, event, NOW),
        Err(EngineError::Stale { .. })
    ));
    assert_eq!(*exec, before, "a stale event changes nothing");
}

#[test]
fn a_task_answer_for_another_wait_or_frame_is_stale_and_changes_nothing() {
    let (sm, mut exec) = stale_case();
    assert_stale(&mut exec, &sm, succeeded(ROOT, 2, json!(1)));
    assert_stale(&mut exec, &sm, succeeded(9, 1, json!(1)));
    assert_stale(&mut exec, &sm, failed(ROOT, 0, "E", "c"));
    assert_stale(
        &mut exec,
        &sm,
        Event::TaskHeartbeat {
            frame: ROOT,
            seq: 3,
        },
    );
}

#[test]
fn a_timer_for_a_task_that_already_answered_is_stale() {
    let (sm, mut exec) = stale_case();
    apply(&mut exec, &sm, succeeded(ROOT, 1, json!({})), NOW);
    assert!(matches!(
        exec.frames[&ROOT].waiting,
        Waiting::WaitState { .. }
    ));
    assert_stale(&mut exec, &sm, fired(ROOT, 1, Timer::TaskTimeout));
}

#[test]
fn a_timer_of_another_kind_than_the_frame_waits_for_is_stale() {
    let (sm, mut exec) = stale_case();
    assert_stale(&mut exec, &sm, fired(ROOT, 1, Timer::WaitState));
}

// ---- Stop, execution timeout, limits -------------------------------------

#[test]
fn stop_aborts_the_execution_and_drops_its_frames() {
    let (sm, mut exec) = stale_case();
    let stop = Event::Stop {
        error: Some("Halt".into()),
        cause: Some("operator".into()),
    };
    let step = apply(&mut exec, &sm, stop, NOW + 1);
    assert_eq!(exec.status, Status::Aborted);
    assert_eq!(exec.error.as_deref(), Some("Halt"));
    assert_eq!(exec.cause.as_deref(), Some("operator"));
    assert!(exec.frames.is_empty());
    assert_eq!(types(&step), ["ExecutionAborted"]);
    assert_eq!(
        step.effects,
        [Effect::Finished {
            status: Status::Aborted
        }]
    );
}

#[test]
fn timeout_seconds_schedules_the_execution_timeout_from_the_start_time() {
    let sm = machine(json!({"TimeoutSeconds": 60, "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
    }}));
    let (_, step) = start(&sm, json!({}));
    assert_eq!(
        timers(&step),
        [(ROOT, 0, Timer::ExecutionTimeout, NOW + 60_000)]
    );
    // The execution's own setting wins over the definition's.
    let mut exec = Execution::new(ExecutionInfo {
        timeout_seconds: Some(5),
        ..info(json!({}))
    });
    let step = apply(&mut exec, &sm, Event::Start, NOW);
    assert_eq!(
        timers(&step),
        [(ROOT, 0, Timer::ExecutionTimeout, NOW + 5_000)]
    );
}

#[test]
fn the_execution_timeout_timer_times_the_execution_out() {
    let (sm, mut exec) = stale_case();
    let step = apply(
        &mut exec,
        &sm,
        fired(ROOT, 0, Timer::ExecutionTimeout),
        NOW + 60_000,
    );
    assert_eq!(exec.status, Status::TimedOut);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
    assert_eq!(types(&step), ["ExecutionTimedOut"]);
}

#[test]
fn the_history_event_limit_fails_the_execution_with_states_runtime() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "End": true}
    }}));
    let mut exec = Execution::new(ExecutionInfo {
        limits: Limits {
            max_history_events: Some(4),
            ..Limits::STANDARD
        },
        ..info(json!({}))
    });
    let step = apply(&mut exec, &sm, Event::Start, NOW);
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec.cause.as_deref().is_some_and(|c| c.contains("(4)")));
    assert_eq!(
        types(&step),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionFailed"
        ]
    );
}

#[test]
fn an_output_over_the_payload_limit_fails_with_data_limit_exceeded() {
    let sm = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": "0123456789abcdef", "End": true}
    }}));
    let mut exec = Execution::new(ExecutionInfo {
        limits: Limits {
            max_payload_bytes: 16,
            ..Limits::STANDARD
        },
        ..info(json!({}))
    });
    apply(&mut exec, &sm, Event::Start, NOW);
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(exec.cause.as_deref().is_some_and(|c| c.contains("'A'")));
}

#[test]
fn execution_started_records_the_input_and_the_machine() {
    let sm = machine(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}));
    let (_, step) = start(&sm, json!({"k": "v"}));
    match &step.history[0].details {
        Details::ExecutionStarted {
            input,
            state_machine_arn,
            ..
        } => {
            assert_eq!(**input, json!({"k": "v"}));
            assert!(state_machine_arn.ends_with(":stateMachine:test"));
        }
        other => panic!("unexpected first event {other:?}"),
    }
}
