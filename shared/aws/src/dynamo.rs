//! [`Store`] on one DynamoDB table.
//!
//! Item layout (`PK`, `SK`; every record body is JSON in the binary
//! attribute `d`, split over chunk items when larger than one item holds —
//! see `codec.rs`):
//!
//! | record | PK | SK | other attributes |
//! | --- | --- | --- | --- |
//! | state machine (current revision) | `SM` | ARN | |
//! | revision | `REV#{revision id}` | `REV` | |
//! | execution header | `X#{execution ARN}` | `E` | `ver`, `st`, `nm`, `sm`, `sd`, `pd`, `ah`, `GSI1PK` = `L#{state machine ARN}`, `GSI1SK` = `{start ms:015}#{ARN}` |
//! | frame | `X#{ARN}` | `F#{id:010}` (or `F#{id:010}#{nonce}`) | `v` = version written |
//! | history event | `X#{ARN}` | `H#{id:020}` (or `H#{id:020}#{nonce}`) | |
//! | outbox entry | `OB#{hash(id) % 16:02}` | entry id | `cr` = created ms |
//! | chunk k of any record | `{PK}~C` | `{SK}~{k:04}` | |
//! | access key (`keys.rs`) | `KEY` | access key id | `nm`, `st`, `cr`, `rv`, `sec` (KMS ciphertext) |
//! | task token key (`token_key.rs`) | `CONFIG` | `TASK_TOKEN_KEY` | `sec` (KMS ciphertext), `cr` |
//!
//! - All state machines share one partition, sorted by ARN: ListStateMachines
//!   is one Query, and accounts hold at most thousands of them.
//! - ListExecutions queries `GSI1` (newest first, `INCLUDE` projection of
//!   the summary attributes only), filtering on `st` for a status.
//! - Outbox entries are spread over 16 partitions, keyed by id alone so
//!   that `complete_outbox(ids)` needs no read.
//!
//! **A step** is one `TransactWriteItems`: the header, updated on the
//! condition `ver = expected`, plus the changed frames, removed frames,
//! new history events and outbox entries. When that exceeds a transaction
//! (100 items or ~4 MB), the step reads the header (failing fast on a
//! stale version), writes new frames, history events and outbox entries
//! ahead with `BatchWriteItem` — frames and events under keys carrying a
//! fresh random nonce — then commits the header (and the changed frames
//! that existed before) conditioned on the version, adding the nonce to
//! the header's set `ah`. Readers accept a nonce-keyed item only when its
//! nonce is in `ah`, a frame only when its id is in the header's live
//! ranges, an event only up to `last_event_id`: what a losing writer wrote
//! ahead is never visible, and never overwrites what a winner wrote. Frames
//! removed by a large step are deleted after its commit (the live ranges
//! already hide them).

