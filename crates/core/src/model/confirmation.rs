//! The confirmation of a sender-constrained token (`cnf`,
//! [RFC 7800](https://www.rfc-editor.org/rfc/rfc7800)): for DPoP
//! ([RFC 9449 §6](https://www.rfc-editor.org/rfc/rfc9449#section-6)), the
//! `jkt` member, the RFC 7638 thumbprint of the public key whose proofs must accompany
//! the token. Verification is [`crate::oauth::dpop`].

use serde::{Deserialize, Serialize};

/// A `cnf` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638), base64url without padding.
    pub jkt: String,
}
