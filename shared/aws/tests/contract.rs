//! The store/queue contract suite on DynamoDB + SQS (moto).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_sqs_pass_the_contract() {
    let moto = flowstate_testkit::Moto::start();
    flowstate_runtime::contract::run_all(|| moto.backend()).await;
}
