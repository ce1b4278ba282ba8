//! Verifying a compact JWS ([RFC 7515](https://www.rfc-editor.org/rfc/rfc7515)) signed
//! by someone else's key, given as a public JWK
//! ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)): a client's `private_key_jwt`
//! assertion ([`crate::oauth::client_assertion`]) and a DPoP proof
//! ([`crate::oauth::dpop`]) are both checked here, with `ring`.
//!
//! Unlike [`super::jwt::parse_any`] (tokens this server signs: a `kid` required, low-S
//! ES256, only the server's algorithms), these JWTs come from any client library, so
//! `kid` is optional and the algorithms are RS256, PS256, ES256 and EdDSA (Ed25519).
//! `none` and the HMAC algorithms are never accepted: an HMAC "key" would be the
//! public key. Errors are [`JwsError`]; each caller words them for its own protocol.

use super::jwt::jwk_point;
use super::rs256::jwk_components;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
};
use serde_json::{Map, Value};

/// A JWS algorithm with a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Ps256,
    Es256,
    EdDsa,
}

impl Alg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm a header names, if it is one of these.
    pub fn parse(name: &str) -> Option<Self> {
        [Alg::Rs256, Alg::Ps256, Alg::Es256, Alg::EdDsa]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// Why a JWS was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    /// Longer than the caller's limit.
    TooLong,
    /// Not three base64url parts with a JSON header.
    Malformed,
    /// The header names critical extensions (`crit`), none of which is understood.
    Crit,
    /// `alg` missing or not one the caller accepts.
    Alg,
    /// The payload is not base64url.
    ClaimsNotBase64,
    /// The payload is not a JSON object.
    ClaimsNotObject,
    /// The JWK is not a usable public key of the algorithm.
    UnusableKey,
    /// The signature does not verify.
    BadSignature,
}

/// A compact JWS split, its header decoded.
#[derive(Debug)]
pub struct Jws<'t> {
    pub header: Map<String, Value>,
    pub signing_input: &'t str,
    payload: &'t str,
    pub signature: Vec<u8>,
}

impl<'t> Jws<'t> {
    /// Splits `token`, refusing one longer than `max_len` bytes.
    pub fn split(token: &'t str, max_len: usize) -> Result<Self, JwsError> {
        if token.len() > max_len {
            return Err(JwsError::TooLong);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(payload), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwsError::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&header_json).map_err(|_| JwsError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwsError::Malformed)?;
        Ok(Self {
            header,
            signing_input: &token[..h.len() + 1 + payload.len()],
            payload,
            signature,
        })
    }

    /// The header's algorithm, if among `accepted`; no `crit` extension is understood.
    pub fn alg(&self, accepted: &[Alg]) -> Result<Alg, JwsError> {
        if self.header.contains_key("crit") {
            return Err(JwsError::Crit);
        }
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .filter(|a| accepted.contains(a))
            .ok_or(JwsError::Alg)
    }

    /// The claims (before or after verification: the caller decides).
    pub fn claims(&self) -> Result<Map<String, Value>, JwsError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| JwsError::ClaimsNotBase64)?;
        serde_json::from_slice(&bytes).map_err(|_| JwsError::ClaimsNotObject)
    }

    /// Verifies the signature with `jwk` under `alg`.
    pub fn verify(&self, alg: Alg, jwk: &Value) -> Result<(), JwsError> {
        verify_signature(alg, jwk, self.signing_input.as_bytes(), &self.signature)
    }
}

/// Whether `jwk` is a key of `alg`'s type (and, if it says, of that algorithm).
pub fn fits(jwk: &Value, alg: Alg) -> bool {
    let (kty, crv) = match alg {
        Alg::Rs256 | Alg::Ps256 => ("RSA", None),
        Alg::Es256 => ("EC", Some("P-256")),
        Alg::EdDsa => ("OKP", Some("Ed25519")),
    };
    jwk["kty"] == kty
        && crv.is_none_or(|c| jwk["crv"] == c)
        && jwk.get("alg").is_none_or(|a| a == alg.name())
}

/// Verifies `sig` over `input` with the public `jwk` under `alg`.
pub fn verify_signature(alg: Alg, jwk: &Value, input: &[u8], sig: &[u8]) -> Result<(), JwsError> {
    match alg {
        Alg::Rs256 | Alg::Ps256 => {
            let (n, e) = jwk_components(jwk).map_err(|_| JwsError::UnusableKey)?;
            let params = if alg == Alg::Rs256 {
                &RSA_PKCS1_2048_8192_SHA256
            } else {
                &RSA_PSS_2048_8192_SHA256
            };
            RsaPublicKeyComponents { n, e }
                .verify(params, input, sig)
                .map_err(|_| JwsError::BadSignature)
        }
        Alg::Es256 => {
            let point = jwk_point(jwk).map_err(|_| JwsError::UnusableKey)?;
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(input, sig)
                .map_err(|_| JwsError::BadSignature)
        }
        Alg::EdDsa => {
            let x = jwk["x"]
                .as_str()
                .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
                .filter(|x| x.len() == 32)
                .ok_or(JwsError::UnusableKey)?;
            UnparsedPublicKey::new(&ED25519, x)
                .verify(input, sig)
                .map_err(|_| JwsError::BadSignature)
        }
    }
}
