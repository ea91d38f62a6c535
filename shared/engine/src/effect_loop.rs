//! What every in-memory effect loop shares: the effects a run still has to
//! perform — tasks in the order they were asked for, timers in due order —
//! and the step budget that stops a livelock.
//!
//! [`crate::driver`] (blocking, for `flowstate run` and the conformance
//! corpus) and the runtime's StartSyncExecution (async, with callbacks)
//! both apply a step, keep its effects here, and take the next event from
//! the next task's answer ([`TaskResult::into_event`]) or the next timer.
//! They differ only in how they wait for that timer.
//!
//! [`TaskResult::into_event`]: crate::TaskResult::into_event

use crate::execution::{Effect, Event, FrameId, TaskInvocation, Timer};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A task to invoke, with what the shell tagged it with (e.g. the id it is
/// invoked under).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTask<T> {
    pub frame: FrameId,
    pub seq: u64,
    pub invocation: TaskInvocation,
    pub tag: T,
}

/// A timer to fire. Ordered by due time, then by the order it was
/// scheduled in, so that timers due together fire as they were set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PendingTimer {
    pub at: i64,
    scheduled: u64,
    pub frame: FrameId,
    pub seq: u64,
    pub timer: Timer,
}

impl PendingTimer {
    /// The event of this timer firing.
    pub fn fired(&self) -> Event {
        Event::TimerFired {
            frame: self.frame,
            seq: self.seq,
            timer: self.timer,
        }
    }
}

/// The effects of the steps so far that are still to be performed.
#[derive(Debug)]
pub struct PendingEffects<T = ()> {
    tasks: VecDeque<PendingTask<T>>,
    timers: BinaryHeap<Reverse<PendingTimer>>,
    scheduled: u64,
}

impl<T> Default for PendingEffects<T> {
    fn default() -> Self {
        PendingEffects {
            tasks: VecDeque::new(),
            timers: BinaryHeap::new(),
            scheduled: 0,
        }
    }
}

impl<T> PendingEffects<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps one effect of a step. `tag` goes with a task; `Finished`
    /// needs nothing performed in memory.
    pub fn push(&mut self, effect: Effect, tag: T) {
        match effect {
            Effect::InvokeTask {
                frame,
                seq,
                invocation,
            } => self.tasks.push_back(PendingTask {
                frame,
                seq,
                invocation,
                tag,
            }),
            Effect::ScheduleTimer {
                frame,
                seq,
                timer,
                at,
            } => {
                self.scheduled += 1;
                self.timers.push(Reverse(PendingTimer {
                    at,
                    scheduled: self.scheduled,
                    frame,
                    seq,
                    timer,
                }));
            }
            Effect::Finished { .. } => {}
        }
    }

    /// The oldest task not yet invoked.
    pub fn next_task(&mut self) -> Option<PendingTask<T>> {
        self.tasks.pop_front()
    }

    /// The timer due first, left in place.
    pub fn next_timer(&self) -> Option<&PendingTimer> {
        self.timers.peek().map(|Reverse(t)| t)
    }

    /// Takes the timer due first.
    pub fn pop_timer(&mut self) -> Option<PendingTimer> {
        self.timers.pop().map(|Reverse(t)| t)
    }
}

/// How many steps a run may take before it is stopped as a livelock.
#[derive(Debug, Clone, Copy)]
pub struct StepBudget {
    max: u64,
    used: u64,
}

impl Default for StepBudget {
    /// [`StepBudget::DEFAULT_MAX_STEPS`].
    fn default() -> Self {
        StepBudget::new(StepBudget::DEFAULT_MAX_STEPS)
    }
}

impl StepBudget {
    /// Far more than any real execution takes (Standard ones stop at
    /// 25,000 history events); only a livelock reaches it.
    pub const DEFAULT_MAX_STEPS: u64 = 10_000_000;

    pub fn new(max_steps: u64) -> StepBudget {
        StepBudget {
            max: max_steps,
            used: 0,
        }
    }

    /// The event to apply as the next step: `event` itself, or once the
    /// budget is spent, a Stop that aborts the execution with
    /// `States.Runtime`.
    pub fn admit(&mut self, event: Event) -> Event {
        self.used += 1;
        if self.used > self.max {
            Event::Stop {
                error: Some("States.Runtime".into()),
                cause: Some("step budget exhausted".into()),
            }
        } else {
            event
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(frame: FrameId, timer: Timer, at: i64) -> Effect {
        Effect::ScheduleTimer {
            frame,
            seq: 1,
            timer,
            at,
        }
    }

    #[test]
    fn timers_fire_in_due_order_then_in_the_order_they_were_set() {
        let mut pending = PendingEffects::new();
        pending.push(timer(1, Timer::Retry, 300), ());
        pending.push(timer(2, Timer::ExecutionTimeout, 100), ());
        pending.push(timer(3, Timer::WaitState, 100), ());
        assert_eq!(pending.next_timer().map(|t| t.frame), Some(2));
        let order: Vec<_> = std::iter::from_fn(|| pending.pop_timer())
            .map(|t| (t.frame, t.timer, t.at))
            .collect();
        assert_eq!(
            order,
            vec![
                (2, Timer::ExecutionTimeout, 100),
                (3, Timer::WaitState, 100),
                (1, Timer::Retry, 300)
            ]
        );
    }

    #[test]
    fn tasks_come_out_in_the_order_they_were_asked_for_with_their_tags() {
        let mut pending = PendingEffects::new();
        for (frame, tag) in [(4, "a"), (2, "b")] {
            let invocation = TaskInvocation {
                resource: "r".into(),
                parameters: serde_json::Value::Null,
                task_token: None,
                state_name: "T".into(),
                execution_arn: "arn".into(),
                timeout_seconds: None,
                heartbeat_seconds: None,
            };
            pending.push(
                Effect::InvokeTask {
                    frame,
                    seq: 7,
                    invocation,
                },
                tag,
            );
        }
        pending.push(
            Effect::Finished {
                status: crate::Status::Succeeded,
            },
            "ignored",
        );
        let order: Vec<_> = std::iter::from_fn(|| pending.next_task())
            .map(|t| (t.frame, t.tag))
            .collect();
        assert_eq!(order, vec![(4, "a"), (2, "b")]);
        assert!(pending.next_timer().is_none());
    }

    #[test]
    fn the_step_after_the_budget_is_a_stop() {
        let mut budget = StepBudget::new(2);
        assert_eq!(budget.admit(Event::Start), Event::Start);
        assert_eq!(budget.admit(Event::Start), Event::Start);
        assert!(matches!(
            budget.admit(Event::Start),
            Event::Stop { error: Some(e), .. } if e == "States.Runtime"
        ));
    }
}
