//! JSONPath as Step Functions accepts it. (OWNER: helper "jsonpath-intrinsics"; interface fixed)

use crate::context::Scope;
use serde_json::Value;

/// Where a path starts: `$` (the input), `$$` (the context object) or `$name` (a variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    Input,
    Context,
    Variable(String),
}

/// A compiled JSONPath.
#[derive(Debug, Clone)]
pub struct JsonPath {
    src: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct ParseError {
    pub path: String,
    pub reason: String,
}

impl JsonPath {
    pub fn parse(src: &str) -> Result<JsonPath, ParseError> {
        Ok(JsonPath { src: src.to_string() })
    }
    pub fn as_str(&self) -> &str {
        &self.src
    }
    pub fn root(&self) -> Root {
        todo!()
    }
    /// True when the path selects at most one node (no wildcard, filter, slice, union or `..`).
    pub fn is_definite(&self) -> bool {
        todo!()
    }
    /// True for a Reference Path (ResultPath): only `.name` / `['name']` / `[index]` steps on `$`.
    pub fn is_reference(&self) -> bool {
        todo!()
    }
    /// Jayway-style normalized form used in Step Functions' messages: `$['a']['b'][0]`.
    pub fn normalized(&self) -> String {
        todo!()
    }
    /// Selects from `input` (or the context / a variable, per [`Root`]).
    /// Definite path: `Some(node)` or `None` when absent.
    /// Indefinite path: `Some(array of matches)` (possibly empty).
    pub fn select(&self, _input: &Value, _scope: &dyn Scope) -> Option<Value> {
        todo!()
    }
    /// Writes `value` at this reference path inside `target`, creating objects on the way
    /// (ResultPath). Fails when a step crosses a non-object.
    pub fn assign(&self, _target: &mut Value, _value: Value) -> Result<(), String> {
        todo!()
    }
}
