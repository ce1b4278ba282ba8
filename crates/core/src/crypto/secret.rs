//! Generated secrets (256-bit random) and their keyed SHA-256 verifiers.
//!
//! A generated secret (client secret, API secret, refresh token, code) is shown once
//! and stored only as `HMAC-SHA256(verifier key, secret)`: a database leak alone does
//! not reveal a usable secret, and because the input is 256 bits of randomness a fast
//! keyed hash is as strong as a slow one. Comparison is constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// A secret value whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// 256 bits from the OS random generator, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The keys derived from the server's verifier pepper.
#[derive(Clone)]
pub struct VerifierKeys {
    verifier: [u8; 32],
    cache: [u8; 32],
}

impl fmt::Debug for VerifierKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifierKeys(***)")
    }
}

fn derive(pepper: &[u8], label: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut mac) = HmacSha256::new_from_slice(pepper) {
        mac.update(label.as_bytes());
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

impl VerifierKeys {
    /// Derives the verifier and cache keys from the pepper (a generated 256-bit secret
    /// in its base64url text form) kept sealed in the
    /// database, so every node computes the same verifiers.
    pub fn from_pepper(pepper: &[u8]) -> Self {
        Self {
            verifier: derive(pepper, "portcullis/v1/verifier"),
            cache: derive(pepper, "portcullis/v1/cache"),
        }
    }

    /// The stored form of a generated secret: `v1.` + base64url(HMAC).
    pub fn verifier(&self, secret: &str) -> String {
        format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(self.mac(&self.verifier, &[secret.as_bytes()]))
        )
    }

    /// Whether `secret` matches the stored `verifier`, compared in constant time.
    pub fn verify(&self, secret: &str, verifier: &str) -> bool {
        let expected = self.verifier(secret);
        expected.as_bytes().ct_eq(verifier.as_bytes()).into()
    }

    /// A keyed digest of several parts, for in-memory cache keys (never stored).
    pub fn cache_key(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.mac(&self.cache, parts)
    }

    fn mac(&self, key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(mut mac) = HmacSha256::new_from_slice(key) {
            for p in parts {
                mac.update(&(p.len() as u64).to_be_bytes());
                mac.update(p);
            }
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_256_bits_and_distinct() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Secret(***)");
    }

    #[test]
    fn a_verifier_accepts_its_secret_only_and_depends_on_the_pepper() {
        let keys = VerifierKeys::from_pepper(&[7; 32]);
        let v = keys.verifier("s3cret");
        assert!(keys.verify("s3cret", &v));
        assert!(!keys.verify("s3creT", &v));
        assert!(!VerifierKeys::from_pepper(&[8; 32]).verify("s3cret", &v));
        assert!(!v.contains("s3cret"));
    }

    #[test]
    fn cache_keys_separate_their_parts() {
        let keys = VerifierKeys::from_pepper(&[1; 32]);
        assert_ne!(
            keys.cache_key(&[b"ab", b"c"]),
            keys.cache_key(&[b"a", b"bc"])
        );
    }
}
