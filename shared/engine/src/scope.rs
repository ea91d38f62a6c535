//! The context object (`$$`) and variables as one evaluation in one frame sees them.

use crate::execution::{Execution, Frame};
use flowstate_asl::Scope;
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// Formats epoch milliseconds as Step Functions does in the context object
/// (`2024-01-01T00:00:00.000Z`).
pub fn iso_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Everything one evaluation may read besides its input. The context object
/// is built only when a path actually reads `$$`.
pub struct EvalScope<'a> {
    pub exec: &'a Execution,
    pub frame: &'a Frame,
    pub state_name: &'a str,
    pub retry_count: Option<u32>,
    pub task_token: Option<&'a str>,
    /// `$$.Map.Item` while evaluating a Map's ItemSelector.
    pub map_item: Option<(usize, &'a Value)>,
    /// The context object, built already: a Map evaluating its
    /// ItemSelector for 10,000 items builds it (with the execution's
    /// input) once, not once per item.
    pub context: Option<&'a Value>,
}

impl EvalScope<'_> {
    pub fn context_value(&self) -> Value {
        let info = &self.exec.info;
        let mut state = Map::new();
        state.insert(
            "EnteredTime".into(),
            json!(iso_millis(self.frame.entered_time)),
        );
        state.insert("Name".into(), json!(self.state_name));
        if let Some(r) = self.retry_count {
            state.insert("RetryCount".into(), json!(r));
        }
        let mut ctx = Map::new();
        ctx.insert(
            "Execution".into(),
            json!({
                "Id": info.arn,
                "Input": *info.input,
                "StartTime": iso_millis(info.start_time),
                "Name": info.name,
                "RoleArn": info.role_arn,
                "RedriveCount": 0,
            }),
        );
        ctx.insert(
            "StateMachine".into(),
            json!({"Id": info.state_machine_arn, "Name": info.state_machine_name}),
        );
        ctx.insert("State".into(), Value::Object(state));
        if let Some(t) = self.task_token {
            ctx.insert("Task".into(), json!({ "Token": t }));
        }
        if let Some((index, value)) = self.map_item {
            set_map_item(&mut ctx, index, value.clone());
        }
        Value::Object(ctx)
    }

    pub fn variables(&self) -> &Map<String, Value> {
        &self.frame.variables
    }
}

/// Sets `Map.Item` (index and value) in a context object.
pub(crate) fn set_map_item(context: &mut Map<String, Value>, index: usize, value: Value) {
    context.insert(
        "Map".into(),
        json!({"Item": {"Index": index, "Value": value}}),
    );
}

impl Scope for EvalScope<'_> {
    fn context(&self) -> Cow<'_, Value> {
        match self.context {
            Some(built) => Cow::Borrowed(built),
            None => Cow::Owned(self.context_value()),
        }
    }
    fn variable(&self, name: &str) -> Option<&Value> {
        self.frame.variables.get(name)
    }
}
