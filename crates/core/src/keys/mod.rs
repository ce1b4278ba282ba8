//! The signing keys of tokens (SPEC §1.5, §5.1): key pairs kept in the database, their
//! private halves sealed under the master key, so every node signs and verifies with
//! the same keys; published as a JWK Set
//! ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)) at `/oauth2/jwks`.
//! Two algorithms ([`SigAlg`]), each with its own keys: ES256 signs access tokens (and
//! ID tokens of clients asking for it); RS256 signs ID tokens by default, as OpenID
//! Connect Core §15.1 requires every provider to support.
//!
//! A key is `next` (published, not yet signing), `active` (signing; exactly one per
//! algorithm) or `retiring` (published until `retire_at`, when the last token it
//! signed has expired). The first start creates an active key and a next key of every
//! algorithm, and a database from before RS256 gains its RS256 pair at the next start;
//! rotation (`portcullis keys rotate`) promotes the next key of every algorithm, which
//! resource servers have had in their key sets since it was created, retires the
//! active ones and pre-publishes new next keys, all in one atomic step. Nodes reload
//! the keys every [`REFRESH_EVERY_SECS`].
//!
//! [`Signer`] keeps the parsed key pairs in memory and swaps whole key sets behind a
//! lock held only to clone an `Arc`, so [`Signer::sign`] and [`Signer::verify`] (access
//! tokens) and [`Signer::sign_jwt`] and [`Signer::verify_jwt`] (any other token) are
//! synchronous and cost one signature operation each.

use crate::clock::Clock;
use crate::crypto::{Keyring, SealError};
use crate::limits::{self, ACCESS_TOKEN_LIFETIME};
use crate::model::claims::AccessClaims;
use crate::model::time::UnixTime;
pub mod jwt;
mod material;
pub mod public_jws;
pub mod rs256;

use crate::model::limits::LimitLevel;
pub use crate::model::signing_key::SigAlg;
use crate::model::signing_key::{sealing_purpose, KeyRotation, KeyState, StoredKey};
use crate::store::{KeyStore, Store, StoreError, StoreResult};
use jwt::JwtError;
use material::{PrivateKey, PublicParts, Verifier};
use ring::rand::SystemRandom;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// How often every node reloads the keys from the store.
pub const REFRESH_EVERY_SECS: u64 = 30;
/// How long resource servers may cache the JWK Set (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: u64 = 300;
/// How long a next key must have been published before rotation makes it sign: long
/// enough for every node to reload and every resource server's cached key set to
/// expire. `portcullis keys rotate` refuses sooner unless forced.
pub const MIN_PUBLISHED_SECS: i64 = (JWKS_MAX_AGE_SECS + REFRESH_EVERY_SECS) as i64;
/// Added to the longest token lifetime when retiring a key: nodes that have not yet
/// reloaded keep signing with it for up to one refresh interval, plus clock skew.
pub const RETIRE_GRACE_SECS: i64 = 2 * REFRESH_EVERY_SECS as i64;

/// Why the keys could not be loaded, created or rotated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid} cannot be opened: {source}. Is PORTCULLIS_MASTER_KEY (or the key file) the one this database was created with?")]
    Seal { kid: String, source: SealError },
    #[error("signing key {0} is damaged (its private key, public key and kid do not agree)")]
    Damaged(String),
    #[error("generating a signing key failed")]
    Generate,
    #[error("the database holds no active {0} signing key")]
    NoActiveKey(SigAlg),
    #[error("the database holds no next {0} signing key to promote; start a node to create one")]
    NoNextKey(SigAlg),
    #[error(
        "another rotation changed the keys at the same time; list them with `portcullis keys list`"
    )]
    Concurrent,
    #[error("the next key was published {published_secs} s ago; rotating before {MIN_PUBLISHED_SECS} s could make resource servers that cached the key set refuse new tokens. Wait {wait_secs} s, or force the rotation")]
    TooEarly { published_secs: i64, wait_secs: i64 },
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// What happened to the keys of each algorithm, in [`SigAlg::ALL`] order.
    pub keys: Vec<RotatedAlg>,
    /// When the retired keys leave the key set.
    pub retire_at: UnixTime,
    /// Keys deleted because their retirement had ended.
    pub deleted: u64,
}

