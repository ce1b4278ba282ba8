//! AES-256-GCM sealing under the master key (SPEC §5.1).
//!
//! Sealed values are text: `mk1.<key id>.<base64url nonce>.<base64url ciphertext>`. The
//! key id names which master key sealed the value, so a [`Keyring`] holding the new
//! key and the previous ones can open everything while values are re-sealed. Each
//! value is bound to its purpose by associated data (e.g. `verifier-pepper`), so a
//! sealed value copied into another column does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A 256-bit master key and its id (the first 8 hex digits of its SHA-256).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, ***)", self.id)
    }
}

/// Why a value could not be sealed or opened, or a key not parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error(
        "the master key must be 32 bytes, written as base64 (44 characters) or hex (64 characters)"
    )]
    BadKey,
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed with master key '{0}', which is not configured")]
    UnknownKey(String),
    #[error("sealed value does not open with master key '{0}' (wrong key or tampered value)")]
    Open(String),
}

impl MasterKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let id = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Self { id, key }
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    /// Parses a key written as standard base64 or as hex.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| SealError::BadKey)?
        } else {
            STANDARD.decode(text).map_err(|_| SealError::BadKey)?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self::from_bytes(key))
    }

    /// The key as standard base64, for writing a new key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The primary master key (seals) and previous ones (only open).
#[derive(Debug, Clone)]
pub struct Keyring {
    primary: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(primary: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { primary, previous }
    }

    pub fn primary_id(&self) -> &str {
        self.primary.id()
    }

    /// Seals `plaintext` for `purpose`.
    pub fn seal(&self, plaintext: &[u8], purpose: &str) -> Result<String, SealError> {
        let cipher = Aes256Gcm::new_from_slice(&self.primary.key).map_err(|_| SealError::BadKey)?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Malformed)?;
        Ok(format!(
            "mk1.{}.{}.{}",
            self.primary.id,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ct)
        ))
    }

    /// Opens a value sealed for `purpose` by any key of the ring.
    pub fn open(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.split('.');
        let (Some("mk1"), Some(kid), Some(nonce), Some(ct), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SealError::Malformed);
        };
        let key = std::iter::once(&self.primary)
            .chain(&self.previous)
            .find(|k| k.id == kid)
            .ok_or_else(|| SealError::UnknownKey(kid.to_owned()))?;
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| SealError::Malformed)?;
        let ct = URL_SAFE_NO_PAD
            .decode(ct)
            .map_err(|_| SealError::Malformed)?;
        if nonce.len() != 12 {
            return Err(SealError::Malformed);
        }
        let cipher = Aes256Gcm::new_from_slice(&key.key).map_err(|_| SealError::BadKey)?;
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open(kid.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_purpose() {
        let ring = Keyring::new(MasterKey::generate(), vec![]);
        let sealed = ring.seal(b"top secret", "a").unwrap_or_default();
        assert!(!sealed.contains("top secret"));
        assert_eq!(ring.open(&sealed, "a").ok(), Some(b"top secret".to_vec()));
        assert!(matches!(ring.open(&sealed, "b"), Err(SealError::Open(_))));
    }

    #[test]
    fn a_previous_key_still_opens_what_it_sealed() {
        let old = MasterKey::generate();
        let sealed = Keyring::new(old.clone(), vec![])
            .seal(b"v", "p")
            .unwrap_or_default();
        let rotated = Keyring::new(MasterKey::generate(), vec![old]);
        assert_eq!(rotated.open(&sealed, "p").ok(), Some(b"v".to_vec()));
        let forgotten = Keyring::new(MasterKey::generate(), vec![]);
        assert!(matches!(
            forgotten.open(&sealed, "p"),
            Err(SealError::UnknownKey(_))
        ));
    }

    #[test]
    fn keys_parse_from_base64_and_hex_and_nothing_else() {
        let k = MasterKey::generate();
        assert_eq!(
            MasterKey::parse(&k.to_base64())
                .map(|p| p.id().to_owned())
                .ok(),
            Some(k.id().to_owned())
        );
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert_eq!(MasterKey::parse("short").err(), Some(SealError::BadKey));
        assert!(!format!("{k:?}").contains(&k.to_base64()));
    }
}
