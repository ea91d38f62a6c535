//! The harness on the AWS backends: DynamoDB + SQS on moto (started by
//! the launcher the AWS backend's own tests use).

#[path = "../../../shared/aws/tests/common/moto.rs"]
mod moto;

pub use moto::Moto;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::{AwsBackend, Settings};
use std::sync::atomic::{AtomicU32, Ordering};

async fn sdk_config(moto: &Moto) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// Creates a fresh table and queue on `moto` and returns how to open a
/// backend on them as a new process would: new clients' state, nothing
/// remembered of messages sent or received by earlier openings.
pub async fn fresh(moto: &Moto) -> impl Fn() -> AwsBackend + Send + Sync + 'static {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let name = format!("durable-{}-{n}", std::process::id());
    let config = sdk_config(moto).await;
    let settings = Settings::new(format!("{name}-table"), format!("{name}-steps"));
    AwsBackend::new(&config, settings.clone())
        .create_resources()
        .await
        .expect("create table and queues on moto");
    move || AwsBackend::new(&config, settings.clone())
}
