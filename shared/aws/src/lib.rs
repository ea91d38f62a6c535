//! Flowstate's AWS backends: the [`Store`] on DynamoDB and the [`Queue`] on
//! SQS, bundled in one [`AwsBackend`] value (the runtime and the contract suite
//! take one value implementing both); the [`Invoker`] that performs Task
//! states against AWS services ([`AwsInvoker`]); and the [`Notifier`] that
//! publishes execution status changes to SNS and EventBridge
//! ([`AwsNotifier`]).
//!
//! - **DynamoDB** (one table, keys `PK`/`SK`, one global secondary index
//!   `GSI1`): state machines and their revisions, a small execution header,
//!   the execution's input (written once), a frame's state (with its data
//!   when that is small, else its data an item of its own written only
//!   when it changes), history events in items
//!   of up to 100, outbox entries with their claims. A step is one
//!   `TransactWriteItems` conditioned on the header's `ver`; what does not
//!   fit is written ahead under keys of its own that only the committed
//!   step makes valid, so a step of any size commits. Values larger than
//!   one item are split over chunk items. The layout is described in
//!   `dynamo.rs` and `executions.rs`.
//! - **SQS** (a standard queue and its dead-letter queue): messages carry
//!   ids and events, their due time in the body and a `DelaySeconds` of at
//!   most 900; a message received before it is due is sent again. See
//!   `sqs.rs` for how the queue follows the caller's clock.
//! - **Long timers** (due more than 900 s ahead) wait in the table, keyed
//!   by the minute they are due in, until a sweep ([`Queue::sweep_timers`],
//!   the stepper's schedule) sends them to SQS: no message while they
//!   wait. See `timers.rs`.
//!
//! Both clients come from the standard AWS configuration
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_PROFILE`, credentials chain):
//!
//! ```no_run
//! # async fn demo() -> Result<(), flowstate_aws::Error> {
//! use flowstate_aws::{AwsBackend, Settings};
//! let backend = AwsBackend::from_env(Settings::new("flowstate", "flowstate-steps")).await;
//! backend.create_resources().await?; // table, queue and dead-letter queue when missing
//! # Ok(()) }
//! ```
//!
//! - **Task states** ([`AwsInvoker`], `invoker.rs` and `integrations/`):
//!   Lambda (function ARNs, `lambda:invoke`), `sqs:sendMessage`,
//!   `sns:publish`, `events:putEvents`, `dynamodb:getItem|putItem|updateItem|deleteItem`,
//!   each also as `.waitForTaskToken` where Step Functions offers it (not
//!   DynamoDB). Request and result shapes and error names are Step
//!   Functions'; what is supported is the engine's list
//!   (`flowstate_engine::integration::AWS_INTEGRATIONS`), and anything else
//!   fails with `States.TaskFailed` naming it.
//! - **Status changes** ([`AwsNotifier`], `notifier.rs`): Step Functions'
//!   "Execution Status Change" event to an SNS topic (message attribute
//!   `status`) and optionally an EventBridge bus (source `flowstate`).
//!
//! ```no_run
//! # async fn demo() {
//! use flowstate_aws::{AwsInvoker, AwsNotifier, NotifierSettings};
//! let config = aws_config::load_from_env().await;
//! let invoker = AwsInvoker::new(&config);
//! let notifier = AwsNotifier::new(
//!     &config,
//!     NotifierSettings::new("arn:aws:sns:us-east-1:123456789012:flowstate-status")
//!         .with_event_bus("default"),
//! );
//! # let _ = (invoker, notifier); }
//! ```
//!
//! Beside them: [`keys`] (access keys for the API's SigV4 check, secrets
//! sealed with KMS) and [`token_key`] (the stack's task token key, sealed
//! the same way). The Lambda functions' wiring of all of this to the
//! runtime is the `flowstate-lambda` crate's.
//!
//! SDK errors never leave this crate: the ports see [`StoreError`]
//! (`Conflict` for a lost compare-and-set), set-up code sees [`Error`],
//! tasks see Step Functions' error names.

mod activities;
mod codec;
mod dynamo;
mod executions;
mod integrations;
mod invoker;
pub mod keys;
mod kms;
mod notifier;
mod resources;
mod sqs;
mod table;
mod timers;
pub mod token_key;
mod versions;

pub use keys::{DynamoKeyStore, KeyInfo, KeysError};
pub use kms::{KmsError, Purpose, PURPOSE_KEY};

