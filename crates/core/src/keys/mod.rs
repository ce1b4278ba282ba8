//! The signing keys of access tokens (SPEC §1.5, §5.1): ES256 key pairs kept in the
//! database, their private halves sealed under the master key, so every node signs and
//! verifies with the same keys; published as a JWK Set
//! ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)) at `/oauth2/jwks`.
//!
//! A key is `next` (published, not yet signing), `active` (signing; exactly one) or
//! `retiring` (published until `retire_at`, when the last token it signed has
//! expired). The first start creates an active key and a next key; rotation
//! (`portcullis keys rotate`) promotes the next key, which resource servers have had
//! in their key sets since it was created, retires the active one and pre-publishes a
//! new next key. Nodes reload the keys every [`REFRESH_EVERY_SECS`].
//!
//! [`Signer`] keeps the parsed key pair in memory and swaps whole key sets behind a
//! lock held only to clone an `Arc`, so [`Signer::sign`] and [`Signer::verify`] are
//! synchronous and cost one ECDSA operation each.

use crate::clock::Clock;
use crate::crypto::{Keyring, SealError};
use crate::limits::{self, ACCESS_TOKEN_LIFETIME};
use crate::model::claims::AccessClaims;
use crate::model::time::UnixTime;
pub mod jwt;

use crate::model::limits::LimitLevel;
use crate::model::signing_key::{sealing_purpose, KeyRotation, KeyState, StoredKey};
use crate::store::{KeyStore, Store, StoreError, StoreResult};
use jwt::JwtError;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED_SIGNING};
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
    #[error("the database holds no active signing key")]
    NoActiveKey,
    #[error("the database holds no next signing key to promote; start a node to create one")]
    NoNextKey,
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
    /// The key that was active and is now retiring.
    pub retired: Option<String>,
    /// The key now signing (the previous next key).
    pub active: String,
    /// The newly published next key.
    pub next: String,
    /// When the retired key leaves the key set.
    pub retire_at: UnixTime,
    /// Keys deleted because their retirement had ended.
    pub deleted: u64,
}

/// The key that signs, parsed once.
struct ActiveKey {
    kid: String,
    /// The base64url protected header, which only changes with the key.
    header: String,
    pair: EcdsaKeyPair,
}

/// A published key.
struct PublicKey {
    state: KeyState,
    created_at: UnixTime,
    jwk: Value,
    verifier: UnparsedPublicKey<Vec<u8>>,
}

/// One consistent generation of keys.
struct KeySet {
    active: Arc<ActiveKey>,
    published: HashMap<String, PublicKey>,
    jwks: Value,
    /// Tokens whose signature these keys already verified, by SHA-256 of the whole
    /// compact token, with their claims. A resource server checks the same token many
    /// times, and an ES256 verify costs twice a signature; a digest is ~1 µs. Sound
    /// because equal bytes verify equally; bounded by [`VERIFIED_MAX`]; dropped with
    /// the key set whenever the keys are reloaded. Expiry and issuer are checked on
    /// every call, hit or miss.
    verified: std::sync::Mutex<HashMap<[u8; 32], AccessClaims>>,
}

/// Signs and verifies access tokens with the keys of the store. Cheap to share
/// (`Arc<Signer>` in the [`crate::context::Context`]).
pub struct Signer {
    issuer: Arc<str>,
    rng: SystemRandom,
    set: RwLock<Arc<KeySet>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.current();
        let mut kids: Vec<(&str, KeyState)> = set
            .published
            .iter()
            .map(|(k, p)| (k.as_str(), p.state))
            .collect();
        kids.sort_by_key(|(k, s)| (*s, *k));
        f.debug_struct("Signer")
            .field("issuer", &self.issuer)
            .field("active", &set.active.kid)
            .field("published", &kids)
            .finish_non_exhaustive()
    }
}

