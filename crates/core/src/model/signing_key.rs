//! A signing key as the store keeps it: its algorithm, its state in the key's life,
//! its sealed private half and public JWK, and the atomic rotation step. The service
//! that signs with these is [`crate::keys`].

use crate::model::time::UnixTime;
use std::fmt;

/// A JWS algorithm this server signs with ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1)).
/// Each has its own key life: one active and one next key per algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigAlg {
    /// ECDSA P-256 with SHA-256: access tokens, and ID tokens of clients asking for it.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys): the ID-token algorithm every
    /// OpenID provider supports and clients assume when they registered none.
    Rs256,
}

impl SigAlg {
    /// Every algorithm, in the order keys are listed.
    pub const ALL: [SigAlg; 2] = [SigAlg::Es256, SigAlg::Rs256];

    /// The JOSE name (`alg` header and JWK member).
    pub fn as_str(self) -> &'static str {
        match self {
            SigAlg::Es256 => "ES256",
            SigAlg::Rs256 => "RS256",
        }
    }

    /// The algorithm of a JOSE name, exactly as spelled (`ES256`, `RS256`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for SigAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// The JOSE name of its algorithm ([`SigAlg::as_str`]); kept as text so a key of
    /// an algorithm this version does not know is skipped, not fatal.
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

impl StoredKey {
    /// Its algorithm, `None` when this version does not know it.
    pub fn sig_alg(&self) -> Option<SigAlg> {
        SigAlg::parse(&self.alg)
    }
}

/// The rotation of one algorithm's keys; [`KeyStore::rotate_signing_keys`] applies
/// those of every algorithm in one atomic step.
///
/// [`KeyStore::rotate_signing_keys`]: crate::store::KeyStore::rotate_signing_keys
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The algorithm whose keys rotate: only its active key retires.
    pub alg: SigAlg,
    /// The kid of the next key of `alg` to make active; the rotation applies only
    /// while it is still that next key.
    pub promote: String,
    /// The new next key (state `next`, algorithm `alg`).
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
