//! Bounds that keep every execution finite and every record readable.
//!
//! - [`Limits`]: what depends on the workflow type — Standard's 25,000
//!   history events and one year, Express's five minutes, a transition cap
//!   for local runs, the 256 KiB payload limit — fixed when the execution
//!   starts.
//! - [`MAX_TRANSITIONS_PER_STEP`]: one step enters at most this many states;
//!   the frames it did not get to wait for a [`crate::Timer::Continue`]
//!   fired at once, so an endless loop of Pass states is many bounded
//!   steps — each committed, and each a point where time moves on and the
//!   execution's timeout can fire — instead of one step that never returns.
//! - [`MAX_DEPTH`]: how deep a JSON value the engine keeps may nest.
//!   Records nest inputs and outputs a few levels deeper (a history event,
//!   a queue message) and are read back with serde_json's limit of 128, so
//!   a value any deeper could be stored but never read again.
//! - [`MAX_WAIT_SECONDS`]: the longest Wait Step Functions accepts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Limits that depend on the workflow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Standard workflows stop at 25,000 history events (`States.Runtime`).
    pub max_history_events: Option<u64>,
    /// Payloads above this fail with `States.DataLimitExceeded` (256 KiB).
    pub max_payload_bytes: usize,
    /// Entering a state beyond this many transitions fails the execution
    /// with `States.Runtime`: the cap local runs put on endless loops.
    #[serde(default)]
    pub max_transitions: Option<u64>,
    /// The execution times out (`States.Timeout`) this long after it
    /// started, whatever its definition's `TimeoutSeconds` says: Express
    /// workflows' five minutes, Standard workflows' year.
    #[serde(default)]
    pub max_duration_seconds: Option<u64>,
    /// History events kept: later ones are counted (ids go on) but not
    /// recorded, except the execution's own start and end. Bounds what an
    /// execution without an event limit (Express) keeps.
    #[serde(default)]
    pub max_recorded_events: Option<u64>,
}

/// Standard executions end at one year (365 days), timed out with
/// `States.Timeout` as AWS documents: "If an execution runs for more than
/// the 1-year maximum, it will fail with a States.Timeout error".
pub const MAX_STANDARD_DURATION_SECONDS: u64 = 365 * 86_400;

/// Step Functions' limit on inputs, outputs and task results.
pub const PAYLOAD_BYTES: usize = 256 * 1024;

impl Limits {
    pub const STANDARD: Limits = Limits {
        max_history_events: Some(25_000),
        max_payload_bytes: PAYLOAD_BYTES,
        max_transitions: None,
        max_duration_seconds: Some(MAX_STANDARD_DURATION_SECONDS),
        max_recorded_events: None,
    };
    pub const EXPRESS: Limits = Limits {
        max_history_events: None,
        max_payload_bytes: PAYLOAD_BYTES,
        max_transitions: None,
        max_duration_seconds: Some(300),
        max_recorded_events: Some(25_000),
    };
    /// `flowstate run` without `--type`: no history-event or duration
    /// limit, but a cap on transitions, so that an endless loop ends.
    pub const LOCAL: Limits = Limits {
        max_history_events: None,
        max_payload_bytes: PAYLOAD_BYTES,
        max_transitions: Some(DEFAULT_MAX_TRANSITIONS),
        max_duration_seconds: None,
        max_recorded_events: None,
    };
}

/// [`Limits::LOCAL`]'s transition cap: far beyond what a workflow that ends
/// takes (Standard's 25,000 history events allow about 12,500), reached by
/// an endless loop in well under a second.
pub const DEFAULT_MAX_TRANSITIONS: u64 = 1_000_000;

/// The cause of the failure [`Limits::max_transitions`] causes.
pub fn transition_limit_cause(max: u64) -> String {
    format!("The execution reached the maximum number of transitions ({max}).")
}

/// States one step enters at most (see the module docs). Large enough that
/// a step's fixed costs (a commit, a queue message) are spread over many
/// transitions, small enough that a step's history stays a few megabytes.
pub const MAX_TRANSITIONS_PER_STEP: u64 = 10_000;

/// How deep a value the engine keeps may nest (arrays and objects).
/// serde_json reads at most 127 levels; the deepest record wraps a value in
/// 5 more (a queue message carrying a task result), so 100 leaves a margin.
pub const MAX_DEPTH: usize = 100;

