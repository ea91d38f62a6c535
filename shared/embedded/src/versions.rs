//! Versions, aliases and tags in the embedded store.
//!
//! Tables: `versions` (one row per published version, keyed by state
//! machine and number), `version_counters` (the highest number each state
//! machine ever had, so numbers are not used again after a delete),
//! `aliases` (keyed by state machine and name) and `tags` (one row per tag,
//! keyed by resource ARN, so any resource can be tagged).

use crate::db::{backend, Embedded};
use flowstate_ports::{
    split_version_arn, version_arn, AliasRecord, Page, PageRequest, StoreError, VersionRecord,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS versions(sm_arn TEXT NOT NULL, number INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY(sm_arn, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS version_counters(sm_arn TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS aliases(sm_arn TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY(sm_arn, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags(arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY(arn, key)) WITHOUT ROWID;
";

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(backend)
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("corrupt record: {e}")))
}

/// An alias ARN's state machine ARN and name.
fn split_alias_arn(arn: &str) -> Option<(&str, &str)> {
    arn.rsplit_once(':')
}

/// A page of the records `sql` selects (asked for `limit + 1`, to tell
/// whether another page follows), with the position of its last record.
fn page_of<T: serde::de::DeserializeOwned>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    limit: usize,
    position: impl Fn(&T) -> String,
) -> Result<Page<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let mut q = stmt.query(params).map_err(backend)?;
    let mut items: Vec<T> = Vec::new();
    while let Some(row) = q.next().map_err(backend)? {
        items.push(from_json(&row.get::<_, String>(0).map_err(backend)?)?);
    }
    let next_token = if items.len() > limit {
        items.truncate(limit);
        items.last().map(position)
    } else {
        None
    };
    Ok(Page { items, next_token })
}

/// Deletes what belongs to a state machine besides its record (called in
/// the delete's transaction).
pub(crate) fn delete_owned(c: &Connection, sm_arn: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM versions WHERE sm_arn = ?1",
        "DELETE FROM version_counters WHERE sm_arn = ?1",
        "DELETE FROM aliases WHERE sm_arn = ?1",
        "DELETE FROM tags WHERE arn = ?1",
    ] {
        c.execute(sql, params![sm_arn]).map_err(backend)?;
    }
    Ok(())
}

impl Embedded {
    /// The record in the `body` of the row `sql` selects by state machine
    /// and key.
    async fn body_of<T, K>(
        &self,
        sql: &'static str,
        sm: String,
        key: K,
    ) -> Result<Option<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
        K: rusqlite::ToSql + Send + 'static,
    {
        self.read(move |c| {
            c.query_row(sql, params![sm, key], |r| r.get::<_, String>(0))
                .optional()
                .map_err(backend)?
                .map(|b| from_json(&b))
                .transpose()
        })
        .await
    }

