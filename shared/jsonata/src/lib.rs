//! A JSONata 2.x evaluator over `serde_json` values. (OWNER: helper "jsonata"; interface fixed)

use serde_json::Value;

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
}

impl Expression {
    pub fn parse(src: &str) -> Result<Expression, Error> {
        Ok(Expression { src: src.to_string() })
    }
    pub fn source(&self) -> &str {
        &self.src
    }
    /// `Ok(None)` is JSONata's `undefined`.
    pub fn evaluate(&self, _input: Option<&Value>, _env: &Environment<'_>) -> Result<Option<Value>, Error> {
        todo!()
    }
}
