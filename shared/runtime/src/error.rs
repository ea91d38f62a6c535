//! The Service's errors, named after Step Functions' error codes.

use flowstate_ports::StoreError;

/// An error of a [`crate::Service`] operation. [`ServiceError::code`] is the
/// Step Functions error code (the wire `__type`); `Display` is the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    #[error("State Machine Already Exists: '{0}'")]
    StateMachineAlreadyExists(String),
    #[error("Execution Does Not Exist: '{0}'")]
    ExecutionDoesNotExist(String),
    #[error("Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),
    /// RedriveExecution of an execution that cannot be redriven: the reason.
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    /// Every problem of the definition, one per line.
    #[error("Invalid State Machine Definition: '{0}'")]
    InvalidDefinition(String),
    #[error("Activity Does Not Exist: '{0}'")]
    ActivityDoesNotExist(String),
    /// CreateActivity of a name taken with another encryption configuration.
    #[error("Activity already exists. EncryptionConfiguration may not be updated: '{0}'")]
    ActivityAlreadyExists(String),
    #[error("Invalid Arn: '{0}'")]
    InvalidArn(String),
    #[error("Invalid Name: '{0}'")]
    InvalidName(String),
    #[error("Invalid Token: '{0}'")]
    InvalidToken(String),
    #[error("Invalid Output: '{0}'")]
    InvalidOutput(String),
    #[error("Task Does Not Exist: {0}")]
    TaskDoesNotExist(String),
    #[error("Task Timed Out: {0}")]
    TaskTimedOut(String),
    #[error("Invalid Execution Input: {0}")]
    InvalidExecutionInput(String),
    /// StartSyncExecution on a STANDARD state machine.
    #[error("{0}")]
    StateMachineTypeNotSupported(String),
    #[error("{0}")]
    ValidationException(String),
    /// A version or alias conflict (ConflictException).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ResourceNotFound(String),
    /// The resource's ARN: more than 50 tags.
    #[error("Too many tags for resource '{0}': at most 50")]
    TooManyTags(String),
    /// A backend failure (storage, queue): retry later.
    #[error("internal failure: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The Step Functions error code, e.g. `ExecutionDoesNotExist`.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            ServiceError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            ServiceError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            ServiceError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            ServiceError::ExecutionNotRedrivable(_) => "ExecutionNotRedrivable",
            ServiceError::InvalidDefinition(_) => "InvalidDefinition",
            ServiceError::ActivityDoesNotExist(_) => "ActivityDoesNotExist",
            ServiceError::ActivityAlreadyExists(_) => "ActivityAlreadyExists",
            ServiceError::InvalidArn(_) => "InvalidArn",
            ServiceError::InvalidName(_) => "InvalidName",
            ServiceError::InvalidToken(_) => "InvalidToken",
            ServiceError::InvalidOutput(_) => "InvalidOutput",
            ServiceError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            ServiceError::TaskTimedOut(_) => "TaskTimedOut",
            ServiceError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            ServiceError::StateMachineTypeNotSupported(_) => "StateMachineTypeNotSupported",
            ServiceError::ValidationException(_) => "ValidationException",
            ServiceError::Conflict(_) => "ConflictException",
            ServiceError::ResourceNotFound(_) => "ResourceNotFound",
            ServiceError::TooManyTags(_) => "TooManyTags",
            ServiceError::Internal(_) => "InternalFailure",
        }
    }

    /// Whether the client is at fault (HTTP 400) rather than the service (500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, ServiceError::Internal(_))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidToken => {
                ServiceError::InvalidToken("invalid pagination token".into())
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
