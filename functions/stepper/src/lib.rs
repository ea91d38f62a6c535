//! The stepper: what the `flowstate-lambda-stepper` function does with an
//! invocation, apart from the Lambda runtime around it.
//!
//! - An **SQS batch** (Lambda's event source on the step queue): every
//!   record is one queue message — an event for an execution, or a Task to
//!   perform (`Perform`). Records are handled concurrently (steps of one
//!   execution still one at a time; results of one execution that arrive
//!   together commit together), each in its own tracing span. A record
//!   that fails is reported in `batchItemFailures` and made visible again
//!   after a jittered back-off of seconds (ChangeMessageVisibility), so SQS
//!   redelivers only it, soon (and, after `maxReceiveCount` failures, moves
//!   it to the dead-letter queue). A message not due yet (clock skew) is
//!   sent again with the remaining delay and reported done. A record that
//!   performs a Task goes on with the Tasks its result leads to, in the
//!   same invocation, while the invocation has time left
//!   ([`flowstate_runtime::chain`]): a chain of Lambda Tasks costs one
//!   SQS message.
//! - A **sweep** (the stack's schedule, `{"sweep": true}` or any scheduled
//!   EventBridge event): effects committed by a step whose process died
//!   before performing them (the outbox) are performed again, once their
//!   claim lapsed at least [`SWEEP_AGE_MS`] ago, and long timers (over
//!   900 s, kept in the table while they wait) that are due within SQS's
//!   delay are sent to the queue.
//!
//! [`event_source`] plays Lambda's SQS event source and the sweep schedule
//! for a stepper that runs as a process (`flowstate worker`): the same
//! [`Stepper`], configured by the same code (`flowstate_lambda`), fed the
//! same events.

pub mod event_source;

use flowstate_aws::AwsBackend;
use flowstate_ports::{Clock, Invoker, Queue};
use flowstate_runtime::{Applied, ChainBudget, Service, ServiceError};
use lambda_runtime::Diagnostic;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::Instrument;

/// A sweep performs effects whose claim lapsed (the runtime's
/// `Config::claim_ms`, 15 minutes: longer than a Task may run in the
/// stepper), so a task being performed is not started a second time.
pub const SWEEP_AGE_MS: i64 = 0;

/// The service the stepper drives: DynamoDB + SQS, any invoker and clock.
pub type StepperService<I, C> = Service<AwsBackend, AwsBackend, I, C>;

/// Failures of a whole invocation (a record's failure is reported in the
/// batch response instead).
#[derive(Debug, thiserror::Error)]
pub enum StepperError {
    #[error("unrecognised invocation payload: expected an SQS event (Records) or a sweep ({{\"sweep\": true}} or a scheduled event): {0}")]
    Payload(String),
    #[error("outbox sweep failed: {0}")]
    Sweep(#[from] ServiceError),
}

impl From<StepperError> for Diagnostic {
    fn from(e: StepperError) -> Diagnostic {
        Diagnostic {
            error_type: "StepperError".into(),
            error_message: e.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(rename = "receiptHandle", default)]
    receipt_handle: String,
    #[serde(default)]
    attributes: RecordAttributes,
    body: String,
}

#[derive(Debug, Default, Deserialize)]
struct RecordAttributes {
    #[serde(rename = "ApproximateReceiveCount")]
    receive_count: Option<String>,
}

/// How many records of one batch ran, and what became of them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchReport {
    pub committed: usize,
    pub dropped: usize,
    /// Not due yet: sent again with the remaining delay.
    pub deferred: usize,
    pub failed: usize,
}

/// The stepper over a service. `sweep_age_ms`: a sweep performs outbox
/// entries whose claim lapsed at least this long ago (the claim itself,
/// `Config::claim_ms`, outlasts a Task being performed).
pub struct Stepper<I, C> {
    service: StepperService<I, C>,
    sweep_age_ms: i64,
}

impl<I: Invoker, C: Clock> Stepper<I, C> {
    pub fn new(service: StepperService<I, C>, sweep_age_ms: i64) -> Self {
        Stepper {
            service,
            sweep_age_ms,
        }
    }

    pub fn service(&self) -> &StepperService<I, C> {
        &self.service
    }

