//! `Store` and `Queue` for [`Embedded`].

use crate::db::{backend, Embedded};
use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Frame, FrameId};
use flowstate_ports::{
    null, Claim, Created, Delivery, ExecutionHeader, ExecutionQuery, ExecutionRecord,
    ExecutionSummary, FrameData, HistoryQuery, OutboxEntry, Page, PageRequest, Queue, QueueMessage,
    StateMachineRecord, StepWrite, Store, StoreError,
};
use flowstate_ports::{AliasRecord, VersionRecord};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(backend)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("corrupt record: {e}")))
}

/// A step, serialised on the caller's thread so the writer thread only writes.
struct Rows {
    arn: String,
    sm_arn: String,
    status: &'static str,
    start_time: i64,
    version: i64,
    /// The header without the execution's input (stored once, apart).
    header: String,
    /// Written by `create_execution` only.
    input: String,
    /// Each changed frame's state, and its data when this step changed it.
    frames: Vec<(i64, String, Option<String>)>,
    removed: Vec<i64>,
    /// The id of the step's first event and the step's events (a JSON array).
    history: Option<(i64, String)>,
    /// Id, created, body, claim owner, claim lapse.
    outbox: Vec<(String, i64, String, String, i64)>,
}

/// The rows of a step. `expected`: the version the step was computed
/// from (0 when it creates the execution): a frame's data is written only
/// if one of the steps being committed set it (`data_rev` above it).
fn rows(
    record: &ExecutionRecord,
    step: &StepWrite<'_>,
    expected: Option<u64>,
) -> Result<Rows, StoreError> {
    let e = &record.execution;
    let create = expected.is_none();
    let expected = expected.unwrap_or(0);
    let mut frames = Vec::with_capacity(step.frames_changed.len());
    for id in step.frames_changed {
        if let Some(f) = e.frames.get(id) {
            let data = if f.data_rev > expected || f.data_rev == 0 || create {
                Some(to_json(&FrameData::of(f))?)
            } else {
                None
            };
            frames.push((*id as i64, to_json(&FrameData::strip(f))?, data));
        }
    }
    let history = match step.history.first() {
        Some(first) => Some((first.id as i64, to_json(&step.history)?)),
        None => None,
    };
    let mut outbox = Vec::with_capacity(step.outbox.len());
    for o in step.outbox {
        outbox.push((
            o.id.clone(),
            o.created,
            to_json(o)?,
            o.claim.owner.clone(),
            o.claim.until,
        ));
    }
    let mut header = ExecutionHeader::of(record);
    header.info.input = null();
    Ok(Rows {
        arn: e.info.arn.clone(),
        sm_arn: e.info.state_machine_arn.clone(),
        status: e.status.as_str(),
        start_time: e.info.start_time,
        version: e.version as i64,
        header: to_json(&header)?,
        input: if create {
            to_json(&e.info.input)?
        } else {
            String::new()
        },
        frames,
        removed: step.frames_removed.iter().map(|f| *f as i64).collect(),
        history,
        outbox,
    })
}

/// Writes a step's rows for the execution with id `exec` (`None`: insert it).
fn write_rows(conn: &Connection, r: &Rows, exec: Option<i64>) -> rusqlite::Result<()> {
    let exec = match exec {
        None => {
            conn.prepare_cached(
                "INSERT INTO executions(arn, sm_arn, status, start_time, version, header, input)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                r.arn,
                r.sm_arn,
                r.status,
                r.start_time,
                r.version,
                r.header,
                r.input
            ])?;
            conn.last_insert_rowid()
        }
        Some(id) => {
            conn.prepare_cached(
                "UPDATE executions SET status = ?2, version = ?3, header = ?4 WHERE id = ?1",
            )?
            .execute(params![id, r.status, r.version, r.header])?;
            id
        }
    };
    let mut put =
        conn.prepare_cached("INSERT OR REPLACE INTO frames(exec, id, state) VALUES (?1, ?2, ?3)")?;
    let mut put_data = conn
        .prepare_cached("INSERT OR REPLACE INTO frame_data(exec, id, data) VALUES (?1, ?2, ?3)")?;
    for (id, state, data) in &r.frames {
        put.execute(params![exec, id, state])?;
        if let Some(data) = data {
            put_data.execute(params![exec, id, data])?;
        }
    }
    let mut del = conn.prepare_cached("DELETE FROM frames WHERE exec = ?1 AND id = ?2")?;
    let mut del_data = conn.prepare_cached("DELETE FROM frame_data WHERE exec = ?1 AND id = ?2")?;
    for id in &r.removed {
        del.execute(params![exec, id])?;
        del_data.execute(params![exec, id])?;
    }
    if let Some((first, body)) = &r.history {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO history(exec, first, body) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![exec, first, body])?;
    }
    let mut out = conn.prepare_cached(
        "INSERT OR REPLACE INTO outbox(id, created, body, owner, lease_until) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (id, created, body, owner, until) in &r.outbox {
        out.execute(params![id, created, body, owner, until])?;
    }
    Ok(())
}

