//! The in-memory driver: runs one execution to its end, performing effects
//! through a [`TaskHandler`] and a [`Clock`].
//!
//! It is the smallest shell around [`crate::advance`]: apply a step, then
//! perform its effects — tasks in the order they were asked for, timers in
//! due order. With [`SimulatedClock`] a one-year Wait takes no time at all.

use crate::execution::{
    Effect, Event, Execution, ExecutionInfo, FrameId, Limits, Status, TaskInvocation, TaskResult,
    Timer,
};
use crate::history::HistoryEvent;
use crate::{advance, Env};
use flowstate_asl::definition::StateMachine;
use flowstate_asl::errors::Failure;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

/// Performs Task invocations for the in-memory driver.
pub trait TaskHandler {
    fn invoke(&mut self, task: &TaskInvocation) -> TaskResult;
}

/// A handler for machines without tasks: every task fails, naming the resource.
pub struct NoTasks;

impl TaskHandler for NoTasks {
    fn invoke(&mut self, task: &TaskInvocation) -> TaskResult {
        TaskResult::Failed(Failure::new(
            "States.TaskFailed",
            format!(
                "No handler is configured for the resource '{}'.",
                task.resource
            ),
        ))
    }
}

/// Time as the driver sees it, in epoch milliseconds.
pub trait Clock {
    fn now(&self) -> i64;
    /// Returns once `at` has been reached.
    fn sleep_until(&mut self, at: i64);
}

/// Time that jumps straight to the next timer.
pub struct SimulatedClock(pub i64);

impl Clock for SimulatedClock {
    fn now(&self) -> i64 {
        self.0
    }
    fn sleep_until(&mut self, at: i64) {
        self.0 = self.0.max(at);
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub execution_name: String,
    pub state_machine_name: String,
    pub account: String,
    pub region: String,
    pub role_arn: String,
    pub limits: Limits,
    /// Overrides the definition's TimeoutSeconds.
    pub timeout_seconds: Option<u64>,
    /// Start time for simulated runs (epoch ms).
    pub start_time: i64,
    pub token_key: Vec<u8>,
    /// Steps after which the run is abandoned as a livelock.
    pub max_steps: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            execution_name: "local".into(),
            state_machine_name: "local".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            role_arn: "arn:aws:iam::123456789012:role/flowstate".into(),
            limits: Limits::STANDARD,
            timeout_seconds: None,
            start_time: 1_700_000_000_000,
            token_key: b"flowstate-local".to_vec(),
            max_steps: 10_000_000,
        }
    }
}

impl RunOptions {
    pub fn execution_info(&self, input: Value, start_time: i64) -> ExecutionInfo {
        let sm_arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.region, self.account, self.state_machine_name
        );
        ExecutionInfo {
            arn: format!(
                "arn:aws:states:{}:{}:execution:{}:{}",
                self.region, self.account, self.state_machine_name, self.execution_name
            ),
            name: self.execution_name.clone(),
            state_machine_arn: sm_arn,
            state_machine_name: self.state_machine_name.clone(),
            role_arn: self.role_arn.clone(),
            region: self.region.clone(),
            start_time,
            input: Arc::new(input),
            limits: self.limits,
            timeout_seconds: self.timeout_seconds,
        }
    }
}

/// The end of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub execution: Execution,
    pub history: Vec<HistoryEvent>,
}

/// Runs with simulated time: Waits and back-offs take no time.
pub fn run_simulated(
    sm: &StateMachine,
    input: Value,
    tasks: &mut dyn TaskHandler,
    opts: &RunOptions,
) -> RunOutcome {
    let mut clock = SimulatedClock(opts.start_time);
    run(sm, input, tasks, &mut clock, opts)
}

/// A pending timer: due time, insertion order, frame, seq, which timer.
type TimerEntry = (i64, u64, FrameId, u64, TimerKey);

struct Pending {
    tasks: VecDeque<(FrameId, u64, TaskInvocation)>,
    timers: BinaryHeap<Reverse<TimerEntry>>,
    order: u64,
}

/// `Timer` with an order, for the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TimerKey(u8);

fn timer_key(t: Timer) -> TimerKey {
    TimerKey(match t {
        Timer::WaitState => 0,
        Timer::Retry => 1,
        Timer::TaskTimeout => 2,
        Timer::Heartbeat => 3,
        Timer::ExecutionTimeout => 4,
    })
}

fn timer_of(k: TimerKey) -> Timer {
    match k.0 {
        0 => Timer::WaitState,
        1 => Timer::Retry,
        2 => Timer::TaskTimeout,
        3 => Timer::Heartbeat,
        _ => Timer::ExecutionTimeout,
    }
}

