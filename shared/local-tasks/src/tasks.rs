//! [`LocalTasks`]: performs a Task state with the `flowstate.toml` handler
//! its resource maps to, and shapes the answer as Step Functions shows it.
//! A task no entry handles is [`Unmapped`]: its message shows the lines to
//! add to `flowstate.toml`.

use std::time::{Duration, SystemTime};

use flowstate_asl::errors::{Failure, StatesError};
use flowstate_engine::driver::TaskHandler;
use flowstate_engine::integration::{
    function_error, IntegrationPattern, InvocationType, LambdaCall, LambdaResponse, ResultShape,
    TaskResource,
};
use flowstate_engine::{TaskInvocation, TaskResult};
use serde_json::Value;

use crate::command::{self, HandlerLog};
use crate::config::{Handler, TaskConfig, TaskSpec};
use crate::http;
use crate::outcome::{excerpt, Deadline, Outcome};

/// Performs Task states with the handlers of a [`TaskConfig`].
#[derive(Debug)]
pub struct LocalTasks {
    config: TaskConfig,
    agent: ureq::Agent,
    /// Numbers the calls, for request ids that are stable from run to run.
    calls: u64,
    log: HandlerLog,
}

impl LocalTasks {
    /// Handlers' stderr lines go to `tracing` ([`HandlerLog::Tracing`]).
    pub fn new(config: TaskConfig) -> LocalTasks {
        LocalTasks {
            config,
            agent: ureq::AgentBuilder::new().build(),
            calls: 0,
            log: HandlerLog::default(),
        }
    }

    /// Sends command handlers' stderr lines to `log` instead.
    pub fn with_log(mut self, log: HandlerLog) -> LocalTasks {
        self.log = log;
        self
    }

    /// Performs `task` with the handler its resource maps to; [`Unmapped`]
    /// when no entry handles it, so that a caller who can wait for a
    /// callback (a server) may do so instead of failing the task.
    pub fn perform(&mut self, task: &TaskInvocation) -> Result<TaskResult, Unmapped> {
        self.calls += 1;
        // A UUID-shaped id, deterministic so that two runs of the same
        // execution print the same `lambda:invoke` wrappers.
        let request_id = format!("00000000-0000-4000-8000-{:012x}", self.calls);
        let resource = TaskResource::parse(&task.resource);
        let call = match &resource {
            Ok(parsed) => match LambdaCall::from_task(parsed, &task.parameters) {
                Ok(call) => call,
                Err(failure) => return Ok(TaskResult::Failed(failure)),
            },
            Err(_) => None,
        };
        if let Some(call) = &call {
            for key in function_keys(task, call) {
                if let Some(spec) = self.config.get(&key) {
                    return Ok(self.invoke_function(task, call, spec, &request_id));
                }
            }
        }
        for key in resource_keys(task, resource.as_ref().ok()) {
            if let Some(spec) = self.config.get(&key) {
                return Ok(self.invoke_resource(task, call.is_some(), spec));
            }
        }
        Err(Unmapped {
            message: unmapped_message(&self.config, task, call.as_ref(), resource.as_ref().ok()),
        })
    }
}

/// A task whose resource no `flowstate.toml` entry handles. The message
/// says what was asked, where the config is, and the exact lines to add.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unmapped {
    message: String,
}

impl Unmapped {
    /// The task failure `flowstate run` reports: `States.TaskFailed`, with
    /// the message as the cause.
    pub fn into_failure(self) -> Failure {
        Failure::states(StatesError::TaskFailed, self.message)
    }
}

/// An unmapped task fails, as nobody could answer it.
impl TaskHandler for LocalTasks {
    fn invoke(&mut self, task: &TaskInvocation) -> TaskResult {
        self.perform(task)
            .unwrap_or_else(|unmapped| TaskResult::Failed(unmapped.into_failure()))
    }
}

