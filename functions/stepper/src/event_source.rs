//! Lambda's SQS event source, for a stepper that is a process rather than
//! a function (`flowstate worker`, and tests that play the event source).
//!
//! What the stack's event source mapping does (`template.yaml`,
//! `StepperFunction.Events.Steps`) is done here the same way:
//!
//! - **Receive** up to [`BATCH_SIZE`] messages with the queue's own
//!   visibility timeout (none is passed), long polling for
//!   `wait_seconds` (Lambda waits 20 s; 0 polls, then sleeps
//!   [`IDLE_SLEEP`] when the queue was empty — moto serves one request at
//!   a time, and a long poll would hold everyone else up).
//! - **Invoke** the stepper with the records shaped as Lambda shapes them
//!   (`messageId`, `receiptHandle`, `body`, `attributes`, `eventSource`,
//!   ...), within the function's timeout ([`FUNCTION_TIMEOUT`]), which
//!   the stepper is told as its deadline, as Lambda's context tells it: a batch
//!   that takes longer is abandoned as Lambda abandons a timed-out
//!   invocation, and all its records come back.
//! - **Partial batch failures** (`ReportBatchItemFailures`): the records
//!   the stepper reports in `batchItemFailures` are left alone and come
//!   back after the visibility timeout (then, after the redrive policy's
//!   receive count, go to the dead-letter queue); the others are deleted
//!   (`DeleteMessageBatch`). A failed invocation, or a response naming a
//!   record that was not in the batch, fails the whole batch.
//! - **The sweep schedule** (`rate(1 minute)`, `{"sweep": true}`): run by
//!   [`run`] between batches.

use crate::{Stepper, StepperError};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use flowstate_ports::{Clock, Invoker};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// The event source mapping's `BatchSize` (`template.yaml`).
pub const BATCH_SIZE: i32 = 10;
/// The stepper function's `Timeout` (`template.yaml`).
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(300);
/// The sweep schedule's rate (`template.yaml`, `rate(1 minute)`).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The pause after an empty receive that did not long-poll.
pub const IDLE_SLEEP: Duration = Duration::from_millis(100);
/// The pause after a receive that failed (after the SDK's own retries).
const ERROR_SLEEP: Duration = Duration::from_secs(1);

/// Failures of the event source's own calls (the stepper's are reported
/// per record).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventSourceError {
    #[error("SQS {operation} on {queue_url}: {message}")]
    Sqs {
        operation: &'static str,
        queue_url: String,
        message: String,
    },
}

/// What one batch came to.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct BatchOutcome {
    /// Records handed to the stepper (0: nothing was received, and the
    /// stepper was not invoked).
    pub records: usize,
    /// Records left for redelivery (reported failed, or the whole batch
    /// when the invocation failed or timed out).
    pub failed: usize,
    /// Whether the invocation itself failed or timed out.
    pub invocation_failed: bool,
    /// Time spent in the stepper's handler, in milliseconds.
    pub handler_ms: f64,
    /// CPU time this process spent meanwhile (user and system), in
    /// milliseconds: the stepper's own work, without the waits on AWS.
    pub handler_cpu_ms: f64,
}

/// Totals of a [`run`].
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Totals {
    /// Stepper invocations for batches (receives that returned records).
    pub batches: u64,
    pub records: u64,
    pub failed_records: u64,
    /// Invocations that failed or timed out as a whole.
    pub failed_invocations: u64,
    pub sweeps: u64,
    pub handler_ms: f64,
    pub handler_cpu_ms: f64,
}

impl Totals {
    fn add(&mut self, batch: &BatchOutcome) {
        if batch.records == 0 {
            return;
        }
        self.batches += 1;
        self.records += batch.records as u64;
        self.failed_records += batch.failed as u64;
        self.failed_invocations += u64::from(batch.invocation_failed);
        self.handler_ms += batch.handler_ms;
        self.handler_cpu_ms += batch.handler_cpu_ms;
    }
}

