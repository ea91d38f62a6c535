//! Task tokens: opaque, signed handles naming the execution, the frame and
//! the exact wait (`seq`) a callback resumes.
//!
//! Layout: `base64url(json [arn, frame, seq]) . base64url(hmac-sha256)`. The
//! signature makes tokens unforgeable; the embedded names let any worker
//! route a callback without a lookup table.
//!
//! [`seal`] and [`unseal`] make other handles the same way, bound to a
//! purpose: a page token sealed for one request opens for that request only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRef {
    pub execution_arn: String,
    pub frame: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the task token is malformed")]
    Malformed,
    #[error("the task token's signature does not match")]
    BadSignature,
}

/// The MAC of `parts`, one after the other.
fn mac(key: &[u8], parts: &[&[u8]]) -> Result<HmacSha256, TokenError> {
    // HMAC accepts keys of any length: this does not fail in practice.
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| TokenError::Malformed)?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac)
}

/// `base64url(payload) . base64url(mac(prefix + body))`.
fn make(key: &[u8], prefix: &[&[u8]], payload: &str) -> String {
    let body = URL_SAFE_NO_PAD.encode(payload);
    let parts: Vec<&[u8]> = prefix.iter().copied().chain([body.as_bytes()]).collect();
    let sig = mac(key, &parts)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default();
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The payload of a token [`make`] made with `key` and `prefix`.
fn open(key: &[u8], prefix: &[&[u8]], token: &str) -> Result<Vec<u8>, TokenError> {
    let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    let parts: Vec<&[u8]> = prefix.iter().copied().chain([body.as_bytes()]).collect();
    mac(key, &parts)?
        .verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)
}

pub fn issue(key: &[u8], execution_arn: &str, frame: u64, seq: u64) -> String {
    make(
        key,
        &[],
        &serde_json::json!([execution_arn, frame, seq]).to_string(),
    )
}

pub fn verify(key: &[u8], token: &str) -> Result<TokenRef, TokenError> {
    let raw = open(key, &[], token)?;
    let parts: (String, u64, u64) =
        serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed)?;
    Ok(TokenRef {
        execution_arn: parts.0,
        frame: parts.1,
        seq: parts.2,
    })
}

/// `payload`, opaque and signed for `purpose` (a newline ends the purpose:
/// the body, base64url, has none).
pub fn seal(key: &[u8], purpose: &str, payload: &str) -> String {
    make(key, &[purpose.as_bytes(), b"\n"], payload)
}

/// The payload [`seal`] sealed in `token`, if it was sealed with `key` for
/// this very `purpose`.
pub fn unseal(key: &[u8], purpose: &str, token: &str) -> Result<String, TokenError> {
    let raw = open(key, &[purpose.as_bytes(), b"\n"], token)?;
    String::from_utf8(raw).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_forged_ones_do_not() {
        let t = issue(b"k", "arn:x", 3, 7);
        assert_eq!(
            verify(b"k", &t).unwrap(),
            TokenRef {
                execution_arn: "arn:x".into(),
                frame: 3,
                seq: 7
            }
        );
        assert_eq!(verify(b"other", &t), Err(TokenError::BadSignature));
        assert_eq!(verify(b"k", "garbage"), Err(TokenError::Malformed));
    }

    #[test]
    fn sealed_handles_open_only_for_their_purpose_and_key() {
        let t = seal(b"k", "history of A", "42");
        assert_eq!(unseal(b"k", "history of A", &t), Ok("42".into()));
        assert_eq!(
            unseal(b"k", "history of B", &t),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            unseal(b"other", "history of A", &t),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            unseal(b"k", "history of A", "42"),
            Err(TokenError::Malformed)
        );
    }
}
