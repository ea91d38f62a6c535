//! The numeric fields a state may take from its data: `TimeoutSeconds`,
//! `HeartbeatSeconds`, Wait `Seconds`, `MaxConcurrency`,
//! `ToleratedFailureCount` and `ToleratedFailurePercentage`, each given
//! literally (checked by the validator), by a `...Path` or by JSONata.
//!
//! One rule reads them all:
//!
//! - through a path, a number whose value is whole (`10` or `10.0`) or a
//!   string holding an integer (`"10"`, as AWS reads a variable assigned
//!   `"1"`) is an integer; the percentage takes any finite number, or a
//!   string holding one;
//! - through JSONata, the expression must yield a number (JSONata has no
//!   integers: `10.0` is `10`); anything else is an unexpected result type;
//! - a path that selects nothing, a value that is not such a number, a
//!   negative or out-of-range value each fail with the message Step
//!   Functions gives for that condition of that field ([`NumericField`]).

use super::io::{plain_or_null, unexpected_type, Resolved};
use super::Run;
use crate::dataflow::{self, runtime};
use crate::execution::Frame;
use crate::limits::MAX_WAIT_SECONDS;
use flowstate_asl::definition::{Dynamic, Selector};
use flowstate_asl::errors::Failure;
use serde_json::Value;

/// Step Functions' ceiling on every "seconds" field (about 3 years).
const MAX_SECONDS: f64 = MAX_WAIT_SECONDS as f64;
/// Counts Step Functions parses as a Java `int`: a larger one is "not a
/// valid integer".
const MAX_INT: f64 = i32::MAX as f64;

/// A numeric field, with its range and Step Functions' words for each way
/// its value can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumericField {
    TimeoutSeconds,
    HeartbeatSeconds,
    Seconds,
    MaxConcurrency,
    ToleratedFailureCount,
    ToleratedFailurePercentage,
}

impl NumericField {
    /// The field's name in the definition (without `Path`).
    pub(super) fn name(self) -> &'static str {
        match self {
            NumericField::TimeoutSeconds => "TimeoutSeconds",
            NumericField::HeartbeatSeconds => "HeartbeatSeconds",
            NumericField::Seconds => "Seconds",
            NumericField::MaxConcurrency => "MaxConcurrency",
            NumericField::ToleratedFailureCount => "ToleratedFailureCount",
            NumericField::ToleratedFailurePercentage => "ToleratedFailurePercentage",
        }
    }

    fn integer(self) -> bool {
        self != NumericField::ToleratedFailurePercentage
    }

    /// The values the field accepts, inclusive.
    fn range(self) -> (f64, f64) {
        match self {
            NumericField::TimeoutSeconds | NumericField::HeartbeatSeconds => (1.0, MAX_SECONDS),
            NumericField::Seconds => (0.0, MAX_SECONDS),
            NumericField::MaxConcurrency | NumericField::ToleratedFailureCount => (0.0, MAX_INT),
            NumericField::ToleratedFailurePercentage => (0.0, 100.0),
        }
    }

    /// The path selected nothing.
    fn missing(self, sel: &Selector) -> Failure {
        match (self, sel) {
            (NumericField::Seconds, _) => runtime(format!(
                "The SecondsPath parameter does not reference an input value: {}",
                sel.as_str()
            )),
            (_, Selector::Path(p)) => runtime(p.no_results_message()),
            // An intrinsic function always yields a value.
            (_, Selector::Intrinsic(_)) => self.not_a_number(sel.as_str(), &None),
        }
    }

    /// The path selected something that is not a number of the field's kind.
    fn not_a_number(self, path: &str, value: &Option<Value>) -> Failure {
        let shown = plain_or_null(value);
        let name = self.name();
        runtime(match self {
            NumericField::Seconds => {
                format!("The SecondsPath parameter cannot be parsed as a long value: {path} == {shown}")
            }
            NumericField::ToleratedFailurePercentage => format!(
                "The {name}Path field refers to value \"{shown}\" which is not a valid float: {path}"
            ),
            _ => format!(
                "The {name}Path field refers to value \"{shown}\" which is not a valid integer: {path}"
            ),
        })
    }

    /// A number of the right kind outside the field's range, however it was
    /// given; `None` when the field words it as any other bad value.
    fn out_of_range(self, path: Option<&str>, n: f64) -> Option<Failure> {
        let (min, _) = self.range();
        let shown = if self.integer() {
            format!("{}", n as i64)
        } else {
            format!("{n}")
        };
        let cause = match self {
            NumericField::Seconds => {
                let path = path?;
                if n < min {
                    format!(
                        "The SecondsPath parameter references a negative value: {path} == {shown}"
                    )
                } else {
                    format!(
                        "The SecondsPath parameter references a wait longer than the {MAX_SECONDS} seconds a Wait state allows: {path} == {shown}"
                    )
                }
            }
            NumericField::MaxConcurrency if n < min => {
                format!("Expected non-negative integer for MaxConcurrency, got '{shown}' instead.")
            }
            NumericField::ToleratedFailureCount if n < min => {
                "ToleratedFailureCount cannot be negative.".to_string()
            }
            NumericField::ToleratedFailurePercentage => {
                "ToleratedFailurePercentage must be between 0 and 100.".to_string()
            }
            // Parsed as an int of at least 1: Step Functions words any other
            // number as not valid.
            _ => return None,
        };
        Some(runtime(cause))
    }
}

