//! `States.Array*`: partition, contains, range, get item, length, unique.
//! (`States.Array` itself only collects its arguments.)

use super::{arg_array, arg_int, failure, nth, ArgVal, Func};
use crate::errors::Failure;
use serde_json::Value;
use std::collections::HashSet;

/// Step Functions caps `States.ArrayRange` results at 1,000 elements.
const MAX_RANGE_ITEMS: i64 = 1000;

pub(super) fn partition(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let items = arg_array(f, args, 0, "first argument")?;
    let size = arg_int(f, args, 1, "chunk size")?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            failure(
                f,
                format!("the chunk size must be greater than 0, but was {size}"),
            )
        })?;
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

pub(super) fn contains(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let items = arg_array(f, args, 0, "first argument")?;
    let needle = nth(f, args, 1)?;
    Ok(Value::Bool(items.iter().any(|v| v == needle)))
}

/// `States.ArrayRange(start, end, step)`: `end` included when the steps reach it.
pub(super) fn range(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let start = arg_int(f, args, 0, "start")?;
    let end = arg_int(f, args, 1, "end")?;
    let step = arg_int(f, args, 2, "step")?;
    if step == 0 {
        return Err(failure(f, "the step must not be 0"));
    }
    let count = if (step > 0 && end < start) || (step < 0 && end > start) {
        0
    } else {
        (i128::from(end) - i128::from(start)) / i128::from(step) + 1
    };
    if count > i128::from(MAX_RANGE_ITEMS) {
        return Err(failure(
            f,
            format!(
                "the result would have {count} elements, more than the limit of {MAX_RANGE_ITEMS}"
            ),
        ));
    }
    let mut out = Vec::new();
    let mut x = start;
    for _ in 0..count {
        out.push(Value::from(x));
        x = x.saturating_add(step);
    }
    Ok(Value::Array(out))
}

pub(super) fn get_item(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let items = arg_array(f, args, 0, "first argument")?;
    let index = arg_int(f, args, 1, "index")?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            failure(
                f,
                format!(
                    "the index {index} is out of bounds for an array of {} element(s)",
                    items.len()
                ),
            )
        })
}

pub(super) fn length(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    Ok(Value::from(arg_array(f, args, 0, "argument")?.len()))
}

/// Keeps the first occurrence of each value, in order.
pub(super) fn unique(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let items = arg_array(f, args, 0, "argument")?;
    let mut seen = HashSet::with_capacity(items.len());
    let out = items
        .iter()
        .filter(|v| seen.insert(canonical(v)))
        .cloned()
        .collect();
    Ok(Value::Array(out))
}

/// A string equal for equal values: object keys sorted, since `{"a":1,"b":2}`
/// and `{"b":2,"a":1}` are the same JSON value.
fn canonical(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    if let Some(x) = o.get(k) {
                        write(x, out);
                    }
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}
