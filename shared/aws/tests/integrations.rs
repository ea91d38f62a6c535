//! The AWS invoker's service integrations and the status-change notifier
//! against moto (SQS, SNS, DynamoDB, EventBridge) and a small local server
//! speaking Lambda's Invoke API: Step Functions' result shapes, at least
//! one error name per service, `.waitForTaskToken` returning
//! `AwaitingCallback` once the message really arrived, and resources
//! Flowstate does not perform on AWS failing with a clear cause.

// Test helpers outside #[test] functions: a failed set-up should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_config::SdkConfig;
use base64::Engine as _;
use flowstate_aws::{event_id, AwsInvoker, AwsNotifier, NotifierSettings};
use flowstate_ports::{InvokeContext, Invoker, Notifier, StatusChange, TaskInvocation, TaskResult};
use flowstate_testkit::Moto;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";

/// One moto for the whole file: it stops when the test process exits
/// (its wrapper watches a pipe from this process).
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

async fn config() -> SdkConfig {
    moto().sdk_config().await
}

fn task(resource: &str, parameters: Value) -> TaskInvocation {
    TaskInvocation {
        resource: resource.to_string(),
        parameters,
        task_token: None,
        state_name: "Call".to_string(),
        execution_arn: EXECUTION.to_string(),
        timeout_seconds: None,
        heartbeat_seconds: None,
    }
}

async fn run(invoker: &AwsInvoker, resource: &str, parameters: Value) -> TaskResult {
    let context = InvokeContext {
        execution_arn: EXECUTION.to_string(),
        invocation_id: "inv-1".to_string(),
        test_case: None,
    };
    invoker.invoke(&context, &task(resource, parameters)).await
}

fn succeeded(result: TaskResult) -> Value {
    match result {
        TaskResult::Succeeded(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failed(result: TaskResult) -> (String, String) {
    match result {
        TaskResult::Failed(f) => (f.error, f.cause.unwrap_or_default()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

async fn create_queue(config: &SdkConfig) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(config);
    let url = sqs
        .create_queue()
        .queue_name(unique("q"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (sqs, url)
}

/// Waits (briefly) for one message on the queue: its body and attributes.
async fn receive_one(sqs: &aws_sdk_sqs::Client, url: &str) -> aws_sdk_sqs::types::Message {
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .message_attribute_names("All")
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages.and_then(|mut m| m.pop()) {
            return m;
        }
    }
    panic!("no message arrived on {url}");
}

// ---------------------------------------------------------------- Lambda

/// What the local Invoke API received.
#[derive(Debug, Clone)]
struct Received {
    function: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A Lambda Invoke API on a loopback port:
/// `echo` returns `{"received": <event>}`, `declined` fails with a handled
/// `CardDeclined` error, `timeout` fails as a timed-out function does (no
/// errorType), any other name is a 404 `ResourceNotFoundException`.
struct LambdaServer {
    endpoint: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl LambdaServer {
    fn start() -> LambdaServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || serve(stream, &log));
            }
        });
        LambdaServer { endpoint, received }
    }

    fn last(&self) -> Received {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Received>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut n = 0;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if !path.starts_with("/2015-03-31/") {
            let payload =
                json!({"__type": "com.amazonaws#InternalFailure", "message": "boom"}).to_string();
            let response = format!(
                "HTTP/1.1 500 X\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nx-amzn-RequestId: r-500\r\n\r\n{payload}",
                payload.len()
            );
            log.lock().unwrap().push(Received {
                function: String::new(),
                path,
                headers,
                body: String::new(),
            });
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        // /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=...]
        let encoded = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        let decoded = encoded.replace("%3A", ":").replace("%3a", ":");
        let function = match decoded.split_once("function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or("").to_string(),
            None => decoded.split(':').next().unwrap_or("").to_string(),
        };
        let received = Received {
            function: function.clone(),
            path: path.clone(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        log.lock().unwrap().push(received.clone());
        n += 1;
        let request_id = format!("req-{n}");
        let (status, extra, payload): (u16, Vec<(&str, String)>, String) = match function.as_str()
        {
            // Lambda queues an asynchronous call and answers 202, empty.
            "echo" if received.header("X-Amz-Invocation-Type") == Some("Event") => {
                (202, Vec::new(), String::new())
            }
            "echo" => {
                let event: Value = serde_json::from_str(&received.body).unwrap_or(Value::Null);
                (
                    200,
                    vec![("X-Amz-Executed-Version", "$LATEST".to_string())],
                    json!({"received": event}).to_string(),
                )
            }
            "declined" => (
                200,
                vec![("X-Amz-Function-Error", "Handled".to_string())],
                json!({"errorType": "CardDeclined", "errorMessage": "no funds"}).to_string(),
            ),
            "timeout" => (
                200,
                vec![("X-Amz-Function-Error", "Unhandled".to_string())],
                json!({"errorMessage": "2026-11-25T10:00:00.000Z abc Task timed out after 3.00 seconds"})
                    .to_string(),
            ),
            "busy" => (
                429,
                vec![("x-amzn-ErrorType", "TooManyRequestsException".to_string())],
                json!({"Type": "User", "message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}).to_string(),
            ),
            "broken" => (
                500,
                vec![("x-amzn-ErrorType", "ServiceException".to_string())],
                json!({"Type": "Service", "message": "internal failure"}).to_string(),
            ),
            other => (
                404,
                vec![("x-amzn-ErrorType", "ResourceNotFoundException".to_string())],
                json!({"Type": "User", "message": format!("Function not found: arn:aws:lambda:us-east-1:123456789012:function:{other}")})
                    .to_string(),
            ),
        };
        let mut response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-amzn-RequestId: {request_id}\r\n",
            payload.len()
        );
        for (k, v) in extra {
            response.push_str(&format!("{k}: {v}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&payload);
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

async fn lambda_invoker(server: &LambdaServer) -> AwsInvoker {
    AwsInvoker::with_lambda_endpoint(&config().await, Some(&server.endpoint))
}

#[tokio::test]
async fn lambda_plain_function_arn_returns_the_function_output() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:lambda:us-east-1:123456789012:function:echo",
            json!({"order": 7}),
        )
        .await,
    );
    assert_eq!(out, json!({"received": {"order": 7}}));
    assert_eq!(server.last().function, "echo");
}

#[tokio::test]
async fn lambda_invoke_wraps_the_answer_and_passes_qualifier_and_client_context() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let context = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"k":"v"}}"#);
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "echo", "Qualifier": "live", "ClientContext": context, "Payload": {"x": 1}}),
        )
        .await,
    );
    assert_eq!(out["Payload"], json!({"received": {"x": 1}}));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(out["SdkResponseMetadata"]["RequestId"], json!("req-1"));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ExecutedVersion",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode"
        ]
    );
    let request = server.last();
    assert!(
        request.path.ends_with("?Qualifier=live"),
        "{}",
        request.path
    );
    assert_eq!(
        request.header("X-Amz-Client-Context"),
        Some(context.as_str())
    );
    assert_eq!(
        request.header("X-Amz-Invocation-Type"),
        Some("RequestResponse")
    );
}

