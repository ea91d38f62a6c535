//! Nested executions: a Task whose resource is
//! `arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]`
//! starts an execution of this same Flowstate (state machine ARNs name
//! Flowstate's own state machines), so the runtime performs it rather than
//! the invoker. With `.sync`/`.sync:2` the child records its parent's task
//! ([`ParentTask`]) and answers it when it ends (see `finished.rs`).

use crate::{Service, ServiceError, StartExecution};
use flowstate_asl::errors::Failure;
use flowstate_engine::integration::{IntegrationPattern, TaskResource};
use flowstate_engine::FrameId;
use flowstate_ports::{
    Clock, ExecutionRecord, Invoker, ParentTask, Queue, Store, TaskInvocation, TaskResult,
};
use serde_json::{json, Value};

/// Whether `resource` is a nested `states:startExecution` (any pattern).
pub(crate) fn nested_pattern(resource: &str) -> Option<IntegrationPattern> {
    match TaskResource::parse(resource).ok()? {
        TaskResource::Service(s) if s.service == "states" && s.action == "startExecution" => {
            Some(s.pattern)
        }
        _ => None,
    }
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// Starts the child execution a Task asks for. `invocation_id` is the
    /// outbox entry's id: a child without a `Name` is named after it, so a
    /// repeated invocation (after a crash) finds the child it started
    /// before instead of starting a second one.
    pub(crate) async fn start_child(
        &self,
        invocation_id: &str,
        frame: FrameId,
        seq: u64,
        pattern: IntegrationPattern,
        task: &TaskInvocation,
    ) -> Result<TaskResult, ServiceError> {
        let params = &task.parameters;
        let Some(state_machine_arn) = params.get("StateMachineArn").and_then(Value::as_str) else {
            return Ok(failed(
                "StepFunctions.ValidationException",
                "The parameter 'StateMachineArn' of states:startExecution is missing or not a string.",
            ));
        };
        let input = match params.get("Input") {
            None | Some(Value::Null) => None,
            // A string is the input's JSON text, as the API takes it.
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => Some(other.to_string()),
        };
        let (name, named_by_us) = match params.get("Name") {
            Some(Value::String(n)) => (n.clone(), false),
            None | Some(Value::Null) => (derived_name(invocation_id), true),
            Some(_) => {
                return Ok(failed(
                    "StepFunctions.ValidationException",
                    "The parameter 'Name' of states:startExecution must be a string.",
                ))
            }
        };
        let parent = matches!(
            pattern,
            IntegrationPattern::Sync | IntegrationPattern::Sync2
        )
        .then(|| ParentTask {
            execution_arn: task.execution_arn.clone(),
            frame,
            seq,
            json_output: pattern == IntegrationPattern::Sync2,
        });
        let request = StartExecution {
            state_machine_arn: state_machine_arn.to_string(),
            name: Some(name.clone()),
            input,
            parent,
            trace_header: None,
        };
        let started = match self.start_execution(request).await {
            Ok(started) => started,
            Err(ServiceError::ExecutionAlreadyExists(arn)) if named_by_us => {
                // This invocation started it before and it has ended since:
                // its end already answered a `.sync` parent.
                let d = self.describe_execution(&arn).await?;
                crate::StartedExecution {
                    execution_arn: d.execution_arn,
                    start_date: d.start_date,
                }
            }
            Err(e @ ServiceError::Internal(_)) => return Err(e),
            Err(e) => {
                return Ok(failed(
                    &format!("StepFunctions.{}Exception", e.code()),
                    &e.to_string(),
                ))
            }
        };
        Ok(match pattern {
            IntegrationPattern::RequestResponse => TaskResult::Succeeded(json!({
                "ExecutionArn": started.execution_arn,
                "StartDate": started.start_date,
            })),
            // `.sync`: answered by the child's end; `.waitForTaskToken`:
            // by whoever gets the token (the child, usually).
            _ => TaskResult::AwaitingCallback,
        })
    }
}

fn failed(error: &str, cause: &str) -> TaskResult {
    TaskResult::Failed(Failure::new(error, cause))
}

/// A UUID-shaped name derived from the invocation id (stable across
/// repeats of the same invocation).
fn derived_name(invocation_id: &str) -> String {
    use sha2::{Digest, Sha256};
    // A hash that never changes between builds (std's hasher may): a
    // repeat may run in a newer deployment of the stepper.
    let digest = Sha256::digest(invocation_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes).to_string()
}

/// What a `.sync` parent sees of its ended child: DescribeExecution's
/// shape, with input and output as JSON text (`.sync`) or values
/// (`.sync:2`). Dates are epoch milliseconds.
pub(crate) fn child_outcome(rec: &ExecutionRecord, json_output: bool) -> Value {
    let e = &rec.execution;
    let data = |v: &Value| {
        if json_output {
            v.clone()
        } else {
            Value::String(v.to_string())
        }
    };
    let mut out = json!({
        "ExecutionArn": e.info.arn,
        "Input": data(&e.info.input),
        "InputDetails": {"Included": true},
        "Name": e.info.name,
        "StartDate": e.info.start_time,
        "StateMachineArn": e.info.state_machine_arn,
        "Status": e.status.as_str(),
        "StopDate": e.stop_time,
    });
    if let Some(output) = &e.output {
        out["Output"] = data(output);
        out["OutputDetails"] = json!({"Included": true});
    }
    if let Some(error) = &e.error {
        out["Error"] = json!(error);
    }
    if let Some(cause) = &e.cause {
        out["Cause"] = json!(cause);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_are_stable_valid_and_distinct() {
        let a = derived_name("arn#3#0");
        assert_eq!(a, derived_name("arn#3#0"));
        assert_ne!(a, derived_name("arn#3#1"));
        assert_eq!(a.len(), 36);
        crate::names::check_name(&a).expect("a valid execution name");
    }

    #[test]
    fn only_states_start_execution_is_nested() {
        assert_eq!(
            nested_pattern("arn:aws:states:::states:startExecution.sync:2"),
            Some(IntegrationPattern::Sync2)
        );
        assert_eq!(
            nested_pattern("arn:aws:states:::states:startExecution"),
            Some(IntegrationPattern::RequestResponse)
        );
        assert_eq!(nested_pattern("arn:aws:states:::sqs:sendMessage"), None);
        assert_eq!(nested_pattern("arn:aws:states:::lambda:invoke"), None);
    }
}
