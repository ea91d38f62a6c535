//! A state's failure: where it happened (for runtime and evaluation
//! errors), Retry (back-off timers, attempts per retrier), Catch (the error
//! output through ResultPath or Output, Assign, on to the catcher's Next),
//! and otherwise the failure of the frame.

use super::{Resume, Run, StageOutput};
use crate::dataflow;
use crate::execution::*;
use crate::history::Details;
use crate::inspect::RetryDecision;
use flowstate_asl::definition::{Assign, Catcher, Io, Kind, Retrier};
use flowstate_asl::errors::{error_matches, Failure, StatesError};
use serde_json::{json, Map, Value};
use std::sync::Arc;

impl Run<'_, '_> {
    /// Retries, catches, or fails the frame. Returns how to go on, if at all.
    pub(super) fn handle_failure(&mut self, fid: FrameId, failure: Failure) -> Option<Resume> {
        let failure = self.locate_failure(fid, failure)?;
        self.inspect(fid, |i| i.failure = Some(failure.clone()));
        if self.retry(fid, &failure) {
            return None;
        }
        let f = self.exec.frames.get(&fid)?;
        let state = self.sm.state(f.state);
        if let Some((index, c)) = state
            .catch
            .iter()
            .enumerate()
            .find(|(_, c)| error_matches(&c.error_equals, &failure.error))
        {
            self.inspect(fid, |i| i.catch_index = Some(index));
            return match self.caught(f, c, &failure) {
                Ok((output, assigned)) => self.exit(fid, output, Some(c.next), assigned),
                Err(f2) => {
                    self.finish_frame(fid, Err(f2));
                    None
                }
            };
        }
        self.finish_frame(fid, Err(failure));
        None
    }

    /// Names the state in the cause of a runtime or evaluation error, and
    /// records an evaluation error's `EvaluationFailed` event.
    fn locate_failure(&mut self, fid: FrameId, failure: Failure) -> Option<Failure> {
        let f = self.exec.frames.get(&fid)?;
        let state = self.sm.state(f.state);
        let entered = f.entered_event_id;
        let failure = if failure.error.starts_with("States.")
            && failure
                .cause
                .as_deref()
                .is_some_and(|c| !c.starts_with("An error occurred"))
            && matches!(
                failure.error.as_str(),
                "States.Runtime" | "States.QueryEvaluationError" | "States.IntrinsicFailure"
            ) {
            failure.in_state(&state.name, entered)
        } else {
            failure
        };
        if failure.error == StatesError::QueryEvaluationError.name() {
            let is_map = matches!(state.kind, Kind::Map(_));
            self.emit(
                fid,
                Details::EvaluationFailed {
                    error: Some(failure.error.clone()),
                    cause: failure.cause.clone(),
                    state: state.name.clone(),
                    location: None,
                },
            );
            // A Map that fails before it starts its iterations still closes.
            if is_map {
                self.emit(fid, Details::MapStateFailed);
            }
        }
        Some(failure)
    }

    /// Schedules the next attempt when the first retrier that matches the
    /// error has attempts left.
    fn retry(&mut self, fid: FrameId, failure: &Failure) -> bool {
        let Some(f) = self.exec.frames.get(&fid) else {
            return false;
        };
        let state = self.sm.state(f.state);
        let Some((i, r)) = state
            .retry
            .iter()
            .enumerate()
            .find(|(_, r)| error_matches(&r.error_equals, &failure.error))
        else {
            return false;
        };
        let used = f.retry_counts.get(i).copied().unwrap_or(0);
        if used >= r.max_attempts {
            return false;
        }
        let delay = retry_delay(
            r,
            used,
            dataflow::seed(&self.exec.info.arn, fid, self.exec.last_event_id),
        );
        let due = self
            .env
            .now
            .saturating_add(delay)
            .min(crate::limits::MAX_TIME);
        let Some(f) = self.exec.frames.get_mut(&fid) else {
            return false;
        };
        if f.retry_counts.len() <= i {
            f.retry_counts.resize(i + 1, 0);
        }
        f.retry_counts[i] += 1;
        f.seq += 1;
        let seq = f.seq;
        f.waiting = Waiting::Retry { due };
        self.schedule(fid, seq, Timer::Retry, due);
        self.inspect(fid, |insp| {
            insp.retry = Some(RetryDecision {
                index: i,
                delay_millis: delay,
            })
        });
        true
    }

    /// The output and variables a catcher gives the error output
    /// (`{"Error": ..., "Cause": ...}`).
    fn caught(&self, f: &Frame, c: &Catcher, failure: &Failure) -> Result<StageOutput, Failure> {
        let state = self.sm.state(f.state);
        let mut error_output = Map::new();
        error_output.insert("Error".into(), json!(failure.error));
        error_output.insert(
            "Cause".into(),
            json!(failure.cause.clone().unwrap_or_default()),
        );
        let error_output = Value::Object(error_output);
        match &state.io {
            Io::JsonPath { .. } => {
                let assigned = match &c.assign {
                    Some(Assign::JsonPath(t)) => {
                        let scope = self.scope(f, &state.name);
                        match t.evaluate(&error_output, &scope, self.seed(f))? {
                            Value::Object(m) => Some(m),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let output =
                    dataflow::result_path(&c.result_path, &f.input, Arc::new(error_output))?;
                Ok((output, assigned))
            }
            Io::Jsonata { .. } => {
                let states =
                    self.states_binding(f, &state.name, None, Some(&error_output), None, None);
                let output = match &c.output {
                    Some(t) => Arc::new(self.eval_jsonata(f, t, states.clone(), "Output")?),
                    None => Arc::new(error_output),
                };
                let assigned = match &c.assign {
                    Some(Assign::Jsonata(t)) => match self.eval_jsonata(f, t, states, "Assign")? {
                        Value::Object(m) => Some(m),
                        _ => None,
                    },
                    _ => None,
                };
                Ok((output, assigned))
            }
        }
    }
}

/// Retry back-off in milliseconds for the attempt after `used` earlier ones.
fn retry_delay(r: &Retrier, used: u32, seed: u64) -> i64 {
    let mut secs = r.interval_seconds * r.backoff_rate.powi(used as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max);
    }
    if r.jitter_full {
        // A uniform draw in [0, 1) from the seed: deterministic per attempt.
        let x = dataflow::splitmix(seed) as f64 / u64::MAX as f64;
        secs *= x;
    }
    (secs * 1000.0).round().clamp(0.0, i64::MAX as f64 / 2.0) as i64
}
