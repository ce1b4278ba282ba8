//! A signing key as the store keeps it: its state in the key's life, its sealed
//! private half and public JWK, and the one atomic rotation step. The service that
//! signs with these is [`crate::keys`].

use crate::model::time::UnixTime;
use std::fmt;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyState {
    /// Published, signing after the next rotation.
    Next,
    /// Signing (and published).
    Active,
    /// Published until `retire_at`, no longer signing.
    Retiring,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(KeyState::Next),
            "active" => Some(KeyState::Active),
            "retiring" => Some(KeyState::Retiring),
            _ => None,
        }
    }
}

/// A signing key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// The PKCS#8 private key sealed under the master key for [`sealing_purpose`].
    pub private_sealed: String,
    /// The public JWK (JSON text), as published.
    pub public_jwk: String,
    pub state: KeyState,
    pub created_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    /// Set when the key starts retiring: when it leaves the key set.
    pub retire_at: Option<UnixTime>,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_sealed", &"***")
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retire_at", &self.retire_at)
            .finish()
    }
}

/// One rotation, applied atomically by [`KeyStore::rotate_signing_keys`].
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The kid of the next key to make active; the rotation applies only while it is
    /// still the next key.
    pub promote: String,
    /// The new next key (state `next`).
    pub next: StoredKey,
    pub now: UnixTime,
    /// When the key that was active leaves the key set.
    pub retire_at: UnixTime,
}

/// The associated data a private key is sealed for: bound to its kid, so a sealed key
/// copied into another row does not open.
pub fn sealing_purpose(kid: &str) -> String {
    format!("signing-key:{kid}")
}
