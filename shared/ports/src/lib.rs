//! The ports of Flowstate's durable runtime.
//!
//! The runtime (`flowstate-runtime`) drives the sans-IO engine through four
//! small traits, each implemented by every backend (the embedded SQLite one
//! in `flowstate-embedded`, DynamoDB + SQS + Lambda on AWS):
//!
//! - [`Store`]: state machines and their revisions, executions (a header
//!   record plus one record per frame), history events, and an outbox of
//!   effects. A step is one atomic [`Store::commit_step`], conditioned on the
//!   execution's version (compare-and-set).
//!   Every `Store` is also an [`ActivityStore`]: activities, and the tasks
//!   of activity Task states waiting for a worker's GetActivityTask.
//! - [`Queue`]: small messages naming an execution and an event, each with a
//!   due time (timers). At-least-once delivery, explicit ack, deduplication
//!   by message id.
//! - [`Invoker`]: performs a Task state's invocation and reports a
//!   [`TaskResult`].
//! - [`Clock`]: now, and a way to wait until a time (real or simulated).
//!
//! Traits use `impl Future + Send` returns so that the runtime is generic
//! over them (no `dyn` on the hot path) and its futures can be spawned.
//!
//! ```
//! use flowstate_ports::{Clock, SimulatedClock};
//! let clock = SimulatedClock::new(1_000);
//! clock.advance_to(5_000);
//! assert_eq!(clock.now(), 5_000);
//! ```

mod activities;
mod clock;
mod notify;
mod records;
mod versions;

pub use activities::{ActivityRecord, ActivityStore, ActivityTask};
pub use clock::{offset_ms_in, Clock, SimulatedClock, SystemClock, TEST_CLOCK_FILE_ENV};
pub use flowstate_engine::{TaskInvocation, TaskResult};
pub use notify::{Notifier, NotifyFuture, StatusChange, DETAIL_TYPE, SOURCE};
pub use records::*;
pub use versions::*;

use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Frame, FrameId};
use std::collections::BTreeMap;
use std::future::Future;

/// What can go wrong in a backend. The runtime maps these to the API's
/// error codes; `Backend` is an infrastructure failure (retried later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The execution's version is not the expected one: someone else
    /// committed a step first. Reload and retry.
    #[error("the record was changed concurrently (version conflict)")]
    Conflict,
    #[error("'{0}' already exists")]
    AlreadyExists(String),
    #[error("'{0}' does not exist")]
    NotFound(String),
    /// A pagination token this backend did not issue.
    #[error("invalid pagination token")]
    InvalidToken,
    #[error("storage backend failure: {0}")]
    Backend(String),
}