/// What a rotation did to the keys of one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedAlg {
    pub alg: SigAlg,
    /// The key that was active and is now retiring.
    pub retired: Option<String>,
    /// The key now signing (the previous next key).
    pub active: String,
    /// The newly published next key.
    pub next: String,
}

impl Rotated {
    /// What happened to the keys of `alg`.
    pub fn of(&self, alg: SigAlg) -> Option<&RotatedAlg> {
        self.keys.iter().find(|r| r.alg == alg)
    }
}

/// A key that signs, parsed once.
struct ActiveKey {
    kid: String,
    /// The base64url protected header of access tokens under this key, which only
    /// changes with the key (used for the ES256 key only).
    header: String,
    key: PrivateKey,
    /// When it began signing (`activated_at`; `created_at` for a key stored without
    /// one): the start of [`Signer::active_key_ages`].
    since: UnixTime,
}

/// The signing key of each algorithm.
struct Actives {
    es256: Arc<ActiveKey>,
    rs256: Arc<ActiveKey>,
}

impl Actives {
    fn get(&self, alg: SigAlg) -> &Arc<ActiveKey> {
        match alg {
            SigAlg::Es256 => &self.es256,
            SigAlg::Rs256 => &self.rs256,
        }
    }
}

/// A published key.
struct PublicKey {
    alg: SigAlg,
    state: KeyState,
    created_at: UnixTime,
    jwk: Value,
    verifier: Verifier,
}

/// One consistent generation of keys.
struct KeySet {
    active: Actives,
    published: HashMap<String, PublicKey>,
    jwks: Value,
    /// Access tokens whose signature these keys already verified, by SHA-256 of the
    /// whole compact token, with their claims. A resource server checks the same token
    /// many times, and an ES256 verify costs twice a signature; a digest is ~1 µs.
    /// Sound because equal bytes verify equally; bounded by [`VERIFIED_MAX`]; dropped
    /// with the key set whenever the keys are reloaded. Expiry and issuer are checked
    /// on every call, hit or miss.
    verified: std::sync::Mutex<HashMap<[u8; 32], AccessClaims>>,
}

/// Signs and verifies tokens with the keys of the store. Cheap to share
/// (`Arc<Signer>` in the [`crate::context::Context`]).
pub struct Signer {
    issuer: Arc<str>,
    rng: SystemRandom,
    set: RwLock<Arc<KeySet>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.current();
        let mut kids: Vec<(&str, SigAlg, KeyState)> = set
            .published
            .iter()
            .map(|(k, p)| (k.as_str(), p.alg, p.state))
            .collect();
        kids.sort_by_key(|(k, a, s)| (*s, *a, *k));
        let active: Vec<&str> = SigAlg::ALL
            .iter()
            .map(|a| set.active.get(*a).kid.as_str())
            .collect();
        f.debug_struct("Signer")
            .field("issuer", &self.issuer)
            .field("active", &active)
            .field("published", &kids)
            .finish_non_exhaustive()
    }
}

/// A new key pair of `alg`: its stored form (sealed) in `state`.
fn generate(
    keyring: &Keyring,
    rng: &SystemRandom,
    alg: SigAlg,
    state: KeyState,
    now: UnixTime,
) -> Result<StoredKey, KeyError> {
    let (key, pkcs8) = PrivateKey::generate(alg, rng).map_err(|()| KeyError::Generate)?;
    stored(keyring, &key, &pkcs8, state, now)
}

