//! The decoded-execution cache: running executions kept decoded between
//! steps, so that the next step of an execution read by this process
//! skips reading and decoding it. Bounded in bytes — an estimate of each
//! execution's decoded size, kept up to date from the frames each step
//! changed — and in entries; the least recently used go first. Only a
//! cache: every commit is still a compare-and-set on the store.

use flowstate_engine::{FrameId, Waiting};
use flowstate_ports::ExecutionRecord;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// A decoded execution and the estimated sizes of its parts.
pub(crate) struct Cached {
    pub(crate) rec: ExecutionRecord,
    sizes: Sizes,
}

#[derive(Default)]
struct Sizes {
    total: usize,
    /// The header's part (its input, mostly), measured once.
    base: usize,
    frames: HashMap<FrameId, FrameSize>,
}

struct FrameSize {
    /// The `data_rev` the data part was measured at: a step that did not
    /// set the frame's data does not measure it again (a Map's items).
    data_rev: u64,
    data: usize,
    state: usize,
}

impl Cached {
    /// Measures a record read from the store.
    pub(crate) fn new(rec: ExecutionRecord) -> Cached {
        let base = HEADER_BYTES + value_bytes(&rec.execution.info.input);
        let mut sizes = Sizes {
            total: base,
            base,
            frames: HashMap::with_capacity(rec.execution.frames.len()),
        };
        for (id, f) in &rec.execution.frames {
            let size = FrameSize {
                data_rev: f.data_rev,
                data: frame_data_bytes(f),
                state: frame_state_bytes(f),
            };
            sizes.total += size.data + size.state;
            sizes.frames.insert(*id, size);
        }
        Cached { rec, sizes }
    }

