//! The in-memory driver: runs one execution to its end, performing effects
//! through a [`TaskHandler`] and a [`RunClock`].
//!
//! It is the smallest shell around [`crate::advance`]: apply a step, then
//! perform its effects — tasks in the order they were asked for, timers in
//! due order ([`crate::effect_loop`]). With
//! [`SimulatedRunClock`] a one-year Wait takes no time at all.

use crate::effect_loop::{PendingEffects, StepBudget};
use crate::execution::{
    Event, Execution, ExecutionInfo, Limits, Status, TaskInvocation, TaskResult,
};
use crate::history::HistoryEvent;
use crate::{advance_or_fail, Env};
use flowstate_asl::definition::StateMachine;
use flowstate_asl::errors::Failure;
use serde_json::Value;
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

/// Time as one in-memory run sees it, in epoch milliseconds. Blocking,
/// unlike the runtime's async `Clock` port: the driver has nothing else to
/// do while it waits.
pub trait RunClock {
    fn now(&self) -> i64;
    /// Returns once `at` has been reached.
    fn sleep_until(&mut self, at: i64);
}

/// Time that jumps straight to the next timer.
pub struct SimulatedRunClock(pub i64);

impl RunClock for SimulatedRunClock {
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
            max_steps: StepBudget::DEFAULT_MAX_STEPS,
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
    let mut clock = SimulatedRunClock(opts.start_time);
    run(sm, input, tasks, &mut clock, opts)
}

/// Runs one execution to its end, keeping its whole history.
pub fn run(
    sm: &StateMachine,
    input: Value,
    tasks: &mut dyn TaskHandler,
    clock: &mut dyn RunClock,
    opts: &RunOptions,
) -> RunOutcome {
    let mut history = Vec::new();
    let execution = run_streaming(sm, input, tasks, clock, opts, &mut |events| {
        // Most runs are one step: take its history rather than copy it.
        if history.is_empty() {
            history = events;
        } else {
            history.extend(events);
        }
    });
    RunOutcome { execution, history }
}

/// Runs one execution to its end, handing each step's history events to
/// `on_history` as the step is applied instead of keeping them: memory
/// stays bounded however long the execution runs.
pub fn run_streaming(
    sm: &StateMachine,
    input: Value,
    tasks: &mut dyn TaskHandler,
    clock: &mut dyn RunClock,
    opts: &RunOptions,
    on_history: &mut dyn FnMut(Vec<HistoryEvent>),
) -> Execution {
    let mut exec = Execution::new(opts.execution_info(input, clock.now()));
    let mut pending = PendingEffects::new();
    let mut budget = StepBudget::new(opts.max_steps);
    let mut next_event = Some(Event::Start);
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
        let env = Env {
            now: clock.now(),
            token_key: &opts.token_key,
        };
        match advance_or_fail(&mut exec, sm, budget.admit(event), &env) {
            Ok(step) => {
                on_history(step.history);
                for effect in step.effects {
                    pending.push(effect, ());
                }
            }
            // Stale events (a timer for a task that already answered) are dropped.
            Err(crate::EngineError::Stale { .. }) => {}
            Err(_) => break,
        }
    }
    exec
}

/// The next event from the world: the next task's answer (tasks waiting
/// for a callback give none), else the next timer, once the clock reaches it.
fn next_from_world(
    pending: &mut PendingEffects,
    tasks: &mut dyn TaskHandler,
    clock: &mut dyn RunClock,
) -> Option<Event> {
    while let Some(task) = pending.next_task() {
        if let Some(event) =
            tasks
                .invoke(&task.invocation)
                .into_event(task.frame, task.seq, &task.invocation)
        {
            return Some(event);
        }
    }
    let timer = pending.pop_timer()?;
    clock.sleep_until(timer.at);
    Some(timer.fired())
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
    fn issue_12_a_panic_in_a_step_fails_the_run_with_states_runtime() {
        let mut sm = StateMachine::from_json_str(
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#,
        )
        .expect("valid definition");
        // Leaving the Wait then enters a state that does not exist: a panic.
        sm.states[0].next = Some(99);
        let out = run_simulated(&sm, json!({}), &mut NoTasks, &RunOptions::default());
        assert_eq!(out.execution.status, Status::Failed);
        assert_eq!(out.execution.error.as_deref(), Some("States.Runtime"));
        let types: Vec<_> = out.history.iter().map(|e| e.type_name()).collect();
        assert_eq!(
            types,
            ["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]
        );
    }

    #[test]
    fn issue_12_an_endless_loop_streams_bounded_steps_until_the_transition_cap() {
        let sm = StateMachine::from_json_str(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}"#,
        )
        .expect("valid definition");
        let opts = RunOptions {
            limits: Limits {
                max_transitions: Some(35_000),
                ..Limits::LOCAL
            },
            ..RunOptions::default()
        };
        let (mut steps, mut events, mut largest) = (0, 0, 0);
        let exec = run_streaming(
            &sm,
            json!({}),
            &mut NoTasks,
            &mut SimulatedRunClock(0),
            &opts,
            &mut |h| {
                steps += 1;
                events += h.len();
                largest = largest.max(h.len());
            },
        );
        assert_eq!(exec.status, Status::Failed);
        assert_eq!(
            exec.cause,
            Some(crate::limits::transition_limit_cause(35_000))
        );
        assert_eq!((steps, events), (4, 2 + 2 * 35_000));
        assert!(largest <= 2 * crate::limits::MAX_TRANSITIONS_PER_STEP as usize + 1);
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
