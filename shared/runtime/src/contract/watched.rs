//! A backend that reports every call to a [`Watch`] before making it:
//! tests count calls, or fail one as a crash before or after it would.

use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Frame, FrameId};
use flowstate_ports::{AliasRecord, VersionRecord};
use flowstate_ports::{
    Claim, Created, Delivery, ExecutionQuery, ExecutionRecord, ExecutionSummary, HistoryQuery,
    OutboxEntry, Page, PageRequest, Queue, QueueMessage, StateMachineRecord, StepWrite, Store,
    StoreError,
};
use std::sync::Arc;

/// What becomes of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It is made.
    None,
    /// It fails without being made.
    Before,
    /// It is made, and fails anyway (the caller never learns it was: a
    /// crash right after it).
    After,
}

/// Told of every call of a [`Watched`] backend.
pub trait Watch: Send + Sync + 'static {
    /// Call `name` (the port method's name) is about to be made.
    fn call(&self, name: &'static str) -> Fault;
    /// A message about to be sent: a copy to send first, as a queue that
    /// delivers it twice would.
    fn duplicate(&self, _message: &QueueMessage) -> Option<QueueMessage> {
        None
    }
}

/// `inner`, with every call reported to `watch`.
#[derive(Clone)]
pub struct Watched<B> {
    pub inner: B,
    pub watch: Arc<dyn Watch>,
}

/// The error of a call a [`Watch`] failed.
pub fn injected_crash() -> StoreError {
    StoreError::Backend("injected crash".into())
}

macro_rules! watched {
    ($self:ident, $name:literal, $call:expr) => {{
        match $self.watch.call($name) {
            Fault::None => $call.await,
            Fault::Before => Err(injected_crash()),
            Fault::After => {
                let _ = $call.await;
                Err(injected_crash())
            }
        }
    }};
}

impl<B: Store> Store for Watched<B> {
    async fn create_state_machine(&self, sm: &StateMachineRecord) -> Result<(), StoreError> {
        watched!(
            self,
            "create_state_machine",
            self.inner.create_state_machine(sm)
        )
    }
    async fn update_state_machine(&self, sm: &StateMachineRecord) -> Result<(), StoreError> {
        watched!(
            self,
            "update_state_machine",
            self.inner.update_state_machine(sm)
        )
    }
    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        watched!(self, "get_state_machine", self.inner.get_state_machine(arn))
    }
    async fn get_revision(&self, id: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        watched!(self, "get_revision", self.inner.get_revision(id))
    }
    async fn create_version(&self, v: &VersionRecord) -> Result<VersionRecord, StoreError> {
        watched!(self, "create_version", self.inner.create_version(v))
    }
    async fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>, StoreError> {
        watched!(self, "get_version", self.inner.get_version(arn))
    }
    async fn list_versions(
        &self,
        sm: &str,
        page: &PageRequest,
    ) -> Result<Page<VersionRecord>, StoreError> {
        watched!(self, "list_versions", self.inner.list_versions(sm, page))
    }
    async fn delete_version(&self, arn: &str) -> Result<bool, StoreError> {
        watched!(self, "delete_version", self.inner.delete_version(arn))
    }
    async fn create_alias(&self, a: &AliasRecord) -> Result<(), StoreError> {
        watched!(self, "create_alias", self.inner.create_alias(a))
    }
    async fn update_alias(&self, a: &AliasRecord) -> Result<(), StoreError> {
        watched!(self, "update_alias", self.inner.update_alias(a))
    }
    async fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>, StoreError> {
        watched!(self, "get_alias", self.inner.get_alias(arn))
    }
    async fn list_aliases(
        &self,
        sm: &str,
        page: &PageRequest,
    ) -> Result<Page<AliasRecord>, StoreError> {
        watched!(self, "list_aliases", self.inner.list_aliases(sm, page))
    }
    async fn delete_alias(&self, arn: &str) -> Result<bool, StoreError> {
        watched!(self, "delete_alias", self.inner.delete_alias(arn))
    }
    async fn update_tags(
        &self,
        arn: &str,
        set: &std::collections::BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), StoreError> {
        watched!(
            self,
            "update_tags",
            self.inner.update_tags(arn, set, remove)
        )
    }
    async fn list_tags(
        &self,
        arn: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        watched!(self, "list_tags", self.inner.list_tags(arn))
    }
    async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError> {
        watched!(
            self,
            "delete_state_machine",
            self.inner.delete_state_machine(arn)
        )
    }
    async fn list_state_machines(
        &self,
        page: &PageRequest,
    ) -> Result<Page<StateMachineRecord>, StoreError> {
        watched!(
            self,
            "list_state_machines",
            self.inner.list_state_machines(page)
        )
    }
    async fn create_execution(
        &self,
        r: &ExecutionRecord,
        s: &StepWrite<'_>,
    ) -> Result<Created, StoreError> {
        watched!(self, "create_execution", self.inner.create_execution(r, s))
    }
    async fn load_execution(
        &self,
        arn: &str,
        frames: bool,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        watched!(
            self,
            "load_execution",
            self.inner.load_execution(arn, frames)
        )
    }
    async fn commit_step(
        &self,
        r: &ExecutionRecord,
        v: u64,
        s: &StepWrite<'_>,
    ) -> Result<(), StoreError> {
        watched!(self, "commit_step", self.inner.commit_step(r, v, s))
    }
    async fn history(&self, arn: &str, q: &HistoryQuery) -> Result<Vec<HistoryEvent>, StoreError> {
        watched!(self, "history", self.inner.history(arn, q))
    }
    async fn list_executions(
        &self,
        q: &ExecutionQuery,
    ) -> Result<Page<ExecutionSummary>, StoreError> {
        watched!(self, "list_executions", self.inner.list_executions(q))
    }
    async fn complete_outbox(&self, ids: &[String]) -> Result<(), StoreError> {
        watched!(self, "complete_outbox", self.inner.complete_outbox(ids))
    }
    async fn outbox_entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        watched!(self, "outbox_entry", self.inner.outbox_entry(id))
    }
    async fn pending_outbox(&self, by: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        watched!(self, "pending_outbox", self.inner.pending_outbox(by, limit))
    }
    async fn claim_outbox(
        &self,
        id: &str,
        holder: Option<&str>,
        now: i64,
        claim: &Claim,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        watched!(
            self,
            "claim_outbox",
            self.inner.claim_outbox(id, holder, now, claim)
        )
    }
    async fn load_frame(&self, arn: &str, frame: FrameId) -> Result<Option<Frame>, StoreError> {
        watched!(self, "load_frame", self.inner.load_frame(arn, frame))
    }
}

