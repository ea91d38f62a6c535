//! The real `flowstate-lambda-stepper` binary behind a Lambda Runtime API
//! emulator, on moto, with Lambda functions served by the test: one
//! execution through every kind of step the stepper performs — a Lambda
//! Task retried after an error, a Wait, a Parallel publishing to SNS and
//! writing to DynamoDB, a Map of Lambda Tasks, an SQS `.waitForTaskToken`
//! callback, a caught Lambda error — and its status-change notification.
//! The test plays the API function (it starts the execution and answers
//! the callback) and Lambda's SQS event source (it receives batches, hands
//! them to the function and deletes the records the function reports done).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::Json;
use flowstate_engine::Status;
use flowstate_lambda::{LambdaEnv, NoTaskInvoker, Wiring};
use flowstate_ports::Store;
use flowstate_runtime::{CreateStateMachine, StartExecution};
use flowstate_testkit::{Function, Moto, Outcome};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lambda's Invoke API for three functions: `flaky` fails its first call,
/// `double` doubles, `fail` always fails.
async fn lambda_endpoint() -> String {
    let flaky_calls = Arc::new(AtomicU32::new(0));
    let app = axum::Router::new().route(
        "/2015-03-31/functions/{name}/invocations",
        axum::routing::post(move |Path(name): Path<String>, body: axum::body::Bytes| {
            let flaky_calls = flaky_calls.clone();
            async move {
                // Lambda takes any content type; the SDK sends none.
                let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut headers = HeaderMap::new();
                let error = |headers: &mut HeaderMap, kind: &str, message: &str| {
                    headers.insert("x-amz-function-error", "Unhandled".parse().unwrap());
                    json!({"errorType": kind, "errorMessage": message})
                };
                // A function ARN arrives whole: its last part is the name.
                let body = match name.rsplit(':').next().unwrap_or_default() {
                    "flaky" if flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 => {
                        error(&mut headers, "Flaky", "try again")
                    }
                    "flaky" => json!({"ok": true}),
                    "double" => json!(payload.as_i64().unwrap_or(0) * 2),
                    _ => error(&mut headers, "Boom", "it failed"),
                };
                (headers, Json(body))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    (url, arn)
}

/// A topic with a raw-delivery SQS subscription; the queue's URL.
async fn topic_to_queue(config: &aws_config::SdkConfig, topic: &str) -> (String, String) {
    let sns = aws_sdk_sns::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let topic_arn = sns
        .create_topic()
        .name(topic)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (url, arn) = queue(&sqs, &format!("{topic}-sub")).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    (topic_arn, url)
}

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    wait: i32,
) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stepper_binary_runs_an_execution_through_every_kind_of_step() {
    let moto = Moto::start();
    let stack = moto.stack().await;
    let config = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (status_topic, status_queue) = topic_to_queue(&config, "flowstate-status").await;
    let (orders_topic, orders_queue) = topic_to_queue(&config, "orders").await;
    let (callback_queue, _) = queue(&sqs, "approvals").await;

    let mut env = stack.env();
    env.retain(|(k, _)| k != "FLOWSTATE_TOPIC_ARN");
    env.push(("FLOWSTATE_TOPIC_ARN".into(), status_topic));
    env.push(("AWS_ENDPOINT_URL_LAMBDA".into(), lambda_endpoint().await));
    env.push(("RUST_LOG".into(), "info".into()));
    let stepper = Function::start(env!("CARGO_BIN_EXE_flowstate-lambda-stepper"), &env).await;

    // The API function's side, on the same stack.
    let lookup: std::collections::HashMap<String, String> = env.iter().cloned().collect();
    let wiring = Wiring::with_config(
        LambdaEnv::from_lookup(|k| lookup.get(k).cloned()).unwrap(),
        config.clone(),
    );
    let api = wiring.service_with(NoTaskInvoker).await.unwrap();

    let table = &stack.table;
    let definition = json!({"StartAt": "Flaky", "States": {
        "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
            "ResultSelector": {"ok.$": "$.Payload.ok"}, "ResultPath": "$.flaky",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
        "Fan": {"Type": "Parallel", "ResultPath": null, "Next": "Map", "Branches": [
            {"StartAt": "Publish", "States": {"Publish": {"Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": orders_topic, "Message.$": "States.JsonToString($.items)"},
                "End": true}}},
            {"StartAt": "Put", "States": {"Put": {"Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table,
                    "Item": {"PK": {"S": "TEST#order"}, "SK": {"S": "TEST"}, "items": {"N.$": "States.Format('{}', States.ArrayLength($.items))"}}},
                "End": true}}}]},
        "Map": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.doubled",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Double",
                "States": {"Double": {"Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true}}},
            "Next": "Approve"},
        "Approve": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": callback_queue, "MessageBody": {"token.$": "$$.Task.Token"}},
            "ResultPath": "$.approval", "Next": "Fail"},
        "Fail": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
            "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.caught", "Next": "Done"}],
            "End": true},
        "Done": {"Type": "Pass", "End": true}}});
    let machine = api
        .create_state_machine(CreateStateMachine {
            name: "order".into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: flowstate_ports::WorkflowType::Standard,
            description: None,
        })
        .await
        .unwrap()
        .arn;
    let arn = api
        .start_execution(StartExecution {
            state_machine_arn: machine,
            name: Some("o-1".into()),
            input: Some(r#"{"items": [1, 2, 3]}"#.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn;

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut invocations = 0;
    loop {
        let rec = api
            .store()
            .load_execution(&arn, false)
            .await
            .unwrap()
            .unwrap();
        if rec.execution.status != Status::Running {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the execution did not end:\n{}",
            stepper.logs()
        );
        for m in receive(&sqs, &callback_queue, 0).await {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            api.send_task_success(body["token"].as_str().unwrap(), r#"{"approved": true}"#)
                .await
                .unwrap();
        }
        let messages = receive(&sqs, &stack.queue_url, 1).await;
        if messages.is_empty() {
            continue;
        }
        let event = json!({"Records": messages.iter().map(|m| json!({
            "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
            "body": m.body(), "eventSource": "aws:sqs"})).collect::<Vec<_>>()});
        invocations += 1;
        let response = match stepper.invoke(event).await {
            Outcome::Response(bytes) => serde_json::from_slice::<Value>(&bytes).unwrap(),
            Outcome::Error {
                error_type,
                error_message,
            } => {
                panic!("{error_type}: {error_message}\n{}", stepper.logs())
            }
        };
        let failed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        assert!(failed.is_empty(), "{response}\n{}", stepper.logs());
        for m in &messages {
            sqs.delete_message()
                .queue_url(&stack.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }

    let d = api.describe_execution(&arn).await.unwrap();
    assert_eq!(
        d.status,
        Status::Succeeded,
        "{:?} {:?}\n{}",
        d.error,
        d.cause,
        stepper.logs()
    );
    let out = d.output.unwrap();
    assert_eq!(out["flaky"], json!({"ok": true}), "retried after Flaky");
    assert_eq!(out["doubled"], json!([2, 4, 6]));
    assert_eq!(out["approval"], json!({"approved": true}));
    assert_eq!(out["caught"]["Error"], "Boom");
    assert!(
        invocations >= 5,
        "the stepper advanced it ({invocations} invocations)"
    );

    let history = api
        .get_execution_history(&arn, flowstate_runtime::HistoryRequest::default())
        .await
        .unwrap();
    let types: Vec<&str> = history
        .events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"TaskFailed") && types.contains(&"WaitStateExited"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));

    let published = receive(&sqs, &orders_queue, 1).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].body(), Some("[1,2,3]"));
    let item = aws_sdk_dynamodb::Client::new(&config)
        .get_item()
        .table_name(table)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("TEST#order".into()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("TEST".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the Parallel branch wrote the item");
    assert_eq!(
        item["items"],
        aws_sdk_dynamodb::types::AttributeValue::N("3".into())
    );

    let status = receive(&sqs, &status_queue, 1).await;
    assert_eq!(status.len(), 1, "one status change for the one execution");
    let event: Value = serde_json::from_str(status[0].body().unwrap()).unwrap();
    assert_eq!(
        event["detail-type"],
        "Step Functions Execution Status Change"
    );
    assert_eq!(event["detail"]["status"], "SUCCEEDED");
    assert_eq!(event["detail"]["executionArn"], arn.as_str());
}