use crate::codec::{
    self, chunk_pk, chunk_sk, encode, first_chunk, from_json, get_n, get_s, in_ranges, key, n,
    ranges, s, to_json, token_decode, token_encode, Encoded, Item,
};
use crate::{backend_error, corrupt, AwsBackend};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, PutRequest, ReturnValue, TransactWriteItem, Update,
    WriteRequest,
};
use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Frame, FrameId, Status};
use flowstate_ports::{
    Created, ExecutionHeader, ExecutionQuery, ExecutionRecord, ExecutionSummary, HistoryQuery,
    OutboxEntry, Page, PageRequest, StateMachineRecord, StepWrite, Store, StoreError,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

const TX_ITEMS: usize = 100;
/// TransactWriteItems allows 4 MB in total; keep a margin for attribute
/// names and keys not counted exactly.
const TX_BYTES: usize = 3_500_000;
const OUTBOX_SHARDS: u64 = 16;
const BATCH: usize = 25;

pub(crate) fn exec_pk(arn: &str) -> String {
    format!("X#{arn}")
}
const HEADER_SK: &str = "E";

fn frame_sk(id: FrameId, nonce: Option<&str>) -> String {
    match nonce {
        Some(nonce) => format!("F#{id:010}#{nonce}"),
        None => format!("F#{id:010}"),
    }
}

fn history_sk(id: u64, nonce: Option<&str>) -> String {
    match nonce {
        Some(nonce) => format!("H#{id:020}#{nonce}"),
        None => format!("H#{id:020}"),
    }
}

/// `F#0000000012#abc` → (12, Some("abc")); also for `H#…`.
fn parse_sk(sk: &str) -> Option<(u64, Option<&str>)> {
    let rest = sk.get(2..)?;
    let (id, nonce) = match rest.split_once('#') {
        Some((id, nonce)) => (id, Some(nonce)),
        None => (rest, None),
    };
    Some((id.parse().ok()?, nonce))
}

fn outbox_key(id: &str) -> (String, String) {
    (
        format!("OB#{:02}", codec::stable_hash(id) % OUTBOX_SHARDS),
        id.to_string(),
    )
}

/// The header as stored in `d`: the ports' header plus the live frames.
#[derive(Serialize, Deserialize)]
struct HeaderDoc {
    header: ExecutionHeader,
    /// Ids of the execution's frames, as inclusive ranges.
    live: Vec<(u64, u64)>,
}

/// A loaded header and the nonces of steps written ahead.
struct LoadedHeader {
    doc: HeaderDoc,
    nonces: HashSet<String>,
}

/// How a transaction failed.
enum TxFail {
    /// A condition failed, or another transaction held an item: someone
    /// else wrote this record first.
    Condition,
    Other(StoreError),
}

/// One Query call's parameters.
struct QuerySpec<'a> {
    index: Option<&'a str>,
    key_condition: &'a str,
    filter: Option<&'a str>,
    names: Vec<(&'a str, &'a str)>,
    values: Vec<(&'a str, AttributeValue)>,
    forward: bool,
    limit: Option<i32>,
    start: Option<Item>,
}

impl AwsBackend {
    fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.dynamo
    }

    pub(crate) async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .ddb()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend_error("GetItem", e))?;
        Ok(out.item)
    }

    /// One Query call; strongly consistent on the table (not on an index,
    /// where DynamoDB does not offer it).
    async fn query_once(&self, q: QuerySpec<'_>) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut req = self
            .ddb()
            .query()
            .table_name(self.table())
            .key_condition_expression(q.key_condition)
            .scan_index_forward(q.forward)
            .set_limit(q.limit)
            .set_exclusive_start_key(q.start)
            .set_filter_expression(q.filter.map(str::to_string))
            .consistent_read(q.index.is_none())
            .set_index_name(q.index.map(str::to_string));
        for (k, v) in q.names {
            req = req.expression_attribute_names(k, v);
        }
        for (k, v) in q.values {
            req = req.expression_attribute_values(k, v);
        }
        let out = req.send().await.map_err(|e| backend_error("Query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Every item of `pk` whose sort key lies in `[from, to]`, in order.
    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (mut page, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk AND SK BETWEEN :a AND :b",
                    filter: None,
                    names: vec![],
                    values: vec![(":pk", s(pk)), (":a", s(from)), (":b", s(to))],
                    forward: true,
                    limit: None,
                    start,
                })
                .await?;
            items.append(&mut page);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// The whole body of a record from its main item (reading its extra
    /// chunks when it has some).
    pub(crate) async fn read_body(&self, item: &Item) -> Result<String, StoreError> {
        let (first, count) = first_chunk(item)?;
        if count == 1 {
            return Ok(first.to_string());
        }
        let (pk, sk) = match (get_s(item, "PK"), get_s(item, "SK")) {
            (Some(pk), Some(sk)) => (pk, sk),
            _ => return Err(corrupt("item", "no key")),
        };
        let chunks = self
            .query_range(&chunk_pk(pk), &chunk_sk(sk, 1), &chunk_sk(sk, count - 1))
            .await?;
        if chunks.len() != count - 1 {
            return Err(corrupt(sk, "missing chunks"));
        }
        let mut body = first.to_string();
        for c in &chunks {
            body.push_str(first_chunk(c)?.0);
        }
        Ok(body)
    }

    async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        item: &Item,
    ) -> Result<T, StoreError> {
        from_json(what, &self.read_body(item).await?)
    }

    /// Puts and deletes in batches of 25, retrying unprocessed items with
    /// back-off (DynamoDB returns them under throttling).
    pub(crate) async fn batch_write(
        &self,
        puts: Vec<Item>,
        deletes: Vec<Item>,
    ) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(puts.len() + deletes.len());
        for item in puts {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| backend_error("PutRequest", e))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for k in deletes {
            let del = DeleteRequest::builder()
                .set_key(Some(k))
                .build()
                .map_err(|e| backend_error("DeleteRequest", e))?;
            requests.push(WriteRequest::builder().delete_request(del).build());
        }
        for batch in requests.chunks(BATCH) {
            let mut pending = batch.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .ddb()
                    .batch_write_item()
                    .request_items(self.table(), pending)
                    .send()
                    .await
                    .map_err(|e| backend_error("BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(self.table()))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Backend(
                            "BatchWriteItem: items still unprocessed after 8 retries".into(),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
            }
        }
        Ok(())
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxFail> {
        match self
            .ddb()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let lost = c.cancellation_reasons().iter().any(|r| {
                        matches!(
                            r.code(),
                            Some("ConditionalCheckFailed") | Some("TransactionConflict")
                        )
                    });
                    if lost {
                        Err(TxFail::Condition)
                    } else {
                        Err(TxFail::Other(backend_error("TransactWriteItems", c)))
                    }
                }
                other => Err(TxFail::Other(backend_error("TransactWriteItems", other))),
            },
        }
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|e| backend_error("Put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, k: Item) -> Result<TransactWriteItem, StoreError> {
        let del = Delete::builder()
            .table_name(self.table())
            .set_key(Some(k))
            .build()
            .map_err(|e| backend_error("Delete", e))?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    // ---- state machines ------------------------------------------------

    fn state_machine_writes(
        &self,
        sm: &StateMachineRecord,
        condition: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let body = to_json(sm)?;
        let current = encode("SM", &sm.arn, Item::new(), &body);
        let revision = encode(
            &format!("REV#{}", sm.revision_id),
            "REV",
            Item::new(),
            &body,
        );
        let mut items = Vec::new();
        let mut first = true;
        for item in current.into_items() {
            items.push(self.put(item, first.then_some(condition))?);
            first = false;
        }
        for item in revision.into_items() {
            items.push(self.put(item, None)?);
        }
        Ok(items)
    }

    // ---- executions ----------------------------------------------------

    async fn load_header(&self, arn: &str) -> Result<Option<LoadedHeader>, StoreError> {
        let Some(item) = self.get_item(&exec_pk(arn), HEADER_SK).await? else {
            return Ok(None);
        };
        let doc: HeaderDoc = self.read_json("execution header", &item).await?;
        let nonces = item
            .get("ah")
            .and_then(|v| v.as_ss().ok())
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default();
        Ok(Some(LoadedHeader { doc, nonces }))
    }

    async fn load_frames(
        &self,
        arn: &str,
        header: &LoadedHeader,
    ) -> Result<BTreeMap<FrameId, Frame>, StoreError> {
        let items = self.query_range(&exec_pk(arn), "F#", "F#~").await?;
        // Per frame id, the valid item written at the highest version.
        let mut best: HashMap<FrameId, (i64, &Item)> = HashMap::new();
        for item in &items {
            let Some((id, nonce)) = get_s(item, "SK").and_then(parse_sk) else {
                continue;
            };
            if !in_ranges(&header.doc.live, id) {
                continue;
            }
            if nonce.is_some_and(|nonce| !header.nonces.contains(nonce)) {
                continue;
            }
            let v = get_n(item, "v").unwrap_or(0);
            match best.get(&id) {
                Some((bv, _)) if *bv >= v => {}
                _ => {
                    best.insert(id, (v, item));
                }
            }
        }
        let mut frames = BTreeMap::new();
        for (id, (_, item)) in best {
            let frame: Frame = self.read_json("frame", item).await?;
            frames.insert(id, frame);
        }
        Ok(frames)
    }

    /// Writes a step (and, for `expected == None`, creates the execution).
    /// `Ok(false)`: the condition failed (another writer won).
    async fn write_step(
        &self,
        record: &ExecutionRecord,
        expected: Option<u64>,
        step: &StepWrite<'_>,
    ) -> Result<bool, StoreError> {
        let e = &record.execution;
        let arn = &e.info.arn;
        let pk = exec_pk(arn);
        let doc = HeaderDoc {
            header: ExecutionHeader::of(record),
            live: ranges(e.frames.keys().copied()),
        };
        let header_body = to_json(&doc)?;
        let removed: HashSet<FrameId> = step.frames_removed.iter().copied().collect();
        let mut frames = Vec::new();
        for id in step.frames_changed {
            if removed.contains(id) {
                continue;
            }
            if let Some(f) = e.frames.get(id) {
                frames.push((*id, to_json(f)?));
            }
        }
        let mut history = Vec::with_capacity(step.history.len());
        for h in step.history {
            history.push((h.id, to_json(h)?));
        }
        let mut outbox = Vec::with_capacity(step.outbox.len());
        for o in step.outbox {
            let (opk, osk) = outbox_key(&o.id);
            let extra = HashMap::from([("cr".to_string(), n(o.created))]);
            outbox.push(encode(&opk, &osk, extra, &to_json(o)?));
        }
        let version = e.version;
        let frame_item = |id: FrameId, body: &str, nonce: Option<&str>| {
            let extra = HashMap::from([("v".to_string(), n(version))]);
            encode(&pk, &frame_sk(id, nonce), extra, body)
        };
        let history_item = |id: u64, body: &str, nonce: Option<&str>| {
            encode(&pk, &history_sk(id, nonce), Item::new(), body)
        };

        // The one-transaction path.
        let mut records: Vec<Encoded> = Vec::new();
        records.extend(frames.iter().map(|(id, b)| frame_item(*id, b, None)));
        records.extend(history.iter().map(|(id, b)| history_item(*id, b, None)));
        records.extend(outbox.iter().cloned());
        let header = self.header_writes(record, expected, &header_body, None)?;
        let count =
            header.len() + records.iter().map(Encoded::items).sum::<usize>() + removed.len();
        let bytes = header_body.len() + records.iter().map(|r| r.bytes).sum::<usize>();
        if count <= TX_ITEMS && bytes <= TX_BYTES {
            let mut tx = header;
            for r in records {
                for item in r.into_items() {
                    tx.push(self.put(item, None)?);
                }
            }
            for id in &removed {
                tx.push(self.delete(key(pk.clone(), frame_sk(*id, None)))?);
            }
            return match self.transact(tx).await {
                Ok(()) => Ok(true),
                Err(TxFail::Condition) => Ok(false),
                Err(TxFail::Other(e)) => Err(e),
            };
        }

        // Too large for one transaction: fail fast on a stale version,
        // then write ahead under a fresh nonce.
        let old = self.load_header(arn).await?;
        let old_live = match (&old, expected) {
            (Some(_), None) => return Ok(false),
            (None, None) => Vec::new(),
            (None, Some(_)) => return Ok(false),
            (Some(h), Some(v)) if h.doc.header.version != v => return Ok(false),
            (Some(h), Some(_)) => h.doc.live.clone(),
        };
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let mut ahead: Vec<Item> = Vec::new();
        let mut in_tx: Vec<Encoded> = Vec::new();
        for (id, body) in &frames {
            if in_ranges(&old_live, *id) {
                // An existing frame is never overwritten ahead: a loser
                // would clobber the winner's visible record.
                in_tx.push(frame_item(*id, body, None));
            } else {
                ahead.extend(frame_item(*id, body, Some(&nonce)).into_items());
            }
        }
        for (id, body) in &history {
            ahead.extend(history_item(*id, body, Some(&nonce)).into_items());
        }
        for o in outbox {
            ahead.extend(o.into_items());
        }
        let mut tx = self.header_writes(record, expected, &header_body, Some(&nonce))?;
        let count = tx.len() + in_tx.iter().map(Encoded::items).sum::<usize>();
        let bytes = header_body.len() + in_tx.iter().map(|r| r.bytes).sum::<usize>();
        if count > TX_ITEMS || bytes > TX_BYTES {
            return Err(StoreError::Backend(format!(
                "{arn}: a step that rewrites {} existing frames does not fit one DynamoDB transaction",
                in_tx.len()
            )));
        }
        for r in in_tx {
            for item in r.into_items() {
                tx.push(self.put(item, None)?);
            }
        }
        self.batch_write(ahead, Vec::new()).await?;
        match self.transact(tx).await {
            Ok(()) => {}
            Err(TxFail::Condition) => return Ok(false),
            Err(TxFail::Other(e)) => return Err(e),
        }
        // Removed frames are already invisible (live ranges); deleting them
        // only saves space, so a failure here is not the step's failure.
        if !removed.is_empty() {
            let mut nonces: Vec<String> = old
                .map(|h| h.nonces.into_iter().collect())
                .unwrap_or_default();
            nonces.push(nonce);
            let mut keys = Vec::new();
            for id in &removed {
                keys.push(key(pk.clone(), frame_sk(*id, None)));
                for n in &nonces {
                    keys.push(key(pk.clone(), frame_sk(*id, Some(n))));
                }
            }
            let _ = self.batch_write(Vec::new(), keys).await;
        }
        Ok(true)
    }

    /// The header's transaction items: a Put (create, on the condition that
    /// no execution has this ARN) or an Update conditioned on the version,
    /// plus the header's extra chunks. `nonce` joins the header's set of
    /// valid write-ahead nonces.
    fn header_writes(
        &self,
        record: &ExecutionRecord,
        expected: Option<u64>,
        body: &str,
        nonce: Option<&str>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let e = &record.execution;
        let pk = exec_pk(&e.info.arn);
        let mut extra = Item::new();
        extra.insert("ver".into(), n(e.version));
        extra.insert("st".into(), s(e.status.as_str()));
        if let Some(stop) = e.stop_time {
            extra.insert("pd".into(), n(stop));
        }
        let encoded = encode(&pk, HEADER_SK, extra, body);
        let mut items = Vec::with_capacity(encoded.items());
        match expected {
            None => {
                let mut main = encoded.main;
                main.insert("nm".into(), s(&e.info.name));
                main.insert("sm".into(), s(&e.info.state_machine_arn));
                main.insert("sd".into(), n(e.info.start_time));
                main.insert(
                    "GSI1PK".into(),
                    s(format!("L#{}", e.info.state_machine_arn)),
                );
                main.insert(
                    "GSI1SK".into(),
                    s(format!("{:015}#{}", e.info.start_time, e.info.arn)),
                );
                if let Some(nonce) = nonce {
                    main.insert("ah".into(), AttributeValue::Ss(vec![nonce.to_string()]));
                }
                items.push(self.put(main, Some("attribute_not_exists(PK)"))?);
            }
            Some(expected) => {
                let main = &encoded.main;
                let mut set = vec!["#d = :d", "#n = :n", "#v = :v", "#st = :st"];
                let mut update = Update::builder()
                    .table_name(self.table())
                    .set_key(Some(key(pk.clone(), HEADER_SK)))
                    .condition_expression("#v = :expected")
                    .expression_attribute_names("#d", "d")
                    .expression_attribute_names("#n", "n")
                    .expression_attribute_names("#v", "ver")
                    .expression_attribute_names("#st", "st")
                    .expression_attribute_values(":expected", n(expected));
                for (placeholder, attr) in [(":d", "d"), (":n", "n"), (":v", "ver"), (":st", "st")]
                {
                    if let Some(v) = main.get(attr) {
                        update = update.expression_attribute_values(placeholder, v.clone());
                    }
                }
                if let Some(stop) = main.get("pd") {
                    set.push("#pd = :pd");
                    update = update
                        .expression_attribute_names("#pd", "pd")
                        .expression_attribute_values(":pd", stop.clone());
                }
                let mut expression = format!("SET {}", set.join(", "));
                if let Some(nonce) = nonce {
                    expression.push_str(" ADD #ah :ah");
                    update = update
                        .expression_attribute_names("#ah", "ah")
                        .expression_attribute_values(
                            ":ah",
                            AttributeValue::Ss(vec![nonce.to_string()]),
                        );
                }
                let update = update
                    .update_expression(expression)
                    .build()
                    .map_err(|e| backend_error("Update", e))?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
        }
        for chunk in encoded.chunks {
            items.push(self.put(chunk, None)?);
        }
        Ok(items)
    }
}

fn parse_status(st: &str) -> Result<Status, StoreError> {
    serde_json::from_value(serde_json::Value::String(st.to_string()))
        .map_err(|e| corrupt("execution status", e))
}

impl Store for AwsBackend {
    async fn create_state_machine(&self, sm: &StateMachineRecord) -> Result<(), StoreError> {
        let tx = self.state_machine_writes(sm, "attribute_not_exists(PK)")?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxFail::Condition) => Err(StoreError::AlreadyExists(sm.arn.clone())),
            Err(TxFail::Other(e)) => Err(e),
        }
    }

    async fn update_state_machine(&self, sm: &StateMachineRecord) -> Result<(), StoreError> {
        let tx = self.state_machine_writes(sm, "attribute_exists(PK)")?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxFail::Condition) => Err(StoreError::NotFound(sm.arn.clone())),
            Err(TxFail::Other(e)) => Err(e),
        }
    }

    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        match self.get_item("SM", arn).await? {
            Some(item) => Ok(Some(self.read_json("state machine", &item).await?)),
            None => Ok(None),
        }
    }

    async fn get_revision(
        &self,
        revision_id: &str,
    ) -> Result<Option<StateMachineRecord>, StoreError> {
        match self.get_item(&format!("REV#{revision_id}"), "REV").await? {
            Some(item) => Ok(Some(self.read_json("revision", &item).await?)),
            None => Ok(None),
        }
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError> {
        // Revisions stay: running executions go on with theirs.
        let out = self
            .ddb()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key("SM", arn)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                DeleteItemError::ResourceNotFoundException(e) => backend_error("DeleteItem", e),
                other => backend_error("DeleteItem", other),
            })?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_state_machines(
        &self,
        page: &PageRequest,
    ) -> Result<Page<StateMachineRecord>, StoreError> {
        let limit = page.max_results.max(1);
        let mut start = match &page.next_token {
            Some(t) => Some(key("SM", token_decode(t)?)),
            None => None,
        };
        let mut items = Vec::new();
        // One more than asked tells whether a next page exists.
        while items.len() <= limit {
            let (mut got, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk",
                    filter: None,
                    names: vec![],
                    values: vec![(":pk", s("SM"))],
                    forward: true,
                    limit: Some((limit + 1 - items.len()) as i32),
                    start,
                })
                .await?;
            items.append(&mut got);
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(
                self.read_json::<StateMachineRecord>("state machine", item)
                    .await?,
            );
        }
        let next_token = if more {
            out.last().map(|sm| token_encode(&sm.arn))
        } else {
            None
        };
        Ok(Page {
            items: out,
            next_token,
        })
    }

    async fn create_execution(
        &self,
        record: &ExecutionRecord,
        step: &StepWrite<'_>,
    ) -> Result<Created, StoreError> {
        if self.write_step(record, None, step).await? {
            return Ok(Created::New);
        }
        match self
            .load_execution(&record.execution.info.arn, false)
            .await?
        {
            Some(existing) => Ok(Created::Existing(Box::new(existing))),
            // A concurrent transaction held the item but wrote nothing.
            None => Err(StoreError::Conflict),
        }
    }

    async fn load_execution(
        &self,
        arn: &str,
        frames: bool,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let Some(header) = self.load_header(arn).await? else {
            return Ok(None);
        };
        let frames = if frames {
            self.load_frames(arn, &header).await?
        } else {
            BTreeMap::new()
        };
        Ok(Some(header.doc.header.into_record(frames)))
    }

    async fn commit_step(
        &self,
        record: &ExecutionRecord,
        expected_version: u64,
        step: &StepWrite<'_>,
    ) -> Result<(), StoreError> {
        if self
            .write_step(record, Some(expected_version), step)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn history(
        &self,
        arn: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        // Ids are dense (1..=last_event_id), so the page is an exact key
        // range: no over-reading, and events written ahead by a step that
        // has not committed (ids beyond last_event_id) stay invisible.
        let Some(header) = self.load_header(arn).await? else {
            return Ok(Vec::new());
        };
        let last = header.doc.header.last_event_id;
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
        let items = self
            .query_range(
                &exec_pk(arn),
                &history_sk(from, None),
                &format!("{}~", history_sk(to, None)),
            )
            .await?;
        let mut events = Vec::with_capacity(items.len());
        for item in &items {
            let Some((_, nonce)) = get_s(item, "SK").and_then(parse_sk) else {
                continue;
            };
            if nonce.is_some_and(|nonce| !header.nonces.contains(nonce)) {
                continue;
            }
            events.push(
                self.read_json::<HistoryEvent>("history event", item)
                    .await?,
            );
        }
        events.sort_by_key(|e| e.id);
        if query.reverse {
            events.reverse();
        }
        Ok(events)
    }

    async fn list_executions(
        &self,
        query: &ExecutionQuery,
    ) -> Result<Page<ExecutionSummary>, StoreError> {
        let limit = query.page.max_results.max(1);
        let gsi_pk = format!("L#{}", query.state_machine_arn);
        let mut start = match &query.page.next_token {
            Some(t) => {
                let sk = token_decode(t)?;
                let arn = sk
                    .split_once('#')
                    .map(|(_, arn)| arn.to_string())
                    .ok_or(StoreError::InvalidToken)?;
                let mut k = key(exec_pk(&arn), HEADER_SK);
                k.insert("GSI1PK".into(), s(&gsi_pk));
                k.insert("GSI1SK".into(), s(sk));
                Some(k)
            }
            None => None,
        };
        let status = query.status.map(|st| st.as_str());
        let mut items = Vec::new();
        while items.len() <= limit {
            let mut values = vec![(":pk", s(&gsi_pk))];
            let mut names = vec![];
            if let Some(st) = status {
                values.push((":st", s(st)));
                names.push(("#st", "st"));
            }
            let (mut got, next) = self
                .query_once(QuerySpec {
                    index: Some("GSI1"),
                    key_condition: "GSI1PK = :pk",
                    filter: status.map(|_| "#st = :st"),
                    names,
                    values,
                    forward: false,
                    limit: Some(100),
                    start,
                })
                .await?;
            items.append(&mut got);
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let field =
                |name: &str| get_s(item, name).ok_or_else(|| corrupt("execution summary", name));
            let arn = field("PK")?.trim_start_matches("X#").to_string();
            out.push(ExecutionSummary {
                execution_arn: arn,
                state_machine_arn: field("sm")?.to_string(),
                name: field("nm")?.to_string(),
                status: parse_status(field("st")?)?,
                start_date: get_n(item, "sd").unwrap_or(0),
                stop_date: get_n(item, "pd"),
            });
        }
        let next_token = match (more, items.last()) {
            (true, Some(item)) => get_s(item, "GSI1SK").map(token_encode),
            _ => None,
        };
        Ok(Page {
            items: out,
            next_token,
        })
    }

    async fn complete_outbox(&self, ids: &[String]) -> Result<(), StoreError> {
        let keys = ids
            .iter()
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|id| {
                let (pk, sk) = outbox_key(id);
                key(pk, sk)
            })
            .collect();
        self.batch_write(Vec::new(), keys).await
    }

    async fn outbox_entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let (pk, sk) = outbox_key(id);
        match self.get_item(&pk, &sk).await? {
            Some(item) => Ok(Some(self.read_json("outbox entry", &item).await?)),
            None => Ok(None),
        }
    }

    async fn pending_outbox(
        &self,
        created_before: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        // The outbox is transient (entries are deleted once performed), so
        // reading every shard is cheap; it runs once a minute per worker.
        let mut entries = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            let pk = format!("OB#{shard:02}");
            let mut start = None;
            loop {
                let (items, next) = self
                    .query_once(QuerySpec {
                        index: None,
                        key_condition: "PK = :pk",
                        filter: Some("cr <= :cb"),
                        names: vec![],
                        values: vec![(":pk", s(&pk)), (":cb", n(created_before))],
                        forward: true,
                        limit: None,
                        start,
                    })
                    .await?;
                for item in &items {
                    entries.push(self.read_json::<OutboxEntry>("outbox entry", item).await?);
                }
                match next {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
        }
        entries.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        entries.truncate(limit);
        Ok(entries)
    }
}