#[tokio::test]
async fn lambda_invoke_event_invocation_is_passed_on_and_answers_202() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "echo", "InvocationType": "Event", "Payload": {}}),
        )
        .await,
    );
    assert_eq!(out["StatusCode"], json!(202));
    assert_eq!(out["Payload"], json!(""));
    assert!(out.get("ExecutedVersion").is_none(), "{out}");
    assert_eq!(server.last().header("X-Amz-Invocation-Type"), Some("Event"));
}

#[tokio::test]
async fn lambda_handled_function_error_becomes_its_error_type() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    for resource in [
        "arn:aws:lambda:us-east-1:123456789012:function:declined",
        "arn:aws:states:::lambda:invoke",
    ] {
        let (error, cause) = failed(
            run(
                &invoker,
                resource,
                json!({"FunctionName": "declined", "Payload": {}}),
            )
            .await,
        );
        assert_eq!(error, "CardDeclined", "{resource}");
        assert_eq!(
            cause,
            r#"{"errorType":"CardDeclined","errorMessage":"no funds"}"#
        );
    }
}

#[tokio::test]
async fn lambda_unhandled_error_without_type_is_lambda_unknown() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "timeout"}),
        )
        .await,
    );
    assert_eq!(error, "Lambda.Unknown");
    assert!(
        cause.contains("Task timed out after 3.00 seconds"),
        "{cause}"
    );
}

#[tokio::test]
async fn lambda_missing_function_is_resource_not_found() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:lambda:us-east-1:123456789012:function:nope",
            json!({}),
        )
        .await,
    );
    assert_eq!(error, "Lambda.ResourceNotFoundException");
    assert!(
        cause.starts_with("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: req-1"),
        "{cause}"
    );
}