/// A new key pair: its stored form (sealed) in `state`.
fn generate(
    keyring: &Keyring,
    rng: &SystemRandom,
    state: KeyState,
    now: UnixTime,
) -> Result<StoredKey, KeyError> {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
        .map_err(|_| KeyError::Generate)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng)
        .map_err(|_| KeyError::Generate)?;
    let point = pair.public_key().as_ref();
    let kid = jwt::thumbprint(point).map_err(|_| KeyError::Generate)?;
    let jwk = jwt::public_jwk(&kid, point).map_err(|_| KeyError::Generate)?;
    let private_sealed = keyring
        .seal(pkcs8.as_ref(), &sealing_purpose(&kid))
        .map_err(|source| KeyError::Seal {
            kid: kid.clone(),
            source,
        })?;
    Ok(StoredKey {
        kid,
        alg: jwt::ALG.to_owned(),
        private_sealed,
        public_jwk: jwk.to_string(),
        state,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retire_at: None,
    })
}

/// Opens and parses a stored private key, checking it against its public JWK and kid.
fn open_active(
    key: &StoredKey,
    keyring: &Keyring,
    rng: &SystemRandom,
) -> Result<ActiveKey, KeyError> {
    let pkcs8 = keyring
        .open(&key.private_sealed, &sealing_purpose(&key.kid))
        .map_err(|source| KeyError::Seal {
            kid: key.kid.clone(),
            source,
        })?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, rng)
        .map_err(|_| KeyError::Damaged(key.kid.clone()))?;
    let point = pair.public_key().as_ref();
    let published = serde_json::from_str::<Value>(&key.public_jwk)
        .ok()
        .and_then(|jwk| jwt::jwk_point(&jwk).ok());
    if published.as_deref() != Some(point) || jwt::thumbprint(point).ok().as_ref() != Some(&key.kid)
    {
        return Err(KeyError::Damaged(key.kid.clone()));
    }
    Ok(ActiveKey {
        kid: key.kid.clone(),
        header: jwt::encoded_header(&key.kid),
        pair,
    })
}

