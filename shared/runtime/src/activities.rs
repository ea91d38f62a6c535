//! Activities: CreateActivity, DescribeActivity, DeleteActivity,
//! ListActivities, GetActivityTask, and the scheduling of an activity
//! Task's work.
//!
//! - **Scheduling.** A Task whose resource is an activity ARN asks for an
//!   invocation like any Task; performing it writes an [`ActivityTask`] to
//!   the store ([`flowstate_ports::ActivityStore`]) instead of calling
//!   anything, and the frame waits for the task token. Performing it again
//!   (a sweep after a crash) writes the same task again, which changes
//!   nothing.
//! - **Taking a task.** GetActivityTask claims the oldest task of the
//!   activity (the store hands each to one caller only, across processes),
//!   then records `ActivityStarted` with the worker's name on the
//!   execution. A task whose frame no longer waits for it (the execution
//!   was stopped, timed out or moved on) is dropped there and the next one
//!   is tried: a worker never gets a task no one waits for.
//! - **Waiting.** With nothing to take, GetActivityTask waits up to 60
//!   seconds (AWS's long poll) for a task: woken at once by a task written
//!   in this process, else claiming again after a back-off that grows to
//!   [`MAX_POLL_BACKOFF_MS`], so an idle poller costs a read every second
//!   or two, not a busy loop. At the end it answers no task, as AWS does.
//! - **Answers** go through the task token like a callback's
//!   (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat); the engine
//!   records them as `ActivitySucceeded`, `ActivityFailed`,
//!   `ActivityTimedOut`. Timeouts are the Task's timers, kept in the queue:
//!   a task handed to a worker whose answer never comes still times out.

use crate::names::check_name;
use crate::{Applied, Service, ServiceError};
use flowstate_engine::{Event, FrameId, TaskInvocation};
use flowstate_ports::{
    ActivityRecord, ActivityTask, Clock, Invoker, Page, PageRequest, Queue, Store, StoreError,
};
use std::time::Duration;

/// How long GetActivityTask waits for a task at most (AWS: 60 seconds).
pub const ACTIVITY_POLL: Duration = Duration::from_secs(60);
/// First wait between claims of an idle poll, and the longest.
const FIRST_POLL_BACKOFF_MS: u64 = 100;
pub const MAX_POLL_BACKOFF_MS: u64 = 2_000;
/// How long an activity task that has no timeout of its own may wait for
/// a worker: as long as its execution may run (a Standard execution ends
/// at one year).
const UNBOUNDED_TASK_MS: i64 = 366 * 24 * 3_600 * 1_000;

/// CreateActivity's request.
#[derive(Debug, Clone, Default)]
pub struct CreateActivity {
    pub name: String,
    pub tags: Vec<(String, String)>,
    pub encryption_configuration: Option<serde_json::Value>,
}

/// A task GetActivityTask hands to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTaskGiven {
    pub task_token: String,
    /// JSON text.
    pub input: String,
}

/// The ARN of an activity: `arn:aws:states:REGION:ACCOUNT:activity:NAME`.
pub fn activity_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account}:activity:{name}")
}

/// Checks the shape of an activity ARN.
pub fn check_activity_arn(arn: &str) -> Result<(), ServiceError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 7
        || parts[0] != "arn"
        || parts[2] != "states"
        || parts[5] != "activity"
        || parts[6].is_empty()
    {
        return Err(ServiceError::InvalidArn(arn.to_string()));
    }
    Ok(())
}

