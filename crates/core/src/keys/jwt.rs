//! Compact JWS ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1))
//! with ES256 ([RFC 7518 §3.4](https://www.rfc-editor.org/rfc/rfc7518#section-3.4)) for
//! JWT access tokens ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068)), and the
//! public P-256 keys as JWKs ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)) named
//! by their thumbprints ([RFC 7638](https://www.rfc-editor.org/rfc/rfc7638)). The same
//! framing serves other tokens (ID tokens, signed userinfo) with ES256 or RS256
//! ([`general_header`], [`parse_any`]); RS256 key material is in [`super::rs256`].
//!
//! **Built by hand on `ring`, not with a JWT library.** A compact JWS is three base64url
//! parts joined by dots; what decides issuance speed is the signature (SPEC §1.5).
//! `jsonwebtoken` takes the key as bytes on every call and parses it for every token,
//! which caps a handler near 1,500 tokens/s per core with its pure-Rust backend. Here
//! the key is parsed once into a `ring::signature::EcdsaKeyPair` kept in memory
//! ([`crate::keys::Signer`]), and the header, which only changes with the key,
//! is encoded once too. The verifying side is deliberately narrow: for access tokens
//! ES256 only (`none` and every other `alg` refused before any key is looked at), `typ`
//! `at+jwt`; for other tokens ES256 or RS256 with the key's own algorithm; never `crit`
//! extensions, only keys this server publishes. Interoperability is proven by an
//! integration test in which `jsonwebtoken` verifies our tokens against `/oauth2/jwks`,
//! as a resource server would.
//!
//! **Low-S only.** An ECDSA signature `(r, s)` is equally valid as `(r, n − s)`, so
//! without a rule every token would have a second spelling that verifies (a
//! different string, hence a different cache entry, log line or deny-list key).
//! [`sign`] normalises `s` to the lower half (`s ≤ ⌊n/2⌋`, as BIP 62 does for
//! secp256k1) and [`parse`] refuses any signature whose `s` is in the upper half, so
//! each token has exactly one valid encoding. `ring` does neither, hence
//! [`low_s`], a 256-bit big-endian subtraction.
//!
//! Errors ([`JwtError`]) say what is wrong in fixed words: their `Display` never
//! contains any part of the token.

use crate::model::signing_key::SigAlg;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The JWS algorithm of access tokens.
pub const ALG: &str = "ES256";
/// The JWT type of access tokens (RFC 9068 §2.1).
pub const TYP: &str = "at+jwt";
/// Longest token accepted for verification; ours are well under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Length of a P-256 coordinate and of an uncompressed point (`04 || x || y`).
const COORD: usize = 32;
const POINT: usize = 1 + 2 * COORD;
/// An ES256 signature: `r || s`, 32 bytes each (RFC 7518 §3.4).
const SIGNATURE: usize = 64;
/// The order `n` of the P-256 group (SEC 2 §2.4.2, FIPS 186-4 §D.1.2.3), big-endian.
const P256_N: [u8; COORD] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// `⌊n / 2⌋`: the largest `s` of a low-S signature, big-endian.
const P256_HALF_N: [u8; COORD] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Why a token was not signed or not accepted. The words are fixed: the token (or any
/// part of it) never appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a compact JWS of three base64url parts")]
    Malformed,
    #[error("the token is not signed with an algorithm this server accepts for it")]
    Algorithm,
    #[error("the token's type is not at+jwt")]
    Type,
    #[error("the token names a critical header extension this server does not support")]
    Critical,
    #[error("the token was signed with a key this server does not publish")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token's claims are not the claims expected")]
    Claims,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued by another issuer")]
    Issuer,
    #[error("the token could not be signed")]
    Signing,
}

impl JwtError {
    /// Whether the token was valid but has expired (introspection and Bearer errors
    /// tell this apart from a token that never was valid).
    pub fn is_expired(self) -> bool {
        self == JwtError::Expired
    }
}

/// A private key that signs JWS signing inputs ([`super::material::PrivateKey`]).
pub trait JwsSigner {
    /// The JWS signature of `input`.
    fn sign_input(&self, rng: &SystemRandom, input: &[u8]) -> Result<Vec<u8>, JwtError>;
}

