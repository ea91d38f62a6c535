//! [`Store`] on one DynamoDB table.
//!
//! Item layout (`PK`, `SK`; every record body is JSON in the attribute
//! `d`, split over chunk items when larger than one item holds — see
//! `codec.rs`):
//!
//! | record | PK | SK | other attributes |
//! | --- | --- | --- | --- |
//! | state machine (current revision) | `SM` | ARN | |
//! | revision | `REV#{revision id}` | `REV` | |
//! | execution header | `X#{execution ARN}` | `E` | `ver`, `st`, `lv` (layout 3; its document leaves out what these attributes hold), `nm`, `sm` (the state machine ARN, then `#{version}` and `#{alias name}` when started on a version or alias), `sd`, `pd`, `ct` (the last commit's token), `ttl`, `GSI1PK` = `L#{state machine ARN}`, `GSI1SK` = `{start ms:015}#{ARN}`, `GSI2PK` = `S#{state machine ARN}#{status}`, `GSI2SK` = `GSI1SK` |
//! | execution input | `X#{ARN}` | `I` | |
//! | frame state | `X#{ARN}` | `F#{id:010}` (or `F#{id:010}#{nonce}`) | `fd` = the frame's data when at most 1 KB (then no data item) |
//! | frame data (over 1 KB) | `X#{ARN}` | `D#{id:010}` (or `D#{id:010}#{nonce}`) | |
//! | history events (up to 100) | `X#{ARN}` | `H#{first id:020}` (or `…#{nonce}`) | `wv` when written ahead, `ct` on a commit's first; an event leaves out `previous_event_id` when it is the event before and `timestamp` when it is the one before it in the item |
//! | write-ahead marker | `X#{ARN}` | `W#{version:020}` | `wn` = nonce |
//! | outbox entry | `OB#{hash(id) % 16:02}` | entry id | `cr` = created ms, `own`/`lu` = claim owner and lapse; written ahead of its step: `wv` and `wn` (a step too large for one transaction: valid when the marker names the nonce) or `wt`/`wh` (a step with history: valid when that history item's `ct` is `wt`) |
//! | chunk k of any record | `{PK}~C` | `{SK}~{k:04}` | |
//! | access key (`keys.rs`) | `KEY` | access key id | `nm`, `st`, `cr`, `rv`, `sec` (KMS ciphertext) |
//! | task token key (`token_key.rs`) | `CONFIG` | `TASK_TOKEN_KEY` | `sec` (KMS ciphertext), `cr` |
//! | version, alias, tag (`versions.rs`) | `SMV#{state machine ARN}`, `SMA#{…}`, `TAG#{resource ARN}` | `V#{number:010}` (and the counter `N`), `A#{name}`, `T#{key}` | |
//! | activity (`activities.rs`) | `ACT` | ARN | |
//! | waiting activity task (`activities.rs`) | `AT#{activity ARN}` | `{created ms:015}#{task id}` | `ex` = expires ms, `ttl` |
//!
//! - All state machines share one partition, sorted by ARN: ListStateMachines
//!   is one Query, and accounts hold at most thousands of them.
//! - ListExecutions queries `GSI1` (newest first, `INCLUDE` projection of
//!   the summary attributes only); with a status filter it queries `GSI2`,
//!   whose partitions hold one state machine's executions of one status
//!   (the header's `GSI2PK` follows its status), so it reads only what it
//!   returns.
//! - Outbox entries are spread over 16 partitions, keyed by id alone so
//!   that `complete_outbox(ids)` needs no read. A claim is a conditional
//!   update of `own`/`lu`.
//! - How a step is written, in one transaction or partly ahead of it, and
//!   how it is read back: `executions.rs`.

use crate::codec::{
    self, encode, get_n, get_s, key, n, s, to_json, token_decode, token_encode, Item,
};
use crate::executions::{
    exec_pk, outbox_ahead, outbox_claim, status_index_pk, OutboxAhead, HEADER_SK,
};
use crate::table::{QuerySpec, TxFail};
use crate::{backend_error, corrupt, AwsBackend};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};
use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Frame, FrameId, Status};
use flowstate_ports::{split_version_arn, AliasRecord, VersionRecord};
use flowstate_ports::{
    Claim, Created, ExecutionQuery, ExecutionRecord, ExecutionSummary, HistoryQuery, OutboxEntry,
    Page, PageRequest, StateMachineRecord, StepWrite, Store, StoreError,
};
use std::collections::{BTreeMap, HashSet};

