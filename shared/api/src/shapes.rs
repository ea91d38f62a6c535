//! Request and response shapes of the actions, with Step Functions' member
//! names (camelCase) and types.
//!
//! Names follow the AWS API reference: `<Action>Input` is the request,
//! `<Action>Output` the response. Logging, tracing and encryption settings
//! are kept as opaque JSON (stored and returned, not acted on), so that
//! requests from SDKs and IaC tools deserialize unchanged. The shapes of
//! versions, aliases and tags are in `shapes/versions.rs`.
//! Unknown members are ignored, as AWS's JSON protocol does.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

mod versions;
pub use versions::*;
mod activities;
pub use activities::*;

/// A point in time, held as milliseconds since the Unix epoch and sent as
/// epoch seconds with a fraction — the awsJson1_0 timestamp format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 1000.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateMachineType {
    #[default]
    Standard,
    Express,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateMachineStatus {
    Active,
    Deleting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
            ExecutionStatus::PendingRedrive => "PENDING_REDRIVE",
        }
    }
}

/// StartSyncExecution's status: an Express execution that returns has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
}

/// `includedData`: whether Describe* responses carry inputs, outputs and
/// definitions (`ALL_DATA`, the default) or only metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IncludedData {
    #[default]
    AllData,
    MetadataOnly,
}

/// `{"included": bool}` next to an input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudWatchEventsExecutionDataDetails {
    pub included: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValidationSeverity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValidationResultCode {
    Ok,
    Fail,
}

// ---------------------------------------------------------------- state machines

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachineInput {
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    #[serde(rename = "type")]
    pub r#type: Option<StateMachineType>,
    pub logging_configuration: Option<Value>,
    pub tags: Option<Vec<Tag>>,
    pub tracing_configuration: Option<Value>,
    pub publish: Option<bool>,
    pub version_description: Option<String>,
    pub encryption_configuration: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachineOutput {
    pub state_machine_arn: String,
    pub creation_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineInput {
    pub state_machine_arn: String,
    pub included_data: Option<IncludedData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineOutput {
    pub state_machine_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StateMachineStatus>,
    pub definition: String,
    pub role_arn: String,
    #[serde(rename = "type")]
    pub r#type: StateMachineType,
    pub creation_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachineInput {
    pub state_machine_arn: String,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub publish: Option<bool>,
    pub version_description: Option<String>,
    pub encryption_configuration: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachineOutput {
    pub update_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStateMachineInput {
    pub state_machine_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DeleteStateMachineOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachinesInput {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineListItem {
    pub state_machine_arn: String,
    pub name: String,
    #[serde(rename = "type")]
    pub r#type: StateMachineType,
    pub creation_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachinesOutput {
    pub state_machines: Vec<StateMachineListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

// ---------------------------------------------------------------- executions

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StartExecutionInput {
    pub state_machine_arn: String,
    pub name: Option<String>,
    /// The execution input as JSON text; absent means `{}`.
    pub input: Option<String>,
    pub trace_header: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartExecutionOutput {
    pub execution_arn: String,
    pub start_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StartSyncExecutionInput {
    pub state_machine_arn: String,
    pub name: Option<String>,
    pub input: Option<String>,
    pub trace_header: Option<String>,
    pub included_data: Option<IncludedData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingDetails {
    #[serde(rename = "billedMemoryUsedInMB")]
    pub billed_memory_used_in_mb: i64,
    pub billed_duration_in_milliseconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartSyncExecutionOutput {
    pub execution_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub start_date: Timestamp,
    pub stop_date: Timestamp,
    pub status: SyncExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_details: Option<CloudWatchEventsExecutionDataDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<CloudWatchEventsExecutionDataDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_details: Option<BillingDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecutionInput {
    pub execution_arn: String,
    pub included_data: Option<IncludedData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecutionOutput {
    pub execution_arn: String,
    pub state_machine_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: ExecutionStatus,
    pub start_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_details: Option<CloudWatchEventsExecutionDataDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<CloudWatchEventsExecutionDataDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_alias_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_status_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RedriveExecutionInput {
    pub execution_arn: String,
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedriveExecutionOutput {
    pub redrive_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutionsInput {
    pub state_machine_arn: Option<String>,
    pub status_filter: Option<ExecutionStatus>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub map_run_arn: Option<String>,
    pub redrive_filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionListItem {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_alias_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutionsOutput {
    pub executions: Vec<ExecutionListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetExecutionHistoryInput {
    pub execution_arn: String,
    pub max_results: Option<i64>,
    pub reverse_order: Option<bool>,
    pub next_token: Option<String>,
    /// Defaults to true, as on AWS.
    pub include_execution_data: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetExecutionHistoryOutput {
    /// History events already in `GetExecutionHistory` shape — see
    /// `flowstate_engine::history::HistoryEvent::to_aws_json`.
    pub events: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StopExecutionInput {
    pub execution_arn: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopExecutionOutput {
    pub stop_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineForExecutionInput {
    pub execution_arn: String,
    pub included_data: Option<IncludedData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineForExecutionOutput {
    pub state_machine_arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub update_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<Value>,
}

// ---------------------------------------------------------------- task tokens

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SendTaskSuccessInput {
    pub task_token: String,
    /// The task's result as JSON text.
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SendTaskSuccessOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SendTaskFailureInput {
    pub task_token: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SendTaskFailureOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SendTaskHeartbeatInput {
    pub task_token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SendTaskHeartbeatOutput {}

// ---------------------------------------------------------------- validation

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ValidateStateMachineDefinitionInput {
    pub definition: String,
    #[serde(rename = "type")]
    pub r#type: Option<StateMachineType>,
    /// The minimum severity reported: `ERROR` (the default) or `WARNING`.
    pub severity: Option<ValidationSeverity>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateStateMachineDefinitionDiagnostic {
    pub severity: ValidationSeverity,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateStateMachineDefinitionOutput {
    pub result: ValidationResultCode,
    pub diagnostics: Vec<ValidateStateMachineDefinitionDiagnostic>,
    pub truncated: bool,
}

mod test_state;
pub use test_state::*;