impl Signer {
    /// Loads the keys, creating the active key and a pre-published next key when the
    /// store has none (first start). Nodes starting together on an empty database end
    /// up with the same single active key: the store keeps only the first of each.
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
        for state in [KeyState::Active, KeyState::Next] {
            if !keys.iter().any(|k| k.state == state) {
                let key = generate(keyring, &rng, state, now)?;
                if store.insert_signing_key(&key).await? {
                    tracing::info!(kid = %key.kid, state = state.as_str(), "created a signing key");
                }
                created = true;
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

    /// A signer with a fresh key that is stored nowhere, for tests of code that only
    /// needs to sign and verify.
    #[cfg(any(test, feature = "test-util"))]
    pub fn ephemeral(issuer: impl Into<Arc<str>>) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let keyring = Keyring::new(crate::crypto::MasterKey::generate(), vec![]);
        let key = generate(&keyring, &rng, KeyState::Active, 0)?;
        let set = Self::build(&[key], &keyring, &rng, 0, None)?;
        Ok(Self {
            issuer: issuer.into(),
            rng,
            set: RwLock::new(Arc::new(set)),
        })
    }

    /// Builds a key set from stored keys, reusing `current`'s parsed pair when the
    /// active key has not changed.
    fn build(
        keys: &[StoredKey],
        keyring: &Keyring,
        rng: &SystemRandom,
        now: UnixTime,
        current: Option<&KeySet>,
    ) -> Result<KeySet, KeyError> {
        let stored = keys
            .iter()
            .find(|k| k.state == KeyState::Active && k.alg == jwt::ALG)
            .ok_or(KeyError::NoActiveKey)?;
        let active = match current {
            Some(c) if c.active.kid == stored.kid => c.active.clone(),
            _ => Arc::new(open_active(stored, keyring, rng)?),
        };
        let mut published = HashMap::new();
        for k in keys {
            if k.state == KeyState::Retiring && k.retire_at.is_none_or(|t| t <= now) {
                continue;
            }
            if k.alg != jwt::ALG {
                tracing::warn!(kid = %k.kid, alg = %k.alg, "skipping a signing key of an unknown algorithm");
                continue;
            }
            let jwk: Value = serde_json::from_str(&k.public_jwk)
                .map_err(|_| KeyError::Damaged(k.kid.clone()))?;
            let point = jwt::jwk_point(&jwk).map_err(|_| KeyError::Damaged(k.kid.clone()))?;
            if jwk["kid"] != k.kid.as_str() {
                return Err(KeyError::Damaged(k.kid.clone()));
            }
            published.insert(
                k.kid.clone(),
                PublicKey {
                    state: k.state,
                    created_at: k.created_at,
                    jwk,
                    verifier: jwt::verifier(point),
                },
            );
        }
        let mut listed: Vec<&PublicKey> = published.values().collect();
        // The signing key first, then the next one, then the retiring ones.
        let rank = |p: &PublicKey| {
            let state = match p.state {
                KeyState::Active => 0,
                KeyState::Next => 1,
                KeyState::Retiring => 2,
            };
            (
                state,
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
        if set.active.kid != current.active.kid {
            tracing::info!(kid = %set.active.kid, "signing with a new key");
        }
        *self.set.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        Ok(())
    }

    /// Rotates: the next key becomes active, the active key retires at `now +
    /// max_token_lifetime` (+ [`RETIRE_GRACE_SECS`]), a new next key is published,
    /// and keys whose retirement has ended are deleted. Then reloads.
    pub async fn rotate(
        &self,
        store: &dyn KeyStore,
        keyring: &Keyring,
        now: UnixTime,
        max_token_lifetime: i64,
    ) -> Result<Rotated, KeyError> {
        let keys = store.signing_keys().await?;
        let next = keys
            .iter()
            .find(|k| k.state == KeyState::Next)
            .ok_or(KeyError::NoNextKey)?;
        let retired = keys
            .iter()
            .find(|k| k.state == KeyState::Active)
            .map(|k| k.kid.clone());
        let new_next = generate(keyring, &self.rng, KeyState::Next, now)?;
        let rotation = KeyRotation {
            promote: next.kid.clone(),
            next: new_next,
            now,
            retire_at: now + max_token_lifetime.max(0) + RETIRE_GRACE_SECS,
        };
        if !store.rotate_signing_keys(&rotation).await? {
            return Err(KeyError::Concurrent);
        }
        let deleted = store.delete_retired_keys(now).await?;
        tracing::info!(
            active = %rotation.promote,
            next = %rotation.next.kid,
            retired = retired.as_deref().unwrap_or("-"),
            retire_at = rotation.retire_at,
            deleted,
            "rotated the signing keys"
        );
        self.refresh(store, keyring, now).await?;
        Ok(Rotated {
            retired,
            active: rotation.promote,
            next: rotation.next.kid,
            retire_at: rotation.retire_at,
            deleted,
        })
    }

    /// Signs `claims` as an access token with the active key.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, JwtError> {
        let set = self.current();
        jwt::sign(&set.active.header, claims, &set.active.pair, &self.rng)
    }

    /// Verifies an access token: a compact JWS with header `alg` ES256, `typ` at+jwt
    /// and the `kid` of a published key; a valid signature; then `exp` after `now` and
    /// `iss` this server's issuer. Audience, scope and revocation are the caller's.
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
        let claims = match known {
            Some(claims) => claims,
            None => {
                let unverified = jwt::parse(token)?;
                let key = set
                    .published
                    .get(&unverified.kid)
                    .ok_or(JwtError::UnknownKey)?;
                let claims = unverified.verify(&key.verifier)?;
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

    /// The JWK Set of the published keys (next, active, retiring), public parts only.
    pub fn jwks(&self) -> Value {
        self.current().jwks.clone()
    }

    /// The issuer tokens must name (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The kid of the key that signs now.
    pub fn active_kid(&self) -> String {
        self.current().active.kid.clone()
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

/// Refuses a rotation while the next key is younger than [`MIN_PUBLISHED_SECS`].
pub async fn check_rotation_age(store: &dyn KeyStore, now: UnixTime) -> Result<(), KeyError> {
    let keys = store.signing_keys().await?;
    let next = keys
        .iter()
        .find(|k| k.state == KeyState::Next)
        .ok_or(KeyError::NoNextKey)?;
    let published_secs = now - next.created_at;
    if published_secs < MIN_PUBLISHED_SECS {
        return Err(KeyError::TooEarly {
            published_secs,
            wait_secs: MIN_PUBLISHED_SECS - published_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
