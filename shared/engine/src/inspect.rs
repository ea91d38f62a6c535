//! What one state did with its data, step by step: the record behind
//! TestState's `DEBUG` inspection level.
//!
//! [`advance_inspected`](crate::advance_inspected) fills an [`Inspection`]
//! as the engine's own data flow runs for the root frame: the value after
//! InputPath, after Parameters or Arguments, the task's result, after
//! ResultSelector and ResultPath, the first exit (output, next state,
//! variables), and what Retry or Catch decided. Other frames (Parallel
//! branches, Map iterations) are not recorded.

use flowstate_asl::errors::Failure;
use serde_json::{Map, Value};

/// The data after each processing step of the root frame's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub after_arguments: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    /// A Map's items (after ItemsPath, or its JSONata `Items`).
    pub after_items_path: Option<Value>,
    /// A Map's iteration inputs, after ItemSelector.
    pub after_item_selector: Option<Value>,
    pub max_concurrency: Option<f64>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    /// The first time the state was left, normally or through a catcher.
    pub exited: Option<Exited>,
    /// The failure Retry and Catch were asked about, as they saw it.
    pub failure: Option<Failure>,
    pub retry: Option<RetryDecision>,
    /// The index of the catcher that caught the failure.
    pub catch_index: Option<usize>,
}

/// How the state was left.
#[derive(Debug, Clone, PartialEq)]
pub struct Exited {
    pub output: Value,
    /// The name of the state entered next; `None` when the frame ended.
    pub next: Option<String>,
    /// Every variable of the frame after the state's Assign.
    pub variables: Map<String, Value>,
}

/// A retrier that will try the state again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDecision {
    pub index: usize,
    /// The back-off before the next attempt, in milliseconds.
    pub delay_millis: i64,
}
