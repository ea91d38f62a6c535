//! The clients, backend and runtime service a function builds from its
//! [`LambdaEnv`], once per function instance.
//!
//! [`Wiring::service`] performs Task states with [`AwsInvoker`] and
//! publishes status changes with [`AwsNotifier`]; [`Wiring::service_with`]
//! takes another invoker (tests use [`NoTaskInvoker`]).

use crate::env::{check_account, queue_name, EnvError, LambdaEnv};
use aws_config::{BehaviorVersion, SdkConfig};
use flowstate_auth::VerifierConfig;
use flowstate_aws::keys::DynamoKeyStore;
use flowstate_aws::token_key::{load_or_create_task_token_key, TokenKeyError};
use flowstate_aws::{AwsBackend, AwsInvoker, AwsNotifier, NotifierSettings, Settings};
use flowstate_engine::driver::{NoTasks, TaskHandler};
use flowstate_ports::{InvokeContext, Invoker, SystemClock, TaskInvocation, TaskResult};
use flowstate_runtime::{Config, Service};

/// How long GetActivityTask waits in the API function: within its 30 s
/// timeout and API Gateway's 30 s integration limit, so that a task taken
/// is always answered (a worker polls again, as it does after AWS's 60 s).
const API_ACTIVITY_POLL_MS: u64 = 20_000;

/// The runtime service every function runs on.
pub type LambdaService<I> = Service<AwsBackend, AwsBackend, I, SystemClock>;

/// SDK configuration and the backend, built once per function instance.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub env: LambdaEnv,
    /// From the standard AWS environment (`AWS_REGION`, credentials,
    /// `AWS_ENDPOINT_URL`): share it for any further client.
    pub sdk: SdkConfig,
    pub backend: AwsBackend,
    /// How long this process's claim on an effect lasts, when not the
    /// runtime's default (`Config::claim_ms`).
    pub claim_ms: Option<i64>,
}

/// What a process outside Lambda (`flowstate worker`, `flowstate serve
/// --backend aws --no-worker`) is told on its command line in place of the
/// environment `template.yaml` gives a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// The DynamoDB table.
    pub table: String,
    /// The step queue, by name or URL.
    pub queue: String,
    /// The KMS key that seals the stack's task token key.
    pub kms_key: String,
    /// The status-change topic, if status changes are published.
    pub topic_arn: Option<String>,
    /// The EventBridge bus status changes also go to.
    pub event_bus_name: Option<String>,
    /// The account in the ARNs Flowstate makes.
    pub account: String,
    /// How long a claim on an effect lasts (`Config::claim_ms`), when not
    /// the runtime's default: the effects a killed process held are
    /// performed again once it lapsed.
    pub claim_ms: Option<i64>,
}

/// Why a process cannot be wired.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("no AWS region: set AWS_REGION (or a profile's region)")]
    NoRegion,
    #[error("cannot find SQS queue '{queue}': {message}")]
    Queue { queue: String, message: String },
}

impl Wiring {
    /// A process's wiring: the SDK configuration from the standard AWS
    /// environment, as in a function (`AWS_ENDPOINT_URL`, the per-service
    /// `AWS_ENDPOINT_URL_LAMBDA`, credentials, region), the queue's URL
    /// looked up when it is given by name, then [`Wiring::with_config`]:
    /// the functions' own configuration from here on.
    pub async fn for_process(settings: ProcessSettings) -> Result<Wiring, ProcessError> {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or(ProcessError::NoRegion)?;
        let queue_url = if queue_name(&settings.queue).is_some() {
            settings.queue.clone()
        } else {
            aws_sdk_sqs::Client::new(&sdk)
                .get_queue_url()
                .queue_name(&settings.queue)
                .send()
                .await
                .map_err(|e| ProcessError::Queue {
                    queue: settings.queue.clone(),
                    message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
                })?
                .queue_url
                .ok_or_else(|| ProcessError::Queue {
                    queue: settings.queue.clone(),
                    message: "GetQueueUrl returned no URL".into(),
                })?
        };
        let env = LambdaEnv {
            table: settings.table,
            queue_url,
            dlq_url: None,
            topic_arn: settings.topic_arn,
            event_bus_name: settings.event_bus_name,
            kms_key: settings.kms_key,
            region,
            account: check_account(settings.account)?,
        };
        let mut wiring = Wiring::with_config(env, sdk);
        wiring.claim_ms = settings.claim_ms;
        Ok(wiring)
    }

