//! `flowstate-lambda-api`: a function instance started
//! (`flowstate_lambda::init`), then the SigV4-verified Step Functions API
//! for every API Gateway event.

use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let instance = flowstate_lambda::init().await?;
    let wiring = &instance.wiring;
    let app = flowstate_lambda_api::app(
        Arc::new(instance.service),
        wiring.key_store(),
        wiring.verifier_config(),
    );
    lambda_http::run(flowstate_lambda_api::handler(app))
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
