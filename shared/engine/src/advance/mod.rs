//! `advance`: one event in, one step out — the whole language at run time.
//!
//! A step runs to block: starting from the frame the event concerns, it
//! moves every frame it can through states that need nothing from the
//! world (Pass, Choice, Succeed, Fail, zero-length Wait, whole Parallel
//! branches and Map iterations made of those) and stops each frame at a
//! Task, a Wait, a retry back-off, a wait for its children, or its end —
//! or once the step has entered [`MAX_TRANSITIONS_PER_STEP`] states, when
//! the frames left wait for a `Timer::Continue` due at once: a step is
//! always bounded, even in an endless loop.
//! Frames are processed from a queue, never by recursion, so a Map of
//! 10,000 iterations is 10,000 queue entries, not 10,000 stack frames.
//!
//! [`MAX_TRANSITIONS_PER_STEP`]: crate::limits::MAX_TRANSITIONS_PER_STEP
//!
//! Call-order contract for the shell: persist the execution and
//! `Step::history` atomically, then perform `Step::effects`. If `advance`
//! returns an error, discard the execution value it was given.
//!
//! This module owns the entry point, the event dispatch and the
//! run-to-block loop; each state family has its own file:
//!
//! - `io`: the pipeline every state shares — entering, InputPath and
//!   Parameters (or Arguments), ResultSelector, ResultPath, OutputPath (or
//!   Output), Assign, the size checks, leaving;
//! - `states`: Pass, Choice, Wait, Succeed, Fail;
//! - `task`: Task states, their timeout and heartbeat timers;
//! - `fan_out`: Parallel and Map — child frames, concurrency, joins;
//! - `failure`: Retry and Catch;
//! - `frames`: history events, timers, creating and ending frames, ending
//!   the execution.

mod failure;
mod fan_out;
mod frames;
mod io;
mod numeric;
mod redrive;
mod states;
mod task;
#[cfg(test)]
mod tests;

use crate::execution::*;
use crate::history::Details;
use crate::inspect::Inspection;
use flowstate_asl::definition::{Kind, StateId, StateMachine};
use flowstate_asl::errors::{Failure, StatesError};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// The non-data inputs of a step.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// Now, in milliseconds since the Unix epoch.
    pub now: i64,
    /// Key that signs task tokens (HMAC-SHA256).
    pub token_key: &'a [u8],
}

/// Applies one event to an execution. See the module docs for the contract.
pub fn advance(
    exec: &mut Execution,
    sm: &StateMachine,
    event: Event,
    env: &Env<'_>,
) -> Result<Step, EngineError> {
    advance_with(exec, sm, event, env, None)
}

/// [`advance`], recording what the root frame's state does with its data
/// in `inspection` (TestState's DEBUG level).
pub fn advance_inspected(
    exec: &mut Execution,
    sm: &StateMachine,
    event: Event,
    env: &Env<'_>,
    inspection: &RefCell<Inspection>,
) -> Result<Step, EngineError> {
    advance_with(exec, sm, event, env, Some(inspection))
}

pub use redrive::{redrivable, redrive_point, NotRedrivable, RedrivePoint};

/// RedriveExecution: the ended execution runs again from `point` (see
/// [`redrive_point`]), after an `ExecutionRedriven` history event. Checks
/// [`redrivable`] first; the same call-order contract as [`advance`].
pub fn redrive(
    exec: &mut Execution,
    sm: &StateMachine,
    point: RedrivePoint,
    env: &Env<'_>,
) -> Result<Step, NotRedrivable> {
    redrivable(exec, env.now)?;
    if sm.blocks.is_empty() || point.state >= sm.states.len() {
        return Err(NotRedrivable(
            "The definition does not match the execution.".into(),
        ));
    }
    Ok(run_step(exec, sm, env, None, |run| {
        run.redrive(point);
        Ok(())
    })
    .unwrap_or_default())
}

fn advance_with(
    exec: &mut Execution,
    sm: &StateMachine,
    event: Event,
    env: &Env<'_>,
    inspection: Option<&RefCell<Inspection>>,
) -> Result<Step, EngineError> {
    if exec.status != Status::Running {
        return Err(EngineError::Ended(exec.status.as_str()));
    }
    run_step(exec, sm, env, inspection, |run| run.accept(event))
}

