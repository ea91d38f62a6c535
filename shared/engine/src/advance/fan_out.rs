//! Parallel and Map: starting their child frames (branches, iterations
//! within MaxConcurrency), collecting each child's end into the join
//! (results in branch or item order, tolerated failures), and aborting the
//! siblings of a child that fails the whole state.

use super::io::{check_depth, unexpected_type};
use super::numeric::NumericField;
use super::{Outcome, Resume, Run};
use crate::dataflow::{self, runtime};
use crate::execution::*;
use crate::history::Details;
use crate::scope::set_map_item;
use flowstate_asl::definition::{Io, ItemSelector, Kind, MapState};
use flowstate_asl::errors::{Failure, StatesError};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// Step Functions runs at most 40 iterations of an inline Map at once,
/// whatever its MaxConcurrency (0, the default, meaning "as many as
/// possible").
pub const INLINE_MAP_MAX_CONCURRENCY: usize = 40;

/// How many iterations of a Map may run at once.
fn concurrency(join: &Join) -> usize {
    let limit = if join.max_concurrency == 0 {
        usize::MAX
    } else {
        join.max_concurrency
    };
    if join.distributed {
        limit
    } else {
        limit.min(INLINE_MAP_MAX_CONCURRENCY)
    }
}

impl Run<'_, '_> {
    pub(super) fn parallel_start(
        &mut self,
        fid: FrameId,
        branches: &[usize],
    ) -> Result<Outcome, Failure> {
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
        if !Arc::ptr_eq(&input, &f.input) {
            check_depth(&input, &state.name)?;
        }
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
        let join = Join {
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
        };
        self.wait_for_children(fid, input, None, join)
    }

