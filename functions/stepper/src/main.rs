//! `flowstate-lambda-stepper`: the Lambda function behind the step queue's
//! event source and the outbox sweep schedule. A function instance started
//! (`flowstate_lambda::init`), then every invocation handed to the
//! library's [`Stepper`].

use flowstate_lambda_stepper::{Stepper, SWEEP_AGE_MS};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

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