/// One step: `begin` feeds the run its event, then every frame it queued
/// runs to block.
fn run_step(
    exec: &mut Execution,
    sm: &StateMachine,
    env: &Env<'_>,
    inspection: Option<&RefCell<Inspection>>,
    begin: impl FnOnce(&mut Run<'_, '_>) -> Result<(), EngineError>,
) -> Result<Step, EngineError> {
    let exec_transitions = exec.transitions;
    let mut run = Run {
        exec,
        sm,
        env,
        step: Step::default(),
        queue: VecDeque::new(),
        changed: BTreeSet::new(),
        input_sizes: HashMap::new(),
        size_hint: RefCell::new(None),
        transitions_before: exec_transitions,
        continue_scheduled: false,
        inspection,
    };
    begin(&mut run)?;
    while let Some((fid, resume)) = run.queue.pop_front() {
        if run.exec.status != Status::Running {
            break;
        }
        if run.exec.frames.contains_key(&fid) {
            run.drive(fid, resume);
        }
    }
    run.exec.version += 1;
    for id in std::mem::take(&mut run.changed) {
        if run.exec.frames.contains_key(&id) {
            run.step.frames_changed.push(id);
        } else {
            run.step.frames_removed.push(id);
        }
    }
    Ok(run.step)
}

/// [`advance`], safe against a bug in the engine: when `advance` panics
/// (an arithmetic overflow, an index out of range, anything a value nobody
/// foresaw reaches), the execution fails with `States.Runtime` in the same
/// call, so that a shell never leaves it running to fail the same way on
/// every retry. The step the panic interrupted is lost: its history event
/// ids and transitions are handed out again, and the failing step follows
/// the last step that was applied.
pub fn advance_or_fail(
    exec: &mut Execution,
    sm: &StateMachine,
    event: Event,
    env: &Env<'_>,
) -> Result<Step, EngineError> {
    let before = (
        exec.last_event_id,
        exec.transitions,
        exec.version,
        exec.status,
    );
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        advance(exec, sm, event, env)
    }));
    match attempt {
        Ok(result) => result,
        Err(panic) => {
            (
                exec.last_event_id,
                exec.transitions,
                exec.version,
                exec.status,
            ) = before;
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            let cause = format!(
                "An internal error occurred in Flowstate while advancing the execution: {message}"
            );
            advance(exec, sm, Event::InternalError { cause }, env)
        }
    }
}

/// What `output_stage` learnt of the output it built by a ResultPath merge.
struct SizeHint {
    output: Arc<Value>,
    size: usize,
    too_deep: bool,
}

/// A state's output and the variables it assigned.
type StageOutput = (Arc<Value>, Option<Map<String, Value>>);

/// Why a frame is being driven.
enum Resume {
    Enter,
    /// Re-run the current state's work after a retry back-off (no new Entered event).
    Retry,
    TaskDone(Result<Value, Failure>),
    WaitDone,
    ChildrenDone,
    ChildFailed(Failure),
}

/// How a state's work ended.
enum Outcome {
    /// Leave the state with this output (to `next`, or end the frame).
    Exit {
        output: Arc<Value>,
        next: Option<StateId>,
        assigned: Option<Map<String, Value>>,
    },
    Failed(Failure),
    /// A Fail state: the frame fails, Retry/Catch do not apply.
    FailState(Failure),
    Blocked,
}

/// One step in progress: the execution it changes and what it has produced.
struct Run<'a, 'e> {
    exec: &'a mut Execution,
    sm: &'a StateMachine,
    env: &'a Env<'e>,
    step: Step,
    queue: VecDeque<(FrameId, Resume)>,
    /// Frames this step touched: the store rewrites or deletes only these.
    changed: BTreeSet<FrameId>,
    /// The compact JSON size of a frame's current input, measured when the
    /// previous state exited. Kept with the value it measures, so an entry
    /// applies only while `Arc::ptr_eq` holds: states that pass their input
    /// through (Choice, Succeed, OutputPath `$`) are not measured again.
    input_sizes: HashMap<FrameId, (Arc<Value>, usize)>,
    /// The size of the output `output_stage` just built, when it could be
    /// derived from the input's size (a ResultPath merge), for `exit`; and
    /// whether it nests too deep, found from the one member that changed.
    size_hint: RefCell<Option<SizeHint>>,
    /// The execution's transitions when this step began.
    transitions_before: u64,
    /// Whether this step has asked for a [`Timer::Continue`] already.
    continue_scheduled: bool,
    /// Where the root frame's data flow is recorded, when asked.
    inspection: Option<&'a RefCell<Inspection>>,
}