    /// Runs the delete `sql` of one row by state machine and key; whether
    /// there was one.
    async fn delete_one<K>(&self, sql: &'static str, sm: String, key: K) -> Result<bool, StoreError>
    where
        K: rusqlite::ToSql + Send + 'static,
    {
        self.call(move |c| Ok(c.execute(sql, params![sm, key]).map_err(backend)? > 0))
            .await
    }

    pub(crate) async fn create_version_row(
        &self,
        version: &VersionRecord,
    ) -> Result<VersionRecord, StoreError> {
        let mut v = version.clone();
        self.call(move |c| {
            let exists: Option<i64> = c
                .query_row(
                    "SELECT 1 FROM state_machines WHERE arn = ?1",
                    params![v.state_machine_arn],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(v.state_machine_arn.clone()));
            }
            let last: i64 = c
                .query_row(
                    "SELECT last FROM version_counters WHERE sm_arn = ?1",
                    params![v.state_machine_arn],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            v.number = last as u64 + 1;
            v.arn = version_arn(&v.state_machine_arn, v.number);
            c.execute(
                "INSERT OR REPLACE INTO version_counters(sm_arn, last) VALUES (?1, ?2)",
                params![v.state_machine_arn, v.number as i64],
            )
            .map_err(backend)?;
            c.execute(
                "INSERT INTO versions(sm_arn, number, body) VALUES (?1, ?2, ?3)",
                params![v.state_machine_arn, v.number as i64, to_json(&v)?],
            )
            .map_err(backend)?;
            Ok(v)
        })
        .await
    }

    pub(crate) async fn get_version_row(
        &self,
        arn: &str,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let Some((sm, n)) = split_version_arn(arn) else {
            return Ok(None);
        };
        self.body_of(
            "SELECT body FROM versions WHERE sm_arn = ?1 AND number = ?2",
            sm.to_string(),
            n as i64,
        )
        .await
    }

    pub(crate) async fn list_version_rows(
        &self,
        sm_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<VersionRecord>, StoreError> {
        let before = match &page.next_token {
            Some(t) => t.parse::<i64>().map_err(|_| StoreError::InvalidToken)?,
            None => i64::MAX,
        };
        let limit = page.max_results.max(1);
        let sm = sm_arn.to_string();
        self.read(move |c| {
            page_of(
                c,
                "SELECT body FROM versions WHERE sm_arn = ?1 AND number < ?2
                 ORDER BY number DESC LIMIT ?3",
                params![sm, before, (limit + 1) as i64],
                limit,
                |v: &VersionRecord| v.number.to_string(),
            )
        })
        .await
    }

    pub(crate) async fn delete_version_row(&self, arn: &str) -> Result<bool, StoreError> {
        let Some((sm, n)) = split_version_arn(arn) else {
            return Ok(false);
        };
        self.delete_one(
            "DELETE FROM versions WHERE sm_arn = ?1 AND number = ?2",
            sm.to_string(),
            n as i64,
        )
        .await
    }

    pub(crate) async fn put_alias_row(
        &self,
        alias: &AliasRecord,
        create: bool,
    ) -> Result<(), StoreError> {
        let body = to_json(alias)?;
        let a = alias.clone();
        self.call(move |c| {
            let exists = c
                .query_row(
                    "SELECT 1 FROM aliases WHERE sm_arn = ?1 AND name = ?2",
                    params![a.state_machine_arn, a.name],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map_err(backend)?
                .is_some();
            match (create, exists) {
                (true, true) => return Err(StoreError::AlreadyExists(a.arn.clone())),
                (false, false) => return Err(StoreError::NotFound(a.arn.clone())),
                _ => {}
            }
            c.execute(
                "INSERT OR REPLACE INTO aliases(sm_arn, name, body) VALUES (?1, ?2, ?3)",
                params![a.state_machine_arn, a.name, body],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn get_alias_row(&self, arn: &str) -> Result<Option<AliasRecord>, StoreError> {
        let Some((sm, name)) = split_alias_arn(arn) else {
            return Ok(None);
        };
        self.body_of(
            "SELECT body FROM aliases WHERE sm_arn = ?1 AND name = ?2",
            sm.to_string(),
            name.to_string(),
        )
        .await
    }

    pub(crate) async fn list_alias_rows(
        &self,
        sm_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<AliasRecord>, StoreError> {
        let after = page.next_token.clone().unwrap_or_default();
        let limit = page.max_results.max(1);
        let sm = sm_arn.to_string();
        self.read(move |c| {
            page_of(
                c,
                "SELECT body FROM aliases WHERE sm_arn = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
                params![sm, after, (limit + 1) as i64],
                limit,
                |a: &AliasRecord| a.name.clone(),
            )
        })
        .await
    }

    pub(crate) async fn delete_alias_row(&self, arn: &str) -> Result<bool, StoreError> {
        let Some((sm, name)) = split_alias_arn(arn) else {
            return Ok(false);
        };
        self.delete_one(
            "DELETE FROM aliases WHERE sm_arn = ?1 AND name = ?2",
            sm.to_string(),
            name.to_string(),
        )
        .await
    }

    pub(crate) async fn update_tag_rows(
        &self,
        arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), StoreError> {
        let (arn, set, remove) = (arn.to_string(), set.clone(), remove.to_vec());
        self.call(move |c| {
            for k in &remove {
                c.execute(
                    "DELETE FROM tags WHERE arn = ?1 AND key = ?2",
                    params![arn, k],
                )
                .map_err(backend)?;
            }
            for (k, v) in &set {
                c.execute(
                    "INSERT OR REPLACE INTO tags(arn, key, value) VALUES (?1, ?2, ?3)",
                    params![arn, k, v],
                )
                .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn list_tag_rows(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let arn = arn.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT key, value FROM tags WHERE arn = ?1 ORDER BY key")
                .map_err(backend)?;
            let mut q = stmt.query(params![arn]).map_err(backend)?;
            let mut tags = BTreeMap::new();
            while let Some(row) = q.next().map_err(backend)? {
                tags.insert(
                    row.get::<_, String>(0).map_err(backend)?,
                    row.get::<_, String>(1).map_err(backend)?,
                );
            }
            Ok(tags)
        })
        .await
    }
}
