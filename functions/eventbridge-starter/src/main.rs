//! `flowstate-lambda-eventbridge-starter`: a function instance started
//! (`flowstate_lambda::init`), then one execution started per EventBridge
//! event ([`handle`]).

use flowstate_lambda_eventbridge_starter::handle;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let instance = flowstate_lambda::init().await?;
    let instance = &instance;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(instance, &event.payload).await
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