impl Run<'_, '_> {
    // ---- events -------------------------------------------------------

    fn accept(&mut self, event: Event) -> Result<(), EngineError> {
        match event {
            Event::Start => self.start()?,
            Event::Stop { error, cause } => {
                self.end_execution(Status::Aborted, None, error, cause);
            }
            Event::InternalError { cause } => {
                if self.exec.last_event_id == 0 {
                    // It failed while starting: the history still begins
                    // with the start.
                    self.emit_exec(Details::ExecutionStarted {
                        input: self.exec.info.input.clone(),
                        role_arn: self.exec.info.role_arn.clone(),
                        state_machine_arn: self.exec.info.state_machine_arn.clone(),
                    });
                }
                self.end_execution(
                    Status::Failed,
                    None,
                    Some(StatesError::Runtime.name().into()),
                    Some(cause),
                );
            }
            Event::TimerFired {
                timer: Timer::Continue,
                frame,
                seq,
            } => {
                let parked: Vec<FrameId> = self
                    .exec
                    .frames
                    .values()
                    .filter(|f| matches!(f.waiting, Waiting::Continue))
                    .map(|f| f.id)
                    .collect();
                if parked.is_empty() {
                    return Err(EngineError::Stale { frame, seq });
                }
                for fid in parked {
                    if let Some(f) = self.exec.frames.get_mut(&fid) {
                        f.waiting = Waiting::Nothing;
                    }
                    self.queue.push_back((fid, Resume::Enter));
                }
            }
            Event::TimerFired {
                timer: Timer::ExecutionTimeout,
                frame,
                seq,
            } => {
                // A timeout of an attempt before the latest redrive.
                if seq != u64::from(self.exec.redrive_count) {
                    return Err(EngineError::Stale { frame, seq });
                }
                self.end_execution(
                    Status::TimedOut,
                    None,
                    Some(StatesError::Timeout.name().into()),
                    Some("The execution timed out.".into()),
                );
            }
            Event::TaskSucceeded { frame, seq, output } => {
                self.expect_task(frame, seq)?;
                self.queue.push_back((frame, Resume::TaskDone(Ok(output))));
            }
            Event::TaskFailed {
                frame,
                seq,
                error,
                cause,
            } => {
                self.expect_task(frame, seq)?;
                self.queue
                    .push_back((frame, Resume::TaskDone(Err(Failure { error, cause }))));
            }
            Event::TaskHeartbeat { frame, seq } => {
                self.expect_task(frame, seq)?;
                self.heartbeat(frame);
            }
            Event::ActivityStarted {
                frame,
                seq,
                worker_name,
            } => {
                self.expect_task(frame, seq)?;
                self.activity_started(frame, worker_name)?;
            }
            Event::TimerFired { frame, seq, timer } => {
                let f = self
                    .exec
                    .frames
                    .get(&frame)
                    .ok_or(EngineError::Stale { frame, seq })?;
                if f.seq != seq {
                    return Err(EngineError::Stale { frame, seq });
                }
                match (timer, &f.waiting) {
                    (Timer::WaitState, Waiting::WaitState { .. }) => {
                        self.queue.push_back((frame, Resume::WaitDone))
                    }
                    (Timer::Retry, Waiting::Retry { .. }) => {
                        self.queue.push_back((frame, Resume::Retry))
                    }
                    (Timer::TaskTimeout | Timer::Heartbeat, Waiting::Task(_)) => {
                        self.task_timer(frame, seq, timer)
                    }
                    _ => return Err(EngineError::Stale { frame, seq }),
                }
            }
        }
        Ok(())
    }

    /// `Event::Start`: the ExecutionStarted event, the root frame, and the
    /// execution's own timeout.
    fn start(&mut self) -> Result<(), EngineError> {
        if !self.exec.frames.is_empty() || self.exec.last_event_id > 0 {
            return Err(EngineError::AlreadyStarted);
        }
        let block = self
            .sm
            .blocks
            .first()
            .ok_or_else(|| EngineError::Corrupt("no states".into()))?;
        let input = self.exec.info.input.clone();
        let id = self.emit_exec(Details::ExecutionStarted {
            input: input.clone(),
            role_arn: self.exec.info.role_arn.clone(),
            state_machine_arn: self.exec.info.state_machine_arn.clone(),
        });
        let timeout = [
            self.exec.info.timeout_seconds.or(self.sm.timeout_seconds),
            self.exec.info.limits.max_duration_seconds,
        ]
        .into_iter()
        .flatten()
        .min();
        let root = self.new_frame(None, 0, block.start_at, input, Map::new(), false, id);
        if let Some(t) = timeout {
            let at = self
                .exec
                .info
                .start_time
                .saturating_add((t as i64).saturating_mul(1000));
            self.schedule(ROOT, 0, Timer::ExecutionTimeout, at);
        }
        self.queue.push_back((root, Resume::Enter));
        Ok(())
    }