#[tokio::test]
async fn lambda_throttling_and_service_failures_are_retried_then_named_as_lambda_names_them() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let count = |name: &str| {
        server
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.function == name)
            .count()
    };
    for (function, expected) in [
        ("busy", "Lambda.TooManyRequestsException"),
        ("broken", "Lambda.ServiceException"),
    ] {
        let (error, cause) = failed(
            run(
                &invoker,
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": function}),
            )
            .await,
        );
        assert_eq!(error, expected, "{cause}");
        // Transient: the SDK's standard retry policy tried three times.
        assert_eq!(count(function), 3, "{function}");
    }
    // A missing function is not transient: one attempt.
    failed(
        run(
            &invoker,
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "gone"}),
        )
        .await,
    );
    assert_eq!(count("gone"), 1);
}

#[tokio::test]
async fn a_service_failure_the_model_does_not_declare_is_the_generic_service_exception() {
    let server = LambdaServer::start();
    // Every service at the local server, which answers SQS with 500s.
    let config = config()
        .await
        .into_builder()
        .endpoint_url(&server.endpoint)
        .build();
    let invoker = AwsInvoker::new(&config);
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::sqs:sendMessage",
            json!({"QueueUrl": format!("{}/123456789012/q", server.endpoint), "MessageBody": "hi"}),
        )
        .await,
    );
    assert_eq!(error, "SQS.AmazonSQSException");
    assert_eq!(
        cause,
        "boom (Service: AmazonSQS; Status Code: 500; Error Code: InternalFailure; Request ID: r-500; Proxy: null)"
    );
    assert_eq!(
        server.received.lock().unwrap().len(),
        3,
        "retried as transient"
    );
}

#[tokio::test]
async fn lambda_invoke_wait_for_task_token_awaits_after_the_call() {
    let server = LambdaServer::start();
    let invoker = lambda_invoker(&server).await;
    let result = run(
        &invoker,
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({"FunctionName": "echo", "Payload": {"token": "tok-42"}}),
    )
    .await;
    assert_eq!(result, TaskResult::AwaitingCallback);
    let request = server.last();
    assert_eq!(
        serde_json::from_str::<Value>(&request.body).unwrap(),
        json!({"token": "tok-42"})
    );
    // A function error still fails the task: nobody will call back.
    let (error, _) = failed(
        run(
            &invoker,
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "declined", "Payload": {"token": "t"}}),
        )
        .await,
    );
    assert_eq!(error, "CardDeclined");
}

#[tokio::test]
async fn lambda_unreachable_endpoint_is_an_sdk_client_exception() {
    // A port nothing listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let invoker = AwsInvoker::with_lambda_endpoint(
        &config().await,
        Some(&format!("http://127.0.0.1:{port}")),
    );
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "echo"}),
        )
        .await,
    );
    assert_eq!(error, "Lambda.SdkClientException");
    assert!(
        cause.starts_with("Unable to execute HTTP request"),
        "{cause}"
    );
}

// ------------------------------------------------------------------- SQS

#[tokio::test]
async fn sqs_send_message_returns_its_answer_and_the_message_arrives() {
    let config = config().await;
    let (sqs, url) = create_queue(&config).await;
    let invoker = AwsInvoker::new(&config);
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::sqs:sendMessage",
            json!({
                "QueueUrl": url,
                "MessageBody": {"order": 7},
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}}
            }),
        )
        .await,
    );
    let fields: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "MD5OfMessageAttributes",
            "MD5OfMessageBody",
            "MessageId",
            "SdkHttpMetadata",
            "SdkResponseMetadata"
        ]
    );
    let message = receive_one(&sqs, &url).await;
    // A JSON MessageBody is sent as JSON text.
    assert_eq!(message.body(), Some(r#"{"order":7}"#));
    assert_eq!(out["MessageId"].as_str(), message.message_id());
    assert_eq!(out["MD5OfMessageBody"].as_str(), message.md5_of_body());
    assert_eq!(
        message.message_attributes().unwrap()["kind"].string_value(),
        Some("order")
    );
}

#[tokio::test]
async fn sqs_send_to_a_missing_queue_is_queue_does_not_exist() {
    let config = config().await;
    let invoker = AwsInvoker::new(&config);
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::sqs:sendMessage",
            json!({"QueueUrl": format!("{}/123456789012/missing", moto().endpoint), "MessageBody": "hi"}),
        )
        .await,
    );
    assert_eq!(error, "SQS.QueueDoesNotExistException", "{cause}");
    assert!(
        cause.contains("(Service: AmazonSQS; Status Code: 400; Error Code: "),
        "{cause}"
    );
}

