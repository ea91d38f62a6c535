//! `flowstate-lambda-api`: settings from the environment (template.yaml),
//! then the SigV4-verified Step Functions API for every API Gateway event.

use anyhow::Context;
use flowstate_aws::lambda_env::{LambdaEnv, Wiring};
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = LambdaEnv::from_env()?;
    let wiring = Wiring::connect(env).await;
    let service = wiring
        .service()
        .await
        .context("cannot load the task token key")?;
    let app = flowstate_lambda_api::app(
        Arc::new(service),
        wiring.key_store(),
        wiring.verifier_config(),
    );
    lambda_http::run(flowstate_lambda_api::handler(app))
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