    fn expect_task(&self, frame: FrameId, seq: u64) -> Result<(), EngineError> {
        match self.exec.frames.get(&frame) {
            Some(f) if f.seq == seq && matches!(f.waiting, Waiting::Task(_)) => Ok(()),
            _ => Err(EngineError::Stale { frame, seq }),
        }
    }

    // ---- the frame loop -----------------------------------------------

    /// Runs one frame until it blocks or ends.
    fn drive(&mut self, fid: FrameId, first: Resume) {
        self.changed.insert(fid);
        let mut resume = first;
        loop {
            if self.exec.status != Status::Running || !self.exec.frames.contains_key(&fid) {
                return;
            }
            let outcome = match resume {
                Resume::Enter => {
                    if let Some(cause) = self.limit_reached() {
                        self.end_execution(
                            Status::Failed,
                            None,
                            Some(StatesError::Runtime.name().into()),
                            Some(cause),
                        );
                        return;
                    }
                    if self.exec.transitions - self.transitions_before
                        >= crate::limits::MAX_TRANSITIONS_PER_STEP
                    {
                        self.continue_next_step(fid);
                        return;
                    }
                    self.enter(fid);
                    self.work(fid)
                }
                Resume::Retry => self.work(fid),
                Resume::TaskDone(r) => self.task_done(fid, r),
                Resume::WaitDone => self.wait_done(fid),
                Resume::ChildrenDone => self.children_done(fid),
                Resume::ChildFailed(f) => Outcome::Failed(f),
            };
            resume = match outcome {
                Outcome::Blocked => return,
                Outcome::Exit {
                    output,
                    next,
                    assigned,
                } => match self.exit(fid, output, next, assigned) {
                    Some(r) => r,
                    None => return,
                },
                Outcome::FailState(f) => {
                    self.finish_frame(fid, Err(f));
                    return;
                }
                Outcome::Failed(f) => match self.handle_failure(fid, f) {
                    Some(r) => r,
                    None => return,
                },
            };
        }
    }

    /// Why the execution may not enter another state, if it may not: the
    /// history event or transition limit of its type.
    fn limit_reached(&self) -> Option<String> {
        let limits = &self.exec.info.limits;
        if let Some(limit) = limits.max_history_events {
            if self.exec.last_event_id + 2 >= limit {
                return Some(format!(
                    "The execution reached the maximum number of history events ({limit})."
                ));
            }
        }
        match limits.max_transitions {
            Some(max) if self.exec.transitions >= max => {
                Some(crate::limits::transition_limit_cause(max))
            }
            _ => None,
        }
    }

    /// Leaves the frame about to enter its state for the next step, which
    /// a [`Timer::Continue`] due now starts (one per step, for every frame
    /// left so).
    fn continue_next_step(&mut self, fid: FrameId) {
        if let Some(f) = self.exec.frames.get_mut(&fid) {
            f.waiting = Waiting::Continue;
        }
        if !self.continue_scheduled {
            self.continue_scheduled = true;
            self.schedule(ROOT, 0, Timer::Continue, self.env.now);
        }
    }

    /// The current state's own work, by its type.
    fn work(&mut self, fid: FrameId) -> Outcome {
        let Some(f) = self.exec.frames.get(&fid) else {
            return Outcome::Blocked;
        };
        let state = self.sm.state(f.state);
        let result = match &state.kind {
            Kind::Pass { result } => self.pass(fid, result.as_ref()),
            Kind::Task(_) => self.task_start(fid),
            Kind::Choice { .. } => self.choice(fid),
            Kind::Wait(w) => self.wait(fid, w),
            Kind::Succeed => self.succeed(fid),
            Kind::Fail(fail) => match self.fail_state(fid, fail) {
                Ok(f) => Ok(Outcome::FailState(f)),
                Err(f) => Err(f),
            },
            Kind::Parallel { branches } => self.parallel_start(fid, branches),
            Kind::Map(m) => self.map_start(fid, m),
        };
        result.unwrap_or_else(Outcome::Failed)
    }
}
