//! The execution value and what flows in and out of [`crate::advance`].
//!
//! An [`Execution`] is plain data (serde-serialisable) so that any store can
//! keep it: its frames (the root, each Parallel branch, each Map iteration),
//! what each frame waits for, and the counters that give history events
//! their ids. [`Event`]s go in; a [`Step`] of history events and
//! [`Effect`]s comes out. A Task state's [`Effect::InvokeTask`] carries a
//! [`TaskInvocation`]; whoever performs it reports a [`TaskResult`], which
//! [`TaskResult::into_event`] turns back into the [`Event`] that answers it.

use crate::history::HistoryEvent;
pub use crate::limits::Limits;
use flowstate_asl::definition::{BlockId, StateId};
use flowstate_asl::errors::Failure;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type FrameId = u64;

/// The root frame's id.
pub const ROOT: FrameId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// Who and what an execution is: fixed at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub region: String,
    /// Milliseconds since the Unix epoch.
    pub start_time: i64,
    pub input: Arc<Value>,
    pub limits: Limits,
    /// Overrides the definition's `TimeoutSeconds` when set.
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub info: ExecutionInfo,
    pub status: Status,
    pub output: Option<Arc<Value>>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_time: Option<i64>,
    pub frames: BTreeMap<FrameId, Frame>,
    pub next_frame_id: FrameId,
    /// Id of the last history event written (ids start at 1).
    pub last_event_id: u64,
    /// States entered so far (billed transitions).
    pub transitions: u64,
    /// Bumped by every step: the compare-and-set token of durable stores.
    pub version: u64,
    /// How many times RedriveExecution restarted it: the seq of its
    /// current execution timeout.
    #[serde(default)]
    pub redrive_count: u32,
}

/// One thread of control: the root, a Parallel branch or a Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub id: FrameId,
    /// The Parallel/Map frame that waits for this one, and this frame's slot
    /// (branch or iteration index) in its results.
    pub parent: Option<(FrameId, usize)>,
    pub block: BlockId,
    pub state: StateId,
    /// The raw input of the current state.
    pub input: Arc<Value>,
    /// The current state's effective input (Task parameters, Parallel/Map input).
    pub effective: Option<Arc<Value>>,
    pub entered_event_id: u64,
    pub entered_time: i64,
    /// The id of this frame's latest history event (the next one's previousEventId).
    pub last_event_id: u64,
    /// Every variable visible in this frame; a child frame starts with a copy
    /// of its parent's, and its writes stay in it.
    pub variables: Map<String, Value>,
    /// Attempts used per retrier of the current state.
    pub retry_counts: Vec<u32>,
    /// Bumped whenever the frame starts waiting; events carrying another
    /// value are stale and dropped.
    pub seq: u64,
    pub waiting: Waiting,
    /// Iteration frames of a Distributed Map keep their history out of the
    /// execution's (it belongs to the Map Run).
    pub hidden: bool,
    /// A Map frame waiting for its iterations: each iteration's input
    /// (after `ItemSelector`), by index. An iteration's frame is created
    /// when it starts, so a Map over 10,000 items holds its items here,
    /// once, rather than in 10,000 frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_inputs: Option<Arc<Vec<Value>>>,
    /// The execution version of the step that last set `input`,
    /// `effective` or `iteration_inputs` (0: unknown). A store may keep
    /// those large fields apart and rewrite them only when the steps being
    /// committed changed them (`data_rev` above the stored version).
    #[serde(default)]
    pub data_rev: u64,
}

