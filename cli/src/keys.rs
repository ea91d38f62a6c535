//! `flowstate keys create|list|revoke`: the access keys a deployed stack's
//! API accepts, in its DynamoDB table (secrets sealed with its KMS key).
//! Configured by `--table`/`FLOWSTATE_TABLE`, `--kms-key`/
//! `FLOWSTATE_KEYS_KMS_KEY` and the standard AWS environment
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_PROFILE`, credentials).

use anyhow::Context;
use aws_config::BehaviorVersion;
use clap::{Args, Subcommand};
use flowstate_auth::KeyStatus;
use flowstate_aws::{DynamoKeyStore, KeyInfo, KeysError};
use std::process::ExitCode;

#[derive(Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
    /// The stack's DynamoDB table (its `TableName` output).
    #[arg(long, env = "FLOWSTATE_TABLE", global = true)]
    table: Option<String>,
    /// The stack's KMS key (ARN, id or alias) that seals secrets; needed by
    /// `create` only.
    #[arg(long = "kms-key", env = "FLOWSTATE_KEYS_KMS_KEY", global = true)]
    kms_key: Option<String>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Issue a new access key and print its secret (shown only this once).
    Create {
        /// Who or what the key is for, e.g. "ci" or "alice".
        #[arg(long)]
        name: String,
        /// The stack's API URL (its `ApiUrl` output), for the example
        /// command printed.
        #[arg(long, env = "FLOWSTATE_API_URL")]
        api_url: Option<String>,
        /// The AWS profile name to suggest for the key.
        #[arg(long, default_value = "flowstate")]
        profile: String,
    },
    /// List keys: id, name, status, creation time (never secrets).
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: requests signed with it are refused from then on
    /// (within a minute on API functions that already cached it).
    Revoke {
        /// The key's access key id (AKIA...).
        access_key_id: String,
    },
}

pub fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let table = args.table.clone().context(
        "no table: pass --table NAME or set FLOWSTATE_TABLE (the stack's TableName output)",
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "REGION".into());
        match args.command {
            KeysCommand::Create {
                name,
                api_url,
                profile,
            } => {
                let kms_key = args.kms_key.context(
                    "no KMS key: pass --kms-key ARN or set FLOWSTATE_KEYS_KMS_KEY (the stack's KeyArn output)",
                )?;
                let store = DynamoKeyStore::new(&config, &table, kms_key);
                let (issued, info) = store
                    .create(&name)
                    .await
                    .with_context(|| format!("cannot create a key in table {table}"))?;
                let api_url = api_url.unwrap_or_else(|| "<the stack's ApiUrl output>".into());
                let id = &info.access_key_id;
                let secret = issued.secret.expose();
                outln!("Created access key {id} ({}).", info.name)?;
                outln!("Its secret is shown only this once. Add to ~/.aws/credentials:")?;
                outln!()?;
                outln!("[{profile}]")?;
                outln!("aws_access_key_id = {id}")?;
                outln!("aws_secret_access_key = {secret}")?;
                outln!()?;
                outln!("and to ~/.aws/config:")?;
                outln!()?;
                outln!("[profile {profile}]")?;
                outln!("region = {region}")?;
                outln!()?;
                outln!("Then, for example:")?;
                outln!()?;
                outln!(
                    "aws stepfunctions --profile {profile} --endpoint-url {api_url} list-state-machines"
                )?;
                Ok(ExitCode::SUCCESS)
            }
            KeysCommand::List { json } => {
                // Listing and revoking never call KMS: no key needed.
                let store = DynamoKeyStore::new(&config, &table, "");
                let keys = store
                    .list()
                    .await
                    .with_context(|| format!("cannot list the keys in table {table}"))?;
                if json {
                    let rows: Vec<_> = keys.iter().map(key_json).collect();
                    outln!("{}", serde_json::Value::Array(rows))?;
                } else {
                    print_table(&keys)?;
                }
                Ok(ExitCode::SUCCESS)
            }
            KeysCommand::Revoke { access_key_id } => {
                let store = DynamoKeyStore::new(&config, &table, "");
                match store.revoke(&access_key_id).await {
                    Ok(info) => {
                        outln!("Revoked access key {} ({}).", info.access_key_id, info.name)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(KeysError::NotFound(id)) => {
                        errln!("flowstate: no access key '{id}' in table {table}");
                        Ok(ExitCode::from(1))
                    }
                    Err(e) => {
                        Err(e).with_context(|| format!("cannot revoke {access_key_id} in table {table}"))
                    }
                }
            }
        }
    })
}

fn status(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

fn date(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn key_json(key: &KeyInfo) -> serde_json::Value {
    serde_json::json!({
        "accessKeyId": key.access_key_id,
        "name": key.name,
        "status": status(key.status),
        "created": date(key.created_at),
        "revoked": key.revoked_at.map(date),
    })
}

fn print_table(keys: &[KeyInfo]) -> std::io::Result<()> {
    if keys.is_empty() {
        return outln!("No access keys.");
    }
    let width = keys
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    outln!(
        "{:<20}  {:<width$}  {:<8}  CREATED",
        "ACCESS KEY ID",
        "NAME",
        "STATUS"
    )?;
    for k in keys {
        outln!(
            "{:<20}  {:<width$}  {:<8}  {}",
            k.access_key_id,
            k.name,
            status(k.status),
            date(k.created_at)
        )?;
    }
    Ok(())
}