/// The stored form of `key` (whose PKCS#8 form is `pkcs8`): sealed for its kid.
fn stored(
    keyring: &Keyring,
    key: &PrivateKey,
    pkcs8: &[u8],
    state: KeyState,
    now: UnixTime,
) -> Result<StoredKey, KeyError> {
    let public = key.public();
    let kid = public.thumbprint().map_err(|_| KeyError::Generate)?;
    let jwk = public.jwk(&kid).map_err(|_| KeyError::Generate)?;
    let private_sealed = keyring
        .seal(pkcs8, &sealing_purpose(&kid))
        .map_err(|source| KeyError::Seal {
            kid: kid.clone(),
            source,
        })?;
    Ok(StoredKey {
        kid,
        alg: key.alg().as_str().to_owned(),
        private_sealed,
        public_jwk: jwk.to_string(),
        state,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retire_at: None,
    })
}

/// Opens and parses a stored private key of `alg`, checking it against its public JWK
/// and kid.
fn open_active(
    key: &StoredKey,
    alg: SigAlg,
    keyring: &Keyring,
    rng: &SystemRandom,
) -> Result<ActiveKey, KeyError> {
    let damaged = || KeyError::Damaged(key.kid.clone());
    let pkcs8 = keyring
        .open(&key.private_sealed, &sealing_purpose(&key.kid))
        .map_err(|source| KeyError::Seal {
            kid: key.kid.clone(),
            source,
        })?;
    let private = PrivateKey::from_pkcs8(alg, &pkcs8, rng).map_err(|()| damaged())?;
    let public = private.public();
    let published = serde_json::from_str::<Value>(&key.public_jwk)
        .ok()
        .and_then(|jwk| PublicParts::from_jwk(alg, &jwk).ok());
    if published.as_ref() != Some(&public) || public.thumbprint().ok().as_ref() != Some(&key.kid) {
        return Err(damaged());
    }
    Ok(ActiveKey {
        kid: key.kid.clone(),
        header: jwt::general_header(alg, jwt::TYP, &key.kid),
        key: private,
        since: key.activated_at.unwrap_or(key.created_at),
    })
}

/// The RS256 key of every [`Signer::ephemeral`] in this process: RSA generation costs
/// far more than the tests that use ephemeral signers.
#[cfg(any(test, feature = "test-util"))]
fn ephemeral_rsa_pkcs8() -> Result<&'static [u8], KeyError> {
    static PKCS8: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if let Some(der) = PKCS8.get() {
        return Ok(der);
    }
    let der = rs256::generate_pkcs8().map_err(|_| KeyError::Generate)?;
    Ok(PKCS8.get_or_init(|| der))
}

