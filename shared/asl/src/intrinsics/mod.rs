//! The 18 intrinsic functions (`States.Format`, ...), as Step Functions
//! evaluates them in JSONPath mode.
//!
//! A call is parsed once into a tree of [`Intrinsic`] arguments (literals,
//! paths, nested calls) and evaluated many times. Argument-count mistakes are
//! parse errors; argument-type mistakes surface at run time as
//! `States.IntrinsicFailure`, and a path argument that selects nothing as
//! `States.Runtime`, as on AWS.
//!
//! The crate is pure: `States.UUID` and an unseeded `States.MathRandom` draw
//! from a deterministic generator seeded by the caller's `uuid_seed`.
//!
//! One module per family: [`array`], [`string`] (with Base64), [`math`],
//! [`hash`], [`json`], [`uuid`].
//!
//! ```
//! use flowstate_asl::{intrinsics::Intrinsic, StaticScope};
//! use serde_json::json;
//! let f = Intrinsic::parse("States.Format('{} + {} = {}', $.a, 2, States.MathAdd($.a, 2))").unwrap();
//! let out = f.evaluate(&json!({"a": 1}), &StaticScope::default(), 0).unwrap();
//! assert_eq!(out, json!("1 + 2 = 3"));
//! ```

mod array;
mod hash;
mod json;
mod math;
mod parse;
mod string;
mod uuid;

use crate::{
    context::Scope,
    errors::{Failure, StatesError},
    jsonpath::{compact, JsonPath},
};
use serde_json::Value;
use std::borrow::Cow;

/// A parsed intrinsic function call, e.g. `States.Format('{}', $.a)`.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    src: String,
    call: Call,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function '{src}': {reason}")]
pub struct ParseError {
    pub src: String,
    pub reason: String,
}

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn looks_like_intrinsic(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

#[derive(Debug, Clone)]
struct Call {
    func: Func,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Arg {
    /// A quoted literal: `value` unescaped, `raw` as written (for `States.Format`).
    Str {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(JsonPath),
    Call(Box<Call>),
}

/// The functions, named exactly as in the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    pub const EVERY: [Func; 18] = [
        Func::Format,
        Func::StringToJson,
        Func::JsonToString,
        Func::Array,
        Func::ArrayPartition,
        Func::ArrayContains,
        Func::ArrayRange,
        Func::ArrayGetItem,
        Func::ArrayLength,
        Func::ArrayUnique,
        Func::Base64Encode,
        Func::Base64Decode,
        Func::Hash,
        Func::JsonMerge,
        Func::MathRandom,
        Func::MathAdd,
        Func::StringSplit,
        Func::Uuid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Func::Format => "States.Format",
            Func::StringToJson => "States.StringToJson",
            Func::JsonToString => "States.JsonToString",
            Func::Array => "States.Array",
            Func::ArrayPartition => "States.ArrayPartition",
            Func::ArrayContains => "States.ArrayContains",
            Func::ArrayRange => "States.ArrayRange",
            Func::ArrayGetItem => "States.ArrayGetItem",
            Func::ArrayLength => "States.ArrayLength",
            Func::ArrayUnique => "States.ArrayUnique",
            Func::Base64Encode => "States.Base64Encode",
            Func::Base64Decode => "States.Base64Decode",
            Func::Hash => "States.Hash",
            Func::JsonMerge => "States.JsonMerge",
            Func::MathRandom => "States.MathRandom",
            Func::MathAdd => "States.MathAdd",
            Func::StringSplit => "States.StringSplit",
            Func::Uuid => "States.UUID",
        }
    }

    pub fn from_name(name: &str) -> Option<Func> {
        Self::EVERY.into_iter().find(|f| f.name() == name)
    }

    /// Minimum and maximum (`None`: unbounded) number of arguments.
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::Format => (1, None),
            Func::Array => (0, None),
            Func::Uuid => (0, Some(0)),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, Some(1)),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::Hash
            | Func::MathAdd
            | Func::StringSplit => (2, Some(2)),
            Func::MathRandom => (2, Some(3)),
            Func::ArrayRange | Func::JsonMerge => (3, Some(3)),
        }
    }
}

