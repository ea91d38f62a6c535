//! The AWS Step Functions wire protocol, as one axum [`Router`].
//!
//! Step Functions speaks awsJson1_0: every action is `POST /` with the
//! header `X-Amz-Target: AWSStepFunctions.<Action>` and a JSON body whose
//! members are camelCase ([`shapes`]). Answers are JSON too; timestamps are
//! epoch seconds with a fraction; errors are an HTTP status plus
//! `{"__type": "<Code>", "message": "..."}` ([`ApiError`]).
//!
//! What the actions do comes from a [`StepFunctionsActions`]. The runtime's
//! `flowstate_runtime::Service` implements it (module `service`: shapes to
//! Service requests, `ServiceError` to [`ApiError`]), over any ports — the
//! embedded store for `flowstate serve`, DynamoDB and SQS for the API
//! Lambda — and both shells serve the same [`router`]. Tests use a fake
//! implementation. ValidateStateMachineDefinition is answered here by default
//! ([`validate_state_machine_definition`]): it needs only the language.
//!
//! Requests signed with SigV4 are accepted, and **the router does not
//! check signatures**: a local server has no secret to check them against,
//! and the API Lambda wraps the router in `flowstate_auth`'s SigV4 layer,
//! which checks them against Flowstate's access keys. Bind a local server
//! to loopback only.
//!
//! SDKs send StartSyncExecution to the host `sync-<endpoint host>` (its
//! endpoint trait has a `sync-` host prefix). The router answers on any
//! host; the client must be able to reach that name, or be told not to add
//! the prefix — see README.md, "StartSyncExecution and the `sync-` host
//! prefix".
//!
//! ```
//! use flowstate_api::{router, StepFunctionsActions};
//! # fn demo<A: StepFunctionsActions>(actions: A) {
//! let app: axum::Router = router(std::sync::Arc::new(actions));
//! # }
//! ```

mod actions;
mod activities;
mod error;
mod service;
pub mod shapes;
pub mod test_state;
mod validate;
mod versions;

pub use actions::StepFunctionsActions;
pub use error::{ApiError, ErrorCode};
pub use validate::{
    diagnostic_code, diagnostics, diagnostics_for, type_diagnostics,
    validate_state_machine_definition,
};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use flowstate_runtime::{constraints, names};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shapes::*;
use std::future::Future;
use std::sync::Arc;

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// `X-Amz-Target` is this prefix followed by the action name.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// Largest accepted request body. AWS allows definitions of 1 MiB and
/// payloads of 256 KiB; JSON-in-JSON escaping can almost double a
/// definition, hence the margin.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The Step Functions API over `actions`. It answers `POST` on any path
/// (API Gateway stages and SDK endpoint URLs with a path both work).
pub fn router<A: StepFunctionsActions>(actions: Arc<A>) -> Router {
    Router::new()
        .route("/", post(handle::<A>))
        .route("/{*path}", post(handle::<A>))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(actions)
}

async fn handle<A: StepFunctionsActions>(
    State(actions): State<Arc<A>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // A body that cannot be read (past MAX_BODY_BYTES, a broken stream) is
    // answered in the wire protocol's error shape like any other mistake,
    // not with axum's plain-text rejection.
    let result = match body {
        Ok(body) => {
            let scope = request_scope(&headers);
            names::in_request_scope(scope, dispatch(&*actions, &headers, &body)).await
        }
        Err(rejection) => Err(ApiError::validation(format!(
            "the request body cannot be read ({}): {}",
            rejection.status(),
            rejection.body_text()
        ))),
    };
    let mut response = match result {
        Ok(json) => {
            let mut r = (StatusCode::OK, json).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            r
        }
        Err(e) => e.into_response(),
    };
    // SDKs report this id with every error; a fresh one per request keeps
    // their retry and logging logic happy.
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-RequestId", v);
    }
    response
}

