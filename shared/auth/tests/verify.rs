//! Every way a request can be accepted or refused, through
//! `flowstate_auth::verify` and `Verifier`, with requests signed by the
//! independent test signer exactly as the SDKs sign Step Functions calls.

#![allow(clippy::unwrap_used)]

use std::future::Future;

use crate::support::*;
use axum::http::StatusCode;
use flowstate_auth::{
    verify, AuthErrorKind, InMemoryKeyStore, KeyStore, KeyStoreError, StoredKey, Verifier,
    VerifierConfig,
};

fn store() -> InMemoryKeyStore {
    let keys = InMemoryKeyStore::new();
    keys.add(AKID, SECRET, "ci");
    keys
}

async fn check(
    headers: &[(String, String)],
    body: &str,
    now: i64,
) -> Result<flowstate_auth::Principal, flowstate_auth::AuthError> {
    verify(&parts("POST", "/", headers), body.as_bytes(), &store(), now).await
}

/// 2026-11-25T12:00:00Z shifted by `delta_ms`, as X-Amz-Date.
fn amz_date(delta_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(NOW_MS + delta_ms)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

#[tokio::test]
async fn a_correctly_signed_request_yields_its_principal() {
    let call = SfnCall::default();
    let p = check(&call.headers(), call.body, NOW_MS).await.unwrap();
    assert_eq!(p.access_key_id, AKID);
    assert_eq!(p.name, "ci");
    assert_eq!(p.region, REGION);
}

#[tokio::test]
async fn an_unsigned_request_is_missing_its_token() {
    let headers = with_header(&SfnCall::default().headers(), "authorization", None);
    let e = check(&headers, "{}", NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::MissingAuthenticationToken);
    assert_eq!(e.kind.code(), "MissingAuthenticationTokenException");
    assert_eq!(e.kind.status(), StatusCode::FORBIDDEN);
    assert_eq!(e.message, "Missing Authentication Token");
}

#[tokio::test]
async fn an_unknown_key_is_an_unrecognized_client() {
    let call = SfnCall {
        access_key_id: "AKIAUNKNOWNUNKNOWN22",
        ..SfnCall::default()
    };
    let e = check(&call.headers(), call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::UnrecognizedClient);
    assert_eq!(e.kind.code(), "UnrecognizedClientException");
    assert_eq!(
        e.message,
        "The security token included in the request is invalid."
    );
    assert_eq!(e.kind.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_revoked_key_is_refused_like_an_unknown_one() {
    let keys = store();
    keys.revoke(AKID);
    let call = SfnCall::default();
    let e = verify(&parts("POST", "/", &call.headers()), b"{}", &keys, NOW_MS)
        .await
        .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::UnrecognizedClient);
}

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_signature() {
    let call = SfnCall {
        secret: "not-the-secret-not-the-secret-not-the-se",
        ..SfnCall::default()
    };
    let e = check(&call.headers(), call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);
    assert_eq!(e.kind.code(), "InvalidSignatureException");
    assert_eq!(e.kind.status(), StatusCode::FORBIDDEN);
    assert!(
        e.message
            .starts_with("The request signature we calculated does not match"),
        "{}",
        e.message
    );
    // The canonical request is shown for debugging; the secret never is.
    assert!(e
        .message
        .contains("x-amz-target:AWSStepFunctions.ListStateMachines"));
    assert!(!e.message.contains(SECRET));
}

#[tokio::test]
async fn a_signature_replayed_over_another_body_fails() {
    let call = SfnCall {
        target: "StopExecution",
        body: r#"{"executionArn":"arn:aws:states:us-east-1:1:execution:m:a"}"#,
        ..SfnCall::default()
    };
    let headers = call.headers();
    assert!(check(&headers, call.body, NOW_MS).await.is_ok());
    let tampered = r#"{"executionArn":"arn:aws:states:us-east-1:1:execution:m:b"}"#;
    let e = check(&headers, tampered, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);
}

#[tokio::test]
async fn a_tampered_signed_header_fails() {
    let call = SfnCall {
        target: "DescribeExecution",
        body: r#"{"executionArn":"arn:aws:states:us-east-1:1:execution:m:a"}"#,
        ..SfnCall::default()
    };
    let headers = with_header(
        &call.headers(),
        "x-amz-target",
        Some("AWSStepFunctions.StopExecution"),
    );
    let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);

    let headers = with_header(&call.headers(), "host", Some("evil.example.com"));
    let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);
}

#[tokio::test]
async fn unsigned_headers_may_change() {
    // SDKs do not sign User-Agent; proxies may rewrite it.
    let call = SfnCall::default();
    let headers = with_header(&call.headers(), "user-agent", Some("rewritten by a proxy"));
    assert!(check(&headers, call.body, NOW_MS).await.is_ok());
}

