//! Why a request was refused, and how AWS spells it on the wire.
//!
//! The codes are the ones AWS's JSON-protocol services (Step Functions,
//! DynamoDB, ...) send for authentication failures, so SDKs raise the
//! exceptions their users already handle (`UnrecognizedClientException`,
//! `InvalidSignatureException`, ...). The status is 403 for every
//! authentication failure: AWS's common-errors reference lists 403 for
//! `IncompleteSignature` and `UnrecognizedClientException`, the issue asks
//! for 403, and SDKs classify these errors by code, not by status. A broken
//! key store is our fault and answers 500, so SDKs retry it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What went wrong; [`AuthErrorKind::code`] maps it to the AWS error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No `Authorization` header at all.
    MissingAuthenticationToken,
    /// An `Authorization` header that is not a complete SigV4 header, or a
    /// required header (date, host, target) missing or not signed.
    IncompleteSignature,
    /// The signature does not match the request (wrong secret, tampered
    /// body or header, wrong scope).
    SignatureMismatch,
    /// `X-Amz-Date` more than the allowed skew in the past.
    SignatureExpired,
    /// `X-Amz-Date` more than the allowed skew in the future.
    SignatureNotYetCurrent,
    /// The same signature was already accepted (only with a replay cache).
    Replayed,
    /// The access key id is unknown or revoked, or a session token was
    /// sent (Flowstate issues none).
    UnrecognizedClient,
    /// The body could not be read (too large, connection error).
    BadRequest,
    /// The key store failed; not the caller's fault.
    Internal,
}

impl AuthErrorKind {
    /// The `__type` AWS sends for this failure.
    pub fn code(self) -> &'static str {
        match self {
            AuthErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthErrorKind::IncompleteSignature => "IncompleteSignatureException",
            AuthErrorKind::SignatureMismatch
            | AuthErrorKind::SignatureExpired
            | AuthErrorKind::SignatureNotYetCurrent
            | AuthErrorKind::Replayed => "InvalidSignatureException",
            AuthErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            AuthErrorKind::BadRequest => "SerializationException",
            AuthErrorKind::Internal => "InternalFailure",
        }
    }

    /// The HTTP status (see the module documentation).
    pub fn status(self) -> StatusCode {
        match self {
            AuthErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AuthErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// A refused request: the kind and the public message, in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct AuthError {
    pub kind: AuthErrorKind,
    pub message: String,
    /// What the operator needs and the client must not see (a key store
    /// failure's cause); for logs only, never rendered in the response.
    pub detail: Option<String>,
}

impl AuthError {
    pub fn new(kind: AuthErrorKind, message: impl Into<String>) -> AuthError {
        AuthError {
            kind,
            message: message.into(),
            detail: None,
        }
    }

    pub(crate) fn incomplete(message: impl Into<String>) -> AuthError {
        AuthError::new(AuthErrorKind::IncompleteSignature, message)
    }

    pub(crate) fn mismatch(message: impl Into<String>) -> AuthError {
        AuthError::new(AuthErrorKind::SignatureMismatch, message)
    }

    pub(crate) fn unrecognized() -> AuthError {
        AuthError::new(
            AuthErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
    }

    /// The JSON body, as Step Functions sends errors.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"__type": self.kind.code(), "message": self.message})
    }
}

/// The same wire shape as `flowstate_api::ApiError`: awsJson1_0 content
/// type, the code in the body and in `x-amzn-ErrorType` (which the Rust SDK
/// reads first).
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut res = (self.kind.status(), self.body().to_string()).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        h.insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static(self.kind.code()),
        );
        res
    }
}

/// A key store failure (network, KMS, corrupt record). Its text is logged
/// by the caller, never sent to the client.
#[derive(Debug, thiserror::Error)]
#[error("key store: {0}")]
pub struct KeyStoreError(pub String);
