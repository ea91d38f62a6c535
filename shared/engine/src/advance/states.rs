//! The states that need nothing from the world but time: Pass, Choice,
//! Succeed, Fail and Wait (its timer and its end).

use super::io::{plain_or_null, unexpected_type, Resolved};
use super::numeric::NumericField;
use super::{Outcome, Run};
use crate::dataflow::{self, runtime};
use crate::execution::*;
use flowstate_asl::definition::{Condition, Dynamic, Fail, Io, Kind, Wait};
use flowstate_asl::errors::{Failure, StatesError};
use serde_json::Value;
use std::sync::Arc;

impl Run<'_, '_> {
    pub(super) fn pass(
        &mut self,
        fid: FrameId,
        result: Option<&Value>,
    ) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let next = state.next;
        let r = match (&state.io, result) {
            (Io::JsonPath { .. }, Some(r)) => {
                // InputPath still applies (and may fail) even when Result wins.
                self.effective_input(fid, false)?;
                Arc::new(r.clone())
            }
            (Io::JsonPath { .. }, None) => self.effective_input(fid, true)?,
            (Io::Jsonata { .. }, _) => {
                let (output, assigned) = self.output_stage(fid, None, None, None)?;
                return Ok(Outcome::Exit {
                    output,
                    next,
                    assigned,
                });
            }
        };
        let (output, assigned) = self.output_stage(fid, Some(r), None, None)?;
        Ok(Outcome::Exit {
            output,
            next,
            assigned,
        })
    }

    pub(super) fn succeed(&mut self, fid: FrameId) -> Result<Outcome, Failure> {
        let (output, assigned) = self.output_stage(fid, None, None, None)?;
        Ok(Outcome::Exit {
            output,
            next: None,
            assigned,
        })
    }

    pub(super) fn choice(&mut self, fid: FrameId) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let Kind::Choice { choices, default } = &state.kind else {
            return Err(runtime("internal: not a Choice"));
        };
        let effective = self.effective_input(fid, false)?;
        let scope = self.scope(f, &state.name);
        let mut states_binding = None;
        for (i, c) in choices.iter().enumerate() {
            let matched = match &c.condition {
                Condition::JsonPath(rule) => rule.evaluate(&effective, &scope)?,
                Condition::Jsonata(t) => {
                    let states = states_binding
                        .get_or_insert_with(|| {
                            self.states_binding(f, &state.name, None, None, None, None)
                        })
                        .clone();
                    match self.eval_jsonata(f, t, states, "Condition")? {
                        Value::Bool(b) => b,
                        other => {
                            return Err(unexpected_type(
                                &format!("Choices[{i}].Condition"),
                                "boolean",
                                t,
                                &other,
                            ))
                        }
                    }
                }
            };
            if matched {
                let (output, assigned) =
                    self.output_stage(fid, None, c.output.as_ref(), c.assign.as_ref())?;
                return Ok(Outcome::Exit {
                    output,
                    next: Some(c.next),
                    assigned,
                });
            }
        }
        match default {
            Some(d) => {
                let (output, assigned) = self.output_stage(fid, None, None, None)?;
                Ok(Outcome::Exit {
                    output,
                    next: Some(*d),
                    assigned,
                })
            }
            None => Err(Failure::states(StatesError::NoChoiceMatched, "No Matches!")),
        }
    }

    /// A Fail state's error and cause (the frame then fails without Retry
    /// or Catch); `Err` when evaluating them fails.
    pub(super) fn fail_state(&mut self, fid: FrameId, fail: &Fail) -> Result<Failure, Failure> {
        let f = self.frame(fid)?;
        let pick = |d: &Option<Dynamic>, field: &str| -> Result<Option<String>, Failure> {
            let Some(d) = d else {
                return Ok(None);
            };
            let v = match self.resolve(f, d, &f.input, field)? {
                Resolved::Literal(v) => v.clone(),
                Resolved::Path(v, path) => v.ok_or_else(|| {
                    runtime(format!(
                        "The JSONPath '{}' specified for the field '{field}Path' could not be found in the input '{}'",
                        path.as_str(),
                        dataflow::compact(&f.input)
                    ))
                })?,
                Resolved::Jsonata(v, _) if v.is_string() => v,
                Resolved::Jsonata(other, t) => {
                    return Err(unexpected_type(field, "string", t, &other))
                }
            };
            Ok(Some(dataflow::plain(&v)))
        };
        let error = pick(&fail.error, "Error")?;
        let cause = pick(&fail.cause, "Cause")?;
        Ok(Failure {
            error: error.unwrap_or_default(),
            cause,
        })
    }

    /// Schedules the Wait state's timer, or goes straight on when it is due.
    pub(super) fn wait(&mut self, fid: FrameId, w: &Wait) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let now = self.env.now;
        let effective = self.effective_input(fid, false)?;
        let due = match w {
            Wait::Seconds(d) => {
                let secs = self
                    .numeric(f, Some(d), &effective, NumericField::Seconds)?
                    .unwrap_or(0.0) as i64;
                now.saturating_add(secs.saturating_mul(1000))
            }
            Wait::Timestamp(d) => match self.resolve(f, d, &effective, "Timestamp")? {
                Resolved::Literal(v) => v
                    .as_str()
                    .and_then(dataflow::parse_timestamp)
                    .unwrap_or(now),
                Resolved::Path(v, path) => {
                    match v.as_ref().and_then(Value::as_str).and_then(dataflow::parse_timestamp) {
                        Some(t) => t,
                        None => {
                            return Err(runtime(format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                path.as_str(),
                                plain_or_null(&v)
                            )))
                        }
                    }
                }
                Resolved::Jsonata(v, _) => match v.as_str().and_then(dataflow::parse_timestamp) {
                    Some(t) => t,
                    None => {
                        return Err(flowstate_asl::jsonata::query_error(format!(
                            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                            dataflow::plain(&v)
                        )))
                    }
                },
            },
        };
        if due <= now {
            return Ok(self.wait_done(fid));
        }
        let f = self.frame_mut(fid)?;
        f.seq += 1;
        f.waiting = Waiting::WaitState { due };
        let seq = f.seq;
        self.schedule(fid, seq, Timer::WaitState, due);
        Ok(Outcome::Blocked)
    }

    pub(super) fn wait_done(&mut self, fid: FrameId) -> Outcome {
        let next = match self.exec.frames.get(&fid) {
            Some(f) => self.sm.state(f.state).next,
            None => return Outcome::Blocked,
        };
        if let Some(f) = self.exec.frames.get_mut(&fid) {
            f.waiting = Waiting::Nothing;
        }
        match self.output_stage(fid, None, None, None) {
            Ok((output, assigned)) => Outcome::Exit {
                output,
                next,
                assigned,
            },
            Err(f) => Outcome::Failed(f),
        }
    }
}
