//! The 18 intrinsic functions (`States.Format`, ...). (OWNER: helper "jsonpath-intrinsics"; interface fixed)

use crate::{context::Scope, errors::Failure};
use serde_json::Value;

/// A parsed intrinsic function call, e.g. `States.Format('{}', $.a)`.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    src: String,
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

impl Intrinsic {
    pub fn parse(src: &str) -> Result<Intrinsic, ParseError> {
        Ok(Intrinsic { src: src.to_string() })
    }
    pub fn as_str(&self) -> &str {
        &self.src
    }
    /// Evaluates; failures are `States.IntrinsicFailure` / `States.Runtime` as on AWS
    /// (cause without the "An error occurred while executing the state" prefix).
    /// `uuid_seed` feeds `States.UUID` so the core stays deterministic.
    pub fn evaluate(&self, _input: &Value, _scope: &dyn Scope, _uuid_seed: u64) -> Result<Value, Failure> {
        todo!()
    }
}
