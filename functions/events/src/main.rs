//! `flowstate-lambda-events`: settings from the environment (template.yaml),
//! then one execution started per EventBridge event.

use anyhow::Context;
use flowstate_aws::lambda_env::{LambdaEnv, Wiring};
use flowstate_lambda_events::{start_from_event, Answer};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = LambdaEnv::from_env()?;
    let wiring = Wiring::connect(env).await;
    let service = wiring
        .service()
        .await
        .context("cannot load the task token key")?;
    let (region, account) = (wiring.env.region.clone(), wiring.env.account.clone());
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let (service, region, account) = (service.clone(), region.clone(), account.clone());
        async move {
            match start_from_event(&service, &region, &account, &event.payload).await {
                Ok(answer) => {
                    if let Answer::Rejected { error, cause } = &answer {
                        // Logged, not failed: no retry could start it.
                        eprintln!("rejected event: {error}: {cause}");
                    }
                    Ok(answer)
                }
                Err(e) => {
                    eprintln!("failed (will be retried): {e}");
                    Err(Diagnostic {
                        error_type: e.error_type().to_string(),
                        error_message: e.to_string(),
                    })
                }
            }
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
