//! The pipeline every state shares: entering (the Entered event), the
//! effective input (InputPath, Parameters or Arguments), the output stage
//! (ResultSelector, ResultPath, OutputPath or Output, Assign), the payload
//! and variable size checks, and leaving (the Exited event, the transition).
//! Also the evaluation helpers the states use: the scope, the JSONata
//! `$states` binding, and fields given as a literal, a path or JSONata.

use super::{Resume, Run, SizeHint, StageOutput};
use crate::dataflow::{self, runtime};
use crate::execution::*;
use crate::history::{Details, StateType};
use crate::inspect::{Exited, Inspection};
use crate::limits::{nests_deeper_than, MAX_DEPTH};
use crate::scope::EvalScope;
use flowstate_asl::definition::{Assign, Dynamic, Io, Kind, ResultPath, Selector, StateId};
use flowstate_asl::errors::{Failure, StatesError};
use flowstate_asl::jsonata::{JsonataScope, Template};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A field given as a literal, a path or a JSONata expression, evaluated;
/// each state interprets it and words its own errors.
pub(super) enum Resolved<'d> {
    Literal(&'d Value),
    /// What the path selected (`None`: nothing) and the path.
    Path(Option<Value>, &'d Selector),
    /// What the expression yielded, and the expression.
    Jsonata(Value, &'d Template),
}

impl Run<'_, '_> {
    pub(super) fn enter(&mut self, fid: FrameId) {
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
            f.iteration_inputs = None;
            f.data_rev = self.exec.version + 1;
            f.waiting = Waiting::Nothing;
        }
    }

    /// Leaves the current state: size check, variables, Exited event, transition.
    pub(super) fn exit(
        &mut self,
        fid: FrameId,
        output: Arc<Value>,
        next: Option<StateId>,
        assigned: Option<Map<String, Value>>,
    ) -> Option<Resume> {
        let (known, merged_too_deep) = self.known_size(fid, &output);
        let f = self.exec.frames.get(&fid)?;
        let state = self.sm.state(f.state);
        // Depth first: measuring sizes recurses into the value. An output
        // that is the input passed through was checked as an output before;
        // of a merge, only the member that changed needed a look.
        let output_too_deep =
            merged_too_deep.unwrap_or_else(|| !Arc::ptr_eq(&output, &f.input) && too_deep(&output));
        if output_too_deep || assigned.iter().flat_map(|v| v.values()).any(too_deep) {
            self.finish_frame(fid, Err(depth_failure(&state.name)));
            return None;
        }
        let variable_problem = assigned
            .as_ref()
            .and_then(|vars| variable_limit_exceeded(&f.variables, vars, &state.name));
        let limit = self.exec.info.limits.max_payload_bytes;
        let size = known.unwrap_or_else(|| dataflow::json_size(&output));
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
        if let (Some(f), Some(_)) = (self.exec.frames.get(&fid), self.inspection) {
            let exited = Exited {
                output: (*output).clone(),
                next: next.map(|n| self.sm.state(n).name.clone()),
                variables: f.variables.clone(),
            };
            self.inspect(fid, |i| {
                i.exited.get_or_insert(exited);
            });
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
    /// through, or a merge `output_stage` measured incrementally — then
    /// also whether it nests too deep.
    fn known_size(&mut self, fid: FrameId, output: &Arc<Value>) -> (Option<usize>, Option<bool>) {
        if let Some(hint) = self.size_hint.get_mut().take() {
            if Arc::ptr_eq(&hint.output, output) {
                return (Some(hint.size), Some(hint.too_deep));
            }
        }
        match self.input_sizes.get(&fid) {
            Some((v, size)) if Arc::ptr_eq(v, output) => (Some(*size), None),
            _ => (None, None),
        }
    }

    /// Records into the inspection, when one is kept and `fid` is the root.
    pub(super) fn inspect(&self, fid: FrameId, record: impl FnOnce(&mut Inspection)) {
        if let (ROOT, Some(inspection)) = (fid, self.inspection) {
            record(&mut inspection.borrow_mut());
        }
    }

    pub(super) fn scope<'s>(&'s self, f: &'s Frame, state_name: &'s str) -> EvalScope<'s> {
        EvalScope {
            exec: self.exec,
            frame: f,
            state_name,
            retry_count: self.retry_count(f),
            task_token: None,
            map_item: None,
            context: None,
        }
    }

    /// `$$.State.RetryCount`: present in the states that can retry (Task,
    /// Parallel, Map), in every field they evaluate; the recorded context of
    /// a Pass state has none.
    fn retry_count(&self, f: &Frame) -> Option<u32> {
        matches!(
            self.sm.state(f.state).kind,
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_)
        )
        .then(|| f.retry_counts.iter().sum())
    }

    pub(super) fn seed(&self, f: &Frame) -> u64 {
        dataflow::seed(&self.exec.info.arn, f.id, self.exec.last_event_id)
    }

    pub(super) fn frame(&self, fid: FrameId) -> Result<&Frame, Failure> {
        self.exec
            .frames
            .get(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))
    }

    pub(super) fn frame_mut(&mut self, fid: FrameId) -> Result<&mut Frame, Failure> {
        self.exec
            .frames
            .get_mut(&fid)
            .ok_or_else(|| runtime("internal: frame vanished"))
    }

    /// JSONPath mode: InputPath then (when the state has one) Parameters.
    pub(super) fn effective_input(
        &self,
        fid: FrameId,
        with_parameters: bool,
    ) -> Result<Arc<Value>, Failure> {
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
                self.inspect(fid, |i| i.after_input_path = Some((*selected).clone()));
                match (with_parameters, parameters) {
                    (true, Some(p)) => {
                        let v = p.evaluate(&selected, &scope, self.seed(f))?;
                        self.inspect(fid, |i| i.after_parameters = Some(v.clone()));
                        Ok(Arc::new(v))
                    }
                    _ => Ok(selected),
                }
            }
            Io::Jsonata { .. } => Ok(f.input.clone()),
        }
    }

    /// The JSONata `$states` binding for the current state.
    pub(super) fn states_binding(
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
            retry_count: self.retry_count(f),
            task_token,
            map_item,
            context: None,
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

    pub(super) fn eval_jsonata(
        &self,
        f: &Frame,
        template: &Template,
        states: Value,
        field: &str,
    ) -> Result<Value, Failure> {
        self.eval_jsonata_keeping(f, template, states, field).0
    }

    /// [`Run::eval_jsonata`], giving the `$states` binding back for the
    /// next evaluation (a Map's ItemSelector, once per item).
    pub(super) fn eval_jsonata_keeping(
        &self,
        f: &Frame,
        template: &Template,
        states: Value,
        field: &str,
    ) -> (Result<Value, Failure>, Value) {
        let vars = &f.variables;
        let lookup = move |name: &str| vars.get(name);
        let scope = JsonataScope {
            states,
            variables: &lookup,
            now_millis: self.env.now,
            seed: self.seed(f),
        };
        let result = template.evaluate(&scope, field);
        (result, scope.states)
    }

    /// Evaluates a field given as a literal, a path (read from `input`) or
    /// a JSONata expression (named `field` in errors).
    pub(super) fn resolve<'d>(
        &self,
        f: &Frame,
        d: &'d Dynamic,
        input: &Value,
        field: &str,
    ) -> Result<Resolved<'d>, Failure> {
        let state = self.sm.state(f.state);
        Ok(match d {
            Dynamic::Literal(v) => Resolved::Literal(v),
            Dynamic::Path(sel) => {
                let scope = self.scope(f, &state.name);
                let v = dataflow::select(sel, input, &scope, self.seed(f))?;
                Resolved::Path(v, sel)
            }
            Dynamic::Jsonata(t) => {
                let states = self.states_binding(f, &state.name, None, None, None, None);
                Resolved::Jsonata(self.eval_jsonata(f, t, states, field)?, t)
            }
        })
    }

    /// The output stage of a state that produced `result` (None for states
    /// without a result: Choice, Wait, Succeed), plus the variables assigned.
    pub(super) fn output_stage(
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
                        self.inspect(fid, |i| i.result = Some((*r).clone()));
                        let selected = match result_selector {
                            Some(rs) => Arc::new(rs.evaluate(&r, &scope, self.seed(f))?),
                            None => r,
                        };
                        self.inspect(fid, |i| i.after_result_selector = Some((*selected).clone()));
                        let merged =
                            dataflow::result_path(result_path, &f.input, selected.clone())?;
                        self.inspect(fid, |i| i.after_result_path = Some((*merged).clone()));
                        if let (ResultPath::Path(p), Some((raw, raw_size))) =
                            (result_path, self.input_sizes.get(&fid))
                        {
                            if Arc::ptr_eq(raw, &f.input) && !Arc::ptr_eq(&merged, &f.input) {
                                if let Some((size, member)) =
                                    dataflow::merged_size(p, raw, *raw_size, &merged)
                                {
                                    *self.size_hint.borrow_mut() = Some(SizeHint {
                                        output: merged.clone(),
                                        size,
                                        // The input nests no deeper than allowed.
                                        too_deep: nests_deeper_than(member, MAX_DEPTH - 1),
                                    });
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
                if let Some(r) = &result {
                    self.inspect(fid, |i| i.result = Some((**r).clone()));
                }
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
}

/// Whether a value nests deeper than [`MAX_DEPTH`]: kept, it could never
/// be read back.
fn too_deep(v: &Value) -> bool {
    nests_deeper_than(v, MAX_DEPTH)
}

fn depth_failure(state: &str) -> Failure {
    Failure::states(
        StatesError::DataLimitExceeded,
        crate::limits::TooLarge::Depth.cause(state),
    )
}

/// `States.DataLimitExceeded` when `v`, a value state `state` built, nests
/// too deep to keep.
pub(super) fn check_depth(v: &Value, state: &str) -> Result<(), Failure> {
    match too_deep(v) {
        true => Err(depth_failure(state)),
        false => Ok(()),
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
/// wrong type, in Step Functions' words (which quote the expression).
pub(super) fn unexpected_type(
    field: &str,
    expected: &str,
    template: &Template,
    value: &Value,
) -> Failure {
    flowstate_asl::jsonata::query_error(format!(
        "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
        expression_source(template, value),
        dataflow::type_name(value),
        dataflow::compact(value)
    ))
}

/// The expression a template holds, as messages quote it; a template that
/// is not a single expression is quoted as the value it built.
pub(super) fn expression_source(template: &Template, value: &Value) -> String {
    match template {
        Template::Expression(e) => e.source().to_string(),
        _ => dataflow::compact(value),
    }
}

/// A selected value as messages print it after `==`; `null` for nothing.
pub(super) fn plain_or_null(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map(dataflow::plain)
        .unwrap_or_else(|| "null".into())
}
