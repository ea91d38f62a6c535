//! The one error type of the API and its wire shape.
//!
//! Step Functions (awsJson1_0) reports an error as an HTTP status plus a
//! JSON body `{"__type": "<Code>", "message": "..."}`. AWS itself sends a
//! namespaced `__type` (`com.amazonaws.swf.service.v2.model#Code`); every
//! SDK strips everything up to `#`, so the bare code is equally valid and
//! easier to read in `curl` output. The code is also sent in the
//! `x-amzn-ErrorType` header, which some SDKs (the Rust one among them)
//! read first.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Step Functions' error codes, as its API reference names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    ActivityAlreadyExists,
    ActivityDoesNotExist,
    ActivityLimitExceeded,
    ActivityWorkerLimitExceeded,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionLimitExceeded,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidLoggingConfiguration,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    InvalidTracingConfiguration,
    MissingRequiredParameter,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineDoesNotExist,
    StateMachineLimitExceeded,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
    TooManyTags,
    ConflictException,
    ServiceQuotaExceededException,
    ValidationException,
    /// The request body is not the JSON the action expects.
    SerializationException,
    /// `X-Amz-Target` is missing or names no action this server has.
    UnknownOperationException,
    /// Anything that is not the caller's fault (HTTP 500).
    InternalFailure,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ActivityAlreadyExists => "ActivityAlreadyExists",
            ErrorCode::ActivityDoesNotExist => "ActivityDoesNotExist",
            ErrorCode::ActivityLimitExceeded => "ActivityLimitExceeded",
            ErrorCode::ActivityWorkerLimitExceeded => "ActivityWorkerLimitExceeded",
            ErrorCode::ExecutionAlreadyExists => "ExecutionAlreadyExists",
            ErrorCode::ExecutionDoesNotExist => "ExecutionDoesNotExist",
            ErrorCode::ExecutionLimitExceeded => "ExecutionLimitExceeded",
            ErrorCode::ExecutionNotRedrivable => "ExecutionNotRedrivable",
            ErrorCode::InvalidArn => "InvalidArn",
            ErrorCode::InvalidDefinition => "InvalidDefinition",
            ErrorCode::InvalidExecutionInput => "InvalidExecutionInput",
            ErrorCode::InvalidLoggingConfiguration => "InvalidLoggingConfiguration",
            ErrorCode::InvalidName => "InvalidName",
            ErrorCode::InvalidOutput => "InvalidOutput",
            ErrorCode::InvalidToken => "InvalidToken",
            ErrorCode::InvalidTracingConfiguration => "InvalidTracingConfiguration",
            ErrorCode::MissingRequiredParameter => "MissingRequiredParameter",
            ErrorCode::ResourceNotFound => "ResourceNotFound",
            ErrorCode::StateMachineAlreadyExists => "StateMachineAlreadyExists",
            ErrorCode::StateMachineDeleting => "StateMachineDeleting",
            ErrorCode::StateMachineDoesNotExist => "StateMachineDoesNotExist",
            ErrorCode::StateMachineLimitExceeded => "StateMachineLimitExceeded",
            ErrorCode::StateMachineTypeNotSupported => "StateMachineTypeNotSupported",
            ErrorCode::TaskDoesNotExist => "TaskDoesNotExist",
            ErrorCode::TaskTimedOut => "TaskTimedOut",
            ErrorCode::TooManyTags => "TooManyTags",
            ErrorCode::ConflictException => "ConflictException",
            ErrorCode::ServiceQuotaExceededException => "ServiceQuotaExceededException",
            ErrorCode::ValidationException => "ValidationException",
            ErrorCode::SerializationException => "SerializationException",
            ErrorCode::UnknownOperationException => "UnknownOperationException",
            ErrorCode::InternalFailure => "InternalFailure",
        }
    }

    /// The code named `name` (as [`ErrorCode::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// Every modelled Step Functions error is a client error (400, and 409
    /// for ConflictException as AWS documents it); only
    /// our own failures are 500, so that SDKs retry those and not the rest.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InternalFailure => StatusCode::INTERNAL_SERVER_ERROR,
            // The one modelled error AWS documents with another status.
            ErrorCode::ConflictException => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

const ALL: [ErrorCode; 32] = [
    ErrorCode::ActivityAlreadyExists,
    ErrorCode::ActivityDoesNotExist,
    ErrorCode::ActivityLimitExceeded,
    ErrorCode::ActivityWorkerLimitExceeded,
    ErrorCode::ExecutionAlreadyExists,
    ErrorCode::ExecutionDoesNotExist,
    ErrorCode::ExecutionLimitExceeded,
    ErrorCode::ExecutionNotRedrivable,
    ErrorCode::InvalidArn,
    ErrorCode::InvalidDefinition,
    ErrorCode::InvalidExecutionInput,
    ErrorCode::InvalidLoggingConfiguration,
    ErrorCode::InvalidName,
    ErrorCode::InvalidOutput,
    ErrorCode::InvalidToken,
    ErrorCode::InvalidTracingConfiguration,
    ErrorCode::MissingRequiredParameter,
    ErrorCode::ResourceNotFound,
    ErrorCode::StateMachineAlreadyExists,
    ErrorCode::StateMachineDeleting,
    ErrorCode::StateMachineDoesNotExist,
    ErrorCode::StateMachineLimitExceeded,
    ErrorCode::StateMachineTypeNotSupported,
    ErrorCode::TaskDoesNotExist,
    ErrorCode::TaskTimedOut,
    ErrorCode::TooManyTags,
    ErrorCode::ConflictException,
    ErrorCode::ServiceQuotaExceededException,
    ErrorCode::ValidationException,
    ErrorCode::SerializationException,
    ErrorCode::UnknownOperationException,
    ErrorCode::InternalFailure,
];

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the API reports it: a Step Functions error code and the
/// public message. Implementations of the actions build these; [`IntoResponse`] renders them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::ValidationException, message)
    }

    /// An action this server's runtime does not implement.
    pub fn unsupported(action: &str) -> ApiError {
        ApiError::new(
            ErrorCode::UnknownOperationException,
            format!("the operation '{action}' is not supported by this server"),
        )
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InternalFailure, message)
    }

    /// The message AWS gives for one violated member constraint.
    pub(crate) fn constraint(
        member: &str,
        value: impl std::fmt::Display,
        constraint: &str,
    ) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// The JSON body, as Step Functions sends it.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"__type": self.code.as_str(), "message": self.message})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut res = (self.code.status(), body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::CONTENT_TYPE),
        );
        h.insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static(self.code.as_str()),
        );
        res
    }
}
