//! The harness on the AWS backends: DynamoDB + SQS on moto (the test kit's
//! launcher, as every test that needs moto uses).

pub use flowstate_testkit::Moto;

use flowstate_aws::AwsBackend;

/// Creates a fresh table and queue on `moto` and returns how to open a
/// backend on them as a new process would: new clients' state, nothing
/// remembered of messages sent or received by earlier openings.
pub async fn fresh(moto: &Moto) -> impl Fn() -> AwsBackend + Send + Sync + 'static {
    let config = moto.sdk_config().await;
    let settings = moto.backend().await.settings().clone();
    move || AwsBackend::new(&config, settings.clone())
}
