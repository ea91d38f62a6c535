//! Lambda's Invoke API served by the test (`POST
//! /2015-03-31/functions/{name}/invocations`), for processes that reach
//! Lambda through `AWS_ENDPOINT_URL_LAMBDA` or a `flowstate.toml` `url`
//! handler.
//!
//! Every invocation is recorded and counted by its key — the function and
//! the payload — so a test that puts what identifies a task in the payload
//! (`$$.Execution.Id`, `$$.State.Name`, `$$.State.RetryCount`, a Map
//! item's index) counts invocations per (execution, state, attempt) and
//! sees every duplicate ([`LambdaEndpoint::duplicates`]). Each invocation
//! also records the caller's `AWS_SDK_UA_APP_ID` (from its User-Agent's
//! `app/...`), so a test can tell which process made it.
//!
//! What an invocation answers is the test's [`Behaviour`]: a result, a
//! function error, a service error, after a delay or once a [`Gate`]
//! opens — decided from the invocation alone, so that two runs of the same
//! work (one backend and another) see the same answers.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One invocation, as the endpoint saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The function's name (from a name, partial ARN or ARN).
    pub function: String,
    pub payload: Value,
    /// The caller's `AWS_SDK_UA_APP_ID`, if it set one.
    pub client: Option<String>,
    /// How many invocations with this function and payload came before,
    /// this one included (1 for the first).
    pub nth: u64,
    /// When it arrived, relative to the endpoint's start.
    pub at: Duration,
}

/// How an invocation is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The function returns this.
    Return(Value),
    /// The function throws: `X-Amz-Function-Error`, `{"errorType", "errorMessage"}`.
    FunctionError { error_type: String, message: String },
    /// Lambda refuses the call: an HTTP error with `x-amzn-ErrorType`
    /// (e.g. 429 `TooManyRequestsException`).
    ServiceError { status: u16, error_type: String },
}

/// A reply, possibly held back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: Reply,
    /// Answer after this long.
    pub delay: Duration,
    /// Answer once this gate is open.
    pub gate: Option<Gate>,
}

impl Answer {
    pub fn reply(reply: Reply) -> Answer {
        Answer {
            reply,
            delay: Duration::ZERO,
            gate: None,
        }
    }

    pub fn ok(value: Value) -> Answer {
        Answer::reply(Reply::Return(value))
    }

    pub fn error(error_type: &str, message: &str) -> Answer {
        Answer::reply(Reply::FunctionError {
            error_type: error_type.into(),
            message: message.into(),
        })
    }

    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    pub fn behind(mut self, gate: &Gate) -> Answer {
        self.gate = Some(gate.clone());
        self
    }
}

/// Holds answers back until opened. Cheap to clone (one gate shared).
#[derive(Debug, Clone)]
pub struct Gate {
    open: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            open: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Lets every held answer (and every later one) through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    async fn wait(&self) {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

/// Decides each invocation's answer.
pub type Behaviour = Arc<dyn Fn(&Invocation) -> Answer + Send + Sync>;

struct Shared {
    behaviour: Behaviour,
    started: Instant,
    log: Mutex<Vec<Invocation>>,
    counts: Mutex<BTreeMap<(String, String), u64>>,
}

/// The endpoint; serves until dropped.
pub struct LambdaEndpoint {
    url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LambdaEndpoint {
    /// Serves on a free loopback port, answering as `behaviour` says.
    pub async fn start(behaviour: Behaviour) -> LambdaEndpoint {
        let shared = Arc::new(Shared {
            behaviour,
            started: Instant::now(),
            log: Mutex::new(Vec::new()),
            counts: Mutex::new(BTreeMap::new()),
        });
        let app = axum::Router::new()
            .route(
                "/2015-03-31/functions/{name}/invocations",
                axum::routing::post(invoke),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the Lambda endpoint");
        let addr = listener.local_addr().expect("the endpoint's address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LambdaEndpoint {
            url: format!("http://{addr}"),
            shared,
            server,
        }
    }

    /// The endpoint (`AWS_ENDPOINT_URL_LAMBDA`, or a `url` handler).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every invocation so far, in arrival order.
    pub fn invocations(&self) -> Vec<Invocation> {
        lock(&self.shared.log).clone()
    }

    /// How many invocations so far.
    pub fn count(&self) -> usize {
        lock(&self.shared.log).len()
    }

    /// Invocations of `function` whose payload satisfies `matching`.
    pub fn count_where(&self, function: &str, matching: impl Fn(&Value) -> bool) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|i| i.function == function && matching(&i.payload))
            .count()
    }

    /// Every (function, payload) invoked more than once, with all its
    /// invocations.
    pub fn duplicates(&self) -> Vec<Vec<Invocation>> {
        let log = lock(&self.shared.log);
        let mut by_key: BTreeMap<(String, String), Vec<Invocation>> = BTreeMap::new();
        for i in log.iter() {
            by_key
                .entry((i.function.clone(), i.payload.to_string()))
                .or_default()
                .push(i.clone());
        }
        by_key.into_values().filter(|v| v.len() > 1).collect()
    }
}

impl Drop for LambdaEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The function's name in a name, `NAME:QUALIFIER`, partial ARN
/// (`ACCOUNT:function:NAME`) or ARN.
fn function_name(raw: &str) -> String {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1].to_string(),
        _ => parts[0].to_string(),
    }
}

/// `app/ID` in a User-Agent (the SDK's `AWS_SDK_UA_APP_ID`).
fn app_id(headers: &HeaderMap) -> Option<String> {
    let agents = [headers.get("x-amz-user-agent"), headers.get("user-agent")];
    agents
        .into_iter()
        .flatten()
        .filter_map(|v| v.to_str().ok())
        .flat_map(str::split_whitespace)
        .find_map(|part| part.strip_prefix("app/"))
        .map(str::to_string)
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Lambda takes any bytes; a payload that is not JSON is kept as text.
    let payload: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let function = function_name(&name);
    let nth = {
        let mut counts = lock(&shared.counts);
        let n = counts
            .entry((function.clone(), payload.to_string()))
            .or_default();
        *n += 1;
        *n
    };
    let invocation = Invocation {
        function,
        payload,
        client: app_id(&headers),
        nth,
        at: shared.started.elapsed(),
    };
    lock(&shared.log).push(invocation.clone());
    let answer = (shared.behaviour)(&invocation);
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    if let Some(gate) = &answer.gate {
        gate.wait().await;
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = match answer.reply {
        Reply::Return(value) => {
            let mut r = axum::Json(value).into_response();
            r.headers_mut().insert(
                "x-amz-executed-version",
                HeaderValue::from_static("$LATEST"),
            );
            r
        }
        Reply::FunctionError {
            error_type,
            message,
        } => {
            let mut r = axum::Json(json!({"errorType": error_type, "errorMessage": message}))
                .into_response();
            r.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            r.headers_mut().insert(
                "x-amz-executed-version",
                HeaderValue::from_static("$LATEST"),
            );
            r
        }
        Reply::ServiceError { status, error_type } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (
                status,
                axum::Json(json!({"Type": "User", "message": error_type.clone()})),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&error_type) {
                r.headers_mut().insert("x-amzn-errortype", v);
            }
            r
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}