/// A public key that checks JWS signatures ([`super::material::Verifier`]).
pub trait JwsVerifier {
    /// The algorithm of the key: a token naming another is refused.
    fn alg(&self) -> SigAlg;
    /// Checks the JWS `signature` of `input`.
    fn verify_input(&self, input: &[u8], signature: &[u8]) -> Result<(), JwtError>;
}

/// The protected header fields this server reads. Unknown fields are ignored, as
/// RFC 7515 §4 requires, except `crit`, which names fields that must be understood.
#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The base64url-encoded protected header of access tokens signed with key `kid`.
pub fn encoded_header(kid: &str) -> String {
    general_header(SigAlg::Es256, TYP, kid)
}

/// The base64url-encoded protected header `{"alg","typ","kid"}` of any token.
pub fn general_header(alg: SigAlg, typ: &str, kid: &str) -> String {
    let header = json!({"alg": alg.as_str(), "typ": typ, "kid": kid});
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// Signs `claims` into a compact JWS with `key`, under the pre-encoded `header` (whose
/// `alg` must be the key's).
pub fn sign(
    header: &str,
    claims: &impl Serialize,
    key: &impl JwsSigner,
    rng: &SystemRandom,
) -> Result<String, JwtError> {
    let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Signing)?;
    let payload_len = base64::encoded_len(payload.len(), false).unwrap_or(0);
    let sig_len = base64::encoded_len(SIGNATURE, false).unwrap_or(0);
    let mut token = String::with_capacity(header.len() + payload_len + sig_len + 2);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign_input(rng, token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// An ES256 signature of `input` by `key`, low-S.
pub fn sign_es256(
    key: &EcdsaKeyPair,
    rng: &dyn SecureRandom,
    input: &[u8],
) -> Result<[u8; SIGNATURE], JwtError> {
    let signature = key.sign(rng, input).map_err(|_| JwtError::Signing)?;
    let signature: [u8; SIGNATURE] = signature
        .as_ref()
        .try_into()
        .map_err(|_| JwtError::Signing)?;
    Ok(low_s(signature))
}

/// A token split and its header checked, not yet verified.
#[derive(Debug)]
pub struct Unverified<'t> {
    /// The algorithm the header names.
    pub alg: SigAlg,
    /// The key the header names.
    pub kid: String,
    /// `header.payload`: what the signature covers.
    signing_input: &'t str,
    payload: &'t str,
    signature: Vec<u8>,
}

/// Splits a compact JWS and checks its header for an access token: `alg` ES256, `typ`
/// at+jwt (or its full media type, RFC 9068 §4), no `crit`, a `kid`.
pub fn parse(token: &str) -> Result<Unverified<'_>, JwtError> {
    split(token, |header| {
        if header.alg != SigAlg::Es256.as_str() {
            return Err(JwtError::Algorithm);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t == TYP || t.strip_prefix("application/") == Some(TYP)
        });
        if !typ_ok {
            return Err(JwtError::Type);
        }
        Ok(SigAlg::Es256)
    })
}

/// Splits a compact JWS and checks its header for any token this server signs (ID
/// tokens, signed userinfo): `alg` ES256 or RS256, any `typ` or none, no `crit`, a
/// `kid`.
pub fn parse_any(token: &str) -> Result<Unverified<'_>, JwtError> {
    split(token, |header| {
        SigAlg::parse(&header.alg).ok_or(JwtError::Algorithm)
    })
}

/// Splits a compact JWS; `check` vets its header and says its algorithm; then `crit`
/// is refused and a `kid` required.
fn split(
    token: &str,
    check: impl FnOnce(&Header) -> Result<SigAlg, JwtError>,
) -> Result<Unverified<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| JwtError::Malformed)?;
    let header: Header = serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
    let alg = check(&header)?;
    if header.crit.is_some() {
        return Err(JwtError::Critical);
    }
    let kid = header.kid.ok_or(JwtError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    if alg == SigAlg::Es256 && !is_canonical_es256(&signature) {
        return Err(JwtError::Signature);
    }
    Ok(Unverified {
        alg,
        kid,
        signing_input: &token[..header_b64.len() + 1 + payload.len()],
        payload,
        signature,
    })
}