#[tokio::test]
async fn a_signature_older_than_five_minutes_has_expired() {
    let date = amz_date(-5 * MINUTE - SECOND);
    let call = SfnCall {
        amz_date: &date,
        ..SfnCall::default()
    };
    let e = check(&call.headers(), call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureExpired);
    assert_eq!(e.kind.code(), "InvalidSignatureException");
    assert_eq!(e.kind.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        e.message,
        "Signature expired: 20261125T115459Z is now earlier than 20261125T115500Z (20261125T120000Z - 5 min.)"
    );

    // Exactly five minutes is still accepted, as on AWS.
    let date = amz_date(-5 * MINUTE);
    let call = SfnCall {
        amz_date: &date,
        ..SfnCall::default()
    };
    assert!(check(&call.headers(), call.body, NOW_MS).await.is_ok());
}

#[tokio::test]
async fn a_signature_dated_more_than_five_minutes_ahead_is_not_yet_current() {
    let date = amz_date(5 * MINUTE + SECOND);
    let call = SfnCall {
        amz_date: &date,
        ..SfnCall::default()
    };
    let e = check(&call.headers(), call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureNotYetCurrent);
    assert_eq!(e.kind.code(), "InvalidSignatureException");
    assert!(
        e.message
            .starts_with("Signature not yet current: 20261125T120501Z is still later than"),
        "{}",
        e.message
    );

    let date = amz_date(4 * MINUTE);
    let call = SfnCall {
        amz_date: &date,
        ..SfnCall::default()
    };
    assert!(check(&call.headers(), call.body, NOW_MS).await.is_ok());
}

#[tokio::test]
async fn an_incomplete_authorization_header_is_an_incomplete_signature() {
    let headers = with_header(
        &SfnCall::default().headers(),
        "authorization",
        Some("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261125/us-east-1/states/aws4_request"),
    );
    let e = check(&headers, "{}", NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::IncompleteSignature);
    assert_eq!(e.kind.code(), "IncompleteSignatureException");
    assert_eq!(e.kind.status(), StatusCode::FORBIDDEN);

    // SigV2 or anything else is refused, not misparsed.
    let headers = with_header(
        &SfnCall::default().headers(),
        "authorization",
        Some("AWS AKID:c2ln"),
    );
    let e = check(&headers, "{}", NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::IncompleteSignature);

    // No X-Amz-Date.
    let headers = with_header(&SfnCall::default().headers(), "x-amz-date", None);
    let e = check(&headers, "{}", NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::IncompleteSignature);
    assert!(e.message.contains("X-Amz-Date"), "{}", e.message);
}

