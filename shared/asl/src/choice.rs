//! Choice rules in JSONPath mode: comparisons (`StringEquals`, `NumericLessThanPath`, ...),
//! the `Is*` tests, `And`/`Or`/`Not`. (OWNER: helper "choice-validate"; interface fixed)

use crate::{context::Scope, errors::Failure};
use serde_json::Value;

/// One boolean expression of a Choice state (a top-level rule without its `Next`).
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    src: Value,
}

impl ChoiceRule {
    /// Parses a rule object; top-level `Next`, `Assign`, `Output` and `Comment` keys are ignored here.
    pub fn parse(src: &Value) -> Result<ChoiceRule, String> {
        Ok(ChoiceRule { src: src.clone() })
    }
    /// Evaluates against the state's effective input. A `Variable` path that selects
    /// nothing fails with `States.Runtime` as on AWS (cause without the state prefix).
    pub fn evaluate(&self, _input: &Value, _scope: &dyn Scope) -> Result<bool, Failure> {
        let _ = &self.src;
        todo!()
    }
}
