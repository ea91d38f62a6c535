//! Item-level encoding shared by the store and the queue: record bodies
//! split over chunk items, attribute helpers, opaque page tokens.

use crate::corrupt;
use aws_sdk_dynamodb::types::AttributeValue;
use flowstate_ports::StoreError;
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Bytes of a record body kept in one item. DynamoDB's item limit is
/// 400 KB including attribute names and the keys (an execution ARN can be
/// ~300 bytes, twice). A record body larger than this — a header carrying
/// a 256 KiB input and a 256 KiB output, a 1 MB definition — is split over
/// chunk items: the size limit is respected by construction, not by luck.
/// Why 190,000 and not ~390,000: moto's UpdateItem counts the replaced
/// value and its replacement together against the limit (its
/// `LimitedSizeDict`), so an update of a header's body must stay under
/// half; the cost on DynamoDB is one more chunk item for bodies between
/// 190 KB and 380 KB.
pub(crate) const CHUNK: usize = 190_000;

/// The partition of a record's extra chunks: beside, not inside, its own
/// partition, so queries over records (frames, history, lists) never see
/// chunks and pagination counts records only.
pub(crate) fn chunk_pk(pk: &str) -> String {
    format!("{pk}~C")
}

pub(crate) fn chunk_sk(sk: &str, k: usize) -> String {
    format!("{sk}~{k:04}")
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Splits `body` into pieces of at most [`CHUNK`] bytes, on character
/// boundaries (bodies are JSON text, stored as strings: DynamoDB counts a
/// string's UTF-8 bytes, and the console shows it).
fn split(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = body;
    while rest.len() > CHUNK {
        let mut at = CHUNK;
        while !rest.is_char_boundary(at) {
            at -= 1;
        }
        let (head, tail) = rest.split_at(at);
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

/// A record ready to write: its main item (first chunk in `d`, the chunk
/// count in `n`) and its extra chunk items.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub main: Item,
    pub chunks: Vec<Item>,
    /// Approximate size in bytes (bodies + keys), for the transaction's
    /// 4 MB limit.
    pub bytes: usize,
}

impl Encoded {
    pub fn items(&self) -> usize {
        1 + self.chunks.len()
    }
    pub fn into_items(self) -> impl Iterator<Item = Item> {
        std::iter::once(self.main).chain(self.chunks)
    }
    /// Sets attribute `name` on the main item and every chunk.
    pub fn with(mut self, name: &str, value: &AttributeValue) -> Encoded {
        self.main.insert(name.into(), value.clone());
        for chunk in &mut self.chunks {
            chunk.insert(name.into(), value.clone());
        }
        self
    }
}

/// Splits `body` over a main item at `pk`/`sk` (with `extra` attributes)
/// and chunk items.
pub(crate) fn encode(pk: &str, sk: &str, mut extra: Item, body: &str) -> Encoded {
    let parts = split(body);
    let overhead = 2 * (pk.len() + sk.len()) + 64;
    let bytes = body.len() + parts.len() * overhead;
    extra.insert("PK".into(), s(pk));
    extra.insert("SK".into(), s(sk));
    extra.insert("d".into(), s(parts[0]));
    extra.insert("n".into(), n(parts.len()));
    let cpk = chunk_pk(pk);
    let chunks = parts[1..]
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mut item = key(cpk.clone(), chunk_sk(sk, i + 1));
            item.insert("d".into(), s(*part));
            item
        })
        .collect();
    Encoded {
        main: extra,
        chunks,
        bytes,
    }
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encoding a record: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// The first chunk of a main item and how many chunks the record has.
pub(crate) fn first_chunk(item: &Item) -> Result<(&str, usize), StoreError> {
    let d = get_s(item, "d").ok_or_else(|| corrupt("item", "no body"))?;
    let count = get_n(item, "n").unwrap_or(1).max(1) as usize;
    Ok((d, count))
}

/// Page tokens are opaque to callers: hex of a key we issued. A token
/// that does not decode is `InvalidToken`.
pub(crate) fn token_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn token_decode(t: &str) -> Result<String, StoreError> {
    if !t.len().is_multiple_of(2) {
        return Err(StoreError::InvalidToken);
    }
    let bytes = (0..t.len())
        .step_by(2)
        .map(|i| {
            t.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(StoreError::InvalidToken)
        })
        .collect::<Result<Vec<u8>, _>>()?;
    String::from_utf8(bytes).map_err(|_| StoreError::InvalidToken)
}

/// FNV-1a: a stable hash (std's is randomised per process) to spread
/// outbox entries over partitions.
pub(crate) fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Frame ids as sorted inclusive ranges: the header's list of live frames
/// stays small (Map iterations get consecutive ids).
pub(crate) fn ranges(ids: impl Iterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => out.push((id, id)),
        }
    }
    out
}

pub(crate) fn in_ranges(ranges: &[(u64, u64)], id: u64) -> bool {
    ranges
        .binary_search_by(|(a, b)| {
            if id < *a {
                std::cmp::Ordering::Greater
            } else if id > *b {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = token_encode("arn:aws:states:x#1");
        assert_eq!(token_decode(&t).unwrap(), "arn:aws:states:x#1");
        assert_eq!(token_decode("zz"), Err(StoreError::InvalidToken));
        assert_eq!(token_decode("abc"), Err(StoreError::InvalidToken));
    }

    #[test]
    fn large_bodies_split_into_chunks_that_fit_an_item() {
        let body = "é".repeat(CHUNK + 5);
        let e = encode("P", "S", Item::new(), &body);
        assert_eq!(e.items(), 3);
        assert_eq!(get_n(&e.main, "n"), Some(3));
        assert_eq!(get_s(&e.chunks[1], "SK"), Some("S~0002"));
        for item in e.into_items() {
            assert!(get_s(&item, "d").is_some_and(|d| d.len() <= CHUNK));
        }
        let small = encode("P", "S", Item::new(), "{}");
        assert_eq!(small.items(), 1);
    }

    #[test]
    fn frame_ranges() {
        let r = ranges([1, 2, 3, 7, 9, 10].into_iter());
        assert_eq!(r, [(1, 3), (7, 7), (9, 10)]);
        assert!(in_ranges(&r, 2) && in_ranges(&r, 10) && !in_ranges(&r, 8) && !in_ranges(&r, 0));
    }
}
