//! An HTTP proxy in front of moto that counts every AWS call and injects
//! faults by rule: the AWS calls of any number of processes pointed at it
//! (`AWS_ENDPOINT_URL`) are metered and disturbed as one.
//!
//! **Counting** ([`Calls`]): requests per operation (`service:Operation`,
//! the service from the SigV4 credential scope, the operation from
//! `X-Amz-Target` or the query protocol's `Action`); DynamoDB write and
//! read units (on-demand pricing: a write unit per started KB of each item
//! written — its size by DynamoDB's rule, the larger of before and after —
//! twice in a transaction; a read unit per 4 KB read,
//! consistently); the bytes of write requests; conditional writes that
//! committed and that lost (`ConditionalCheckFailed`); SQS receives that
//! returned messages, and the messages.
//!
//! **Faults** ([`Rule`], [`Fault`]), each on every n-th matching request,
//! at most so many times:
//!
//! - [`Fault::Throttling`] and [`Fault::ThroughputExceeded`]: answered
//!   here, never forwarded, in the service's wire shape —
//!   `ThrottlingException` / `ProvisionedThroughputExceededException` as
//!   awsJson (`__type`, plus SQS's `x-amzn-query-error`), or the query
//!   protocol's XML `ErrorResponse` (SNS);
//! - [`Fault::Delay`]: forwarded after a pause;
//! - [`Fault::DropAnswer`]: forwarded — the write happens — and the
//!   connection closed without the answer, as a network failure after the
//!   fact looks to a client.

use crate::item_size::Items;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a rule does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answered with the service's `ThrottlingException`, not forwarded.
    Throttling,
    /// Answered with DynamoDB's `ProvisionedThroughputExceededException`
    /// (other services: `ThrottlingException`), not forwarded.
    ThroughputExceeded,
    /// Forwarded after this pause.
    Delay(Duration),
    /// Forwarded, and the connection closed without the answer.
    DropAnswer,
}

impl Fault {
    fn name(&self) -> &'static str {
        match self {
            Fault::Throttling => "Throttling",
            Fault::ThroughputExceeded => "ThroughputExceeded",
            Fault::Delay(_) => "Delay",
            Fault::DropAnswer => "DropAnswer",
        }
    }
}

/// A fault for requests of some operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `service:Operation` (`dynamodb:TransactWriteItems`), `service:*`,
    /// or `*` for every request.
    pub operations: Vec<String>,
    pub fault: Fault,
    /// Applies to every n-th matching request (1: all of them).
    pub every: u64,
    /// Applies at most this many times.
    pub limit: Option<u64>,
}

impl Rule {
    /// `fault` on every request of `operations`.
    pub fn new(operations: &[&str], fault: Fault) -> Rule {
        Rule {
            operations: operations.iter().map(|o| o.to_string()).collect(),
            fault,
            every: 1,
            limit: None,
        }
    }

    /// Only every `n`-th matching request.
    pub fn every(mut self, n: u64) -> Rule {
        self.every = n.max(1);
        self
    }

    /// At most `n` times.
    pub fn limit(mut self, n: u64) -> Rule {
        self.limit = Some(n);
        self
    }

    fn matches(&self, operation: &str) -> bool {
        let service = operation.split(':').next().unwrap_or_default();
        self.operations.iter().any(|o| {
            o == "*" || o == operation || o.strip_suffix(":*").is_some_and(|s| s == service)
        })
    }
}

/// What went through the proxy.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Calls {
    /// Requests per `service:Operation`; SQS receives that returned
    /// nothing are counted apart, as `sqs:ReceiveMessage (empty)` (an
    /// event source's idle polling, not work).
    pub operations: BTreeMap<String, u64>,
    /// DynamoDB write request units (on-demand), by DynamoDB's item size
    /// rule (`item_size.rs`): the larger of each item before and after,
    /// per started KB, twice in a transaction.
    pub write_units: u64,
    /// [`Calls::write_units`] by `dynamodb:Operation`.
    pub write_units_by_operation: BTreeMap<String, u64>,
    /// DynamoDB read request units (on-demand, consistent reads),
    /// estimated from the size of each answer.
    pub read_units: u64,
    /// Bytes of DynamoDB write requests.
    pub write_bytes: u64,
    /// Conditional DynamoDB writes that succeeded (`TransactWriteItems`,
    /// and `PutItem`/`UpdateItem`/`DeleteItem` with a condition).
    pub commits: u64,
    /// Conditional DynamoDB writes refused because the condition failed
    /// (another writer was first).
    pub conflicts: u64,
    /// Messages SQS receives returned.
    pub received_messages: u64,
    /// Faults injected, by `service:Operation Fault`.
    pub faults: BTreeMap<String, u64>,
}

impl Calls {
    /// Requests of one operation.
    pub fn count(&self, operation: &str) -> u64 {
        self.operations.get(operation).copied().unwrap_or(0)
    }

