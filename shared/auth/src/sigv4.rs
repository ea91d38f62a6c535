//! The Signature Version 4 algorithm itself: canonical request, string to
//! sign, signing key and signature, as AWS publishes it
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>).
//!
//! Everything here is pure and works on plain strings, so the verifier and
//! any future client-side signer compute byte-identical canonical forms.
//! The choices that differ between AWS services are fixed to what the SDKs
//! do for every service except S3, Step Functions included:
//!
//! - the URI path is normalised (dot segments and empty segments removed)
//!   and percent-encoded *again* although it is already encoded on the wire
//!   ("double encoding");
//! - the payload hash is always the SHA-256 of the body actually received,
//!   never a client-supplied value such as `UNSIGNED-PAYLOAD`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm SigV4 defines for headers.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The fixed last element of a credential scope.
pub const TERMINATOR: &str = "aws4_request";

type HmacSha256 = Hmac<Sha256>;

/// Lower-case hexadecimal, as SigV4 prints hashes and signatures.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hexadecimal (either case); `None` if `s` is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `hex(sha256(data))`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; the fallback
    // keeps the function total without an unwrap.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
    mac.update(data);
    mac
}

fn hmac_bytes(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac(key, data).finalize().into_bytes().to_vec()
}

/// The derived signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date),
/// region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_bytes(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_bytes(&k_date, region.as_bytes());
    let k_service = hmac_bytes(&k_region, service.as_bytes());
    hmac_bytes(&k_service, TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign` under `signing_key`.
pub fn signature(signing_key: &[u8], string_to_sign: &str) -> String {
    hex(&hmac_bytes(signing_key, string_to_sign.as_bytes()))
}

/// Checks `provided` (hex, as sent in the Authorization header) against the
/// signature of `string_to_sign`, in constant time: `Mac::verify_slice`
/// compares with `subtle`, so the time taken does not reveal how many
/// leading bytes of a forged signature were right.
pub fn signature_matches(signing_key: &[u8], string_to_sign: &str, provided: &str) -> bool {
    let Some(provided) = unhex(provided) else {
        return false;
    };
    hmac(signing_key, string_to_sign.as_bytes())
        .verify_slice(&provided)
        .is_ok()
}

/// `<date>/<region>/<service>/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

/// The string to sign: algorithm, timestamp, scope, hash of the canonical
/// request, one per line.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The canonical request. `headers` are the signed headers only, each as
/// (lower-case name, values in arrival order); `signed_headers` is the
/// `;`-joined list the client declared, which must name exactly those.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &[(String, Vec<String>)],
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method);
    out.push('\n');
    out.push_str(&canonical_uri(raw_path));
    out.push('\n');
    out.push_str(&canonical_query(raw_query.unwrap_or("")));
    out.push('\n');
    for (name, values) in headers {
        out.push_str(name);
        out.push(':');
        let trimmed: Vec<String> = values.iter().map(|v| canonical_header_value(v)).collect();
        out.push_str(&trimmed.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// Trims a header value and collapses runs of spaces into one, as the
/// specification asks (quoted strings are not special-cased: no SDK does).
pub fn canonical_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut last_space = false;
    for c in value.trim().chars() {
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out
}

/// The canonical URI: `raw_path` as it arrived (still percent-encoded),
/// normalised like botocore's `remove_dot_segments` (which also drops empty
/// segments), then percent-encoded once more.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut path = String::new();
    if raw_path.starts_with('/') {
        path.push('/');
    }
    path.push_str(&segments.join("/"));
    if raw_path.ends_with('/') && !segments.is_empty() {
        path.push('/');
    }
    if path.is_empty() {
        path.push('/');
    }
    uri_encode(&path, false)
}

/// The canonical query string: every name and value decoded, re-encoded
/// strictly, then sorted by name and value. Decoding first makes `%7E` and
/// `~`, or lower- and upper-case escapes, sign the same way, as AWS does.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&percent_decode(k), true),
                uri_encode(&percent_decode(v), true),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// SigV4's URI encoding: every byte except the unreserved characters
/// `A-Z a-z 0-9 - _ . ~` becomes `%XY` (upper-case hex); `/` is kept unless
/// `encode_slash`.
pub fn uri_encode(input: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (b == b'/' && !encode_slash);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XY` escapes; anything malformed is kept literally (it then
/// gets encoded, so the client and the server still agree byte for byte).
fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Work on bytes, not `&str` slices: a slice through a multi-byte
        // character would panic.
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (nibble(bytes[i + 1]), nibble(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_path_is_normalised_and_double_encoded() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a/./b/../c//d/"), "/a/c/d/");
        assert_eq!(canonical_uri("/prod/a%20b"), "/prod/a%2520b");
        assert_eq!(canonical_uri("/.."), "/");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("x=%7e&y=a b"), "x=~&y=a%20b");
        assert_eq!(canonical_query("flag"), "flag=");
        assert_eq!(canonical_query("bad=%zz%4"), "bad=%25zz%254");
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(canonical_header_value("  a   b  c "), "a b c");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
