//! Parallel and Map: starting their child frames (branches, iterations
//! within MaxConcurrency), collecting each child's end into the join
//! (results in branch or item order, tolerated failures), and aborting the
//! siblings of a child that fails the whole state.

use super::io::unexpected_type;
use super::numeric::NumericField;
use super::{Outcome, Resume, Run};
use crate::dataflow::{self, runtime};
use crate::execution::*;
use crate::history::Details;
use flowstate_asl::definition::{Io, ItemSelector, MapState};
use flowstate_asl::errors::{Failure, StatesError};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

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
        self.wait_for_children(fid, input, join)
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
        // Each iteration's input, with $$.Map.Item visible to the ItemSelector.
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let v = match &m.item_selector {
                None => item.clone(),
                Some(ItemSelector::JsonPath(t)) => {
                    let mut scope = self.scope(f, &state.name);
                    scope.map_item = Some((i, item));
                    t.evaluate(&effective, &scope, seed)?
                }
                Some(ItemSelector::Jsonata(t)) => {
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
        self.wait_for_children(fid, effective, join)
    }

    /// The Parallel or Map frame, its children created, waits for them
    /// (Map iterations start up to MaxConcurrency); with no children at all
    /// it is done at once.
    fn wait_for_children(
        &mut self,
        fid: FrameId,
        effective: Arc<Value>,
        join: Join,
    ) -> Result<Outcome, Failure> {
        let (map, total) = (join.map, join.total);
        let data_rev = self.exec.version + 1;
        let f = self.frame_mut(fid)?;
        f.effective = Some(effective);
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
}