    /// Requests of one service (`dynamodb`, `sqs`, ...), empty receives
    /// left out.
    pub fn service(&self, service: &str) -> u64 {
        self.operations
            .iter()
            .filter(|(op, _)| op.split(':').next() == Some(service) && !op.ends_with("(empty)"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Every request but empty receives.
    pub fn total(&self) -> u64 {
        self.operations
            .iter()
            .filter(|(op, _)| !op.ends_with("(empty)"))
            .map(|(_, n)| n)
            .sum()
    }

    /// `op n, op n, ...` for reports.
    pub fn summary(&self) -> String {
        self.operations
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

struct RuleState {
    rule: Rule,
    seen: u64,
    applied: u64,
}

struct State {
    target: String,
    agent: ureq::Agent,
    rules: Mutex<Vec<RuleState>>,
    calls: Mutex<Calls>,
    /// Item sizes as written through the proxy, for the write units.
    items: Mutex<Items>,
}

/// The proxy; serves until dropped.
pub struct FaultProxy {
    url: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FaultProxy {
    /// A proxy to `target` (moto's endpoint) on a free loopback port.
    pub async fn start(target: &str) -> FaultProxy {
        let state = Arc::new(State {
            target: target.trim_end_matches('/').to_string(),
            agent: ureq::AgentBuilder::new().max_idle_connections(64).build(),
            rules: Mutex::new(Vec::new()),
            calls: Mutex::new(Calls::default()),
            items: Mutex::new(Items::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the fault proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let server = tokio::spawn(accept(listener, state.clone()));
        FaultProxy {
            url: format!("http://{addr}"),
            state,
            server,
        }
    }

    /// The endpoint to give clients (`AWS_ENDPOINT_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a rule (rules apply in the order added; the first that fires
    /// on a request wins).
    pub fn add(&self, rule: Rule) {
        lock(&self.state.rules).push(RuleState {
            rule,
            seen: 0,
            applied: 0,
        });
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.state.rules).clear();
    }

    /// What went through so far.
    pub fn calls(&self) -> Calls {
        lock(&self.state.calls).clone()
    }

    /// What went through so far, and starts counting from zero.
    pub fn take_calls(&self) -> Calls {
        std::mem::take(&mut *lock(&self.state.calls))
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn accept(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { handle(state, request).await }
            });
            // A dropped answer ends the connection with an error: expected.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error a handler returns to close the connection unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let operation = operation(&parts.headers, &body);
    let fault = choose(&state, &operation);
    if let Some(fault) = &fault {
        *lock(&state.calls)
            .faults
            .entry(format!("{operation} {}", fault.name()))
            .or_default() += 1;
    }
    match &fault {
        Some(Fault::Throttling) => return Ok(throttle(&operation, &parts.headers, false)),
        Some(Fault::ThroughputExceeded) => return Ok(throttle(&operation, &parts.headers, true)),
        Some(Fault::Delay(pause)) => tokio::time::sleep(*pause).await,
        Some(Fault::DropAnswer) | None => {}
    }
    let forwarded = {
        let state = state.clone();
        let (method, uri, headers, body) = (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
            body.clone(),
        );
        tokio::task::spawn_blocking(move || forward(&state, method, uri, &headers, &body))
            .await
            .unwrap_or_else(|e| {
                (
                    StatusCode::BAD_GATEWAY,
                    HeaderMap::new(),
                    e.to_string().into_bytes(),
                )
            })
    };
    let (status, headers, answer) = forwarded;
    count(&state, &operation, &body, status, &answer);
    if fault == Some(Fault::DropAnswer) {
        return Err(Dropped);
    }
    let mut response = Response::new(Full::new(Bytes::from(answer)));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// The fault for this request, if a rule fires.
fn choose(state: &State, operation: &str) -> Option<Fault> {
    let mut rules = lock(&state.rules);
    for r in rules.iter_mut() {
        if !r.rule.matches(operation) {
            continue;
        }
        r.seen += 1;
        let exhausted = r.rule.limit.is_some_and(|l| r.applied >= l);
        if !exhausted && r.seen % r.rule.every == 0 {
            r.applied += 1;
            return Some(r.rule.fault.clone());
        }
    }
    None
}

/// `service:Operation`: the service from the SigV4 credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`), the operation from
/// `X-Amz-Target` (JSON protocols) or `Action=` (query protocol).
fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scope_service = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .map(str::to_string);
    let (target_service, op) = match header("x-amz-target") {
        Some(t) => {
            let (service, op) = t.split_once('.').unwrap_or(("?", t));
            (Some(service.to_string()), op.to_string())
        }
        None => {
            let text = String::from_utf8_lossy(body);
            let action = text
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or("?")
                .to_string();
            (None, action)
        }
    };
    let service = scope_service
        .or(target_service)
        .unwrap_or_else(|| "?".into());
    format!("{service}:{op}")
}

fn forward(
    state: &State,
    method: Method,
    uri: Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let url = format!(
        "{}{}",
        state.target,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut request = state.agent.request(method.as_str(), &url);
    for (name, value) in headers {
        if name != "host" && name != "content-length" && name != "transfer-encoding" {
            request = request.set(name.as_str(), value.to_str().unwrap_or_default());
        }
    }
    let response = match request.send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                HeaderMap::new(),
                e.to_string().into_bytes(),
            )
        }
    };
    let status = StatusCode::from_u16(response.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HeaderMap::new();
    for name in response.headers_names() {
        if let (Ok(n), Some(Ok(v))) = (
            axum::http::HeaderName::try_from(name.as_str()),
            response
                .header(&name)
                .map(axum::http::HeaderValue::from_str),
        ) {
            if n != "content-length" && n != "transfer-encoding" && n != "connection" {
                out.insert(n, v);
            }
        }
    }
    let mut bytes = Vec::new();
    if let Err(e) = response.into_reader().read_to_end(&mut bytes) {
        return (
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            e.to_string().into_bytes(),
        );
    }
    (status, out, bytes)
}

/// Meters one forwarded request and its answer.
fn count(state: &State, operation: &str, body: &[u8], status: StatusCode, answer: &[u8]) {
    let request: Option<Value> = serde_json::from_slice(body).ok();
    let response: Option<Value> = serde_json::from_slice(answer).ok();
    let mut calls = lock(&state.calls);
    let received = if operation == "sqs:ReceiveMessage" {
        response
            .as_ref()
            .and_then(|r| r["Messages"].as_array().map(Vec::len))
            .unwrap_or(0)
    } else {
        0
    };
    let key = if operation == "sqs:ReceiveMessage" && received == 0 {
        "sqs:ReceiveMessage (empty)".to_string()
    } else {
        operation.to_string()
    };
    *calls.operations.entry(key).or_default() += 1;
    calls.received_messages += received as u64;
    let Some(service_op) = operation.strip_prefix("dynamodb:") else {
        return;
    };
    let request = request.unwrap_or(Value::Null);
    let applied = status.is_success();
    let mut items = lock(&state.items);
    let writes = match service_op {
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .map(|tx| {
                tx.iter()
                    .filter_map(|i| i.as_object()?.iter().next())
                    .map(|(op, write)| 2 * items.write(op, write, applied))
                    .sum()
            })
            .unwrap_or(0),
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .map(|tables| {
                let mut units = 0;
                for (table, writes) in tables {
                    for w in writes.as_array().into_iter().flatten() {
                        let (op, mut write) = match (w.get("PutRequest"), w.get("DeleteRequest")) {
                            (Some(put), _) => ("Put", put.clone()),
                            (None, Some(delete)) => ("Delete", delete.clone()),
                            _ => continue,
                        };
                        write["TableName"] = Value::from(table.as_str());
                        units += items.write(op, &write, applied);
                    }
                }
                units
            })
            .unwrap_or(0),
        "PutItem" => items.write("Put", &request, applied),
        "UpdateItem" => items.write("Update", &request, applied),
        "DeleteItem" => items.write("Delete", &request, applied),
        _ => 0,
    };
    drop(items);
    if writes > 0 {
        calls.write_units += writes;
        *calls
            .write_units_by_operation
            .entry(operation.to_string())
            .or_default() += writes;
        calls.write_bytes += body.len() as u64;
    }
    let reads = match service_op {
        "GetItem" | "Query" | "Scan" | "BatchGetItem" => {
            (answer.len() as u64).div_ceil(4096).max(1)
        }
        "TransactGetItems" => 2 * (answer.len() as u64).div_ceil(4096).max(1),
        _ => 0,
    };
    calls.read_units += reads;
    let conditional = service_op == "TransactWriteItems"
        || (matches!(service_op, "PutItem" | "UpdateItem" | "DeleteItem")
            && request.get("ConditionExpression").is_some());
    if conditional {
        let lost = String::from_utf8_lossy(answer).contains("ConditionalCheckFailed");
        if status.is_success() {
            calls.commits += 1;
        } else if lost {
            calls.conflicts += 1;
        }
    }
}

/// The service's throttling error, in its wire shape.
fn throttle(operation: &str, headers: &HeaderMap, throughput: bool) -> Response<Full<Bytes>> {
    let service = operation.split(':').next().unwrap_or_default();
    let (code, message) = if throughput && service == "dynamodb" {
        (
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        )
    } else {
        ("ThrottlingException", "Rate exceeded")
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let json = headers.contains_key("x-amz-target");
    let mut response = if json {
        let namespace = match service {
            "dynamodb" if code == "ThrottlingException" => "com.amazon.coral.availability",
            "dynamodb" => "com.amazonaws.dynamodb.v20120810",
            "sqs" => "com.amazonaws.sqs",
            other => other,
        };
        let body = serde_json::json!({"__type": format!("{namespace}#{code}"), "message": message});
        let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
        let h = r.headers_mut();
        h.insert(
            "content-type",
            axum::http::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        if service == "sqs" {
            // SQS speaks JSON to new clients and keeps its query-protocol
            // error codes in this header.
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{code};Sender")) {
                h.insert("x-amzn-query-error", v);
            }
        }
        r
    } else {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        );
        let mut r = Response::new(Full::new(Bytes::from(body)));
        r.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static("text/xml"),
        );
        r
    };
    *response.status_mut() = StatusCode::BAD_REQUEST;
    if let Ok(v) = axum::http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}