#[tokio::test]
async fn sqs_wait_for_task_token_awaits_after_the_message_arrived() {
    let config = config().await;
    let (sqs, url) = create_queue(&config).await;
    let invoker = AwsInvoker::new(&config);
    let result = run(
        &invoker,
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        json!({"QueueUrl": url, "MessageBody": {"Input": {"a": 1}, "TaskToken": "tok-sqs"}}),
    )
    .await;
    assert_eq!(result, TaskResult::AwaitingCallback);
    let body: Value = serde_json::from_str(receive_one(&sqs, &url).await.body().unwrap()).unwrap();
    assert_eq!(body["TaskToken"], "tok-sqs");
}

#[tokio::test]
async fn bad_parameters_are_runtime_errors_naming_the_field() {
    let invoker = AwsInvoker::new(&config().await);
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::sqs:sendMessage",
            json!({"MessageBody": "hi"}),
        )
        .await,
    );
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("'QueueUrl' is required"), "{cause}");
}

// ------------------------------------------------------------------- SNS

/// A topic whose messages arrive raw on a fresh queue.
async fn topic_into_queue(config: &SdkConfig) -> (String, aws_sdk_sqs::Client, String) {
    let sns = aws_sdk_sns::Client::new(config);
    let topic = sns
        .create_topic()
        .name(unique("t"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (sqs, url) = create_queue(config).await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    (topic, sqs, url)
}

#[tokio::test]
async fn sns_publish_returns_the_message_id_and_the_message_arrives() {
    let config = config().await;
    let (topic, sqs, url) = topic_into_queue(&config).await;
    let invoker = AwsInvoker::new(&config);
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::sns:publish",
            json!({"TopicArn": topic, "Message": {"order": 7}, "Subject": "orders"}),
        )
        .await,
    );
    assert!(out["MessageId"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());
    assert_eq!(receive_one(&sqs, &url).await.body(), Some(r#"{"order":7}"#));
}

#[tokio::test]
async fn sns_publish_to_a_missing_topic_is_not_found() {
    let invoker = AwsInvoker::new(&config().await);
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::sns:publish",
            json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:missing", "Message": "hi"}),
        )
        .await,
    );
    assert_eq!(error, "SNS.NotFoundException", "{cause}");
    assert!(
        cause.contains("(Service: AmazonSNS; Status Code: 404; Error Code: NotFound;"),
        "{cause}"
    );
}

#[tokio::test]
async fn sns_wait_for_task_token_awaits_after_the_message_arrived() {
    let config = config().await;
    let (topic, sqs, url) = topic_into_queue(&config).await;
    let invoker = AwsInvoker::new(&config);
    let result = run(
        &invoker,
        "arn:aws:states:::sns:publish.waitForTaskToken",
        json!({"TopicArn": topic, "Message": {"TaskToken": "tok-sns"}}),
    )
    .await;
    assert_eq!(result, TaskResult::AwaitingCallback);
    let body: Value = serde_json::from_str(receive_one(&sqs, &url).await.body().unwrap()).unwrap();
    assert_eq!(body["TaskToken"], "tok-sns");
}

// -------------------------------------------------------------- DynamoDB

async fn create_table(config: &SdkConfig) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let name = unique("tbl");
    aws_sdk_dynamodb::Client::new(config)
        .create_table()
        .table_name(&name)
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
    name
}

#[tokio::test]
async fn dynamodb_put_get_update_delete_in_dynamodb_json() {
    let config = config().await;
    let table = create_table(&config).await;
    let invoker = AwsInvoker::new(&config);
    let item = json!({"pk": {"S": "order-1"}, "n": {"N": "5"}, "tags": {"SS": ["a"]}, "m": {"M": {"ok": {"BOOL": true}}}});
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::dynamodb:putItem",
            json!({"TableName": table, "Item": item}),
        )
        .await,
    );
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["SdkHttpMetadata", "SdkResponseMetadata"]);

    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::dynamodb:getItem",
            json!({"TableName": table, "Key": {"pk": {"S": "order-1"}}}),
        )
        .await,
    );
    assert_eq!(
        out["Item"],
        json!({"m": {"M": {"ok": {"BOOL": true}}}, "n": {"N": "5"}, "pk": {"S": "order-1"}, "tags": {"SS": ["a"]}})
    );

    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::dynamodb:updateItem",
            json!({
                "TableName": table,
                "Key": {"pk": {"S": "order-1"}},
                "UpdateExpression": "SET #n = #n + :one",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":one": {"N": 1}},
                "ReturnValues": "UPDATED_NEW"
            }),
        )
        .await,
    );
    assert_eq!(out["Attributes"], json!({"n": {"N": "6"}}));

    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::dynamodb:deleteItem",
            json!({"TableName": table, "Key": {"pk": {"S": "order-1"}}, "ReturnValues": "ALL_OLD"}),
        )
        .await,
    );
    assert_eq!(out["Attributes"]["n"], json!({"N": "6"}));
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::dynamodb:getItem",
            json!({"TableName": table, "Key": {"pk": {"S": "order-1"}}}),
        )
        .await,
    );
    assert!(out.get("Item").is_none(), "{out}");
}