/// The region and account a SigV4-signed request names: the region of its
/// credential scope (`Credential=AKID/DATE/REGION/states/aws4_request`),
/// and the access key id as the account when it is 12 digits (as
/// LocalStack reads it). New ARNs take them, so that they match what the
/// client builds; an unsigned request names neither.
pub fn request_scope(headers: &HeaderMap) -> names::RequestScope {
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("AWS4-HMAC-SHA256"))
        .and_then(|v| {
            v.split(',')
                .find_map(|part| part.trim().strip_prefix("Credential="))
        });
    let Some(credential) = credential else {
        return names::RequestScope::default();
    };
    let mut parts = credential.split('/');
    let key = parts.next().unwrap_or("");
    let region = parts.nth(1).filter(|r| is_region(r));
    names::RequestScope {
        region: region.map(str::to_string),
        account: (key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()))
            .then(|| key.to_string()),
    }
}

/// A region name as ARNs spell it (`eu-west-3`, `us-gov-west-1`).
fn is_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The action named by `X-Amz-Target`, or `UnknownOperationException`.
fn action(headers: &HeaderMap) -> Result<&str, ApiError> {
    let target = headers.get("x-amz-target").ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownOperationException,
            "missing X-Amz-Target header",
        )
    })?;
    let target = target.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::UnknownOperationException,
            "X-Amz-Target is not ASCII",
        )
    })?;
    target.strip_prefix(TARGET_PREFIX).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownOperationException,
            format!("X-Amz-Target '{target}' does not start with '{TARGET_PREFIX}'"),
        )
    })
}

async fn dispatch<A: StepFunctionsActions>(
    b: &A,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    match action(headers)? {
        "CreateStateMachine" => call(body, |i| b.create_state_machine(i)).await,
        "DescribeStateMachine" => call(body, |i| b.describe_state_machine(i)).await,
        "UpdateStateMachine" => call(body, |i| b.update_state_machine(i)).await,
        "DeleteStateMachine" => call(body, |i| b.delete_state_machine(i)).await,
        "ListStateMachines" => call(body, |i| b.list_state_machines(i)).await,
        "StartExecution" => call(body, |i| b.start_execution(i)).await,
        "StartSyncExecution" => call(body, |i| b.start_sync_execution(i)).await,
        "DescribeExecution" => call(body, |i| b.describe_execution(i)).await,
        "ListExecutions" => call(body, |i| b.list_executions(i)).await,
        "GetExecutionHistory" => call(body, |i| b.get_execution_history(i)).await,
        "StopExecution" => call(body, |i| b.stop_execution(i)).await,
        "RedriveExecution" => call(body, |i| b.redrive_execution(i)).await,
        "SendTaskSuccess" => call(body, |i| b.send_task_success(i)).await,
        "SendTaskFailure" => call(body, |i| b.send_task_failure(i)).await,
        "SendTaskHeartbeat" => call(body, |i| b.send_task_heartbeat(i)).await,
        "DescribeStateMachineForExecution" => {
            call(body, |i| b.describe_state_machine_for_execution(i)).await
        }
        "ValidateStateMachineDefinition" => {
            call(body, |i| b.validate_state_machine_definition(i)).await
        }
        "TestState" => call(body, |i| b.test_state(i)).await,
        "PublishStateMachineVersion" => call(body, |i| b.publish_state_machine_version(i)).await,
        "ListStateMachineVersions" => call(body, |i| b.list_state_machine_versions(i)).await,
        "DeleteStateMachineVersion" => call(body, |i| b.delete_state_machine_version(i)).await,
        "CreateStateMachineAlias" => call(body, |i| b.create_state_machine_alias(i)).await,
        "DescribeStateMachineAlias" => call(body, |i| b.describe_state_machine_alias(i)).await,
        "UpdateStateMachineAlias" => call(body, |i| b.update_state_machine_alias(i)).await,
        "DeleteStateMachineAlias" => call(body, |i| b.delete_state_machine_alias(i)).await,
        "ListStateMachineAliases" => call(body, |i| b.list_state_machine_aliases(i)).await,
        "TagResource" => call(body, |i| b.tag_resource(i)).await,
        "UntagResource" => call(body, |i| b.untag_resource(i)).await,
        "ListTagsForResource" => call(body, |i| b.list_tags_for_resource(i)).await,
        "CreateActivity" => call(body, |i| b.create_activity(i)).await,
        "DescribeActivity" => call(body, |i| b.describe_activity(i)).await,
        "DeleteActivity" => call(body, |i| b.delete_activity(i)).await,
        "ListActivities" => call(body, |i| b.list_activities(i)).await,
        "GetActivityTask" => call(body, |i| b.get_activity_task(i)).await,
        other => Err(ApiError::unsupported(other)),
    }
}

