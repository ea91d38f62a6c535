//! The records the ports carry.

use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{Effect, Event, Execution, ExecutionInfo, Frame, FrameId, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// STANDARD (durable, exactly-once transitions) or EXPRESS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowType {
    Standard,
    Express,
}

impl WorkflowType {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowType::Standard => "STANDARD",
            WorkflowType::Express => "EXPRESS",
        }
    }
    /// Parses `STANDARD`/`EXPRESS` (as the API spells them).
    pub fn parse(s: &str) -> Option<WorkflowType> {
        match s {
            "STANDARD" => Some(WorkflowType::Standard),
            "EXPRESS" => Some(WorkflowType::Express),
            _ => None,
        }
    }
}

/// One revision of a state machine. `update_state_machine` stores a new
/// revision; executions keep the `revision_id` they started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachineRecord {
    pub arn: String,
    pub name: String,
    /// The definition text exactly as given (JSON or YAML).
    pub definition: String,
    pub role_arn: String,
    pub kind: WorkflowType,
    /// Epoch ms.
    pub creation_date: i64,
    /// Epoch ms of this revision.
    pub update_date: i64,
    /// Unique id of this revision.
    pub revision_id: String,
    pub description: Option<String>,
    /// Logging, tracing and encryption settings, kept as given.
    #[serde(default)]
    pub configuration: MachineConfiguration,
}

/// The `loggingConfiguration`, `tracingConfiguration` and
/// `encryptionConfiguration` of a state machine revision, as the API gave
/// them (JSON); `None` when never given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<serde_json::Value>,
}

/// What the runtime keeps about an execution beyond the engine's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionMeta {
    /// The state machine revision the execution runs.
    pub revision_id: String,
    pub kind: WorkflowType,
    /// The `#TestCase` suffix of the state machine ARN it was started with
    /// (Step Functions Local's mocked-integration convention).
    pub test_case: Option<String>,
    /// Set when a parent execution started this one with
    /// `states:startExecution.sync` (or `.sync:2`): the parent's task is
    /// answered when this execution ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentTask>,
    /// The version that runs it, when started on a version or alias ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    /// The alias it was started on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    /// StartExecution's `traceHeader`, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    /// Epoch ms of the latest RedriveExecution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<i64>,
    /// The `clientToken`s of the latest redrives (at most
    /// [`REDRIVE_TOKENS_KEPT`]): the same token again is answered as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redrive_tokens: Vec<String>,
}

/// How many redrive client tokens an execution remembers (AWS: the last 10).
pub const REDRIVE_TOKENS_KEPT: usize = 10;

/// The Task of a parent execution that waits for a child execution
/// (`arn:aws:states:::states:startExecution.sync[:2]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentTask {
    pub execution_arn: String,
    pub frame: FrameId,
    /// The task's sequence number in that frame (stale answers are dropped).
    pub seq: u64,
    /// `.sync:2`: the child's input and output are shown as JSON values
    /// rather than JSON text.
    pub json_output: bool,
}

/// An execution as stored: the engine's value plus [`ExecutionMeta`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub execution: Execution,
    pub meta: ExecutionMeta,
}

/// The execution header: everything but the frames, which stores keep in
/// records of their own so a step rewrites only the frames it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionHeader {
    pub info: ExecutionInfo,
    pub status: Status,
    pub output: Option<Arc<serde_json::Value>>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_time: Option<i64>,
    pub next_frame_id: FrameId,
    pub last_event_id: u64,
    pub transitions: u64,
    pub version: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrive_count: u32,
    pub meta: ExecutionMeta,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ExecutionHeader {
    pub fn of(record: &ExecutionRecord) -> ExecutionHeader {
        let e = &record.execution;
        ExecutionHeader {
            info: e.info.clone(),
            status: e.status,
            output: e.output.clone(),
            error: e.error.clone(),
            cause: e.cause.clone(),
            stop_time: e.stop_time,
            next_frame_id: e.next_frame_id,
            last_event_id: e.last_event_id,
            transitions: e.transitions,
            version: e.version,
            redrive_count: e.redrive_count,
            meta: record.meta.clone(),
        }
    }

    /// Reassembles the record with its frames.
    pub fn into_record(self, frames: BTreeMap<FrameId, Frame>) -> ExecutionRecord {
        let mut execution = Execution::new(self.info);
        execution.status = self.status;
        execution.output = self.output;
        execution.error = self.error;
        execution.cause = self.cause;
        execution.stop_time = self.stop_time;
        execution.frames = frames;
        execution.next_frame_id = self.next_frame_id;
        execution.last_event_id = self.last_event_id;
        execution.transitions = self.transitions;
        execution.version = self.version;
        execution.redrive_count = self.redrive_count;
        ExecutionRecord {
            execution,
            meta: self.meta,
        }
    }
}

