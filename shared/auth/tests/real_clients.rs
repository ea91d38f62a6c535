//! Requests signed by real AWS clients: the AWS CLI (captured by
//! `fixtures/capture_aws_cli.py`) and botocore's `SigV4Auth` (committed
//! output of `fixtures/sign_with_botocore.py`, plus a live run of it when
//! python3 and botocore are installed).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use axum::http::Request;
use flowstate_auth::{AuthErrorKind, InMemoryKeyStore, Verifier, VerifierConfig};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Verifies one recorded request (`{access_key_id, secret, region,
/// request: {method, path, headers, body}}`) at the time it was signed,
/// then checks that changing its body breaks it.
async fn verify_recorded(case: &Value) {
    let keys = InMemoryKeyStore::new();
    keys.add(
        case["access_key_id"].as_str().unwrap(),
        case["secret"].as_str().unwrap(),
        "recorded",
    );
    let region = case["region"].as_str().unwrap();
    let verifier = Verifier::new(keys).with_config(VerifierConfig {
        region: Some(region.to_owned()),
        ..VerifierConfig::default()
    });
    let req = &case["request"];
    let mut builder = Request::builder()
        .method(req["method"].as_str().unwrap())
        .uri(req["path"].as_str().unwrap());
    let mut amz_date = String::new();
    for h in req["headers"].as_array().unwrap() {
        let (k, v) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
        if k.eq_ignore_ascii_case("x-amz-date") {
            amz_date = v.to_owned();
        }
        builder = builder.header(k, v);
    }
    let parts = builder.body(()).unwrap().into_parts().0;
    let now = chrono::NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let body = req["body"].as_str().unwrap().as_bytes();

    let principal = verifier
        .verify(
            &parts.method,
            &parts.uri,
            &parts.headers,
            body,
            now + 30_000,
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", req["path"]));
    assert_eq!(
        principal.access_key_id,
        case["access_key_id"].as_str().unwrap()
    );
    assert_eq!(principal.region, region);

    let mut other = body.to_vec();
    other.push(b' ');
    let e = verifier
        .verify(&parts.method, &parts.uri, &parts.headers, &other, now)
        .await
        .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);
    let e = verifier
        .verify(
            &parts.method,
            &parts.uri,
            &parts.headers,
            body,
            now + 6 * 60_000,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureExpired);
}

#[tokio::test]
async fn aws_cli_list_state_machines_verifies() {
    verify_recorded(&fixture("aws-cli-list-state-machines.json")).await;
}

#[tokio::test]
async fn aws_cli_start_execution_with_unicode_input_verifies() {
    verify_recorded(&fixture("aws-cli-start-execution.json")).await;
}

#[tokio::test]
async fn botocore_signed_paths_stages_and_queries_verify() {
    // Includes an API Gateway stage path, dot segments, double slashes,
    // an encoded space and an unsorted query with repeated keys.
    let cases = fixture("botocore-cases.json");
    for case in cases.as_array().unwrap() {
        verify_recorded(case).await;
    }
}

/// Signs fresh requests with the installed botocore. Skipped (with a note)
/// where python3 or botocore is missing: the committed fixtures above
/// cover the same ground.
#[tokio::test]
async fn live_botocore_signatures_verify() {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sign_with_botocore.py");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let spec = serde_json::json!({
        "now": "20261125T120000Z",
        "cases": [
            {"url": "http://127.0.0.1:9/", "target": "AWSStepFunctions.StartExecution",
             "body": format!("{{\"input\": \"{{\\\"n\\\": {nanos}, \\\"s\\\": \\\"€ ü 𝄞\\\"}}\"}}"),
             "region": "ap-southeast-2"},
            {"url": "https://x.execute-api.us-east-1.amazonaws.com/v1/states", "target": "AWSStepFunctions.SendTaskSuccess",
             "body": format!("{{\"taskToken\": \"tok+/={nanos}\", \"output\": \"{{}}\"}}"),
             "access_key_id": "AKIAZZZZZZZZZZZZZZZZ", "secret": "s/e+c=r/e+t=s/e+c=r/e+t=s/e+c=r/e+t=1234"},
        ]
    });
    let child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("skipped: python3 not found");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No module named 'botocore'") {
            eprintln!("skipped: botocore not installed");
            return;
        }
        panic!("sign_with_botocore.py failed: {stderr}");
    }
    let signed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(signed.as_array().unwrap().len(), 2);
    for case in signed.as_array().unwrap() {
        verify_recorded(case).await;
    }
}
