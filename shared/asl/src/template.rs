//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`, JSONPath-mode
//! `Assign`): objects whose `"key.$"` fields take their value from a path or an
//! intrinsic function, at any depth. (OWNER: helper "jsonpath-intrinsics"; interface fixed)

use crate::{context::Scope, errors::Failure};
use serde_json::Value;

/// A compiled payload template.
#[derive(Debug, Clone)]
pub struct PayloadTemplate {
    src: Value,
}

/// A problem found while compiling a template, located by a JSON pointer relative
/// to the template's root (e.g. `/a/b.$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub pointer: String,
    pub message: String,
}

impl PayloadTemplate {
    pub fn parse(src: &Value) -> Result<PayloadTemplate, Vec<TemplateError>> {
        Ok(PayloadTemplate { src: src.clone() })
    }
    /// Evaluates against the effective input. A path that selects nothing fails with
    /// `States.Runtime` and Step Functions' cause ("The JSONPath '$.x' specified for the
    /// field 'a.$' could not be found in the input '<input>'"), without the state prefix.
    pub fn evaluate(&self, _input: &Value, _scope: &dyn Scope, _uuid_seed: u64) -> Result<Value, Failure> {
        let _ = &self.src;
        todo!()
    }
}
