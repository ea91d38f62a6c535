//! [`ActivityStore`] for [`Embedded`]: activities and their waiting tasks
//! in two tables of the same database. A task is claimed by deleting it on
//! the writer thread, so two pollers never get one task; pollers of this
//! process are woken by a notification when a task is written.

use crate::db::{backend, Embedded};
use crate::ports::{arn_page, from_json, to_json};
use flowstate_ports::{ActivityRecord, ActivityStore, ActivityTask, Page, PageRequest, StoreError};
use rusqlite::{params, OptionalExtension};
use std::time::Duration;

/// Created with the rest of the schema (`CREATE ... IF NOT EXISTS`: a data
/// directory of the same schema version without them gets them).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS activities(arn TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activity_tasks(id TEXT PRIMARY KEY, activity TEXT NOT NULL,
    created INTEGER NOT NULL, expires INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS activity_tasks_by_age ON activity_tasks(activity, created, id);
";

impl ActivityStore for Embedded {
    async fn create_activity(&self, activity: &ActivityRecord) -> Result<(), StoreError> {
        let body = to_json(activity)?;
        let arn = activity.arn.clone();
        self.call(move |c| {
            let n = c
                .prepare_cached("INSERT OR IGNORE INTO activities(arn, body) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![arn, body]))
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(arn));
            }
            Ok(())
        })
        .await
    }

    async fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>, StoreError> {
        let arn = arn.to_string();
        self.read(move |c| {
            let body: Option<String> = c
                .prepare_cached("SELECT body FROM activities WHERE arn = ?1")
                .and_then(|mut s| s.query_row(params![arn], |r| r.get(0)).optional())
                .map_err(backend)?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    async fn delete_activity(&self, arn: &str) -> Result<bool, StoreError> {
        let arn = arn.to_string();
        self.call(move |c| {
            let n = c
                .prepare_cached("DELETE FROM activities WHERE arn = ?1")
                .and_then(|mut s| s.execute(params![arn]))
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_activities(
        &self,
        page: &PageRequest,
    ) -> Result<Page<ActivityRecord>, StoreError> {
        let page = page.clone();
        self.read(move |c| {
            arn_page(
                c,
                "SELECT arn, body FROM activities WHERE arn > ?1 ORDER BY arn LIMIT ?2",
                &page,
                |a: &ActivityRecord| a.arn.clone(),
            )
        })
        .await
    }

    async fn put_activity_task(&self, task: &ActivityTask) -> Result<(), StoreError> {
        let body = to_json(task)?;
        let t = task.clone();
        self.call(move |c| {
            c.prepare_cached(
                "INSERT OR IGNORE INTO activity_tasks(id, activity, created, expires, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![t.id, t.activity_arn, t.created, t.expires, body]))
            .map_err(backend)?;
            Ok(())
        })
        .await?;
        self.activity_tasks_written().notify_waiters();
        Ok(())
    }

    async fn claim_activity_task(
        &self,
        activity_arn: &str,
        now: i64,
    ) -> Result<Option<ActivityTask>, StoreError> {
        let activity = activity_arn.to_string();
        // On the writer thread: the read and the delete are one operation,
        // so of two claims only one finds the task.
        self.call(move |c| {
            c.prepare_cached("DELETE FROM activity_tasks WHERE activity = ?1 AND expires <= ?2")
                .and_then(|mut s| s.execute(params![activity, now]))
                .map_err(backend)?;
            let found: Option<(String, String)> = c
                .prepare_cached(
                    "SELECT id, body FROM activity_tasks WHERE activity = ?1
                     ORDER BY created, id LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![activity], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(backend)?;
            let Some((id, body)) = found else {
                return Ok(None);
            };
            c.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id]))
                .map_err(backend)?;
            from_json(&body).map(Some)
        })
        .await
    }

    async fn wait_for_activity_task(&self, _activity_arn: &str, within_ms: u64) {
        // Every task of this database is written through this process.
        let written = self.activity_tasks_written();
        let _ = tokio::time::timeout(Duration::from_millis(within_ms), written.notified()).await;
    }
}
