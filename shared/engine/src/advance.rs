//! `advance`: one event in, one step out — the whole language at run time.
//!
//! A step runs to block: starting from the frame the event concerns, it
//! moves every frame it can through states that need nothing from the
//! world (Pass, Choice, Succeed, Fail, zero-length Wait, whole Parallel
//! branches and Map iterations made of those) and stops each frame at a
//! Task, a Wait, a retry back-off, a wait for its children, or its end.
//! Frames are processed from a queue, never by recursion, so a Map of
//! 10,000 iterations is 10,000 queue entries, not 10,000 stack frames.
//!
//! Call-order contract for the shell: persist the execution and
//! `Step::history` atomically, then perform `Step::effects`. If `advance`
//! returns an error, discard the execution value it was given.

use crate::dataflow::runtime;
use crate::execution::*;
use crate::history::{Details, HistoryEvent, StateType};
use crate::scope::EvalScope;
use crate::{dataflow, token};
use flowstate_asl::definition::{
    Assign, Condition, Dynamic, Io, Kind, MapState, ResultPath, Retrier, StateId, StateMachine,
    Wait,
};
use flowstate_asl::errors::{error_matches, Failure, StatesError};
use flowstate_asl::jsonata::{JsonataScope, Template};
use serde_json::{json, Map, Value};
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
    if exec.status != Status::Running {
        return Err(EngineError::Ended(exec.status.as_str()));
    }
    let mut run = Run {
        exec,
        sm,
        env,
        step: Step::default(),
        queue: VecDeque::new(),
        changed: BTreeSet::new(),
        input_sizes: HashMap::new(),
        size_hint: RefCell::new(None),
    };
    run.accept(event)?;
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
    /// derived from the input's size (a ResultPath merge), for `exit`.
    size_hint: RefCell<Option<(Arc<Value>, usize)>>,
}

impl Run<'_, '_> {
    // ---- events -------------------------------------------------------