/// Runs one execution to its end.
pub fn run(
    sm: &StateMachine,
    input: Value,
    tasks: &mut dyn TaskHandler,
    clock: &mut dyn Clock,
    opts: &RunOptions,
) -> RunOutcome {
    let mut exec = Execution::new(opts.execution_info(input, clock.now()));
    let mut history = Vec::new();
    let mut pending = Pending {
        tasks: VecDeque::new(),
        timers: BinaryHeap::new(),
        order: 0,
    };
    let mut next_event = Some(Event::Start);
    let mut steps = 0u64;
    while exec.status == Status::Running {
        let event = match next_event.take() {
            Some(e) => e,
            None => match next_from_world(&mut pending, tasks, clock) {
                Some(e) => e,
                None => Event::Stop {
                    error: Some("States.Runtime".into()),
                    cause: Some("The execution is waiting for a callback or an event that can never arrive in this run.".into()),
                },
            },
        };
        steps += 1;
        if steps > opts.max_steps {
            let env = Env {
                now: clock.now(),
                token_key: &opts.token_key,
            };
            let stop = Event::Stop {
                error: Some("States.Runtime".into()),
                cause: Some("step budget exhausted".into()),
            };
            if let Ok(step) = advance(&mut exec, sm, stop, &env) {
                history.extend(step.history);
            }
            break;
        }
        let env = Env {
            now: clock.now(),
            token_key: &opts.token_key,
        };
        match advance(&mut exec, sm, event, &env) {
            Ok(step) => {
                // Most runs are one step: take its history rather than copy it.
                if history.is_empty() {
                    history = step.history;
                } else {
                    history.extend(step.history);
                }
                for effect in step.effects {
                    match effect {
                        Effect::InvokeTask {
                            frame,
                            seq,
                            invocation,
                        } => pending.tasks.push_back((frame, seq, invocation)),
                        Effect::ScheduleTimer {
                            frame,
                            seq,
                            timer,
                            at,
                        } => {
                            pending.order += 1;
                            pending.timers.push(Reverse((
                                at,
                                pending.order,
                                frame,
                                seq,
                                timer_key(timer),
                            )));
                        }
                        Effect::Finished { .. } => {}
                    }
                }
            }
            // Stale events (a timer for a task that already answered) are dropped.
            Err(crate::EngineError::Stale { .. }) => {}
            Err(_) => break,
        }
    }
    RunOutcome {
        execution: exec,
        history,
    }
}

fn next_from_world(
    pending: &mut Pending,
    tasks: &mut dyn TaskHandler,
    clock: &mut dyn Clock,
) -> Option<Event> {
    while let Some((frame, seq, invocation)) = pending.tasks.pop_front() {
        match tasks.invoke(&invocation) {
            TaskResult::Succeeded(output) => {
                return Some(Event::TaskSucceeded { frame, seq, output })
            }
            TaskResult::Failed(f) => {
                return Some(Event::TaskFailed {
                    frame,
                    seq,
                    error: f.error,
                    cause: f.cause,
                })
            }
            TaskResult::AwaitingCallback => continue,
        }
    }
    let Reverse((at, _, frame, seq, key)) = pending.timers.pop()?;
    clock.sleep_until(at);
    Some(Event::TimerFired {
        frame,
        seq,
        timer: timer_of(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_def(def: &str) -> RunOutcome {
        let sm = StateMachine::from_json_str(def).expect("valid definition");
        run_simulated(&sm, json!({}), &mut NoTasks, &RunOptions::default())
    }

    #[test]
    fn a_variable_over_256_kib_fails_with_data_limit_exceeded() {
        let out = run_def(
            r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass",
                "Assign":{"big":"{% $join($map([1..30000], function($i){'0123456789'})) %}"},"End":true}}}"#,
        );
        assert_eq!(out.execution.status, Status::Failed);
        assert_eq!(
            out.execution.error.as_deref(),
            Some("States.DataLimitExceeded")
        );
        assert!(out.execution.cause.as_deref().unwrap().contains("'big'"));
    }

    #[test]
    fn variables_under_the_limits_are_kept_and_recorded() {
        let out = run_def(
            r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass",
                "Assign":{"x":"{% $join($map([1..1000], function($i){'0123456789'})) %}"},"Next":"B"},
                "B":{"Type":"Pass","Output":"{% $length($x) %}","End":true}}}"#,
        );
        assert_eq!(out.execution.status, Status::Succeeded);
        assert_eq!(out.execution.output.as_deref(), Some(&json!(10000)));
    }
}