impl Intrinsic {
    pub fn parse(src: &str) -> Result<Intrinsic, ParseError> {
        let call = parse::parse_call(src).map_err(|reason| ParseError {
            src: src.to_string(),
            reason,
        })?;
        Ok(Intrinsic {
            src: src.to_string(),
            call,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// The outermost function called.
    pub fn func(&self) -> Func {
        self.call.func
    }

    /// Evaluates; failures are `States.IntrinsicFailure` / `States.Runtime` as on AWS
    /// (cause without the "An error occurred while executing the state" prefix).
    /// `uuid_seed` feeds `States.UUID` so the core stays deterministic.
    pub fn evaluate(
        &self,
        input: &Value,
        scope: &dyn Scope,
        uuid_seed: u64,
    ) -> Result<Value, Failure> {
        self.evaluate_for_field(None, input, scope, uuid_seed)
    }

    /// Like [`evaluate`](Self::evaluate), naming the field (`"a.$"`, `"ErrorPath"`)
    /// in the message when a path argument selects nothing, as Step Functions does.
    pub fn evaluate_for_field(
        &self,
        field: Option<&str>,
        input: &Value,
        scope: &dyn Scope,
        uuid_seed: u64,
    ) -> Result<Value, Failure> {
        let mut cx = Eval {
            input,
            scope,
            field,
            rng: Rng::new(uuid_seed),
        };
        cx.call(&self.call)
    }
}

impl std::fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.src)
    }
}

/// State of one evaluation.
struct Eval<'a> {
    input: &'a Value,
    scope: &'a dyn Scope,
    field: Option<&'a str>,
    rng: Rng,
}

/// An evaluated argument, and for string literals their raw text.
pub(crate) struct ArgVal<'a> {
    pub value: Cow<'a, Value>,
    pub raw: Option<&'a str>,
}

impl<'a> Eval<'a> {
    fn call(&mut self, call: &'a Call) -> Result<Value, Failure> {
        let f = call.func;
        // Nested calls can multiply what they read (each
        // `States.JsonToString` level doubles the escapes, each
        // `States.Array($, $)` level doubles the copies): what a call takes
        // in and gives back is bounded, so the first level past the bound
        // fails instead of the next ones exhausting memory.
        let mut args = Vec::with_capacity(call.args.len());
        let mut taken = 0usize;
        for arg in &call.args {
            let a = self.arg(arg)?;
            taken = taken.saturating_add(value_size(&a.value));
            if taken > MAX_VALUE_BYTES {
                return Err(too_large(f));
            }
            args.push(a);
        }
        let out = self.apply(f, args)?;
        if value_size(&out) > MAX_VALUE_BYTES {
            return Err(too_large(f));
        }
        Ok(out)
    }

    fn apply(&mut self, f: Func, args: Vec<ArgVal<'a>>) -> Result<Value, Failure> {
        match f {
            Func::Format => string::format(f, &args),
            Func::StringToJson => json::string_to_json(f, &args),
            Func::JsonToString => json::json_to_string(&args),
            Func::JsonMerge => json::json_merge(f, &args),
            Func::Array => Ok(Value::Array(
                args.into_iter().map(|a| a.value.into_owned()).collect(),
            )),
            Func::ArrayPartition => array::partition(f, &args),
            Func::ArrayContains => array::contains(f, &args),
            Func::ArrayRange => array::range(f, &args),
            Func::ArrayGetItem => array::get_item(f, &args),
            Func::ArrayLength => array::length(f, &args),
            Func::ArrayUnique => array::unique(f, &args),
            Func::Base64Encode => string::base64_encode(f, &args),
            Func::Base64Decode => string::base64_decode(f, &args),
            Func::StringSplit => string::split(f, &args),
            Func::Hash => hash::hash(f, &args),
            Func::MathAdd => math::add(f, &args),
            Func::MathRandom => math::random(f, &args, &mut self.rng),
            Func::Uuid => Ok(Value::String(uuid::v4(&mut self.rng))),
        }
    }

