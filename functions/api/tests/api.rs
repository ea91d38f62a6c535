//! The `flowstate-lambda-api` binary behind a Lambda Runtime API emulator,
//! on moto: API Gateway HTTP API (payload 2.0) events carrying requests
//! signed by the AWS SDKs' own SigV4 signer (`aws-sigv4`), service
//! `states`, as the AWS CLI signs them.

#![allow(clippy::unwrap_used)]

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use flowstate_aws::DynamoKeyStore;
use flowstate_testkit::{Function, Moto, Outcome, Stack};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

const HOST: &str = "abc123.execute-api.us-east-1.amazonaws.com";

struct Signer {
    id: String,
    secret: String,
    time: SystemTime,
}

/// An HTTP request as the client sends it.
struct HttpRequest {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// `POST {path}` for `action`, signed like the AWS CLI signs Step Functions
/// calls (host, content type, target, date), or unsigned.
fn request(path: &str, action: &str, body: &Value, signer: Option<&Signer>) -> HttpRequest {
    let body = body.to_string();
    let mut headers = vec![
        ("host".to_string(), HOST.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            format!("AWSStepFunctions.{action}"),
        ),
    ];
    if let Some(s) = signer {
        let identity = Credentials::new(&s.id, &s.secret, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("states")
            .time(s.time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "POST",
            format!("https://{HOST}{path}"),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            headers.push((name.to_ascii_lowercase(), value.to_string()));
        }
    }
    headers.push(("content-length".into(), body.len().to_string()));
    HttpRequest {
        path: path.to_string(),
        headers,
        body,
    }
}

/// The API Gateway HTTP API event (payload format 2.0) for `req`, on
/// `stage` (`$default`, or a named stage whose name prefixes the path).
fn event(req: &HttpRequest, stage: &str) -> Value {
    let headers: serde_json::Map<String, Value> = req
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": req.path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "aws-cli/2.22.0"
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": stage,
            "time": "25/Nov/2026:16:00:00 +0000",
            "timeEpoch": 1_795_622_400_000_i64
        },
        "body": req.body,
        "isBase64Encoded": false
    })
}

/// The HTTP response inside the function's answer: status, headers, JSON body.
fn http_response(outcome: &Outcome) -> (u16, Value, Value) {
    let answer = outcome.json();
    let status = answer["statusCode"].as_u64().unwrap() as u16;
    let raw = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"] == json!(true) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap()
    } else {
        raw.as_bytes().to_vec()
    };
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {answer}"));
    (status, answer["headers"].clone(), body)
}

async fn setup() -> (Moto, Stack, Function, DynamoKeyStore) {
    let moto = Moto::start();
    let stack = moto.stack().await;
    let store = DynamoKeyStore::new(&moto.sdk_config().await, &stack.table, &stack.kms_key_arn);
    let function = Function::start(env!("CARGO_BIN_EXE_flowstate-lambda-api"), &stack.env()).await;
    (moto, stack, function, store)
}

