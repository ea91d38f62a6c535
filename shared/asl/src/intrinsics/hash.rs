//! `States.Hash(data, algorithm)`: hex digest with MD5, SHA-1, SHA-256, SHA-384 or SHA-512.

use super::{arg_str, failure, nth, ArgVal, Func};
use crate::errors::Failure;
use crate::jsonpath::compact;
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::fmt::Write as _;

/// Step Functions limits the data to hash to 10,000 characters.
const MAX_DATA_CHARS: usize = 10_000;

pub(super) fn hash(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let data = nth(f, args, 0)?;
    // A non-string is hashed as its compact JSON text.
    let text = match data {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        other => std::borrow::Cow::Owned(compact(other)),
    };
    if text.chars().count() > MAX_DATA_CHARS {
        return Err(failure(
            f,
            format!("the data to hash must not exceed {MAX_DATA_CHARS} characters"),
        ));
    }
    let algorithm = arg_str(f, args, 1, "algorithm")?;
    let bytes = text.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(failure(
                f,
                format!("the hash algorithm '{other}' is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
            ))
        }
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(Value::String(hex))
}
