//! History events: what Step Functions' `GetExecutionHistory` shows.
//!
//! Details keep payloads as shared values, not strings: serialising a 50 KB
//! document twice per transition would cost more than the transition. They
//! are rendered to Step Functions' JSON shape only when someone reads them
//! ([`HistoryEvent::to_aws_json`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub details: Details,
}

/// The event type and its details. The variant and the state type together
/// give the event type name (`PassStateEntered`, `TaskFailed`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Details {
    ExecutionStarted {
        input: Arc<Value>,
        role_arn: String,
        state_machine_arn: String,
    },
    ExecutionSucceeded {
        output: Arc<Value>,
    },
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    /// RedriveExecution restarted the execution (the n-th time).
    ExecutionRedriven {
        redrive_count: u32,
    },
    StateEntered {
        state_type: StateType,
        name: String,
        input: Arc<Value>,
    },
    StateExited {
        state_type: StateType,
        name: String,
        output: Arc<Value>,
        /// Variables assigned by the state, values as JSON text, as AWS records them.
        assigned_variables: Option<Map<String, Value>>,
    },
    TaskScheduled {
        resource_type: String,
        resource: String,
        region: String,
        parameters: Arc<Value>,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    },
    TaskStarted {
        resource_type: String,
        resource: String,
    },
    TaskSubmitted {
        resource_type: String,
        resource: String,
        output: Arc<Value>,
    },
    TaskSucceeded {
        resource_type: String,
        resource: String,
        output: Arc<Value>,
    },
    TaskFailed {
        resource_type: String,
        resource: String,
        error: Option<String>,
        cause: Option<String>,
    },
    TaskTimedOut {
        resource_type: String,
        resource: String,
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityScheduled {
        resource: String,
        input: Arc<Value>,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    },
    ActivityStarted {
        worker_name: Option<String>,
    },
    ActivitySucceeded {
        output: Arc<Value>,
    },
    ActivityFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionScheduled {
        resource: String,
        input: Arc<Value>,
        timeout_seconds: Option<u64>,
    },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded {
        output: Arc<Value>,
    },
    LambdaFunctionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateStarted {
        length: usize,
    },
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted {
        name: String,
        index: usize,
    },
    MapIterationSucceeded {
        name: String,
        index: usize,
    },
    MapIterationFailed {
        name: String,
        index: usize,
    },
    MapIterationAborted {
        name: String,
        index: usize,
    },
    MapRunStarted {
        map_run_arn: String,
    },
    MapRunSucceeded,
    MapRunFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    EvaluationFailed {
        error: Option<String>,
        cause: Option<String>,
        state: String,
        location: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateType {
    pub fn from_name(s: &str) -> StateType {
        match s {
            "Task" => StateType::Task,
            "Choice" => StateType::Choice,
            "Wait" => StateType::Wait,
            "Succeed" => StateType::Succeed,
            "Fail" => StateType::Fail,
            "Parallel" => StateType::Parallel,
            "Map" => StateType::Map,
            _ => StateType::Pass,
        }
    }
    fn entered(self) -> &'static str {
        match self {
            StateType::Pass => "PassStateEntered",
            StateType::Task => "TaskStateEntered",
            StateType::Choice => "ChoiceStateEntered",
            StateType::Wait => "WaitStateEntered",
            StateType::Succeed => "SucceedStateEntered",
            StateType::Fail => "FailStateEntered",
            StateType::Parallel => "ParallelStateEntered",
            StateType::Map => "MapStateEntered",
        }
    }
    fn exited(self) -> &'static str {
        match self {
            StateType::Pass => "PassStateExited",
            StateType::Task => "TaskStateExited",
            StateType::Choice => "ChoiceStateExited",
            StateType::Wait => "WaitStateExited",
            StateType::Succeed => "SucceedStateExited",
            StateType::Fail => "FailStateExited",
            StateType::Parallel => "ParallelStateExited",
            StateType::Map => "MapStateExited",
        }
    }
}

