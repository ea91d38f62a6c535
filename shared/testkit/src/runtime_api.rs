//! A Lambda Runtime API emulator: the HTTP interface a custom runtime
//! (here `lambda_runtime`) polls for events and answers on. One
//! invocation at a time per function process, as on Lambda.
//!
//! Headers sent with each event, as Lambda sends them:
//! `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//! `Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST .../response`: the handler's answer, as sent.
    Response(Vec<u8>),
    /// `POST .../error` (or `.../init/error`): the runtime's error report.
    Error {
        error_type: String,
        error_message: String,
    },
}

impl Outcome {
    /// The response as JSON; panics, showing the outcome, otherwise.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Outcome::Response(body) => serde_json::from_slice(body).unwrap_or_else(|e| {
                panic!(
                    "the response is not JSON ({e}): {}",
                    String::from_utf8_lossy(body)
                )
            }),
            Outcome::Error { .. } => panic!("expected a response, got {self:?}"),
        }
    }
}

type Waiter = oneshot::Sender<Outcome>;

struct Event {
    id: String,
    payload: Vec<u8>,
    done: Waiter,
}

struct Shared {
    function_name: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    in_flight: Mutex<HashMap<String, Waiter>>,
    /// An init error, reported to every later invocation.
    init_error: Mutex<Option<Outcome>>,
}

/// The emulator, serving until dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Event>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves on a free loopback port, on the current tokio runtime.
    pub async fn start(function_name: &str) -> RuntimeApi {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_name: function_name.to_string(),
            events: tokio::sync::Mutex::new(rx),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the Runtime API emulator");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            addr,
            shared,
            events: tx,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues `payload` for the function and waits up to `timeout` for its
    /// outcome; `None` on timeout.
    pub async fn invoke_bytes(&self, payload: Vec<u8>, timeout: Duration) -> Option<Outcome> {
        if let Some(init) = lock(&self.shared.init_error).clone() {
            return Some(init);
        }
        let (done, outcome) = oneshot::channel();
        let event = Event {
            id: uuid::Uuid::new_v4().to_string(),
            payload,
            done,
        };
        self.events.send(event).ok()?;
        tokio::time::timeout(timeout, outcome).await.ok()?.ok()
    }

    /// [`RuntimeApi::invoke_bytes`] with a JSON event.
    pub async fn invoke(&self, payload: &serde_json::Value, timeout: Duration) -> Option<Outcome> {
        self.invoke_bytes(payload.to_string().into_bytes(), timeout)
            .await
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    // Long poll, as Lambda does: the runtime waits here between events.
    let event = shared.events.lock().await.recv().await;
    let Some(event) = event else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or(0);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", event.id.clone());
    put("lambda-runtime-deadline-ms", deadline.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            shared.function_name
        ),
    );
    put(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-00000000-{};Sampled=0",
            &event.id.replace('-', "")[..24]
        ),
    );
    put("content-type", "application/json".into());
    lock(&shared.in_flight).insert(event.id, event.done);
    (StatusCode::OK, headers, event.payload).into_response()
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match lock(&shared.in_flight).remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            StatusCode::ACCEPTED
        }
        // Lambda answers an unknown or finished request id with 400.
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, Outcome::Response(body.to_vec()))
}

fn error_outcome(headers: &HeaderMap, body: &[u8]) -> Outcome {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Outcome::Error {
        error_type: parsed["errorType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or(header_type),
        error_message: parsed["errorMessage"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, error_outcome(&headers, &body))
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let outcome = error_outcome(&headers, &body);
    *lock(&shared.init_error) = Some(outcome.clone());
    for (_, done) in lock(&shared.in_flight).drain() {
        let _ = done.send(outcome.clone());
    }
    StatusCode::ACCEPTED
}