    /// Builds the clients; no AWS call is made.
    pub async fn connect(env: LambdaEnv) -> Wiring {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Wiring::with_config(env, sdk)
    }

    /// Same, with a given SDK configuration.
    pub fn with_config(env: LambdaEnv, sdk: SdkConfig) -> Wiring {
        let name = queue_name(&env.queue_url)
            .unwrap_or(&env.queue_url)
            .to_string();
        let mut settings = Settings::new(&env.table, name);
        // Lambda's event source receives; other instances consume what
        // this one sends: nothing to track per process.
        settings.track_messages = false;
        let backend = AwsBackend::new(&sdk, settings);
        // The URL is known: no GetQueueUrl on a cold start.
        backend.set_queue_url(env.queue_url.clone());
        Wiring {
            env,
            sdk,
            backend,
            claim_ms: None,
        }
    }

    /// The runtime configuration for a function: the stack's region,
    /// account and task token key. Task invocations are deferred to the
    /// stepper (a `Perform` message): StartExecution and SendTask* answer
    /// without waiting for a task, and the stepper applies a task's result
    /// in the invocation that performed it. Nothing is spawned: Lambda
    /// freezes the process after the answer.
    pub fn runtime_config(&self, token_key: Vec<u8>) -> Config {
        let defaults = Config::default();
        Config {
            region: self.env.region.clone(),
            account: self.env.account.clone(),
            token_key,
            spawn_tasks: false,
            defer_tasks: true,
            sole_writer: false,
            claim_ms: self.claim_ms.unwrap_or(defaults.claim_ms),
            activity_poll_ms: API_ACTIVITY_POLL_MS,
            ..defaults
        }
    }

    /// The runtime service every function runs: Task states performed on
    /// AWS ([`AwsInvoker`]; StartSyncExecution runs them in the API
    /// function), status changes published to the stack's topic (and bus)
    /// when there is one.
    pub async fn service(&self) -> Result<LambdaService<AwsInvoker>, TokenKeyError> {
        let service = self.service_with(AwsInvoker::new(&self.sdk)).await?;
        if let Some(topic) = &self.env.topic_arn {
            let mut notify = NotifierSettings::new(topic);
            if let Some(bus) = &self.env.event_bus_name {
                notify = notify.with_event_bus(bus);
            }
            service.set_notifier(std::sync::Arc::new(AwsNotifier::new(&self.sdk, notify)));
        }
        Ok(service)
    }

    /// The runtime service with another `invoker` (tests), no notifier.
    /// Reads the stack's task token key, creating it on the first start.
    pub async fn service_with<I: Invoker>(
        &self,
        invoker: I,
    ) -> Result<LambdaService<I>, TokenKeyError> {
        let token_key =
            load_or_create_task_token_key(&self.sdk, &self.env.table, &self.env.kms_key).await?;
        Ok(Service::new(
            self.backend.clone(),
            self.backend.clone(),
            invoker,
            SystemClock,
            self.runtime_config(token_key),
        ))
    }

    /// The access keys requests are verified against.
    pub fn key_store(&self) -> DynamoKeyStore {
        DynamoKeyStore::new(&self.sdk, &self.env.table, &self.env.kms_key)
    }

    /// SigV4 rules for the API: service `states`, the function's region.
    pub fn verifier_config(&self) -> VerifierConfig {
        VerifierConfig {
            region: Some(self.env.region.clone()),
            ..VerifierConfig::default()
        }
    }
}

/// Performs no Task: each fails with `States.TaskFailed` naming its
/// resource (the engine's [`NoTasks`]). For tests that only start and
/// inspect executions.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTaskInvoker;

impl Invoker for NoTaskInvoker {
    async fn invoke(&self, _context: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        NoTasks.invoke(task)
    }
}
