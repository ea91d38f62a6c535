//! The task-token HMAC key of a deployed stack: 32 random bytes, made once,
//! stored in the table sealed with KMS (context `{"flowstate:purpose":
//! "task-token-key"}`), read and decrypted by every function at start.
//!
//! Item: PK `CONFIG`, SK `TASK_TOKEN_KEY`, `sec` = the ciphertext, `cr` =
//! created ms. The first functions of a new stack may start together: each
//! reads, finds nothing, makes a key and writes it only if no item exists
//! yet (`attribute_not_exists`); a loser reads the winner's key. All of
//! them therefore sign with one key.

use crate::kms::{KmsError, Purpose, Sealer};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

pub const CONFIG_PK: &str = "CONFIG";
pub const TOKEN_KEY_SK: &str = "TASK_TOKEN_KEY";
/// HMAC-SHA256 keys longer than its 64-byte block are hashed first; 32
/// bytes is the output size and all the strength it has.
pub const TOKEN_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenKeyError {
    #[error(transparent)]
    Kms(#[from] KmsError),
    #[error("DynamoDB {operation} of the task token key in table '{table}': {message}")]
    Dynamo {
        operation: &'static str,
        table: String,
        message: String,
    },
    #[error("the task token key item in table '{table}' is corrupt: {what}")]
    Corrupt { table: String, what: String },
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// Reads the stack's task token key, creating it on first use.
pub async fn load_or_create_task_token_key(
    config: &SdkConfig,
    table: &str,
    kms_key: &str,
) -> Result<Vec<u8>, TokenKeyError> {
    let dynamo = aws_sdk_dynamodb::Client::new(config);
    let sealer = Sealer::new(aws_sdk_kms::Client::new(config), kms_key);
    if let Some(sealed) = read(&dynamo, table).await? {
        return open(&sealer, table, &sealed).await;
    }
    let mut key = vec![0u8; TOKEN_KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| TokenKeyError::Random(e.to_string()))?;
    let sealed = sealer.seal(Purpose::TaskTokenKey, &key).await?;
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let put = dynamo
        .put_item()
        .table_name(table)
        .item("PK", AttributeValue::S(CONFIG_PK.into()))
        .item("SK", AttributeValue::S(TOKEN_KEY_SK.into()))
        .item("sec", AttributeValue::B(Blob::new(sealed)))
        .item("cr", AttributeValue::N(created.to_string()))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await;
    match put {
        Ok(_) => Ok(key),
        Err(e) => match e.into_service_error() {
            // Another function created it first: use that one.
            PutItemError::ConditionalCheckFailedException(_) => {
                let sealed = read(&dynamo, table)
                    .await?
                    .ok_or_else(|| TokenKeyError::Corrupt {
                        table: table.to_string(),
                        what: "the conditional write failed but no key item can be read".into(),
                    })?;
                open(&sealer, table, &sealed).await
            }
            other => Err(TokenKeyError::Dynamo {
                operation: "PutItem",
                table: table.to_string(),
                message: aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string(),
            }),
        },
    }
}

async fn read(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Option<Vec<u8>>, TokenKeyError> {
    let out = dynamo
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(CONFIG_PK.into()))
        .key("SK", AttributeValue::S(TOKEN_KEY_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| TokenKeyError::Dynamo {
            operation: "GetItem",
            table: table.to_string(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        })?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    match item.get("sec").and_then(|v| v.as_b().ok()) {
        Some(b) => Ok(Some(b.as_ref().to_vec())),
        None => Err(TokenKeyError::Corrupt {
            table: table.to_string(),
            what: "no sealed key 'sec'".into(),
        }),
    }
}

async fn open(sealer: &Sealer, table: &str, sealed: &[u8]) -> Result<Vec<u8>, TokenKeyError> {
    let key = sealer.open(Purpose::TaskTokenKey, sealed).await?;
    if key.len() != TOKEN_KEY_LEN {
        return Err(TokenKeyError::Corrupt {
            table: table.to_string(),
            what: format!("the key has {} bytes, not {TOKEN_KEY_LEN}", key.len()),
        });
    }
    Ok(key)
}
