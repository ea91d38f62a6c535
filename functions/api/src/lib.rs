//! The API Lambda function: API Gateway (HTTP API, payload format 2.0)
//! hands it Step Functions API requests; it verifies their SigV4 signature
//! against Flowstate's access keys and answers with `flowstate_api`'s
//! router over the runtime service — the same router as `flowstate serve`.
//!
//! The one thing this crate adds is [`raw_request`]: the signature covers
//! the path and query exactly as the client sent them, so the request the
//! verifier sees is rebuilt from API Gateway's `rawPath` and
//! `rawQueryString` rather than from `lambda_http`'s URL (which is
//! normalised by a URL parser, and prefixed with the stage name when
//! `rawPath` lacks it).

use axum::body::Body;
use axum::http::{Request, Uri};
use axum::response::Response;
use axum::Router;
use flowstate_auth::{AuthError, KeyStore, SigV4Layer, Verifier, VerifierConfig};
use lambda_http::RequestExt;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use tower::ServiceExt;

/// The Step Functions API over `actions`, requiring a valid signature
/// checked against `keys` under `config`. Refusals are logged (a warning,
/// in CloudWatch) with their detail, which the client never sees.
pub fn app<A, K>(actions: Arc<A>, keys: K, config: VerifierConfig) -> Router
where
    A: flowstate_api::StepFunctionsActions,
    K: KeyStore,
{
    // The layer is cloned per route; share the store (and its cache).
    let verifier = Verifier::new(Arc::new(keys)).with_config(config);
    flowstate_api::router(actions)
        .layer(SigV4Layer::new(verifier))
        .layer(axum::middleware::map_response(log_refusal))
}

async fn log_refusal(response: Response) -> Response {
    if let Some(err) = response.extensions().get::<AuthError>() {
        match &err.detail {
            Some(detail) => tracing::warn!(%detail, "refused: {err}"),
            None => tracing::warn!("refused: {}", err.kind.code()),
        }
    }
    response
}

/// The request as the client sent it: path from `rawPath`, query from
/// `rawQueryString` (`lambda_http` appends it unchanged), method, headers
/// and body as they are.
pub fn raw_request(request: lambda_http::Request) -> Request<Body> {
    let raw_path = request.raw_http_path().to_string();
    let (mut parts, body) = request.into_parts();
    if !raw_path.is_empty() {
        let target = match parts.uri.query() {
            Some(q) if !q.is_empty() => format!("{raw_path}?{q}"),
            _ => raw_path,
        };
        // A rawPath that is not a valid request target cannot have been
        // sent by an HTTP client; keep lambda_http's URL then (the
        // signature check will refuse the request if it matters).
        if let Ok(uri) = target.parse::<Uri>() {
            parts.uri = uri;
        }
    }
    let body = Body::from(body.to_vec());
    Request::from_parts(parts, body)
}

/// The handler `lambda_http::run` drives: each event, rebuilt by
/// [`raw_request`], through `app`.
pub fn handler(
    app: Router,
) -> impl tower::Service<
    lambda_http::Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone {
    tower::service_fn(move |request: lambda_http::Request| {
        let app = app.clone();
        async move { app.oneshot(raw_request(request)).await }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_event(raw_path: &str, raw_query: &str, stage: &str) -> lambda_http::Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc",
                "domainName": "abc.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc",
                "http": {"method": "POST", "path": raw_path, "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "$default", "stage": stage,
                "time": "25/Nov/2026:16:00:00 +0000", "timeEpoch": 0
            },
            "body": "{}",
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn the_request_keeps_the_path_and_query_the_client_signed() {
        // lambda_http's own URL is normalised by a URL parser ("/x/../y"
        // becomes "/y"), which would break the signature over the path.
        let request = v2_event("/prod/a%2Fb/../c", "b=2&a=%20", "prod");
        assert_ne!(request.uri().path(), "/prod/a%2Fb/../c");
        let raw = raw_request(request);
        assert_eq!(raw.uri().path(), "/prod/a%2Fb/../c");
        assert_eq!(raw.uri().query(), Some("b=2&a=%20"));
    }

    #[test]
    fn the_default_stage_adds_no_prefix() {
        let raw = raw_request(v2_event("/", "", "$default"));
        assert_eq!(raw.uri().path(), "/");
        assert_eq!(raw.uri().query(), None);
    }
}
