//! What an evaluation can read besides a state's input: the context object
//! (`$$`) and workflow variables (`$name`).

use serde_json::Value;
use std::borrow::Cow;

/// The read-only environment of one evaluation.
///
/// The engine builds the context object lazily: most states never read `$$`,
/// and building it for every transition would cost more than the transition.
pub trait Scope {
    /// The context object, `$$`.
    fn context(&self) -> Cow<'_, Value>;
    /// The value of the workflow variable `name` (without the `$`), if assigned.
    fn variable(&self, name: &str) -> Option<&Value>;
}

/// A scope held in plain values; handy in tests and for one-off evaluations.
#[derive(Debug, Clone, Default)]
pub struct StaticScope {
    pub context: Value,
    pub variables: serde_json::Map<String, Value>,
}

impl Scope for StaticScope {
    fn context(&self) -> Cow<'_, Value> {
        Cow::Borrowed(&self.context)
    }
    fn variable(&self, name: &str) -> Option<&Value> {
        self.variables.get(name)
    }
}