/// Parses the body as `I`, checks it, calls the action, renders `O`.
async fn call<I, O, F, Fut>(body: &[u8], f: F) -> Result<Vec<u8>, ApiError>
where
    I: DeserializeOwned + CheckInput,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, ApiError>>,
{
    let input: I = parse(body)?;
    input.check()?;
    let output = f(input).await?;
    serde_json::to_vec(&output)
        .map_err(|e| ApiError::internal(format!("cannot render the response: {e}")))
}

fn parse<I: DeserializeOwned>(body: &[u8]) -> Result<I, ApiError> {
    // Some hand-written clients send no body for actions without members.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        // serde names a missing member `missing field `x``; AWS words it
        // as a violated constraint on the member.
        if let Some(member) = text
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            ApiError::constraint(member, "null", "Member must not be null")
        } else if text.starts_with("unknown variant") {
            ApiError::validation(format!("1 validation error detected: {text}"))
        } else {
            ApiError::new(
                ErrorCode::SerializationException,
                format!("the request body is not valid: {text}"),
            )
        }
    })
}

/// Checks that the wire protocol makes before any action runs: ranges of
/// numeric members and members required in combination.
trait CheckInput {
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// `maxResults` of the List* and GetExecutionHistory actions: 0 to 1000,
/// where 0 means the default page size.
fn check_max_results(v: Option<i64>) -> Result<(), ApiError> {
    match v {
        Some(n) if !(0..=1000).contains(&n) => Err(ApiError::constraint(
            "maxResults",
            n,
            if n < 0 {
                "Member must have value greater than or equal to 0"
            } else {
                "Member must have value less than or equal to 1000"
            },
        )),
        _ => Ok(()),
    }
}

/// The length limits AWS checks on string members at the protocol level.
fn check_len(member: &str, v: Option<&str>, max: usize) -> Result<(), ApiError> {
    match v {
        Some(s) if s.chars().count() > max => Err(ApiError::constraint(
            member,
            format!("'{}'", s.chars().take(32).collect::<String>()),
            &format!("Member must have length less than or equal to {max}"),
        )),
        _ => Ok(()),
    }
}

impl CheckInput for CreateStateMachineInput {
    fn check(&self) -> Result<(), ApiError> {
        versions::check_tags(self.tags.as_deref().unwrap_or_default())?;
        constraints::check_definition_length(&self.definition)?;
        check_role_arn(Some(&self.role_arn))
    }
}

/// An IAM role's ARN, `arn:PARTITION:iam::ACCOUNT:role/NAME`: anything
/// else is `InvalidArn`, as Step Functions answers.
fn check_role_arn(arn: Option<&str>) -> Result<(), ApiError> {
    let Some(arn) = arn else {
        return Ok(());
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && !account.is_empty()
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|n| !n.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidArn,
            format!("Invalid Arn: '{arn}'"),
        )),
    }
}

