//! Definition validation: every problem at once, each located by a JSON pointer.
//! (OWNER: helper "choice-validate"; interface fixed)

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// JSON pointer into the definition, e.g. `/States/Charge/Next`.
    pub location: String,
    /// What is wrong, naming the state concerned.
    pub message: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
}

/// Validates a definition held as JSON. Returns every diagnostic (errors and warnings).
pub fn validate(_definition: &Value) -> Vec<Diagnostic> {
    Vec::new()
}
