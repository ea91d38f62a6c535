use super::*;
use axum::body::{to_bytes, Body};
use axum::http::{Method, Request};
use axum::routing::post;
use tower::ServiceExt;

async fn send(app: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).expect("valid request"))
        .await
        .expect("infallible")
}

fn header(r: &Response, name: header::HeaderName) -> &str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn serves_the_page_at_the_root() {
    let r = send(&router(), Method::GET, "/", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache");
    let body = to_bytes(r.into_body(), usize::MAX).await.expect("body");
    let html = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(html.contains("./assets/app.js"), "{html}");
}

#[tokio::test]
async fn serves_every_asset_the_page_names_with_its_content_type() {
    let app = router();
    for (path, kind) in [
        ("/assets/app.js", "text/javascript"),
        ("/assets/style.css", "text/css"),
    ] {
        let r = send(&app, Method::GET, path, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(header(&r, header::CONTENT_TYPE).starts_with(kind), "{path}");
        assert!(header(&r, header::ETAG).starts_with('"'), "{path}");
    }
    assert_eq!(
        send(&app, Method::GET, "/assets/missing.js", &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_unchanged_asset_is_not_modified() {
    let app = router();
    let first = send(&app, Method::GET, "/assets/app.js", &[]).await;
    let etag = header(&first, header::ETAG).to_string();
    let again = send(
        &app,
        Method::GET,
        "/assets/app.js",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let other = send(
        &app,
        Method::GET,
        "/assets/app.js",
        &[("if-none-match", "\"stale\"")],
    )
    .await;
    assert_eq!(other.status(), StatusCode::OK);
}

/// The lead merges this router with the Step Functions API, which answers
/// `POST` on `/` and on any path: both must keep working.
#[tokio::test]
async fn merges_with_an_api_that_owns_post() {
    let api = Router::new()
        .route("/", post(|| async { "api" }))
        .route("/{*path}", post(|| async { "api" }));
    let app = api.merge(router());
    let r = send(&app, Method::POST, "/", &[]).await;
    assert_eq!(
        to_bytes(r.into_body(), usize::MAX).await.expect("body"),
        "api"
    );
    assert_eq!(
        send(&app, Method::GET, "/", &[]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, Method::GET, "/assets/app.js", &[])
            .await
            .status(),
        StatusCode::OK
    );
    let r = send(&app, Method::POST, "/some/stage", &[]).await;
    assert_eq!(
        to_bytes(r.into_body(), usize::MAX).await.expect("body"),
        "api"
    );
}