impl LocalTasks {
    /// The handler plays the Lambda function.
    fn invoke_function(
        &self,
        task: &TaskInvocation,
        call: &LambdaCall,
        spec: &TaskSpec,
        request_id: &str,
    ) -> TaskResult {
        if call.invocation_type == InvocationType::DryRun {
            // DryRun only checks that the call would be allowed: nothing runs.
            return shaped(
                call,
                LambdaResponse {
                    status_code: 204,
                    ..LambdaResponse::ok("", request_id)
                },
            );
        }
        let outcome = self.run(task, spec, &call.payload, Some(call));
        if call.invocation_type == InvocationType::Event {
            // An asynchronous invoke answers 202 before the function runs; its
            // outcome never reaches the state. Locally it runs to completion
            // first so that its side effects happen in order.
            return shaped(
                call,
                LambdaResponse {
                    status_code: 202,
                    ..LambdaResponse::ok("", request_id)
                },
            );
        }
        match outcome {
            Outcome::Returned {
                body,
                executed_version,
                request_id: served_id,
            } => {
                if call.shape == ResultShape::Callback {
                    // `flowstate run` has nobody to call SendTaskSuccess, so a
                    // `.waitForTaskToken` handler answers for the callback: it
                    // gets the payload (with the token where the definition put
                    // `$$.Task.Token`) and what it prints is the output
                    // SendTaskSuccess would have sent; an error it reports is
                    // SendTaskFailure's error and cause.
                    return parse_result(&body);
                }
                let response = LambdaResponse {
                    executed_version,
                    ..LambdaResponse::ok(body, served_id.unwrap_or_else(|| request_id.to_string()))
                };
                match call.result(&response) {
                    Ok(value) => TaskResult::Succeeded(value),
                    Err(failure) => TaskResult::Failed(failure),
                }
            }
            Outcome::FunctionError(body) => TaskResult::Failed(function_error(&body)),
            Outcome::HandlerTimeout(after) => {
                // What Lambda answers when a function exceeds its timeout: an
                // error object without errorType, hence Lambda.Unknown.
                let timestamp = chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ");
                let payload = serde_json::json!({
                    "errorMessage": format!("{timestamp} {request_id} Task timed out after {}.00 seconds", after.as_secs())
                });
                TaskResult::Failed(function_error(&payload.to_string()))
            }
            Outcome::StateTimeout => TaskResult::Failed(state_timeout()),
            Outcome::ServiceError(error) => TaskResult::Failed(error.to_failure()),
            Outcome::Unreachable(cause) => {
                TaskResult::Failed(Failure::new("Lambda.SdkClientException", cause))
            }
            Outcome::Failed(failure) => TaskResult::Failed(failure),
        }
    }

    /// The handler plays the whole integration: parameters in, result out.
    fn invoke_resource(
        &self,
        task: &TaskInvocation,
        is_lambda: bool,
        spec: &TaskSpec,
    ) -> TaskResult {
        let outcome = self.run(task, spec, &task.parameters, None);
        match outcome {
            Outcome::Returned { body, .. } => parse_result(&body),
            Outcome::FunctionError(body) => TaskResult::Failed(function_error(&body)),
            Outcome::HandlerTimeout(after) => TaskResult::Failed(Failure::states(
                StatesError::TaskFailed,
                format!(
                    "The handler [tasks.{}] did not finish within its timeout_seconds ({}s) and was stopped",
                    toml_key(&spec.key),
                    after.as_secs()
                ),
            )),
            Outcome::StateTimeout => TaskResult::Failed(state_timeout()),
            Outcome::ServiceError(error) if is_lambda => TaskResult::Failed(error.to_failure()),
            Outcome::ServiceError(error) => TaskResult::Failed(Failure::states(
                StatesError::TaskFailed,
                format!(
                    "The endpoint of [tasks.{}] answered HTTP {} {}: {}",
                    toml_key(&spec.key),
                    error.status_code,
                    error.error_code,
                    error.message
                ),
            )),
            Outcome::Unreachable(cause) => TaskResult::Failed(Failure::states(StatesError::TaskFailed, cause)),
            Outcome::Failed(failure) => TaskResult::Failed(failure),
        }
    }

    fn run(
        &self,
        task: &TaskInvocation,
        spec: &TaskSpec,
        payload: &Value,
        call: Option<&LambdaCall>,
    ) -> Outcome {
        let deadline =
            Deadline::earliest(task.timeout_seconds.map(Duration::from_secs), spec.timeout);
        let body = payload.to_string().into_bytes();
        match &spec.handler {
            Handler::Command(command) => {
                let mut env = vec![
                    ("FLOWSTATE_RESOURCE", task.resource.clone()),
                    ("FLOWSTATE_STATE_NAME", task.state_name.clone()),
                    ("FLOWSTATE_EXECUTION_ARN", task.execution_arn.clone()),
                ];
                if let Some(token) = &task.task_token {
                    env.push(("FLOWSTATE_TASK_TOKEN", token.clone()));
                }
                if let Some(call) = call {
                    env.push(("FLOWSTATE_FUNCTION_NAME", call.function.name.clone()));
                }
                command::run(command, &body, &env, deadline, &self.log, &task.state_name)
            }
            Handler::Http(endpoint) => {
                let (function, qualifier, invocation_type) = match call {
                    Some(call) => (
                        endpoint.function.as_deref().unwrap_or(&call.function.name),
                        call.function.qualifier.as_deref(),
                        call.invocation_type,
                    ),
                    // Config loading requires `function` for keys that name no
                    // function, so the key fallback is only ever a function name.
                    None => (
                        endpoint.function.as_deref().unwrap_or(&spec.key),
                        None,
                        InvocationType::RequestResponse,
                    ),
                };
                let request = http::InvokeRequest {
                    function,
                    qualifier,
                    invocation_type,
                    payload: &body,
                };
                http::run(&self.agent, endpoint, &request, deadline)
            }
        }
    }
}

