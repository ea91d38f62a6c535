//! `flowstate keys create|list|revoke` against moto (DynamoDB + KMS).

#![allow(clippy::unwrap_used)]

use flowstate_auth::{KeyStatus, KeyStore};
use flowstate_aws::DynamoKeyStore;
use flowstate_testkit::{Moto, Stack};
use std::process::{Command, Output};

fn flowstate(stack: &Stack, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowstate"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("AWS_REGION", &stack.region)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("run flowstate")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value of `name = value` in the printed credentials lines.
fn field<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)?
                .trim_start()
                .strip_prefix('=')
                .map(str::trim)
        })
        .unwrap_or_else(|| panic!("no '{name} =' line in:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_listed_and_revoked_without_secrets_leaking() {
    let moto = Moto::start();
    let stack = moto.stack().await;
    let table = stack.table.as_str();
    let kms = stack.kms_key_arn.as_str();

    let out = flowstate(
        &stack,
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--table",
            table,
            "--kms-key",
            kms,
            "--api-url",
            "https://abc.execute-api.us-east-1.amazonaws.com/",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let id = field(&stdout, "aws_access_key_id").to_string();
    let secret = field(&stdout, "aws_secret_access_key").to_string();
    assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
    assert_eq!(secret.len(), 40);
    assert!(stdout.contains("[flowstate]"), "{stdout}");
    assert!(stdout.contains("region = us-east-1"), "{stdout}");
    assert!(
        stdout.contains("aws stepfunctions --profile flowstate --endpoint-url https://abc.execute-api.us-east-1.amazonaws.com/ list-state-machines"),
        "{stdout}"
    );

    // What the API function will find: the same secret, active.
    let store = DynamoKeyStore::new(&moto.sdk_config().await, table, kms);
    let found = store.lookup(&id).await.unwrap().unwrap();
    assert_eq!(found.secret.expose(), secret);
    assert_eq!(found.status, KeyStatus::Active);

    // The table and the environment variables work too.
    let out = Command::new(env!("CARGO_BIN_EXE_flowstate"))
        .args(["keys", "create", "--name", "alice"])
        .env_clear()
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("AWS_REGION", &stack.region)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("FLOWSTATE_TABLE", table)
        .env("FLOWSTATE_KEYS_KMS_KEY", kms)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));

    let out = flowstate(&stack, &["keys", "list", "--table", table]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains(" ci ") && row.contains("Active"), "{row}");
    assert!(stdout.contains("alice"), "{stdout}");
    assert!(!stdout.contains(&secret), "list printed a secret");

    let out = flowstate(&stack, &["keys", "revoke", &id, "--table", table]);
    assert!(out.status.success(), "{:?}", text(&out));

    let out = flowstate(&stack, &["keys", "list", "--json", "--table", table]);
    let (stdout, _) = text(&out);
    let keys: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ci = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["accessKeyId"] == id.as_str())
        .unwrap();
    assert_eq!(ci["status"], "Inactive");
    assert!(ci["revoked"].is_string(), "{ci}");
    assert!(!stdout.contains(&secret));
    assert_eq!(keys.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_commands_say_what_is_missing_or_unknown() {
    let moto = Moto::start();
    let stack = moto.stack().await;

    let out = flowstate(
        &stack,
        &[
            "keys",
            "revoke",
            "AKIANOSUCHKEY0000000",
            "--table",
            &stack.table,
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no access key 'AKIANOSUCHKEY0000000'"),
        "{stderr}"
    );

    let out = flowstate(&stack, &["keys", "list"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("FLOWSTATE_TABLE"), "{stderr}");

    let out = flowstate(
        &stack,
        &["keys", "create", "--name", "ci", "--table", &stack.table],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("FLOWSTATE_KEYS_KMS_KEY"), "{stderr}");

    let out = flowstate(
        &stack,
        &[
            "keys",
            "create",
            "--name",
            "",
            "--table",
            &stack.table,
            "--kms-key",
            &stack.kms_key_arn,
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("invalid key name"), "{stderr}");
}