    /// Handles one invocation payload; the function's response. The
    /// invocation is taken to end after the function's timeout
    /// ([`event_source::FUNCTION_TIMEOUT`]) from now.
    pub async fn handle(&self, payload: Value) -> Result<Value, StepperError> {
        let deadline = tokio::time::Instant::now() + event_source::FUNCTION_TIMEOUT;
        self.handle_within(payload, deadline).await
    }

    /// [`Stepper::handle`] in an invocation that ends at `deadline` (the
    /// Lambda context's): Tasks are chained only while it leaves time.
    pub async fn handle_within(
        &self,
        payload: Value,
        deadline: tokio::time::Instant,
    ) -> Result<Value, StepperError> {
        if payload.get("Records").is_some() {
            let event: SqsEvent = serde_json::from_value(payload)
                .map_err(|e| StepperError::Payload(e.to_string()))?;
            let budget = ChainBudget::until(deadline);
            let (failures, report) = self.batch(event.records, budget).await;
            tracing::info!(?report, "batch done");
            let failures: Vec<Value> = failures
                .into_iter()
                .map(|id| json!({"itemIdentifier": id}))
                .collect();
            return Ok(json!({"batchItemFailures": failures}));
        }
        let scheduled = payload.get("sweep").and_then(Value::as_bool) == Some(true)
            || payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
        if scheduled {
            let now = self.service.clock().now();
            let performed = self.service.sweep_outbox(now - self.sweep_age_ms).await?;
            tracing::info!(performed, "outbox swept");
            // Long timers due within SQS's delay go to the queue.
            let timers = self
                .service
                .queue()
                .sweep_timers(now)
                .await
                .map_err(ServiceError::from)?;
            return Ok(json!({"swept": performed, "timers": timers}));
        }
        let shown: String = payload.to_string().chars().take(200).collect();
        Err(StepperError::Payload(shown))
    }

    /// Handles the records of one SQS batch concurrently; the message ids
    /// of the records that failed.
    async fn batch(
        &self,
        records: Vec<SqsRecord>,
        budget: ChainBudget,
    ) -> (Vec<String>, BatchReport) {
        let mut tasks = tokio::task::JoinSet::new();
        let mut ids = std::collections::HashMap::new();
        for record in records {
            let service = self.service.clone();
            let span = tracing::info_span!(
                "record",
                message_id = %record.message_id,
                execution_arn = tracing::field::Empty
            );
            let message_id = record.message_id.clone();
            let handle = tasks.spawn(
                async move {
                    let outcome = one_record(&service, &record.body, &budget).await;
                    if let Err(e) = &outcome {
                        tracing::error!(error = %e, "record failed; SQS will redeliver it");
                        // Back in seconds (jittered, growing with its
                        // receive count), not after the queue's visibility
                        // timeout; if this fails too, the timeout does it.
                        let attempts = record
                            .attributes
                            .receive_count
                            .as_deref()
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(1);
                        let _ = service.retry_later(&record.receipt_handle, attempts).await;
                    }
                    (record.message_id, outcome)
                }
                .instrument(span),
            );
            ids.insert(handle.id(), message_id);
        }
        let mut failed = Vec::new();
        let mut report = BatchReport::default();
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, (_, Ok(Outcome::Applied(Applied::Committed))))) => report.committed += 1,
                Ok((_, (_, Ok(Outcome::Applied(Applied::Dropped))))) => report.dropped += 1,
                Ok((_, (_, Ok(Outcome::NotDue)))) => report.deferred += 1,
                Ok((_, (id, Err(_)))) => {
                    report.failed += 1;
                    failed.push(id);
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(error = %e, "a record's task panicked; SQS will redeliver it");
                    if let Some(id) = ids.get(&e.id()) {
                        failed.push(id.clone());
                    }
                }
            }
        }
        (failed, report)
    }
}

enum Outcome {
    Applied(Applied),
    NotDue,
}

async fn one_record<I: Invoker, C: Clock>(
    service: &StepperService<I, C>,
    body: &str,
    budget: &ChainBudget,
) -> Result<Outcome, ServiceError> {
    let backend = service.queue();
    let now = service.clock().now();
    let Some(message) = backend.accept_record(body, now).await? else {
        return Ok(Outcome::NotDue);
    };
    tracing::Span::current().record("execution_arn", message.execution_arn.as_str());
    let applied = service.handle_within(&message, budget).await?;
    backend.finish_record(body).await?;
    Ok(Outcome::Applied(applied))
}