#[tokio::test]
async fn the_target_header_must_be_signed() {
    // Sign only host and date, then add the action unsigned: the action
    // could otherwise be swapped on a captured request.
    let base = [("host", "h.example.com"), ("x-amz-date", NOW_AMZ)];
    let (_, _, authorization) = sign(&ToSign {
        method: "POST",
        path: "/",
        query: "",
        headers: &base,
        body: b"{}",
        access_key_id: AKID,
        secret: SECRET,
        region: REGION,
        service: "states",
        amz_date: NOW_AMZ,
    });
    let mut headers: Vec<(String, String)> = base
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    headers.push(("authorization".into(), authorization));
    assert!(check(&headers, "{}", NOW_MS).await.is_ok());
    headers.push((
        "x-amz-target".into(),
        "AWSStepFunctions.StopExecution".into(),
    ));
    let e = check(&headers, "{}", NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::IncompleteSignature);
    assert!(
        e.message
            .contains("'x-amz-target' must be a 'SignedHeader'"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn the_scope_must_name_states_and_the_configured_region() {
    let base = [("host", "h.example.com"), ("x-amz-date", NOW_AMZ)];
    let signed = |service: &str, region: &str| {
        let (_, _, authorization) = sign(&ToSign {
            method: "POST",
            path: "/",
            query: "",
            headers: &base,
            body: b"{}",
            access_key_id: AKID,
            secret: SECRET,
            region,
            service,
            amz_date: NOW_AMZ,
        });
        let mut headers: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        headers.push(("authorization".into(), authorization));
        headers
    };
    let e = check(&signed("execute-api", REGION), "{}", NOW_MS)
        .await
        .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);
    assert!(
        e.message.contains("correct service: 'states'"),
        "{}",
        e.message
    );

    let pinned = Verifier::new(store()).with_config(VerifierConfig {
        region: Some("eu-west-1".into()),
        ..VerifierConfig::default()
    });
    let p = parts("POST", "/", &signed("states", REGION));
    let e = pinned
        .verify(&p.method, &p.uri, &p.headers, b"{}", NOW_MS)
        .await
        .unwrap_err();
    assert!(
        e.message.contains("valid region, not 'us-east-1'"),
        "{}",
        e.message
    );
    let p = parts("POST", "/", &signed("states", "eu-west-1"));
    assert!(pinned
        .verify(&p.method, &p.uri, &p.headers, b"{}", NOW_MS)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_scope_date_other_than_the_request_date_fails() {
    let call = SfnCall::default();
    let headers = call.headers();
    let auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1
        .replace("/20261125/", "/20261124/");
    let headers = with_header(&headers, "authorization", Some(&auth));
    let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);
    assert!(
        e.message
            .starts_with("Date in Credential scope does not match"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn an_unsigned_payload_claim_is_not_trusted() {
    let call = SfnCall::default();
    let headers = with_header(
        &call.headers(),
        "x-amz-content-sha256",
        Some("UNSIGNED-PAYLOAD"),
    );
    let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureMismatch);

    // A truthful (unsigned) hash header is harmless.
    let hash = flowstate_auth::sigv4::sha256_hex(call.body.as_bytes());
    let headers = with_header(&call.headers(), "x-amz-content-sha256", Some(&hash));
    assert!(check(&headers, call.body, NOW_MS).await.is_ok());
}

#[tokio::test]
async fn session_tokens_are_refused_with_a_hint() {
    let call = SfnCall::default();
    let headers = with_header(
        &call.headers(),
        "x-amz-security-token",
        Some("FwoGZXIvYXdz..."),
    );
    let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::UnrecognizedClient);
    assert!(e.message.contains("AWS_SESSION_TOKEN"), "{}", e.message);
}

#[tokio::test]
async fn a_garbled_signature_is_refused_not_panicked_on() {
    let call = SfnCall::default();
    let headers = call.headers();
    let auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1
        .clone();
    let (prefix, _) = auth.split_once("Signature=").unwrap();
    for garbage in ["", "zz", "abc", "ÿÿ", &"0".repeat(64), &"f".repeat(200)] {
        let headers = with_header(
            &headers,
            "authorization",
            Some(&format!("{prefix}Signature={garbage}")),
        );
        let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
        assert!(
            matches!(
                e.kind,
                AuthErrorKind::SignatureMismatch | AuthErrorKind::IncompleteSignature
            ),
            "{garbage}: {e}"
        );
    }
}

#[tokio::test]
async fn the_replay_cache_refuses_the_same_signature_twice() {
    let verifier = Verifier::new(store()).with_replay_cache(1000);
    let call = SfnCall::default();
    let p = parts("POST", "/", &call.headers());
    assert!(verifier
        .verify(&p.method, &p.uri, &p.headers, b"{}", NOW_MS)
        .await
        .is_ok());
    let e = verifier
        .verify(&p.method, &p.uri, &p.headers, b"{}", NOW_MS + SECOND)
        .await
        .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::Replayed);
    assert_eq!(e.kind.code(), "InvalidSignatureException");

    // A re-signed request (new date) is a new signature.
    let date = amz_date(SECOND);
    let again = SfnCall {
        amz_date: &date,
        ..SfnCall::default()
    };
    let p = parts("POST", "/", &again.headers());
    assert!(verifier
        .verify(&p.method, &p.uri, &p.headers, b"{}", NOW_MS + SECOND)
        .await
        .is_ok());
}

struct BrokenStore;

impl KeyStore for BrokenStore {
    fn lookup(
        &self,
        _: &str,
    ) -> impl Future<Output = Result<Option<StoredKey>, KeyStoreError>> + Send {
        std::future::ready(Err(KeyStoreError(
            "KMS Decrypt: AccessDeniedException on key 1234".into(),
        )))
    }
}

#[tokio::test]
async fn a_failing_key_store_is_an_internal_failure_without_details() {
    let call = SfnCall::default();
    let e = verify(
        &parts("POST", "/", &call.headers()),
        b"{}",
        &BrokenStore,
        NOW_MS,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::Internal);
    assert_eq!(e.kind.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!e.message.contains("KMS"));
    assert!(!e.body().to_string().contains("KMS"));
    assert!(e.detail.as_deref().unwrap_or_default().contains("KMS"));
}

#[tokio::test]
async fn stale_or_malformed_requests_never_reach_the_store() {
    // BrokenStore would turn any lookup into InternalFailure.
    let date = amz_date(-10 * MINUTE);
    let call = SfnCall {
        amz_date: &date,
        ..SfnCall::default()
    };
    let e = verify(
        &parts("POST", "/", &call.headers()),
        b"{}",
        &BrokenStore,
        NOW_MS,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::SignatureExpired);
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let call = SfnCall::default();
    let mut headers = call.headers();
    let auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .clone();
    headers.push(auth);
    let e = check(&headers, call.body, NOW_MS).await.unwrap_err();
    assert_eq!(e.kind, AuthErrorKind::IncompleteSignature);
}
