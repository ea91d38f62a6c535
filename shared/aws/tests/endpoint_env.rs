//! `AWS_ENDPOINT_URL_LAMBDA` sends the invoker's Lambda calls to another
//! endpoint (e.g. `cargo lambda watch`) while the rest of the configuration
//! comes from the environment. The variable must be in the process
//! environment before any configuration is loaded, and setting it here
//! would redirect every other test's Lambda calls in this binary: the
//! invocation runs in a child process of this test binary that has it.

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

/// The variable the child test reads its endpoint from (set only in the
/// child's environment, alongside `AWS_ENDPOINT_URL_LAMBDA`).
const CHILD_MARKER: &str = "FLOWSTATE_TEST_ENDPOINT_ENV_CHILD";

#[test]
fn aws_endpoint_url_lambda_overrides_the_lambda_endpoint_only() {
    let endpoint = one_shot_lambda();
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, m)| m);
    let child = format!("{module}::invoke_with_the_lambda_endpoint_from_the_environment");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([child.as_str(), "--exact", "--ignored", "--nocapture"])
        .env("AWS_ENDPOINT_URL_LAMBDA", &endpoint)
        .env(CHILD_MARKER, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("served by AWS_ENDPOINT_URL_LAMBDA"),
        "the child test failed or did not run:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs only as the child of the test above, whose environment has the
/// variable; on its own it has nothing to check.
#[tokio::test]
#[ignore = "run by aws_endpoint_url_lambda_overrides_the_lambda_endpoint_only in a child process"]
async fn invoke_with_the_lambda_endpoint_from_the_environment() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return;
    }
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
    println!("served by AWS_ENDPOINT_URL_LAMBDA");
}