/// Step Functions reports a Task's own timeout with no cause.
fn state_timeout() -> Failure {
    Failure {
        error: StatesError::Timeout.name().to_string(),
        cause: None,
    }
}

fn shaped(call: &LambdaCall, response: LambdaResponse) -> TaskResult {
    match call.result(&response) {
        Ok(value) => TaskResult::Succeeded(value),
        Err(failure) => TaskResult::Failed(failure),
    }
}

/// A handler's output used as the state's result as it is.
fn parse_result(body: &str) -> TaskResult {
    match serde_json::from_str(body) {
        Ok(value) => TaskResult::Succeeded(value),
        Err(e) => TaskResult::Failed(Failure::states(
            StatesError::TaskFailed,
            format!(
                "The handler's output is not JSON ({e}): {}",
                excerpt(body, 500)
            ),
        )),
    }
}

/// The keys that name this Lambda call's function, most specific first:
/// the ARN as written, `NAME:QUALIFIER`, the ARN without its qualifier,
/// `NAME`.
fn function_keys(task: &TaskInvocation, call: &LambdaCall) -> Vec<String> {
    let written = match call.shape {
        ResultShape::Raw => Some(task.resource.as_str()),
        ResultShape::InvokeWrapper | ResultShape::Callback => {
            task.parameters.get("FunctionName").and_then(Value::as_str)
        }
    };
    // Only an ARN (full or partial) adds keys: a bare `NAME[:QUALIFIER]` is
    // covered by the two keys below, in the right order.
    let arn = written.filter(|w| w.contains(":function:"));
    let mut keys = Vec::new();
    keys.extend(arn.map(str::to_string));
    if let Some(qualifier) = &call.function.qualifier {
        keys.push(format!("{}:{}", call.function.name, qualifier));
        if let Some(unqualified) = arn.and_then(|a| a.strip_suffix(&format!(":{qualifier}"))) {
            keys.push(unqualified.to_string());
        }
    }
    keys.push(call.function.name.clone());
    keys
}

/// The keys that name this resource as a whole.
fn resource_keys(task: &TaskInvocation, resource: Option<&TaskResource>) -> Vec<String> {
    let mut keys = vec![task.resource.clone()];
    if let Some(resource) = resource {
        let suffix = resource.pattern().suffix();
        if let Some(base) = task
            .resource
            .strip_suffix(suffix)
            .filter(|_| !suffix.is_empty())
        {
            keys.push(base.to_string());
        }
    }
    keys
}

/// The cause of an unmapped task: what was asked, where the config is, and
/// the exact lines to add.
fn unmapped_message(
    config: &TaskConfig,
    task: &TaskInvocation,
    call: Option<&LambdaCall>,
    resource: Option<&TaskResource>,
) -> String {
    let path = config.path().display();
    // Where the resource string says more than the subject, it is repeated.
    let (subject, key, script) = match (call, resource) {
        (Some(call), _) => (
            format!(
                "Lambda function '{}' (state '{}', resource '{}')",
                call.function, task.state_name, task.resource
            ),
            call.function.name.clone(),
            format!("handlers/{}.py", call.function.name),
        ),
        (None, Some(TaskResource::Activity(activity))) => (
            format!(
                "activity '{}' (state '{}', resource '{}')",
                activity.name, task.state_name, task.resource
            ),
            task.resource.clone(),
            format!("handlers/{}.py", activity.name),
        ),
        (None, Some(TaskResource::Service(service))) => (
            format!("resource '{}' (state '{}')", task.resource, task.state_name),
            task.resource.clone(),
            format!("handlers/{}-{}.py", service.service, service.action),
        ),
        _ => (
            format!("resource '{}' (state '{}')", task.resource, task.state_name),
            task.resource.clone(),
            "handlers/task.py".to_string(),
        ),
    };
    let whereabouts = if config.exists() {
        format!("{path} has no entry for it")
    } else {
        format!("there is no {path}")
    };
    let input = match call {
        Some(_) => "the payload",
        None => "the state's parameters",
    };
    let mut message = format!(
        "No local handler for the {subject}: {whereabouts}. To run it, add to {path}:\n\n[tasks.{}]\ncommand = [\"python3\", \"{script}\"]   # reads {input} as JSON on stdin, prints the result as JSON",
        toml_key(&key),
    );
    if call.is_some() {
        message.push_str(&format!(
            "\n\nor, to call a local Lambda endpoint such as `cargo lambda watch`:\n\n[tasks.{}]\nurl = \"http://127.0.0.1:9000\"",
            toml_key(&key)
        ));
    }
    if task
        .resource
        .ends_with(IntegrationPattern::WaitForTaskToken.suffix())
    {
        message.push_str(
            "\n\nThe handler's output is used as the callback's output (SendTaskSuccess).",
        );
    }
    message
}

/// A `[tasks]` key as TOML needs it written: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests;