/// Whether a Task's resource is an activity (its work waits for a worker).
pub fn is_activity(resource: &str) -> bool {
    matches!(
        flowstate_engine::integration::TaskResource::parse(resource),
        Ok(flowstate_engine::integration::TaskResource::Activity(_))
    )
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// CreateActivity. Idempotent by name: the same name again returns the
    /// existing activity (its tags unchanged, as AWS documents), unless the
    /// encryption configuration differs (`ActivityAlreadyExists`).
    pub async fn create_activity(
        &self,
        req: CreateActivity,
    ) -> Result<ActivityRecord, ServiceError> {
        check_name(&req.name)?;
        let c = &self.inner.config;
        let record = ActivityRecord {
            arn: activity_arn(&c.region, &c.account, &req.name),
            name: req.name,
            creation_date: self.inner.clock.now(),
            tags: req.tags,
            encryption_configuration: req.encryption_configuration,
        };
        match self.inner.store.create_activity(&record).await {
            Ok(()) => {
                // TagResource and ListTagsForResource read the tags of
                // every kind of resource from one place.
                if !record.tags.is_empty() {
                    let tags = record.tags.iter().cloned().collect();
                    self.inner
                        .store
                        .update_tags(&record.arn, &tags, &[])
                        .await?;
                }
                Ok(record)
            }
            Err(StoreError::AlreadyExists(_)) => {
                match self.inner.store.get_activity(&record.arn).await? {
                    Some(existing)
                        if existing.encryption_configuration == record.encryption_configuration =>
                    {
                        Ok(existing)
                    }
                    Some(_) => Err(ServiceError::ActivityAlreadyExists(record.arn)),
                    // Deleted since: create it again.
                    None => {
                        Box::pin(self.create_activity(CreateActivity {
                            name: record.name,
                            tags: record.tags,
                            encryption_configuration: record.encryption_configuration,
                        }))
                        .await
                    }
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// DescribeActivity.
    pub async fn describe_activity(&self, arn: &str) -> Result<ActivityRecord, ServiceError> {
        check_activity_arn(arn)?;
        self.inner
            .store
            .get_activity(arn)
            .await?
            .ok_or_else(|| ServiceError::ActivityDoesNotExist(arn.into()))
    }

    /// DeleteActivity. Deleting an absent activity succeeds (AWS names no
    /// error for it). Tasks already scheduled wait on: their Task states
    /// time out as they would without a worker.
    pub async fn delete_activity(&self, arn: &str) -> Result<(), ServiceError> {
        check_activity_arn(arn)?;
        if self.inner.store.delete_activity(arn).await? {
            let keys: Vec<String> = self.inner.store.list_tags(arn).await?.into_keys().collect();
            if !keys.is_empty() {
                let none = std::collections::BTreeMap::new();
                self.inner.store.update_tags(arn, &none, &keys).await?;
            }
        }
        Ok(())
    }

    /// ListActivities, ordered by ARN.
    pub async fn list_activities(
        &self,
        page: PageRequest,
    ) -> Result<Page<ActivityRecord>, ServiceError> {
        let purpose = "ListActivities";
        let page = PageRequest {
            max_results: crate::service::page_size(page.max_results),
            next_token: self.open_page_token(purpose, page.next_token)?,
        };
        let mut found = self.inner.store.list_activities(&page).await?;
        found.next_token = self.page_token(purpose, found.next_token);
        Ok(found)
    }

    /// GetActivityTask: the oldest task of the activity no other worker
    /// took, recorded as started by `worker_name`; `None` when none came
    /// within `wait` (the API waits [`ACTIVITY_POLL`]).
    pub async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
        wait: Duration,
    ) -> Result<Option<ActivityTaskGiven>, ServiceError> {
        self.describe_activity(activity_arn).await?;
        // The long poll is the caller's wall time, whatever the clock says.
        let deadline = tokio::time::Instant::now() + wait;
        let mut backoff = FIRST_POLL_BACKOFF_MS;
        loop {
            if let Some(task) = self.take_activity_task(activity_arn, &worker_name).await? {
                return Ok(Some(task));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let within = (left.as_millis() as u64).min(backoff).max(1);
            self.inner
                .store
                .wait_for_activity_task(activity_arn, within)
                .await;
            backoff = (backoff * 2).min(MAX_POLL_BACKOFF_MS);
        }
    }

    /// Claims waiting tasks of the activity until one is still expected,
    /// and records it started.
    async fn take_activity_task(
        &self,
        activity_arn: &str,
        worker_name: &Option<String>,
    ) -> Result<Option<ActivityTaskGiven>, ServiceError> {
        loop {
            let now = self.inner.clock.now();
            let Some(task) = self
                .inner
                .store
                .claim_activity_task(activity_arn, now)
                .await?
            else {
                return Ok(None);
            };
            let event = Event::ActivityStarted {
                frame: task.frame,
                seq: task.seq,
                worker_name: worker_name.clone(),
            };
            match self.deliver(&task.execution_arn, event).await {
                Ok(true) => {
                    return Ok(Some(ActivityTaskGiven {
                        task_token: task.task_token,
                        input: task.input,
                    }))
                }
                Ok(false) | Err(ServiceError::ExecutionDoesNotExist(_)) => {
                    tracing::info!(task_id = %task.id, "activity task no longer expected: dropped");
                }
                Err(e) => {
                    // Not handed out: back for the next poll.
                    self.inner.store.put_activity_task(&task).await?;
                    return Err(e);
                }
            }
        }
    }

    /// Feeds `event` to the execution: to a StartSyncExecution running in
    /// memory, else through a committed step. Whether it applied.
    async fn deliver(&self, arn: &str, event: Event) -> Result<bool, ServiceError> {
        let waiter = crate::service::lock_waiters(&self.inner.sync_waiters)
            .get(arn)
            .cloned();
        if let Some(tx) = waiter {
            return Ok(tx.send(event).is_ok());
        }
        Ok(self.apply_accepted(arn, event).await? == Applied::Committed)
    }

    /// Performs an activity Task's invocation: its task waits in the store
    /// for a worker. `created`: when the step that asked for it committed
    /// (the same when it is performed again, so the task is the same).
    pub(crate) async fn schedule_activity_task(
        &self,
        execution_arn: &str,
        frame: FrameId,
        seq: u64,
        invocation: &TaskInvocation,
        created: i64,
    ) -> Result<(), ServiceError> {
        let token = invocation.task_token.clone().ok_or_else(|| {
            ServiceError::Internal(format!(
                "the activity task of state '{}' has no task token",
                invocation.state_name
            ))
        })?;
        let lifetime = invocation
            .timeout_seconds
            .map_or(UNBOUNDED_TASK_MS, |t| (t as i64).saturating_mul(1_000));
        let task = ActivityTask {
            id: format!("{execution_arn}#{frame}#{seq}"),
            activity_arn: invocation.resource.clone(),
            execution_arn: execution_arn.to_string(),
            frame,
            seq,
            task_token: token,
            input: serde_json::to_string(&invocation.parameters)
                .map_err(|e| ServiceError::Internal(format!("activity task input: {e}")))?,
            created,
            expires: created.saturating_add(lifetime),
        };
        self.inner.store.put_activity_task(&task).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_arns_are_checked_by_shape() {
        let arn = activity_arn("us-east-1", "123456789012", "approve");
        assert_eq!(
            arn,
            "arn:aws:states:us-east-1:123456789012:activity:approve"
        );
        assert!(check_activity_arn(&arn).is_ok());
        for bad in [
            "arn:aws:states:us-east-1:123456789012:stateMachine:approve",
            "arn:aws:states:us-east-1:123456789012:activity:",
            "arn:aws:states:us-east-1:123456789012:activity:a:b",
            "approve",
        ] {
            assert!(check_activity_arn(bad).is_err(), "{bad}");
        }
        assert!(is_activity(&arn));
        assert!(!is_activity("arn:aws:states:::lambda:invoke"));
    }
}
