//! Execution status-change notifications: what is published when an
//! execution ends, shaped as Step Functions' EventBridge event
//! ("Step Functions Execution Status Change", source `aws.states`).

use crate::StoreError;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;

/// One execution that reached a final status.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// Epoch ms.
    pub start_date: i64,
    /// Epoch ms.
    pub stop_date: Option<i64>,
    /// The execution's input and output as JSON text.
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl StatusChange {
    /// The event's `detail`, as Step Functions fills it (dates in epoch ms,
    /// absent values as `null`).
    pub fn detail(&self) -> Value {
        let included = |v: &Option<String>| json!({"included": v.is_some()});
        json!({
            "executionArn": self.execution_arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start_date,
            "stopDate": self.stop_date,
            "input": self.input,
            "inputDetails": included(&self.input),
            "output": self.output,
            "outputDetails": included(&self.output),
            "error": self.error,
            "cause": self.cause,
        })
    }

    /// The whole EventBridge event (`id` and `time` come from the caller:
    /// the same change always gets the same id, so consumers can dedupe).
    pub fn event(&self, id: &str, time_rfc3339: &str, region: &str, account: &str) -> Value {
        json!({
            "version": "0",
            "id": id,
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": account,
            "time": time_rfc3339,
            "region": region,
            "resources": [self.execution_arn],
            "detail": self.detail(),
        })
    }
}

/// EventBridge `detail-type` of status changes.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";
/// EventBridge `source` of status changes (as Step Functions sends them).
pub const SOURCE: &str = "aws.states";

/// A boxed future: notifiers are held as trait objects in the runtime's
/// configuration (one call per finished execution, far from the hot path).
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Publishes status changes (SNS, EventBridge, ...). Called at least once
/// per finished execution, after the final step is committed; a failure is
/// retried by the outbox sweep.
pub trait Notifier: Send + Sync + 'static {
    fn notify<'a>(&'a self, change: &'a StatusChange) -> NotifyFuture<'a>;
}
