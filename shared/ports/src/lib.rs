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

mod clock;
mod notify;
mod records;

pub use clock::{Clock, SimulatedClock, SystemClock};
pub use flowstate_engine::{TaskInvocation, TaskResult};
pub use notify::{Notifier, NotifyFuture, StatusChange, DETAIL_TYPE, SOURCE};
pub use records::*;

use flowstate_engine::history::HistoryEvent;
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
/// Sizes: a step may change many frames at once (a Map state starting
/// 10,000 iterations creates 10,000 frame records). Backends with a limit
/// on one transaction (DynamoDB's `TransactWriteItems`, 100 items) write
/// the frames, history events and outbox entries first under deterministic
/// keys, then the execution header conditioned on the version: the
/// header's counters (`last_event_id`, frame ids) decide what is visible,
/// so records written by a step that lost the race are overwritten by the
/// winner's identical keys or ignored.
pub trait Store: Send + Sync + 'static {
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

    /// Deletes a state machine; returns whether it existed.
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

    /// Outbox entries not yet performed, created at or before
    /// `created_before` (epoch ms), oldest first.
    fn pending_outbox(
        &self,
        created_before: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send;
}

/// A queue of small messages with due times.
///
/// Delivery is at least once: a received message stays invisible for the
/// visibility timeout, then comes back unless it was acked. A message sent
/// twice with the same id is kept once (the outbox relies on this when it
/// performs an effect again). A backend whose delays are bounded (SQS:
/// 900 s) sends a long timer with the longest delay it has and the due time
/// in the body, and re-sends it on receipt until it is due: callers only
/// ever see messages that are due.
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

    /// Deletes a received message for good.
    fn ack(&self, receipt: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The earliest time a message becomes visible, if any (lets a worker
    /// sleep, and simulated time jump, to it). `None` when the queue is empty.
    fn next_due(&self) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Makes every in-flight message visible again. A single-process
    /// backend calls this at start: nothing can be in flight then.
    fn release_all(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
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