/// What a frame waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Waiting {
    /// Nothing: runnable (only between steps while a step is running).
    Nothing,
    Task(TaskWait),
    /// A Wait state's timer, due at the given time.
    WaitState {
        due: i64,
    },
    /// Retry back-off of the current state.
    Retry {
        due: i64,
    },
    Children(Join),
    /// A Map iteration not started yet (MaxConcurrency). Only in
    /// executions stored before iteration frames were created as they
    /// start; such frames are started as before.
    NotStarted,
    /// A finished branch or iteration, holding its result until the join.
    Done(Arc<Value>),
    /// About to enter its current state in the next step: the step that
    /// brought it here had entered as many states as one step may
    /// ([`crate::limits::MAX_TRANSITIONS_PER_STEP`]). [`Timer::Continue`]
    /// resumes every frame waiting so.
    Continue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskWait {
    pub resource: String,
    pub resource_type: String,
    pub lambda_legacy: bool,
    pub token: Option<String>,
    pub timeout_at: Option<i64>,
    pub heartbeat_seconds: Option<u64>,
    pub heartbeat_deadline: Option<i64>,
    /// An activity task a worker has taken (`ActivityStarted` recorded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub activity_started: bool,
}

/// A Parallel or Map state waiting for its frames. Its children have the
/// consecutive ids `first_child .. first_child + total` (a Map's are
/// reserved when it starts and created as each iteration starts) and keep
/// their own input and, once done, their result: the parent holds only
/// counters, so finishing one of 10,000 iterations rewrites two small
/// records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Join {
    pub map: bool,
    pub distributed: bool,
    pub first_child: FrameId,
    pub total: usize,
    pub next_to_start: usize,
    pub running: usize,
    pub completed: usize,
    /// 0 means no limit.
    pub max_concurrency: usize,
    pub failures: usize,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
}

/// What happened, fed to [`crate::advance`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Start,
    TaskSucceeded {
        frame: FrameId,
        seq: u64,
        output: Value,
    },
    TaskFailed {
        frame: FrameId,
        seq: u64,
        error: String,
        cause: Option<String>,
    },
    TaskHeartbeat {
        frame: FrameId,
        seq: u64,
    },
    /// A worker took the activity task of the frame (GetActivityTask).
    ActivityStarted {
        frame: FrameId,
        seq: u64,
        worker_name: Option<String>,
    },
    TimerFired {
        frame: FrameId,
        seq: u64,
        timer: Timer,
    },
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// Advancing the execution failed inside the engine — a panic the
    /// shell caught, i.e. a bug — so it fails with `States.Runtime` and
    /// this cause rather than stay running and fail the same way again.
    InternalError {
        cause: String,
    },
}

/// Which timer fired. The order is only there so that timers can sit in
/// ordered collections (a timer heap sorts by due time first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    WaitState,
    Retry,
    TaskTimeout,
    Heartbeat,
    ExecutionTimeout,
    /// Resumes the frames a step left [`Waiting::Continue`]. Scheduled for
    /// the root frame (seq 0) at the step's own time: it is due at once.
    Continue,
}

/// What a step asks the world to do, after the step is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    InvokeTask {
        frame: FrameId,
        seq: u64,
        invocation: TaskInvocation,
    },
    ScheduleTimer {
        frame: FrameId,
        seq: u64,
        timer: Timer,
        at: i64,
    },
    /// The execution ended with this status (notifications, waiting callers).
    Finished { status: Status },
}

/// One Task state's request to the world, after data flow (the `Parameters`
/// or `Arguments` already evaluated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInvocation {
    /// The state's `Resource`, e.g. `arn:aws:lambda:us-east-1:123456789012:function:charge`
    /// or `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    pub resource: String,
    /// The evaluated payload.
    pub parameters: Value,
    /// Set for `.waitForTaskToken` resources and activities.
    pub task_token: Option<String>,
    pub state_name: String,
    pub execution_arn: String,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
}

/// What became of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResult {
    /// The task's result, shaped as Step Functions shows it to the state (for
    /// `lambda:invoke`, the `{"Payload": ..., "StatusCode": 200, ...}` wrapper).
    Succeeded(Value),
    Failed(Failure),
    /// `.waitForTaskToken`: the call was made; the result comes later via the token.
    AwaitingCallback,
}

