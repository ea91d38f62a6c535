//! Small pieces of JSONPath-mode data flow shared by the states: InputPath,
//! ResultPath, OutputPath, value rendering in messages, sizes, timestamps and
//! deterministic seeds.

use flowstate_asl::definition::{Io, PathField, ResultPath, Selector};
use flowstate_asl::errors::{Failure, StatesError};
use flowstate_asl::Scope;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// `States.Runtime` with the given cause (without the state prefix).
pub(crate) fn runtime(cause: impl Into<String>) -> Failure {
    Failure::states(StatesError::Runtime, cause)
}

/// Applies `InputPath`/`OutputPath`/`ItemsPath`.
pub fn path_field(
    field: &PathField,
    input: &Arc<Value>,
    scope: &dyn Scope,
) -> Result<Arc<Value>, Failure> {
    match field {
        PathField::Identity => Ok(input.clone()),
        PathField::Null => Ok(Arc::new(Value::Object(Map::new()))),
        PathField::Path(p) if p.as_str() == "$" => Ok(input.clone()),
        PathField::Path(p) => match p.select(input, scope) {
            Some(v) => Ok(Arc::new(v)),
            None => Err(runtime(p.no_results_message())),
        },
    }
}

/// [`path_field`] that borrows the selection from `input` when it can.
pub fn path_field_cow<'a>(
    field: &PathField,
    input: &'a Value,
    scope: &'a dyn Scope,
) -> Result<Cow<'a, Value>, Failure> {
    match field {
        PathField::Identity => Ok(Cow::Borrowed(input)),
        PathField::Null => Ok(Cow::Owned(Value::Object(Map::new()))),
        PathField::Path(p) if p.as_str() == "$" => Ok(Cow::Borrowed(input)),
        PathField::Path(p) => p
            .select_cow(input, scope)
            .ok_or_else(|| runtime(p.no_results_message())),
    }
}

/// The state's InputPath applied to `input` (identity in JSONata mode).
pub fn path_field_or_identity(
    io: &Io,
    input: &Arc<Value>,
    scope: &dyn Scope,
) -> Result<Arc<Value>, Failure> {
    match io {
        Io::JsonPath { input_path, .. } => path_field(input_path, input, scope),
        Io::Jsonata { .. } => Ok(input.clone()),
    }
}

/// Applies `ResultPath`: where the result goes in the raw input.
pub fn result_path(
    rp: &ResultPath,
    raw: &Arc<Value>,
    result: Arc<Value>,
) -> Result<Arc<Value>, Failure> {
    match rp {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw.clone()),
        ResultPath::Path(p) if p.as_str() == "$" => Ok(result),
        ResultPath::Path(p) => {
            let mut target = (**raw).clone();
            p.assign(&mut target, Arc::unwrap_or_clone(result))
                .map_err(|m| {
                    Failure::states(
                        StatesError::ResultPathMatchFailure,
                        format!(
                            "Unable to apply ResultPath '{}' to input '{}': {m}",
                            p.as_str(),
                            compact(raw)
                        ),
                    )
                })?;
            Ok(Arc::new(target))
        }
    }
}

/// Reads a `...Path` field's value: a JSONPath or an intrinsic function.
pub fn select(
    sel: &Selector,
    input: &Value,
    scope: &dyn Scope,
    seed: u64,
) -> Result<Option<Value>, Failure> {
    match sel {
        Selector::Path(p) => Ok(p.select(input, scope)),
        Selector::Intrinsic(i) => i.evaluate(input, scope, seed).map(Some),
    }
}

/// Compact JSON text, as Step Functions renders values in messages.
pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value as AWS prints it after `==` in messages: strings bare, others as JSON.
pub fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

/// JSON type names as Step Functions' messages use them.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An integer, also when written as `3.0`.
pub fn as_exact_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
        }),
        _ => None,
    }
}

/// Parses an RFC 3339 timestamp (with `T` and an offset, as AWS requires) to
/// epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if !s.contains('T') {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Size of the value's compact JSON text in bytes, without building it.
pub fn json_size(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_size(n),
        Value::String(s) => string_size(s),
        Value::Array(a) => 2 + a.iter().map(json_size).sum::<usize>() + a.len().saturating_sub(1),
        Value::Object(m) => {
            2 + m
                .iter()
                .map(|(k, v)| string_size(k) + 1 + json_size(v))
                .sum::<usize>()
                + m.len().saturating_sub(1)
        }
    }
}

