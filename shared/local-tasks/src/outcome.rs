//! What one run of a handler produced, before [`crate::LocalTasks`] shapes
//! it for the state, and the deadline that may stop the run.

use std::time::Duration;

use flowstate_asl::errors::Failure;
use flowstate_engine::integration::LambdaServiceError;

/// Step Functions' limit on a failure's cause.
pub(crate) const MAX_CAUSE_CHARS: usize = 32_768;

/// What a handler run produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The handler's output: JSON for commands, the body as sent for URLs.
    Returned {
        body: String,
        executed_version: Option<String>,
        request_id: Option<String>,
    },
    /// A Lambda error object: the handler threw.
    FunctionError(String),
    /// The task's own `timeout_seconds` in `flowstate.toml` ran out.
    HandlerTimeout(Duration),
    /// The state's `TimeoutSeconds` ran out.
    StateTimeout,
    /// The endpoint answered with a non-2xx status.
    ServiceError(LambdaServiceError),
    /// The endpoint could not be reached.
    Unreachable(String),
    /// Anything else, already named.
    Failed(Failure),
}

/// When a run is stopped, and which limit stopped it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub after: Duration,
    kind: DeadlineKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeadlineKind {
    /// The state's `TimeoutSeconds`: `States.Timeout`, as in the cloud.
    State,
    /// The handler's `timeout_seconds`: the function's own timeout.
    Handler,
}

impl Deadline {
    /// The earlier of the two limits; on a tie the state's, whose error is
    /// the one a `Retry` on `States.Timeout` expects.
    pub(crate) fn earliest(state: Option<Duration>, handler: Option<Duration>) -> Option<Deadline> {
        match (state, handler) {
            (Some(s), Some(h)) if h < s => Some(Deadline {
                after: h,
                kind: DeadlineKind::Handler,
            }),
            (Some(s), _) => Some(Deadline {
                after: s,
                kind: DeadlineKind::State,
            }),
            (None, Some(h)) => Some(Deadline {
                after: h,
                kind: DeadlineKind::Handler,
            }),
            (None, None) => None,
        }
    }

    pub(crate) fn outcome(self) -> Outcome {
        match self.kind {
            DeadlineKind::State => Outcome::StateTimeout,
            DeadlineKind::Handler => Outcome::HandlerTimeout(self.after),
        }
    }
}

/// At most `max` characters of `text`, marked when cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