    fn accept(&mut self, event: Event) -> Result<(), EngineError> {
        match event {
            Event::Start => {
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
                let timeout = self.exec.info.timeout_seconds.or(self.sm.timeout_seconds);
                let root = self.new_frame(None, 0, block.start_at, input, Map::new(), false, id);
                if let Some(t) = timeout {
                    let at = self
                        .exec
                        .info
                        .start_time
                        .saturating_add((t as i64).saturating_mul(1000));
                    self.step.effects.push(Effect::ScheduleTimer {
                        frame: ROOT,
                        seq: 0,
                        timer: Timer::ExecutionTimeout,
                        at,
                    });
                }
                self.queue.push_back((root, Resume::Enter));
            }
            Event::Stop { error, cause } => {
                self.end_execution(Status::Aborted, None, error, cause);
            }
            Event::TimerFired {
                timer: Timer::ExecutionTimeout,
                ..
            } => {
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
                self.changed.insert(frame);
                let now = self.env.now;
                if let Some(f) = self.exec.frames.get_mut(&frame) {
                    if let Waiting::Task(t) = &mut f.waiting {
                        if let Some(h) = t.heartbeat_seconds {
                            t.heartbeat_deadline = Some(now + (h as i64) * 1000);
                        }
                    }
                }
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
                    (Timer::TaskTimeout, Waiting::Task(_)) => self.queue.push_back((
                        frame,
                        Resume::TaskDone(Err(Failure::states(
                            StatesError::Timeout,
                            "Task timed out.",
                        ))),
                    )),
                    (Timer::Heartbeat, Waiting::Task(t)) => {
                        let deadline = t.heartbeat_deadline.unwrap_or(i64::MAX);
                        if self.env.now >= deadline {
                            self.queue.push_back((
                                frame,
                                Resume::TaskDone(Err(Failure::states(
                                    StatesError::HeartbeatTimeout,
                                    "Task heartbeat timed out.",
                                ))),
                            ));
                        } else {
                            self.step.effects.push(Effect::ScheduleTimer {
                                frame,
                                seq,
                                timer,
                                at: deadline,
                            });
                        }
                    }
                    _ => return Err(EngineError::Stale { frame, seq }),
                }
            }
        }
        Ok(())
    }

    fn expect_task(&self, frame: FrameId, seq: u64) -> Result<(), EngineError> {
        match self.exec.frames.get(&frame) {
            Some(f) if f.seq == seq && matches!(f.waiting, Waiting::Task(_)) => Ok(()),
            _ => Err(EngineError::Stale { frame, seq }),
        }
    }

    // ---- history ------------------------------------------------------

    /// Appends a history event after the frame's latest one.
    fn emit(&mut self, fid: FrameId, details: Details) -> u64 {
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
        self.step.history.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: self.env.now,
            details,
        });
        id
    }

    fn emit_exec(&mut self, details: Details) -> u64 {
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
    fn new_frame(
        &mut self,
        parent: Option<(FrameId, usize)>,
        block: usize,
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
                id,
                parent,
                block,
                state,
                input,
                effective: None,
                entered_event_id: 0,
                entered_time: self.env.now,
                last_event_id,
                variables,
                retry_counts: Vec::new(),
                seq: 0,
                waiting: Waiting::Nothing,
                hidden,
                data_rev: self.exec.version + 1,
            },
        );
        id
    }

    // ---- the frame loop -----------------------------------------------

    fn drive(&mut self, fid: FrameId, first: Resume) {
        self.changed.insert(fid);
        let mut resume = first;
        loop {
            if self.exec.status != Status::Running || !self.exec.frames.contains_key(&fid) {
                return;
            }
            let outcome = match resume {
                Resume::Enter => {
                    if let Some(limit) = self.exec.info.limits.max_history_events {
                        if self.exec.last_event_id + 2 >= limit {
                            let cause = format!(
                                "The execution reached the maximum number of history events ({limit})."
                            );
                            self.end_execution(
                                Status::Failed,
                                None,
                                Some(StatesError::Runtime.name().into()),
                                Some(cause),
                            );
                            return;
                        }
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

    fn enter(&mut self, fid: FrameId) {
        let Some(f) = self.exec.frames.get(&fid) else {
            return;
        };
        let state = self.sm.state(f.state);
        let input = f.input.clone();
        self.exec.transitions += 1;
        let id = self.emit(
            fid,
            Details::StateEntered {
                state_type: StateType::from_name(state.type_name()),
                name: state.name.clone(),
                input,
            },
        );
        let now = self.env.now;
        if let Some(f) = self.exec.frames.get_mut(&fid) {
            f.entered_event_id = id;
            f.entered_time = now;
            f.retry_counts.clear();
            f.effective = None;
            f.data_rev = self.exec.version + 1;
            f.waiting = Waiting::Nothing;
        }
    }

    /// Leaves the current state: size check, variables, Exited event, transition.
    fn exit(
        &mut self,
        fid: FrameId,
        output: Arc<Value>,
        next: Option<StateId>,
        assigned: Option<Map<String, Value>>,
    ) -> Option<Resume> {
        let f = self.exec.frames.get(&fid)?;
        let state = self.sm.state(f.state);
        let variable_problem = assigned
            .as_ref()
            .and_then(|vars| variable_limit_exceeded(&f.variables, vars, &state.name));
        let limit = self.exec.info.limits.max_payload_bytes;
        let size = self
            .known_size(fid, &output)
            .unwrap_or_else(|| dataflow::json_size(&output));
        if size > limit {
            let failure = Failure::states(
                StatesError::DataLimitExceeded,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            );
            self.finish_frame(fid, Err(failure));
            return None;
        }
        if let Some(cause) = variable_problem {
            self.finish_frame(
                fid,
                Err(Failure::states(StatesError::DataLimitExceeded, cause)),
            );
            return None;
        }
        let recorded = assigned.as_ref().map(|vars| {
            vars.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Value::String(serde_json::to_string(v).unwrap_or_default()),
                    )
                })
                .collect::<Map<String, Value>>()
        });
        if let Some(vars) = assigned {
            if let Some(f) = self.exec.frames.get_mut(&fid) {
                f.variables.extend(vars);
            }
        }
        self.emit(
            fid,
            Details::StateExited {
                state_type: StateType::from_name(state.type_name()),
                name: state.name.clone(),
                output: output.clone(),
                assigned_variables: recorded,
            },
        );
        match next {
            Some(n) => {
                let f = self.exec.frames.get_mut(&fid)?;
                f.state = n;
                f.input = output.clone();
                f.data_rev = self.exec.version + 1;
                self.input_sizes.insert(fid, (output, size));
                Some(Resume::Enter)
            }
            None => {
                self.input_sizes.remove(&fid);
                self.finish_frame(fid, Ok(output));
                None
            }
        }
    }

    /// The size of `output` when already known: the frame's input passed
    /// through, or a merge `output_stage` measured incrementally.
    fn known_size(&mut self, fid: FrameId, output: &Arc<Value>) -> Option<usize> {
        if let Some((v, size)) = self.size_hint.get_mut().take() {
            if Arc::ptr_eq(&v, output) {
                return Some(size);
            }
        }
        match self.input_sizes.get(&fid) {
            Some((v, size)) if Arc::ptr_eq(v, output) => Some(*size),
            _ => None,
        }
    }

    // ---- the states ---------------------------------------------------

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

    fn scope<'s>(&'s self, f: &'s Frame, state_name: &'s str) -> EvalScope<'s> {
        EvalScope {
            exec: self.exec,
            frame: f,
            state_name,
            retry_count: None,
            task_token: None,
            map_item: None,
        }
    }

    fn seed(&self, f: &Frame) -> u64 {
        dataflow::seed(&self.exec.info.arn, f.id, self.exec.last_event_id)
    }

    /// JSONPath mode: InputPath then (when the state has one) Parameters.
    fn effective_input(&self, fid: FrameId, with_parameters: bool) -> Result<Arc<Value>, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let scope = self.scope(f, &state.name);
        match &state.io {
            Io::JsonPath {
                input_path,
                parameters,
                ..
            } => {
                let selected = dataflow::path_field(input_path, &f.input, &scope)?;
                match (with_parameters, parameters) {
                    (true, Some(p)) => Ok(Arc::new(p.evaluate(&selected, &scope, self.seed(f))?)),
                    _ => Ok(selected),
                }
            }
            Io::Jsonata { .. } => Ok(f.input.clone()),
        }
    }

    fn frame(&self, fid: FrameId) -> Result<&Frame, Failure> {
        self.exec
            .frames
            .get(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))
    }

    /// The JSONata `$states` binding for the current state.
    fn states_binding(
        &self,
        f: &Frame,
        state_name: &str,
        result: Option<&Value>,
        error_output: Option<&Value>,
        task_token: Option<&str>,
        map_item: Option<(usize, &Value)>,
    ) -> Value {
        let scope = EvalScope {
            exec: self.exec,
            frame: f,
            state_name,
            retry_count: None,
            task_token,
            map_item,
        };
        let mut m = Map::new();
        m.insert("input".into(), (*f.input).clone());
        m.insert("context".into(), scope.context_value());
        if let Some(r) = result {
            m.insert("result".into(), r.clone());
        }
        if let Some(e) = error_output {
            m.insert("errorOutput".into(), e.clone());
        }
        Value::Object(m)
    }

    fn eval_jsonata(
        &self,
        f: &Frame,
        template: &Template,
        states: Value,
        field: &str,
    ) -> Result<Value, Failure> {
        let vars = &f.variables;
        let lookup = move |name: &str| vars.get(name);
        let scope = JsonataScope {
            states,
            variables: &lookup,
            now_millis: self.env.now,
            seed: self.seed(f),
        };
        template.evaluate(&scope, field)
    }

    /// The output stage of a state that produced `result` (None for states
    /// without a result: Choice, Wait, Succeed), plus the variables assigned.
    fn output_stage(
        &self,
        fid: FrameId,
        result: Option<Arc<Value>>,
        output_override: Option<&Template>,
        extra_assign: Option<&Assign>,
    ) -> Result<StageOutput, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        match &state.io {
            Io::JsonPath {
                result_selector,
                result_path,
                output_path,
                ..
            } => {
                let scope = self.scope(f, &state.name);
                let effective = match &f.effective {
                    Some(e) => e.clone(),
                    None => dataflow::path_field_or_identity(&state.io, &f.input, &scope)?,
                };
                let (selected, merged) = match result {
                    Some(r) => {
                        let selected = match result_selector {
                            Some(rs) => Arc::new(rs.evaluate(&r, &scope, self.seed(f))?),
                            None => r,
                        };
                        let merged =
                            dataflow::result_path(result_path, &f.input, selected.clone())?;
                        if let (ResultPath::Path(p), Some((raw, raw_size))) =
                            (result_path, self.input_sizes.get(&fid))
                        {
                            if Arc::ptr_eq(raw, &f.input) && !Arc::ptr_eq(&merged, &f.input) {
                                if let Some(size) =
                                    dataflow::merged_size(p, raw, *raw_size, &merged)
                                {
                                    *self.size_hint.borrow_mut() = Some((merged.clone(), size));
                                }
                            }
                        }
                        (selected, merged)
                    }
                    None => (effective.clone(), effective.clone()),
                };
                let assigned = match extra_assign.or(state.assign.as_ref()) {
                    Some(Assign::JsonPath(t)) => {
                        match t.evaluate(&selected, &scope, self.seed(f))? {
                            Value::Object(m) => Some(m),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let output = dataflow::path_field(output_path, &merged, &scope)?;
                Ok((output, assigned))
            }
            Io::Jsonata { output, .. } => {
                let states =
                    self.states_binding(f, &state.name, result.as_deref(), None, None, None);
                let out = match output_override.or(output.as_ref()) {
                    Some(t) => Arc::new(self.eval_jsonata(f, t, states.clone(), "Output")?),
                    None => result.unwrap_or_else(|| f.input.clone()),
                };
                let assigned = match extra_assign.or(state.assign.as_ref()) {
                    Some(Assign::Jsonata(t)) => match self.eval_jsonata(f, t, states, "Assign")? {
                        Value::Object(m) => Some(m),
                        _ => None,
                    },
                    _ => None,
                };
                Ok((out, assigned))
            }
        }
    }

    fn pass(&mut self, fid: FrameId, result: Option<&Value>) -> Result<Outcome, Failure> {
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

    fn succeed(&mut self, fid: FrameId) -> Result<Outcome, Failure> {
        let (output, assigned) = self.output_stage(fid, None, None, None)?;
        Ok(Outcome::Exit {
            output,
            next: None,
            assigned,
        })
    }

    fn choice(&mut self, fid: FrameId) -> Result<Outcome, Failure> {
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

    fn fail_state(
        &mut self,
        fid: FrameId,
        fail: &flowstate_asl::definition::Fail,
    ) -> Result<Failure, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let pick = |d: &Option<Dynamic>, field: &str| -> Result<Option<String>, Failure> {
            let v = match d {
                None => return Ok(None),
                Some(Dynamic::Literal(v)) => v.clone(),
                Some(Dynamic::Path(sel)) => {
                    let scope = self.scope(f, &state.name);
                    let v = dataflow::select(sel, &f.input, &scope, self.seed(f))?.ok_or_else(|| {
                        runtime(format!(
                            "The JSONPath '{}' specified for the field '{field}Path' could not be found in the input '{}'",
                            sel.as_str(),
                            dataflow::compact(&f.input)
                        ))
                    })?;
                    return Ok(Some(match v {
                        Value::String(s) => s,
                        other => dataflow::compact(&other),
                    }));
                }
                Some(Dynamic::Jsonata(t)) => {
                    let states = self.states_binding(f, &state.name, None, None, None, None);
                    let v = self.eval_jsonata(f, t, states, field)?;
                    match v {
                        Value::String(_) => v,
                        other => return Err(unexpected_type(field, "string", &other)),
                    }
                }
            };
            Ok(Some(match v {
                Value::String(s) => s,
                other => dataflow::compact(&other),
            }))
        };
        let error = pick(&fail.error, "Error")?;
        let cause = pick(&fail.cause, "Cause")?;
        Ok(Failure {
            error: error.unwrap_or_default(),
            cause,
        })
        .map(|mut f| {
            if fail.error.is_none() {
                f.error = String::new();
            }
            f
        })
    }

    // ---- Wait ---------------------------------------------------------

    fn wait(&mut self, fid: FrameId, w: &Wait) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let now = self.env.now;
        let effective = self.effective_input(fid, false)?;
        let due = match w {
            Wait::Seconds(d) => {
                let secs = match d {
                    Dynamic::Literal(v) => v.as_i64().unwrap_or(0),
                    Dynamic::Path(sel) => {
                        let scope = self.scope(f, &state.name);
                        let v = dataflow::select(sel, &effective, &scope, self.seed(f))?;
                        match v.as_ref().and_then(dataflow::as_exact_i64) {
                            Some(n) if n >= 0 => n,
                            _ => {
                                return Err(runtime(format!(
                                    "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                                    sel.as_str(),
                                    v.map(|v| dataflow::plain(&v)).unwrap_or_else(|| "null".into())
                                )))
                            }
                        }
                    }
                    Dynamic::Jsonata(t) => {
                        let states = self.states_binding(f, &state.name, None, None, None, None);
                        let v = self.eval_jsonata(f, t, states, "Seconds")?;
                        match dataflow::as_exact_i64(&v) {
                            Some(n) if n >= 0 => n,
                            _ => return Err(unexpected_type("Seconds", "integer", &v)),
                        }
                    }
                };
                now.saturating_add(secs.saturating_mul(1000))
            }
            Wait::Timestamp(d) => match d {
                Dynamic::Literal(v) => v
                    .as_str()
                    .and_then(dataflow::parse_timestamp)
                    .unwrap_or(now),
                Dynamic::Path(sel) => {
                    let scope = self.scope(f, &state.name);
                    let v = dataflow::select(sel, &effective, &scope, self.seed(f))?;
                    match v.as_ref().and_then(Value::as_str).and_then(dataflow::parse_timestamp) {
                        Some(t) => t,
                        None => {
                            return Err(runtime(format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                sel.as_str(),
                                v.map(|v| dataflow::plain(&v)).unwrap_or_else(|| "null".into())
                            )))
                        }
                    }
                }
                Dynamic::Jsonata(t) => {
                    let states = self.states_binding(f, &state.name, None, None, None, None);
                    let v = self.eval_jsonata(f, t, states, "Timestamp")?;
                    match v.as_str().and_then(dataflow::parse_timestamp) {
                        Some(t) => t,
                        None => {
                            return Err(flowstate_asl::jsonata::query_error(format!(
                                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                                dataflow::plain(&v)
                            )))
                        }
                    }
                }
            },
        };
        if due <= now {
            return Ok(self.wait_done(fid));
        }
        let f = self
            .exec
            .frames
            .get_mut(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))?;
        f.seq += 1;
        f.waiting = Waiting::WaitState { due };
        let seq = f.seq;
        self.step.effects.push(Effect::ScheduleTimer {
            frame: fid,
            seq,
            timer: Timer::WaitState,
            at: due,
        });
        Ok(Outcome::Blocked)
    }

    fn wait_done(&mut self, fid: FrameId) -> Outcome {
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

    // ---- Task ---------------------------------------------------------

    fn dynamic_u64(
        &self,
        f: &Frame,
        d: &Option<Dynamic>,
        input: &Value,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        let state = self.sm.state(f.state);
        Ok(match d {
            None => None,
            Some(Dynamic::Literal(v)) => v.as_u64(),
            Some(Dynamic::Path(sel)) => {
                let scope = self.scope(f, &state.name);
                let v = dataflow::select(sel, input, &scope, self.seed(f))?;
                match v.as_ref().and_then(dataflow::as_exact_i64) {
                    Some(n) if n >= 0 => Some(n as u64),
                    _ => {
                        return Err(runtime(format!(
                            "The {field}Path field refers to value \"{}\" which is not a valid integer: {}",
                            v.map(|v| dataflow::plain(&v)).unwrap_or_else(|| "null".into()),
                            sel.as_str()
                        )))
                    }
                }
            }
            Some(Dynamic::Jsonata(t)) => {
                let states = self.states_binding(f, &state.name, None, None, None, None);
                let v = self.eval_jsonata(f, t, states, field)?;
                match dataflow::as_exact_i64(&v) {
                    Some(n) if n >= 0 => Some(n as u64),
                    _ => return Err(unexpected_type(field, "integer", &v)),
                }
            }
        })
    }

    fn task_start(&mut self, fid: FrameId) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let Kind::Task(task) = &state.kind else {
            return Err(runtime("internal: not a Task"));
        };
        let seq = f.seq + 1;
        let wait_for_token = task.resource.ends_with(".waitForTaskToken");
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
                scope.retry_count = Some(f.retry_counts.iter().sum());
                Arc::new(p.evaluate(&input, &scope, self.seed(f))?)
            }
            Io::JsonPath { .. } => input.clone(),
            Io::Jsonata {
                arguments: Some(a), ..
            } => {
                let states =
                    self.states_binding(f, &state.name, None, None, token.as_deref(), None);
                Arc::new(self.eval_jsonata(f, a, states, "Arguments")?)
            }
            Io::Jsonata { .. } => input.clone(),
        };
        let timeout = self.dynamic_u64(f, &task.timeout_seconds, &input, "TimeoutSeconds")?;
        let heartbeat = self.dynamic_u64(f, &task.heartbeat_seconds, &input, "HeartbeatSeconds")?;
        let kind = crate::integration_kind(&task.resource);
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
        if kind.lambda_legacy {
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
        let f = self
            .exec
            .frames
            .get_mut(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))?;
        f.seq = seq;
        f.effective = Some(input);
        f.data_rev = self.exec.version + 1;
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
        });
        self.step.effects.push(Effect::InvokeTask {
            frame: fid,
            seq,
            invocation,
        });
        if let Some(at) = timeout_at {
            self.step.effects.push(Effect::ScheduleTimer {
                frame: fid,
                seq,
                timer: Timer::TaskTimeout,
                at,
            });
        }
        if let Some(at) = heartbeat_deadline {
            self.step.effects.push(Effect::ScheduleTimer {
                frame: fid,
                seq,
                timer: Timer::Heartbeat,
                at,
            });
        }
        Ok(Outcome::Blocked)
    }

    fn task_done(&mut self, fid: FrameId, result: Result<Value, Failure>) -> Outcome {
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
                if wait.lambda_legacy {
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
                let details = match (wait.lambda_legacy, timed_out) {
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

    // ---- Parallel and Map -------------------------------------------------

    fn parallel_start(&mut self, fid: FrameId, branches: &[usize]) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let input = match &state.io {
            Io::JsonPath { .. } => self.effective_input(fid, true)?,
            Io::Jsonata {
                arguments: Some(a), ..
            } => {
                let states = self.states_binding(f, &state.name, None, None, None, None);
                Arc::new(self.eval_jsonata(f, a, states, "Arguments")?)
            }
            Io::Jsonata { .. } => f.input.clone(),
        };
        let vars = f.variables.clone();
        let hidden = f.hidden;
        let started = self.emit(fid, Details::ParallelStateStarted);
        let first_child = self.exec.next_frame_id;
        let n = branches.len();
        for (i, &b) in branches.iter().enumerate() {
            let start = self.sm.block(b).start_at;
            let child = self.new_frame(
                Some((fid, i)),
                b,
                start,
                input.clone(),
                vars.clone(),
                hidden,
                started,
            );
            self.queue.push_back((child, Resume::Enter));
        }
        let f = self
            .exec
            .frames
            .get_mut(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))?;
        f.effective = Some(input);
        f.data_rev = self.exec.version + 1;
        f.seq += 1;
        f.waiting = Waiting::Children(Join {
            map: false,
            distributed: false,
            first_child,
            total: n,
            next_to_start: n,
            running: n,
            completed: 0,
            max_concurrency: 0,
            failures: 0,
            tolerated_failure_count: None,
            tolerated_failure_percentage: None,
        });
        if n == 0 {
            return Ok(self.children_done(fid));
        }
        Ok(Outcome::Blocked)
    }

    fn map_start(&mut self, fid: FrameId, m: &MapState) -> Result<Outcome, Failure> {
        let f = self.frame(fid)?;
        let state = self.sm.state(f.state);
        let seed = self.seed(f);
        // The items are borrowed from the effective input when the ItemsPath
        // allows it: each iteration copies only its own item.
        let jsonpath_effective = match &state.io {
            Io::JsonPath { .. } => Some(self.effective_input(fid, false)?),
            Io::Jsonata { .. } => None,
        };
        let scope = self.scope(f, &state.name);
        let selected;
        let (items, effective): (std::borrow::Cow<'_, [Value]>, Arc<Value>) = match (
            &state.io,
            &jsonpath_effective,
        ) {
            (Io::JsonPath { .. }, Some(effective)) => {
                selected = dataflow::path_field_cow(&m.items_path, effective, &scope)?;
                match &*selected {
                    Value::Array(a) => {
                        (std::borrow::Cow::Borrowed(a.as_slice()), effective.clone())
                    }
                    other => {
                        return Err(runtime(format!(
                            "Map state input must be an array but was: {}",
                            dataflow::compact(other)
                        )))
                    }
                }
            }
            _ => {
                let v = match &m.items {
                    Some(t) => {
                        let states = self.states_binding(f, &state.name, None, None, None, None);
                        let v = self.eval_jsonata(f, t, states, "Items")?;
                        if !v.is_array() {
                            let src = match t {
                                Template::Expression(e) => e.source().to_string(),
                                _ => dataflow::compact(&v),
                            };
                            return Err(flowstate_asl::jsonata::query_error(format!(
                                "The JSONata expression '{src}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                                dataflow::type_name(&v),
                                dataflow::compact(&v)
                            )));
                        }
                        v
                    }
                    None => (*f.input).clone(),
                };
                match v {
                    Value::Array(a) => (std::borrow::Cow::Owned(a), f.input.clone()),
                    other => {
                        return Err(flowstate_asl::jsonata::query_error(format!(
                            "Map state input must be an array but was: {}",
                            dataflow::compact(&other)
                        )))
                    }
                }
            }
        };
        let max_concurrency = self
            .dynamic_u64(f, &m.max_concurrency, &effective, "MaxConcurrency")?
            .unwrap_or(0);
        // Each iteration's input, with $$.Map.Item visible to the ItemSelector.
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let v = match &m.item_selector {
                None => item.clone(),
                Some(flowstate_asl::definition::ItemSelector::JsonPath(t)) => {
                    let mut scope = self.scope(f, &state.name);
                    scope.map_item = Some((i, item));
                    t.evaluate(&effective, &scope, seed)?
                }
                Some(flowstate_asl::definition::ItemSelector::Jsonata(t)) => {
                    let states =
                        self.states_binding(f, &state.name, None, None, None, Some((i, item)));
                    self.eval_jsonata(f, t, states, "ItemSelector")?
                }
            };
            inputs.push(v);
        }
        let n = inputs.len();
        let vars = f.variables.clone();
        let hidden = f.hidden;
        let distributed = m.distributed;
        let map_run_arn = format!(
            "{}/{}:{}",
            self.exec.info.arn.replacen(":execution:", ":mapRun:", 1),
            m.label.as_deref().unwrap_or(&state.name),
            f.id
        );
        self.emit(fid, Details::MapStateStarted { length: n });
        // AWS reads the tolerated-failure settings after MapStateStarted.
        let f = self.frame(fid)?;
        let tolerated_count = match self.dynamic_tolerance(
            f,
            &m.tolerated_failure_count,
            &effective,
            "ToleratedFailureCount",
        )? {
            Some(n) if n < 0.0 => return Err(runtime("ToleratedFailureCount cannot be negative.")),
            other => other.map(|n| n as u64),
        };
        let tolerated_pct = match self.dynamic_tolerance(
            f,
            &m.tolerated_failure_percentage,
            &effective,
            "ToleratedFailurePercentage",
        )? {
            Some(p) if !(0.0..=100.0).contains(&p) => {
                return Err(runtime(
                    "ToleratedFailurePercentage must be between 0 and 100.",
                ))
            }
            other => other,
        };
        if distributed {
            self.emit(fid, Details::MapRunStarted { map_run_arn });
        }
        let first_child = self.exec.next_frame_id;
        let start_at = self.sm.block(m.processor).start_at;
        for (i, input) in inputs.into_iter().enumerate() {
            let child = self.new_frame(
                Some((fid, i)),
                m.processor,
                start_at,
                Arc::new(input),
                vars.clone(),
                hidden || distributed,
                0,
            );
            if let Some(c) = self.exec.frames.get_mut(&child) {
                c.waiting = Waiting::NotStarted;
            }
        }
        let f = self
            .exec
            .frames
            .get_mut(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))?;
        f.effective = Some(effective);
        f.data_rev = self.exec.version + 1;
        f.seq += 1;
        f.waiting = Waiting::Children(Join {
            map: true,
            distributed,
            first_child,
            total: n,
            next_to_start: 0,
            running: 0,
            completed: 0,
            max_concurrency: max_concurrency as usize,
            failures: 0,
            tolerated_failure_count: tolerated_count,
            tolerated_failure_percentage: tolerated_pct,
        });
        if n == 0 {
            return Ok(self.children_done(fid));
        }
        self.start_iterations(fid);
        Ok(Outcome::Blocked)
    }

    fn dynamic_tolerance(
        &self,
        f: &Frame,
        d: &Option<Dynamic>,
        input: &Value,
        field: &str,
    ) -> Result<Option<f64>, Failure> {
        let state = self.sm.state(f.state);
        match d {
            None => Ok(None),
            Some(Dynamic::Literal(v)) => Ok(v.as_f64()),
            Some(Dynamic::Path(sel)) => {
                let scope = self.scope(f, &state.name);
                let v = dataflow::select(sel, input, &scope, self.seed(f))?;
                let n = match &v {
                    Some(Value::Number(n)) if field.ends_with("Percentage") => n.as_f64(),
                    // A numeric string is accepted, as AWS does for variables holding "1".
                    Some(Value::String(s)) => {
                        s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
                    }
                    Some(v) => dataflow::as_exact_i64(v).map(|n| n as f64),
                    None => None,
                };
                n.map(Some).ok_or_else(|| {
                    runtime(format!(
                        "The {field}Path field refers to value \"{}\" which is not a valid integer: {}",
                        v.map(|v| dataflow::plain(&v)).unwrap_or_else(|| "null".into()),
                        sel.as_str()
                    ))
                })
            }
            Some(Dynamic::Jsonata(t)) => {
                let states = self.states_binding(f, &state.name, None, None, None, None);
                let v = self.eval_jsonata(f, t, states, field)?;
                v.as_f64()
                    .map(Some)
                    .ok_or_else(|| unexpected_type(field, "number", &v))
            }
        }
    }

    /// Starts Map iterations up to MaxConcurrency.
    fn start_iterations(&mut self, fid: FrameId) {
        let Some(f) = self.exec.frames.get(&fid) else {
            return;
        };
        let state_name = self.sm.state(f.state).name.clone();
        loop {
            let Some(f) = self.exec.frames.get_mut(&fid) else {
                return;
            };
            let Waiting::Children(join) = &mut f.waiting else {
                return;
            };
            if join.next_to_start >= join.total
                || (join.max_concurrency > 0 && join.running >= join.max_concurrency)
            {
                return;
            }
            let index = join.next_to_start;
            join.next_to_start += 1;
            join.running += 1;
            let child = join.first_child + index as u64;
            let started = if join.distributed {
                0
            } else {
                self.emit(
                    fid,
                    Details::MapIterationStarted {
                        name: state_name.clone(),
                        index,
                    },
                )
            };
            self.changed.insert(child);
            if let Some(c) = self.exec.frames.get_mut(&child) {
                c.waiting = Waiting::Nothing;
                c.last_event_id = started;
                c.entered_time = self.env.now;
            }
            self.queue.push_back((child, Resume::Enter));
        }
    }

    fn children_done(&mut self, fid: FrameId) -> Outcome {
        let Some(f) = self.exec.frames.get_mut(&fid) else {
            return Outcome::Blocked;
        };
        let join = match std::mem::replace(&mut f.waiting, Waiting::Nothing) {
            Waiting::Children(j) => j,
            other => {
                f.waiting = other;
                return Outcome::Blocked;
            }
        };
        let next = self.sm.state(f.state).next;
        if join.map {
            if join.distributed {
                self.emit(fid, Details::MapRunSucceeded);
            }
            self.emit(fid, Details::MapStateSucceeded);
        } else {
            self.emit(fid, Details::ParallelStateSucceeded);
        }
        let mut results = Vec::with_capacity(join.total);
        for i in 0..join.total {
            let child = join.first_child + i as u64;
            self.changed.insert(child);
            let v = match self.exec.frames.remove(&child).map(|c| c.waiting) {
                Some(Waiting::Done(v)) => Arc::unwrap_or_clone(v),
                _ => Value::Null,
            };
            results.push(v);
        }
        match self.output_stage(fid, Some(Arc::new(Value::Array(results))), None, None) {
            Ok((output, assigned)) => Outcome::Exit {
                output,
                next,
                assigned,
            },
            Err(f) => Outcome::Failed(f),
        }
    }

    // ---- ending frames ------------------------------------------------

    fn finish_frame(&mut self, fid: FrameId, result: Result<Arc<Value>, Failure>) {
        self.changed.insert(fid);
        let Some(frame) = self.exec.frames.get(&fid) else {
            return;
        };
        let Some((pid, slot)) = frame.parent else {
            match result {
                Ok(output) => self.end_execution(Status::Succeeded, Some(output), None, None),
                Err(f) => {
                    let error = if f.error.is_empty() {
                        None
                    } else {
                        Some(f.error)
                    };
                    self.end_execution(Status::Failed, None, error, f.cause)
                }
            }
            return;
        };
        self.changed.insert(pid);
        let child_last = frame.last_event_id;
        let Some(parent) = self.exec.frames.get_mut(&pid) else {
            return;
        };
        // Events that close an iteration follow the iteration's own last event.
        if !parent.hidden {
            parent.last_event_id = parent.last_event_id.max(child_last);
        }
        let state_name = self.sm.state(parent.state).name.clone();
        let Waiting::Children(join) = &mut parent.waiting else {
            return;
        };
        let (is_map, distributed) = (join.map, join.distributed);
        let done_value = match result {
            Ok(output) => {
                if is_map && !distributed {
                    self.emit(
                        pid,
                        Details::MapIterationSucceeded {
                            name: state_name,
                            index: slot,
                        },
                    );
                }
                output
            }
            Err(failure) => {
                if is_map && !distributed {
                    self.emit(
                        pid,
                        Details::MapIterationFailed {
                            name: state_name.clone(),
                            index: slot,
                        },
                    );
                }
                let Some(Frame {
                    waiting: Waiting::Children(join),
                    ..
                }) = self.exec.frames.get_mut(&pid)
                else {
                    return;
                };
                join.failures += 1;
                let has_tolerance = join.tolerated_failure_count.is_some()
                    || join.tolerated_failure_percentage.is_some();
                let total = join.total.max(1);
                let tolerated = is_map
                    && has_tolerance
                    && join
                        .tolerated_failure_count
                        .is_none_or(|c| join.failures as u64 <= c)
                    && join
                        .tolerated_failure_percentage
                        .is_none_or(|p| (join.failures as f64) * 100.0 / (total as f64) <= p);
                if !tolerated {
                    let (first, n) = (join.first_child, join.total);
                    // The failed frame ended on its own; only its siblings are aborted.
                    self.exec.frames.remove(&fid);
                    for i in 0..n {
                        self.abort_frame(
                            first + i as u64,
                            is_map.then(|| (pid, state_name.clone())),
                        );
                    }
                    if is_map {
                        if distributed {
                            self.emit(
                                pid,
                                Details::MapRunFailed {
                                    error: None,
                                    cause: None,
                                },
                            );
                        }
                        self.emit(pid, Details::MapStateFailed);
                    } else {
                        self.emit(pid, Details::ParallelStateFailed);
                    }
                    let failure = if has_tolerance {
                        Failure::states(
                            StatesError::ExceedToleratedFailureThreshold,
                            "The specified tolerated failure threshold was exceeded",
                        )
                    } else {
                        failure
                    };
                    if let Some(p) = self.exec.frames.get_mut(&pid) {
                        p.waiting = Waiting::Nothing;
                        p.seq += 1;
                    }
                    self.queue.push_back((pid, Resume::ChildFailed(failure)));
                    return;
                }
                let mut m = Map::new();
                m.insert("Error".into(), json!(failure.error));
                if let Some(c) = &failure.cause {
                    m.insert("Cause".into(), json!(c));
                }
                Arc::new(Value::Object(m))
            }
        };
        if let Some(child) = self.exec.frames.get_mut(&fid) {
            child.waiting = Waiting::Done(done_value);
        }
        let Some(Frame {
            waiting: Waiting::Children(join),
            ..
        }) = self.exec.frames.get_mut(&pid)
        else {
            return;
        };
        join.running = join.running.saturating_sub(1);
        join.completed += 1;
        if join.completed >= join.total {
            self.queue.push_back((pid, Resume::ChildrenDone));
        } else if join.map && join.next_to_start < join.total {
            self.start_iterations(pid);
        }
    }

    /// Removes a frame and all frames below it; a running Map iteration is
    /// recorded as aborted.
    fn abort_frame(&mut self, fid: FrameId, map: Option<(FrameId, String)>) {
        self.changed.insert(fid);
        let Some(f) = self.exec.frames.remove(&fid) else {
            return;
        };
        if let Waiting::Children(join) = &f.waiting {
            for i in 0..join.total {
                self.abort_frame(join.first_child + i as u64, None);
            }
        }
        let running = !matches!(f.waiting, Waiting::NotStarted | Waiting::Done(_));
        if let (Some((pid, name)), Some((_, index)), true) = (map, f.parent, running) {
            if !f.hidden {
                self.emit(pid, Details::MapIterationAborted { name, index });
            }
        }
    }

    fn end_execution(
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
        let last = self.exec.last_event_id;
        let id = last + 1;
        self.exec.last_event_id = id;
        self.step.history.push(HistoryEvent {
            id,
            previous_event_id: last,
            timestamp: self.env.now,
            details,
        });
        self.exec.status = status;
        self.exec.output = output;
        self.exec.error = error;
        self.exec.cause = cause;
        self.exec.stop_time = Some(self.env.now);
        self.exec.frames.clear();
        self.queue.clear();
        self.step.effects.push(Effect::Finished { status });
    }

    // ---- Retry and Catch ------------------------------------------------

    /// Retries, catches, or fails the frame. Returns how to go on, if at all.
    fn handle_failure(&mut self, fid: FrameId, failure: Failure) -> Option<Resume> {
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
        let state_name = state.name.clone();
        if failure.error == StatesError::QueryEvaluationError.name() {
            self.emit(
                fid,
                Details::EvaluationFailed {
                    error: Some(failure.error.clone()),
                    cause: failure.cause.clone(),
                    state: state_name,
                    location: None,
                },
            );
            // A Map that fails before it starts its iterations still closes.
            if matches!(
                self.exec
                    .frames
                    .get(&fid)
                    .map(|f| &self.sm.state(f.state).kind),
                Some(Kind::Map(_))
            ) {
                self.emit(fid, Details::MapStateFailed);
            }
        }
        let f = self.exec.frames.get(&fid)?;
        let state = self.sm.state(f.state);
        // Retry
        if let Some((i, r)) = state
            .retry
            .iter()
            .enumerate()
            .find(|(_, r)| error_matches(&r.error_equals, &failure.error))
        {
            let used = f.retry_counts.get(i).copied().unwrap_or(0);
            if used < r.max_attempts {
                let delay = retry_delay(
                    r,
                    used,
                    dataflow::seed(&self.exec.info.arn, fid, self.exec.last_event_id),
                );
                let due = self.env.now.saturating_add(delay);
                let f = self.exec.frames.get_mut(&fid)?;
                if f.retry_counts.len() <= i {
                    f.retry_counts.resize(i + 1, 0);
                }
                f.retry_counts[i] += 1;
                f.seq += 1;
                let seq = f.seq;
                f.waiting = Waiting::Retry { due };
                self.step.effects.push(Effect::ScheduleTimer {
                    frame: fid,
                    seq,
                    timer: Timer::Retry,
                    at: due,
                });
                return None;
            }
        }
        // Catch
        if let Some(c) = state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure.error))
        {
            let mut error_output = Map::new();
            error_output.insert("Error".into(), json!(failure.error));
            error_output.insert(
                "Cause".into(),
                json!(failure.cause.clone().unwrap_or_default()),
            );
            let error_output = Value::Object(error_output);
            let caught = match &state.io {
                Io::JsonPath { .. } => {
                    let assigned = match &c.assign {
                        Some(Assign::JsonPath(t)) => {
                            let scope = self.scope(f, &state.name);
                            match t.evaluate(&error_output, &scope, self.seed(f)) {
                                Ok(Value::Object(m)) => Ok(Some(m)),
                                Ok(_) => Ok(None),
                                Err(e) => Err(e),
                            }
                        }
                        _ => Ok(None),
                    };
                    assigned.and_then(|assigned| {
                        dataflow::result_path(
                            &c.result_path,
                            &f.input,
                            Arc::new(error_output.clone()),
                        )
                        .map(|out| (out, assigned))
                    })
                }
                Io::Jsonata { .. } => {
                    let states =
                        self.states_binding(f, &state.name, None, Some(&error_output), None, None);
                    let out = match &c.output {
                        Some(t) => self
                            .eval_jsonata(f, t, states.clone(), "Output")
                            .map(Arc::new),
                        None => Ok(Arc::new(error_output.clone())),
                    };
                    out.and_then(|out| {
                        let assigned = match &c.assign {
                            Some(Assign::Jsonata(t)) => {
                                match self.eval_jsonata(f, t, states, "Assign")? {
                                    Value::Object(m) => Some(m),
                                    _ => None,
                                }
                            }
                            _ => None,
                        };
                        Ok((out, assigned))
                    })
                }
            };
            return match caught {
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
}

/// Step Functions' variable limits: 256 KiB per variable, 256 KiB for all
/// the variables of one `Assign`, 10 MiB for all the variables an execution
/// holds in a scope. Returns the cause when `assigned` breaks one.
fn variable_limit_exceeded(
    current: &Map<String, Value>,
    assigned: &Map<String, Value>,
    state: &str,
) -> Option<String> {
    const ONE: usize = 256 * 1024;
    const TOTAL: usize = 10 * 1024 * 1024;
    let mut assign_total = 0;
    for (name, value) in assigned {
        let size = dataflow::json_size(value);
        if size > ONE {
            return Some(format!(
                "The state '{state}' assigned the variable '{name}' a value of {size} bytes, more than the 262144 bytes a variable may hold."
            ));
        }
        assign_total += size;
    }
    if assign_total > ONE {
        return Some(format!(
            "The state '{state}' assigned {assign_total} bytes of variables at once, more than the 262144 bytes one Assign may hold."
        ));
    }
    let kept: usize = current
        .iter()
        .filter(|(k, _)| !assigned.contains_key(*k))
        .map(|(_, v)| dataflow::json_size(v))
        .sum();
    if kept + assign_total > TOTAL {
        return Some(format!(
            "The state '{state}' would bring the variables to {} bytes, more than the 10485760 bytes an execution may hold.",
            kept + assign_total
        ));
    }
    None
}

/// `States.QueryEvaluationError` for a JSONata field whose value has the
/// wrong type, in Step Functions' words.
fn unexpected_type(field: &str, expected: &str, value: &Value) -> Failure {
    flowstate_asl::jsonata::query_error(format!(
        "The JSONata expression specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {value}",
        dataflow::type_name(value)
    ))
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