pub use invoker::AwsInvoker;
pub use notifier::{event_id, AwsNotifier, NotifierSettings, DEFAULT_SOURCE};

use aws_config::{BehaviorVersion, SdkConfig};
use flowstate_ports::StoreError;
use std::sync::{Arc, Mutex};

pub use flowstate_ports::{Invoker, Notifier, Queue, Store};
pub use sqs::{MAX_DELAY_SECONDS, SPILL_BYTES};

/// Names of the AWS resources an [`AwsBackend`] uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The DynamoDB table.
    pub table: String,
    /// The SQS queue of steps (standard, not FIFO: FIFO queues have no
    /// per-message delay).
    pub queue: String,
    /// The dead-letter queue; `{queue}-dlq` by default.
    pub dead_letter_queue: String,
    /// Receives after which SQS moves a message to the dead-letter queue.
    pub max_receive_count: u32,
    /// Keep track of the messages this process sent and received (a
    /// long-running worker that polls the queue itself). Off in Lambda
    /// functions: the event source receives, other instances consume what
    /// this one sends, and the bookkeeping would only grow.
    pub track_messages: bool,
    /// Days an ended execution is kept: its items carry a `ttl` this long
    /// after it ended, and DynamoDB's TTL deletes them. 90 by default, as
    /// Step Functions keeps a Standard execution's history; the stack's
    /// `ExecutionRetentionDays` (environment variable
    /// `FLOWSTATE_EXECUTION_RETENTION_DAYS`, read here) sets it.
    pub retention_days: u32,
}

/// Step Functions keeps a Standard execution's history 90 days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The environment variable that sets [`Settings::retention_days`].
pub const RETENTION_DAYS_ENV: &str = "FLOWSTATE_EXECUTION_RETENTION_DAYS";

impl Settings {
    pub fn new(table: impl Into<String>, queue: impl Into<String>) -> Settings {
        let queue = queue.into();
        Settings {
            table: table.into(),
            dead_letter_queue: format!("{queue}-dlq"),
            queue,
            max_receive_count: 10,
            track_messages: true,
            retention_days: std::env::var(RETENTION_DAYS_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(DEFAULT_RETENTION_DAYS),
        }
    }
}

/// Failures of set-up operations ([`AwsBackend::create_resources`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("creating DynamoDB table '{table}': {message}")]
    Table { table: String, message: String },
    #[error("creating SQS queue '{queue}': {message}")]
    Queue { queue: String, message: String },
}

/// DynamoDB store + SQS queue. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct AwsBackend {
    inner: Arc<Inner>,
}

struct Inner {
    dynamo: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    settings: Settings,
    /// Resolved on first use (GetQueueUrl) or by `create_resources`.
    queue_url: tokio::sync::OnceCell<String>,
    /// What this process knows of the messages it sent and received.
    local: Mutex<sqs::Local>,
    /// Where the items of executions read or written here are.
    layouts: executions::Layouts,
    /// Set once the timer store's sweep cursor is known to exist.
    timer_cursor: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for AwsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsBackend")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl AwsBackend {
    /// A backend on clients built from `config` (no call is made yet).
    pub fn new(config: &SdkConfig, settings: Settings) -> AwsBackend {
        AwsBackend {
            inner: Arc::new(Inner {
                dynamo: aws_sdk_dynamodb::Client::new(config),
                sqs: aws_sdk_sqs::Client::new(config),
                settings,
                queue_url: tokio::sync::OnceCell::new(),
                local: Mutex::new(sqs::Local::default()),
                layouts: Default::default(),
                timer_cursor: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// A backend configured by the standard AWS environment: region,
    /// credentials and profile as the AWS CLI reads them, and
    /// `AWS_ENDPOINT_URL` (e.g. an emulator such as moto).
    pub async fn from_env(settings: Settings) -> AwsBackend {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        AwsBackend::new(&config, settings)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    fn table(&self) -> &str {
        &self.inner.settings.table
    }
}

/// An SDK failure as the ports report it. `DisplayErrorContext` keeps the
/// whole cause chain (service code and message), which `Display` drops.
pub(crate) fn backend_error<E: std::error::Error + Send + Sync + 'static>(
    what: &str,
    err: E,
) -> StoreError {
    StoreError::Backend(format!(
        "{what}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(err)
    ))
}

pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("corrupt record ({what}): {err}"))
}