/// The longest Wait (`Seconds`, `SecondsPath` or a JSONata `Seconds`).
pub const MAX_WAIT_SECONDS: i64 = 99_999_999;

/// The latest time the engine schedules anything at, 9999-12-31T23:59:59.999Z:
/// the last instant a timestamp with a four-digit year (RFC 3339, as the
/// context object and the API show times) can name.
pub const MAX_TIME: i64 = 253_402_300_799_999;

/// Whether `v` nests more than `max` levels of arrays and objects. Visits
/// containers only, without recursion, and stops at the first one too deep.
/// Whether a Map whose `failures` of `total` iterations failed goes on:
/// only with a tolerance (`ToleratedFailureCount` or
/// `ToleratedFailurePercentage`), and within every tolerance given.
pub fn failures_tolerated(
    failures: usize,
    total: usize,
    count: Option<u64>,
    percentage: Option<f64>,
) -> bool {
    (count.is_some() || percentage.is_some())
        && count.is_none_or(|c| failures as u64 <= c)
        && percentage.is_none_or(|p| (failures as f64) * 100.0 / (total.max(1) as f64) <= p)
}

pub fn nests_deeper_than(v: &Value, max: usize) -> bool {
    fn is_container(v: &&Value) -> bool {
        matches!(v, Value::Array(_) | Value::Object(_))
    }
    let mut stack: Vec<(&Value, usize)> = Vec::new();
    if is_container(&v) {
        stack.push((v, 1));
    }
    while let Some((v, depth)) = stack.pop() {
        if depth > max {
            return true;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().filter(is_container).map(|c| (c, depth + 1))),
            Value::Object(m) => {
                stack.extend(m.values().filter(is_container).map(|c| (c, depth + 1)))
            }
            _ => {}
        }
    }
    false
}

/// A value over one of the bounds every kept value must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    /// Over [`PAYLOAD_BYTES`] as compact JSON.
    Size,
    /// Nested deeper than [`MAX_DEPTH`].
    Depth,
}

impl TooLarge {
    /// The `States.DataLimitExceeded` cause for a state or task that
    /// produced such a value; the size one in Step Functions' words.
    pub fn cause(self, state: &str) -> String {
        match self {
            TooLarge::Size => format!(
                "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
            ),
            TooLarge::Depth => format!(
                "The state/task '{state}' returned a result nested more than {MAX_DEPTH} levels deep, deeper than a payload may nest."
            ),
        }
    }
}

/// Checks a task's result (or a callback's output) against the payload
/// bounds before it becomes an event.
pub fn check_result(v: &Value) -> Result<(), TooLarge> {
    if nests_deeper_than(v, MAX_DEPTH) {
        return Err(TooLarge::Depth);
    }
    if crate::dataflow::json_size(v) > PAYLOAD_BYTES {
        return Err(TooLarge::Size);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |v, _| json!([v]))
    }

    #[test]
    fn nesting_counts_arrays_and_objects_not_scalars() {
        assert!(!nests_deeper_than(&json!(1), 0));
        assert!(!nests_deeper_than(&json!([]), 1));
        assert!(nests_deeper_than(&json!([]), 0));
        assert!(!nests_deeper_than(&json!({"a": [1, {"b": 2}]}), 3));
        assert!(nests_deeper_than(&json!({"a": [1, {"b": {}}]}), 3));
        assert!(!nests_deeper_than(&nested(MAX_DEPTH), MAX_DEPTH));
        assert!(nests_deeper_than(&nested(MAX_DEPTH + 1), MAX_DEPTH));
    }

    #[test]
    fn a_value_as_deep_as_the_limit_reads_back_from_the_deepest_record() {
        // A task result in a queue message: the deepest wrapping records use.
        let record =
            json!({"id": "m", "body": {"Event": {"TaskSucceeded": {"output": nested(MAX_DEPTH)}}}});
        let text = serde_json::to_string(&record).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
    }

    #[test]
    fn max_time_is_the_last_millisecond_of_year_9999() {
        assert_eq!(
            crate::scope::iso_millis(MAX_TIME),
            "9999-12-31T23:59:59.999Z"
        );
    }
}
