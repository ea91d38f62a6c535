//! Access keys in the DynamoDB table, their secrets sealed with KMS: the
//! [`KeyStore`] the API function verifies SigV4 against, and the
//! operations behind `flowstate keys create|list|revoke`.
//!
//! Items (one partition: `keys list` is one Query, and a stack holds tens
//! of keys, not millions):
//!
//! | PK | SK | attributes |
//! | --- | --- | --- |
//! | `KEY` | access key id | `nm` name, `st` `Active`/`Inactive`, `cr` created ms, `rv` revoked ms, `sec` KMS ciphertext of the secret |
//!
//! The secret is encrypted with KMS under the context
//! `{"flowstate:purpose": "access-key"}`; the plaintext is never stored and
//! [`KeyInfo`] (what `list` returns) has no secret at all.
//!
//! **Cache.** A warm API function must not call KMS for every request, so
//! [`DynamoKeyStore::lookup`] keeps decrypted secrets in memory, bounded
//! ([`DEFAULT_CACHE_CAPACITY`] keys) and for a short time
//! ([`DEFAULT_CACHE_TTL_MS`]). The consequence, by design: **a revoked key
//! keeps working on an already-warm function for at most the TTL** (60 s
//! by default); the store that revokes drops its own entry at once.
//! Unknown keys are not cached, so a key is usable as soon as it is
//! created. Revoked keys are cached without their secret (it is not
//! decrypted: the verifier refuses an inactive key before using it).

use crate::kms::{KmsError, Purpose, Sealer};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flowstate_auth::{
    issue_key, IssuedKey, KeyStatus, KeyStore, KeyStoreError, SecretKey, StoredKey,
    ISSUE_RANDOM_BYTES,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The partition of access keys.
pub const KEYS_PK: &str = "KEY";
/// Decrypted secrets kept by one process.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;
/// How long a looked-up key is trusted without reading the table again:
/// the longest a revocation can take to reach a warm API function.
pub const DEFAULT_CACHE_TTL_MS: i64 = 60_000;
/// Longest key name accepted (IAM's limit for user names is 64; a name here
/// is a label, so a little more room).
pub const MAX_NAME_LEN: usize = 128;

/// One key as `keys list` shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub access_key_id: String,
    pub name: String,
    pub status: KeyStatus,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; set once revoked.
    pub revoked_at: Option<i64>,
}

