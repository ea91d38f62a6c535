//! AWS Signature Version 4 verification for Flowstate's Step Functions API.
//!
//! The AWS CLI and SDKs sign every Step Functions request with SigV4 for the
//! service name `states`. API Gateway's IAM authorizer only accepts the
//! signing name `execute-api`, so Flowstate verifies the signature itself,
//! against access keys it issues and stores. Users then point unchanged
//! tools at a deployed Flowstate (`aws stepfunctions --endpoint-url ...`)
//! with a Flowstate key pair in their profile.
//!
//! - [`sigv4`]: the published algorithm (canonical request, string to sign,
//!   signing key), pure functions on strings.
//! - [`Verifier`] / [`verify`]: checks one request — header syntax, clock
//!   skew (5 minutes, both ways), credential scope, key lookup, signature
//!   (constant-time) — and yields the signing [`Principal`] or an
//!   [`AuthError`] with the code AWS would send
//!   (`MissingAuthenticationTokenException`, `IncompleteSignatureException`,
//!   `InvalidSignatureException`, `UnrecognizedClientException`), HTTP 403.
//! - [`KeyStore`]: where secrets come from; [`InMemoryKeyStore`] here, the
//!   DynamoDB + KMS store in the AWS adapter. [`issue_key`] makes new
//!   `AKIA…` ids and 40-character secrets from caller-supplied randomness.
//! - [`SigV4Layer`]: a tower layer for any axum router; the verified
//!   [`Principal`] lands in the request extensions.
//! - [`ReplayCache`]: optional refusal of a signature seen before.
//!
//! A body replayed under another request's signature always fails: the
//! SHA-256 of the body actually received is part of the canonical request.
//!
//! ```
//! use flowstate_auth::{InMemoryKeyStore, SigV4Layer, Verifier, VerifierConfig};
//!
//! let keys = InMemoryKeyStore::new();
//! keys.add("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ci");
//! let verifier = Verifier::new(keys).with_config(VerifierConfig {
//!     region: Some("eu-west-1".into()),
//!     ..VerifierConfig::default()
//! });
//! let app: axum::Router = axum::Router::new().layer(SigV4Layer::new(verifier));
//! # drop(app);
//! ```

pub mod error;
pub mod keys;
pub mod layer;
pub mod replay;
pub mod sigv4;
pub mod verifier;

pub use error::{AuthError, AuthErrorKind, KeyStoreError};
pub use keys::{
    issue_key, InMemoryKeyStore, IssuedKey, KeyStatus, KeyStore, SecretKey, StoredKey,
    ISSUE_RANDOM_BYTES,
};
pub use layer::{SigV4Layer, SigV4Service};
pub use replay::ReplayCache;
pub use verifier::{Principal, Verifier, VerifierConfig, DEFAULT_MAX_SKEW_MS, SERVICE};

/// Verifies one request with the default rules (service `states`, any
/// region, 5 minutes of skew, no replay cache). `now` is epoch milliseconds.
pub async fn verify<K: KeyStore>(
    parts: &axum::http::request::Parts,
    body: &[u8],
    key_store: &K,
    now: i64,
) -> Result<Principal, AuthError> {
    let request = verifier::RequestRef {
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        body,
    };
    verifier::check(key_store, &VerifierConfig::default(), None, request, now).await
}
