//! Whole executions through the runtime's `Service` with the AWS invoker:
//! DynamoDB + SQS as the store and queue (moto), and Task states that call
//! DynamoDB and SQS themselves — a put, a `.waitForTaskToken` message
//! answered with SendTaskSuccess, a get, and a conditional put whose
//! `DynamoDB.ConditionalCheckFailedException` a Catch handles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use flowstate_aws::{AwsBackend, AwsInvoker};
use flowstate_engine::Status;
use flowstate_ports::{SimulatedClock, WorkflowType};
use flowstate_runtime::{Config, CreateStateMachine, Service, StartExecution};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_call_dynamodb_and_sqs_and_wait_for_the_callback() {
    let moto = flowstate_testkit::Moto::start();
    let config = moto.sdk_config().await;
    let backend = moto.backend().await;
    let service: Service<AwsBackend, AwsBackend, AwsInvoker, SimulatedClock> = Service::new(
        backend.clone(),
        backend,
        AwsInvoker::new(&config),
        SimulatedClock::new(1_000_000_000),
        Config {
            spawn_tasks: false,
            ..Config::default()
        },
    );

    let table = "orders";
    aws_sdk_dynamodb::Client::new(&config)
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let approvals = sqs
        .create_queue()
        .queue_name("approvals")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    let definition = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": table, "Item": {"pk": {"S.$": "$.id"}, "status": {"S": "new"}}},
            "ResultPath": null, "Next": "Ask"},
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": approvals, "MessageBody": {"id.$": "$.id", "token.$": "$$.Task.Token"}},
            "ResultPath": "$.approval", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": table, "Key": {"pk": {"S.$": "$.id"}}},
            "ResultSelector": {"status.$": "$.Item.status.S"}, "ResultPath": "$.stored", "Next": "Again"},
        "Again": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": table, "Item": {"pk": {"S.$": "$.id"}}, "ConditionExpression": "attribute_not_exists(pk)"},
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.duplicate", "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }});
    let machine = service
        .create_state_machine(CreateStateMachine {
            name: "Orders".into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: WorkflowType::Standard,
            description: None,
        })
        .await
        .unwrap()
        .arn;
    let execution = service
        .start_execution(StartExecution {
            state_machine_arn: machine,
            name: Some("order-1".into()),
            input: Some(json!({"id": "A-1"}).to_string()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn;
    // Due work only: moving time on would reach its one-year timeout.
    service.run_due(50).await.unwrap();
    assert_eq!(
        service.describe_execution(&execution).await.unwrap().status,
        Status::Running
    );

    // The message the Ask state sent, with the token, is on the queue.
    let message = sqs
        .receive_message()
        .queue_url(&approvals)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .and_then(|mut m| m.pop())
        .expect("the approval request");
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(body["id"], "A-1");
    let token = body["token"].as_str().expect("a task token");
    service
        .send_task_success(token, r#"{"approved":true}"#)
        .await
        .unwrap();
    service.run_until_idle(50).await.unwrap();

    let done = service.describe_execution(&execution).await.unwrap();
    assert_eq!(done.status, Status::Succeeded, "{done:?}");
    let output = done.output.as_deref().cloned().unwrap();
    assert_eq!(output["approval"], json!({"approved": true}));
    assert_eq!(output["stored"], json!({"status": "new"}));
    assert_eq!(
        output["duplicate"]["Error"],
        "DynamoDB.ConditionalCheckFailedException"
    );
}