    fn arg(&mut self, arg: &'a Arg) -> Result<ArgVal<'a>, Failure> {
        Ok(match arg {
            Arg::Str { value, raw } => ArgVal {
                value: Cow::Owned(Value::String(value.clone())),
                raw: Some(raw.as_str()),
            },
            Arg::Literal(v) => ArgVal {
                value: Cow::Borrowed(v),
                raw: None,
            },
            Arg::Call(c) => ArgVal {
                value: Cow::Owned(self.call(c)?),
                raw: None,
            },
            Arg::Path(p) => {
                let value = p.select_cow(self.input, self.scope).ok_or_else(|| {
                    if !p.is_definite() {
                        return Failure::states(StatesError::Runtime, p.too_large_message());
                    }
                    let cause = match self.field {
                        Some(field) => format!(
                            "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                            p.as_str(),
                            compact(self.input)
                        ),
                        None => format!("The JSONPath '{}' could not be found in the input '{}'", p.as_str(), compact(self.input)),
                    };
                    Failure::states(StatesError::Runtime, cause)
                })?;
                ArgVal { value, raw: None }
            }
        })
    }
}

/// The largest value an intrinsic call may take in (all its arguments) or
/// give back, as [`value_size`] counts it: the bound JSONata's values have
/// (`flowstate_jsonata::MAX_VALUE_BYTES`), 16 times Step Functions' 256 KiB
/// of state data.
pub const MAX_VALUE_BYTES: usize = 16 * 256 * 1024;

/// Roughly a value's size as JSON text (numbers count 8 bytes).
pub(crate) fn value_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => a.iter().fold(2, |n, x| n.saturating_add(value_size(x) + 1)),
        Value::Object(m) => m.iter().fold(2, |n, (k, x)| {
            n.saturating_add(k.len() + 4).saturating_add(value_size(x))
        }),
    }
}

fn too_large(f: Func) -> Failure {
    Failure::states(
        StatesError::IntrinsicFailure,
        format!(
            "{} built a value larger than {} MiB",
            f.name(),
            MAX_VALUE_BYTES >> 20
        ),
    )
}

/// `States.IntrinsicFailure` naming the function.
pub(crate) fn failure(f: Func, detail: impl std::fmt::Display) -> Failure {
    Failure::states(
        StatesError::IntrinsicFailure,
        format!("Invalid arguments in {}: {detail}", f.name()),
    )
}

/// The JSON type name used in messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The `i`-th argument; arity is checked at parse time, so a miss is a bug made safe.
pub(crate) fn nth<'v>(f: Func, args: &'v [ArgVal<'_>], i: usize) -> Result<&'v Value, Failure> {
    args.get(i)
        .map(|a| a.value.as_ref())
        .ok_or_else(|| failure(f, format!("missing argument {}", i + 1)))
}

pub(crate) fn arg_str<'v>(
    f: Func,
    args: &'v [ArgVal<'_>],
    i: usize,
    what: &str,
) -> Result<&'v str, Failure> {
    let v = nth(f, args, i)?;
    v.as_str().ok_or_else(|| {
        failure(
            f,
            format!(
                "the {what} must be a string, but was {} {}",
                type_name(v),
                compact(v)
            ),
        )
    })
}

pub(crate) fn arg_array<'v>(
    f: Func,
    args: &'v [ArgVal<'_>],
    i: usize,
    what: &str,
) -> Result<&'v Vec<Value>, Failure> {
    let v = nth(f, args, i)?;
    v.as_array().ok_or_else(|| {
        failure(
            f,
            format!(
                "the {what} must be an array, but was {} {}",
                type_name(v),
                compact(v)
            ),
        )
    })
}

/// An integer argument: a JSON number with no fractional part.
pub(crate) fn arg_int(f: Func, args: &[ArgVal<'_>], i: usize, what: &str) -> Result<i64, Failure> {
    let v = nth(f, args, i)?;
    let bad = || {
        failure(
            f,
            format!("the {what} must be an integer, but was {}", compact(v)),
        )
    };
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(x), _) => Ok(x),
            (None, Some(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(x as i64),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A small deterministic generator (SplitMix64): reproducible from the seed,
/// so a replayed step yields the same UUIDs and random numbers.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests;