#[tokio::test]
async fn dynamodb_conditional_put_failing_is_conditional_check_failed() {
    let config = config().await;
    let table = create_table(&config).await;
    let invoker = AwsInvoker::new(&config);
    let put = json!({
        "TableName": table,
        "Item": {"pk": {"S": "once"}},
        "ConditionExpression": "attribute_not_exists(pk)"
    });
    succeeded(run(&invoker, "arn:aws:states:::dynamodb:putItem", put.clone()).await);
    let (error, cause) = failed(run(&invoker, "arn:aws:states:::dynamodb:putItem", put).await);
    assert_eq!(error, "DynamoDB.ConditionalCheckFailedException");
    assert!(
        cause.contains("(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: "),
        "{cause}"
    );
}

#[tokio::test]
async fn dynamodb_missing_table_is_resource_not_found() {
    let invoker = AwsInvoker::new(&config().await);
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::dynamodb:getItem",
            json!({"TableName": "no-such-table", "Key": {"pk": {"S": "x"}}}),
        )
        .await,
    );
    assert_eq!(error, "DynamoDB.ResourceNotFoundException", "{cause}");
}

// ----------------------------------------------------------- EventBridge

/// A custom bus whose events matching `source` arrive on a fresh queue.
async fn bus_into_queue(config: &SdkConfig, source: &str) -> (String, aws_sdk_sqs::Client, String) {
    let events = aws_sdk_eventbridge::Client::new(config);
    let bus = unique("bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let (sqs, url) = create_queue(config).await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let rule = unique("rule");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(json!({"source": [source]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (bus, sqs, url)
}

#[tokio::test]
async fn events_put_events_adds_the_execution_and_state_machine_to_resources() {
    let config = config().await;
    let (bus, sqs, url) = bus_into_queue(&config, "my.app").await;
    let invoker = AwsInvoker::new(&config);
    let out = succeeded(
        run(
            &invoker,
            "arn:aws:states:::events:putEvents",
            json!({"Entries": [{"Detail": {"order": 7}, "DetailType": "OrderPlaced", "EventBusName": bus, "Source": "my.app"}]}),
        )
        .await,
    );
    assert_eq!(out["FailedEntryCount"], json!(0));
    assert!(out["Entries"][0]["EventId"].is_string(), "{out}");
    let event: Value = serde_json::from_str(receive_one(&sqs, &url).await.body().unwrap()).unwrap();
    assert_eq!(event["detail"], json!({"order": 7}));
    assert_eq!(event["detail-type"], "OrderPlaced");
    assert_eq!(
        event["resources"],
        json!([
            EXECUTION,
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
        ])
    );
}

#[tokio::test]
async fn events_wait_for_task_token_awaits_after_the_event_arrived() {
    let config = config().await;
    let (bus, sqs, url) = bus_into_queue(&config, "my.app").await;
    let invoker = AwsInvoker::new(&config);
    let result = run(
        &invoker,
        "arn:aws:states:::events:putEvents.waitForTaskToken",
        json!({"Entries": [{"Detail": {"TaskToken": "tok-eb"}, "DetailType": "Approve", "EventBusName": bus, "Source": "my.app"}]}),
    )
    .await;
    assert_eq!(result, TaskResult::AwaitingCallback);
    let event: Value = serde_json::from_str(receive_one(&sqs, &url).await.body().unwrap()).unwrap();
    assert_eq!(event["detail"]["TaskToken"], "tok-eb");
}

#[tokio::test]
async fn events_missing_bus_fails_the_task() {
    let invoker = AwsInvoker::new(&config().await);
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::events:putEvents",
            json!({"Entries": [{"Detail": {}, "DetailType": "x", "EventBusName": "no-such-bus", "Source": "my.app"}]}),
        )
        .await,
    );
    // moto refuses the whole call; the error is one the service declares
    // (not PutEvents), which the Java SDK Step Functions uses still names.
    assert_eq!(error, "EventBridge.ResourceNotFoundException", "{cause}");
    assert!(
        cause.contains(
            "(Service: AmazonEventBridge; Status Code: 400; Error Code: ResourceNotFoundException;"
        ),
        "{cause}"
    );
}