/// The event source on one queue.
#[derive(Debug, Clone)]
pub struct EventSource {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    region: String,
    wait_seconds: i32,
    function_timeout: Duration,
}

impl EventSource {
    /// An event source on the queue at `queue_url`; reads the queue's ARN
    /// (records name it). `wait_seconds`: long polling, 0..=20.
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        queue_url: &str,
        wait_seconds: i32,
    ) -> Result<EventSource, EventSourceError> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| sqs_error("GetQueueAttributes", queue_url, e))?
            .attributes
            .unwrap_or_default();
        let queue_arn = attributes
            .get(&QueueAttributeName::QueueArn)
            .cloned()
            .unwrap_or_default();
        let region = queue_arn.split(':').nth(3).unwrap_or_default().to_string();
        Ok(EventSource {
            sqs,
            queue_url: queue_url.to_string(),
            queue_arn,
            region,
            wait_seconds: wait_seconds.clamp(0, 20),
            function_timeout: FUNCTION_TIMEOUT,
        })
    }

    /// The same event source for a function whose timeout is `timeout`
    /// rather than the stack's ([`FUNCTION_TIMEOUT`]).
    pub fn with_function_timeout(mut self, timeout: Duration) -> EventSource {
        self.function_timeout = timeout;
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Receives one batch and, if it is not empty, hands it to `stepper`
    /// and deletes the records that did not fail.
    pub async fn poll<I: Invoker, C: Clock>(
        &self,
        stepper: &Stepper<I, C>,
    ) -> Result<BatchOutcome, EventSourceError> {
        let messages = self.receive().await?;
        self.invoke(stepper, messages).await
    }

    /// Up to [`BATCH_SIZE`] messages, invisible for the queue's visibility
    /// timeout from now.
    async fn receive(&self) -> Result<Vec<aws_sdk_sqs::types::Message>, EventSourceError> {
        Ok(self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(BATCH_SIZE)
            .wait_time_seconds(self.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", &self.queue_url, e))?
            .messages
            .unwrap_or_default())
    }

    /// Hands `messages` to `stepper` as one batch and deletes the records
    /// that did not fail.
    async fn invoke<I: Invoker, C: Clock>(
        &self,
        stepper: &Stepper<I, C>,
        messages: Vec<aws_sdk_sqs::types::Message>,
    ) -> Result<BatchOutcome, EventSourceError> {
        if messages.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let records: Vec<Value> = messages.iter().map(|m| self.record(m)).collect();
        let started = Instant::now();
        let cpu_before = process_cpu_ms();
        let deadline = tokio::time::Instant::now() + self.function_timeout;
        let answer = tokio::time::timeout_at(
            deadline,
            stepper.handle_within(json!({ "Records": records }), deadline),
        )
        .await;
        let handler_ms = started.elapsed().as_secs_f64() * 1000.0;
        let handler_cpu_ms = process_cpu_ms() - cpu_before;
        let failed: Option<HashSet<String>> = match answer {
            Ok(Ok(response)) => batch_item_failures(&response),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the stepper failed; the whole batch comes back");
                None
            }
            Err(_) => {
                tracing::error!(
                    timeout_s = self.function_timeout.as_secs(),
                    "the stepper timed out; the whole batch comes back"
                );
                None
            }
        };
        let ids: HashSet<&str> = messages.iter().filter_map(|m| m.message_id()).collect();
        // Lambda fails the whole batch when the response names a record
        // that is not in it.
        let failed = failed.filter(|f| f.iter().all(|id| ids.contains(id.as_str())));
        let invocation_failed = failed.is_none();
        let done: Vec<&aws_sdk_sqs::types::Message> = match &failed {
            None => Vec::new(),
            Some(failed) => messages
                .iter()
                .filter(|m| m.message_id().is_some_and(|id| !failed.contains(id)))
                .collect(),
        };
        self.delete(&done).await?;
        Ok(BatchOutcome {
            records: messages.len(),
            failed: messages.len() - done.len(),
            invocation_failed,
            handler_ms,
            handler_cpu_ms,
        })
    }

    /// A message as Lambda hands it to a function.
    fn record(&self, m: &aws_sdk_sqs::types::Message) -> Value {
        let attributes: serde_json::Map<String, Value> = m
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "messageId": m.message_id().unwrap_or_default(),
            "receiptHandle": m.receipt_handle().unwrap_or_default(),
            "body": m.body().unwrap_or_default(),
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": m.md5_of_body().unwrap_or_default(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        })
    }

    async fn delete(
        &self,
        messages: &[&aws_sdk_sqs::types::Message],
    ) -> Result<(), EventSourceError> {
        if messages.is_empty() {
            return Ok(());
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        let out = self
            .sqs
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sqs_error("DeleteMessageBatch", &self.queue_url, e))?;
        for failure in out.failed() {
            // The message comes back and is handled again; the runtime
            // drops what no longer applies.
            tracing::warn!(code = failure.code(), message = ?failure.message(), "a record could not be deleted");
        }
        Ok(())
    }
}