impl TaskResult {
    /// The event that answers `task`, invoked for `frame` at `seq`; `None`
    /// while the answer is still to come through a callback.
    ///
    /// A result over Step Functions' 256 KiB, or nested deeper than the
    /// engine keeps ([`crate::limits::MAX_DEPTH`]), fails the task with
    /// `States.DataLimitExceeded` here, before any shell queues or stores it.
    pub fn into_event(self, frame: FrameId, seq: u64, task: &TaskInvocation) -> Option<Event> {
        match self {
            TaskResult::Succeeded(output) => Some(match crate::limits::check_result(&output) {
                Ok(()) => Event::TaskSucceeded { frame, seq, output },
                Err(problem) => Event::TaskFailed {
                    frame,
                    seq,
                    error: flowstate_asl::errors::StatesError::DataLimitExceeded
                        .name()
                        .into(),
                    cause: Some(problem.cause(&task.state_name)),
                },
            }),
            TaskResult::Failed(f) => Some(Event::TaskFailed {
                frame,
                seq,
                error: f.error,
                cause: f.cause,
            }),
            TaskResult::AwaitingCallback => None,
        }
    }
}

/// The result of one [`crate::advance`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub history: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
    /// Frames created or modified by this step (present in the execution).
    pub frames_changed: Vec<FrameId>,
    /// Frames this step removed.
    pub frames_removed: Vec<FrameId>,
}

impl Step {
    /// Steps of one execution, applied one after the other, as one step:
    /// their history and effects in order, and every frame they touched —
    /// changed if `exec` (the execution after the last of them) still has
    /// it, removed if not. What a shell commits when it applies several
    /// events before one commit.
    pub fn merge(steps: impl IntoIterator<Item = Step>, exec: &Execution) -> Step {
        let mut all = Step::default();
        let mut touched = std::collections::BTreeSet::new();
        for step in steps {
            all.history.extend(step.history);
            all.effects.extend(step.effects);
            touched.extend(step.frames_changed);
            touched.extend(step.frames_removed);
        }
        for id in touched {
            if exec.frames.contains_key(&id) {
                all.frames_changed.push(id);
            } else {
                all.frames_removed.push(id);
            }
        }
        all
    }
}

/// Broken invariants and events that no longer apply. Business failures
/// (a task error, a caught error) are never engine errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("the execution has already ended ({0})")]
    Ended(&'static str),
    #[error("the execution has already started")]
    AlreadyStarted,
    #[error("stale event for frame {frame}: it no longer waits for this (seq {seq})")]
    Stale { frame: FrameId, seq: u64 },
    #[error("the definition does not match the execution: {0}")]
    Corrupt(String),
}

impl Execution {
    /// A new, not yet started execution. Feed it [`Event::Start`].
    pub fn new(info: ExecutionInfo) -> Execution {
        Execution::from_parts(info, [])
    }

    /// A running execution made of these frames, as if earlier steps had
    /// put it there: new frame ids and history event ids continue after
    /// the highest ones the frames hold. For tests that start `advance`
    /// from a given state rather than from [`Event::Start`].
    pub fn from_parts(info: ExecutionInfo, frames: impl IntoIterator<Item = Frame>) -> Execution {
        let frames: BTreeMap<FrameId, Frame> = frames.into_iter().map(|f| (f.id, f)).collect();
        let next_frame_id = frames.keys().next_back().map_or(0, |id| id + 1);
        let last_event_id = frames.values().map(|f| f.last_event_id).max().unwrap_or(0);
        Execution {
            info,
            status: Status::Running,
            output: None,
            error: None,
            cause: None,
            stop_time: None,
            frames,
            next_frame_id,
            last_event_id,
            transitions: 0,
            version: 0,
            redrive_count: 0,
        }
    }
}

impl Frame {
    /// A frame about to enter `state` with `input`: no parent, no
    /// variables, no history yet, waiting for nothing.
    pub fn new(id: FrameId, block: BlockId, state: StateId, input: Arc<Value>) -> Frame {
        Frame {
            id,
            parent: None,
            block,
            state,
            input,
            effective: None,
            entered_event_id: 0,
            entered_time: 0,
            last_event_id: 0,
            variables: Map::new(),
            retry_counts: Vec::new(),
            seq: 0,
            waiting: Waiting::Nothing,
            hidden: false,
            iteration_inputs: None,
            data_rev: 0,
        }
    }
}
