//! Key material of each [`SigAlg`], behind one face: generating a private key (PKCS#8),
//! parsing it for signing, its public parts as a JWK and kid, and verifiers built from
//! a published JWK. ES256 keys are `ring` ECDSA P-256 pairs ([`super::jwt`] holds their
//! JWK helpers and low-S rule); RS256 keys are 2048-bit RSA ([`super::rs256`]), signed
//! and verified by `ring` with PKCS#1 v1.5 and SHA-256.

use super::jwt::{self, BadJwk, JwsSigner, JwsVerifier, JwtError};
use super::rs256;
use crate::model::signing_key::SigAlg;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use serde_json::Value;

/// The public half of a key, as its JWK carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicParts {
    /// An uncompressed P-256 point (`04 || x || y`).
    Ec(Vec<u8>),
    /// An RSA modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl PublicParts {
    /// The parts of a published JWK of `alg`.
    pub fn from_jwk(alg: SigAlg, jwk: &Value) -> Result<Self, BadJwk> {
        if jwk["alg"].as_str().is_some_and(|a| a != alg.as_str()) {
            return Err(BadJwk);
        }
        match alg {
            SigAlg::Es256 => jwt::jwk_point(jwk).map(PublicParts::Ec),
            SigAlg::Rs256 => rs256::jwk_components(jwk).map(|(n, e)| PublicParts::Rsa { n, e }),
        }
    }

    /// The RFC 7638 thumbprint: the key's `kid`.
    pub fn thumbprint(&self) -> Result<String, BadJwk> {
        match self {
            PublicParts::Ec(point) => jwt::thumbprint(point),
            PublicParts::Rsa { n, e } => Ok(rs256::thumbprint(n, e)),
        }
    }

    /// The public JWK, named `kid`.
    pub fn jwk(&self, kid: &str) -> Result<Value, BadJwk> {
        match self {
            PublicParts::Ec(point) => jwt::public_jwk(kid, point),
            PublicParts::Rsa { n, e } => Ok(rs256::public_jwk(kid, n, e)),
        }
    }

    /// A verifier of signatures by this key.
    pub fn verifier(self) -> Verifier {
        match self {
            PublicParts::Ec(point) => Verifier::Es256(jwt::verifier(point)),
            PublicParts::Rsa { n, e } => Verifier::Rs256(RsaPublicKeyComponents { n, e }),
        }
    }
}

/// A private key parsed for signing (its `Debug` shows the public key only, as
/// `ring`'s does).
#[derive(Debug)]
pub enum PrivateKey {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl PrivateKey {
    /// Generates a key of `alg`; returns it with its PKCS#8 form (what is sealed).
    pub fn generate(alg: SigAlg, rng: &SystemRandom) -> Result<(Self, Vec<u8>), ()> {
        let pkcs8 = match alg {
            SigAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
                .map_err(|_| ())?
                .as_ref()
                .to_vec(),
            SigAlg::Rs256 => rs256::generate_pkcs8().map_err(|_| ())?,
        };
        let key = Self::from_pkcs8(alg, &pkcs8, rng)?;
        Ok((key, pkcs8))
    }

    /// Parses a PKCS#8 private key of `alg`.
    pub fn from_pkcs8(alg: SigAlg, pkcs8: &[u8], rng: &SystemRandom) -> Result<Self, ()> {
        match alg {
            SigAlg::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, rng)
                .map(PrivateKey::Es256)
                .map_err(|_| ()),
            SigAlg::Rs256 => RsaKeyPair::from_pkcs8(pkcs8)
                .map(PrivateKey::Rs256)
                .map_err(|_| ()),
        }
    }

    pub fn alg(&self) -> SigAlg {
        match self {
            PrivateKey::Es256(_) => SigAlg::Es256,
            PrivateKey::Rs256(_) => SigAlg::Rs256,
        }
    }

    /// Its public half.
    pub fn public(&self) -> PublicParts {
        match self {
            PrivateKey::Es256(pair) => PublicParts::Ec(pair.public_key().as_ref().to_vec()),
            PrivateKey::Rs256(pair) => {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                PublicParts::Rsa { n: c.n, e: c.e }
            }
        }
    }
}

impl JwsSigner for PrivateKey {
    /// ES256 as low-S `r || s`, RS256 as RSASSA-PKCS1-v1_5.
    fn sign_input(&self, rng: &SystemRandom, input: &[u8]) -> Result<Vec<u8>, JwtError> {
        match self {
            PrivateKey::Es256(pair) => jwt::sign_es256(pair, rng, input).map(|s| s.to_vec()),
            PrivateKey::Rs256(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, rng, input, &mut signature)
                    .map_err(|_| JwtError::Signing)?;
                Ok(signature)
            }
        }
    }
}

/// Verifies the signatures of one published key.
#[derive(Debug)]
pub enum Verifier {
    Es256(UnparsedPublicKey<Vec<u8>>),
    Rs256(RsaPublicKeyComponents<Vec<u8>>),
}

impl JwsVerifier for Verifier {
    fn alg(&self) -> SigAlg {
        match self {
            Verifier::Es256(_) => SigAlg::Es256,
            Verifier::Rs256(_) => SigAlg::Rs256,
        }
    }

    /// ES256 signatures must be low-S.
    fn verify_input(&self, input: &[u8], signature: &[u8]) -> Result<(), JwtError> {
        let ok = match self {
            Verifier::Es256(key) => {
                jwt::is_canonical_es256(signature) && key.verify(input, signature).is_ok()
            }
            Verifier::Rs256(key) => key
                .verify(&RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok(),
        };
        ok.then_some(()).ok_or(JwtError::Signature)
    }
}
