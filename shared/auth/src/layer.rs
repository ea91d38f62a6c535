//! The tower layer that puts [`Verifier`] in front of any axum router.
//!
//! It buffers the body (the signature covers its hash), verifies, and then
//! either answers with the AWS error shape or passes the request on with
//! the body restored and the [`Principal`] in the request's extensions
//! (`axum::Extension<Principal>` in a handler). A refused request's
//! [`AuthError`] is also put in the *response* extensions so that an outer
//! logging layer can record `detail` without the client seeing it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::{AuthError, AuthErrorKind};
use crate::keys::KeyStore;
use crate::verifier::{Principal, Verifier};

/// Same as the API router's own limit: the layer reads the body before the
/// router does, so it must not be stricter (nor much looser: it buffers).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The current time in epoch milliseconds; injectable for tests.
pub type NowFn = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Requires a valid SigV4 signature on every request.
#[derive(Clone)]
pub struct SigV4Layer<K> {
    verifier: Arc<Verifier<K>>,
    now: NowFn,
    max_body_bytes: usize,
}

impl<K: KeyStore> SigV4Layer<K> {
    pub fn new(verifier: Verifier<K>) -> SigV4Layer<K> {
        SigV4Layer::shared(Arc::new(verifier))
    }

    /// A layer over a verifier shared with other code (key management).
    pub fn shared(verifier: Arc<Verifier<K>>) -> SigV4Layer<K> {
        SigV4Layer {
            verifier,
            now: Arc::new(system_now),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Uses `now` instead of the system clock.
    pub fn with_clock(mut self, now: NowFn) -> SigV4Layer<K> {
        self.now = now;
        self
    }

    pub fn with_max_body_bytes(mut self, max: usize) -> SigV4Layer<K> {
        self.max_body_bytes = max;
        self
    }
}

impl<S, K> Layer<S> for SigV4Layer<K> {
    type Service = SigV4Service<S, K>;

    fn layer(&self, inner: S) -> SigV4Service<S, K> {
        SigV4Service {
            inner,
            verifier: Arc::clone(&self.verifier),
            now: Arc::clone(&self.now),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// The service [`SigV4Layer`] wraps around the inner one.
pub struct SigV4Service<S, K> {
    inner: S,
    verifier: Arc<Verifier<K>>,
    now: NowFn,
    max_body_bytes: usize,
}

impl<S: Clone, K> Clone for SigV4Service<S, K> {
    fn clone(&self) -> Self {
        SigV4Service {
            inner: self.inner.clone(),
            verifier: Arc::clone(&self.verifier),
            now: Arc::clone(&self.now),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

impl<S, K> Service<Request<Body>> for SigV4Service<S, K>
where
    S: Service<Request<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    K: KeyStore,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready is the one to call (tower's rule
        // for services that move into a future).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let verifier = Arc::clone(&self.verifier);
        let now = Arc::clone(&self.now);
        let max = self.max_body_bytes;
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let bytes = match axum::body::to_bytes(body, max).await {
                Ok(bytes) => bytes,
                Err(_) => {
                    return Ok(refuse(AuthError::new(
                        AuthErrorKind::BadRequest,
                        format!(
                            "The request body could not be read or is larger than {max} bytes."
                        ),
                    )))
                }
            };
            let result = verifier
                .verify(&parts.method, &parts.uri, &parts.headers, &bytes, now())
                .await;
            match result {
                Ok(principal) => {
                    parts.extensions.insert::<Principal>(principal);
                    let response = inner
                        .call(Request::from_parts(parts, Body::from(bytes)))
                        .await?;
                    Ok(response.into_response())
                }
                Err(err) => Ok(refuse(err)),
            }
        })
    }
}

fn refuse(err: AuthError) -> Response {
    let mut response = err.clone().into_response();
    response.extensions_mut().insert(err);
    response
}
