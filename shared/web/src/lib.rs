//! Flowstate's visual designer and execution inspector, served from the
//! binary.
//!
//! The front end lives in `web/` (TypeScript, built with Vite); its bundle
//! `web/dist` is committed, and `build.rs` embeds every file of it, so
//! building this crate never needs Node.js. [`router`] serves `GET /`
//! (the page) and `GET /assets/...` and nothing else: merge it with the
//! Step Functions API router, which owns `POST /`.
//!
//! ```
//! let api: axum::Router = axum::Router::new(); // flowstate_api::router(backend)
//! let app = api.merge(flowstate_web::router());
//! # let _ = app;
//! ```
//!
//! File names in the bundle are stable (no content hashes, so the committed
//! bundle only changes when its sources do); caching is by ETag with
//! `Cache-Control: no-cache`: browsers revalidate every asset and get a
//! `304 Not Modified` while it is unchanged.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file of `web/dist`.
pub(crate) struct Asset {
    /// URL path: `/index.html`, `/assets/app.js`.
    path: &'static str,
    content_type: &'static str,
    /// Quoted, as sent in the `ETag` header.
    etag: &'static str,
    body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// GET routes for the page: `/` and each embedded file at its own path.
///
/// Routes are exact paths (no wildcard), so they cannot shadow another
/// router's routes, and they answer `GET` (and `HEAD`) only: merged with
/// the API router, `POST /` still reaches the API.
pub fn router() -> Router {
    let mut router = Router::new();
    for asset in ASSETS {
        router = router.route(
            asset.path,
            get(move |headers: HeaderMap| async move { serve(asset, &headers) }),
        );
        if asset.path == "/index.html" {
            router = router.route(
                "/",
                get(move |headers: HeaderMap| async move { serve(asset, &headers) }),
            );
        }
    }
    router
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = HeaderValue::from_static(asset.etag);
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == asset.etag || tag.trim() == "*");
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag),
            cache,
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
