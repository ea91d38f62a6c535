//! `SigV4Layer` in front of an axum router, driven with `oneshot`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::support::*;
use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::{Extension, Router};
use flowstate_auth::{AuthError, InMemoryKeyStore, Principal, SigV4Layer, Verifier};
use serde_json::Value;
use tower::ServiceExt;

/// A router whose handler echoes the principal and the body it received.
fn app() -> Router {
    let keys = InMemoryKeyStore::new();
    keys.add(AKID, SECRET, "ci");
    let layer = SigV4Layer::new(Verifier::new(keys)).with_clock(Arc::new(|| NOW_MS));
    Router::new()
        .route(
            "/",
            post(
                |Extension(p): Extension<Principal>, body: String| async move {
                    format!("{}|{}|{body}", p.access_key_id, p.name)
                },
            ),
        )
        .layer(layer)
}

fn request(headers: &[(String, String)], body: &str) -> Request<Body> {
    let mut b = Request::builder().method("POST").uri("/");
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn a_signed_request_reaches_the_handler_with_its_body_and_principal() {
    let call = SfnCall {
        body: r#"{"maxResults": 10}"#,
        ..SfnCall::default()
    };
    let res = app()
        .oneshot(request(&call.headers(), call.body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        format!("{AKID}|ci|{}", call.body)
    );
}

#[tokio::test]
async fn refusals_have_the_step_functions_error_shape() {
    let call = SfnCall::default();
    let cases = [
        (
            with_header(&call.headers(), "authorization", None),
            "{}",
            "MissingAuthenticationTokenException",
        ),
        (call.headers(), r#"{"x":1}"#, "InvalidSignatureException"),
        (
            SfnCall {
                access_key_id: "AKIANOBODYNOBODYNOBO",
                ..SfnCall::default()
            }
            .headers(),
            "{}",
            "UnrecognizedClientException",
        ),
    ];
    for (headers, body, code) in cases {
        let res = app().oneshot(request(&headers, body)).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{code}");
        assert_eq!(res.headers()["content-type"], "application/x-amz-json-1.0");
        assert_eq!(res.headers()["x-amzn-errortype"], code);
        assert!(res.extensions().get::<AuthError>().is_some());
        let body: Value =
            serde_json::from_slice(&to_bytes(res.into_body(), usize::MAX).await.unwrap()).unwrap();
        assert_eq!(body["__type"], code);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_verification() {
    let keys = InMemoryKeyStore::new();
    let app = Router::new()
        .route("/", post(|| async { "unreachable" }))
        .layer(SigV4Layer::new(Verifier::new(keys)).with_max_body_bytes(8));
    let call = SfnCall::default();
    let res = app
        .oneshot(request(&call.headers(), "0123456789"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