    /// Measures again the frames a step changed or removed (`touched`).
    pub(crate) fn remeasure(&mut self, touched: impl IntoIterator<Item = FrameId>) {
        for id in touched {
            let old = self.sizes.frames.remove(&id);
            if let Some(old) = &old {
                self.sizes.total -= old.data + old.state;
            }
            let Some(f) = self.rec.execution.frames.get(&id) else {
                continue;
            };
            let data = match old {
                Some(old) if old.data_rev == f.data_rev => old.data,
                _ => frame_data_bytes(f),
            };
            let size = FrameSize {
                data_rev: f.data_rev,
                data,
                state: frame_state_bytes(f),
            };
            self.sizes.total += size.data + size.state;
            self.sizes.frames.insert(id, size);
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.sizes.total.max(self.sizes.base)
    }
}

/// The cache itself.
pub(crate) struct ExecutionCache {
    inner: Mutex<Lru>,
    max_bytes: usize,
    max_entries: usize,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<String, (Cached, u64)>,
    /// Use order: tick of last use → ARN.
    order: BTreeMap<u64, String>,
    tick: u64,
    bytes: usize,
}

impl ExecutionCache {
    pub(crate) fn new(max_bytes: usize, max_entries: usize) -> ExecutionCache {
        ExecutionCache {
            inner: Mutex::new(Lru::default()),
            max_bytes,
            max_entries,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic while holding the lock leaves a cache behind, which is
        // safe to use or to lose.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an execution out (the caller steps it, then puts it back).
    pub(crate) fn take(&self, arn: &str) -> Option<Cached> {
        let mut lru = self.lock();
        let (cached, tick) = lru.entries.remove(arn)?;
        lru.order.remove(&tick);
        lru.bytes -= cached.bytes();
        Some(cached)
    }

    /// Forgets an execution.
    pub(crate) fn remove(&self, arn: &str) {
        drop(self.take(arn));
    }

    /// Keeps an execution, evicting the least recently used ones beyond
    /// the bounds. One larger than the whole budget is not kept, nor one
    /// older than the copy already kept: a step that applied nothing puts
    /// back the copy it loaded, which RedriveExecution (committed outside
    /// the execution's queue of events) may have overtaken meanwhile.
    pub(crate) fn put(&self, cached: Cached) {
        let bytes = cached.bytes();
        if self.max_entries == 0 || bytes > self.max_bytes {
            return;
        }
        let arn = cached.rec.execution.info.arn.clone();
        let mut lru = self.lock();
        if lru
            .entries
            .get(&arn)
            .is_some_and(|(kept, _)| kept.rec.execution.version > cached.rec.execution.version)
        {
            return;
        }
        if let Some((old, tick)) = lru.entries.remove(&arn) {
            lru.order.remove(&tick);
            lru.bytes -= old.bytes();
        }
        while lru.bytes + bytes > self.max_bytes || lru.entries.len() >= self.max_entries {
            let Some((_, victim)) = lru.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = lru.entries.remove(&victim) {
                lru.bytes -= old.bytes();
            }
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.order.insert(tick, arn.clone());
        lru.bytes += bytes;
        lru.entries.insert(arn, (cached, tick));
    }

    /// What a cached execution's frame waits for: `None` when the
    /// execution is not cached here; `Some(None)` when it has no such frame.
    pub(crate) fn frame_wait(&self, arn: &str, frame: FrameId) -> Option<Option<(u64, bool)>> {
        let lru = self.lock();
        let (cached, _) = lru.entries.get(arn)?;
        Some(
            cached
                .rec
                .execution
                .frames
                .get(&frame)
                .map(|f| (f.seq, matches!(f.waiting, Waiting::Task(_)))),
        )
    }

    #[cfg(test)]
    fn total_bytes(&self) -> usize {
        self.lock().bytes
    }

    #[cfg(test)]
    fn contains(&self, arn: &str) -> bool {
        self.lock().entries.contains_key(arn)
    }
}

/// The fixed part of an execution's header and of a frame, roughly.
const HEADER_BYTES: usize = 1024;
const FRAME_BYTES: usize = 256;

fn frame_data_bytes(f: &flowstate_engine::Frame) -> usize {
    let mut n = value_bytes(&f.input);
    if let Some(e) = &f.effective {
        if !std::sync::Arc::ptr_eq(e, &f.input) {
            n += value_bytes(e);
        }
    }
    if let Some(items) = &f.iteration_inputs {
        n += items.iter().map(value_bytes).sum::<usize>();
    }
    n
}

fn frame_state_bytes(f: &flowstate_engine::Frame) -> usize {
    let vars: usize = f
        .variables
        .iter()
        .map(|(k, v)| k.len() + 32 + value_bytes(v))
        .sum();
    let waiting = match &f.waiting {
        Waiting::Done(v) => value_bytes(v),
        Waiting::Task(t) => t.resource.len() + t.token.as_ref().map_or(0, String::len) + 64,
        _ => 0,
    };
    FRAME_BYTES + vars + waiting
}

/// An estimate of the memory a decoded JSON value takes (heap and
/// headers), walked without recursion (values may nest deeply).
pub(crate) fn value_bytes(v: &Value) -> usize {
    let mut total = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::Null | Value::Bool(_) => 8,
            Value::Number(_) => 16,
            Value::String(s) => 24 + s.len(),
            Value::Array(a) => {
                stack.extend(a.iter());
                24
            }
            Value::Object(o) => {
                stack.extend(o.values());
                48 + o.keys().map(|k| 32 + k.len()).sum::<usize>()
            }
        };
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowstate_engine::{Execution, ExecutionInfo, Frame, Limits};
    use flowstate_ports::{ExecutionMeta, WorkflowType};
    use serde_json::json;
    use std::sync::Arc;

    fn record(name: &str, payload: usize) -> ExecutionRecord {
        let info = ExecutionInfo {
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:M:{name}"),
            name: name.into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
            state_machine_name: "M".into(),
            role_arn: "r".into(),
            region: "us-east-1".into(),
            start_time: 0,
            input: Arc::new(json!({})),
            limits: Limits::STANDARD,
            timeout_seconds: None,
        };
        let frame = Frame::new(0, 0, 0, Arc::new(json!("x".repeat(payload))));
        ExecutionRecord {
            execution: Execution::from_parts(info, [frame]),
            meta: ExecutionMeta {
                revision_id: "r".into(),
                kind: WorkflowType::Standard,
                test_case: None,
                parent: None,
                version_arn: None,
                alias_arn: None,
                trace_header: None,
                redrive_date: None,
                redrive_tokens: Vec::new(),
            },
        }
    }

    #[test]
    fn the_cache_holds_no_more_bytes_than_its_budget_dropping_the_least_recently_used() {
        let cache = ExecutionCache::new(12_000, 1_000);
        for name in ["a", "b", "c", "d"] {
            cache.put(Cached::new(record(name, 2_000)));
            assert!(cache.total_bytes() <= 12_000);
        }
        // Each is ~3.3 KB: three fit. "a" was used least recently.
        assert!(!cache.contains(&record("a", 0).execution.info.arn));
        let b = cache.take(&record("b", 0).execution.info.arn);
        assert!(b.is_some(), "b is still there");
        cache.put(b.unwrap_or_else(|| Cached::new(record("b", 2_000))));
        cache.put(Cached::new(record("e", 2_000)));
        assert!(cache.contains(&record("b", 0).execution.info.arn));
        assert!(!cache.contains(&record("c", 0).execution.info.arn));
        // One larger than the whole budget is not kept at all.
        cache.put(Cached::new(record("huge", 50_000)));
        assert!(!cache.contains(&record("huge", 0).execution.info.arn));
        assert!(cache.total_bytes() <= 12_000);
    }

    #[test]
    fn an_older_copy_does_not_replace_a_newer_one() {
        let cache = ExecutionCache::new(1 << 20, 10);
        let mut newer = record("r", 10);
        newer.execution.version = 2;
        let mut older = record("r", 10);
        older.execution.version = 1;
        let arn = newer.execution.info.arn.clone();
        cache.put(Cached::new(newer));
        cache.put(Cached::new(older));
        assert_eq!(cache.take(&arn).map(|c| c.rec.execution.version), Some(2));
    }

    #[test]
    fn a_step_that_leaves_a_frames_data_alone_does_not_measure_it_again() {
        let mut cached = Cached::new(record("m", 100_000));
        let before = cached.bytes();
        assert!(before > 100_000);
        if let Some(f) = cached.rec.execution.frames.get_mut(&0) {
            f.seq += 1;
            f.variables.insert("v".into(), json!("y".repeat(1_000)));
        }
        cached.remeasure([0]);
        assert!(cached.bytes() > before + 1_000 && cached.bytes() < before + 1_200);
        cached.rec.execution.frames.clear();
        cached.remeasure([0]);
        assert!(cached.bytes() < 2_000, "{}", cached.bytes());
    }

    #[test]
    fn deep_values_are_measured_without_recursion() {
        let mut v = json!(1);
        for _ in 0..100_000 {
            v = Value::Array(vec![v]);
        }
        assert!(value_bytes(&v) > 2_400_000);
        // Dropping such a value recursively would overflow the stack too.
        let mut v = v;
        while let Value::Array(mut a) = v {
            v = a.pop().unwrap_or(Value::Null);
        }
    }
}