/// The id and version of an execution.
fn find(conn: &Connection, arn: &str) -> Result<Option<(i64, i64)>, StoreError> {
    conn.prepare_cached("SELECT id, version FROM executions WHERE arn = ?1")
        .and_then(|mut s| {
            s.query_row(params![arn], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(backend)
}

fn load(
    conn: &Connection,
    arn: &str,
    with_frames: bool,
) -> Result<Option<ExecutionRecord>, StoreError> {
    let row: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT id, header, input FROM executions WHERE arn = ?1")
        .and_then(|mut s| {
            s.query_row(params![arn], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(backend)?;
    let Some((exec, header, input)) = row else {
        return Ok(None);
    };
    let mut header: ExecutionHeader = from_json(&header)?;
    header.info.input = from_json(&input)?;
    let mut frames = BTreeMap::new();
    if with_frames {
        let mut stmt = conn
            .prepare_cached("SELECT state FROM frames WHERE exec = ?1")
            .map_err(backend)?;
        let mut q = stmt.query(params![exec]).map_err(backend)?;
        while let Some(row) = q.next().map_err(backend)? {
            let body: String = row.get(0).map_err(backend)?;
            let f: Frame = from_json(&body)?;
            frames.insert(f.id as FrameId, f);
        }
        drop(q);
        let mut stmt = conn
            .prepare_cached("SELECT id, data FROM frame_data WHERE exec = ?1")
            .map_err(backend)?;
        let mut q = stmt.query(params![exec]).map_err(backend)?;
        while let Some(row) = q.next().map_err(backend)? {
            let id: i64 = row.get(0).map_err(backend)?;
            let body: String = row.get(1).map_err(backend)?;
            let d: FrameData = from_json(&body)?;
            if let Some(f) = frames.get_mut(&(id as FrameId)) {
                d.restore(f);
            }
        }
    }
    Ok(Some(header.into_record(frames)))
}

/// A page of records listed by ARN: `sql` selects `arn, body` after `?1`,
/// at most `?2` rows; one more than asked tells whether a next page exists.
pub(crate) fn arn_page<T: serde::de::DeserializeOwned>(
    c: &Connection,
    sql: &str,
    page: &PageRequest,
    arn: impl Fn(&T) -> String,
) -> Result<Page<T>, StoreError> {
    let after = page.next_token.clone().unwrap_or_default();
    let limit = page.max_results.max(1);
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let mut q = stmt
        .query(params![after, (limit + 1) as i64])
        .map_err(backend)?;
    let mut items = Vec::new();
    while let Some(row) = q.next().map_err(backend)? {
        let body: String = row.get(1).map_err(backend)?;
        items.push(from_json::<T>(&body)?);
    }
    let next_token = if items.len() > limit {
        items.truncate(limit);
        items.last().map(arn)
    } else {
        None
    };
    Ok(Page { items, next_token })
}

fn get_body(conn: &Connection, sql: &str, key: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params![key], |r| r.get(0)).optional())
        .map_err(backend)
}

fn put_revision(conn: &Connection, sm: &StateMachineRecord, body: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO revisions(revision_id, body) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![sm.revision_id, body]))
        .map_err(backend)?;
    Ok(())
}

impl Store for Embedded {
    async fn create_state_machine(&self, sm: &StateMachineRecord) -> Result<(), StoreError> {
        let body = to_json(sm)?;
        let sm = sm.clone();
        self.call(move |c| {
            if get_body(c, "SELECT body FROM state_machines WHERE arn = ?1", &sm.arn)?.is_some() {
                return Err(StoreError::AlreadyExists(sm.arn.clone()));
            }
            c.execute(
                "INSERT INTO state_machines(arn, body) VALUES (?1, ?2)",
                params![sm.arn, body],
            )
            .map_err(backend)?;
            put_revision(c, &sm, &body)
        })
        .await
    }

    async fn update_state_machine(&self, sm: &StateMachineRecord) -> Result<(), StoreError> {
        let body = to_json(sm)?;
        let sm = sm.clone();
        self.call(move |c| {
            let n = c
                .execute(
                    "UPDATE state_machines SET body = ?2 WHERE arn = ?1",
                    params![sm.arn, body],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(sm.arn.clone()));
            }
            put_revision(c, &sm, &body)
        })
        .await
    }

    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        let arn = arn.to_string();
        self.read(move |c| {
            get_body(c, "SELECT body FROM state_machines WHERE arn = ?1", &arn)?
                .map(|b| from_json(&b))
                .transpose()
        })
        .await
    }

    async fn get_revision(
        &self,
        revision_id: &str,
    ) -> Result<Option<StateMachineRecord>, StoreError> {
        let id = revision_id.to_string();
        self.read(move |c| {
            get_body(c, "SELECT body FROM revisions WHERE revision_id = ?1", &id)?
                .map(|b| from_json(&b))
                .transpose()
        })
        .await
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError> {
        let arn = arn.to_string();
        self.call(move |c| {
            let n = c
                .execute("DELETE FROM state_machines WHERE arn = ?1", params![arn])
                .map_err(backend)?;
            crate::versions::delete_owned(c, &arn)?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_state_machines(
        &self,
        page: &PageRequest,
    ) -> Result<Page<StateMachineRecord>, StoreError> {
        let page = page.clone();
        self.read(move |c| {
            arn_page(
                c,
                "SELECT arn, body FROM state_machines WHERE arn > ?1 ORDER BY arn LIMIT ?2",
                &page,
                |sm: &StateMachineRecord| sm.arn.clone(),
            )
        })
        .await
    }

    async fn create_execution(
        &self,
        record: &ExecutionRecord,
        step: &StepWrite<'_>,
    ) -> Result<Created, StoreError> {
        let rows = rows(record, step, None)?;
        self.call(move |c| {
            if let Some(existing) = load(c, &rows.arn, false)? {
                return Ok(Created::Existing(Box::new(existing)));
            }
            write_rows(c, &rows, None).map_err(backend)?;
            Ok(Created::New)
        })
        .await
    }

    async fn load_execution(
        &self,
        arn: &str,
        frames: bool,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let arn = arn.to_string();
        self.read(move |c| load(c, &arn, frames)).await
    }

    async fn commit_step(
        &self,
        record: &ExecutionRecord,
        expected_version: u64,
        step: &StepWrite<'_>,
    ) -> Result<(), StoreError> {
        let rows = rows(record, step, Some(expected_version))?;
        self.call(move |c| {
            let id = match find(c, &rows.arn)? {
                None => return Err(StoreError::NotFound(rows.arn.clone())),
                Some((_, v)) if v != expected_version as i64 => return Err(StoreError::Conflict),
                Some((id, _)) => id,
            };
            write_rows(c, &rows, Some(id)).map_err(backend)
        })
        .await
    }

    async fn history(
        &self,
        arn: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let arn = arn.to_string();
        let query = query.clone();
        self.read(move |c| {
            let Some((exec, _)) = find(c, &arn)? else {
                return Ok(Vec::new());
            };
            // One row per step, keyed by its first event's id: start at
            // the row holding the first event wanted.
            let (sql, bound) = if query.reverse {
                (
                    "SELECT body FROM history WHERE exec = ?1 AND first < ?2 ORDER BY first DESC",
                    query.after.map(|a| a as i64).unwrap_or(i64::MAX),
                )
            } else {
                (
                    "SELECT body FROM history WHERE exec = ?1 AND first >= COALESCE(
                        (SELECT MAX(first) FROM history WHERE exec = ?1 AND first <= ?2 + 1), 0)
                     ORDER BY first",
                    query.after.map(|a| a as i64).unwrap_or(0),
                )
            };
            let mut stmt = c.prepare_cached(sql).map_err(backend)?;
            let mut q = stmt.query(params![exec, bound]).map_err(backend)?;
            let mut out = Vec::new();
            while out.len() < query.limit {
                let Some(row) = q.next().map_err(backend)? else {
                    break;
                };
                let body: String = row.get(0).map_err(backend)?;
                let events: Vec<HistoryEvent> = from_json(&body)?;
                if query.reverse {
                    out.extend(
                        events
                            .into_iter()
                            .rev()
                            .filter(|e| (e.id as i64) < bound)
                            .take(query.limit - out.len()),
                    );
                } else {
                    out.extend(
                        events
                            .into_iter()
                            .filter(|e| (e.id as i64) > bound)
                            .take(query.limit - out.len()),
                    );
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_executions(
        &self,
        query: &ExecutionQuery,
    ) -> Result<Page<ExecutionSummary>, StoreError> {
        let query = query.clone();
        // The token is "start_time|arn" of the last item returned.
        let cursor = match &query.page.next_token {
            None => None,
            Some(t) => {
                let (time, arn) = t.split_once('|').ok_or(StoreError::InvalidToken)?;
                Some((
                    time.parse::<i64>().map_err(|_| StoreError::InvalidToken)?,
                    arn.to_string(),
                ))
            }
        };
        let limit = query.page.max_results.max(1);
        self.read(move |c| {
            let status = query.status.map(|s| s.as_str()).unwrap_or("");
            let (time, arn) = cursor.unwrap_or((i64::MAX, String::new()));
            let mut stmt = c
                .prepare_cached(
                    "SELECT header FROM executions WHERE sm_arn = ?1 AND (?2 = '' OR status = ?2)
                     AND (start_time < ?3 OR (start_time = ?3 AND (?4 = '' OR arn < ?4)))
                     AND (?6 = '' OR json_extract(header, '$.meta.version_arn') = ?6
                          OR json_extract(header, '$.meta.alias_arn') = ?6)
                     ORDER BY start_time DESC, arn DESC LIMIT ?5",
                )
                .map_err(backend)?;
            let mut q = stmt
                .query(params![
                    query.state_machine_arn,
                    status,
                    time,
                    arn,
                    (limit + 1) as i64,
                    query.qualified_arn.as_deref().unwrap_or("")
                ])
                .map_err(backend)?;
            let mut items = Vec::new();
            while let Some(row) = q.next().map_err(backend)? {
                let body: String = row.get(0).map_err(backend)?;
                let h: ExecutionHeader = from_json(&body)?;
                items.push(ExecutionSummary {
                    execution_arn: h.info.arn,
                    state_machine_arn: h.info.state_machine_arn,
                    name: h.info.name,
                    status: h.status,
                    start_date: h.info.start_time,
                    stop_date: h.stop_time,
                    version_arn: h.meta.version_arn,
                    alias_arn: h.meta.alias_arn,
                });
            }
            let next_token = if items.len() > limit {
                items.truncate(limit);
                items
                    .last()
                    .map(|s| format!("{}|{}", s.start_date, s.execution_arn))
            } else {
                None
            };
            Ok(Page { items, next_token })
        })
        .await
    }

    async fn complete_outbox(&self, ids: &[String]) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.call(move |c| {
            let mut stmt = c
                .prepare_cached("DELETE FROM outbox WHERE id = ?1")
                .map_err(backend)?;
            for id in &ids {
                stmt.execute(params![id]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn outbox_entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let id = id.to_string();
        self.read(move |c| outbox_row(c, &id)).await
    }

    async fn pending_outbox(
        &self,
        lapsed_by: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT body, owner, lease_until FROM outbox WHERE lease_until <= ?1
                     ORDER BY created, id LIMIT ?2",
                )
                .map_err(backend)?;
            let mut q = stmt
                .query(params![lapsed_by, limit as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = q.next().map_err(backend)? {
                out.push(outbox_from_row(row)?);
            }
            Ok(out)
        })
        .await
    }

    async fn claim_outbox(
        &self,
        id: &str,
        holder: Option<&str>,
        now: i64,
        claim: &Claim,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let (id, holder, claim) = (id.to_string(), holder.map(str::to_string), claim.clone());
        self.call(move |c| {
            let Some(mut entry) = outbox_row(c, &id)? else {
                return Ok(None);
            };
            let held_by_caller = holder.as_deref() == Some(entry.claim.owner.as_str());
            if entry.claim.until > now && !held_by_caller {
                return Ok(None);
            }
            c.prepare_cached("UPDATE outbox SET owner = ?2, lease_until = ?3 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, claim.owner, claim.until]))
                .map_err(backend)?;
            entry.claim = claim;
            Ok(Some(entry))
        })
        .await
    }

    async fn create_version(&self, version: &VersionRecord) -> Result<VersionRecord, StoreError> {
        self.create_version_row(version).await
    }

    async fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>, StoreError> {
        self.get_version_row(arn).await
    }

    async fn list_versions(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<VersionRecord>, StoreError> {
        self.list_version_rows(state_machine_arn, page).await
    }

    async fn delete_version(&self, arn: &str) -> Result<bool, StoreError> {
        self.delete_version_row(arn).await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.put_alias_row(alias, true).await
    }

    async fn update_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.put_alias_row(alias, false).await
    }

    async fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>, StoreError> {
        self.get_alias_row(arn).await
    }

    async fn list_aliases(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<AliasRecord>, StoreError> {
        self.list_alias_rows(state_machine_arn, page).await
    }

    async fn delete_alias(&self, arn: &str) -> Result<bool, StoreError> {
        self.delete_alias_row(arn).await
    }

    async fn update_tags(
        &self,
        resource_arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), StoreError> {
        self.update_tag_rows(resource_arn, set, remove).await
    }

    async fn list_tags(&self, resource_arn: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.list_tag_rows(resource_arn).await
    }

    async fn load_frame(&self, arn: &str, frame: FrameId) -> Result<Option<Frame>, StoreError> {
        let arn = arn.to_string();
        self.read(move |c| {
            let state: Option<String> = c
                .prepare_cached(
                    "SELECT f.state FROM executions e JOIN frames f ON f.exec = e.id
                     WHERE e.arn = ?1 AND e.status = 'RUNNING' AND f.id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![arn, frame as i64], |r| r.get(0))
                        .optional()
                })
                .map_err(backend)?;
            state.map(|s| from_json(&s)).transpose()
        })
        .await
    }
}

/// One outbox entry with its claim.
fn outbox_row(c: &Connection, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT body, owner, lease_until FROM outbox WHERE id = ?1")
        .map_err(backend)?;
    let mut q = stmt.query(params![id]).map_err(backend)?;
    match q.next().map_err(backend)? {
        Some(row) => Ok(Some(outbox_from_row(row)?)),
        None => Ok(None),
    }
}

/// An entry from `(body, owner, lease_until)`: the claim lives in its own
/// columns (claims rewrite them, never the body).
fn outbox_from_row(row: &rusqlite::Row<'_>) -> Result<OutboxEntry, StoreError> {
    let body: String = row.get(0).map_err(backend)?;
    let mut entry: OutboxEntry = from_json(&body)?;
    entry.claim = Claim {
        owner: row.get(1).map_err(backend)?,
        until: row.get(2).map_err(backend)?,
    };
    Ok(entry)
}

impl Queue for Embedded {
    async fn send(&self, message: &QueueMessage) -> Result<(), StoreError> {
        self.send_batch(std::slice::from_ref(message)).await
    }

    async fn send_batch(&self, messages: &[QueueMessage]) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(messages.len());
        for m in messages {
            rows.push((m.id.clone(), m.due, to_json(m)?));
        }
        self.call(move |c| {
            let mut insert = c
                .prepare_cached(
                    "INSERT OR IGNORE INTO queue(id, due, visible_at, body) VALUES (?1, ?2, ?2, ?3)",
                )
                .map_err(backend)?;
            for (id, due, body) in &rows {
                insert.execute(params![id, due, body]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn retry(&self, receipt: &str, now: i64, delay_ms: i64) -> Result<(), StoreError> {
        let at = now.saturating_add(delay_ms.max(0));
        let seq: i64 = receipt
            .parse()
            .map_err(|_| StoreError::NotFound(receipt.to_string()))?;
        self.call(move |c| {
            c.prepare_cached("UPDATE queue SET visible_at = ?2 WHERE seq = ?1")
                .and_then(|mut s| s.execute(params![seq, at]))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn receive(
        &self,
        now: i64,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.call(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, attempts, body FROM queue WHERE visible_at <= ?1 ORDER BY visible_at, seq LIMIT ?2",
                )
                .map_err(backend)?;
            let mut q = stmt.query(params![now, max as i64]).map_err(backend)?;
            let mut got = Vec::new();
            while let Some(row) = q.next().map_err(backend)? {
                let seq: i64 = row.get(0).map_err(backend)?;
                let attempts: i64 = row.get(1).map_err(backend)?;
                let body: String = row.get(2).map_err(backend)?;
                got.push((seq, attempts, body));
            }
            drop(q);
            let mut hide = c
                .prepare_cached("UPDATE queue SET visible_at = ?2, attempts = attempts + 1 WHERE seq = ?1")
                .map_err(backend)?;
            let mut out = Vec::with_capacity(got.len());
            for (seq, attempts, body) in got {
                hide.execute(params![seq, now.saturating_add(visibility_ms)]).map_err(backend)?;
                out.push(Delivery {
                    receipt: seq.to_string(),
                    message: from_json(&body)?,
                    attempts: (attempts + 1).clamp(0, u32::MAX as i64) as u32,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        let seq: i64 = receipt
            .parse()
            .map_err(|_| StoreError::NotFound(receipt.to_string()))?;
        self.call(move |c| {
            c.prepare_cached("DELETE FROM queue WHERE seq = ?1")
                .and_then(|mut s| s.execute(params![seq]))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT MIN(visible_at) FROM queue", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map_err(backend)
        })
        .await
    }

    async fn release_all(&self) -> Result<(), StoreError> {
        self.call(|c| {
            c.execute(
                "UPDATE queue SET visible_at = due WHERE visible_at != due",
                [],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}