// ------------------------------------------------------ unsupported ones

#[tokio::test]
async fn unsupported_resources_fail_naming_the_resource_and_what_is_supported() {
    let invoker = AwsInvoker::new(&config().await);
    for resource in [
        "arn:aws:states:::ecs:runTask.sync",
        "arn:aws:states:::aws-sdk:s3:getObject",
        "arn:aws:states:::sqs:sendMessage.sync",
        "arn:aws:states:::dynamodb:putItem.waitForTaskToken",
    ] {
        let (error, cause) = failed(run(&invoker, resource, json!({})).await);
        assert_eq!(error, "States.TaskFailed", "{resource}");
        assert!(cause.contains(resource), "{cause}");
        assert!(
            cause.contains("Flowstate on AWS supports Lambda function ARNs and arn:aws:states:::lambda:invoke[.waitForTaskToken]"),
            "{cause}"
        );
    }
    let (error, cause) = failed(
        run(
            &invoker,
            "arn:aws:states:::states:startExecution.sync:2",
            json!({}),
        )
        .await,
    );
    assert_eq!(error, "States.Runtime");
    assert!(
        cause.contains("performed by the Flowstate runtime"),
        "{cause}"
    );
}

// -------------------------------------------------------------- notifier

fn change() -> StatusChange {
    StatusChange {
        execution_arn: EXECUTION.to_string(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:orders".to_string(),
        name: "run-1".to_string(),
        status: "SUCCEEDED".to_string(),
        start_date: 1_764_000_000_000,
        stop_date: Some(1_764_000_005_000),
        input: Some(r#"{"order":7}"#.to_string()),
        output: Some(r#"{"ok":true}"#.to_string()),
        error: None,
        cause: None,
    }
}

#[tokio::test]
async fn notifier_publishes_the_status_change_event_to_sns_with_a_status_attribute() {
    let config = config().await;
    let (topic, sqs, url) = topic_into_queue(&config).await;
    let notifier = AwsNotifier::new(&config, NotifierSettings::new(topic));
    let change = change();
    notifier.notify(&change).await.unwrap();
    // At least once: a second delivery carries the same id.
    notifier.notify(&change).await.unwrap();
    let first = receive_one(&sqs, &url).await;
    let event: Value = serde_json::from_str(first.body().unwrap()).unwrap();
    assert_eq!(
        event,
        change.event(
            &event_id(&change),
            "2025-11-24T16:00:05Z",
            "us-east-1",
            "123456789012"
        )
    );
    assert_eq!(
        event["detail-type"],
        "Step Functions Execution Status Change"
    );
    assert_eq!(
        first.message_attributes().unwrap()["status"].string_value(),
        Some("SUCCEEDED")
    );
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(first.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let second: Value =
        serde_json::from_str(receive_one(&sqs, &url).await.body().unwrap()).unwrap();
    assert_eq!(second["id"], event["id"]);
}

#[tokio::test]
async fn notifier_sends_to_eventbridge_with_source_flowstate() {
    let config = config().await;
    let (topic, _sqs, _url) = topic_into_queue(&config).await;
    let (bus, sqs, url) = bus_into_queue(&config, "flowstate").await;
    let notifier = AwsNotifier::new(&config, NotifierSettings::new(topic).with_event_bus(&bus));
    let change = change();
    notifier.notify(&change).await.unwrap();
    let event: Value = serde_json::from_str(receive_one(&sqs, &url).await.body().unwrap()).unwrap();
    assert_eq!(event["source"], "flowstate");
    assert_eq!(
        event["detail-type"],
        "Step Functions Execution Status Change"
    );
    assert_eq!(event["detail"], change.detail());
    assert_eq!(event["resources"], json!([EXECUTION]));
}

#[tokio::test]
async fn notifier_reports_a_missing_topic() {
    let notifier = AwsNotifier::new(
        &config().await,
        NotifierSettings::new("arn:aws:sns:us-east-1:123456789012:missing"),
    );
    let err = notifier.notify(&change()).await.unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}
