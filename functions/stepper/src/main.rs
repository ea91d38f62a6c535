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
        // Tasks are chained only while the invocation has time left.
        let left = std::time::Duration::from_millis(event.context.deadline).saturating_sub(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
        );
        stepper.handle_within(event.payload, tokio::time::Instant::now() + left)
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
