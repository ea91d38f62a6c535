//! `AWS_ENDPOINT_URL_LAMBDA` sends the invoker's Lambda calls to another
//! endpoint (e.g. `cargo lambda watch`) while the rest of the configuration
//! comes from the environment. Its own test binary: it sets a process
//! environment variable before any configuration is loaded.

#![allow(clippy::unwrap_used)]

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::AwsInvoker;
use flowstate_ports::{InvokeContext, Invoker, TaskInvocation, TaskResult};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Answers one Invoke call with `{"served": "here"}`.
fn one_shot_lambda() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let payload = r#"{"served":"here"}"#;
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-amzn-RequestId: r-1\r\n\r\n{payload}",
            payload.len()
        )
        .unwrap();
    });
    endpoint
}

#[tokio::test]
async fn aws_endpoint_url_lambda_overrides_the_lambda_endpoint_only() {
    let endpoint = one_shot_lambda();
    std::env::set_var("AWS_ENDPOINT_URL_LAMBDA", &endpoint);
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let invoker = AwsInvoker::new(&config);
    let task = TaskInvocation {
        resource: "arn:aws:lambda:us-east-1:123456789012:function:anything".into(),
        parameters: json!({}),
        task_token: None,
        state_name: "Call".into(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        timeout_seconds: None,
        heartbeat_seconds: None,
    };
    let context = InvokeContext {
        execution_arn: task.execution_arn.clone(),
        invocation_id: "i".into(),
        test_case: None,
    };
    assert_eq!(
        invoker.invoke(&context, &task).await,
        TaskResult::Succeeded(json!({"served": "here"}))
    );
}