impl Unverified<'_> {
    /// Checks the signature with `key`, which must be of the header's algorithm, and,
    /// only then, reads the claims.
    pub fn verify<T: DeserializeOwned>(self, key: &impl JwsVerifier) -> Result<T, JwtError> {
        if key.alg() != self.alg {
            return Err(JwtError::Algorithm);
        }
        key.verify_input(self.signing_input.as_bytes(), &self.signature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| JwtError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| JwtError::Claims)
    }
}

/// Whether `signature` has the shape of an ES256 signature this server accepts: 64
/// bytes, low-S.
pub fn is_canonical_es256(signature: &[u8]) -> bool {
    signature.len() == SIGNATURE && !is_high_s(&signature[COORD..])
}

/// Whether the big-endian `s` is above `⌊n/2⌋` (the malleable twin of a low-S one).
fn is_high_s(s: &[u8]) -> bool {
    s > &P256_HALF_N[..]
}

/// The same signature `r || s` with `s` replaced by `n − s` when `s > ⌊n/2⌋`.
/// Both verify (ECDSA checks only the x-coordinate of a point and its negation), so
/// this changes nothing for any verifier and leaves exactly one spelling.
pub fn low_s(mut signature: [u8; SIGNATURE]) -> [u8; SIGNATURE] {
    let s = &mut signature[COORD..];
    if is_high_s(s) {
        // n − s, byte by byte from the least significant end with a borrow. s < n for
        // every signature ring produces, so the final borrow is zero.
        let mut borrow = 0u16;
        for (out, n) in s.iter_mut().zip(P256_N).rev() {
            let diff = u16::from(n)
                .wrapping_sub(u16::from(*out))
                .wrapping_sub(borrow);
            borrow = (diff >> 8) & 1;
            *out = (diff & 0xff) as u8;
        }
    }
    signature
}

/// Why a stored public key is not a P-256 JWK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a P-256 public JWK")]
pub struct BadJwk;

/// The public JWK of an uncompressed P-256 point, with its `kid`.
pub fn public_jwk(kid: &str, point: &[u8]) -> Result<Value, BadJwk> {
    let (x, y) = coordinates(point)?;
    Ok(json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
        "kid": kid,
        "use": "sig",
        "alg": ALG,
    }))
}

/// The RFC 7638 thumbprint of a P-256 point: base64url SHA-256 of the required members
/// in lexicographic order. Used as the `kid`, so a kid names exactly one key.
pub fn thumbprint(point: &[u8]) -> Result<String, BadJwk> {
    let (x, y) = coordinates(point)?;
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    );
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// The uncompressed point of a public P-256 JWK.
pub fn jwk_point(jwk: &Value) -> Result<Vec<u8>, BadJwk> {
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err(BadJwk);
    }
    let coord = |name: &str| {
        jwk[name]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .filter(|c| c.len() == COORD)
            .ok_or(BadJwk)
    };
    let mut point = Vec::with_capacity(POINT);
    point.push(4);
    point.extend(coord("x")?);
    point.extend(coord("y")?);
    Ok(point)
}

/// A verifier for ES256 signatures by the key at `point`.
pub fn verifier(point: Vec<u8>) -> UnparsedPublicKey<Vec<u8>> {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
}

