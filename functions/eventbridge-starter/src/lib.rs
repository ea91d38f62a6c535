//! The EventBridge starter Lambda function: an EventBridge rule invokes it
//! with `{"stateMachineName": NAME, "event": <the event>}` (an input
//! transformer, see `template.yaml`), and it starts one execution of that
//! state machine with the event as its input, **named after the event's
//! `id`**.
//!
//! Delivery is at least once (EventBridge and Lambda's asynchronous
//! invocations both retry), so a redelivered event must start nothing new.
//! StartExecution is idempotent for a running execution with the same name
//! and input; one that has already ended makes StartExecution fail with
//! `ExecutionAlreadyExists`, which this function recognises (same input)
//! and answers as already done.
//!
//! **When the invocation fails.** A failed asynchronous invocation is
//! retried by Lambda, then sent to the function's dead-letter queue. So
//! the function fails only when a retry can succeed ([`StartError`]):
//! - the store or queue failed (throttling, network);
//! - the state machine does not exist (yet): rules are often deployed
//!   before the state machines they start, and after the retries the event
//!   waits in the dead-letter queue instead of being lost.
//!
//! Everything that no retry can fix is answered as [`Answer::Rejected`] and
//! logged ([`handle`]): a payload that is not `{"stateMachineName",
//! "event"}`, an event without a usable `id`, an invalid name or input, or
//! an event id already used by an execution with a different input.

use flowstate_lambda::Instance;
use flowstate_ports::{Clock, Invoker, Queue, Store};
use flowstate_runtime::{names, Service, ServiceError, StartExecution};
use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::Value;

/// What the function answers for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Answer {
    /// The execution runs (started now, or by an earlier delivery of the
    /// same event and still running).
    #[serde(rename_all = "camelCase")]
    Started {
        execution_arn: String,
        start_date: i64,
    },
    /// An earlier delivery started it and it has ended.
    #[serde(rename_all = "camelCase")]
    AlreadyEnded {
        execution_arn: String,
        execution_status: String,
    },
    /// No retry can start it; `error` is a Step Functions error name where
    /// there is one.
    Rejected { error: String, cause: String },
}

/// A failure worth retrying: the invocation fails with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("State machine '{name}' does not exist ({arn}): create it, or correct the rule's state machine name; the event will be retried, then kept in the dead-letter queue")]
    StateMachineDoesNotExist { name: String, arn: String },
    #[error("cannot start an execution of '{name}' now (retried later): {cause}")]
    Unavailable { name: String, cause: String },
}

impl StartError {
    /// The `errorType` Lambda records.
    pub fn error_type(&self) -> &'static str {
        match self {
            StartError::StateMachineDoesNotExist { .. } => "StateMachineDoesNotExist",
            StartError::Unavailable { .. } => "ServiceUnavailable",
        }
    }
}

impl From<StartError> for Diagnostic {
    fn from(e: StartError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.to_string(),
        }
    }
}

fn rejected(error: &str, cause: impl Into<String>) -> Answer {
    Answer::Rejected {
        error: error.to_string(),
        cause: cause.into(),
    }
}

/// The function's handler: [`start_from_event`] on the function
/// instance's service, logging what it rejects and what fails.
pub async fn handle(instance: &Instance, payload: &Value) -> Result<Answer, StartError> {
    let env = &instance.wiring.env;
    let outcome = start_from_event(&instance.service, &env.region, &env.account, payload).await;
    match &outcome {
        // Logged, not failed: no retry could start it.
        Ok(Answer::Rejected { error, cause }) => tracing::warn!("rejected event: {error}: {cause}"),
        Ok(_) => {}
        Err(e) => tracing::error!("failed (will be retried): {e}"),
    }
    outcome
}

/// Starts the execution `payload` asks for.
pub async fn start_from_event<S, Q, I, C>(
    service: &Service<S, Q, I, C>,
    region: &str,
    account: &str,
    payload: &Value,
) -> Result<Answer, StartError>
where
    S: Store,
    Q: Queue,
    I: Invoker,
    C: Clock,
{
    let Some(machine) = payload.get("stateMachineName").and_then(Value::as_str) else {
        return Ok(rejected(
            "InvalidPayload",
            "the payload has no string \"stateMachineName\" (expected {\"stateMachineName\": NAME, \"event\": EVENT})",
        ));
    };
    let Some(event) = payload.get("event").filter(|e| e.is_object()) else {
        return Ok(rejected(
            "InvalidPayload",
            "the payload has no object \"event\" (expected {\"stateMachineName\": NAME, \"event\": EVENT})",
        ));
    };
    if let Err(e) = names::check_name(machine) {
        return Ok(rejected(e.code(), format!("stateMachineName: {e}")));
    }
    let Some(id) = event.get("id").and_then(Value::as_str) else {
        return Ok(rejected(
            "InvalidPayload",
            "the event has no string \"id\" to name the execution after",
        ));
    };
    if let Err(e) = names::check_name(id) {
        return Ok(rejected(
            e.code(),
            format!("event id as execution name: {e}"),
        ));
    }
    let arn = names::state_machine_arn(region, account, machine);
    let request = StartExecution {
        state_machine_arn: arn.clone(),
        name: Some(id.to_string()),
        input: Some(event.to_string()),
        ..Default::default()
    };
    match service.start_execution(request).await {
        Ok(started) => Ok(Answer::Started {
            execution_arn: started.execution_arn,
            start_date: started.start_date,
        }),
        Err(ServiceError::ExecutionAlreadyExists(execution_arn)) => {
            match service.describe_execution(&execution_arn).await {
                Ok(existing) if existing.input.as_ref() == event => Ok(Answer::AlreadyEnded {
                    execution_arn,
                    execution_status: existing.status.as_str().to_string(),
                }),
                Ok(_) => Ok(rejected(
                    "ExecutionAlreadyExists",
                    format!("execution '{execution_arn}' exists with a different input: event id '{id}' was used by another event"),
                )),
                Err(e) => Err(StartError::Unavailable {
                    name: machine.to_string(),
                    cause: e.to_string(),
                }),
            }
        }
        Err(ServiceError::StateMachineDoesNotExist(_)) => {
            Err(StartError::StateMachineDoesNotExist {
                name: machine.to_string(),
                arn,
            })
        }
        Err(
            e @ (ServiceError::InvalidExecutionInput(_)
            | ServiceError::InvalidName(_)
            | ServiceError::InvalidArn(_)
            | ServiceError::ValidationException(_)),
        ) => Ok(rejected(e.code(), e.to_string())),
        Err(e) => Err(StartError::Unavailable {
            name: machine.to_string(),
            cause: e.to_string(),
        }),
    }
}
