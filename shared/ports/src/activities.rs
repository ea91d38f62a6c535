//! Activities: their records, and the tasks that wait for a worker's
//! `GetActivityTask` ([`ActivityStore`]).

use crate::{Page, PageRequest, StoreError};
use flowstate_engine::FrameId;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// An activity (CreateActivity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub arn: String,
    pub name: String,
    /// Epoch ms.
    pub creation_date: i64,
    /// The tags given at creation, as `(key, value)`, in order.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// `encryptionConfiguration` as given (kept and returned, not acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<serde_json::Value>,
}

/// A task of an activity Task state, waiting for a worker to take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityTask {
    /// Unique per scheduling of a task (the execution, frame and `seq`):
    /// writing it again changes nothing.
    pub id: String,
    pub activity_arn: String,
    pub execution_arn: String,
    pub frame: FrameId,
    pub seq: u64,
    pub task_token: String,
    /// The task's input as JSON text (what GetActivityTask answers).
    pub input: String,
    /// Epoch ms; tasks are handed out oldest first.
    pub created: i64,
    /// Epoch ms after which no one may want it any more (the execution's
    /// end at the latest): a backend may forget it then.
    pub expires: i64,
}

/// The activities and their waiting tasks. Every method is atomic on its own.
pub trait ActivityStore: Send + Sync + 'static {
    /// Creates an activity; `AlreadyExists` if its ARN is taken.
    fn create_activity(
        &self,
        activity: &ActivityRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_activity(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ActivityRecord>, StoreError>> + Send;

    /// Deletes an activity; whether it existed. Its waiting tasks stay.
    fn delete_activity(&self, arn: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Activities ordered by ARN.
    fn list_activities(
        &self,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<ActivityRecord>, StoreError>> + Send;

    /// Adds a waiting task (the same `id` again changes nothing) and wakes
    /// those waiting in [`ActivityStore::wait_for_activity_task`] in this
    /// process.
    fn put_activity_task(
        &self,
        task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes the oldest waiting task of the activity whose `expires` is
    /// after `now`, removing it: of several callers at once (in any
    /// number of processes) exactly one gets each task.
    fn claim_activity_task(
        &self,
        activity_arn: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<ActivityTask>, StoreError>> + Send;

    /// Resolves when a task may have been added for the activity since the
    /// last claim, or after `within_ms` at the latest: a hint to claim
    /// again, never a promise. A backend that can hear of new tasks (in
    /// one process) resolves at once; one shared by processes it cannot
    /// hear waits the time out.
    fn wait_for_activity_task(
        &self,
        activity_arn: &str,
        within_ms: u64,
    ) -> impl Future<Output = ()> + Send;
}
