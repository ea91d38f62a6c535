//! Error names: the predefined `States.*` errors, failures as data, and the
//! matching rules of `ErrorEquals`.

use std::fmt;

/// The errors Step Functions itself raises. Names are exactly the service's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatesError {
    All,
    DataLimitExceeded,
    ExceedToleratedFailureThreshold,
    HeartbeatTimeout,
    IntrinsicFailure,
    ItemReaderFailed,
    NoChoiceMatched,
    ParameterPathFailure,
    Permissions,
    QueryEvaluationError,
    ResultPathMatchFailure,
    ResultWriterFailed,
    Runtime,
    TaskFailed,
    Timeout,
    BranchFailed,
}

impl StatesError {
    pub const EVERY: [StatesError; 16] = [
        StatesError::All,
        StatesError::DataLimitExceeded,
        StatesError::ExceedToleratedFailureThreshold,
        StatesError::HeartbeatTimeout,
        StatesError::IntrinsicFailure,
        StatesError::ItemReaderFailed,
        StatesError::NoChoiceMatched,
        StatesError::ParameterPathFailure,
        StatesError::Permissions,
        StatesError::QueryEvaluationError,
        StatesError::ResultPathMatchFailure,
        StatesError::ResultWriterFailed,
        StatesError::Runtime,
        StatesError::TaskFailed,
        StatesError::Timeout,
        StatesError::BranchFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StatesError::All => "States.ALL",
            StatesError::DataLimitExceeded => "States.DataLimitExceeded",
            StatesError::ExceedToleratedFailureThreshold => {
                "States.ExceedToleratedFailureThreshold"
            }
            StatesError::HeartbeatTimeout => "States.HeartbeatTimeout",
            StatesError::IntrinsicFailure => "States.IntrinsicFailure",
            StatesError::ItemReaderFailed => "States.ItemReaderFailed",
            StatesError::NoChoiceMatched => "States.NoChoiceMatched",
            StatesError::ParameterPathFailure => "States.ParameterPathFailure",
            StatesError::Permissions => "States.Permissions",
            StatesError::QueryEvaluationError => "States.QueryEvaluationError",
            StatesError::ResultPathMatchFailure => "States.ResultPathMatchFailure",
            StatesError::ResultWriterFailed => "States.ResultWriterFailed",
            StatesError::Runtime => "States.Runtime",
            StatesError::TaskFailed => "States.TaskFailed",
            StatesError::Timeout => "States.Timeout",
            StatesError::BranchFailed => "States.BranchFailed",
        }
    }

    pub fn from_name(name: &str) -> Option<StatesError> {
        Self::EVERY.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for StatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure of a state: business data that Retry and Catch handle, not an
/// engine error. `cause` is the text Step Functions would show; `None` when
/// no cause was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: Option<String>,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }
    pub fn states(error: StatesError, cause: impl Into<String>) -> Self {
        Failure::new(error.name(), cause)
    }
    /// Adds Step Functions' standard prefix naming the state and the id of its
    /// entered event, as the service does for evaluation errors.
    pub fn in_state(mut self, state: &str, entered_event_id: u64) -> Self {
        let detail = self.cause.take().unwrap_or_default();
        self.cause = Some(format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {detail}"
        ));
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(c) => write!(f, "{}: {}", self.error, c),
            None => f.write_str(&self.error),
        }
    }
}

/// Whether a Retrier's or Catcher's `ErrorEquals` matches `error`.
///
/// `States.ALL` matches everything except `States.DataLimitExceeded` and
/// `States.Runtime`, which only an explicit name catches;
/// `States.TaskFailed` matches every error but `States.Timeout` and those two
/// (the service's documented rules).
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    error_equals.iter().any(|pattern| match pattern.as_str() {
        p if p == error => true,
        "States.ALL" => error != "States.Runtime" && error != "States.DataLimitExceeded",
        "States.TaskFailed" => {
            !matches!(
                error,
                "States.Timeout"
                    | "States.Runtime"
                    | "States.DataLimitExceeded"
                    | "States.HeartbeatTimeout"
            ) && !error.starts_with("States.")
                || error == "States.TaskFailed"
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_all_does_not_catch_runtime_or_data_limit() {
        let all = vec!["States.ALL".to_string()];
        assert!(error_matches(&all, "Custom"));
        assert!(error_matches(&all, "States.Timeout"));
        assert!(!error_matches(&all, "States.Runtime"));
        assert!(!error_matches(&all, "States.DataLimitExceeded"));
    }

    #[test]
    fn names_round_trip() {
        for e in StatesError::EVERY {
            assert_eq!(StatesError::from_name(e.name()), Some(e));
        }
    }
}