/// The message ids a stepper response reports failed; `None` when the
/// response is not a batch response Lambda accepts.
fn batch_item_failures(response: &Value) -> Option<HashSet<String>> {
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(HashSet::new()),
        Some(Value::Array(failures)) => failures,
        Some(_) => return None,
    };
    failures
        .iter()
        .map(|f| {
            f.get("itemIdentifier")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
        })
        .collect()
}

fn sqs_error<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    queue_url: &str,
    err: E,
) -> EventSourceError {
    EventSourceError::Sqs {
        operation,
        queue_url: queue_url.to_string(),
        message: aws_sdk_sqs::error::DisplayErrorContext(err).to_string(),
    }
}

/// CPU time of this process so far (user and system), in milliseconds,
/// from `/proc/self/stat` (Linux; 0 elsewhere). Clock ticks are 1/100 s.
pub fn process_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which may contain spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11) + ticks(12)) * 10.0
}

/// When the sweep runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSchedule {
    /// `None`: never (another process sweeps).
    pub every: Option<Duration>,
}

impl Default for SweepSchedule {
    /// The stack's schedule.
    fn default() -> Self {
        SweepSchedule {
            every: Some(SWEEP_EVERY),
        }
    }
}

/// Polls `source` and hands every batch to `stepper`, one batch at a time
/// (one function instance), sweeping on `schedule`, until `shutdown`
/// resolves; a batch under way is finished first. `on_batch` sees every
/// non-empty batch.
pub async fn run<I: Invoker, C: Clock>(
    stepper: &Stepper<I, C>,
    source: &EventSource,
    schedule: SweepSchedule,
    shutdown: impl Future<Output = ()>,
    mut on_batch: impl FnMut(&BatchOutcome),
) -> Totals {
    let mut totals = Totals::default();
    let mut last_sweep = Instant::now();
    tokio::pin!(shutdown);
    loop {
        if schedule
            .every
            .is_some_and(|every| last_sweep.elapsed() >= every)
        {
            last_sweep = Instant::now();
            totals.sweeps += 1;
            let swept: Result<Value, StepperError> = stepper.handle(json!({"sweep": true})).await;
            if let Err(e) = swept {
                tracing::error!(error = %e, "the scheduled sweep failed");
            }
        }
        // Shutdown interrupts a receive, never a batch being handled (its
        // records would come back only after the visibility timeout).
        let received = tokio::select! {
            biased;
            _ = &mut shutdown => return totals,
            received = source.receive() => received,
        };
        let polled = match received {
            Ok(messages) => source.invoke(stepper, messages).await,
            Err(e) => Err(e),
        };
        let pause = match polled {
            Ok(batch) if batch.records > 0 => {
                totals.add(&batch);
                on_batch(&batch);
                None
            }
            Ok(_) => (source.wait_seconds == 0).then_some(IDLE_SLEEP),
            Err(e) => {
                tracing::error!(error = %e, "receiving or deleting a batch failed");
                Some(ERROR_SLEEP)
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                _ = &mut shutdown => return totals,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
