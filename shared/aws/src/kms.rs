//! Secrets sealed with the stack's KMS key: direct `Encrypt`/`Decrypt`,
//! always under an encryption context `{"flowstate:purpose": PURPOSE}`.
//!
//! The context is bound into the ciphertext (KMS refuses to decrypt under
//! another one) and is what the key policy and the functions' IAM policies
//! condition on: a role allowed to decrypt access-key secrets cannot use
//! the key for anything else, and a ciphertext copied from one kind of
//! record to another does not decrypt.

use aws_sdk_kms::primitives::Blob;

/// The encryption-context key; its value names the kind of secret.
pub const PURPOSE_KEY: &str = "flowstate:purpose";

/// The two kinds of secrets Flowstate seals with KMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The secret of an issued access key (`flowstate keys`).
    AccessKey,
    /// The HMAC key that signs task tokens.
    TaskTokenKey,
}

impl Purpose {
    /// The context value, as `template.yaml`'s policies spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::AccessKey => "access-key",
            Purpose::TaskTokenKey => "task-token-key",
        }
    }
}

/// A KMS call that failed; the text carries the service's code and message.
#[derive(Debug, thiserror::Error)]
#[error("KMS {operation} with key '{key}' (purpose {purpose}): {message}")]
pub struct KmsError {
    pub operation: &'static str,
    pub key: String,
    pub purpose: &'static str,
    pub message: String,
}

/// A KMS client and the key it seals with.
#[derive(Debug, Clone)]
pub(crate) struct Sealer {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl Sealer {
    pub(crate) fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Sealer {
        Sealer {
            client,
            key_id: key_id.into(),
        }
    }

    fn error(&self, operation: &'static str, purpose: Purpose, message: String) -> KmsError {
        KmsError {
            operation,
            key: self.key_id.clone(),
            purpose: purpose.as_str(),
            message,
        }
    }

    pub(crate) async fn seal(
        &self,
        purpose: Purpose,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext))
            .encryption_context(PURPOSE_KEY, purpose.as_str())
            .send()
            .await
            .map_err(|e| {
                self.error(
                    "Encrypt",
                    purpose,
                    aws_sdk_kms::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| self.error("Encrypt", purpose, "no ciphertext in the answer".into()))
    }

    pub(crate) async fn open(
        &self,
        purpose: Purpose,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        // Naming the key makes KMS refuse a ciphertext sealed under another
        // key instead of decrypting with whatever key it names.
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(PURPOSE_KEY, purpose.as_str())
            .send()
            .await
            .map_err(|e| {
                self.error(
                    "Decrypt",
                    purpose,
                    aws_sdk_kms::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        out.plaintext
            .map(Blob::into_inner)
            .ok_or_else(|| self.error("Decrypt", purpose, "no plaintext in the answer".into()))
    }
}