fn coordinates(point: &[u8]) -> Result<(&[u8], &[u8]), BadJwk> {
    match point {
        [4, rest @ ..] if rest.len() == 2 * COORD => Ok(rest.split_at(COORD)),
        _ => Err(BadJwk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::material::{PrivateKey, Verifier};
    use crate::model::claims::AccessClaims;
    use ring::rand::SystemRandom;
    use ring::signature::{KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    fn es256(point: &[u8]) -> Verifier {
        Verifier::Es256(verifier(point.to_vec()))
    }

    fn pair() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap_or_else(|_| panic!("generate"));
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
            .unwrap_or_else(|_| panic!("parse"))
    }

    #[test]
    fn a_jwk_gives_back_its_point_and_the_thumbprint_is_rfc_7638s() {
        let key = pair();
        let point = key.public_key().as_ref();
        let jwk = public_jwk("k", point).unwrap_or_default();
        assert_eq!(jwk_point(&jwk).ok().as_deref(), Some(point));
        assert_eq!(jwk["kty"], "EC");
        assert!(jwk.get("d").is_none());
        let kid = thumbprint(point).unwrap_or_default();
        assert_eq!(kid.len(), 43);
        assert!(thumbprint(&point[1..]).is_err());
        // RFC 7638 §3.1's example is RSA; the member order rule is what matters:
        // crv, kty, x, y for EC keys.
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..]);
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(
            format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#).as_bytes(),
        ));
        assert_eq!(kid, expected);
    }

    #[test]
    fn headers_other_than_es256_at_jwt_are_refused_before_any_key_is_used() {
        let enc = |h: Value| {
            format!(
                "{}.e30.{}",
                URL_SAFE_NO_PAD.encode(h.to_string()),
                "A".repeat(86)
            )
        };
        let cases = [
            (
                json!({"alg": "none", "typ": "at+jwt", "kid": "k"}),
                JwtError::Algorithm,
            ),
            (
                json!({"alg": "HS256", "typ": "at+jwt", "kid": "k"}),
                JwtError::Algorithm,
            ),
            (
                json!({"alg": "es256", "typ": "at+jwt", "kid": "k"}),
                JwtError::Algorithm,
            ),
            (
                json!({"alg": "ES256", "typ": "JWT", "kid": "k"}),
                JwtError::Type,
            ),
            (json!({"alg": "ES256", "kid": "k"}), JwtError::Type),
            (
                json!({"alg": "ES256", "typ": "at+jwt", "kid": "k", "crit": ["exp"]}),
                JwtError::Critical,
            ),
            (
                json!({"alg": "ES256", "typ": "at+jwt"}),
                JwtError::UnknownKey,
            ),
        ];
        for (header, want) in cases {
            assert_eq!(parse(&enc(header.clone())).err(), Some(want), "{header}");
        }
        let full = json!({"alg": "ES256", "typ": "application/AT+JWT", "kid": "k"});
        assert!(parse(&enc(full)).is_ok());
    }

    #[test]
    fn anything_but_three_base64url_parts_is_malformed() {
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.e30.AA",
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert_eq!(parse(bad).err(), Some(JwtError::Malformed), "{bad}");
        }
    }

    fn hex32(h: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap_or_else(|_| panic!("hex"));
        }
        out
    }

    fn with_s(s: [u8; 32]) -> [u8; SIGNATURE] {
        let mut sig = [0x11u8; SIGNATURE];
        sig[COORD..].copy_from_slice(&s);
        sig
    }

    #[test]
    fn low_s_subtracts_from_the_group_order_exactly_when_s_is_in_the_upper_half() {
        // (s, expected s after normalisation), computed independently (Python ints).
        let half = "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8";
        let cases = [
            // ⌊n/2⌋ is the largest low s: unchanged.
            (half, half),
            // ⌊n/2⌋ + 1 is the smallest high s: n − s = ⌊n/2⌋.
            (
                "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a9",
                half,
            ),
            // n − 1 → 1 (a borrow through every byte but the last).
            (
                "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550",
                "0000000000000000000000000000000000000000000000000000000000000001",
            ),
            (
                "c0ffee00deadbeef0123456789abcdeffedcba9876543210aabbccddeeff0011",
                "3f0011fe21524111fedcba987654320fbe0a401530c36c7448fdfde50d642540",
            ),
            // Small values stay.
            (
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000001",
            ),
        ];
        for (s, want) in cases {
            let got = low_s(with_s(hex32(s)));
            assert_eq!(&got[COORD..], &hex32(want)[..], "{s}");
            assert_eq!(&got[..COORD], &[0x11u8; COORD][..], "r is never touched");
            assert!(!is_high_s(&got[COORD..]));
        }
        assert!(is_high_s(&hex32(cases[1].0)));
        assert!(!is_high_s(&hex32(half)));
    }

    #[test]
    fn signed_tokens_are_low_s_and_their_high_s_twin_verifies_in_ring_but_is_refused() {
        let key = pair();
        let rng = SystemRandom::new();
        let point = key.public_key().as_ref().to_vec();
        let key = PrivateKey::Es256(key);
        let claims: AccessClaims = serde_json::from_value(json!({
            "iss": "https://issuer.test", "sub": "1", "aud": "x", "exp": 2_000_000_000u64,
            "iat": 1_000_000_000u64, "jti": "j", "client_id": "c", "scope": "s",
            "tenant": 1, "username": "u"
        }))
        .unwrap_or_else(|e| panic!("claims: {e}"));
        // 64 signatures: with a random nonce half would be high-S without normalisation.
        for _ in 0..64 {
            let token = sign(&encoded_header("k"), &claims, &key, &rng)
                .unwrap_or_else(|e| panic!("sign: {e}"));
            let unverified = parse(&token).unwrap_or_else(|e| panic!("parse: {e}"));
            assert!(unverified.verify::<Value>(&es256(&point)).is_ok());
            let (input, sig_b64) = token.rsplit_once('.').unwrap_or_else(|| panic!("dot"));
            let sig = URL_SAFE_NO_PAD.decode(sig_b64).unwrap_or_default();
            assert!(!is_high_s(&sig[COORD..]), "signed high-S");
            // The twin (r, n − s).
            let mut twin = [0u8; SIGNATURE];
            twin.copy_from_slice(&sig);
            let mut s = [0u8; COORD];
            s.copy_from_slice(&sig[COORD..]);
            let mut borrow = 0i16;
            for i in (0..COORD).rev() {
                let d = i16::from(P256_N[i]) - i16::from(s[i]) - borrow;
                borrow = i16::from(d < 0);
                twin[COORD + i] = (d + 256 * borrow) as u8;
            }
            assert!(is_high_s(&twin[COORD..]));
            // ring accepts the twin: the refusal is ours.
            assert!(verifier(point.clone())
                .verify(input.as_bytes(), &twin)
                .is_ok());
            let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(twin));
            assert_eq!(parse(&forged).err(), Some(JwtError::Signature));
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::sync::OnceLock;

        /// One key and one real token for every case (signing per case is slow).
        fn fixture() -> &'static (Vec<u8>, String) {
            static F: OnceLock<(Vec<u8>, String)> = OnceLock::new();
            F.get_or_init(|| {
                let key = PrivateKey::Es256(pair());
                let claims: AccessClaims = serde_json::from_value(json!({
                    "iss": "https://issuer.test", "sub": "1", "aud": "x",
                    "exp": 2_000_000_000u64, "iat": 1_000_000_000u64, "jti": "j",
                    "client_id": "c", "scope": "s", "tenant": 1, "username": "u"
                }))
                .unwrap_or_else(|e| panic!("claims: {e}"));
                let token = sign(&encoded_header("k"), &claims, &key, &SystemRandom::new())
                    .unwrap_or_else(|e| panic!("sign: {e}"));
                let PrivateKey::Es256(pair) = &key else {
                    unreachable!()
                };
                (pair.public_key().as_ref().to_vec(), token)
            })
        }

        fn accepted(token: &str) -> bool {
            let (point, _) = fixture();
            parse(token).is_ok_and(|u| u.verify::<Value>(&es256(point)).is_ok())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_strings_never_panic_and_never_verify(s in any::<String>()) {
                prop_assert!(!accepted(&s));
            }

            #[test]
            fn jws_shaped_strings_never_verify(s in "[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,100}") {
                prop_assert!(!accepted(&s));
            }

            /// Replacing, inserting or deleting characters of a real token: accepted only
            /// when the result is the token itself.
            #[test]
            fn a_mutated_real_token_verifies_only_when_unchanged(
                edits in proptest::collection::vec((any::<usize>(), 0u8..3, proptest::char::range('+', 'z')), 1..4)
            ) {
                let (_, token) = fixture();
                prop_assert!(accepted(token));
                let mut chars: Vec<char> = token.chars().collect();
                for (at, kind, c) in edits {
                    let i = at % (chars.len() + 1);
                    match kind {
                        0 if i < chars.len() => chars[i] = c,
                        1 => chars.insert(i, c),
                        _ if i < chars.len() => {
                            chars.remove(i);
                        }
                        _ => chars.push(c),
                    }
                }
                let mutated: String = chars.into_iter().collect();
                prop_assert_eq!(accepted(&mutated), &mutated == token);
            }
        }
    }

    #[test]
    fn error_messages_never_carry_the_token() {
        let token = format!("{}.secret-payload.sig", encoded_header("kid-x"));
        let e = parse(&token).err().unwrap_or(JwtError::Malformed);
        let text = e.to_string();
        assert!(
            !text.contains("secret") && !text.contains("kid-x"),
            "{text}"
        );
    }
}