impl<B: Queue> Queue for Watched<B> {
    async fn send(&self, m: &QueueMessage) -> Result<(), StoreError> {
        if let Some(copy) = self.watch.duplicate(m) {
            self.inner.send(&copy).await?;
        }
        watched!(self, "send", self.inner.send(m))
    }
    async fn receive(&self, now: i64, max: usize, vis: i64) -> Result<Vec<Delivery>, StoreError> {
        watched!(self, "receive", self.inner.receive(now, max, vis))
    }
    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        watched!(self, "ack", self.inner.ack(receipt))
    }
    async fn retry(&self, receipt: &str, now: i64, delay_ms: i64) -> Result<(), StoreError> {
        watched!(self, "retry", self.inner.retry(receipt, now, delay_ms))
    }
    async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        watched!(self, "next_due", self.inner.next_due())
    }
    async fn release_all(&self) -> Result<(), StoreError> {
        watched!(self, "release_all", self.inner.release_all())
    }
    async fn sweep_timers(&self, now: i64) -> Result<usize, StoreError> {
        watched!(self, "sweep_timers", self.inner.sweep_timers(now))
    }
}

impl<B: Store> flowstate_ports::ActivityStore for Watched<B> {
    async fn create_activity(
        &self,
        activity: &flowstate_ports::ActivityRecord,
    ) -> Result<(), StoreError> {
        watched!(
            self,
            "create_activity",
            self.inner.create_activity(activity)
        )
    }
    async fn get_activity(
        &self,
        arn: &str,
    ) -> Result<Option<flowstate_ports::ActivityRecord>, StoreError> {
        watched!(self, "get_activity", self.inner.get_activity(arn))
    }
    async fn delete_activity(&self, arn: &str) -> Result<bool, StoreError> {
        watched!(self, "delete_activity", self.inner.delete_activity(arn))
    }
    async fn list_activities(
        &self,
        page: &PageRequest,
    ) -> Result<Page<flowstate_ports::ActivityRecord>, StoreError> {
        watched!(self, "list_activities", self.inner.list_activities(page))
    }
    async fn put_activity_task(
        &self,
        task: &flowstate_ports::ActivityTask,
    ) -> Result<(), StoreError> {
        watched!(
            self,
            "put_activity_task",
            self.inner.put_activity_task(task)
        )
    }
    async fn claim_activity_task(
        &self,
        activity_arn: &str,
        now: i64,
    ) -> Result<Option<flowstate_ports::ActivityTask>, StoreError> {
        watched!(
            self,
            "claim_activity_task",
            self.inner.claim_activity_task(activity_arn, now)
        )
    }
    async fn wait_for_activity_task(&self, activity_arn: &str, within_ms: u64) {
        self.inner
            .wait_for_activity_task(activity_arn, within_ms)
            .await
    }
}