/// A frame's large fields, which stores keep apart from its small state
/// and rewrite only when a step changed them (`Frame::data_rev`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameData {
    pub input: Arc<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<Arc<serde_json::Value>>,
    /// The effective input is the input itself (no InputPath, Parameters
    /// or ItemsPath changed it): stored once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub effective_is_input: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_inputs: Option<Arc<Vec<serde_json::Value>>>,
}

impl FrameData {
    /// The data of `frame` (sharing its values).
    pub fn of(frame: &Frame) -> FrameData {
        let same = frame
            .effective
            .as_ref()
            .is_some_and(|e| Arc::ptr_eq(e, &frame.input));
        FrameData {
            input: frame.input.clone(),
            effective: if same { None } else { frame.effective.clone() },
            effective_is_input: same,
            iteration_inputs: frame.iteration_inputs.clone(),
        }
    }

    /// `frame` without its data: what stores rewrite on every change.
    pub fn strip(frame: &Frame) -> Frame {
        Frame {
            input: null(),
            effective: None,
            iteration_inputs: None,
            ..frame.clone()
        }
    }

    /// Puts the data back into a frame read without it.
    pub fn restore(self, frame: &mut Frame) {
        frame.effective = if self.effective_is_input {
            Some(self.input.clone())
        } else {
            self.effective
        };
        frame.input = self.input;
        frame.iteration_inputs = self.iteration_inputs;
    }
}

/// JSON `null`, shared.
pub fn null() -> Arc<serde_json::Value> {
    static NULL: std::sync::OnceLock<Arc<serde_json::Value>> = std::sync::OnceLock::new();
    NULL.get_or_init(|| Arc::new(serde_json::Value::Null))
        .clone()
}

/// What one step writes besides the header.
#[derive(Debug, Clone, Copy)]
pub struct StepWrite<'a> {
    /// Frames to write (taken from the record's `execution.frames`).
    pub frames_changed: &'a [FrameId],
    pub frames_removed: &'a [FrameId],
    pub history: &'a [HistoryEvent],
    pub outbox: &'a [OutboxEntry],
}

/// Result of [`crate::Store::create_execution`].
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New,
    /// An execution with this ARN already exists (header only).
    Existing(Box<ExecutionRecord>),
}

/// An effect committed with its step, performed after the commit and then
/// deleted. Its id is unique (`{execution arn}#{version}#{index}.{salt}`,
/// the salt differing between attempts to commit one version) and fixed
/// once committed, so performing it again sends the same queue message id
/// and the same invocation id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: String,
    pub execution_arn: String,
    /// Epoch ms of the commit.
    pub created: i64,
    pub effect: Effect,
    /// The `#TestCase` of the execution, for the invoker.
    pub test_case: Option<String>,
    /// Who may perform it until when; see [`crate::Store::claim_outbox`].
    #[serde(default)]
    pub claim: Claim,
}

/// Who performs an outbox entry, and until when no one else may: an effect
/// is performed at most once per claim. A claim that lapsed (its holder
/// died, or is slower than the claim is long) may be taken by anyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// A process (its runtime service's id), or [`Claim::QUEUED`] for an
    /// entry handed to a queue message (`MessageBody::Perform`), which the
    /// process that receives the message claims.
    pub owner: String,
    /// Epoch ms at which the claim lapses.
    pub until: i64,
}

impl Claim {
    /// The owner of entries handed to a `Perform` message.
    pub const QUEUED: &'static str = "queued";
}

/// A page of results and the token of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (the caller bounds it, e.g. 1..=1000).
    pub max_results: usize,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Events after this id (before it when `reverse`); `None`: from the start (end).
    pub after: Option<u64>,
    pub limit: usize,
    pub reverse: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    pub state_machine_arn: String,
    /// Only the executions started on this version or alias ARN (or run by
    /// this version, when started on an alias).
    pub qualified_arn: Option<String>,
    pub status: Option<Status>,
    pub page: PageRequest,
}

/// A line of ListExecutions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: Status,
    pub start_date: i64,
    pub stop_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
}

/// What a queue message asks for. Messages carry ids and the event, never
/// the execution: the worker loads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MessageBody {
    /// Feed this event to the execution.
    Event(Event),
    /// Perform this outbox entry (a Task invocation deferred to a worker,
    /// see `Config::defer_tasks` in the runtime), then feed its result to
    /// the execution. Carries the entry's id, never its payload.
    Perform { outbox_id: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueMessage {
    /// Deduplication id: a second send with the same id is dropped while
    /// the first is queued.
    pub id: String,
    pub execution_arn: String,
    /// Epoch ms at which the message becomes visible.
    pub due: i64,
    pub body: MessageBody,
}

/// A received message.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Pass to [`crate::Queue::ack`].
    pub receipt: String,
    pub message: QueueMessage,
    /// How many times it was received, this one included.
    pub attempts: u32,
}

/// Who asks for a task, for the invoker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeContext {
    pub execution_arn: String,
    /// Stable across repeats of the same invocation (the outbox entry id).
    pub invocation_id: String,
    pub test_case: Option<String>,
}