const OUTBOX_SHARDS: u64 = 16;

pub(crate) fn outbox_key(id: &str) -> (String, String) {
    (
        format!("OB#{:02}", codec::stable_hash(id) % OUTBOX_SHARDS),
        id.to_string(),
    )
}

impl AwsBackend {
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

    async fn outbox_from_item(&self, item: &Item) -> Result<OutboxEntry, StoreError> {
        let mut entry: OutboxEntry = self.read_json("outbox entry", item).await?;
        entry.claim = outbox_claim(item);
        Ok(entry)
    }
}

/// The header item's `sm`: the state machine ARN, then `#{version}` and
/// `#{alias name}` when the execution started on a version or an alias
/// (`#` is in no state machine name), so that ListExecutions reads both
/// from the index.
pub(crate) fn summary_sm(record: &ExecutionRecord) -> String {
    let m = &record.meta;
    let mut sm = record.execution.info.state_machine_arn.clone();
    if let Some((_, n)) = m.version_arn.as_deref().and_then(split_version_arn) {
        sm.push_str(&format!("#{n}"));
        if let Some((_, alias)) = m.alias_arn.as_deref().and_then(|a| a.rsplit_once(':')) {
            sm.push_str(&format!("#{alias}"));
        }
    }
    sm
}

/// The version and alias ARNs [`summary_sm`] wrote.
fn summary_origin(sm: &str) -> (Option<String>, Option<String>) {
    let mut parts = sm.split('#');
    let base = parts.next().unwrap_or_default();
    let version = parts.next().map(|n| format!("{base}:{n}"));
    let alias = parts.next().map(|a| format!("{base}:{a}"));
    (version, alias)
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
        // Its versions, aliases and tags go with it.
        self.delete_machine_parts(arn).await?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_state_machines(
        &self,
        page: &PageRequest,
    ) -> Result<Page<StateMachineRecord>, StoreError> {
        let after = page.next_token.as_deref().map(token_decode).transpose()?;
        let (items, more) = self
            .partition_page("SM", after, page.max_results.max(1))
            .await?;
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
        if frames {
            self.load_with_frames(arn).await
        } else {
            Ok(self.load_header(arn, true).await?.map(|h| h.record))
        }
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
        self.read_history(arn, query).await
    }

    async fn list_executions(
        &self,
        query: &ExecutionQuery,
    ) -> Result<Page<ExecutionSummary>, StoreError> {
        let limit = query.page.max_results.max(1);
        let status = query.status.map(|st| st.as_str());
        // With a status filter, the status index holds exactly those
        // executions (a Query, never a scan of the others).
        let (index, pk_attr, sk_attr, gsi_pk) = match status {
            Some(st) => (
                "GSI2",
                "GSI2PK",
                "GSI2SK",
                status_index_pk(&query.state_machine_arn, st),
            ),
            None => (
                "GSI1",
                "GSI1PK",
                "GSI1SK",
                format!("L#{}", query.state_machine_arn),
            ),
        };
        let mut start = match &query.page.next_token {
            Some(t) => {
                let sk = token_decode(t)?;
                let arn = sk
                    .split_once('#')
                    .map(|(_, arn)| arn.to_string())
                    .ok_or(StoreError::InvalidToken)?;
                let mut k = key(exec_pk(&arn), HEADER_SK);
                k.insert(pk_attr.into(), s(&gsi_pk));
                k.insert(sk_attr.into(), s(sk));
                Some(k)
            }
            None => None,
        };
        let key_condition = format!("{pk_attr} = :pk");
        let mut items = Vec::new();
        // Executions of one version or alias: those of the state machine
        // whose `sm` names it (the index projects `sm`, not the header).
        let wanted = |item: &Item| match &query.qualified_arn {
            None => true,
            Some(q) => {
                let (version, alias) = summary_origin(get_s(item, "sm").unwrap_or_default());
                version.as_deref() == Some(q.as_str()) || alias.as_deref() == Some(q.as_str())
            }
        };
        while items.len() <= limit {
            let (mut got, next) = self
                .query_once(QuerySpec {
                    index: Some(index),
                    key_condition: &key_condition,
                    filter: None,
                    names: vec![],
                    values: vec![(":pk", s(&gsi_pk))],
                    forward: false,
                    limit: Some(100),
                    start,
                })
                .await?;
            got.retain(|i| wanted(i));
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
            let sm = field("sm")?;
            let (version_arn, alias_arn) = summary_origin(sm);
            out.push(ExecutionSummary {
                execution_arn: arn,
                state_machine_arn: sm.split('#').next().unwrap_or(sm).to_string(),
                version_arn,
                alias_arn,
                name: field("nm")?.to_string(),
                status: parse_status(field("st")?)?,
                start_date: get_n(item, "sd").unwrap_or(0),
                stop_date: get_n(item, "pd"),
            });
        }
        let next_token = match (more, items.last()) {
            (true, Some(item)) => get_s(item, sk_attr).map(token_encode),
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
            Some(item) => Ok(Some(self.outbox_from_item(&item).await?)),
            None => Ok(None),
        }
    }

    async fn pending_outbox(
        &self,
        lapsed_by: i64,
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
                        filter: Some("attribute_not_exists(lu) OR lu <= :t"),
                        names: vec![],
                        values: vec![(":pk", s(&pk)), (":t", n(lapsed_by))],
                        forward: true,
                        limit: None,
                        start,
                    })
                    .await?;
                for item in &items {
                    entries.push(self.outbox_from_item(item).await?);
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

    async fn claim_outbox(
        &self,
        id: &str,
        holder: Option<&str>,
        now: i64,
        claim: &Claim,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let (pk, sk) = outbox_key(id);
        let mut condition =
            "attribute_exists(PK) AND (attribute_not_exists(lu) OR lu <= :now".to_string();
        let mut update = self
            .ddb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(&pk, &sk)))
            .update_expression("SET own = :own, lu = :lu")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":own", s(&claim.owner))
            .expression_attribute_values(":lu", n(claim.until))
            .return_values(ReturnValue::AllNew);
        if let Some(holder) = holder {
            condition.push_str(" OR own = :holder");
            update = update.expression_attribute_values(":holder", s(holder));
        }
        condition.push(')');
        let item = match update.condition_expression(condition).send().await {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) => {
                return match e.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(_) => Ok(None),
                    other => Err(backend_error("UpdateItem", other)),
                }
            }
        };
        let entry = self.outbox_from_item(&item).await?;
        if let Some(ahead) = outbox_ahead(&item) {
            let arn = &entry.execution_arn;
            let version = match ahead {
                OutboxAhead::Marker { version, .. } | OutboxAhead::Commit { version, .. } => {
                    version
                }
            };
            if !self.outbox_valid(arn, &ahead).await? {
                // Written ahead by a step that has not committed: lost
                // for good once that version is decided otherwise.
                let decided = match self.load_header(arn, false).await? {
                    Some(h) => h.record.execution.version >= version,
                    None => true,
                };
                if decided {
                    self.batch_write(Vec::new(), vec![key(pk, sk)]).await?;
                }
                return Ok(None);
            }
        }
        Ok(Some(entry))
    }

    async fn create_version(&self, version: &VersionRecord) -> Result<VersionRecord, StoreError> {
        self.put_version(version).await
    }

    async fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>, StoreError> {
        self.read_version(arn).await
    }

    async fn list_versions(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<VersionRecord>, StoreError> {
        self.version_page(state_machine_arn, page).await
    }

    async fn delete_version(&self, arn: &str) -> Result<bool, StoreError> {
        self.remove_version(arn).await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.put_alias(alias, true).await
    }

    async fn update_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.put_alias(alias, false).await
    }

    async fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>, StoreError> {
        self.read_alias(arn).await
    }

    async fn list_aliases(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<AliasRecord>, StoreError> {
        self.alias_page(state_machine_arn, page).await
    }

    async fn delete_alias(&self, arn: &str) -> Result<bool, StoreError> {
        self.remove_alias(arn).await
    }

    async fn update_tags(
        &self,
        resource_arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), StoreError> {
        self.write_tags(resource_arn, set, remove).await
    }

    async fn list_tags(&self, resource_arn: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.read_tags(resource_arn).await
    }

    async fn load_frame(&self, arn: &str, frame: FrameId) -> Result<Option<Frame>, StoreError> {
        self.load_frame_state(arn, frame).await
    }
}
