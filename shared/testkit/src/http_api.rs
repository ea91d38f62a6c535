//! An API Gateway HTTP API in front of a [`Function`]: real HTTP in, one
//! payload-format-2.0 event per request, the function's answer back as the
//! HTTP response — so real clients (the AWS CLI, SDKs) can call a function
//! binary in tests.
//!
//! Shaped as API Gateway does it: `rawPath` and `rawQueryString` as
//! received, header names lower-cased and repeated headers joined with
//! commas, a binary body base64-encoded; the response's `statusCode`,
//! `headers` and (possibly base64) `body` become the HTTP response.

use crate::function::Function;
use crate::runtime_api::Outcome;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Serves until dropped.
pub struct HttpApi {
    addr: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

struct Gateway {
    function: Arc<Function>,
    stage: String,
}

impl HttpApi {
    /// Serves `function` on a free loopback port; `stage` is `$default` or
    /// a stage name (which then prefixes every path, as on API Gateway).
    pub async fn start(function: Arc<Function>, stage: &str) -> HttpApi {
        let gateway = Arc::new(Gateway {
            function,
            stage: stage.to_string(),
        });
        let app = Router::new().fallback(forward).with_state(gateway);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the HTTP API");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpApi { addr, server }
    }

    /// The endpoint URL to give clients (`--endpoint-url`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HttpApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 10 * 1024 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        let joined: Vec<String> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        headers.insert(name.as_str().to_ascii_lowercase(), json!(joined.join(",")));
    }
    let (body_text, base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&body),
            true,
        ),
    };
    let path = parts.uri.path().to_string();
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host").cloned().unwrap_or(json!("localhost")),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or(json!(""))
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": gateway.stage,
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0
        },
        "body": body_text,
        "isBase64Encoded": base64
    });
    match gateway.function.invoke(event).await {
        Outcome::Response(answer) => to_http(&answer),
        // API Gateway answers a failed invocation with this.
        Outcome::Error { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "application/json")],
            r#"{"message":"Internal Server Error"}"#,
        )
            .into_response(),
    }
}

fn to_http(answer: &[u8]) -> Response {
    let Ok(answer) = serde_json::from_slice::<Value>(answer) else {
        return (StatusCode::BAD_GATEWAY, "the function's answer is not JSON").into_response();
    };
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let raw = answer["body"].as_str().unwrap_or("");
    let body = if answer["isBase64Encoded"] == json!(true) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map(Bytes::from)
            .unwrap_or_default()
    } else {
        Bytes::from(raw.to_string())
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(headers) = answer["headers"].as_object() {
        for (name, value) in headers {
            if let (Ok(n), Some(Ok(v))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().insert(n, v);
            }
        }
    }
    response
}
