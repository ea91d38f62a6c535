//! Task states: the invocation (`InvokeTask` with the evaluated Parameters
//! or Arguments, a task token for `.waitForTaskToken` and activities), its
//! timeout and heartbeat timers, heartbeats, and the answer (succeeded,
//! failed, timed out) with its history events. An activity's task records
//! `Activity*` events: scheduled when the state starts, started when a
//! worker takes it (`Event::ActivityStarted`), then its answer.

use super::io::check_depth;
use super::numeric::NumericField;
use super::{Outcome, Resume, Run};
use crate::dataflow::runtime;
use crate::execution::*;
use crate::history::Details;
use crate::token;
use flowstate_asl::definition::{Io, Kind};
use flowstate_asl::errors::{Failure, StatesError};
use serde_json::Value;
use std::sync::Arc;

/// The `resourceType` of an activity ARN ([`crate::integration_kind`]).
const ACTIVITY: &str = "activity";

impl Run<'_, '_> {
    pub(super) fn task_start(&mut self, fid: FrameId) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let Kind::Task(task) = &state.kind else {
            return Err(runtime("internal: not a Task"));
        };
        let seq = f.seq + 1;
        let kind = crate::integration_kind(&task.resource);
        let activity = kind.resource_type == ACTIVITY;
        let wait_for_token = task.resource.ends_with(".waitForTaskToken") || activity;
        let token =
            wait_for_token.then(|| token::issue(self.env.token_key, &self.exec.info.arn, fid, seq));
        let input = self.effective_input(fid, false)?;
        let parameters = match &state.io {
            Io::JsonPath {
                parameters: Some(p),
                ..
            } => {
                let mut scope = self.scope(f, &state.name);
                scope.task_token = token.as_deref();
                let v = p.evaluate(&input, &scope, self.seed(f))?;
                self.inspect(fid, |i| i.after_parameters = Some(v.clone()));
                Arc::new(v)
            }
            Io::JsonPath { .. } => input.clone(),
            Io::Jsonata {
                arguments: Some(a), ..
            } => {
                let states =
                    self.states_binding(f, &state.name, None, None, token.as_deref(), None);
                let v = self.eval_jsonata(f, a, states, "Arguments")?;
                self.inspect(fid, |i| i.after_arguments = Some(v.clone()));
                Arc::new(v)
            }
            Io::Jsonata { .. } => input.clone(),
        };
        if !Arc::ptr_eq(&parameters, &input) {
            check_depth(&parameters, &state.name)?;
        }
        let seconds = |d: &Option<_>, field| -> Result<Option<u64>, Failure> {
            Ok(self
                .numeric(f, d.as_ref(), &input, field)?
                .map(|n| n as u64))
        };
        let timeout = seconds(&task.timeout_seconds, NumericField::TimeoutSeconds)?;
        let heartbeat = seconds(&task.heartbeat_seconds, NumericField::HeartbeatSeconds)?;
        let resource = task.resource.clone();
        let now = self.env.now;
        let invocation = TaskInvocation {
            resource: resource.clone(),
            parameters: (*parameters).clone(),
            task_token: token.clone(),
            state_name: state.name.clone(),
            execution_arn: self.exec.info.arn.clone(),
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
        };
        let region = self.exec.info.region.clone();
        if activity {
            self.emit(
                fid,
                Details::ActivityScheduled {
                    resource: resource.clone(),
                    input: parameters.clone(),
                    timeout_seconds: timeout,
                    heartbeat_seconds: heartbeat,
                },
            );
        } else if kind.lambda_legacy {
            self.emit(
                fid,
                Details::LambdaFunctionScheduled {
                    resource: resource.clone(),
                    input: parameters.clone(),
                    timeout_seconds: timeout,
                },
            );
            self.emit(fid, Details::LambdaFunctionStarted);
        } else {
            self.emit(
                fid,
                Details::TaskScheduled {
                    resource_type: kind.resource_type.clone(),
                    resource: kind.resource.clone(),
                    region,
                    parameters: parameters.clone(),
                    timeout_seconds: timeout,
                    heartbeat_seconds: heartbeat,
                },
            );
            self.emit(
                fid,
                Details::TaskStarted {
                    resource_type: kind.resource_type.clone(),
                    resource: kind.resource.clone(),
                },
            );
        }
        let data_rev = self.exec.version + 1;
        let f = self.frame_mut(fid)?;
        f.seq = seq;
        f.effective = Some(input);
        f.data_rev = data_rev;
        let timeout_at = timeout.map(|t| now.saturating_add((t as i64).saturating_mul(1000)));
        let heartbeat_deadline =
            heartbeat.map(|h| now.saturating_add((h as i64).saturating_mul(1000)));
        f.waiting = Waiting::Task(TaskWait {
            resource: kind.resource,
            resource_type: kind.resource_type,
            lambda_legacy: kind.lambda_legacy,
            token,
            timeout_at,
            heartbeat_seconds: heartbeat,
            heartbeat_deadline,
            activity_started: false,
        });
        self.step.effects.push(Effect::InvokeTask {
            frame: fid,
            seq,
            invocation,
        });
        for (timer, at) in [
            (Timer::TaskTimeout, timeout_at),
            (Timer::Heartbeat, heartbeat_deadline),
        ] {
            if let Some(at) = at {
                self.schedule(fid, seq, timer, at);
            }
        }
        Ok(Outcome::Blocked)
    }

    /// `SendTaskHeartbeat`: the heartbeat deadline moves on.
    pub(super) fn heartbeat(&mut self, fid: FrameId) {
        self.changed.insert(fid);
        let now = self.env.now;
        if let Some(f) = self.exec.frames.get_mut(&fid) {
            if let Waiting::Task(t) = &mut f.waiting {
                if let Some(h) = t.heartbeat_seconds {
                    t.heartbeat_deadline = Some(now + (h as i64) * 1000);
                }
            }
        }
    }

    /// A worker took the frame's activity task: `ActivityStarted`, and the
    /// heartbeat deadline counts from now (taking the task is the worker's
    /// first sign of life). A second start of the same task is stale.
    pub(super) fn activity_started(
        &mut self,
        fid: FrameId,
        worker_name: Option<String>,
    ) -> Result<(), crate::EngineError> {
        let seq = self.exec.frames.get(&fid).map_or(0, |f| f.seq);
        let stale = crate::EngineError::Stale { frame: fid, seq };
        match self.exec.frames.get_mut(&fid).map(|f| &mut f.waiting) {
            Some(Waiting::Task(t)) if t.resource_type == ACTIVITY && !t.activity_started => {
                t.activity_started = true;
            }
            _ => return Err(stale),
        }
        self.emit(fid, Details::ActivityStarted { worker_name });
        self.heartbeat(fid);
        Ok(())
    }

    /// A waiting task's timeout or heartbeat timer fired. A heartbeat timer
    /// that finds a later deadline (heartbeats came) is set again for it.
    pub(super) fn task_timer(&mut self, fid: FrameId, seq: u64, timer: Timer) {
        let deadline = match self.exec.frames.get(&fid).map(|f| &f.waiting) {
            Some(Waiting::Task(t)) => t.heartbeat_deadline.unwrap_or(i64::MAX),
            _ => return,
        };
        let failure = match timer {
            Timer::TaskTimeout => Failure::states(StatesError::Timeout, "Task timed out."),
            Timer::Heartbeat if self.env.now >= deadline => {
                Failure::states(StatesError::HeartbeatTimeout, "Task heartbeat timed out.")
            }
            Timer::Heartbeat => {
                self.schedule(fid, seq, timer, deadline);
                return;
            }
            _ => return,
        };
        self.queue.push_back((fid, Resume::TaskDone(Err(failure))));
    }

    pub(super) fn task_done(&mut self, fid: FrameId, result: Result<Value, Failure>) -> Outcome {
        let Some(f) = self.exec.frames.get_mut(&fid) else {
            return Outcome::Blocked;
        };
        let wait = match std::mem::replace(&mut f.waiting, Waiting::Nothing) {
            Waiting::Task(t) => t,
            _ => return Outcome::Blocked,
        };
        f.seq += 1;
        match result {
            Ok(output) => {
                let output = Arc::new(output);
                if wait.resource_type == ACTIVITY {
                    self.emit(
                        fid,
                        Details::ActivitySucceeded {
                            output: output.clone(),
                        },
                    );
                } else if wait.lambda_legacy {
                    self.emit(
                        fid,
                        Details::LambdaFunctionSucceeded {
                            output: output.clone(),
                        },
                    );
                } else {
                    self.emit(
                        fid,
                        Details::TaskSucceeded {
                            resource_type: wait.resource_type,
                            resource: wait.resource,
                            output: output.clone(),
                        },
                    );
                }
                let next = self
                    .exec
                    .frames
                    .get(&fid)
                    .map(|f| self.sm.state(f.state).next)
                    .unwrap_or(None);
                match self.output_stage(fid, Some(output), None, None) {
                    Ok((output, assigned)) => Outcome::Exit {
                        output,
                        next,
                        assigned,
                    },
                    Err(f) => Outcome::Failed(f),
                }
            }
            Err(failure) => {
                let timed_out = failure.error == StatesError::Timeout.name()
                    || failure.error == StatesError::HeartbeatTimeout.name();
                let (error, cause) = (Some(failure.error.clone()), failure.cause.clone());
                let activity = wait.resource_type == ACTIVITY;
                let details = match (wait.lambda_legacy, timed_out) {
                    _ if activity && timed_out => Details::ActivityTimedOut { error, cause },
                    _ if activity => Details::ActivityFailed { error, cause },
                    (true, true) => Details::LambdaFunctionTimedOut { error, cause },
                    (true, false) => Details::LambdaFunctionFailed { error, cause },
                    (false, true) => Details::TaskTimedOut {
                        resource_type: wait.resource_type,
                        resource: wait.resource,
                        error,
                        cause,
                    },
                    (false, false) => Details::TaskFailed {
                        resource_type: wait.resource_type,
                        resource: wait.resource,
                        error,
                        cause,
                    },
                };
                self.emit(fid, details);
                Outcome::Failed(failure)
            }
        }
    }
}