    pub(super) fn map_start(&mut self, fid: FrameId, m: &MapState) -> Result<Outcome, Failure> {
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
        let (items, effective): (Cow<'_, [Value]>, Arc<Value>) =
            match (&state.io, &jsonpath_effective) {
                (Io::JsonPath { .. }, Some(effective)) => {
                    selected = dataflow::path_field_cow(&m.items_path, effective, &scope)?;
                    self.inspect(fid, |i| i.after_items_path = Some((*selected).clone()));
                    match &*selected {
                        Value::Array(a) => (Cow::Borrowed(a.as_slice()), effective.clone()),
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
                            let states =
                                self.states_binding(f, &state.name, None, None, None, None);
                            let v = self.eval_jsonata(f, t, states, "Items")?;
                            if !v.is_array() {
                                return Err(unexpected_type("Items", "array", t, &v));
                            }
                            v
                        }
                        None => (*f.input).clone(),
                    };
                    self.inspect(fid, |i| i.after_items_path = Some(v.clone()));
                    match v {
                        Value::Array(a) => (Cow::Owned(a), f.input.clone()),
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
            .numeric(
                f,
                m.max_concurrency.as_ref(),
                &effective,
                NumericField::MaxConcurrency,
            )?
            .unwrap_or(0.0);
        // Each iteration's input, with $$.Map.Item visible to the
        // ItemSelector. What the selector sees besides the item is built
        // once for all items: per item it would cost the execution's input
        // (and, in JSONata, the Map's input) once per item.
        let inputs: Vec<Value> = match &m.item_selector {
            None => items.to_vec(),
            Some(ItemSelector::JsonPath(t)) => {
                let mut context = match self.scope(f, &state.name).context_value() {
                    Value::Object(c) => c,
                    _ => Map::new(),
                };
                let mut inputs = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    set_map_item(&mut context, i, item.clone());
                    let built = Value::Object(std::mem::take(&mut context));
                    let mut scope = self.scope(f, &state.name);
                    scope.context = Some(&built);
                    let v = t.evaluate(&effective, &scope, seed);
                    if let Value::Object(c) = built {
                        context = c;
                    }
                    let v = v?;
                    check_depth(&v, &state.name)?;
                    inputs.push(v);
                }
                inputs
            }
            Some(ItemSelector::Jsonata(t)) => {
                let mut states = self.states_binding(f, &state.name, None, None, None, None);
                let mut inputs = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(Value::Object(context)) = states.get_mut("context") {
                        set_map_item(context, i, item.clone());
                    }
                    let (v, back) = self.eval_jsonata_keeping(f, t, states, "ItemSelector");
                    states = back;
                    let v = v?;
                    check_depth(&v, &state.name)?;
                    inputs.push(v);
                }
                inputs
            }
        };
        self.inspect(fid, |i| {
            i.after_item_selector = Some(Value::Array(inputs.clone()));
            i.max_concurrency = Some(max_concurrency);
        });
        let n = inputs.len();
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
        let tolerated_count = self
            .numeric(
                f,
                m.tolerated_failure_count.as_ref(),
                &effective,
                NumericField::ToleratedFailureCount,
            )?
            .map(|n| n as u64);
        let tolerated_pct = self.numeric(
            f,
            m.tolerated_failure_percentage.as_ref(),
            &effective,
            NumericField::ToleratedFailurePercentage,
        )?;
        self.inspect(fid, |i| {
            i.tolerated_failure_count = tolerated_count;
            i.tolerated_failure_percentage = tolerated_pct;
        });
        if distributed {
            self.emit(fid, Details::MapRunStarted { map_run_arn });
        }
        // The iterations' ids are reserved now; each frame is created when
        // its iteration starts (see `start_iterations`).
        let first_child = self.exec.next_frame_id;
        self.exec.next_frame_id += n as u64;
        let inputs = Arc::new(inputs);
        let join = Join {
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
        };
        self.wait_for_children(fid, effective, Some(inputs), join)
    }

    /// The Parallel or Map frame waits for its children: a Parallel's
    /// branches are created, a Map's iterations start up to its
    /// concurrency from `iteration_inputs`. With no children at all it is
    /// done at once.
    fn wait_for_children(
        &mut self,
        fid: FrameId,
        effective: Arc<Value>,
        iteration_inputs: Option<Arc<Vec<Value>>>,
        join: Join,
    ) -> Result<Outcome, Failure> {
        let (map, total) = (join.map, join.total);
        let data_rev = self.exec.version + 1;
        let f = self.frame_mut(fid)?;
        f.effective = Some(effective);
        f.iteration_inputs = iteration_inputs;
        f.data_rev = data_rev;
        f.seq += 1;
        f.waiting = Waiting::Children(join);
        if total == 0 {
            return Ok(self.children_done(fid));
        }
        if map {
            self.start_iterations(fid);
        }
        Ok(Outcome::Blocked)
    }

    /// Starts Map iterations up to the Map's concurrency: MaxConcurrency,
    /// and for an inline Map at most [`INLINE_MAP_MAX_CONCURRENCY`].
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
            if join.next_to_start >= join.total || join.running >= concurrency(join) {
                return;
            }
            let index = join.next_to_start;
            join.next_to_start += 1;
            join.running += 1;
            let child = join.first_child + index as u64;
            let distributed = join.distributed;
            let started = if distributed {
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
                // Created when the Map started (an execution stored before
                // iteration frames were created lazily).
                c.waiting = Waiting::Nothing;
                c.last_event_id = started;
                c.entered_time = self.env.now;
            } else if !self.create_iteration(fid, child, index, distributed, started) {
                return;
            }
            self.queue.push_back((child, Resume::Enter));
        }
    }

    /// Creates the frame of the Map `fid`'s iteration `index`, with the
    /// input computed when the Map started. False if the Map frame holds
    /// no such input (a broken invariant: nothing is started).
    fn create_iteration(
        &mut self,
        fid: FrameId,
        child: FrameId,
        index: usize,
        distributed: bool,
        started: u64,
    ) -> bool {
        let Some(f) = self.exec.frames.get(&fid) else {
            return false;
        };
        let Some(input) = f.iteration_inputs.as_ref().and_then(|i| i.get(index)) else {
            return false;
        };
        let Kind::Map(m) = &self.sm.state(f.state).kind else {
            return false;
        };
        let block = m.processor;
        let frame = Frame {
            parent: Some((fid, index)),
            entered_time: self.env.now,
            last_event_id: started,
            variables: f.variables.clone(),
            hidden: f.hidden || distributed,
            data_rev: self.exec.version + 1,
            ..Frame::new(
                child,
                block,
                self.sm.block(block).start_at,
                Arc::new(input.clone()),
            )
        };
        self.exec.frames.insert(child, frame);
        true
    }

    /// Every child is done: the Parallel or Map state's result is their
    /// results in branch or item order.
    pub(super) fn children_done(&mut self, fid: FrameId) -> Outcome {
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
        if f.iteration_inputs.take().is_some() {
            f.data_rev = self.exec.version + 1;
        }
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

    /// A branch or iteration ended: its result waits in the join; a failure
    /// beyond what the Map tolerates fails the whole state and aborts the
    /// other children.
    pub(super) fn child_finished(
        &mut self,
        fid: FrameId,
        pid: FrameId,
        slot: usize,
        result: Result<Arc<Value>, Failure>,
    ) {
        self.changed.insert(pid);
        let child_last = self
            .exec
            .frames
            .get(&fid)
            .map_or(0, |child| child.last_event_id);
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
                let tolerated = is_map
                    && crate::limits::failures_tolerated(
                        join.failures,
                        join.total,
                        join.tolerated_failure_count,
                        join.tolerated_failure_percentage,
                    );
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
            // Only the result is read from here on.
            child.variables = Map::new();
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
}
