//! The store/queue contract suite on DynamoDB + SQS (moto).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_sqs_pass_the_contract() {
    let moto = flowstate_testkit::Moto::start();
    flowstate_runtime::contract::run_all(|| moto.backend()).await;
}

/// The deployed configuration's scenarios with the backend configured as
/// the Lambda functions configure theirs: no bookkeeping of the messages
/// this process sent or received (`track_messages: false`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_sqs_as_deployed_perform_effects_once() {
    let moto = flowstate_testkit::Moto::start();
    let config = moto.sdk_config().await;
    flowstate_runtime::contract::run_deployed(|| async {
        let mut settings = moto.backend().await.settings().clone();
        settings.track_messages = false;
        flowstate_aws::AwsBackend::new(&config, settings)
    })
    .await;
}
