//! AWS's published SigV4 examples (aws-sig-v4-test-suite and the IAM
//! user guide's worked example), checked three ways: the crate's
//! primitives, the independent test signer, and a full verification.

#![allow(clippy::unwrap_used)]

use crate::support::{parts, sign, ToSign};
use flowstate_auth::{sigv4, AuthErrorKind, InMemoryKeyStore, Verifier, VerifierConfig};

const SUITE_AKID: &str = "AKIDEXAMPLE";
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_DATE: &str = "20150830T123600Z";
/// 2015-08-30T12:36:00Z.
const SUITE_NOW_MS: i64 = 1_440_938_160_000;

struct Case {
    name: &'static str,
    method: &'static str,
    /// Path and query as sent.
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    service: &'static str,
    signature: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "get-vanilla",
        method: "GET",
        target: "/",
        headers: &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
        ],
        service: "service",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    Case {
        name: "post-vanilla",
        method: "POST",
        target: "/",
        headers: &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
        ],
        service: "service",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    Case {
        name: "get-vanilla-query-order-key-case",
        method: "GET",
        target: "/?Param2=value2&Param1=value1",
        headers: &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
        ],
        service: "service",
        signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    },
    Case {
        name: "iam-user-guide-list-users",
        method: "GET",
        target: "/?Action=ListUsers&Version=2010-05-08",
        headers: &[
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
        ],
        service: "iam",
        signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    },
];

fn signed_headers(case: &Case) -> String {
    let mut names: Vec<String> = case
        .headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    names.sort();
    names.join(";")
}

#[test]
fn derived_signing_key_matches_the_iam_user_guide() {
    let key = sigv4::signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam");
    assert_eq!(
        sigv4::hex(&key),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
}

#[test]
fn get_vanilla_canonical_forms_match_the_suite() {
    let canonical = sigv4::canonical_request(
        "GET",
        "/",
        None,
        &[
            ("host".into(), vec!["example.amazonaws.com".into()]),
            ("x-amz-date".into(), vec![SUITE_DATE.into()]),
        ],
        "host;x-amz-date",
        &sigv4::sha256_hex(b""),
    );
    assert_eq!(
        canonical,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let sts = sigv4::string_to_sign(
        SUITE_DATE,
        "20150830/us-east-1/service/aws4_request",
        &canonical,
    );
    assert_eq!(
        sts,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
}

#[test]
fn the_independent_test_signer_reproduces_the_published_signatures() {
    for case in CASES {
        let (path, query) = case.target.split_once('?').unwrap_or((case.target, ""));
        let (_, _, authorization) = sign(&ToSign {
            method: case.method,
            path,
            query,
            headers: case.headers,
            body: b"",
            access_key_id: SUITE_AKID,
            secret: SUITE_SECRET,
            region: "us-east-1",
            service: case.service,
            amz_date: SUITE_DATE,
        });
        assert!(
            authorization.ends_with(&format!("Signature={}", case.signature)),
            "{}: {authorization}",
            case.name
        );
    }
}

#[tokio::test]
async fn the_verifier_accepts_the_published_requests_and_refuses_altered_ones() {
    for case in CASES {
        let keys = InMemoryKeyStore::new();
        keys.add(SUITE_AKID, SUITE_SECRET, "suite");
        let verifier = Verifier::new(keys).with_config(VerifierConfig {
            service: case.service.into(),
            region: Some("us-east-1".into()),
            ..VerifierConfig::default()
        });
        let mut headers: Vec<(String, String)> = case
            .headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        headers.push((
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={SUITE_AKID}/20150830/us-east-1/{}/aws4_request, SignedHeaders={}, Signature={}",
                case.service,
                signed_headers(case),
                case.signature
            ),
        ));
        let p = parts(case.method, case.target, &headers);
        let principal = verifier
            .verify(&p.method, &p.uri, &p.headers, b"", SUITE_NOW_MS)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(principal.access_key_id, SUITE_AKID);

        // The same signature over a one-byte body no longer verifies.
        let err = verifier
            .verify(&p.method, &p.uri, &p.headers, b"x", SUITE_NOW_MS)
            .await
            .unwrap_err();
        assert_eq!(err.kind, AuthErrorKind::SignatureMismatch, "{}", case.name);
    }
}
