//! URL handlers: call a Lambda Invoke API endpoint, such as the one
//! `cargo lambda watch` serves, exactly as the Lambda service is called:
//! `POST {url}/2015-03-31/functions/{name}/invocations` with the payload as
//! the body. A 2xx answer carries the function's output, or its error object
//! when `X-Amz-Function-Error` is set; any other status is a service error.

use std::io::Read;
use std::time::{Duration, Instant};

use flowstate_engine::integration::{InvocationType, LambdaServiceError};

use crate::config::HttpSpec;
use crate::outcome::{Deadline, Outcome};

/// Lambda's own limit on a synchronous response; more than this is not a
/// function answer and must not exhaust memory.
const MAX_RESPONSE_BYTES: u64 = 6 * 1024 * 1024 + 1024;

pub(crate) struct InvokeRequest<'a> {
    pub function: &'a str,
    pub qualifier: Option<&'a str>,
    pub invocation_type: InvocationType,
    pub payload: &'a [u8],
}

pub(crate) fn run(
    agent: &ureq::Agent,
    spec: &HttpSpec,
    request: &InvokeRequest,
    deadline: Option<Deadline>,
) -> Outcome {
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        spec.url, request.function
    );
    let mut call = agent
        .post(&url)
        .set("Content-Type", "application/json")
        .set("X-Amz-Invocation-Type", request.invocation_type.name());
    if let Some(qualifier) = request.qualifier {
        call = call.query("Qualifier", qualifier);
    }
    if let Some(deadline) = deadline {
        call = call.timeout(deadline.after);
    }
    let started = Instant::now();
    match call.send_bytes(request.payload) {
        Ok(response) => {
            let function_error = response.header("X-Amz-Function-Error").map(str::to_string);
            let executed_version = response.header("X-Amz-Executed-Version").map(str::to_string);
            let request_id = response.header("x-amzn-RequestId").map(str::to_string);
            let body = match read_body(response) {
                Ok(body) => body,
                Err(e) if timed_out(started, deadline) => return expired(deadline, e),
                Err(e) => return Outcome::Unreachable(format!("Unable to read the response of {url}: {e}")),
            };
            match function_error {
                Some(_) => Outcome::FunctionError(body),
                None => Outcome::Returned { body, executed_version, request_id },
            }
        }
        Err(ureq::Error::Status(status, response)) => {
            let error_type = response.header("x-amzn-ErrorType").map(str::to_string);
            let request_id = response.header("x-amzn-RequestId").map(str::to_string);
            let body = read_body(response).unwrap_or_default();
            Outcome::ServiceError(LambdaServiceError::from_http(status, error_type.as_deref(), &body, request_id))
        }
        Err(ureq::Error::Transport(e)) if timed_out(started, deadline) => expired(deadline, e.to_string()),
        Err(ureq::Error::Transport(e)) => Outcome::Unreachable(format!(
            "Unable to execute HTTP request: {e}. Is the Lambda endpoint at {} running (for example `cargo lambda watch`)?",
            spec.url
        )),
    }
}

fn read_body(response: ureq::Response) -> Result<String, String> {
    let mut body = String::new();
    response
        .into_reader()
        .take(MAX_RESPONSE_BYTES)
        .read_to_string(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(body)
}

/// A transport error at (or within a hair of) the deadline is the deadline:
/// ureq reports its timeout as an I/O error whose kind varies by platform.
fn timed_out(started: Instant, deadline: Option<Deadline>) -> bool {
    deadline.is_some_and(|d| started.elapsed() + Duration::from_millis(50) >= d.after)
}

fn expired(deadline: Option<Deadline>, detail: String) -> Outcome {
    match deadline {
        Some(deadline) => deadline.outcome(),
        None => Outcome::Unreachable(detail),
    }
}