async fn create_key(store: &DynamoKeyStore, name: &str) -> Signer {
    let (issued, _) = store.create(name).await.unwrap();
    Signer {
        id: issued.access_key_id,
        secret: issued.secret.expose().to_string(),
        time: SystemTime::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_create_a_state_machine_and_run_an_execution() {
    let (_moto, stack, function, store) = setup().await;
    let signer = create_key(&store, "ci").await;
    let call = |action: &'static str, body: Value, stage: &'static str, path: &'static str| {
        let req = request(path, action, &body, Some(&signer));
        let function = &function;
        async move { http_response(&function.invoke(event(&req, stage)).await) }
    };

    let definition = json!({"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": {"greeting": "hi"}, "End": true}}});
    let (status, _, body) = call(
        "CreateStateMachine",
        json!({"name": "hello", "definition": definition.to_string(), "roleArn": "arn:aws:iam::123456789012:role/flowstate"}),
        "$default",
        "/",
    )
    .await;
    assert_eq!(status, 200, "{body}\nlogs:\n{}", function.logs());
    let sm = body["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(
        sm,
        format!(
            "arn:aws:states:us-east-1:{}:stateMachine:hello",
            stack.account
        )
    );

    let (status, _, body) = call(
        "StartExecution",
        json!({"stateMachineArn": sm, "name": "first", "input": "{\"n\": 1}"}),
        "$default",
        "/",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let execution = body["executionArn"].as_str().unwrap().to_string();
    assert!(
        !function.logs().contains("left to the outbox sweep"),
        "its end was published at once:\n{}",
        function.logs()
    );

    // Pass states run to the end within StartExecution.
    let (status, _, body) = call(
        "DescribeExecution",
        json!({"executionArn": execution}),
        "$default",
        "/",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    assert_eq!(body["output"], json!({"greeting": "hi"}).to_string());

    // Through a named stage the client signs (and API Gateway passes) the
    // stage-prefixed path.
    let (status, _, body) = call("ListStateMachines", json!({}), "prod", "/prod/").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stateMachines"][0]["name"], "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_get_403_with_step_functions_error_shapes() {
    let (_moto, _stack, function, store) = setup().await;
    let good = create_key(&store, "ci").await;
    let revoked = create_key(&store, "gone").await;
    store.revoke(&revoked.id).await.unwrap();
    let list = json!({});

    let expired = Signer {
        time: SystemTime::now() - Duration::from_secs(6 * 60),
        ..create_key(&store, "late").await
    };
    let wrong_secret = Signer {
        id: good.id.clone(),
        secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        time: SystemTime::now(),
    };
    let unknown = Signer {
        id: "AKIAUNKNOWN000000000".into(),
        secret: good.secret.clone(),
        time: SystemTime::now(),
    };
    // A StartExecution body under the signature of a ListStateMachines call.
    let mut replayed = request("/", "ListStateMachines", &list, Some(&good));
    replayed.body =
        json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"})
            .to_string();
    if let Some(h) = replayed
        .headers
        .iter_mut()
        .find(|(k, _)| k == "content-length")
    {
        h.1 = replayed.body.len().to_string();
    }

    let cases = [
        (
            "unsigned",
            request("/", "ListStateMachines", &list, None),
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        (
            "expired",
            request("/", "ListStateMachines", &list, Some(&expired)),
            "InvalidSignatureException",
            "Signature expired",
        ),
        (
            "wrongly signed",
            request("/", "ListStateMachines", &list, Some(&wrong_secret)),
            "InvalidSignatureException",
            "does not match",
        ),
        (
            "body replayed",
            replayed,
            "InvalidSignatureException",
            "does not match",
        ),
        (
            "revoked key",
            request("/", "ListStateMachines", &list, Some(&revoked)),
            "UnrecognizedClientException",
            "security token included in the request is invalid",
        ),
        (
            "unknown key",
            request("/", "ListStateMachines", &list, Some(&unknown)),
            "UnrecognizedClientException",
            "security token included in the request is invalid",
        ),
    ];
    for (what, req, code, message) in cases {
        let (status, headers, body) =
            http_response(&function.invoke(event(&req, "$default")).await);
        assert_eq!(status, 403, "{what}: {body}");
        assert_eq!(body["__type"], code, "{what}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{what}: {body}"
        );
        assert_eq!(headers["x-amzn-errortype"], code, "{what}: {headers}");
        assert_eq!(
            headers["content-type"], "application/x-amz-json-1.0",
            "{what}"
        );
    }
    // Each refusal is logged through tracing (a warning, shown when RUST_LOG
    // is unset), with the detail the client never sees.
    // The function writes each line before it answers, but the test reads
    // its stderr through a pipe on another thread: wait for the lines.
    let refusals = |logs: &str| {
        logs.lines()
            .filter(|l| l.contains("WARN") && l.contains("refused: "))
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut logs = function.logs();
    while refusals(&logs) < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        logs = function.logs();
    }
    assert!(refusals(&logs) >= 6, "{logs}");

    // The good key still works after all that.
    let (status, _, body) = http_response(
        &function
            .invoke(event(
                &request("/", "ListStateMachines", &list, Some(&good)),
                "$default",
            ))
            .await,
    );
    assert_eq!(status, 200, "{body}");
}

/// The AWS CLI on `args`, with the key in the environment and no profile.
fn aws_cli(endpoint: &str, key: &Signer, args: &[&str]) -> std::process::Output {
    std::process::Command::new("aws")
        .args([
            "stepfunctions",
            "--endpoint-url",
            endpoint,
            "--output",
            "json",
        ])
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SFN")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ACCESS_KEY_ID", &key.id)
        .env("AWS_SECRET_ACCESS_KEY", &key.secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the AWS CLI ({e}): install it with `pip install awscli`")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_and_the_rust_sdk_call_the_function_through_an_http_api() {
    let (_moto, _stack, function, store) = setup().await;
    let key = create_key(&store, "clients").await;
    let function = std::sync::Arc::new(function);
    let api = flowstate_testkit::HttpApi::start(function.clone(), "$default").await;

    let sdk = |id: &str, secret: &str| {
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::Config::builder()
                .behavior_version_latest()
                .region(aws_sdk_sfn::config::Region::new("us-east-1"))
                .endpoint_url(api.url())
                .credentials_provider(Credentials::new(id, secret, None, None, "flowstate"))
                .build(),
        )
    };
    let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
    let created = sdk(&key.id, &key.secret)
        .create_state_machine()
        .name("viaSdk")
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/flowstate")
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{}\nlogs:\n{}",
                aws_sdk_sfn::error::DisplayErrorContext(e),
                function.logs()
            )
        });
    assert!(created
        .state_machine_arn()
        .ends_with(":stateMachine:viaSdk"));

    // The SDK surfaces a refusal as the error code AWS would send.
    let err = sdk(&key.id, "not-the-secret-not-the-secret-not-the-se")
        .list_state_machines()
        .send()
        .await
        .unwrap_err();
    let code = err
        .as_service_error()
        .and_then(|e| aws_sdk_sfn::error::ProvideErrorMetadata::code(e).map(str::to_string));
    assert_eq!(
        code.as_deref(),
        Some("InvalidSignatureException"),
        "{err:?}"
    );

    let (url, cli_key) = (api.url(), key);
    let out =
        tokio::task::spawn_blocking(move || aws_cli(&url, &cli_key, &["list-state-machines"]))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}\nlogs:\n{}",
        String::from_utf8_lossy(&out.stderr),
        function.logs()
    );
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["stateMachines"][0]["name"], "viaSdk", "{listed}");
}
