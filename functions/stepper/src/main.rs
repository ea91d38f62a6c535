//! `flowstate-lambda-stepper`: the Lambda function behind the step queue's
//! event source and the outbox sweep schedule. A function instance started
//! (`flowstate_lambda::init`), then every invocation handed to the
//! library's [`Stepper`].

use flowstate_lambda_stepper::Stepper;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

/// A sweep performs effects whose claim lapsed (the runtime's
/// `Config::claim_ms`, 15 minutes: longer than a Task may run in the
/// stepper), so a task being performed is not started a second time.
const SWEEP_AGE_MS: i64 = 0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let instance = flowstate_lambda::init().await?;
    let stepper = Stepper::new(instance.service, SWEEP_AGE_MS);
    let stepper = &stepper;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        stepper.handle(event.payload)
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