impl Details {
    /// The Step Functions event type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Details::ExecutionStarted { .. } => "ExecutionStarted",
            Details::ExecutionSucceeded { .. } => "ExecutionSucceeded",
            Details::ExecutionFailed { .. } => "ExecutionFailed",
            Details::ExecutionAborted { .. } => "ExecutionAborted",
            Details::ExecutionTimedOut { .. } => "ExecutionTimedOut",
            Details::ExecutionRedriven { .. } => "ExecutionRedriven",
            Details::StateEntered { state_type, .. } => state_type.entered(),
            Details::StateExited { state_type, .. } => state_type.exited(),
            Details::TaskScheduled { .. } => "TaskScheduled",
            Details::TaskStarted { .. } => "TaskStarted",
            Details::TaskSubmitted { .. } => "TaskSubmitted",
            Details::TaskSucceeded { .. } => "TaskSucceeded",
            Details::TaskFailed { .. } => "TaskFailed",
            Details::TaskTimedOut { .. } => "TaskTimedOut",
            Details::ActivityScheduled { .. } => "ActivityScheduled",
            Details::ActivityStarted { .. } => "ActivityStarted",
            Details::ActivitySucceeded { .. } => "ActivitySucceeded",
            Details::ActivityFailed { .. } => "ActivityFailed",
            Details::ActivityTimedOut { .. } => "ActivityTimedOut",
            Details::LambdaFunctionScheduled { .. } => "LambdaFunctionScheduled",
            Details::LambdaFunctionStarted => "LambdaFunctionStarted",
            Details::LambdaFunctionSucceeded { .. } => "LambdaFunctionSucceeded",
            Details::LambdaFunctionFailed { .. } => "LambdaFunctionFailed",
            Details::LambdaFunctionTimedOut { .. } => "LambdaFunctionTimedOut",
            Details::ParallelStateStarted => "ParallelStateStarted",
            Details::ParallelStateSucceeded => "ParallelStateSucceeded",
            Details::ParallelStateFailed => "ParallelStateFailed",
            Details::ParallelStateAborted => "ParallelStateAborted",
            Details::MapStateStarted { .. } => "MapStateStarted",
            Details::MapStateSucceeded => "MapStateSucceeded",
            Details::MapStateFailed => "MapStateFailed",
            Details::MapStateAborted => "MapStateAborted",
            Details::MapIterationStarted { .. } => "MapIterationStarted",
            Details::MapIterationSucceeded { .. } => "MapIterationSucceeded",
            Details::MapIterationFailed { .. } => "MapIterationFailed",
            Details::MapIterationAborted { .. } => "MapIterationAborted",
            Details::MapRunStarted { .. } => "MapRunStarted",
            Details::MapRunSucceeded => "MapRunSucceeded",
            Details::MapRunFailed { .. } => "MapRunFailed",
            Details::EvaluationFailed { .. } => "EvaluationFailed",
        }
    }
}

fn text(v: &Value) -> Value {
    Value::String(serde_json::to_string(v).unwrap_or_default())
}