/// What went wrong managing or looking up keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    #[error("no access key '{0}' in the table")]
    NotFound(String),
    #[error("invalid key name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error(transparent)]
    Kms(#[from] KmsError),
    #[error("DynamoDB {operation} on table '{table}': {message}")]
    Dynamo {
        operation: &'static str,
        table: String,
        message: String,
    },
    #[error("corrupt access key item '{access_key_id}': {what}")]
    Corrupt { access_key_id: String, what: String },
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// Checks a key's name: 1 to [`MAX_NAME_LEN`] characters, no control
/// characters (it is printed in tables and logs).
pub fn check_name(name: &str) -> Result<(), KeysError> {
    let bad = |reason: &str| KeysError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(bad(&format!("longer than {MAX_NAME_LEN} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("it contains a control character"));
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn status_name(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

/// Access keys on a DynamoDB table, secrets sealed with a KMS key.
#[derive(Debug)]
pub struct DynamoKeyStore {
    dynamo: aws_sdk_dynamodb::Client,
    sealer: Sealer,
    table: String,
    cache: Mutex<KeyCache>,
}

impl DynamoKeyStore {
    /// A store on `table`, sealing with `kms_key` (id, ARN or alias), with
    /// the default cache.
    pub fn new(config: &SdkConfig, table: impl Into<String>, kms_key: impl Into<String>) -> Self {
        DynamoKeyStore {
            dynamo: aws_sdk_dynamodb::Client::new(config),
            sealer: Sealer::new(aws_sdk_kms::Client::new(config), kms_key),
            table: table.into(),
            cache: Mutex::new(KeyCache::new(DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL_MS)),
        }
    }

    /// Replaces the cache's bounds; a `ttl_ms` of 0 turns it off.
    pub fn with_cache(self, capacity: usize, ttl_ms: i64) -> Self {
        DynamoKeyStore {
            cache: Mutex::new(KeyCache::new(capacity, ttl_ms)),
            ..self
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        // A poisoned cache only holds copies of what the table holds.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dynamo_error(
        &self,
        operation: &'static str,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> KeysError {
        KeysError::Dynamo {
            operation,
            table: self.table.clone(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
        }
    }

    /// Issues a new active key named `name` from the operating system's
    /// randomness and stores it (secret sealed). The returned secret is the
    /// only copy in plaintext: show it once.
    pub async fn create(&self, name: &str) -> Result<(IssuedKey, KeyInfo), KeysError> {
        check_name(name)?;
        let mut random = [0u8; ISSUE_RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(|e| KeysError::Random(e.to_string()))?;
        let issued = issue_key(&random);
        let sealed = self
            .sealer
            .seal(Purpose::AccessKey, issued.secret.expose().as_bytes())
            .await?;
        let created_at = now_ms();
        let result = self
            .dynamo
            .put_item()
            .table_name(&self.table)
            .item("PK", AttributeValue::S(KEYS_PK.into()))
            .item("SK", AttributeValue::S(issued.access_key_id.clone()))
            .item("nm", AttributeValue::S(name.into()))
            .item(
                "st",
                AttributeValue::S(status_name(KeyStatus::Active).into()),
            )
            .item("cr", AttributeValue::N(created_at.to_string()))
            .item("sec", AttributeValue::B(Blob::new(sealed)))
            // 80 random bits make a collision practically impossible; the
            // condition makes one an error instead of an overwrite.
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) => {
                return Err(match e.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(_) => KeysError::Dynamo {
                        operation: "PutItem",
                        table: self.table.clone(),
                        message: format!(
                            "access key id {} exists already; run the command again",
                            issued.access_key_id
                        ),
                    },
                    other => self.dynamo_error("PutItem", other),
                })
            }
        }
        let info = KeyInfo {
            access_key_id: issued.access_key_id.clone(),
            name: name.to_string(),
            status: KeyStatus::Active,
            created_at,
            revoked_at: None,
        };
        Ok((issued, info))
    }

    /// Every key, ordered by access key id; secrets are neither read nor
    /// decrypted.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeysError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(KEYS_PK.into()))
                // Leave the ciphertext behind: listing needs no secret.
                .projection_expression("SK, nm, st, cr, rv")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.dynamo_error("Query", e))?;
            for item in out.items() {
                keys.push(info_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// Marks a key inactive (it stays listed, and requests signed with it
    /// are refused with `UnrecognizedClientException`). Revoking a revoked
    /// key keeps its first revocation time.
    pub async fn revoke(&self, access_key_id: &str) -> Result<KeyInfo, KeysError> {
        let result = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(KEYS_PK.into()))
            .key("SK", AttributeValue::S(access_key_id.into()))
            .update_expression("SET st = :inactive, rv = if_not_exists(rv, :now)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(
                ":inactive",
                AttributeValue::S(status_name(KeyStatus::Inactive).into()),
            )
            .expression_attribute_values(":now", AttributeValue::N(now_ms().to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                return Err(match e.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(_) => {
                        KeysError::NotFound(access_key_id.to_string())
                    }
                    other => self.dynamo_error("UpdateItem", other),
                })
            }
        };
        self.cache().remove(access_key_id);
        let item = out.attributes.unwrap_or_default();
        info_from_item(&item)
    }

    /// Reads one key from the table, decrypting its secret when active.
    async fn fetch(&self, access_key_id: &str) -> Result<Option<StoredKey>, KeysError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(KEYS_PK.into()))
            .key("SK", AttributeValue::S(access_key_id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.dynamo_error("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let info = info_from_item(&item)?;
        let secret = match info.status {
            KeyStatus::Inactive => SecretKey::new(""),
            KeyStatus::Active => {
                let sealed = item.get("sec").and_then(|v| v.as_b().ok()).ok_or_else(|| {
                    KeysError::Corrupt {
                        access_key_id: access_key_id.to_string(),
                        what: "no sealed secret 'sec'".into(),
                    }
                })?;
                let plain = self
                    .sealer
                    .open(Purpose::AccessKey, sealed.as_ref())
                    .await?;
                let text = String::from_utf8(plain).map_err(|_| KeysError::Corrupt {
                    access_key_id: access_key_id.to_string(),
                    what: "the decrypted secret is not UTF-8".into(),
                })?;
                SecretKey::new(text)
            }
        };
        Ok(Some(StoredKey {
            access_key_id: info.access_key_id,
            secret,
            name: info.name,
            status: info.status,
            created_at: info.created_at,
        }))
    }
}

impl KeyStore for DynamoKeyStore {
    async fn lookup(&self, access_key_id: &str) -> Result<Option<StoredKey>, KeyStoreError> {
        let now = now_ms();
        let cached = self.cache().get(access_key_id, now);
        if let Some(key) = cached {
            return Ok(Some(key));
        }
        let found = self
            .fetch(access_key_id)
            .await
            .map_err(|e| KeyStoreError(e.to_string()))?;
        if let Some(key) = &found {
            self.cache().put(key.clone(), now);
        }
        Ok(found)
    }
}

fn info_from_item(item: &HashMap<String, AttributeValue>) -> Result<KeyInfo, KeysError> {
    let get_s = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let get_n = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    let id = get_s("SK").cloned().unwrap_or_default();
    let corrupt = |what: &str| KeysError::Corrupt {
        access_key_id: id.clone(),
        what: what.to_string(),
    };
    if id.is_empty() {
        return Err(corrupt("no access key id in SK"));
    }
    let status = match get_s("st").map(String::as_str) {
        Some("Active") => KeyStatus::Active,
        Some("Inactive") => KeyStatus::Inactive,
        other => return Err(corrupt(&format!("status 'st' is {other:?}"))),
    };
    Ok(KeyInfo {
        access_key_id: id.clone(),
        name: get_s("nm").cloned().unwrap_or_default(),
        status,
        created_at: get_n("cr").ok_or_else(|| corrupt("no creation time 'cr'"))?,
        revoked_at: get_n("rv"),
    })
}

/// Looked-up keys, each trusted for `ttl_ms` after it was read; at most
/// `capacity` of them. Time is passed in, so the rules are tested without
/// waiting.
#[derive(Debug)]
struct KeyCache {
    capacity: usize,
    ttl_ms: i64,
    entries: HashMap<String, (StoredKey, i64)>,
}

impl KeyCache {
    fn new(capacity: usize, ttl_ms: i64) -> KeyCache {
        KeyCache {
            capacity,
            ttl_ms,
            entries: HashMap::new(),
        }
    }

    fn get(&self, access_key_id: &str, now: i64) -> Option<StoredKey> {
        let (key, read_at) = self.entries.get(access_key_id)?;
        (now - read_at < self.ttl_ms && now >= *read_at).then(|| key.clone())
    }

    fn put(&mut self, key: StoredKey, now: i64) {
        if self.capacity == 0 || self.ttl_ms <= 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key.access_key_id) {
            let ttl = self.ttl_ms;
            self.entries.retain(|_, (_, read_at)| now - *read_at < ttl);
            if self.entries.len() >= self.capacity {
                // Still full of fresh entries: drop the oldest one.
                if let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, read_at))| *read_at)
                    .map(|(id, _)| id.clone())
                {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(key.access_key_id.clone(), (key, now));
    }

    fn remove(&mut self, access_key_id: &str) {
        self.entries.remove(access_key_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> StoredKey {
        StoredKey {
            access_key_id: id.into(),
            secret: SecretKey::new("s"),
            name: "n".into(),
            status: KeyStatus::Active,
            created_at: 0,
        }
    }

    #[test]
    fn cached_keys_expire_after_the_ttl() {
        let mut cache = KeyCache::new(4, 1_000);
        cache.put(key("A"), 10_000);
        assert!(cache.get("A", 10_999).is_some());
        assert!(cache.get("A", 11_000).is_none());
        // A clock that went backwards does not extend trust.
        assert!(cache.get("A", 9_000).is_none());
    }

    #[test]
    fn the_cache_is_bounded_and_drops_the_oldest_entry() {
        let mut cache = KeyCache::new(2, 1_000);
        cache.put(key("A"), 100);
        cache.put(key("B"), 200);
        cache.put(key("C"), 300);
        assert!(cache.get("A", 300).is_none());
        assert!(cache.get("B", 300).is_some());
        assert!(cache.get("C", 300).is_some());
        assert_eq!(cache.entries.len(), 2);
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let mut cache = KeyCache::new(2, 0);
        cache.put(key("A"), 100);
        assert!(cache.get("A", 100).is_none());
    }

    #[test]
    fn key_names_must_be_printable_and_short() {
        assert!(check_name("ci").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("  ").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_LEN + 1)).is_err());
    }
}
