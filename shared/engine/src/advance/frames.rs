//! The step's bookkeeping: appending history events, asking for timers,
//! creating a frame, ending one (into its parent's join, or as the
//! execution's end), and ending the execution.

use super::Run;
use crate::execution::*;
use crate::history::{Details, HistoryEvent};
use flowstate_asl::definition::{BlockId, StateId};
use flowstate_asl::errors::Failure;
use serde_json::{Map, Value};
use std::sync::Arc;

impl Run<'_, '_> {
    /// Appends a history event after the frame's latest one.
    pub(super) fn emit(&mut self, fid: FrameId, details: Details) -> u64 {
        self.changed.insert(fid);
        let (previous, hidden) = match self.exec.frames.get(&fid) {
            Some(f) => (f.last_event_id, f.hidden),
            None => (self.exec.last_event_id, false),
        };
        if hidden {
            return previous;
        }
        let id = self.exec.last_event_id + 1;
        self.exec.last_event_id = id;
        if let Some(f) = self.exec.frames.get_mut(&fid) {
            f.last_event_id = id;
        }
        if self
            .exec
            .info
            .limits
            .max_recorded_events
            .is_none_or(|kept| id <= kept)
        {
            self.step.history.push(HistoryEvent {
                id,
                previous_event_id: previous,
                timestamp: self.env.now,
                details,
            });
        }
        id
    }

    /// Asks the shell to fire `timer` for `frame`'s wait `seq` at `at`.
    /// Times past [`MAX_TIME`] (a back-off or a timeout of many millennia)
    /// are set at it: no clock reaches either, and simulated runs that jump
    /// there still show times every reader can parse.
    ///
    /// [`MAX_TIME`]: crate::limits::MAX_TIME
    pub(super) fn schedule(&mut self, frame: FrameId, seq: u64, timer: Timer, at: i64) {
        self.step.effects.push(Effect::ScheduleTimer {
            frame,
            seq,
            timer,
            at: at.min(crate::limits::MAX_TIME),
        });
    }

    /// Appends an execution-level history event after the latest one of all
    /// (always recorded: readers see how an execution started and ended).
    pub(super) fn emit_exec(&mut self, details: Details) -> u64 {
        let id = self.exec.last_event_id + 1;
        let previous = self.exec.last_event_id;
        self.exec.last_event_id = id;
        self.step.history.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: self.env.now,
            details,
        });
        id
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_frame(
        &mut self,
        parent: Option<(FrameId, usize)>,
        block: BlockId,
        state: StateId,
        input: Arc<Value>,
        variables: Map<String, Value>,
        hidden: bool,
        last_event_id: u64,
    ) -> FrameId {
        let id = self.exec.next_frame_id;
        self.exec.next_frame_id += 1;
        self.changed.insert(id);
        self.exec.frames.insert(
            id,
            Frame {
                parent,
                entered_time: self.env.now,
                last_event_id,
                variables,
                hidden,
                data_rev: self.exec.version + 1,
                ..Frame::new(id, block, state, input)
            },
        );
        id
    }

    /// Ends a frame with its output or failure: the root ends the
    /// execution, a child reports to its Parallel or Map.
    pub(super) fn finish_frame(&mut self, fid: FrameId, result: Result<Arc<Value>, Failure>) {
        self.changed.insert(fid);
        let Some(frame) = self.exec.frames.get(&fid) else {
            return;
        };
        match frame.parent {
            Some((pid, slot)) => self.child_finished(fid, pid, slot, result),
            None => match result {
                Ok(output) => self.end_execution(Status::Succeeded, Some(output), None, None),
                Err(f) => {
                    let error = if f.error.is_empty() {
                        None
                    } else {
                        Some(f.error)
                    };
                    self.end_execution(Status::Failed, None, error, f.cause)
                }
            },
        }
    }

    pub(super) fn end_execution(
        &mut self,
        status: Status,
        output: Option<Arc<Value>>,
        error: Option<String>,
        cause: Option<String>,
    ) {
        let details = match status {
            Status::Succeeded => Details::ExecutionSucceeded {
                output: output.clone().unwrap_or_default(),
            },
            Status::Failed => Details::ExecutionFailed {
                error: error.clone(),
                cause: cause.clone(),
            },
            Status::TimedOut => Details::ExecutionTimedOut {
                error: error.clone(),
                cause: cause.clone(),
            },
            Status::Aborted | Status::Running => Details::ExecutionAborted {
                error: error.clone(),
                cause: cause.clone(),
            },
        };
        self.emit_exec(details);
        self.exec.status = status;
        self.exec.output = output;
        self.exec.error = error;
        self.exec.cause = cause;
        self.exec.stop_time = Some(self.env.now);
        self.exec.frames.clear();
        self.queue.clear();
        self.step.effects.push(Effect::Finished { status });
    }
}
