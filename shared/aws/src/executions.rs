//! Executions on the table: how a step is written (in one transaction, or
//! partly ahead of it), and how an execution, one of its frames and its
//! history are read back. The item layout is in `dynamo.rs`.
//!
//! **The header stays small.** It holds counters, status, the output and
//! where each live frame's current items are — not the execution's input
//! (an item of its own, written once) and not the frames' data, nor what
//! the header item's attributes hold. A frame is its small state,
//! rewritten by every step that changes it, with its data (input,
//! effective input, a Map's iteration inputs) folded in when that is at
//! most [`FOLD_BYTES`]; larger data is an item of its own, rewritten only
//! by the steps that set it (`Frame::data_rev`). A step's history events
//! share items (up to [`PACK_EVENTS`] events, ~64 KB). Every item of a
//! step's transaction costs two write units per started KB, so these
//! items stay under 1 KB for a typical step.
//!
//! **A step of any size commits.** A step is one `TransactWriteItems`
//! conditioned on the header's version. What does not fit (100 items, ~4
//! MB) is written first, under keys carrying a fresh nonce, and the
//! transaction adds a marker item `W#{version}` naming the nonce:
//!
//! - a frame written ahead is found through the header's `ahead` list
//!   (nonce → frame ids), which each commit prunes: a frame rewritten in a
//!   transaction, or removed, leaves it — the list only ever names live
//!   frames, so it does not grow with the number of large steps;
//! - history items and outbox entries written ahead carry the version
//!   they were written for and are valid only if that version's marker
//!   names their nonce.
//!
//! A step that loses the race deletes what it wrote ahead; if it dies
//! first, what it wrote is never valid and never overwrites anything (its
//! keys are its own).
//!
//! **Outbox entries go ahead of a small step too.** A step that fits one
//! transaction and writes history puts its outbox entries first, plainly
//! (one write unit per KB where the transaction charges two), each
//! carrying the commit's token and the key of the commit's first history
//! item (`wt`, `wh`): an entry is valid only when that item carries the
//! same token (`ct`), which only that commit writes. Whoever claims an
//! entry from the queue or a sweep checks it (one small read); the process
//! that committed the step knows it landed.

use crate::codec::{
    encode, from_json, get_n, get_s, in_ranges, key, n, ranges, s, to_json, Encoded, Item,
};
use crate::table::TxFail;
use crate::{backend_error, corrupt, AwsBackend};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Frame, FrameId, Status};
use flowstate_ports::{
    null, ExecutionHeader, ExecutionRecord, FrameData, HistoryQuery, OutboxEntry, StepWrite,
    StoreError,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// TransactWriteItems' limit.
const TX_ITEMS: usize = 100;
/// TransactWriteItems allows 4 MB in total; keep a margin for attribute
/// names and keys not counted exactly.
const TX_BYTES: usize = 3_500_000;
/// History events per item, and bytes: a page of history reads whole
/// items, so they stay small.
const PACK_EVENTS: usize = 100;
const PACK_BYTES: usize = 64 * 1024;
/// The layout version in the header (`lv`). Executions of the first
/// layout (no `lv`: input and frame data inside the header and frames, one
/// item per history event, write-ahead nonces in the header's set `ah`)
/// can still be described and their history read; stepping or loading the
/// frames of one is refused. Layout 2 (the header document whole, a
/// frame's data always an item of its own) is read as well: its steps are
/// written in layout 3. Other layouts are refused rather than misread.
const LAYOUT: i64 = 3;
/// Layout 2, still read.
const LAYOUT_2: i64 = 2;
/// A frame's data up to this size is kept in its state item (`fd`)
/// instead of an item of its own: in a transaction every item costs two
/// write units per started KB, so a small second item doubles the cost.
const FOLD_BYTES: usize = 1024;
/// The longest an execution runs (Standard's year) when its limits name
/// no duration.
const MAX_DURATION_MS: i64 = 365 * 86_400_000;
/// Layouts of executions kept in memory (see [`Layouts`]).
const LAYOUTS_KEPT: usize = 8192;

/// The status index's partition (`GSI2PK`): one per state machine and
/// status, so that ListExecutions with a status filter is a Query of
/// exactly the executions it returns.
pub(crate) fn status_index_pk(state_machine_arn: &str, status: &str) -> String {
    format!("S#{state_machine_arn}#{status}")
}

fn status_pk(record: &ExecutionRecord) -> String {
    let e = &record.execution;
    status_index_pk(&e.info.state_machine_arn, e.status.as_str())
}

pub(crate) fn exec_pk(arn: &str) -> String {
    format!("X#{arn}")
}
pub(crate) const HEADER_SK: &str = "E";
const INPUT_SK: &str = "I";

/// A frame's state (`F`) or data (`D`) item.
fn frame_sk(kind: char, id: FrameId, nonce: Option<&str>) -> String {
    match nonce {
        Some(nonce) => format!("{kind}#{id:010}#{nonce}"),
        None => format!("{kind}#{id:010}"),
    }
}

fn history_sk(first: u64, nonce: Option<&str>) -> String {
    match nonce {
        Some(nonce) => format!("H#{first:020}#{nonce}"),
        None => format!("H#{first:020}"),
    }
}

fn marker_sk(version: u64) -> String {
    format!("W#{version:020}")
}

/// `F#0000000012#abc` → (12, Some("abc")); also for `D#…` and `H#…`.
fn parse_sk(sk: &str) -> Option<(u64, Option<&str>)> {
    let rest = sk.get(2..)?;
    let (id, nonce) = match rest.split_once('#') {
        Some((id, nonce)) => (id, Some(nonce)),
        None => (rest, None),
    };
    Some((id.parse().ok()?, nonce))
}

/// Frames whose current items were written ahead under one nonce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ahead {
    n: String,
    /// Frame ids, as inclusive ranges.
    r: Vec<(u64, u64)>,
}

/// The header as stored in `d`.
#[derive(Serialize, Deserialize)]
struct HeaderDoc {
    /// The ports' header, without the input (`info.input` is null).
    header: ExecutionHeader,
    /// Ids of the execution's frames, as inclusive ranges.
    live: Vec<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ahead: Vec<Ahead>,
}

/// Where an execution's items are, as of one version: what a step needs
/// to know of the one before it. Read with the header, and kept in memory
/// (see [`Layouts`]) so that a step does not read the header again.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Layout {
    version: u64,
    next_frame_id: FrameId,
    live: Vec<(u64, u64)>,
    ahead: Vec<Ahead>,
    /// Written by the first layout: its valid write-ahead nonces.
    legacy: Option<HashSet<String>>,
}

impl Layout {
    fn of(doc: &HeaderDoc) -> Layout {
        Layout {
            version: doc.header.version,
            next_frame_id: doc.header.next_frame_id,
            live: doc.live.clone(),
            ahead: doc.ahead.clone(),
            legacy: None,
        }
    }