/// A Map Run's ARN, `arn:PARTITION:states:REGION:ACCOUNT:mapRun:...`.
fn check_map_run_arn(arn: Option<&str>) -> Result<(), ApiError> {
    let Some(arn) = arn else {
        return Ok(());
    };
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", _, _, "mapRun", rest] if !rest.is_empty() => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::InvalidArn,
            format!("Invalid Arn: '{arn}'"),
        )),
    }
}
impl CheckInput for DescribeStateMachineInput {}
impl CheckInput for UpdateStateMachineInput {
    fn check(&self) -> Result<(), ApiError> {
        if let Some(d) = &self.definition {
            constraints::check_definition_length(d)?;
        }
        check_role_arn(self.role_arn.as_deref())
    }
}
impl CheckInput for DeleteStateMachineInput {}
impl CheckInput for ListStateMachinesInput {
    fn check(&self) -> Result<(), ApiError> {
        check_max_results(self.max_results)
    }
}
impl CheckInput for StartExecutionInput {
    fn check(&self) -> Result<(), ApiError> {
        check_input(self.input.as_deref())
    }
}
impl CheckInput for StartSyncExecutionInput {
    fn check(&self) -> Result<(), ApiError> {
        check_input(self.input.as_deref())
    }
}

/// An execution's input: at most 256 KiB, checked before the state
/// machine is even looked up, as Step Functions does.
fn check_input(input: Option<&str>) -> Result<(), ApiError> {
    match input {
        Some(text) => Ok(constraints::check_payload_size("input", text)?),
        None => Ok(()),
    }
}
impl CheckInput for DescribeExecutionInput {}
impl CheckInput for ListExecutionsInput {
    fn check(&self) -> Result<(), ApiError> {
        check_max_results(self.max_results)?;
        check_map_run_arn(self.map_run_arn.as_deref())?;
        if self.state_machine_arn.is_none() && self.map_run_arn.is_none() {
            return Err(ApiError::validation(
                "Must provide a StateMachine ARN or MapRun ARN",
            ));
        }
        Ok(())
    }
}
impl CheckInput for GetExecutionHistoryInput {
    fn check(&self) -> Result<(), ApiError> {
        check_max_results(self.max_results)
    }
}
impl CheckInput for RedriveExecutionInput {
    fn check(&self) -> Result<(), ApiError> {
        if let Some(token) = &self.client_token {
            if token.is_empty() {
                return Err(ApiError::constraint(
                    "clientToken",
                    "''",
                    "Member must have length greater than or equal to 1",
                ));
            }
        }
        check_len("clientToken", self.client_token.as_deref(), 64)
    }
}
impl CheckInput for StopExecutionInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("error", self.error.as_deref(), 256)?;
        check_len("cause", self.cause.as_deref(), 32768)
    }
}
impl CheckInput for SendTaskSuccessInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("taskToken", Some(&self.task_token), 2048)?;
        Ok(constraints::check_payload_size("output", &self.output)?)
    }
}
impl CheckInput for SendTaskFailureInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("taskToken", Some(&self.task_token), 2048)?;
        check_len("error", self.error.as_deref(), 256)?;
        check_len("cause", self.cause.as_deref(), 32768)
    }
}
impl CheckInput for SendTaskHeartbeatInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("taskToken", Some(&self.task_token), 2048)
    }
}
impl CheckInput for DescribeStateMachineForExecutionInput {}
impl CheckInput for ValidateStateMachineDefinitionInput {
    fn check(&self) -> Result<(), ApiError> {
        Ok(constraints::check_definition_length(&self.definition)?)
    }
}

impl CheckInput for TestStateInput {
    fn check(&self) -> Result<(), ApiError> {
        constraints::check_definition_length(&self.definition)?;
        check_input(self.input.as_deref())?;
        check_len("stateName", self.state_name.as_deref(), 80)?;
        check_role_arn(self.role_arn.as_deref())?;
        for (member, count) in self.state_configuration.iter().flat_map(|c| {
            [
                (
                    "stateConfiguration.retrierRetryCount",
                    c.retrier_retry_count,
                ),
                (
                    "stateConfiguration.mapIterationFailureCount",
                    c.map_iteration_failure_count,
                ),
            ]
        }) {
            if let Some(n) = count.filter(|n| *n < 0) {
                return Err(ApiError::constraint(
                    member,
                    n,
                    "Member must have value greater than or equal to 0",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