impl Signer {
    /// Loads the keys, creating an active key and a pre-published next key of every
    /// algorithm the store has none of (first start; first start after an upgrade
    /// that added an algorithm). Nodes starting together on an empty database end up
    /// with the same single active key per algorithm: the store keeps only the first.
    pub async fn load(
        store: &dyn KeyStore,
        keyring: &Keyring,
        clock: &dyn Clock,
        issuer: impl Into<Arc<str>>,
    ) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let now = clock.now();
        let mut keys = store.signing_keys().await?;
        let mut created = false;
        for alg in SigAlg::ALL {
            for state in [KeyState::Active, KeyState::Next] {
                if !keys
                    .iter()
                    .any(|k| k.state == state && k.alg == alg.as_str())
                {
                    let key = generate(keyring, &rng, alg, state, now)?;
                    if store.insert_signing_key(&key).await? {
                        tracing::info!(kid = %key.kid, alg = %alg, state = state.as_str(), "created a signing key");
                    }
                    created = true;
                }
            }
        }
        if created {
            keys = store.signing_keys().await?;
        }
        let set = Self::build(&keys, keyring, &rng, now, None)?;
        Ok(Self {
            issuer: issuer.into(),
            rng,
            set: RwLock::new(Arc::new(set)),
        })
    }

    /// A signer with fresh keys that are stored nowhere, for tests of code that only
    /// needs to sign and verify. Its ES256 key is its own; its RS256 key is shared by
    /// every ephemeral signer of the process (RSA generation is slow).
    #[cfg(any(test, feature = "test-util"))]
    pub fn ephemeral(issuer: impl Into<Arc<str>>) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let keyring = Keyring::new(crate::crypto::MasterKey::generate(), vec![]);
        let es256 = generate(&keyring, &rng, SigAlg::Es256, KeyState::Active, 0)?;
        let der = ephemeral_rsa_pkcs8()?;
        let rsa =
            PrivateKey::from_pkcs8(SigAlg::Rs256, der, &rng).map_err(|()| KeyError::Generate)?;
        let rs256 = stored(&keyring, &rsa, der, KeyState::Active, 0)?;
        let set = Self::build(&[es256, rs256], &keyring, &rng, 0, None)?;
        Ok(Self {
            issuer: issuer.into(),
            rng,
            set: RwLock::new(Arc::new(set)),
        })
    }

    /// Builds a key set from stored keys, reusing `current`'s parsed pairs when the
    /// active keys have not changed.
    fn build(
        keys: &[StoredKey],
        keyring: &Keyring,
        rng: &SystemRandom,
        now: UnixTime,
        current: Option<&KeySet>,
    ) -> Result<KeySet, KeyError> {
        let active_of = |alg: SigAlg| -> Result<Arc<ActiveKey>, KeyError> {
            let stored = keys
                .iter()
                .find(|k| k.state == KeyState::Active && k.alg == alg.as_str())
                .ok_or(KeyError::NoActiveKey(alg))?;
            Ok(match current.map(|c| c.active.get(alg)) {
                Some(same) if same.kid == stored.kid => same.clone(),
                _ => Arc::new(open_active(stored, alg, keyring, rng)?),
            })
        };
        let active = Actives {
            es256: active_of(SigAlg::Es256)?,
            rs256: active_of(SigAlg::Rs256)?,
        };
        let mut published = HashMap::new();
        for k in keys {
            if k.state == KeyState::Retiring && k.retire_at.is_none_or(|t| t <= now) {
                continue;
            }
            let Some(alg) = k.sig_alg() else {
                tracing::warn!(kid = %k.kid, alg = %k.alg, "skipping a signing key of an unknown algorithm");
                continue;
            };
            let damaged = || KeyError::Damaged(k.kid.clone());
            let jwk: Value = serde_json::from_str(&k.public_jwk).map_err(|_| damaged())?;
            let public = PublicParts::from_jwk(alg, &jwk).map_err(|_| damaged())?;
            if jwk["kid"] != k.kid.as_str() {
                return Err(damaged());
            }
            published.insert(
                k.kid.clone(),
                PublicKey {
                    alg,
                    state: k.state,
                    created_at: k.created_at,
                    jwk,
                    verifier: public.verifier(),
                },
            );
        }
        let mut listed: Vec<&PublicKey> = published.values().collect();
        // The signing keys first, then the next ones, then the retiring ones.
        let rank = |p: &PublicKey| {
            let state = match p.state {
                KeyState::Active => 0,
                KeyState::Next => 1,
                KeyState::Retiring => 2,
            };
            (
                state,
                p.alg,
                p.created_at,
                p.jwk["kid"].as_str().map(str::to_owned),
            )
        };
        listed.sort_by_key(|p| rank(p));
        let jwks = json!({"keys": listed.iter().map(|p| p.jwk.clone()).collect::<Vec<_>>()});
        Ok(KeySet {
            active,
            published,
            jwks,
            verified: std::sync::Mutex::default(),
        })
    }

    fn current(&self) -> Arc<KeySet> {
        self.set
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reloads the keys from the store (every node, every [`REFRESH_EVERY_SECS`]):
    /// picks up a rotation made elsewhere and drops keys whose retirement has ended.
    /// On failure the keys in memory stay in use.
    pub async fn refresh(
        &self,
        store: &dyn KeyStore,
        keyring: &Keyring,
        now: UnixTime,
    ) -> Result<(), KeyError> {
        let keys = store.signing_keys().await?;
        let current = self.current();
        let set = Self::build(&keys, keyring, &self.rng, now, Some(&current))?;
        for alg in SigAlg::ALL {
            let kid = &set.active.get(alg).kid;
            if *kid != current.active.get(alg).kid {
                tracing::info!(kid = %kid, alg = %alg, "signing with a new key");
            }
        }
        *self.set.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        Ok(())
    }

    /// Rotates the keys of every algorithm in one atomic store step: each next key
    /// becomes active, each active key retires at `now + max_token_lifetime` (+
    /// [`RETIRE_GRACE_SECS`]), a new next key of each algorithm is published, and keys
    /// whose retirement has ended are deleted. Then reloads.
    pub async fn rotate(
        &self,
        store: &dyn KeyStore,
        keyring: &Keyring,
        now: UnixTime,
        max_token_lifetime: i64,
    ) -> Result<Rotated, KeyError> {
        let keys = store.signing_keys().await?;
        let retire_at = now + max_token_lifetime.max(0) + RETIRE_GRACE_SECS;
        let mut rotations = Vec::with_capacity(SigAlg::ALL.len());
        let mut retired = Vec::with_capacity(SigAlg::ALL.len());
        for alg in SigAlg::ALL {
            let of_alg = |state: KeyState| {
                keys.iter()
                    .find(|k| k.state == state && k.alg == alg.as_str())
            };
            let next = of_alg(KeyState::Next).ok_or(KeyError::NoNextKey(alg))?;
            retired.push(of_alg(KeyState::Active).map(|k| k.kid.clone()));
            rotations.push(KeyRotation {
                alg,
                promote: next.kid.clone(),
                next: generate(keyring, &self.rng, alg, KeyState::Next, now)?,
                now,
                retire_at,
            });
        }
        if !store.rotate_signing_keys(&rotations).await? {
            return Err(KeyError::Concurrent);
        }
        let deleted = store.delete_retired_keys(now).await?;
        let keys: Vec<RotatedAlg> = rotations
            .into_iter()
            .zip(retired)
            .map(|(r, retired)| RotatedAlg {
                alg: r.alg,
                retired,
                active: r.promote,
                next: r.next.kid,
            })
            .collect();
        for r in &keys {
            tracing::info!(
                alg = %r.alg,
                active = %r.active,
                next = %r.next,
                retired = r.retired.as_deref().unwrap_or("-"),
                retire_at,
                "rotated the signing keys"
            );
        }
        tracing::info!(
            deleted,
            "deleted the signing keys whose retirement had ended"
        );
        self.refresh(store, keyring, now).await?;
        Ok(Rotated {
            keys,
            retire_at,
            deleted,
        })
    }

    /// Signs `claims` as an access token (ES256, `typ` at+jwt) with the active ES256
    /// key.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, JwtError> {
        let set = self.current();
        let key = &set.active.es256;
        jwt::sign(&key.header, claims, &key.key, &self.rng)
    }

    /// Signs `claims` as a compact JWS with the active key of `alg`, under the header
    /// `{"alg", "typ": typ, "kid"}`: ID tokens (`typ` `JWT`), signed userinfo and the
    /// like. ES256 signatures are low-S, as for access tokens.
    pub fn sign_jwt(
        &self,
        alg: SigAlg,
        typ: &str,
        claims: &impl Serialize,
    ) -> Result<String, JwtError> {
        let set = self.current();
        let key = set.active.get(alg);
        jwt::sign(
            &jwt::general_header(alg, typ, &key.kid),
            claims,
            &key.key,
            &self.rng,
        )
    }

    /// Verifies a token this server signed with [`Signer::sign_jwt`] (or any of its
    /// tokens): header `alg` ES256 or RS256 and the `kid` of a published key of that
    /// algorithm, any `typ` or none, no `crit`; a valid signature; a JSON object as
    /// payload, returned. Checks neither `exp` nor `iss` nor anything else in the
    /// claims: the caller does (an `id_token_hint` may have expired).
    pub fn verify_jwt(&self, token: &str) -> Result<Value, JwtError> {
        let unverified = jwt::parse_any(token)?;
        let set = self.current();
        let key = set
            .published
            .get(&unverified.kid)
            .ok_or(JwtError::UnknownKey)?;
        let claims: Value = unverified.verify(&key.verifier)?;
        if !claims.is_object() {
            return Err(JwtError::Claims);
        }
        Ok(claims)
    }

    /// Verifies an access token: a compact JWS with header `alg` ES256, `typ` at+jwt
    /// and the `kid` of a published ES256 key; a valid signature; then `exp` after
    /// `now` and `iss` this server's issuer. Audience, scope and revocation are the
    /// caller's.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<AccessClaims, JwtError> {
        use sha2::Digest as _;
        let set = self.current();
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let known = set
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest)
            .cloned();
        let counter = if known.is_some() {
            "portcullis_cache_hits_total"
        } else {
            "portcullis_cache_misses_total"
        };
        metrics::counter!(counter, "cache" => "verified_tokens").increment(1);
        let claims = match known {
            Some(claims) => claims,
            None => {
                let unverified = jwt::parse(token)?;
                let key = set
                    .published
                    .get(&unverified.kid)
                    .ok_or(JwtError::UnknownKey)?;
                let claims: AccessClaims = unverified.verify(&key.verifier)?;
                let mut verified = set.verified.lock().unwrap_or_else(PoisonError::into_inner);
                if verified.len() >= VERIFIED_MAX {
                    verified.clear();
                }
                verified.insert(digest, claims.clone());
                claims
            }
        };
        if claims.exp <= now {
            return Err(JwtError::Expired);
        }
        if claims.iss != *self.issuer {
            return Err(JwtError::Issuer);
        }
        Ok(claims)
    }

    /// The JWK Set of the published keys of every algorithm (active, next, retiring),
    /// public parts only.
    pub fn jwks(&self) -> Value {
        self.current().jwks.clone()
    }

    /// The issuer tokens must name (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Seconds each algorithm's active key has been signing at `now` (the injected
    /// clock's): the `portcullis_signing_key_age_seconds` gauge, which grows until
    /// the next rotation.
    pub fn active_key_ages(&self, now: UnixTime) -> [(SigAlg, i64); 2] {
        let set = self.current();
        SigAlg::ALL.map(|alg| (alg, now.saturating_sub(set.active.get(alg).since).max(0)))
    }

    /// The kid of the key of `alg` that signs now.
    pub fn active_kid(&self, alg: SigAlg) -> String {
        self.current().active.get(alg).kid.clone()
    }
}

