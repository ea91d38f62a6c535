//! What Flowstate's three Lambda functions (`functions/api`,
//! `functions/stepper`, `functions/eventbridge-starter`) share: the start
//! of every function instance, before its first event.
//!
//! - [`LambdaEnv`]: the settings `template.yaml` passes in the environment,
//!   each checked (a missing variable is named).
//! - [`Wiring`]: the SDK configuration, the [`flowstate_aws::AwsBackend`]
//!   (DynamoDB store + SQS queue), the runtime service ([`LambdaService`])
//!   and the access-key store, built from those settings.
//! - [`init`]: logging set up, then both in one call — what each
//!   function's `main` does before handing its handler to the Lambda
//!   runtime.
//! - [`Wiring::for_process`]: the same wiring for a process outside Lambda
//!   (`flowstate worker`, `flowstate serve --backend aws --no-worker`),
//!   from [`ProcessSettings`] its command line gives.
//!
//! ```no_run
//! # async fn demo() -> Result<(), flowstate_lambda::InitError> {
//! let instance = flowstate_lambda::init().await?; // logging, settings, clients, task token key
//! let service = instance.service;                 // Task states on AWS, status changes published
//! # drop(service); Ok(()) }
//! ```
//!
//! Tests build the pieces themselves: [`LambdaEnv::from_lookup`] over a
//! map, [`Wiring::with_config`] over an emulator's SDK configuration, and
//! [`Wiring::service_with`] with [`NoTaskInvoker`].

mod env;
mod wiring;

pub use env::{EnvError, LambdaEnv};
pub use wiring::{LambdaService, NoTaskInvoker, ProcessError, ProcessSettings, Wiring};

use flowstate_aws::token_key::TokenKeyError;
use flowstate_aws::AwsInvoker;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// A function instance ready for its first event.
pub struct Instance {
    /// Its settings, SDK configuration and backend.
    pub wiring: Wiring,
    /// The runtime service over the stack's table and queue.
    pub service: LambdaService<AwsInvoker>,
}

/// Why a function instance cannot start. The function exits with it, and
/// Lambda reports an initialisation failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("cannot load the task token key")]
    TokenKey(#[source] TokenKeyError),
}

/// Starts a function instance: logging (below), settings from
/// the environment, the SDK clients (no call yet), then the runtime
/// service, which reads the stack's task token key (making it on the first
/// start of a new stack).
pub async fn init() -> Result<Instance, InitError> {
    init_logging();
    let env = LambdaEnv::from_env()?;
    let wiring = Wiring::connect(env).await;
    let service = wiring.service().await.map_err(InitError::TokenKey)?;
    Ok(Instance { wiring, service })
}

/// Tracing events (the functions' and the libraries') on stderr, which
/// Lambda sends to the function's log group. Filtered by `RUST_LOG`
/// (`template.yaml` sets it from the `LogLevel` parameter); warnings and
/// errors when it is unset. No colours and no timestamps: CloudWatch
/// stamps each line. A second call keeps the first set-up.
fn init_logging() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .from_env_lossy();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .try_init();
}