fn error_cause(error: &Option<String>, cause: &Option<String>) -> Value {
    let mut m = Map::new();
    if let Some(e) = error {
        m.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = cause {
        m.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(m)
}

/// The `resourceType`/`resource` pair every Task event detail starts with.
fn task_fields(resource_type: &str, resource: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("resourceType".into(), json!(resource_type));
    d.insert("resource".into(), json!(resource));
    d
}

/// Task event details that end in an error and a cause.
fn task_error(
    resource_type: &str,
    resource: &str,
    error: &Option<String>,
    cause: &Option<String>,
) -> Value {
    let mut d = task_fields(resource_type, resource);
    if let Value::Object(ec) = error_cause(error, cause) {
        d.extend(ec);
    }
    Value::Object(d)
}

impl HistoryEvent {
    pub fn type_name(&self) -> &'static str {
        self.details.type_name()
    }

    /// The event as `GetExecutionHistory` returns it (timestamp in epoch
    /// seconds with fractions). `include_data = false` drops inputs and
    /// outputs, as `includeExecutionData: false` does.
    pub fn to_aws_json(&self, include_data: bool) -> Value {
        let mut m = Map::new();
        m.insert("timestamp".into(), json!(self.timestamp as f64 / 1000.0));
        m.insert("type".into(), Value::String(self.type_name().into()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        let data = |v: &Value, key: &str, m: &mut Map<String, Value>| {
            if include_data {
                m.insert(key.into(), text(v));
                m.insert(format!("{key}Details"), json!({"truncated": false}));
            }
        };
        let (key, details) = match &self.details {
            // The service model's ExecutionStartedEventDetails has no
            // stateMachineArn: the execution's own Describe names it.
            Details::ExecutionStarted {
                input, role_arn, ..
            } => {
                let mut d = Map::new();
                data(input, "input", &mut d);
                d.insert("roleArn".into(), json!(role_arn));
                ("executionStartedEventDetails", Value::Object(d))
            }
            Details::ExecutionSucceeded { output } => {
                let mut d = Map::new();
                data(output, "output", &mut d);
                ("executionSucceededEventDetails", Value::Object(d))
            }
            Details::ExecutionFailed { error, cause } => {
                ("executionFailedEventDetails", error_cause(error, cause))
            }
            Details::ExecutionAborted { error, cause } => {
                ("executionAbortedEventDetails", error_cause(error, cause))
            }
            Details::ExecutionTimedOut { error, cause } => {
                ("executionTimedOutEventDetails", error_cause(error, cause))
            }
            Details::ExecutionRedriven { redrive_count } => (
                "executionRedrivenEventDetails",
                json!({ "redriveCount": redrive_count }),
            ),
            Details::StateEntered { name, input, .. } => {
                let mut d = Map::new();
                d.insert("name".into(), json!(name));
                data(input, "input", &mut d);
                ("stateEnteredEventDetails", Value::Object(d))
            }
            Details::StateExited {
                name,
                output,
                assigned_variables,
                ..
            } => {
                let mut d = Map::new();
                d.insert("name".into(), json!(name));
                data(output, "output", &mut d);
                if let Some(vars) = assigned_variables {
                    d.insert("assignedVariables".into(), Value::Object(vars.clone()));
                    d.insert(
                        "assignedVariablesDetails".into(),
                        json!({"truncated": false}),
                    );
                }
                ("stateExitedEventDetails", Value::Object(d))
            }
            Details::TaskScheduled {
                resource_type,
                resource,
                region,
                parameters,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                let mut d = task_fields(resource_type, resource);
                d.insert("region".into(), json!(region));
                d.insert("parameters".into(), text(parameters));
                if let Some(t) = timeout_seconds {
                    d.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat_seconds {
                    d.insert("heartbeatInSeconds".into(), json!(h));
                }
                ("taskScheduledEventDetails", Value::Object(d))
            }
            Details::TaskStarted {
                resource_type,
                resource,
            } => (
                "taskStartedEventDetails",
                Value::Object(task_fields(resource_type, resource)),
            ),
            Details::TaskSubmitted {
                resource_type,
                resource,
                output,
            } => {
                let mut d = task_fields(resource_type, resource);
                data(output, "output", &mut d);
                ("taskSubmittedEventDetails", Value::Object(d))
            }
            Details::TaskSucceeded {
                resource_type,
                resource,
                output,
            } => {
                let mut d = task_fields(resource_type, resource);
                data(output, "output", &mut d);
                ("taskSucceededEventDetails", Value::Object(d))
            }
            Details::TaskFailed {
                resource_type,
                resource,
                error,
                cause,
            } => (
                "taskFailedEventDetails",
                task_error(resource_type, resource, error, cause),
            ),
            Details::TaskTimedOut {
                resource_type,
                resource,
                error,
                cause,
            } => (
                "taskTimedOutEventDetails",
                task_error(resource_type, resource, error, cause),
            ),
            Details::ActivityScheduled {
                resource,
                input,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                let mut d = Map::new();
                d.insert("resource".into(), json!(resource));
                data(input, "input", &mut d);
                if let Some(t) = timeout_seconds {
                    d.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat_seconds {
                    d.insert("heartbeatInSeconds".into(), json!(h));
                }
                ("activityScheduledEventDetails", Value::Object(d))
            }
            Details::ActivityStarted { worker_name } => {
                let mut d = Map::new();
                if let Some(w) = worker_name {
                    d.insert("workerName".into(), json!(w));
                }
                ("activityStartedEventDetails", Value::Object(d))
            }
            Details::ActivitySucceeded { output } => {
                let mut d = Map::new();
                data(output, "output", &mut d);
                ("activitySucceededEventDetails", Value::Object(d))
            }
            Details::ActivityFailed { error, cause } => {
                ("activityFailedEventDetails", error_cause(error, cause))
            }
            Details::ActivityTimedOut { error, cause } => {
                ("activityTimedOutEventDetails", error_cause(error, cause))
            }
            Details::LambdaFunctionScheduled {
                resource,
                input,
                timeout_seconds,
            } => {
                let mut d = Map::new();
                d.insert("resource".into(), json!(resource));
                data(input, "input", &mut d);
                if let Some(t) = timeout_seconds {
                    d.insert("timeoutInSeconds".into(), json!(t));
                }
                ("lambdaFunctionScheduledEventDetails", Value::Object(d))
            }
            Details::LambdaFunctionSucceeded { output } => {
                let mut d = Map::new();
                data(output, "output", &mut d);
                ("lambdaFunctionSucceededEventDetails", Value::Object(d))
            }
            Details::LambdaFunctionFailed { error, cause } => (
                "lambdaFunctionFailedEventDetails",
                error_cause(error, cause),
            ),
            Details::LambdaFunctionTimedOut { error, cause } => (
                "lambdaFunctionTimedOutEventDetails",
                error_cause(error, cause),
            ),
            Details::MapStateStarted { length } => {
                ("mapStateStartedEventDetails", json!({"length": length}))
            }
            Details::MapIterationStarted { name, index } => (
                "mapIterationStartedEventDetails",
                json!({"name": name, "index": index}),
            ),
            Details::MapIterationSucceeded { name, index } => (
                "mapIterationSucceededEventDetails",
                json!({"name": name, "index": index}),
            ),
            Details::MapIterationFailed { name, index } => (
                "mapIterationFailedEventDetails",
                json!({"name": name, "index": index}),
            ),
            Details::MapIterationAborted { name, index } => (
                "mapIterationAbortedEventDetails",
                json!({"name": name, "index": index}),
            ),
            Details::MapRunStarted { map_run_arn } => (
                "mapRunStartedEventDetails",
                json!({"mapRunArn": map_run_arn}),
            ),
            Details::MapRunFailed { error, cause } => {
                ("mapRunFailedEventDetails", error_cause(error, cause))
            }
            Details::EvaluationFailed {
                error,
                cause,
                state,
                location,
            } => {
                let mut d = match error_cause(error, cause) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                if let Some(l) = location {
                    d.insert("location".into(), json!(l));
                }
                d.insert("state".into(), json!(state));
                ("evaluationFailedEventDetails", Value::Object(d))
            }
            Details::LambdaFunctionStarted
            | Details::ParallelStateStarted
            | Details::ParallelStateSucceeded
            | Details::ParallelStateFailed
            | Details::ParallelStateAborted
            | Details::MapStateSucceeded
            | Details::MapStateFailed
            | Details::MapStateAborted
            | Details::MapRunSucceeded => return Value::Object(m),
        };
        m.insert(key.into(), details);
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_failed_details_carry_resource_error_and_cause() {
        let e = HistoryEvent {
            id: 5,
            previous_event_id: 4,
            timestamp: 1_500,
            details: Details::TaskFailed {
                resource_type: "lambda".into(),
                resource: "invoke".into(),
                error: Some("Boom".into()),
                cause: None,
            },
        };
        assert_eq!(
            e.to_aws_json(true),
            json!({"timestamp": 1.5, "type": "TaskFailed", "id": 5, "previousEventId": 4,
                   "taskFailedEventDetails": {"resourceType": "lambda", "resource": "invoke", "error": "Boom"}})
        );
    }

    #[test]
    fn task_started_details_name_the_resource() {
        let e = HistoryEvent {
            id: 3,
            previous_event_id: 2,
            timestamp: 0,
            details: Details::TaskStarted {
                resource_type: "sqs".into(),
                resource: "sendMessage".into(),
            },
        };
        assert_eq!(
            e.to_aws_json(false)["taskStartedEventDetails"],
            json!({"resourceType": "sqs", "resource": "sendMessage"})
        );
    }
}
