//! [`AwsNotifier`]: publishes execution status changes, shaped as Step
//! Functions' EventBridge event ([`StatusChange::event`]), to an SNS topic
//! and, when one is configured, to an EventBridge bus.
//!
//! - **SNS**: the message is the whole event as JSON; the message attribute
//!   `status` (`SUCCEEDED`, `FAILED`, ...) lets subscriptions filter. On a
//!   FIFO topic (`.fifo`) the group is the execution ARN and the
//!   deduplication id is the event id.
//! - **EventBridge**: `detail-type` is Step Functions' ("Step Functions
//!   Execution Status Change") and `detail` is Step Functions', but the
//!   `source` is `flowstate` (configurable): EventBridge rejects custom
//!   events whose source starts with `aws.`. Rules written for Step
//!   Functions match with `"source": ["flowstate"]`.
//!
//! Delivery is at least once (the outbox retries a failed notification).
//! The event id is derived from the execution ARN, its status and stop
//! date, so every delivery of one status change carries the same id:
//! consumers dedupe on it. EventBridge assigns its own id to each PutEvents
//! entry; there, dedupe on `detail.executionArn` + `detail.status`.

use aws_config::SdkConfig;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sns::types::MessageAttributeValue;
use flowstate_ports::{Notifier, NotifyFuture, StatusChange, StoreError, DETAIL_TYPE};
use sha2::{Digest, Sha256};

/// Where status changes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierSettings {
    /// The SNS topic's ARN.
    pub topic_arn: String,
    /// An EventBridge bus (name or ARN) to also send each change to.
    pub event_bus: Option<String>,
    /// The EventBridge `source`; `flowstate` by default (not `aws.states`,
    /// which EventBridge reserves).
    pub source: String,
}

impl NotifierSettings {
    pub fn new(topic_arn: impl Into<String>) -> NotifierSettings {
        NotifierSettings {
            topic_arn: topic_arn.into(),
            event_bus: None,
            source: DEFAULT_SOURCE.to_string(),
        }
    }

    pub fn with_event_bus(mut self, bus: impl Into<String>) -> NotifierSettings {
        self.event_bus = Some(bus.into());
        self
    }
}

/// The EventBridge source of Flowstate's status-change events.
pub const DEFAULT_SOURCE: &str = "flowstate";

/// Publishes [`StatusChange`]s to SNS (and EventBridge).
#[derive(Debug, Clone)]
pub struct AwsNotifier {
    sns: aws_sdk_sns::Client,
    events: aws_sdk_eventbridge::Client,
    settings: NotifierSettings,
    /// The event's `region` when the execution ARN does not name one.
    region: String,
}

impl AwsNotifier {
    pub fn new(config: &SdkConfig, settings: NotifierSettings) -> AwsNotifier {
        AwsNotifier {
            sns: aws_sdk_sns::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
            settings,
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    pub fn settings(&self) -> &NotifierSettings {
        &self.settings
    }

    async fn publish(&self, change: &StatusChange) -> Result<(), StoreError> {
        let id = event_id(change);
        // The event's time is the change's: the stop date (or the start
        // date of an execution without one), never the time of delivery.
        let millis = change.stop_date.unwrap_or(change.start_date);
        let (region, account) = region_and_account(&change.execution_arn);
        let region = region.unwrap_or(&self.region);
        let event = change.event(&id, &rfc3339(millis), region, account.unwrap_or(""));
        let mut request = self
            .sns
            .publish()
            .topic_arn(&self.settings.topic_arn)
            .message(event.to_string())
            .message_attributes(
                "status",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(&change.status)
                    .build()
                    .map_err(|e| StoreError::Backend(format!("SNS message attribute: {e}")))?,
            );
        if self.settings.topic_arn.ends_with(".fifo") {
            request = request
                .message_group_id(&change.execution_arn)
                .message_deduplication_id(&id);
        }
        request.send().await.map_err(|e| {
            StoreError::Backend(format!(
                "publishing the status change of {} to SNS topic {}: {}",
                change.execution_arn,
                self.settings.topic_arn,
                aws_sdk_sns::error::DisplayErrorContext(e)
            ))
        })?;
        if let Some(bus) = &self.settings.event_bus {
            let entry = PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source(&self.settings.source)
                .detail_type(DETAIL_TYPE)
                .detail(change.detail().to_string())
                .resources(&change.execution_arn)
                .time(DateTime::from_millis(millis))
                .build();
            let output = self
                .events
                .put_events()
                .entries(entry)
                .send()
                .await
                .map_err(|e| {
                    StoreError::Backend(format!(
                        "sending the status change of {} to EventBridge bus {bus}: {}",
                        change.execution_arn,
                        aws_sdk_eventbridge::error::DisplayErrorContext(e)
                    ))
                })?;
            if output.failed_entry_count() > 0 {
                let why = output
                    .entries()
                    .iter()
                    .filter_map(|e| {
                        Some(format!(
                            "{}: {}",
                            e.error_code()?,
                            e.error_message().unwrap_or("")
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(StoreError::Backend(format!(
                    "EventBridge bus {bus} rejected the status change of {}: {why}",
                    change.execution_arn
                )));
            }
        }
        Ok(())
    }
}

impl Notifier for AwsNotifier {
    fn notify<'a>(&'a self, change: &'a StatusChange) -> NotifyFuture<'a> {
        Box::pin(self.publish(change))
    }
}

/// A UUID-shaped id (RFC 9562 version 8: custom, here SHA-256) of the
/// execution ARN, its final status and stop date: the same for every
/// delivery of one status change, different for a redriven execution's
/// next ending.
pub fn event_id(change: &StatusChange) -> String {
    let mut hash = Sha256::new();
    hash.update(change.execution_arn.as_bytes());
    hash.update(b"\n");
    hash.update(change.status.as_bytes());
    hash.update(b"\n");
    hash.update(change.stop_date.unwrap_or(0).to_string().as_bytes());
    let digest = hash.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    uuid::Uuid::from_bytes(b).to_string()
}

/// `arn:PARTITION:states:REGION:ACCOUNT:...` → (region, account).
fn region_and_account(arn: &str) -> (Option<&str>, Option<&str>) {
    let mut fields = arn.split(':');
    let region = fields.nth(3).filter(|s| !s.is_empty());
    let account = fields.next().filter(|s| !s.is_empty());
    (region, account)
}

/// Epoch ms → `2019-02-26T19:42:21Z`, EventBridge's `time` format.
fn rfc3339(millis: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(status: &str, stop: i64) -> StatusChange {
        StatusChange {
            execution_arn: "arn:aws:states:eu-west-1:123456789012:execution:orders:run-1".into(),
            state_machine_arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:orders".into(),
            name: "run-1".into(),
            status: status.into(),
            start_date: 1_000,
            stop_date: Some(stop),
            input: Some("{}".into()),
            output: None,
            error: None,
            cause: None,
        }
    }

    #[test]
    fn event_ids_are_stable_per_status_change() {
        let a = event_id(&change("SUCCEEDED", 5_000));
        assert_eq!(a, event_id(&change("SUCCEEDED", 5_000)));
        assert_ne!(a, event_id(&change("FAILED", 5_000)));
        assert_ne!(a, event_id(&change("SUCCEEDED", 6_000)));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
    }

    #[test]
    fn region_account_and_time_come_from_the_change() {
        let c = change("SUCCEEDED", 1_551_210_141_000);
        assert_eq!(
            region_and_account(&c.execution_arn),
            (Some("eu-west-1"), Some("123456789012"))
        );
        assert_eq!(rfc3339(1_551_210_141_000), "2019-02-26T19:42:21Z");
    }
}
