//! `flowstate-lambda-stepper`: the Lambda function behind the step queue's
//! event source and the outbox sweep schedule. See the library for what
//! it does; this file only wires the environment to it.

use anyhow::Context;
use flowstate_aws::lambda_env::{LambdaEnv, Wiring};
use flowstate_lambda_stepper::Stepper;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

/// A sweep performs effects older than this: longer than a Task may run in
/// the stepper (the function's timeout), so a task being performed is not
/// started a second time.
const SWEEP_AGE_MS: i64 = 15 * 60 * 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_ansi(false)
        .without_time()
        .init();
    let env = LambdaEnv::from_env()?;
    let wiring = Wiring::connect(env).await;
    let service = wiring
        .service()
        .await
        .context("cannot load the task token key")?;
    let stepper = Stepper::new(service, SWEEP_AGE_MS);
    let stepper = &stepper;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        stepper.handle(event.payload).await.map_err(|e| Diagnostic {
            error_type: "StepperError".into(),
            error_message: e.to_string(),
        })
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
