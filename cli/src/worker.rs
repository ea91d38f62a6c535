//! `flowstate worker --backend aws`: one stepper instance as a process.
//!
//! Wiring only, and the same wiring as the stepper function: the runtime
//! service is `flowstate_lambda::Wiring`'s (the functions' configuration:
//! tasks deferred to the queue, several writers, Task states on AWS through
//! the standard endpoints, `AWS_ENDPOINT_URL_LAMBDA` included), the handler
//! is `flowstate_lambda_stepper::Stepper`, and Lambda's SQS event source and
//! the sweep schedule are `flowstate_lambda_stepper::event_source`. Several
//! worker processes on one table and queue are several stepper instances.

use anyhow::Context;
use clap::Args;
use flowstate_lambda::{ProcessSettings, Wiring};
use flowstate_lambda_stepper::event_source::{self, EventSource, SweepSchedule};
use flowstate_lambda_stepper::{Stepper, SWEEP_AGE_MS};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct WorkerArgs {
    /// Where executions are kept. Only `aws` has workers of its own: the
    /// embedded backend's worker runs inside `flowstate serve`.
    #[arg(long, value_enum)]
    pub backend: WorkerBackend,
    /// The DynamoDB table.
    #[arg(long, env = "FLOWSTATE_TABLE")]
    pub table: String,
    /// The step queue, by name or URL.
    #[arg(long, env = "FLOWSTATE_QUEUE_URL")]
    pub queue: String,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Long polling of each receive, in seconds (0..=20). Lambda's event
    /// source waits 20 s; use 0 against an emulator that serves one
    /// request at a time (moto), and the worker pauses 100 ms after an
    /// empty receive instead.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
    pub poll_wait_seconds: i32,
    /// How often this worker sweeps the outbox, in seconds; 0: never (when
    /// another process sweeps). The stack sweeps once a minute.
    #[arg(long, default_value_t = 60)]
    pub sweep_every_seconds: u64,
    /// The sweep performs effects whose claim lapsed at least this long
    /// ago, in seconds (the stepper's: 0 — a claim already outlasts a
    /// task being performed).
    #[arg(long, default_value_t = SWEEP_AGE_MS / 1000)]
    pub sweep_age_seconds: i64,
    /// How long this worker's claim on an effect (a task it performs)
    /// lasts, in seconds: once it lapsed — the worker died — a sweep
    /// performs the effect again. Longer than a task may run (default 900,
    /// as the stepper).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub claim_seconds: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkerBackend {
    Aws,
}

/// What a process of a deployment needs beyond the table and the queue
/// (`flowstate worker`, `flowstate serve --backend aws`): the functions
/// read the same from `template.yaml`'s environment.
#[derive(Args, Clone)]
pub struct StackArgs {
    /// The KMS key that seals the stack's task token key (the stack's
    /// `KeyArn` output): every process of a deployment signs and checks
    /// task tokens with that one key, kept in the table.
    #[arg(long, env = "FLOWSTATE_KEYS_KMS_KEY")]
    pub kms_key: Option<String>,
    /// Publish status changes to this SNS topic (the stack's
    /// `StatusTopicArn`); none are published without it.
    #[arg(long, env = "FLOWSTATE_TOPIC_ARN")]
    pub topic_arn: Option<String>,
    /// Also send status changes to this EventBridge bus.
    #[arg(long, env = "FLOWSTATE_EVENT_BUS_NAME")]
    pub event_bus: Option<String>,
    /// The account in the ARNs Flowstate makes.
    #[arg(long, env = "FLOWSTATE_ACCOUNT_ID", default_value = "123456789012")]
    pub account: String,
}

impl StackArgs {
    /// The settings of a process on `table` and `queue`, or which option
    /// is missing.
    pub fn settings(&self, table: &str, queue: &str) -> anyhow::Result<ProcessSettings> {
        let kms_key = self
            .kms_key
            .clone()
            .filter(|v| !v.trim().is_empty())
            .context("--kms-key (or FLOWSTATE_KEYS_KMS_KEY) is needed: the KMS key that seals the stack's task token key")?;
        Ok(ProcessSettings {
            table: table.to_string(),
            queue: queue.to_string(),
            kms_key,
            topic_arn: self.topic_arn.clone().filter(|v| !v.trim().is_empty()),
            event_bus_name: self.event_bus.clone().filter(|v| !v.trim().is_empty()),
            account: self.account.clone(),
            claim_ms: None,
        })
    }
}

pub fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let WorkerBackend::Aws = args.backend;
    let mut settings = args.stack.settings(&args.table, &args.queue)?;
    settings.claim_ms = args.claim_seconds.map(|s| s.saturating_mul(1000));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(work(args, settings))?;
    Ok(ExitCode::SUCCESS)
}

async fn work(args: WorkerArgs, settings: ProcessSettings) -> anyhow::Result<()> {
    let table = settings.table.clone();
    let wiring = Wiring::for_process(settings).await?;
    let service = wiring
        .service()
        .await
        .context("cannot load the task token key")?;
    let stepper = Stepper::new(service, args.sweep_age_seconds.saturating_mul(1000));
    let source = EventSource::new(&wiring.sdk, &wiring.env.queue_url, args.poll_wait_seconds)
        .await
        .context("cannot read the step queue")?;
    let schedule = SweepSchedule {
        every: (args.sweep_every_seconds > 0)
            .then(|| Duration::from_secs(args.sweep_every_seconds)),
    };
    let shutdown = crate::serve::shutdown_signal()?;
    // Tests and scripts wait for this line.
    outln!(
        "flowstate worker: polling {} (DynamoDB table {table})",
        source.queue_url()
    )?;
    let totals = event_source::run(&stepper, &source, schedule, shutdown, |_| {}).await;
    outln!(
        "flowstate worker: stopped after {} batches ({} records, {} failed, {} failed invocations, {} sweeps, {:.0} ms in the handler, {:.0} ms of CPU)",
        totals.batches,
        totals.records,
        totals.failed_records,
        totals.failed_invocations,
        totals.sweeps,
        totals.handler_ms,
        totals.handler_cpu_ms
    )?;
    Ok(())
}
