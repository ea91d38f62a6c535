//! A JSONata 2.x evaluator over `serde_json` values, with the AWS Step
//! Functions extension functions.
//!
//! [`Expression::parse`] tokenizes ([`lexer`]), parses and post-processes
//! ([`parser`], producing the [`ast`]) once; [`Expression::evaluate`] walks the
//! tree ([`eval`]) over an internal reference-counted value model ([`value`])
//! as many times as needed. The standard library lives in `functions` (one
//! module per family), with picture-string formatting in `format` and
//! `datetime`, and JavaScript regex literals mapped onto the `regex` crate.
//!
//! Evaluation is deterministic and sandboxed: the clock and randomness come
//! from [`Environment`], `$eval` is disabled (as in Step Functions), and
//! [`Limits`] bound recursion depth and the number of evaluation steps, so a
//! hostile expression fails with `U1001` instead of hanging or overflowing
//! the stack.
//!
//! ```
//! use flowstate_jsonata::{Environment, Expression};
//! let bindings = serde_json::Map::new();
//! let env = Environment { bindings: &bindings, now_millis: 0, seed: 1 };
//! let e = Expression::parse("$sum(orders.(price * qty))").unwrap();
//! let input = serde_json::json!({"orders": [{"price": 2, "qty": 3}, {"price": 1.5, "qty": 2}]});
//! assert_eq!(e.evaluate(Some(&input), &env).unwrap(), Some(serde_json::json!(9)));
//! ```

use serde_json::Value;

pub mod ast;
mod datetime;
pub mod eval;
mod format;
mod functions;
pub mod lexer;
pub mod parser;
mod random;
mod regex;
mod signature;
pub mod value;

#[cfg(test)]
mod limits_tests;

/// Where evaluation reads bindings (`$name`) from.
pub trait Bindings {
    fn lookup(&self, name: &str) -> Option<&Value>;
}

impl Bindings for serde_json::Map<String, Value> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The non-data inputs of one evaluation. The evaluator never reads the clock or an
/// OS random source: `$now()`/`$millis()` use `now_millis`, `$random()`/`$uuid()` a
/// generator seeded by `seed`.
pub struct Environment<'a> {
    pub bindings: &'a dyn Bindings,
    pub now_millis: i64,
    pub seed: u64,
}

/// Resource bounds for one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of evaluation (each sub-expression evaluation counts
    /// one level while it runs, like jsonata-js's depth hook).
    pub max_depth: usize,
    /// Maximum number of sub-expression evaluations and function calls.
    pub max_steps: u64,
    /// Largest value (string, array, object) an evaluation may build, as
    /// [`value::Val::size`] counts it: roughly its size as JSON text.
    pub max_value_bytes: usize,
    /// Deepest nesting of arrays and objects a value may have.
    pub max_value_depth: usize,
}

/// [`Limits::max_value_bytes`] by default: 16 times Step Functions' 256 KiB
/// bound on state data. An expression reads at most a few such documents
/// (its input, the result, variables) and an intermediate value such as a
/// pretty-printed `$string` of its input can be a few times larger than
/// what it read; building more than this is a runaway (doubling, a cross
/// product), which then fails fast instead of exhausting memory.
pub const MAX_VALUE_BYTES: usize = 16 * 256 * 1024;

/// [`Limits::max_value_depth`] by default: serde_json's recursion limit,
/// so whatever an expression returns can be read back as JSON.
pub const MAX_VALUE_DEPTH: usize = 128;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 500,
            max_steps: 10_000_000,
            max_value_bytes: MAX_VALUE_BYTES,
            max_value_depth: MAX_VALUE_DEPTH,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    /// JSONata's error code, e.g. `T1006`, `S0201`, `D3001`.
    pub code: String,
    pub message: String,
    pub position: Option<usize>,
}

/// A parsed expression: parse once, evaluate many times.
#[derive(Debug, Clone)]
pub struct Expression {
    src: String,
    root: ast::Node,
    /// Labels of the parent (`%`) slots, indexed by slot.
    labels: Vec<String>,
}

impl Expression {
    pub fn parse(src: &str) -> Result<Expression, Error> {
        let (root, labels) = parser::parse(src)?;
        Ok(Expression {
            src: src.to_string(),
            root,
            labels,
        })
    }

    pub fn source(&self) -> &str {
        &self.src
    }

    /// `Ok(None)` is JSONata's `undefined`.
    pub fn evaluate(
        &self,
        input: Option<&Value>,
        env: &Environment<'_>,
    ) -> Result<Option<Value>, Error> {
        self.evaluate_with_limits(input, env, Limits::default())
    }

    /// As [`Expression::evaluate`], with explicit resource bounds.
    pub fn evaluate_with_limits(
        &self,
        input: Option<&Value>,
        env: &Environment<'_>,
        limits: Limits,
    ) -> Result<Option<Value>, Error> {
        self.evaluate_metered(input, env, limits).0
    }

    /// As [`Expression::evaluate_with_limits`], also returning the number
    /// of evaluation steps taken (what [`Limits::max_steps`] bounds), so
    /// callers such as the fuzzer can check the bound holds.
    pub fn evaluate_metered(
        &self,
        input: Option<&Value>,
        env: &Environment<'_>,
        limits: Limits,
    ) -> (Result<Option<Value>, Error>, u64) {
        let mut ev = eval::Evaluator::new(env, &self.labels, limits);
        let result = self.run(&mut ev, input);
        (result, ev.steps())
    }

    fn run(
        &self,
        ev: &mut eval::Evaluator<'_>,
        input: Option<&Value>,
    ) -> Result<Option<Value>, Error> {
        let mut input = match input {
            None => None,
            Some(v) => Some(ev.from_json(v)?),
        };
        // jsonata-js wraps an array input so `$` still refers to the whole array
        if let Some(value::Val::Arr(a, f)) = &input {
            if !f.has(value::Flags::SEQUENCE) {
                input = Some(value::Val::arr(
                    vec![value::Val::Arr(a.clone(), *f)],
                    value::Flags::SEQUENCE.with(value::Flags::OUTER_WRAPPER),
                ));
            }
        }
        let root = ev.new_frame(None);
        root.bind("$", input.clone());
        let result = ev.eval(&self.root, input.as_ref(), &root)?;
        drop(root);
        match result {
            None => Ok(None),
            Some(v) => {
                check_finite(&v)?;
                Ok(Some(v.to_json()))
            }
        }
    }
}

fn check_finite(v: &value::Val) -> Result<(), Error> {
    match v {
        value::Val::Num(n) if !n.is_finite() => Err(Error {
            code: "D1001".into(),
            message: format!("Number out of range: {}", value::js_number_string(*n)),
            position: None,
        }),
        value::Val::Arr(a, _) => a.iter().try_for_each(check_finite),
        value::Val::Obj(m) => m.values().try_for_each(check_finite),
        _ => Ok(()),
    }
}
