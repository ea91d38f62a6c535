//! Task tokens: opaque, signed handles naming the execution, the frame and
//! the exact wait (`seq`) a callback resumes.
//!
//! Layout: `base64url(json [arn, frame, seq]) . base64url(hmac-sha256)`. The
//! signature makes tokens unforgeable; the embedded names let any worker
//! route a callback without a lookup table.

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

fn sign(key: &[u8], body: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub fn issue(key: &[u8], execution_arn: &str, frame: u64, seq: u64) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::json!([execution_arn, frame, seq]).to_string());
    let sig = URL_SAFE_NO_PAD.encode(sign(key, &body));
    format!("{body}.{sig}")
}

pub fn verify(key: &[u8], token: &str) -> Result<TokenRef, TokenError> {
    let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| TokenError::Malformed)?;
    mac.update(body.as_bytes());
    mac.verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let raw = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)?;
    let parts: (String, u64, u64) =
        serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed)?;
    Ok(TokenRef {
        execution_arn: parts.0,
        frame: parts.1,
        seq: parts.2,
    })
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
}
