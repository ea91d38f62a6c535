//! Access keys that Flowstate issues, and where their secrets live.
//!
//! SigV4 is a shared-secret scheme: the server must hold each secret in
//! usable form to recompute signatures, so secrets cannot be hashed like
//! passwords. In production they are encrypted at rest with the stack's KMS
//! key and decrypted on lookup (the DynamoDB/KMS store implements
//! [`KeyStore`] elsewhere); [`InMemoryKeyStore`] serves tests and
//! `flowstate serve --auth`.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};

use base64::Engine as _;

use crate::error::KeyStoreError;

/// A secret access key. `Debug` never prints it, so a stray `{:?}` in a log
/// line cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> SecretKey {
        SecretKey(secret.into())
    }

    /// The secret itself; call only to sign or verify, or to show it once
    /// when the key is created.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Whether a key may still sign requests. Revoked keys stay in the store
/// (for `keys list` and audit) but are refused like unknown ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// One issued key as the store returns it, secret decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub access_key_id: String,
    pub secret: SecretKey,
    /// Who or what the key is for (`flowstate keys create --name ci`).
    pub name: String,
    pub status: KeyStatus,
    /// Epoch milliseconds.
    pub created_at: i64,
}

/// Looks up the secret of an access key id. The one operation on the
/// request path: key management (create, list, revoke) belongs to the
/// concrete stores and the CLI.
///
/// `Ok(None)` means "no such key"; `Err` means the store could not answer
/// (the request then fails with a 500 so that SDKs retry).
pub trait KeyStore: Send + Sync + 'static {
    fn lookup(
        &self,
        access_key_id: &str,
    ) -> impl Future<Output = Result<Option<StoredKey>, KeyStoreError>> + Send;
}

impl<K: KeyStore> KeyStore for Arc<K> {
    fn lookup(
        &self,
        access_key_id: &str,
    ) -> impl Future<Output = Result<Option<StoredKey>, KeyStoreError>> + Send {
        (**self).lookup(access_key_id)
    }
}

/// Keys held in memory. Cheap to clone (shared map).
#[derive(Debug, Clone, Default)]
pub struct InMemoryKeyStore {
    keys: Arc<RwLock<BTreeMap<String, StoredKey>>>,
}

impl InMemoryKeyStore {
    pub fn new() -> InMemoryKeyStore {
        InMemoryKeyStore::default()
    }

    /// Adds or replaces a key.
    pub fn insert(&self, key: StoredKey) {
        let mut keys = match self.keys.write() {
            Ok(guard) => guard,
            // A panic while holding the lock cannot leave a map half-written
            // (insert/remove are atomic from our point of view).
            Err(poisoned) => poisoned.into_inner(),
        };
        keys.insert(key.access_key_id.clone(), key);
    }

    /// Adds an active key from an id and secret.
    pub fn add(&self, access_key_id: &str, secret: &str, name: &str) {
        self.insert(StoredKey {
            access_key_id: access_key_id.to_owned(),
            secret: SecretKey::new(secret),
            name: name.to_owned(),
            status: KeyStatus::Active,
            created_at: 0,
        });
    }

    /// Marks a key inactive; `false` if there is no such key.
    pub fn revoke(&self, access_key_id: &str) -> bool {
        let mut keys = match self.keys.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match keys.get_mut(access_key_id) {
            Some(key) => {
                key.status = KeyStatus::Inactive;
                true
            }
            None => false,
        }
    }

    /// Every key, ordered by id.
    pub fn list(&self) -> Vec<StoredKey> {
        let keys = match self.keys.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        keys.values().cloned().collect()
    }
}

impl KeyStore for InMemoryKeyStore {
    fn lookup(
        &self,
        access_key_id: &str,
    ) -> impl Future<Output = Result<Option<StoredKey>, KeyStoreError>> + Send {
        let found = match self.keys.read() {
            Ok(guard) => guard.get(access_key_id).cloned(),
            Err(poisoned) => poisoned.into_inner().get(access_key_id).cloned(),
        };
        std::future::ready(Ok(found))
    }
}

/// Bytes of randomness [`issue_key`] needs: 10 for the id (16 base32
/// characters × 5 bits), 30 for the secret (40 base64 characters × 6 bits).
pub const ISSUE_RANDOM_BYTES: usize = 40;

/// A freshly issued key pair, to be shown to the user once and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKey {
    pub access_key_id: String,
    pub secret: SecretKey,
}

/// Issues a key pair from `random` (the caller's CSPRNG output: this crate
/// stays free of randomness, like the engine). The shapes are AWS's, so
/// every tool that validates credentials accepts them and secret scanners
/// flag leaked ones: `AKIA` + 16 characters of RFC 4648 base32 (80 bits),
/// and a 40-character base64 secret (240 bits).
pub fn issue_key(random: &[u8; ISSUE_RANDOM_BYTES]) -> IssuedKey {
    let (id_bytes, secret_bytes) = random.split_at(10);
    IssuedKey {
        access_key_id: format!("AKIA{}", base32(id_bytes)),
        secret: SecretKey::new(base64::engine::general_purpose::STANDARD.encode(secret_bytes)),
    }
}

/// RFC 4648 base32 without padding (input length a multiple of 5 here).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_have_aws_shapes() {
        let mut random = [0u8; ISSUE_RANDOM_BYTES];
        for (i, b) in random.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let key = issue_key(&random);
        assert_eq!(key.access_key_id.len(), 20);
        assert!(key.access_key_id.starts_with("AKIA"));
        assert!(key.access_key_id[4..]
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)));
        assert_eq!(key.secret.expose().len(), 40);
        assert!(!format!("{key:?}").contains(key.secret.expose()));
        // Different randomness, different keys.
        random[0] ^= 1;
        random[39] ^= 1;
        let other = issue_key(&random);
        assert_ne!(other.access_key_id, key.access_key_id);
        assert_ne!(other.secret, key.secret);
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(&[0xff; 5]), "77777777");
    }

    #[tokio::test]
    async fn revoked_keys_are_kept_but_inactive() {
        let store = InMemoryKeyStore::new();
        store.add("AKIAEXAMPLE", "secret", "ci");
        assert!(store.revoke("AKIAEXAMPLE"));
        assert!(!store.revoke("AKIAOTHER"));
        let key = store.lookup("AKIAEXAMPLE").await.unwrap().unwrap();
        assert_eq!(key.status, KeyStatus::Inactive);
        assert_eq!(store.list().len(), 1);
    }
}