/// Exact size of `merged`, which is `raw` (of size `raw_size`) with a value
/// assigned at reference path `p`, and the member of `merged` that differs:
/// only the member named by the path's first step changed, so only that
/// member of each is measured. `None` when the shortcut does not apply (not
/// an object, or the first step is an index).
pub fn merged_size<'m>(
    p: &flowstate_asl::jsonpath::JsonPath,
    raw: &Value,
    raw_size: usize,
    merged: &'m Value,
) -> Option<(usize, &'m Value)> {
    let key = p.first_field()?;
    let (Value::Object(before), Value::Object(after)) = (raw, merged) else {
        return None;
    };
    let entry = |v: &Value| string_size(key) + 1 + json_size(v);
    let member = after.get(key)?;
    let old = before.get(key).map(entry);
    let new = entry(member);
    if after.len() != before.len() + usize::from(old.is_none()) {
        return None;
    }
    let commas = |n: usize| n.saturating_sub(1);
    Some((
        raw_size - old.unwrap_or(0) - commas(before.len()) + new + commas(after.len()),
        member,
    ))
}

/// Counts the bytes a `Display` writes without allocating them.
struct CountingWriter(usize);

impl std::fmt::Write for CountingWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn number_size(n: &serde_json::Number) -> usize {
    if let Some(u) = n.as_u64() {
        return u.checked_ilog10().map_or(1, |d| d as usize + 1);
    }
    if let Some(i) = n.as_i64() {
        return 1 + i
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1);
    }
    let mut w = CountingWriter(0);
    let _ = std::fmt::Write::write_fmt(&mut w, format_args!("{n}"));
    w.0
}

fn string_size(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// SplitMix64: a tiny, well-distributed mixer for deterministic seeds.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed unique to an execution, frame and position in its history, so that
/// `States.UUID`, `$random()` and jitter are deterministic on replay.
pub fn seed(execution_arn: &str, frame: u64, event_id: u64) -> u64 {
    // FNV-1a over the ARN, then mixed with the position.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in execution_arn.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(h ^ splitmix(frame ^ event_id.rotate_left(32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_size_matches_serialised_length() {
        for v in [
            json!({"a": [1, 2.5, "x\"y\n", -12, 0, 1e300, u64::MAX], "b": null, "é": true}),
            json!([]),
            json!({}),
            json!("\u{1}"),
        ] {
            assert_eq!(
                json_size(&v),
                serde_json::to_string(&v).unwrap().len(),
                "{v}"
            );
        }
    }

    #[test]
    fn merged_size_matches_a_full_walk() {
        let raw = json!({"a": 1, "meta": {"x": [1, 2]}, "z": "é"});
        for (path, value) in [
            ("$.meta", json!({"y": "long text"})),
            ("$.new", json!([1, {"k": null}])),
            ("$.meta.x", json!(true)),
            ("$.deep.er.still", json!(-3)),
        ] {
            let p = flowstate_asl::jsonpath::JsonPath::parse(path).unwrap();
            let mut merged = raw.clone();
            p.assign(&mut merged, value).unwrap();
            assert_eq!(
                merged_size(&p, &raw, json_size(&raw), &merged).map(|(size, _)| size),
                Some(json_size(&merged)),
                "{path}"
            );
        }
        let empty = json!({});
        let p = flowstate_asl::jsonpath::JsonPath::parse("$.k").unwrap();
        let mut merged = empty.clone();
        p.assign(&mut merged, json!("v")).unwrap();
        assert_eq!(
            merged_size(&p, &empty, 2, &merged),
            Some((json_size(&merged), &json!("v")))
        );
    }

    #[test]
    fn timestamps_need_t_and_offset() {
        assert!(parse_timestamp("2016-12-05T21:29:29Z").is_some());
        assert!(parse_timestamp("2016-12-05T21:29:29.123456789Z").is_some());
        assert!(parse_timestamp("2016-12-05 21:29:29Z").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29").is_none());
        assert!(parse_timestamp("2016-12-05T25:29:29Z").is_none());
    }
}
