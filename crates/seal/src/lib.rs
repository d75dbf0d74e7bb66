//! Secrets sealed at rest (the customer tenants' Graph credentials).
//!
//! AES-256-GCM with a 32-byte key from configuration (`TOKENWATCH_CREDENTIALS_KEY`, base64). A
//! sealed value is `nonce (12 bytes) || ciphertext+tag`, random nonce per seal; the tenant id is
//! the associated data, so a value copied to another tenant's row does not open. [`Sealer::key_id`]
//! (a digest of the key) is stored beside each value, so a wrong key is reported as such rather
//! than as corrupt data.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const NONCE_BYTES: usize = 12;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The configured key is not 32 bytes of base64.
    #[error("the credentials key must be 32 bytes, base64-encoded (openssl rand -base64 32)")]
    BadKey,
    /// The value was sealed with another key.
    #[error("sealed with another key ({found}; this server has {expected})")]
    WrongKey {
        /// The key id stored with the value.
        found: String,
        /// This server's key id.
        expected: String,
    },
    /// The value does not open: corrupt, or moved to another tenant.
    #[error("the sealed value does not open")]
    Corrupt,
}

/// Seals and opens with one key.
pub struct Sealer {
    cipher: Aes256Gcm,
    key_id: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer from the configured base64 key.
    pub fn from_base64(key: &SecretString) -> Result<Self, SealError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| SealError::BadKey)?;
        let digest = Sha256::digest(&bytes);
        let key_id = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Ok(Sealer { cipher, key_id })
    }

    /// Which key this is, safe to store and log.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `secret` for `tenant`.
    pub fn seal(&self, tenant: &str, secret: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: tenant.as_bytes(),
                },
            )
            .expect("AES-GCM sealing of an in-memory value cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed for `tenant` under the key `key_id`.
    pub fn open(&self, tenant: &str, key_id: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if key_id != self.key_id {
            return Err(SealError::WrongKey {
                found: key_id.to_owned(),
                expected: self.key_id.clone(),
            });
        }
        if sealed.len() < NONCE_BYTES {
            return Err(SealError::Corrupt);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: tenant.as_bytes(),
                },
            )
            .map_err(|_| SealError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretString {
        SecretString::from(base64::engine::general_purpose::STANDARD.encode([byte; 32]))
    }

    #[test]
    fn sealed_values_open_only_for_their_tenant_and_key() {
        let sealer = Sealer::from_base64(&key(7)).unwrap();
        let sealed = sealer.seal("tenant-a", b"s3cret value");
        assert!(
            !sealed.windows(6).any(|w| w == b"s3cret"),
            "no plaintext at rest"
        );
        assert_ne!(
            sealed,
            sealer.seal("tenant-a", b"s3cret value"),
            "fresh nonce"
        );
        let id = sealer.key_id().to_owned();
        assert_eq!(
            sealer.open("tenant-a", &id, &sealed).unwrap(),
            b"s3cret value"
        );
        assert!(matches!(
            sealer.open("tenant-b", &id, &sealed),
            Err(SealError::Corrupt)
        ));
        let other = Sealer::from_base64(&key(8)).unwrap();
        assert!(matches!(
            other.open("tenant-a", &id, &sealed),
            Err(SealError::WrongKey { .. })
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sealer.open("tenant-a", &id, &flipped),
            Err(SealError::Corrupt)
        ));
        assert!(Sealer::from_base64(&SecretString::from("short".to_owned())).is_err());
    }
}