    /// Refuses to step (or load the frames of) an execution of the first
    /// layout.
    fn check_current(&self, arn: &str) -> Result<(), StoreError> {
        match self.legacy {
            None => Ok(()),
            Some(_) => Err(StoreError::Backend(format!(
                "{arn}: started by an earlier version of Flowstate (item layout 1); finish or stop it with that version"
            ))),
        }
    }

    /// The nonce of the items holding frame `id`, if written ahead.
    fn nonce_of(&self, id: FrameId) -> Option<&str> {
        self.ahead
            .iter()
            .find(|a| in_ranges(&a.r, id))
            .map(|a| a.n.as_str())
    }

    fn is_live(&self, id: FrameId) -> bool {
        in_ranges(&self.live, id)
    }
}

/// The layouts of executions this process read or wrote last, by ARN: a
/// cache, checked against the header's version by the commit's condition.
#[derive(Default)]
pub(crate) struct Layouts {
    map: std::sync::Mutex<HashMap<String, Layout>>,
}

impl Layouts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Layout>> {
        // A poisoned lock guards plain data, still usable.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, arn: &str, version: u64) -> Option<Layout> {
        self.lock()
            .get(arn)
            .filter(|l| l.version == version)
            .cloned()
    }

    fn put(&self, arn: &str, layout: Layout) {
        let mut map = self.lock();
        if map.len() >= LAYOUTS_KEPT && !map.contains_key(arn) {
            // Reading a header again costs one read: forgetting is cheap.
            map.clear();
        }
        map.insert(arn.to_string(), layout);
    }
}

/// A loaded header: the record without frames, and its layout.
pub(crate) struct LoadedHeader {
    pub(crate) record: ExecutionRecord,
    layout: Layout,
}

/// One frame to write: its state and, when it is to be written, its data.
struct FrameWrite {
    id: FrameId,
    state: String,
    /// Data changed by the step, or folded (else written only if the
    /// frame's items move).
    data: Option<String>,
    /// The data goes into the state item (`fd`), not an item of its own.
    folded: bool,
}