/// Durable records. Every method is atomic on its own.
///
/// Sizes: a step may change many frames at once (a Parallel starting its
/// branches, a step ending 10,000 Map iterations). Backends with a limit
/// on one transaction (DynamoDB's `TransactWriteItems`, 100 items) write
/// what does not fit first, under keys no other writer uses, and then the
/// execution header conditioned on the version: only the header that
/// commits makes them visible. What a step that lost the race wrote ahead
/// never becomes visible and never overwrites what the winner wrote —
/// frames, history events and outbox entries alike ([`Store::claim_outbox`]
/// refuses a loser's entries). A step of any size commits.
///
/// Outbox entries are claimed before they are performed ([`Claim`]): an
/// entry is written claimed by whoever commits its step, and anyone else
/// may take it only once that claim has lapsed.
pub trait Store: ActivityStore + Send + Sync + 'static {
    /// Creates a state machine; `AlreadyExists` if its ARN is taken.
    /// The record's revision is stored too (see [`Store::get_revision`]).
    fn create_state_machine(
        &self,
        sm: &StateMachineRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces a state machine with a new revision; `NotFound` if absent.
    fn update_state_machine(
        &self,
        sm: &StateMachineRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The current revision of a state machine.
    fn get_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<StateMachineRecord>, StoreError>> + Send;

    /// One revision, kept as long as executions may refer to it (also after
    /// the state machine is deleted: running executions go on).
    fn get_revision(
        &self,
        revision_id: &str,
    ) -> impl Future<Output = Result<Option<StateMachineRecord>, StoreError>> + Send;

    /// Deletes a state machine, its versions, its aliases and its tags;
    /// returns whether it existed. Its revisions stay (executions go on).
    fn delete_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// State machines ordered by ARN.
    fn list_state_machines(
        &self,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<StateMachineRecord>, StoreError>> + Send;

    /// Creates an execution and commits its first step in one atomic write,
    /// unless an execution with the same ARN exists: then nothing is written
    /// and the existing one's header is returned (the caller compares inputs,
    /// as StartExecution's idempotency requires).
    fn create_execution(
        &self,
        record: &ExecutionRecord,
        step: &StepWrite<'_>,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    /// Loads an execution; with `frames == false` only the header (enough
    /// to describe it), with an empty `execution.frames`.
    fn load_execution(
        &self,
        arn: &str,
        frames: bool,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send;

    /// Commits one step: the execution header (now at
    /// `record.execution.version`), the changed frames, the removed frames,
    /// the new history events and outbox entries — all or nothing, and only
    /// if the stored version is still `expected_version` (else `Conflict`).
    fn commit_step(
        &self,
        record: &ExecutionRecord,
        expected_version: u64,
        step: &StepWrite<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// History events of an execution in id order (or reverse), starting
    /// after the id `after` (before it, in reverse order).
    fn history(
        &self,
        arn: &str,
        query: &HistoryQuery,
    ) -> impl Future<Output = Result<Vec<HistoryEvent>, StoreError>> + Send;

    /// Executions of one state machine, newest first.
    fn list_executions(
        &self,
        query: &ExecutionQuery,
    ) -> impl Future<Output = Result<Page<ExecutionSummary>, StoreError>> + Send;

    /// Marks outbox entries as performed (deletes them). Unknown ids are ignored.
    fn complete_outbox(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One outbox entry by id, if it was not performed (deleted) yet.
    fn outbox_entry(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<OutboxEntry>, StoreError>> + Send;

    /// Outbox entries not yet performed whose claim lapsed at or before
    /// `lapsed_by` (epoch ms), oldest first: the candidates of a sweep.
    fn pending_outbox(
        &self,
        lapsed_by: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send;

    /// Claims outbox entry `id`: if it exists and its claim has lapsed at
    /// `now`, or is held by `holder`, sets its claim to `claim` and
    /// returns it (with the new claim); otherwise changes nothing and
    /// returns `None`. Of several claims at once, at most one succeeds.
    /// An entry written ahead by a step that did not commit is never
    /// returned.
    fn claim_outbox(
        &self,
        id: &str,
        holder: Option<&str>,
        now: i64,
        claim: &Claim,
    ) -> impl Future<Output = Result<Option<OutboxEntry>, StoreError>> + Send;

    /// Publishes a version of `version.state_machine_arn`: numbers it one
    /// more than the highest number the state machine ever had (its
    /// `number` and `arn` are set here) and stores it. `NotFound` when the
    /// state machine does not exist.
    fn create_version(
        &self,
        version: &VersionRecord,
    ) -> impl Future<Output = Result<VersionRecord, StoreError>> + Send;

    /// A version by its ARN.
    fn get_version(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<VersionRecord>, StoreError>> + Send;

    /// The versions of a state machine, newest (highest number) first.
    fn list_versions(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<VersionRecord>, StoreError>> + Send;

    /// Deletes a version; returns whether it existed. Its number is not
    /// used again.
    fn delete_version(&self, arn: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Creates an alias; `AlreadyExists` if its ARN is taken.
    fn create_alias(
        &self,
        alias: &AliasRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces an alias; `NotFound` if absent.
    fn update_alias(
        &self,
        alias: &AliasRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_alias(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<AliasRecord>, StoreError>> + Send;

    /// The aliases of a state machine, ordered by name.
    fn list_aliases(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<AliasRecord>, StoreError>> + Send;

    /// Deletes an alias; returns whether it existed.
    fn delete_alias(&self, arn: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets the tags `set` and removes the keys `remove` of any resource,
    /// by its ARN, in one write.
    fn update_tags(
        &self,
        resource_arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tags of a resource (none for one never tagged).
    fn list_tags(
        &self,
        resource_arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, StoreError>> + Send;

    /// One frame of a running execution as last committed, without its
    /// data (`input` is null, `effective` and `iteration_inputs` are
    /// `None`): enough to tell what it waits for. `None` when the
    /// execution does not exist or has ended, or has no such frame.
    fn load_frame(
        &self,
        arn: &str,
        frame: FrameId,
    ) -> impl Future<Output = Result<Option<Frame>, StoreError>> + Send;
}

/// A queue of small messages with due times.
///
/// Delivery is at least once: a received message stays invisible for the
/// visibility timeout, then comes back unless it was acked. A message sent
/// twice with the same id is kept once (the outbox relies on this when it
/// performs an effect again). Callers only ever see messages that are due.
///
/// Long timers: a backend whose delays are bounded (SQS: 900 s) may keep a
/// message due beyond them elsewhere (the AWS backend: in its table) until
/// [`Queue::sweep_timers`] moves it into the queue; the runtime sweeps
/// every minute, and a message sent by this handle is delivered when due
/// without waiting for that minute. A timer delivered twice is harmless:
/// the runtime drops events that no longer apply.
pub trait Queue: Send + Sync + 'static {
    /// Enqueues `message` to become visible at `due` (epoch ms).
    fn send(&self, message: &QueueMessage) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `max` messages due at `now`, oldest due first; each becomes
    /// invisible until `now + visibility_ms`.
    fn receive(
        &self,
        now: i64,
        max: usize,
        visibility_ms: i64,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;

    /// Enqueues several messages (a backend that can send them in fewer
    /// calls does).
    fn send_batch(
        &self,
        messages: &[QueueMessage],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for m in messages {
                self.send(m).await?;
            }
            Ok(())
        }
    }

    /// Deletes a received message for good.
    fn ack(&self, receipt: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A received message whose processing failed comes back `delay_ms`
    /// after `now` (the caller's time) instead of when its visibility
    /// timeout runs out: a retry after a back-off of the caller's choosing.
    fn retry(
        &self,
        receipt: &str,
        now: i64,
        delay_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The earliest time a message becomes visible, if any (lets a worker
    /// sleep, and simulated time jump, to it). `None` when the queue is empty.
    fn next_due(&self) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Makes every in-flight message visible again. A single-process
    /// backend calls this at start: nothing can be in flight then.
    fn release_all(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves long timers that will be due soon after `now` (the caller's
    /// time) into the queue, so that they are delivered when due; how many
    /// it moved. Idempotent; a sweep that fails part-way is finished by the
    /// next one. Nothing to do for a backend without a bound on delays.
    fn sweep_timers(&self, now: i64) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let _ = now;
        std::future::ready(Ok(0))
    }
}

/// Performs Task states.
pub trait Invoker: Send + Sync + 'static {
    /// Calls the task. `AwaitingCallback` for `.waitForTaskToken`
    /// resources once the call was made. The call may be repeated after a
    /// crash: `context.invocation_id` is stable across repeats, for
    /// idempotency keys.
    fn invoke(
        &self,
        context: &InvokeContext,
        task: &TaskInvocation,
    ) -> impl Future<Output = TaskResult> + Send;
}
