//! RS256 key material ([RFC 7518 §3.3](https://www.rfc-editor.org/rfc/rfc7518#section-3.3)):
//! 2048-bit RSA keys, their public JWK ([RFC 7518 §6.3.1](https://www.rfc-editor.org/rfc/rfc7518#section-6.3.1))
//! and RFC 7638 thumbprint.
//!
//! **Generated with the RustCrypto `rsa` crate, used with `ring`.** `ring` signs and
//! verifies RSA but cannot generate RSA keys; `rsa` generates the key and writes it as
//! PKCS#8, which [`ring::signature::RsaKeyPair::from_pkcs8`] then parses (and checks)
//! once per load. Signing and verifying never touch `rsa`, so RUSTSEC-2023-0071 (the
//! Marvin timing side channel of its private-key operations) does not apply.

use super::jwt::BadJwk;
use ::rsa::pkcs8::EncodePrivateKey as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The modulus size of new keys: NIST SP 800-57's floor until 2030, what every OpenID
/// provider publishes, and what `ring` accepts at least.
pub const BITS: usize = 2048;

/// A new RSA private key as PKCS#8 DER (public exponent 65537).
pub fn generate_pkcs8() -> Result<Vec<u8>, ::rsa::Error> {
    let key = ::rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, BITS)?;
    let der = key.to_pkcs8_der().map_err(::rsa::Error::from)?;
    Ok(der.as_bytes().to_vec())
}

/// The public JWK of the key with modulus `n` and exponent `e` (big-endian, no
/// leading zeros), with its `kid`.
pub fn public_jwk(kid: &str, n: &[u8], e: &[u8]) -> Value {
    json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(n),
        "e": URL_SAFE_NO_PAD.encode(e),
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
    })
}

/// The RFC 7638 thumbprint of an RSA public key: base64url SHA-256 of
/// `{"e","kty","n"}` in that (lexicographic) order.
pub fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The modulus and exponent of a public RSA JWK (big-endian, no leading zeros, as
/// RFC 7518 §6.3.1 spells them).
pub fn jwk_components(jwk: &Value) -> Result<(Vec<u8>, Vec<u8>), BadJwk> {
    if jwk["kty"] != "RSA" {
        return Err(BadJwk);
    }
    let member = |name: &str| {
        jwk[name]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .filter(|v| v.first().is_some_and(|b| *b != 0))
            .ok_or(BadJwk)
    };
    Ok((member("n")?, member("e")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's example key and its thumbprint.
    #[test]
    fn the_thumbprint_is_rfc_7638s_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
        let (n, e) = jwk_components(&jwk).unwrap_or_default();
        assert_eq!(
            thumbprint(&n, &e),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let republished = public_jwk("k", &n, &e);
        assert_eq!(republished["n"], jwk["n"]);
        assert_eq!(republished["e"], "AQAB");
        assert!(republished.get("d").is_none());
    }

    #[test]
    fn jwks_of_another_type_or_with_leading_zeros_are_refused() {
        for bad in [
            json!({"kty": "EC", "n": "AQAB", "e": "AQAB"}),
            json!({"kty": "RSA", "n": "AAEC", "e": "AQAB"}),
            json!({"kty": "RSA", "e": "AQAB"}),
            json!({"kty": "RSA", "n": "AQAB", "e": ""}),
            json!({"kty": "RSA", "n": "!!", "e": "AQAB"}),
        ] {
            assert_eq!(jwk_components(&bad), Err(BadJwk), "{bad}");
        }
    }
}