/// The number a path selected, when it is one of the field's kind.
fn from_path(field: NumericField, v: &Value) -> Option<f64> {
    match v {
        Value::Number(_) if field.integer() => dataflow::as_exact_i64(v).map(|n| n as f64),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if field.integer() => s.parse::<i64>().ok().map(|n| n as f64),
        Value::String(s) => s.parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// The number a JSONata expression yielded, when it is one of the field's kind.
fn from_jsonata(field: NumericField, v: &Value) -> Option<f64> {
    match field.integer() {
        true => dataflow::as_exact_i64(v).map(|n| n as f64),
        false => v.as_f64(),
    }
}

impl Run<'_, '_> {
    /// Reads the numeric `field` of the current state, given as `d`, by the
    /// rule above; `None` when the state does not set it.
    pub(super) fn numeric(
        &self,
        f: &Frame,
        d: Option<&Dynamic>,
        input: &Value,
        field: NumericField,
    ) -> Result<Option<f64>, Failure> {
        let Some(d) = d else {
            return Ok(None);
        };
        let (min, max) = field.range();
        let n = match self.resolve(f, d, input, field.name())? {
            // The validator has checked a literal; a definition that skipped
            // it gets the closest value in range.
            Resolved::Literal(v) => v.as_f64().unwrap_or(min).clamp(min, max),
            Resolved::Path(None, sel) => return Err(field.missing(sel)),
            Resolved::Path(Some(v), sel) => {
                let path = sel.as_str();
                let n = from_path(field, &v).ok_or_else(|| field.not_a_number(path, &Some(v)))?;
                if !(min..=max).contains(&n) {
                    let shown = Some(Value::from(n as i64));
                    return Err(field
                        .out_of_range(Some(path), n)
                        .unwrap_or_else(|| field.not_a_number(path, &shown)));
                }
                n
            }
            Resolved::Jsonata(v, template) => {
                let expected = if field.integer() { "integer" } else { "number" };
                let n = from_jsonata(field, &v)
                    .ok_or_else(|| unexpected_type(field.name(), expected, template, &v))?;
                if !(min..=max).contains(&n) {
                    return Err(field
                        .out_of_range(None, n)
                        .unwrap_or_else(|| unexpected_type(field.name(), expected, template, &v)));
                }
                n
            }
        };
        Ok(Some(n))
    }
}
