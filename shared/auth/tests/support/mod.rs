//! Test helpers: an independent SigV4 signer and request builders.
//!
//! The signer is written again from the published algorithm, sharing no
//! code with the crate, so that a bug in `flowstate_auth::sigv4` cannot
//! hide itself by being on both sides. It handles what SDKs send to Step
//! Functions (paths of unreserved characters, no query) and nothing more.

use axum::http::request::Parts;
use axum::http::Request;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const REGION: &str = "us-east-1";
/// 2026-11-25T12:00:00Z in epoch milliseconds, and as X-Amz-Date.
pub const NOW_MS: i64 = 1_795_608_000_000;
pub const NOW_AMZ: &str = "20261125T120000Z";
pub const SECOND: i64 = 1000;
pub const MINUTE: i64 = 60 * SECOND;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// What to sign; headers are (name, value) as sent.
pub struct ToSign<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub amz_date: &'a str,
}

/// Returns (canonical request, string to sign, Authorization header).
pub fn sign(req: &ToSign<'_>) -> (String, String, String) {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.sort();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let mut query: Vec<&str> = req.query.split('&').filter(|q| !q.is_empty()).collect();
    query.sort();
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        query.join("&"),
        canonical_headers,
        signed,
        hex(&Sha256::digest(req.body))
    );
    let date = &req.amz_date[..8];
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        req.amz_date,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k = mac(format!("AWS4{}", req.secret).as_bytes(), date);
    let k = mac(&k, req.region);
    let k = mac(&k, req.service);
    let k = mac(&k, "aws4_request");
    let signature = hex(&mac(&k, &string_to_sign));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        req.access_key_id
    );
    (canonical, string_to_sign, authorization)
}

/// A Step Functions call as the SDKs send it, signed at `amz_date` with
/// `secret`; `extra` headers are added after signing (unsigned).
pub struct SfnCall<'a> {
    pub target: &'a str,
    pub body: &'a str,
    pub amz_date: &'a str,
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub host: &'a str,
}

impl Default for SfnCall<'_> {
    fn default() -> Self {
        SfnCall {
            target: "AWSStepFunctions.ListStateMachines",
            body: "{}",
            amz_date: NOW_AMZ,
            access_key_id: AKID,
            secret: SECRET,
            host: "abc123.execute-api.us-east-1.amazonaws.com",
        }
    }
}

impl SfnCall<'_> {
    /// The headers, Authorization included, as (name, value).
    pub fn headers(&self) -> Vec<(String, String)> {
        let target = format!(
            "AWSStepFunctions.{}",
            self.target.trim_start_matches("AWSStepFunctions.")
        );
        let base = [
            ("host", self.host),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
            ("x-amz-date", self.amz_date),
        ];
        let (_, _, authorization) = sign(&ToSign {
            method: "POST",
            path: "/",
            query: "",
            headers: &base,
            body: self.body.as_bytes(),
            access_key_id: self.access_key_id,
            secret: self.secret,
            region: REGION,
            service: "states",
            amz_date: self.amz_date,
        });
        let mut out: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        out.push(("authorization".to_owned(), authorization));
        out.push((
            "user-agent".to_owned(),
            "aws-sdk-rust/1.0 (unsigned, as SDKs leave it)".to_owned(),
        ));
        out
    }
}

/// Request parts for `method path` with `headers`.
pub fn parts(method: &str, path: &str, headers: &[(String, String)]) -> Parts {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(()).expect("valid request").into_parts().0
}

/// Replaces (or removes, with `None`) header `name`.
pub fn with_header(
    headers: &[(String, String)],
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    if let Some(v) = value {
        out.push((name.to_owned(), v.to_owned()));
    }
    out
}