/// How an outbox entry is known to belong to a committed step.
#[derive(Clone, Copy)]
enum OutboxFence<'a> {
    /// Written by the step's transaction.
    InTransaction,
    /// Written ahead of a step too large for one transaction: valid when
    /// the version's marker names this nonce (`wv`, `wn`).
    Marker(&'a str),
    /// Written ahead of the step's transaction: valid when the commit's
    /// first history item (this sort key) carries the commit's token
    /// (`wv`, `wt`, `wh`).
    Commit(&'a str),
}

/// A unit of the step that goes into the transaction or ahead of it.
enum Part {
    Outbox(usize),
    Frame(usize),
    History(usize),
}

impl AwsBackend {
    /// Reads the header (and, with `input`, the execution's input in the
    /// same request).
    pub(crate) async fn load_header(
        &self,
        arn: &str,
        input: bool,
    ) -> Result<Option<LoadedHeader>, StoreError> {
        let pk = exec_pk(arn);
        let (header, input_item) = if input {
            let mut got = self
                .batch_get(vec![key(&pk, HEADER_SK), key(&pk, INPUT_SK)])
                .await?;
            (
                got.remove(&(pk.clone(), HEADER_SK.to_string())),
                got.remove(&(pk.clone(), INPUT_SK.to_string())),
            )
        } else {
            (self.get_item(&pk, HEADER_SK).await?, None)
        };
        let Some(header) = header else {
            return Ok(None);
        };
        let loaded = self.decode_header(arn, &header).await?;
        let Some(mut loaded) = loaded else {
            return Ok(None);
        };
        if let Some(item) = input_item {
            loaded.record.execution.info.input = self.read_json("execution input", &item).await?;
        }
        Ok(Some(loaded))
    }

    async fn decode_header(
        &self,
        arn: &str,
        item: &Item,
    ) -> Result<Option<LoadedHeader>, StoreError> {
        let lv = get_n(item, "lv");
        if lv.is_some_and(|lv| lv != LAYOUT && lv != LAYOUT_2) {
            return Err(StoreError::Backend(format!(
                "{arn}: stored in item layout {lv:?}, which this version of Flowstate does not know"
            )));
        }
        let mut doc: serde_json::Value = self.read_json("execution header", item).await?;
        restore_header(&mut doc, item);
        let doc: HeaderDoc =
            serde_json::from_value(doc).map_err(|e| corrupt("execution header", e))?;
        let mut layout = Layout::of(&doc);
        if lv.is_none() {
            let nonces = item
                .get("ah")
                .and_then(|v| v.as_ss().ok())
                .map(|v| v.iter().cloned().collect())
                .unwrap_or_default();
            layout.legacy = Some(nonces);
        }
        self.inner.layouts.put(arn, layout.clone());
        Ok(Some(LoadedHeader {
            record: doc.header.into_record(BTreeMap::new()),
            layout,
        }))
    }

    /// The execution with its frames. The header is read first; if a
    /// frame it names is missing (a step committed in between and moved
    /// it), both are read again.
    pub(crate) async fn load_with_frames(
        &self,
        arn: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        for _ in 0..3 {
            let Some(loaded) = self.load_header(arn, true).await? else {
                return Ok(None);
            };
            loaded.layout.check_current(arn)?;
            if let Some(frames) = self.load_frames(arn, &loaded.layout).await? {
                let mut record = loaded.record;
                record.execution.frames = frames;
                return Ok(Some(record));
            }
        }
        Err(StoreError::Backend(format!(
            "{arn}: its frames kept changing while being read"
        )))
    }

    /// The frames `layout` names; `None` when one is missing.
    async fn load_frames(
        &self,
        arn: &str,
        layout: &Layout,
    ) -> Result<Option<BTreeMap<FrameId, Frame>>, StoreError> {
        // `D#…` (data), the header `E`, `F#…` (state): one range.
        let items = self.query_range(&exec_pk(arn), "D#", "F#~").await?;
        let mut states: HashMap<FrameId, &Item> = HashMap::new();
        let mut data: HashMap<FrameId, &Item> = HashMap::new();
        for item in &items {
            let Some(sk) = get_s(item, "SK") else {
                continue;
            };
            let kind = sk.as_bytes().first().copied();
            let Some((id, nonce)) = parse_sk(sk) else {
                continue;
            };
            if !layout.is_live(id) || nonce != layout.nonce_of(id) {
                continue;
            }
            match kind {
                Some(b'F') => states.insert(id, item),
                Some(b'D') => data.insert(id, item),
                _ => None,
            };
        }
        let mut frames = BTreeMap::new();
        for (a, b) in &layout.live {
            for id in *a..=*b {
                let Some(state) = states.get(&id) else {
                    return Ok(None);
                };
                // Small data is folded into the state item (a data item
                // left from before is then obsolete).
                let d: FrameData = match (get_s(state, "fd"), data.get(&id)) {
                    (Some(folded), _) => from_json("frame data", folded)?,
                    (None, Some(d)) => self.read_json("frame data", d).await?,
                    (None, None) => return Ok(None),
                };
                let mut frame: Frame = self.read_json("frame", state).await?;
                d.restore(&mut frame);
                frames.insert(id, frame);
            }
        }
        Ok(Some(frames))
    }

    /// One frame's state, if the execution runs and has it.
    pub(crate) async fn load_frame_state(
        &self,
        arn: &str,
        id: FrameId,
    ) -> Result<Option<Frame>, StoreError> {
        let pk = exec_pk(arn);
        let plain = frame_sk('F', id, None);
        let mut got = self
            .batch_get(vec![key(&pk, HEADER_SK), key(&pk, &plain)])
            .await?;
        let Some(header) = got.remove(&(pk.clone(), HEADER_SK.to_string())) else {
            return Ok(None);
        };
        let Some(loaded) = self.decode_header(arn, &header).await? else {
            return Ok(None);
        };
        let layout = &loaded.layout;
        if loaded.record.execution.status != Status::Running || !layout.is_live(id) {
            return Ok(None);
        }
        layout.check_current(arn)?;
        let item = match layout.nonce_of(id) {
            None => got.remove(&(pk.clone(), plain)),
            Some(nonce) => self.get_item(&pk, &frame_sk('F', id, Some(nonce))).await?,
        };
        match item {
            Some(item) => Ok(Some(self.read_json("frame", &item).await?)),
            None => Ok(None),
        }
    }

    /// Writes a step (and, for `expected == None`, creates the execution).
    /// `Ok(false)`: another writer won.
    pub(crate) async fn write_step(
        &self,
        record: &ExecutionRecord,
        expected: Option<u64>,
        step: &StepWrite<'_>,
    ) -> Result<bool, StoreError> {
        // Boxed: writing a step is a large future, and whatever awaits
        // it (a whole contract suite, in tests) would otherwise carry it
        // on its own stack.
        Box::pin(self.write_step_now(record, expected, step)).await
    }

    async fn write_step_now(
        &self,
        record: &ExecutionRecord,
        expected: Option<u64>,
        step: &StepWrite<'_>,
    ) -> Result<bool, StoreError> {
        let e = &record.execution;
        let arn = &e.info.arn;
        let pk = exec_pk(arn);
        let old = match expected {
            None => Layout::default(),
            Some(v) => match self.inner.layouts.get(arn, v) {
                Some(layout) => layout,
                None => match self.load_header(arn, false).await? {
                    Some(h) if h.layout.version == v => h.layout,
                    _ => return Ok(false),
                },
            },
        };
        old.check_current(arn)?;
        let version = e.version;
        // Names this commit in the header: a transaction whose answer was
        // lost (a retry then fails its condition) is recognised as done.
        let token = uuid::Uuid::new_v4().simple().to_string();
        let removed: HashSet<FrameId> = step.frames_removed.iter().copied().collect();

        // What the step writes, encoded once.
        let mut frames = Vec::new();
        for id in step.frames_changed {
            if removed.contains(id) {
                continue;
            }
            if let Some(f) = e.frames.get(id) {
                let changed = expected.is_none_or(|v| f.data_rev > v || f.data_rev == 0);
                let data = to_json(&FrameData::of(f))?;
                let folded = data.len() <= FOLD_BYTES;
                frames.push(FrameWrite {
                    id: *id,
                    state: to_json(&FrameData::strip(f))?,
                    data: (changed || folded).then_some(data),
                    folded,
                });
            }
        }
        let packs = history_packs(step.history)?;
        let outbox: Vec<(String, String, String)> = step
            .outbox
            .iter()
            .map(|o| {
                let (opk, osk) = crate::dynamo::outbox_key(&o.id);
                let body = OutboxEntry {
                    claim: Default::default(),
                    ..o.clone()
                };
                Ok((opk, osk, to_json(&body)?))
            })
            .collect::<Result<_, StoreError>>()?;
        // Every item of the execution expires (see `expires_at`).
        let ttl = n(self.expires_at(record));
        let input = match expected {
            None => {
                Some(encode(&pk, INPUT_SK, Item::new(), &to_json(&e.info.input)?).with("ttl", &ttl))
            }
            Some(_) => None,
        };

        // A frame's data is written with its state whenever the state's
        // items move (into the transaction from ahead, or ahead).
        let data_of = |w: &FrameWrite| -> Result<String, StoreError> {
            match (&w.data, e.frames.get(&w.id)) {
                (Some(d), _) => Ok(d.clone()),
                (None, Some(f)) => to_json(&FrameData::of(f)),
                (None, None) => Err(corrupt("frame", "changed frame missing")),
            }
        };
        let frame_items =
            |w: &FrameWrite, nonce: Option<&str>| -> Result<Vec<Encoded>, StoreError> {
                let mut extra = Item::new();
                let mut folded_bytes = 0;
                if let (true, Some(d)) = (w.folded, &w.data) {
                    folded_bytes = d.len();
                    extra.insert("fd".into(), s(d));
                }
                let mut state =
                    encode(&pk, &frame_sk('F', w.id, nonce), extra, &w.state).with("ttl", &ttl);
                state.bytes += folded_bytes;
                let mut items = vec![state];
                let moves = nonce.is_some() || old.nonce_of(w.id).is_some();
                if !w.folded && (w.data.is_some() || moves) {
                    items.push(
                        encode(&pk, &frame_sk('D', w.id, nonce), Item::new(), &data_of(w)?)
                            .with("ttl", &ttl),
                    );
                }
                Ok(items)
            };
        let outbox_item = |i: usize, fence: OutboxFence| -> Encoded {
            let (opk, osk, body) = &outbox[i];
            let o = &step.outbox[i];
            let mut extra = Item::new();
            extra.insert("cr".into(), n(o.created));
            extra.insert("own".into(), s(&o.claim.owner));
            extra.insert("lu".into(), n(o.claim.until));
            match fence {
                OutboxFence::InTransaction => {}
                OutboxFence::Marker(nonce) => {
                    extra.insert("wv".into(), n(version));
                    extra.insert("wn".into(), s(nonce));
                }
                OutboxFence::Commit(proof_sk) => {
                    extra.insert("wv".into(), n(version));
                    extra.insert("wt".into(), s(&token));
                    extra.insert("wh".into(), s(proof_sk));
                }
            }
            encode(opk, osk, extra, body).with("ttl", &ttl)
        };
        let history_item = |i: usize, nonce: Option<&str>| -> Encoded {
            let (first, body) = &packs[i];
            let mut extra = Item::new();
            if nonce.is_some() {
                extra.insert("wv".into(), n(version));
            } else if i == 0 {
                // The commit's proof (`Proof::History`).
                extra.insert("ct".into(), s(&token));
            }
            encode(&pk, &history_sk(*first, nonce), extra, body).with("ttl", &ttl)
        };

        // Everything in one transaction?
        let mut parts: Vec<(Part, Vec<Encoded>)> = Vec::new();
        for i in 0..outbox.len() {
            parts.push((
                Part::Outbox(i),
                vec![outbox_item(i, OutboxFence::InTransaction)],
            ));
        }
        for (i, w) in frames.iter().enumerate() {
            parts.push((Part::Frame(i), frame_items(w, None)?));
        }
        for i in 0..packs.len() {
            parts.push((Part::History(i), vec![history_item(i, None)]));
        }
        let size = |items: &[Encoded]| -> (usize, usize) {
            (
                items.iter().map(Encoded::items).sum(),
                items.iter().map(|i| i.bytes).sum(),
            )
        };
        let fixed: Vec<Encoded> = input.into_iter().collect();
        let (fixed_items, fixed_bytes) = size(&fixed);

        let plain: Vec<FrameId> = frames.iter().map(|w| w.id).collect();
        let layout = next_layout(&old, e, &removed, &plain, &[], None);
        let header = self.header_item(record, &layout)?;
        let (total_items, total_bytes) = parts.iter().map(|(_, items)| size(items)).fold(
            (header.items() + fixed_items, header.bytes + fixed_bytes),
            |a, b| (a.0 + b.0, a.1 + b.1),
        );
        if total_items <= TX_ITEMS && total_bytes <= TX_BYTES {
            let proof_sk = packs.first().map(|(first, _)| history_sk(*first, None));
            // A step that writes history writes its outbox entries ahead
            // of the transaction, plainly: one write unit per KB instead
            // of two. They are valid once the commit's first history item
            // carries its token (`OutboxFence::Commit`); until then no one
            // performs them, and a loser's are never valid.
            let mut ahead = Vec::new();
            if let Some(proof_sk) = &proof_sk {
                for (part, items) in &mut parts {
                    if let Part::Outbox(i) = part {
                        items.clear();
                        ahead.extend(outbox_item(*i, OutboxFence::Commit(proof_sk)).into_items());
                    }
                }
            }
            let ahead_keys: Vec<Item> = ahead.iter().map(item_key).collect();
            if !ahead.is_empty() {
                self.batch_write(ahead, Vec::new()).await?;
            }
            let mut tx = self.header_writes(record, expected, header, &token)?;
            for encoded in fixed
                .into_iter()
                .chain(parts.into_iter().flat_map(|(_, i)| i))
            {
                for item in encoded.into_items() {
                    tx.push(self.put(item, None)?);
                }
            }
            let proof = match proof_sk {
                Some(sk) => Proof::History(sk),
                None => Proof::Header,
            };
            return match self.transact_step(arn, &token, proof, tx).await {
                Ok(()) => {
                    self.after_commit(arn, &old, layout, &removed, &plain).await;
                    Ok(true)
                }
                Err(TxFail::Condition) => {
                    // Never valid: take them back (what a crash leaves,
                    // the sweep deletes once this version is decided).
                    if !ahead_keys.is_empty() {
                        let _ = self.batch_write(Vec::new(), ahead_keys).await;
                    }
                    Ok(false)
                }
                Err(TxFail::Other(e)) => Err(e),
            };
        }

        // Too large: fail fast on a stale version, then write what does not
        // fit ahead under a fresh nonce.
        let current = self.get_item(&pk, HEADER_SK).await?;
        match (&current, expected) {
            (Some(_), None) | (None, Some(_)) => return Ok(false),
            (Some(item), Some(v)) if get_n(item, "ver") != Some(v as i64) => return Ok(false),
            _ => {}
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        // Fill the transaction in order (outbox entries first: performing
        // them needs no check then), the header's size guessed from the
        // layout with every frame ahead, the largest it can get.
        let all: Vec<FrameId> = frames.iter().map(|w| w.id).collect();
        let widest = next_layout(&old, e, &removed, &[], &all, Some(&nonce));
        let reserve = self.header_item(record, &widest)?;
        let marker = marker_item(&pk, version, &nonce).with("ttl", &ttl);
        let mut budget_items =
            TX_ITEMS.saturating_sub(reserve.items() + marker.items() + fixed_items);
        let mut budget_bytes = TX_BYTES.saturating_sub(reserve.bytes + marker.bytes + fixed_bytes);
        let mut in_tx: Vec<Encoded> = fixed;
        let mut plain = Vec::new();
        let mut ahead_frames = Vec::new();
        let mut ahead: Vec<Item> = Vec::new();
        let mut ahead_keys: Vec<Item> = Vec::new();
        for (part, items) in parts {
            let (count, bytes) = size(&items);
            if count <= budget_items && bytes <= budget_bytes {
                budget_items -= count;
                budget_bytes -= bytes;
                if let Part::Frame(i) = part {
                    plain.push(frames[i].id);
                }
                in_tx.extend(items);
                continue;
            }
            // Budget spent: from here on everything goes ahead.
            budget_items = 0;
            let written = match part {
                Part::Outbox(i) => vec![outbox_item(i, OutboxFence::Marker(&nonce))],
                Part::Frame(i) => {
                    ahead_frames.push(frames[i].id);
                    frame_items(&frames[i], Some(&nonce))?
                }
                Part::History(i) => vec![history_item(i, Some(&nonce))],
            };
            for encoded in written {
                for item in encoded.into_items() {
                    ahead_keys.push(item_key(&item));
                    ahead.push(item);
                }
            }
        }
        let layout = next_layout(&old, e, &removed, &plain, &ahead_frames, Some(&nonce));
        let header = self.header_item(record, &layout)?;
        let mut tx = self.header_writes(record, expected, header, &token)?;
        for encoded in std::iter::once(marker).chain(in_tx) {
            for item in encoded.into_items() {
                tx.push(self.put(item, None)?);
            }
        }
        self.batch_write(ahead, Vec::new()).await?;
        let proof = Proof::Marker {
            version,
            nonce: &nonce,
        };
        match self.transact_step(arn, &token, proof, tx).await {
            Ok(()) => {}
            Err(fail) => {
                // Never valid: take it back (what a crash leaves is only
                // never valid).
                let _ = self.batch_write(Vec::new(), ahead_keys).await;
                return match fail {
                    TxFail::Condition => Ok(false),
                    TxFail::Other(e) => Err(e),
                };
            }
        }
        let mut moved = plain;
        moved.extend(ahead_frames);
        self.after_commit(arn, &old, layout, &removed, &moved).await;
        Ok(true)
    }

    /// After a commit: remembers the new layout, and deletes the items it
    /// made obsolete — removed frames, and the old items of frames whose
    /// items moved. Readers already ignore them (the header decides), so
    /// a failure here is not the step's.
    async fn after_commit(
        &self,
        arn: &str,
        old: &Layout,
        layout: Layout,
        removed: &HashSet<FrameId>,
        written: &[FrameId],
    ) {
        let pk = exec_pk(arn);
        let mut keys = Vec::new();
        let mut drop_items = |id: FrameId, nonce: Option<&str>| {
            for kind in ['F', 'D'] {
                keys.push(key(&pk, frame_sk(kind, id, nonce)));
            }
        };
        for id in removed {
            if old.is_live(*id) {
                drop_items(*id, old.nonce_of(*id));
            }
        }
        for id in written {
            let (was, is) = (old.nonce_of(*id), layout.nonce_of(*id));
            if old.is_live(*id) && was != is {
                drop_items(*id, was);
            }
        }
        self.inner.layouts.put(arn, layout);
        if !keys.is_empty() {
            if let Err(e) = self.batch_write(Vec::new(), keys).await {
                tracing::warn!(execution_arn = %arn, error = %e, "obsolete frame items left");
            }
        }
    }

    /// When the execution's items expire (DynamoDB's TTL, epoch seconds):
    /// the retention period after it ended; while it runs, the retention
    /// period after the latest it can end (one year after its start, when
    /// it times out), so that what a step writes ahead and never commits,
    /// or what an execution leaves behind once its header has expired,
    /// is deleted too — without rewriting any item when it ends but the
    /// header its last step writes anyway.
    fn expires_at(&self, record: &ExecutionRecord) -> i64 {
        let e = &record.execution;
        let retention = i64::from(self.inner.settings.retention_days) * 86_400;
        let end_ms = match e.stop_time {
            Some(stop) if e.status != Status::Running => stop,
            _ => e.info.start_time.saturating_add(
                e.info
                    .limits
                    .max_duration_seconds
                    .map_or(MAX_DURATION_MS, |s| (s as i64).saturating_mul(1000)),
            ),
        };
        end_ms.div_euclid(1000).saturating_add(retention)
    }

    /// The header's main item and chunks.
    fn header_item(
        &self,
        record: &ExecutionRecord,
        layout: &Layout,
    ) -> Result<Encoded, StoreError> {
        let e = &record.execution;
        let mut header = ExecutionHeader::of(record);
        header.info.input = null();
        let doc = HeaderDoc {
            header,
            live: layout.live.clone(),
            ahead: layout.ahead.clone(),
        };
        let mut doc = serde_json::to_value(&doc)
            .map_err(|e| StoreError::Backend(format!("encoding a header: {e}")))?;
        compact_header(&mut doc);
        let mut extra = Item::new();
        extra.insert("ver".into(), n(e.version));
        extra.insert("st".into(), s(e.status.as_str()));
        extra.insert("lv".into(), n(LAYOUT));
        extra.insert("ttl".into(), n(self.expires_at(record)));
        if let Some(stop) = e.stop_time {
            extra.insert("pd".into(), n(stop));
        }
        Ok(encode(
            &exec_pk(&e.info.arn),
            HEADER_SK,
            extra,
            &to_json(&doc)?,
        ))
    }

    /// A step's transaction. When it fails — its condition, or no answer
    /// (the connection dropped after DynamoDB applied it; a retry then
    /// fails the condition) — `proof` tells whether this very commit
    /// (`token`) is the one that landed.
    async fn transact_step(
        &self,
        arn: &str,
        token: &str,
        proof: Proof<'_>,
        tx: Vec<TransactWriteItem>,
    ) -> Result<(), TxFail> {
        let fail = match self.transact(tx).await {
            Ok(()) => return Ok(()),
            Err(fail) => fail,
        };
        let pk = exec_pk(arn);
        let has_token = |item: Result<Option<Item>, StoreError>| matches!(item, Ok(Some(i)) if get_s(&i, "ct") == Some(token));
        let landed = match proof {
            Proof::Header => has_token(self.get_item(&pk, HEADER_SK).await),
            Proof::History(sk) => has_token(self.get_item(&pk, &sk).await),
            Proof::Marker { version, nonce } => self
                .written_ahead_committed(arn, version, nonce)
                .await
                .unwrap_or(false),
        };
        if landed {
            tracing::info!(arn, "a step's commit landed though its answer was lost");
            return Ok(());
        }
        Err(fail)
    }

    /// The header's transaction items: a Put (create, on the condition that
    /// no execution has this ARN) or an Update conditioned on the version,
    /// plus the header's extra chunks. `token` names the commit (`ct`).
    fn header_writes(
        &self,
        record: &ExecutionRecord,
        expected: Option<u64>,
        encoded: Encoded,
        token: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let e = &record.execution;
        let pk = exec_pk(&e.info.arn);
        let mut items = Vec::with_capacity(encoded.items());
        let ttl = encoded.main.get("ttl").cloned();
        match expected {
            None => {
                let mut main = encoded.main;
                main.insert("nm".into(), s(&e.info.name));
                main.insert("sm".into(), s(crate::dynamo::summary_sm(record)));
                main.insert("sd".into(), n(e.info.start_time));
                main.insert("ct".into(), s(token));
                main.insert(
                    "GSI1PK".into(),
                    s(format!("L#{}", e.info.state_machine_arn)),
                );
                main.insert(
                    "GSI1SK".into(),
                    s(format!("{:015}#{}", e.info.start_time, e.info.arn)),
                );
                main.insert("GSI2PK".into(), s(status_pk(record)));
                main.insert(
                    "GSI2SK".into(),
                    s(format!("{:015}#{}", e.info.start_time, e.info.arn)),
                );
                items.push(self.put(main, Some("attribute_not_exists(PK)"))?);
            }
            Some(expected) => {
                let main = &encoded.main;
                // The status index's key follows the status; its sort key
                // is set once (here too for executions created before the
                // index existed).
                let mut set = vec![
                    "#d = :d",
                    "#n = :n",
                    "#v = :v",
                    "#st = :st",
                    "#ct = :ct",
                    "GSI2PK = :g2pk",
                    "GSI2SK = if_not_exists(GSI2SK, :g2sk)",
                ];
                let mut update = Update::builder()
                    .table_name(self.table())
                    .set_key(Some(key(pk.clone(), HEADER_SK)))
                    .condition_expression("#v = :expected")
                    .expression_attribute_names("#d", "d")
                    .expression_attribute_names("#n", "n")
                    .expression_attribute_names("#v", "ver")
                    .expression_attribute_names("#st", "st")
                    .expression_attribute_names("#ct", "ct")
                    .expression_attribute_values(":ct", s(token))
                    .expression_attribute_values(":expected", n(expected))
                    .expression_attribute_values(":g2pk", s(status_pk(record)))
                    .expression_attribute_values(
                        ":g2sk",
                        s(format!("{:015}#{}", e.info.start_time, e.info.arn)),
                    );
                for (placeholder, attr) in [(":d", "d"), (":n", "n"), (":v", "ver"), (":st", "st")]
                {
                    if let Some(v) = main.get(attr) {
                        update = update.expression_attribute_values(placeholder, v.clone());
                    }
                }
                if let Some(ttl) = main.get("ttl") {
                    set.push("#ttl = :ttl");
                    update = update
                        .expression_attribute_names("#ttl", "ttl")
                        .expression_attribute_values(":ttl", ttl.clone());
                }
                let mut remove = "";
                if let Some(stop) = main.get("pd") {
                    set.push("#pd = :pd");
                    update = update
                        .expression_attribute_names("#pd", "pd")
                        .expression_attribute_values(":pd", stop.clone());
                } else if e.redrive_count > 0 {
                    // Redriven, it runs again: no stop date until it ends
                    // (ListExecutions reads it from the index).
                    remove = " REMOVE #pd";
                    update = update.expression_attribute_names("#pd", "pd");
                }
                let update = update
                    .update_expression(format!("SET {}{remove}", set.join(", ")))
                    .build()
                    .map_err(|e| backend_error("Update", e))?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
        }
        for mut chunk in encoded.chunks {
            if let Some(ttl) = &ttl {
                chunk.insert("ttl".into(), ttl.clone());
            }
            items.push(self.put(chunk, None)?);
        }
        Ok(items)
    }

    /// Whether the outbox entry written ahead as `ahead` belongs to a
    /// step that committed; `Ok(None)` while that cannot be decided yet
    /// (its version is not committed by anyone).
    pub(crate) async fn outbox_valid(
        &self,
        arn: &str,
        ahead: &OutboxAhead<'_>,
    ) -> Result<bool, StoreError> {
        match ahead {
            OutboxAhead::Marker { version, nonce } => {
                self.written_ahead_committed(arn, *version, nonce).await
            }
            OutboxAhead::Commit {
                token, proof_sk, ..
            } => {
                let proof = self.get_item(&exec_pk(arn), proof_sk).await?;
                Ok(proof.as_ref().and_then(|p| get_s(p, "ct")) == Some(*token))
            }
        }
    }

    /// Whether what version `version` wrote ahead under `nonce` was
    /// committed: its marker names that nonce.
    pub(crate) async fn written_ahead_committed(
        &self,
        arn: &str,
        version: u64,
        nonce: &str,
    ) -> Result<bool, StoreError> {
        let marker = self.get_item(&exec_pk(arn), &marker_sk(version)).await?;
        Ok(marker.as_ref().and_then(|m| get_s(m, "wn")) == Some(nonce))
    }

    /// History events of an execution in id order (or reverse). Ids are
    /// dense (1..=last_event_id): the page is an exact id range, found in
    /// the items that hold it (each names its first event); events beyond
    /// `last_event_id`, and items of steps that did not commit, are never
    /// read.
    pub(crate) async fn read_history(
        &self,
        arn: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let Some(header) = self.load_header(arn, false).await? else {
            return Ok(Vec::new());
        };
        let legacy = header.layout.legacy.as_ref();
        let last = header.record.execution.last_event_id;
        let limit = query.limit.max(1) as u64;
        let (from, to) = if query.reverse {
            let top = query
                .after
                .map(|a| a.saturating_sub(1))
                .unwrap_or(last)
                .min(last);
            (top.saturating_sub(limit - 1).max(1), top)
        } else {
            let from = query.after.map(|a| a + 1).unwrap_or(1);
            (from, from.saturating_add(limit - 1).min(last))
        };
        if from > to || to == 0 {
            return Ok(Vec::new());
        }
        let pk = exec_pk(arn);
        // Items whose first event is at most `to`, newest first, until the
        // valid one holding `from`.
        let mut events = Vec::new();
        let mut valid: HashMap<u64, Option<String>> = HashMap::new();
        let mut start = None;
        'pages: loop {
            let (items, next) = self
                .query_once(crate::table::QuerySpec {
                    index: None,
                    key_condition: "PK = :pk AND SK BETWEEN :a AND :b",
                    filter: None,
                    names: vec![],
                    values: vec![
                        (":pk", s(&pk)),
                        (":a", s("H#")),
                        (":b", s(format!("{}~", history_sk(to, None)))),
                    ],
                    forward: false,
                    limit: Some(16),
                    start,
                })
                .await?;
            for item in &items {
                let Some((first, nonce)) = get_s(item, "SK").and_then(parse_sk) else {
                    continue;
                };
                if let (Some(nonce), Some(legacy)) = (nonce, legacy) {
                    // The first layout: valid nonces are in the header.
                    if !legacy.contains(nonce) {
                        continue;
                    }
                } else if let Some(nonce) = nonce {
                    let version = get_n(item, "wv").unwrap_or(-1) as u64;
                    let committed = match valid.get(&version) {
                        Some(n) => n.clone(),
                        None => {
                            let marker = self.get_item(&pk, &marker_sk(version)).await?;
                            let n = marker
                                .as_ref()
                                .and_then(|m| get_s(m, "wn"))
                                .map(str::to_string);
                            valid.insert(version, n.clone());
                            n
                        }
                    };
                    if committed.as_deref() != Some(nonce) {
                        continue;
                    }
                }
                let pack: Vec<HistoryEvent> = match legacy {
                    // The first layout: one event per item.
                    Some(_) => vec![self.read_json("history event", item).await?],
                    None => read_events(self.read_json("history events", item).await?)?,
                };
                events.extend(pack.into_iter().filter(|e| (from..=to).contains(&e.id)));
                if first <= from {
                    break 'pages;
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        events.sort_by_key(|e| e.id);
        events.dedup_by_key(|e| e.id);
        if query.reverse {
            events.reverse();
        }
        Ok(events)
    }
}

/// Fields of the header document left out of `d` because attributes of
/// the header item hold them (`PK`, `nm`, `sm`, `sd`, `ver`), and nulls:
/// every step rewrites the whole item, billed per started KB.
/// [`restore_header`] puts them back.
fn compact_header(doc: &mut serde_json::Value) {
    use serde_json::Value;
    fn drop_nulls(v: &mut Value) {
        if let Value::Object(map) = v {
            map.retain(|_, v| !v.is_null());
        }
    }
    let Some(header) = doc.get_mut("header") else {
        return;
    };
    drop_nulls(header);
    if let Some(h) = header.as_object_mut() {
        h.remove("version");
    }
    if let Some(info) = header.get_mut("info") {
        drop_nulls(info);
        if let Some(i) = info.as_object_mut() {
            for field in ["arn", "name", "state_machine_arn", "start_time"] {
                i.remove(field);
            }
        }
        if let Some(limits) = info.get_mut("limits") {
            drop_nulls(limits);
        }
    }
    if let Some(meta) = header.get_mut("meta") {
        drop_nulls(meta);
    }
}

/// Puts back what [`compact_header`] left out, from the header item's
/// attributes (a document of layout 2 has it all already).
fn restore_header(doc: &mut serde_json::Value, item: &Item) {
    use serde_json::{json, Value};
    let from_item = [
        (
            "arn",
            get_s(item, "PK")
                .and_then(|pk| pk.strip_prefix("X#"))
                .map(|a| json!(a)),
        ),
        ("name", get_s(item, "nm").map(|v| json!(v))),
        (
            "state_machine_arn",
            // `sm` may go on with a version and alias (`dynamo.rs`).
            get_s(item, "sm").map(|v| json!(v.split('#').next().unwrap_or(v))),
        ),
        ("start_time", get_n(item, "sd").map(|v| json!(v))),
    ];
    let Some(header) = doc.get_mut("header").and_then(Value::as_object_mut) else {
        return;
    };
    if let (false, Some(v)) = (header.contains_key("version"), get_n(item, "ver")) {
        header.insert("version".into(), json!(v));
    }
    if let Some(info) = header.get_mut("info").and_then(Value::as_object_mut) {
        info.entry("input").or_insert(Value::Null);
        for (field, value) in from_item {
            if let (false, Some(v)) = (info.contains_key(field), value) {
                info.insert(field.into(), v);
            }
        }
    }
}

/// The layout after a step: live frames from the record; frames written
/// in the transaction (`plain`) or removed leave the `ahead` list; frames
/// written ahead (`ahead_frames`) join it under `nonce`.
fn next_layout(
    old: &Layout,
    e: &flowstate_engine::Execution,
    removed: &HashSet<FrameId>,
    plain: &[FrameId],
    ahead_frames: &[FrameId],
    nonce: Option<&str>,
) -> Layout {
    let live = ranges(e.frames.keys().copied());
    let moved: BTreeSet<FrameId> = plain.iter().chain(ahead_frames).copied().collect();
    let mut ahead: Vec<Ahead> = old
        .ahead
        .iter()
        .filter_map(|a| {
            let ids: Vec<FrameId> = a
                .r
                .iter()
                .flat_map(|(x, y)| *x..=*y)
                .filter(|id| !moved.contains(id) && !removed.contains(id) && in_ranges(&live, *id))
                .collect();
            (!ids.is_empty()).then(|| Ahead {
                n: a.n.clone(),
                r: ranges(ids.into_iter()),
            })
        })
        .collect();
    if let (Some(nonce), false) = (nonce, ahead_frames.is_empty()) {
        let ids: BTreeSet<FrameId> = ahead_frames.iter().copied().collect();
        ahead.push(Ahead {
            n: nonce.to_string(),
            r: ranges(ids.into_iter()),
        });
    }
    Layout {
        version: e.version,
        next_frame_id: e.next_frame_id,
        live,
        ahead,
        legacy: None,
    }
}

/// A step's history events in items of at most [`PACK_EVENTS`] events and
/// about [`PACK_BYTES`] (an event larger than that alone): (first id, JSON
/// array). An event leaves out what its pack implies ([`event_json`]).
fn history_packs(history: &[HistoryEvent]) -> Result<Vec<(u64, String)>, StoreError> {
    let mut packs = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut first = 0;
    let mut bytes = 0;
    let mut previous: Option<&HistoryEvent> = None;
    for event in history {
        let mut json = event_json(event, previous)?;
        if !current.is_empty() && (current.len() >= PACK_EVENTS || bytes + json.len() > PACK_BYTES)
        {
            packs.push((first, format!("[{}]", current.join(","))));
            current.clear();
            bytes = 0;
        }
        if current.is_empty() {
            first = event.id;
            json = event_json(event, None)?;
        }
        previous = Some(event);
        bytes += json.len() + 1;
        current.push(json);
    }
    if !current.is_empty() {
        packs.push((first, format!("[{}]", current.join(","))));
    }
    Ok(packs)
}

/// An event as a history item holds it: without `previous_event_id` when
/// it is the event before, nor `timestamp` when it is that of the event
/// before it in the item (`previous`). A step's events are written on
/// every step, in the transaction, at two write units per started KB: a
/// Task's five events fit in one KB so.
fn event_json(event: &HistoryEvent, previous: Option<&HistoryEvent>) -> Result<String, StoreError> {
    let mut v = serde_json::to_value(event)
        .map_err(|e| StoreError::Backend(format!("encoding a history event: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        if event.previous_event_id.checked_add(1) == Some(event.id) {
            o.remove("previous_event_id");
        }
        if previous.is_some_and(|p| p.timestamp == event.timestamp) {
            o.remove("timestamp");
        }
    }
    Ok(v.to_string())
}

/// The events of one history item, with what [`event_json`] left out put
/// back (items of layout 2 hold every field).
fn read_events(pack: Vec<serde_json::Value>) -> Result<Vec<HistoryEvent>, StoreError> {
    use serde_json::Value;
    let mut timestamp: Option<Value> = None;
    pack.into_iter()
        .map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                let id = o.get("id").and_then(Value::as_u64).unwrap_or(0);
                o.entry("previous_event_id")
                    .or_insert_with(|| Value::from(id.saturating_sub(1)));
                if let (false, Some(t)) = (o.contains_key("timestamp"), &timestamp) {
                    o.insert("timestamp".into(), t.clone());
                }
                timestamp = o.get("timestamp").cloned();
            }
            serde_json::from_value(v).map_err(|e| corrupt("history events", e))
        })
        .collect()
}

/// What shows that a step's transaction landed, read when its answer did
/// not come: an item only that transaction wrote, with its token (`ct`),
/// that later steps do not rewrite — the header only for a step without
/// history (a later step may rewrite it at once).
enum Proof<'a> {
    Header,
    /// The step's first history item, written in the transaction.
    History(String),
    /// The marker of a step that wrote ahead, naming its nonce.
    Marker {
        version: u64,
        nonce: &'a str,
    },
}

fn marker_item(pk: &str, version: u64, nonce: &str) -> Encoded {
    let mut extra = Item::new();
    extra.insert("wn".into(), s(nonce));
    encode(pk, &marker_sk(version), extra, "{}")
}

fn item_key(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| *k == "PK" || *k == "SK")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Reads an outbox entry's item; its claim is in attributes of its own.
pub(crate) fn outbox_claim(item: &Item) -> flowstate_ports::Claim {
    flowstate_ports::Claim {
        owner: get_s(item, "own").unwrap_or_default().to_string(),
        until: get_n(item, "lu").unwrap_or(0),
    }
}

/// How an outbox entry written ahead of its step is known to be valid.
pub(crate) enum OutboxAhead<'a> {
    /// The version's marker names this nonce.
    Marker { version: u64, nonce: &'a str },
    /// The commit's first history item carries this token.
    Commit {
        version: u64,
        token: &'a str,
        proof_sk: &'a str,
    },
}

/// How an outbox entry was written ahead of its step, if it was.
pub(crate) fn outbox_ahead(item: &Item) -> Option<OutboxAhead<'_>> {
    let version = get_n(item, "wv")? as u64;
    if let Some(nonce) = get_s(item, "wn") {
        return Some(OutboxAhead::Marker { version, nonce });
    }
    Some(OutboxAhead::Commit {
        version,
        token: get_s(item, "wt")?,
        proof_sk: get_s(item, "wh")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_document_leaves_out_what_the_item_holds_and_reads_back_whole() {
        use flowstate_engine::{Execution, ExecutionInfo, Limits};
        let arn = "arn:aws:states:us-east-1:123456789012:execution:machine:run-1";
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:machine";
        let info = ExecutionInfo {
            arn: arn.into(),
            name: "run-1".into(),
            state_machine_arn: sm.into(),
            state_machine_name: "machine".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            region: "us-east-1".into(),
            start_time: 1_796_681_391_496,
            input: null(),
            limits: Limits::EXPRESS,
            timeout_seconds: None,
        };
        let mut execution = Execution::new(info);
        execution.version = 7;
        let record = ExecutionRecord {
            execution,
            meta: flowstate_ports::ExecutionMeta {
                revision_id: "bfada524-c0bb-446b-b78f-c0d6c78d7fb4".into(),
                kind: flowstate_ports::WorkflowType::Standard,
                test_case: None,
                parent: None,
                version_arn: None,
                alias_arn: None,
                trace_header: None,
                redrive_date: None,
                redrive_tokens: Vec::new(),
            },
        };
        let doc = HeaderDoc {
            header: ExecutionHeader::of(&record),
            live: vec![(0, 0)],
            ahead: vec![],
        };
        let whole = serde_json::to_value(&doc).unwrap();
        let mut compact = whole.clone();
        compact_header(&mut compact);
        let text = compact.to_string();
        assert!(!text.contains(arn) && !text.contains(sm) && !text.contains("null"));
        assert!(text.len() < 400, "{text}");
        let item: Item = HashMap::from([
            ("PK".to_string(), s(exec_pk(arn))),
            ("nm".to_string(), s("run-1")),
            ("sm".to_string(), s(sm)),
            ("sd".to_string(), n(1_796_681_391_496_i64)),
            ("ver".to_string(), n(7)),
        ]);
        restore_header(&mut compact, &item);
        let back: HeaderDoc = serde_json::from_value(compact).unwrap();
        assert_eq!(back.header, doc.header);
        // A document of layout 2 (whole) reads as it did.
        let mut old = whole;
        restore_header(&mut old, &Item::new());
        let back: HeaderDoc = serde_json::from_value(old).unwrap();
        assert_eq!(back.header, doc.header);
    }

    fn layout(live: &[(u64, u64)], ahead: &[(&str, &[(u64, u64)])]) -> Layout {
        Layout {
            version: 1,
            next_frame_id: 100,
            live: live.to_vec(),
            ahead: ahead
                .iter()
                .map(|(n, r)| Ahead {
                    n: n.to_string(),
                    r: r.to_vec(),
                })
                .collect(),
            legacy: None,
        }
    }

    #[test]
    fn the_ahead_list_names_only_frames_still_held_ahead() {
        let old = layout(&[(0, 9)], &[("a", &[(1, 5)]), ("b", &[(6, 9)])]);
        let mut exec = flowstate_engine::Execution::new(flowstate_engine::ExecutionInfo {
            arn: "x".into(),
            name: "x".into(),
            state_machine_arn: "m".into(),
            state_machine_name: "m".into(),
            role_arn: "r".into(),
            region: "r".into(),
            start_time: 0,
            input: null(),
            limits: flowstate_engine::Limits::STANDARD,
            timeout_seconds: None,
        });
        for id in 0..=9u64 {
            if id != 3 {
                exec.frames.insert(id, Frame::new(id, 0, 0, null()));
            }
        }
        let removed = HashSet::from([3]);
        // Frames 1 and 2 rewritten in the transaction, 6..=9 ahead again.
        let next = next_layout(&old, &exec, &removed, &[1, 2], &[6, 7, 8, 9], Some("c"));
        assert_eq!(next.live, [(0, 2), (4, 9)]);
        assert_eq!(
            next.ahead,
            [
                Ahead {
                    n: "a".into(),
                    r: vec![(4, 5)]
                },
                Ahead {
                    n: "c".into(),
                    r: vec![(6, 9)]
                },
            ]
        );
        assert_eq!(next.nonce_of(1), None);
        assert_eq!(next.nonce_of(5), Some("a"));
        // Everything rewritten plainly: the list is empty again.
        let all: Vec<u64> = exec.frames.keys().copied().collect();
        let settled = next_layout(&next, &exec, &HashSet::new(), &all, &[], None);
        assert!(settled.ahead.is_empty());
    }

    #[test]
    fn history_is_packed_by_count_and_size() {
        let event = |id: u64, size: usize| HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: 0,
            details: flowstate_engine::history::Details::ExecutionStarted {
                input: std::sync::Arc::new(serde_json::json!("x".repeat(size))),
                role_arn: "r".into(),
                state_machine_arn: "m".into(),
            },
        };
        let small: Vec<HistoryEvent> = (1..=250).map(|i| event(i, 10)).collect();
        let packs = history_packs(&small).unwrap_or_default();
        assert_eq!(packs.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 101, 201]);
        let big: Vec<HistoryEvent> = (1..=3).map(|i| event(i, 40_000)).collect();
        let packs = history_packs(&big).unwrap_or_default();
        assert_eq!(packs.len(), 3, "one ~40 KB event per item");
        let back: Vec<HistoryEvent> = crate::codec::from_json("pack", &packs[1].1)
            .and_then(read_events)
            .unwrap_or_default();
        assert_eq!(back, vec![big[1].clone()]);
    }

    #[test]
    fn history_items_leave_out_what_the_event_before_implies() {
        let event = |id: u64, previous: u64, timestamp: i64| HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp,
            details: flowstate_engine::history::Details::LambdaFunctionStarted,
        };
        // A branch's event follows another than the one before it.
        let events = vec![
            event(1, 0, 5),
            event(2, 1, 5),
            event(3, 1, 5),
            event(4, 3, 9),
        ];
        let packs = history_packs(&events).unwrap_or_default();
        let text = &packs[0].1;
        assert_eq!(text.matches("previous_event_id").count(), 1, "{text}");
        assert_eq!(text.matches("timestamp").count(), 2, "{text}");
        let back = crate::codec::from_json("pack", text).and_then(read_events);
        assert_eq!(back, Ok(events));
    }
}