/// Verified tokens a key set remembers at most ([`Signer::verify`]); past this it
/// starts over.
pub const VERIFIED_MAX: usize = 10_000;

/// The longest access-token lifetime any tenant may have now (limit 1001 at system
/// level and every tenant's own value): how long a retired key must stay published.
pub async fn longest_token_lifetime(store: &dyn Store) -> StoreResult<i64> {
    let mut longest =
        limits::effective_at(store, ACCESS_TOKEN_LIFETIME, LimitLevel::System).await?;
    for tenant in store.tenants().await? {
        let own = limits::value(store, ACCESS_TOKEN_LIFETIME, tenant.id, None).await?;
        longest = longest.max(own);
    }
    Ok(longest.min(ACCESS_TOKEN_LIFETIME.max))
}

/// Refuses a rotation while the next key of any algorithm is younger than
/// [`MIN_PUBLISHED_SECS`] (after an upgrade that added an algorithm, its next key is
/// as young as that start).
pub async fn check_rotation_age(store: &dyn KeyStore, now: UnixTime) -> Result<(), KeyError> {
    let keys = store.signing_keys().await?;
    let mut youngest = i64::MAX;
    for alg in SigAlg::ALL {
        let next = keys
            .iter()
            .find(|k| k.state == KeyState::Next && k.alg == alg.as_str())
            .ok_or(KeyError::NoNextKey(alg))?;
        youngest = youngest.min(now - next.created_at);
    }
    if youngest < MIN_PUBLISHED_SECS {
        return Err(KeyError::TooEarly {
            published_secs: youngest,
            wait_secs: MIN_PUBLISHED_SECS - youngest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
