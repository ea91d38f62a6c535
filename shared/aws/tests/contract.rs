//! The store/queue contract suite on DynamoDB + SQS (moto).

/// On a thread of its own with an 8 MiB stack: the contract's limits
/// scenarios take documents nested 100 levels and a JSONata value built
/// 110 levels deep through the engine under the AWS SDK's futures, which
/// in a debug build needs a little more than a test thread's 2 MiB (2 MiB
/// sufficed before the activity events were added; 3 MiB does now).
#[test]
fn dynamodb_and_sqs_pass_the_contract() {
    let run = || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(async {
            let moto = flowstate_testkit::Moto::start();
            flowstate_runtime::contract::run_all(|| moto.backend()).await;
        });
    };
    let worker = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(run)
        .expect("a test thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
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
