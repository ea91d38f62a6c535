//! JSONata mode: JSON values whose strings may be `{% expression %}`.
//!
//! `Arguments`, `Output`, `Assign`, a Choice `Condition`, Map `Items`, Wait
//! `Seconds`/`Timestamp`, ... are all such values. A [`Template`] is compiled
//! once from the definition — every expression parsed up front — and
//! evaluated against a [`JsonataScope`] that carries `$states` and the
//! workflow variables.

use crate::errors::{Failure, StatesError};
use flowstate_jsonata::{Bindings, Environment, Expression};
use serde_json::{Map, Value};

/// A JSON value with `{% %}` expressions at any depth.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Expression(Box<Expression>),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

/// A problem found while compiling a template, located by a JSON pointer
/// relative to the template's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub pointer: String,
    pub message: String,
}

/// Returns the expression text when `s` has the form `{% ... %}`.
pub fn expression_text(s: &str) -> Option<&str> {
    let t = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(t.trim())
}

/// The start of an expression for a message: a long one is cut at 80
/// characters, so that an error about a 12 KB expression stays readable
/// (the error itself names the position).
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Template {
    pub fn parse(src: &Value) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let t = Self::parse_at(src, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    fn parse_at(src: &Value, pointer: &str, errors: &mut Vec<TemplateError>) -> Template {
        match src {
            Value::String(s) => match expression_text(s) {
                Some(text) => match Expression::parse(text) {
                    Ok(e) => Template::Expression(Box::new(e)),
                    Err(e) => {
                        errors.push(TemplateError {
                            pointer: pointer.to_string(),
                            message: format!("invalid JSONata expression '{}': {e}", excerpt(text)),
                        });
                        Template::Literal(Value::Null)
                    }
                },
                None => Template::Literal(src.clone()),
            },
            Value::Object(map) => {
                if !contains_expression(src) {
                    return Template::Literal(src.clone());
                }
                Template::Object(
                    map.iter()
                        .map(|(k, v)| {
                            let p = format!("{pointer}/{}", pointer_segment(k));
                            (k.clone(), Self::parse_at(v, &p, errors))
                        })
                        .collect(),
                )
            }
            Value::Array(items) => {
                if !contains_expression(src) {
                    return Template::Literal(src.clone());
                }
                Template::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| Self::parse_at(v, &format!("{pointer}/{i}"), errors))
                        .collect(),
                )
            }
            _ => Template::Literal(src.clone()),
        }
    }

    /// True when the whole value is a single expression.
    pub fn is_expression(&self) -> bool {
        matches!(self, Template::Expression(_))
    }

    /// Evaluates the template. `field` names the definition field in error
    /// messages (`Output`, `Arguments`, `Items`, ...); nested fields are
    /// reported as `Output/result` as Step Functions does.
    pub fn evaluate(&self, scope: &JsonataScope<'_>, field: &str) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Expression(e) => match evaluate_expression(e, scope, field)? {
                Some(v) => Ok(v),
                None => Err(query_error(format!(
                    "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                    e.source()
                ))),
            },
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    let v = t.evaluate(scope, &format!("{field}/{k}"))?;
                    out.insert(k.clone(), v);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, t) in items.iter().enumerate() {
                    out.push(t.evaluate(scope, &format!("{field}[{i}]"))?);
                }
                Ok(Value::Array(out))
            }
        }
    }
}

fn contains_expression(v: &Value) -> bool {
    match v {
        Value::String(s) => expression_text(s).is_some(),
        Value::Object(m) => m.values().any(contains_expression),
        Value::Array(a) => a.iter().any(contains_expression),
        _ => false,
    }
}

/// `States.QueryEvaluationError` with the given cause (without the state prefix).
pub fn query_error(cause: String) -> Failure {
    Failure::states(StatesError::QueryEvaluationError, cause)
}

/// Evaluates one expression; `Ok(None)` is JSONata's undefined.
pub fn evaluate_expression(
    e: &Expression,
    scope: &JsonataScope<'_>,
    field: &str,
) -> Result<Option<Value>, Failure> {
    let env = Environment {
        bindings: scope,
        now_millis: scope.now_millis,
        seed: scope.seed,
    };
    e.evaluate(None, &env).map_err(|err| {
        query_error(format!(
            "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {err}",
            e.source()
        ))
    })
}

/// What a JSONata evaluation in a state can read: `$states` and the variables.
pub struct JsonataScope<'a> {
    /// `{"input": ..., "context": ..., "result": ..., "errorOutput": ...}`.
    pub states: Value,
    pub variables: &'a dyn Fn(&str) -> Option<&'a Value>,
    pub now_millis: i64,
    pub seed: u64,
}

impl Bindings for JsonataScope<'_> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        if name == "states" {
            Some(&self.states)
        } else {
            (self.variables)(name)
        }
    }
}
