//! The in-memory driver: runs one execution to its end, performing effects
//! through a [`TaskHandler`] and a simulated or real clock.

use flowstate_asl::errors::Failure;
use serde_json::Value;

/// One Task state's request to the world, after data flow (the `Parameters` or
/// `Arguments` already evaluated).
#[derive(Debug, Clone)]
pub struct TaskInvocation {
    /// The state's `Resource`, e.g. `arn:aws:lambda:us-east-1:123456789012:function:charge`
    /// or `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    pub resource: String,
    /// The evaluated payload.
    pub parameters: Value,
    /// Set for `.waitForTaskToken` resources.
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

/// Performs Task invocations for the in-memory driver.
pub trait TaskHandler {
    fn invoke(&mut self, task: &TaskInvocation) -> TaskResult;
}
