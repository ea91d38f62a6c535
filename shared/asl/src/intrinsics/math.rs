//! `States.MathAdd` and `States.MathRandom`.

use super::{arg_int, failure, nth, ArgVal, Func, Rng};
use crate::errors::Failure;
use crate::jsonpath::compact;
use serde_json::Value;

/// Step Functions' math functions work on Java `int`s.
const MIN: i64 = i32::MIN as i64;
const MAX: i64 = i32::MAX as i64;

/// A number argument rounded as Java's `Math.round` does (half up:
/// `floor(x + 0.5)`), which the conformance cases show: `-2.5` → `-2`,
/// `2.5` → `3`, `-0.5 + 0.5` → `0 + 1`.
fn rounded(f: Func, args: &[ArgVal<'_>], i: usize, what: &str) -> Result<i64, Failure> {
    let v = nth(f, args, i)?;
    let n = match v {
        Value::Number(n) => n,
        other => {
            return Err(failure(
                f,
                format!("the {what} must be a number, but was {}", compact(other)),
            ))
        }
    };
    let x = match n.as_i64() {
        Some(x) => x,
        None => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let r = (x + 0.5).floor();
            if !r.is_finite() || r < MIN as f64 || r > MAX as f64 {
                return Err(failure(
                    f,
                    format!("the {what} {n} is outside the integer range [{MIN}, {MAX}]"),
                ));
            }
            r as i64
        }
    };
    if !(MIN..=MAX).contains(&x) {
        return Err(failure(
            f,
            format!("the {what} {x} is outside the integer range [{MIN}, {MAX}]"),
        ));
    }
    Ok(x)
}

pub(super) fn add(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let a = rounded(f, args, 0, "first value")?;
    let b = rounded(f, args, 1, "second value")?;
    Ok(Value::from(a + b))
}

/// `States.MathRandom(start, end[, seed])`: an integer in `[start, end)`.
/// Without a seed the evaluation's generator is used (seeded by the caller).
pub(super) fn random(f: Func, args: &[ArgVal<'_>], rng: &mut Rng) -> Result<Value, Failure> {
    let start = rounded(f, args, 0, "start")?;
    let end = rounded(f, args, 1, "end")?;
    if start >= end {
        return Err(failure(
            f,
            format!("the start {start} must be less than the end {end}"),
        ));
    }
    let draw = if args.len() > 2 {
        let seed = arg_int(f, args, 2, "seed")?;
        Rng::new(seed as u64).next_u64()
    } else {
        rng.next_u64()
    };
    let span = (end - start) as u64;
    Ok(Value::from(start + (draw % span) as i64))
}
