//! `States.StringToJson`, `States.JsonToString`, `States.JsonMerge`.

use super::{arg_str, failure, nth, type_name, ArgVal, Func};
use crate::errors::Failure;
use crate::jsonpath::compact;
use serde_json::Value;

/// An empty (or blank) string parses to `null`, as on AWS.
pub(super) fn string_to_json(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let text = arg_str(f, args, 0, "argument")?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| failure(f, format!("the string '{text}' is not valid JSON: {e}")))?;
    Ok(normalize_negative_zero(v, text))
}

/// `-0` is the integer 0 on AWS (Jackson reads it as an int), but serde_json
/// reads it as the float `-0.0`. A float `-0.0` is turned back into 0 unless
/// the text spelled one as a float (`-0.0`, `-0e1`).
fn normalize_negative_zero(mut v: Value, text: &str) -> Value {
    if text.contains("-0.") || text.contains("-0e") || text.contains("-0E") {
        return v;
    }
    // In place: only the numbers change, so maps keep their order and are
    // not rebuilt (the text of a large document often contains "-0" inside
    // strings, such as "item-0001").
    fn fix(v: &mut Value) {
        match v {
            Value::Number(n) if n.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative()) => {
                *v = Value::from(0);
            }
            Value::Array(a) => a.iter_mut().for_each(fix),
            Value::Object(o) => o.values_mut().for_each(fix),
            _ => {}
        }
    }
    if text.contains("-0") {
        fix(&mut v);
    }
    v
}

/// Compact JSON, no spaces (as Jackson writes it).
pub(super) fn json_to_string(args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    Ok(Value::String(
        args.first().map(|a| compact(&a.value)).unwrap_or_default(),
    ))
}

/// Shallow merge: keys of the second object win; keys already in the first keep
/// their position, new keys are appended. Deep merge is not available on AWS.
pub(super) fn json_merge(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let a = nth(f, args, 0)?;
    let b = nth(f, args, 1)?;
    let deep = nth(f, args, 2)?;
    match deep {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(failure(
                f,
                "deep merge is not supported; the third argument must be false",
            ))
        }
        other => {
            return Err(failure(
                f,
                format!(
                    "the third argument must be a boolean, but was {}",
                    compact(other)
                ),
            ))
        }
    }
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        let bad = if a.is_object() { b } else { a };
        return Err(failure(
            f,
            format!(
                "both arguments to merge must be objects, but one was {} {}",
                type_name(bad),
                compact(bad)
            ),
        ));
    };
    let mut out = a.clone();
    for (k, v) in b {
        out.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(out))
}
