//! RedriveExecution: an ended execution resumes from the state that did
//! not finish, rebuilt from its own history (frames are gone once an
//! execution ends), without re-running the states that succeeded.
//!
//! The point to resume from is the root frame's last `…StateEntered`
//! without its `…StateExited`: that state is entered again with the input
//! it was entered with, and the variables the root frame had assigned
//! (each root `…StateExited` records its `assignedVariables`). A Parallel
//! or Map state that did not finish would need its succeeded branches and
//! iterations kept; that is refused for now ([`NotRedrivable`]).

use super::{Resume, Run};
use crate::execution::*;
use crate::history::{Details, HistoryEvent};
use flowstate_asl::definition::{Kind, StateId, StateMachine};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Why an execution cannot be redriven: AWS's `redriveStatusReason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotRedrivable(pub String);

/// Where a redriven execution resumes: the root state to enter again, its
/// input, and the root frame's variables at that point.
#[derive(Debug, Clone, PartialEq)]
pub struct RedrivePoint {
    pub state: StateId,
    pub input: Arc<Value>,
    pub variables: Map<String, Value>,
}

/// Whether an ended execution may be redriven, by the rules that depend
/// on the execution alone (status, history and duration limits).
pub fn redrivable(exec: &Execution, now: i64) -> Result<(), NotRedrivable> {
    match exec.status {
        Status::Failed | Status::TimedOut | Status::Aborted => {}
        Status::Running | Status::Succeeded => {
            return Err(NotRedrivable(format!(
                "Execution is {} and cannot be redriven.",
                exec.status.as_str()
            )))
        }
    }
    let limits = &exec.info.limits;
    // ExecutionRedriven and the state's Entered event must fit.
    if limits
        .max_history_events
        .is_some_and(|max| exec.last_event_id + 2 >= max)
    {
        return Err(NotRedrivable(
            "Execution history event limit exceeded.".into(),
        ));
    }
    if let Some(max) = limits.max_duration_seconds {
        let end = exec
            .info
            .start_time
            .saturating_add((max as i64).saturating_mul(1000));
        if now >= end {
            return Err(NotRedrivable(
                "Execution has exceeded the max execution time.".into(),
            ));
        }
    }
    Ok(())
}

/// The point an ended execution resumes from, out of its whole history
/// (oldest first).
pub fn redrive_point(
    sm: &StateMachine,
    history: &[HistoryEvent],
) -> Result<RedrivePoint, NotRedrivable> {
    let root = sm
        .blocks
        .first()
        .ok_or_else(|| NotRedrivable("The state machine has no states.".into()))?;
    let mut current: Option<(StateId, Arc<Value>)> = None;
    let mut variables = Map::new();
    for event in history {
        match &event.details {
            Details::StateEntered { name, input, .. } => {
                if let Some(id) = root.names.get(name) {
                    current = Some((*id, input.clone()));
                }
            }
            Details::StateExited {
                name,
                assigned_variables,
                ..
            } if root.names.contains_key(name) => {
                current = None;
                // Recorded as JSON text, as AWS shows them.
                for (k, v) in assigned_variables.iter().flatten() {
                    let value = match v {
                        Value::String(text) => {
                            serde_json::from_str(text).unwrap_or_else(|_| v.clone())
                        }
                        other => other.clone(),
                    };
                    variables.insert(k.clone(), value);
                }
            }
            _ => {}
        }
    }
    let Some((state, input)) = current else {
        return Err(NotRedrivable(
            "The execution did not stop in a state: there is no state to redrive from.".into(),
        ));
    };
    if matches!(sm.state(state).kind, Kind::Parallel { .. } | Kind::Map(_)) {
        return Err(NotRedrivable(format!(
            "The execution stopped in {} state '{}': Flowstate does not redrive Parallel and Map states yet.",
            sm.state(state).type_name(),
            sm.state(state).name
        )));
    }
    Ok(RedrivePoint {
        state,
        input,
        variables,
    })
}

impl Run<'_, '_> {
    /// Makes the ended execution run again from `point`: the
    /// `ExecutionRedriven` event, a new root frame entering the state, and
    /// the execution's timeout counted from now.
    pub(super) fn redrive(&mut self, point: RedrivePoint) {
        let exec = &mut *self.exec;
        exec.status = Status::Running;
        exec.output = None;
        exec.error = None;
        exec.cause = None;
        exec.stop_time = None;
        exec.frames.clear();
        exec.redrive_count += 1;
        let redrive_count = exec.redrive_count;
        let id = self.emit_exec(Details::ExecutionRedriven { redrive_count });
        // A new frame id: events still queued for the frames of the
        // previous attempt find no frame and are dropped as stale.
        let root = self.new_frame(
            None,
            0,
            point.state,
            point.input,
            point.variables,
            false,
            id,
        );
        // The definition's timeout runs from the redrive; the year a
        // Standard execution may last, from its start.
        let now = self.env.now;
        let info = &self.exec.info;
        let due = [
            info.timeout_seconds
                .or(self.sm.timeout_seconds)
                .map(|t| now.saturating_add((t as i64).saturating_mul(1000))),
            info.limits.max_duration_seconds.map(|t| {
                info.start_time
                    .saturating_add((t as i64).saturating_mul(1000))
            }),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at) = due {
            // Its seq is the attempt: the previous attempts' timeouts are stale.
            self.schedule(ROOT, u64::from(redrive_count), Timer::ExecutionTimeout, at);
        }
        self.queue.push_back((root, Resume::Enter));
    }
}
