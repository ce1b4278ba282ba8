//! Unit tests of [`super::Signer`]: round trips, every refusal, rotation and the key set.

use super::*;
use crate::clock::ManualClock;
use crate::crypto::MasterKey;
use crate::model::identity::NewTenant;
use crate::store::{LimitStore as _, TenantStore as _};
use crate::testing::MemoryStore;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt::JwsSigner as _;

const ISS: &str = "https://auth.example";
const T0: UnixTime = 1_800_000_000;

fn claims(exp: UnixTime) -> AccessClaims {
    AccessClaims {
        iss: ISS.into(),
        sub: "42".into(),
        aud: ISS.into(),
        exp,
        iat: exp - 3600,
        jti: "jti-1".into(),
        client_id: "client-1".into(),
        scope: "api.access.odata".into(),
        tenant: 1,
        username: Some("ann".into()),
        av: Some(1),
        fam: None,
        sv: None,
        uc: None,
        act: None,
        cnf: None,
    }
}

fn ring() -> Keyring {
    Keyring::new(
        MasterKey::parse("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").expect("key"),
        vec![],
    )
}

async fn signer(store: &MemoryStore, clock: &ManualClock) -> Signer {
    Signer::load(store, &ring(), clock, ISS)
        .await
        .expect("load")
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().expect("header");
    let v: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
    v["kid"].as_str().expect("kid").to_owned()
}

/// The kids of the published ES256 keys, in JWK Set order.
fn jwks_kids(s: &Signer) -> Vec<String> {
    jwks_kids_of(s, SigAlg::Es256)
}

fn jwks_kids_of(s: &Signer, alg: SigAlg) -> Vec<String> {
    s.jwks()["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["alg"] == alg.as_str())
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// A token over `header` and `payload` signed by `s`'s active ES256 key, as an
/// attacker holding the key (or a bug) might shape it.
fn forge(s: &Signer, header: &Value, payload: &Value) -> String {
    forge_with(s, SigAlg::Es256, header, payload)
}

/// [`forge`] with the active key of `alg`.
fn forge_with(s: &Signer, alg: SigAlg, header: &Value, payload: &Value) -> String {
    let set = s.current();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    // Low-S for ES256, as the signer makes it: a high-S signature is refused before
    // anything else.
    let sig = set
        .active
        .get(alg)
        .key
        .sign_input(&s.rng, input.as_bytes())
        .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[tokio::test]
async fn a_signed_token_verifies_and_gives_back_its_claims() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    let c = claims(T0 + 3600);
    let token = s.sign(&c).expect("sign");
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(kid_of(&token), s.active_kid(SigAlg::Es256));
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(
        header,
        json!({"alg": "ES256", "typ": "at+jwt", "kid": s.active_kid(SigAlg::Es256)})
    );
    assert_eq!(s.verify(&token, T0).expect("verify"), c);
    assert_eq!(s.issuer(), ISS);
}

#[tokio::test]
async fn tampered_forged_expired_and_foreign_tokens_are_refused() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    let token = s.sign(&claims(T0 + 3600)).expect("sign");
    let parts: Vec<&str> = token.split('.').collect();

    let mut other = claims(T0 + 3600);
    other.scope = "api.access.mgmt".into();
    let other_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).expect("json"));
    let tampered_payload = format!("{}.{other_payload}.{}", parts[0], parts[2]);
    assert_eq!(s.verify(&tampered_payload, T0), Err(JwtError::Signature));

    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("sig");
    sig[10] ^= 1;
    let tampered_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    assert_eq!(s.verify(&tampered_sig, T0), Err(JwtError::Signature));

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt"}).to_string()),
        parts[1]
    );
    assert_eq!(s.verify(&none, T0), Err(JwtError::Algorithm));
    let none_with_kid = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(
            json!({"alg": "none", "typ": "at+jwt", "kid": s.active_kid(SigAlg::Es256)}).to_string()
        ),
        parts[1]
    );
    assert_eq!(s.verify(&none_with_kid, T0), Err(JwtError::Algorithm));

    let payload = serde_json::to_value(claims(T0 + 3600)).expect("json");
    let jwt_typ = forge(
        &s,
        &json!({"alg": "ES256", "typ": "JWT", "kid": s.active_kid(SigAlg::Es256)}),
        &payload,
    );
    assert_eq!(s.verify(&jwt_typ, T0), Err(JwtError::Type));
    let unknown_kid = forge(
        &s,
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": "no-such-key"}),
        &payload,
    );
    assert_eq!(s.verify(&unknown_kid, T0), Err(JwtError::UnknownKey));
    let not_claims = forge(
        &s,
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": s.active_kid(SigAlg::Es256)}),
        &json!({"iss": ISS}),
    );
    assert_eq!(s.verify(&not_claims, T0), Err(JwtError::Claims));

    // Another server's key, even with the same kid scheme, is unknown here.
    let stranger = Signer::ephemeral(ISS).expect("signer");
    let foreign = stranger.sign(&claims(T0 + 3600)).expect("sign");
    assert_eq!(s.verify(&foreign, T0), Err(JwtError::UnknownKey));

    assert_eq!(s.verify(&token, T0 + 3599).map(|c| c.exp), Ok(T0 + 3600));
    assert_eq!(s.verify(&token, T0 + 3600), Err(JwtError::Expired));
    assert!(JwtError::Expired.is_expired());

    let mut elsewhere = claims(T0 + 3600);
    elsewhere.iss = "https://evil.example".into();
    let wrong_iss = s.sign(&elsewhere).expect("sign");
    assert_eq!(s.verify(&wrong_iss, T0), Err(JwtError::Issuer));

    for refused in [
        &tampered_payload,
        &tampered_sig,
        &none,
        &jwt_typ,
        &wrong_iss,
    ] {
        let e = s.verify(refused, T0).expect_err("refused");
        assert!(!e.to_string().contains(parts[1]), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_creates_one_active_and_one_next_key_sealed() {
    let (store, clock) = (Arc::new(MemoryStore::new()), ManualClock::at(T0));
    // Four first starts at the same moment, behind a barrier.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (store, clock, barrier) = (store.clone(), clock.clone(), barrier.clone());
        starts.spawn(async move {
            barrier.wait().await;
            signer(&store, &clock).await
        });
    }
    let signers = starts.join_all().await;
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 4, "{keys:?}");
    let find = |alg: SigAlg, state| {
        keys.iter()
            .find(|k| k.state == state && k.alg == alg.as_str())
            .expect("key")
    };
    let active = find(SigAlg::Es256, KeyState::Active);
    let next = find(SigAlg::Es256, KeyState::Next);
    let (rs_active, rs_next) = (
        find(SigAlg::Rs256, KeyState::Active),
        find(SigAlg::Rs256, KeyState::Next),
    );
    assert_eq!(rs_active.activated_at, Some(T0));
    assert!(rs_active.private_sealed.starts_with("mk1."));
    assert_eq!(active.activated_at, Some(T0));
    assert!(active.private_sealed.starts_with("mk1."));
    for s in &signers {
        assert_eq!(s.active_kid(SigAlg::Es256), active.kid);
        assert_eq!(s.active_kid(SigAlg::Rs256), rs_active.kid);
        let all: Vec<Value> = s.jwks()["keys"].as_array().expect("keys").clone();
        let kids: Vec<&str> = all
            .iter()
            .map(|k| k["kid"].as_str().expect("kid"))
            .collect();
        assert_eq!(
            kids,
            vec![&active.kid, &rs_active.kid, &next.kid, &rs_next.kid],
            "active keys first, ES256 before RS256"
        );
    }
    // Debug output names keys, never their private parts.
    let debug = format!("{:?} {active:?}", signers[0]);
    assert!(debug.contains(&active.kid), "{debug}");
    assert!(!debug.contains(&active.private_sealed), "{debug}");
    // The private key opens only under the master key and the kid it was sealed for.
    let wrong = Keyring::new(MasterKey::generate(), vec![]);
    let e = Signer::load(store.as_ref(), &wrong, &clock, ISS)
        .await
        .expect_err("wrong key");
    assert!(matches!(e, KeyError::Seal { .. }), "{e}");
    assert!(ring()
        .open(&active.private_sealed, &sealing_purpose(&next.kid))
        .is_err());
}

#[tokio::test]
async fn rotation_signs_with_the_pre_published_key_and_keeps_old_tokens_until_retirement() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    let first = s.active_kid(SigAlg::Es256);
    let published_next = jwks_kids(&s)[1].clone();
    let old = s.sign(&claims(T0 + 3600)).expect("sign");

    clock.set(T0 + 1000);
    let rotated = s
        .rotate(&store, &ring(), clock.now(), 3600)
        .await
        .expect("rotate");
    let r = rotated.of(SigAlg::Es256).expect("es256").clone();
    assert_eq!(r.retired.as_deref(), Some(first.as_str()));
    assert_eq!(r.active, published_next);
    assert_eq!(rotated.retire_at, T0 + 1000 + 3600 + RETIRE_GRACE_SECS);
    assert_eq!(rotated.deleted, 0);
    assert_eq!(s.active_kid(SigAlg::Es256), published_next);
    let new = s.sign(&claims(T0 + 4600)).expect("sign");
    assert_eq!(kid_of(&new), published_next);
    assert!(s.verify(&old, clock.now()).is_ok());
    assert!(s.verify(&new, clock.now()).is_ok());
    assert_eq!(
        jwks_kids(&s),
        vec![published_next.clone(), r.next.clone(), first.clone()],
        "active, next, retiring"
    );

    // A node that has not reloaded yet verifies the new tokens: it published that key.
    let lagging = signer(&store, &ManualClock::at(T0)).await;
    assert!(lagging.verify(&new, clock.now()).is_ok());

    // Once the retirement has ended, the old key leaves the set at the next reload,
    // and the next rotation deletes it.
    clock.set(rotated.retire_at);
    s.refresh(&store, &ring(), clock.now())
        .await
        .expect("refresh");
    assert_eq!(jwks_kids(&s), vec![published_next.clone(), r.next.clone()]);
    assert_eq!(s.verify(&old, clock.now()), Err(JwtError::UnknownKey));
    let again = s
        .rotate(&store, &ring(), clock.now(), 3600)
        .await
        .expect("rotate");
    assert_eq!(again.deleted, 2, "the retired key of each algorithm");
    assert_eq!(again.of(SigAlg::Es256).expect("es256").active, r.next);
    assert!(store
        .signing_keys()
        .await
        .expect("keys")
        .iter()
        .all(|k| k.kid != first));
}

#[tokio::test]
async fn another_node_picks_up_a_rotation_when_it_refreshes() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let a = signer(&store, &clock).await;
    let b = signer(&store, &clock).await;
    let r = a
        .rotate(&store, &ring(), T0 + 10, 600)
        .await
        .expect("rotate");
    for alg in SigAlg::ALL {
        assert_ne!(b.active_kid(alg), r.of(alg).expect("alg").active);
    }
    b.refresh(&store, &ring(), T0 + 20).await.expect("refresh");
    for alg in SigAlg::ALL {
        assert_eq!(b.active_kid(alg), r.of(alg).expect("alg").active);
    }
    assert_eq!(a.jwks(), b.jwks());
}

#[tokio::test]
async fn a_rotation_that_lost_a_race_changes_nothing() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    let before = store.signing_keys().await.expect("keys");
    let next = |alg: SigAlg| {
        before
            .iter()
            .find(|k| k.state == KeyState::Next && k.alg == alg.as_str())
            .expect("next")
            .kid
            .clone()
    };
    let stale = KeyRotation {
        alg: SigAlg::Es256,
        promote: "not-the-next-key".into(),
        next: generate(&ring(), &s.rng, SigAlg::Es256, KeyState::Next, T0).expect("key"),
        now: T0,
        retire_at: T0 + 10,
    };
    assert!(!store
        .rotate_signing_keys(std::slice::from_ref(&stale))
        .await
        .expect("rotate"));
    assert_eq!(store.signing_keys().await.expect("keys"), before);
    assert!(store
        .rotate_signing_keys(&[KeyRotation {
            promote: next(SigAlg::Es256),
            ..stale.clone()
        }])
        .await
        .expect("rotate"));
    // `s` still believes the old next keys are next; its rotation loses, and changes
    // nothing, not even the RS256 keys, which nobody rotated.
    let after_other = store.signing_keys().await.expect("keys");
    let e = Signer::rotate(
        &s,
        &LosingStore {
            inner: &store,
            stale: before,
        },
        &ring(),
        T0,
        60,
    )
    .await
    .expect_err("concurrent");
    assert!(matches!(e, KeyError::Concurrent), "{e}");
    assert_eq!(store.signing_keys().await.expect("keys"), after_other);
}

/// A store whose listing is stale by one rotation: what a racing rotation sees.
struct LosingStore<'a> {
    inner: &'a MemoryStore,
    stale: Vec<StoredKey>,
}

#[async_trait::async_trait]
impl KeyStore for LosingStore<'_> {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        Ok(self.stale.clone())
    }
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool> {
        self.inner.insert_signing_key(key).await
    }
    async fn rotate_signing_keys(&self, rotations: &[KeyRotation]) -> StoreResult<bool> {
        self.inner.rotate_signing_keys(rotations).await
    }
    async fn delete_retired_keys(&self, before: UnixTime) -> StoreResult<u64> {
        self.inner.delete_retired_keys(before).await
    }
}

#[tokio::test]
async fn retirement_lasts_the_longest_token_lifetime_of_any_tenant() {
    let store = MemoryStore::new();
    assert_eq!(
        longest_token_lifetime(&store).await.expect("lifetime"),
        3600
    );
    let t = store
        .create_tenant(NewTenant::named("acme", T0))
        .await
        .expect("tenant");
    store
        .set_limit(
            LimitLevel::Tenant(t.id),
            ACCESS_TOKEN_LIFETIME.id,
            Some(7200),
        )
        .await
        .expect("set");
    assert_eq!(
        longest_token_lifetime(&store).await.expect("lifetime"),
        7200
    );
    store
        .set_limit(LimitLevel::System, ACCESS_TOKEN_LIFETIME.id, Some(900))
        .await
        .expect("set");
    assert_eq!(
        longest_token_lifetime(&store).await.expect("lifetime"),
        7200
    );
    store
        .set_limit(
            LimitLevel::System,
            ACCESS_TOKEN_LIFETIME.id,
            Some(10_000_000),
        )
        .await
        .expect("set");
    assert_eq!(
        longest_token_lifetime(&store).await.expect("lifetime"),
        ACCESS_TOKEN_LIFETIME.max
    );
}

#[tokio::test]
async fn rotation_waits_until_the_next_key_has_been_published_long_enough() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let _s = signer(&store, &clock).await;
    let e = check_rotation_age(&store, T0 + 10)
        .await
        .expect_err("too early");
    assert!(
        matches!(e, KeyError::TooEarly { published_secs: 10, wait_secs } if wait_secs == MIN_PUBLISHED_SECS - 10),
        "{e}"
    );
    assert!(check_rotation_age(&store, T0 + MIN_PUBLISHED_SECS)
        .await
        .is_ok());
    let empty = MemoryStore::new();
    assert!(matches!(
        check_rotation_age(&empty, T0).await,
        Err(KeyError::NoNextKey(SigAlg::Es256))
    ));
}

#[tokio::test]
async fn a_damaged_key_row_is_reported_not_used() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let _s = signer(&store, &clock).await;
    let mut keys = store.signing_keys().await.expect("keys");
    let next_jwk = keys
        .iter()
        .find(|k| k.state == KeyState::Next)
        .expect("next")
        .public_jwk
        .clone();
    let active = keys
        .iter_mut()
        .find(|k| k.state == KeyState::Active)
        .expect("active");
    // The active row's public key swapped for another key's.
    active.public_jwk = next_jwk;
    let bad = MemoryStore::new();
    for k in &keys {
        assert!(bad.insert_signing_key(k).await.expect("insert"));
    }
    let e = Signer::load(&bad, &ring(), &clock, ISS)
        .await
        .expect_err("damaged");
    assert!(matches!(e, KeyError::Damaged(_)), "{e}");
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json")
}

/// ID-token-like claims; `exp` in the past on purpose (`verify_jwt` leaves it alone).
fn id_claims() -> Value {
    json!({"iss": ISS, "sub": "42", "aud": "client-1", "exp": T0 - 1, "iat": T0 - 3600,
           "nonce": "n-0S6_WzA2Mj"})
}

#[tokio::test]
async fn jwts_of_both_algorithms_round_trip_with_the_active_key_of_their_algorithm() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    for alg in SigAlg::ALL {
        let token = s.sign_jwt(alg, "JWT", &id_claims()).expect("sign");
        assert_eq!(
            header_of(&token),
            json!({"alg": alg.as_str(), "typ": "JWT", "kid": s.active_kid(alg)})
        );
        assert_eq!(
            s.verify_jwt(&token),
            Ok(id_claims()),
            "{alg}: exp not checked"
        );
        // Not an access token, even when it is ES256.
        assert!(s.verify(&token, T0 - 10).is_err(), "{alg}");
        let other_typ = s.sign_jwt(alg, "userinfo+jwt", &id_claims()).expect("sign");
        assert_eq!(s.verify_jwt(&other_typ), Ok(id_claims()));
    }
    // Access tokens verify too (any token of this server's keys).
    let access = s.sign(&claims(T0 + 60)).expect("sign");
    assert_eq!(
        s.verify_jwt(&access),
        Ok(serde_json::to_value(claims(T0 + 60)).expect("json"))
    );
    // A typ-less header is accepted; a payload that is not an object is not.
    let rs = SigAlg::Rs256;
    let kid = s.active_kid(rs);
    let bare = forge_with(&s, rs, &json!({"alg": "RS256", "kid": kid}), &id_claims());
    assert_eq!(s.verify_jwt(&bare), Ok(id_claims()));
    let array = forge_with(&s, rs, &json!({"alg": "RS256", "kid": kid}), &json!([1]));
    assert_eq!(s.verify_jwt(&array), Err(JwtError::Claims));
}

#[tokio::test]
async fn an_rs256_signature_verifies_with_the_rsa_crate_from_the_published_jwk() {
    use ::rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
    use sha2::Digest as _;
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    let token = s
        .sign_jwt(SigAlg::Rs256, "JWT", &id_claims())
        .expect("sign");
    let jwks = s.jwks();
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == s.active_kid(SigAlg::Rs256).as_str())
        .expect("published");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    assert!(jwk.get("d").is_none() && jwk.get("p").is_none());
    let b64 = |m: &str| URL_SAFE_NO_PAD.decode(jwk[m].as_str().expect(m)).expect(m);
    let (n, e) = (b64("n"), b64("e"));
    assert_eq!(n.len() * 8, rs256::BITS);
    assert_eq!(e, [1, 0, 1]);
    // The kid is the RFC 7638 thumbprint, recomputed here from its definition.
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        jwk["e"].as_str().expect("e"),
        jwk["n"].as_str().expect("n")
    );
    assert_eq!(
        jwk["kid"],
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
    );
    // RSASSA-PKCS1-v1_5 with SHA-256: the DigestInfo prefix of RFC 8017 §9.2, note 1.
    let public =
        RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).expect("key");
    let scheme = || Pkcs1v15Sign {
        hash_len: Some(32),
        prefix: vec![
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ]
        .into(),
    };
    let (input, sig) = token.rsplit_once('.').expect("dot");
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("b64");
    let digest = sha2::Sha256::digest(input.as_bytes());
    assert!(public.verify(scheme(), &digest, &sig).is_ok());
    let other = sha2::Sha256::digest(format!("{input}x").as_bytes());
    assert!(public.verify(scheme(), &other, &sig).is_err());
}

#[tokio::test]
async fn tampered_and_mismatched_jwts_are_refused() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    for alg in SigAlg::ALL {
        let token = s.sign_jwt(alg, "JWT", &id_claims()).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        let mut other = id_claims();
        other["sub"] = "43".into();
        let payload = URL_SAFE_NO_PAD.encode(other.to_string());
        let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(s.verify_jwt(&tampered), Err(JwtError::Signature), "{alg}");
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("sig");
        sig[7] ^= 1;
        let bad_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(s.verify_jwt(&bad_sig), Err(JwtError::Signature), "{alg}");
    }
    let (es, rs) = (s.active_kid(SigAlg::Es256), s.active_kid(SigAlg::Rs256));
    let payload = id_claims();
    // A header naming the other algorithm than its key's: refused, by the key's
    // algorithm when the signature has the header's shape, else by the shape.
    for (header, signer_alg, want) in [
        (
            json!({"alg": "ES256", "kid": rs}),
            SigAlg::Es256,
            JwtError::Algorithm,
        ),
        (
            json!({"alg": "RS256", "kid": es}),
            SigAlg::Rs256,
            JwtError::Algorithm,
        ),
        (
            json!({"alg": "RS256", "kid": es}),
            SigAlg::Es256,
            JwtError::Algorithm,
        ),
        (
            json!({"alg": "ES256", "kid": rs}),
            SigAlg::Rs256,
            JwtError::Signature,
        ),
    ] {
        let token = forge_with(&s, signer_alg, &header, &payload);
        assert_eq!(s.verify_jwt(&token), Err(want), "{header} by {signer_alg}");
    }
    for header in [
        json!({"alg": "none", "kid": rs}),
        json!({"alg": "HS256", "kid": rs}),
        json!({"alg": "PS256", "kid": rs}),
        json!({"alg": "rs256", "kid": rs}),
    ] {
        let token = forge_with(&s, SigAlg::Rs256, &header, &payload);
        assert_eq!(s.verify_jwt(&token), Err(JwtError::Algorithm), "{header}");
    }
    let crit = forge_with(
        &s,
        SigAlg::Rs256,
        &json!({"alg": "RS256", "kid": rs, "crit": ["x"]}),
        &payload,
    );
    assert_eq!(s.verify_jwt(&crit), Err(JwtError::Critical));
    let no_kid = forge_with(&s, SigAlg::Rs256, &json!({"alg": "RS256"}), &payload);
    assert_eq!(s.verify_jwt(&no_kid), Err(JwtError::UnknownKey));
    let stranger = Signer::ephemeral(ISS).expect("signer");
    let foreign = stranger
        .sign_jwt(SigAlg::Es256, "JWT", &payload)
        .expect("sign");
    assert_eq!(s.verify_jwt(&foreign), Err(JwtError::UnknownKey));
    // An RS256 access token (alg not ES256) is no access token.
    let rs_access = forge_with(
        &s,
        SigAlg::Rs256,
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": rs}),
        &serde_json::to_value(claims(T0 + 60)).expect("json"),
    );
    assert_eq!(s.verify(&rs_access, T0), Err(JwtError::Algorithm));
    assert!(s.verify_jwt(&rs_access).is_ok());
}

#[tokio::test]
async fn rotation_rotates_each_algorithm_and_old_jwts_verify_until_retirement() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    let before: Vec<(SigAlg, String, String)> = SigAlg::ALL
        .into_iter()
        .map(|alg| {
            let kids = jwks_kids_of(&s, alg);
            assert_eq!(kids.len(), 2, "{alg}: active and next");
            (alg, kids[0].clone(), kids[1].clone())
        })
        .collect();
    let old = s
        .sign_jwt(SigAlg::Rs256, "JWT", &id_claims())
        .expect("sign");
    let r = s
        .rotate(&store, &ring(), T0 + 1000, 3600)
        .await
        .expect("rotate");
    assert_eq!(r.keys.len(), 2);
    for (alg, active, next) in &before {
        let of = r.of(*alg).expect("rotated");
        assert_eq!(of.retired.as_ref(), Some(active), "{alg}");
        assert_eq!(&of.active, next, "{alg}: the pre-published key signs");
        assert_eq!(s.active_kid(*alg), *next);
        assert_eq!(
            jwks_kids_of(&s, *alg),
            vec![next.clone(), of.next.clone(), active.clone()]
        );
        let stored = store.signing_keys().await.expect("keys");
        let new_next = stored.iter().find(|k| k.kid == of.next).expect("stored");
        assert_eq!(new_next.alg, alg.as_str());
        assert_eq!(new_next.state, KeyState::Next);
    }
    let new = s
        .sign_jwt(SigAlg::Rs256, "JWT", &id_claims())
        .expect("sign");
    assert_eq!(kid_of(&new), before[1].2);
    assert!(s.verify_jwt(&old).is_ok());
    s.refresh(&store, &ring(), r.retire_at)
        .await
        .expect("refresh");
    assert_eq!(s.verify_jwt(&old), Err(JwtError::UnknownKey));
    assert!(s.verify_jwt(&new).is_ok());
}

#[tokio::test]
async fn a_database_from_before_rs256_gains_its_rs256_pair_at_the_next_start() {
    let clock = ManualClock::at(T0);
    let store = MemoryStore::new();
    // What the previous version left: an ES256 active key and next key, and a retiring one.
    let rng = SystemRandom::new();
    let mut old = vec![
        generate(&ring(), &rng, SigAlg::Es256, KeyState::Retiring, T0 - 2000).expect("key"),
        generate(&ring(), &rng, SigAlg::Es256, KeyState::Active, T0 - 1000).expect("key"),
        // (Created later than the active key: the store lists keys by creation time,
        // then kid, and equal times would make the order depend on random kids.)
        generate(&ring(), &rng, SigAlg::Es256, KeyState::Next, T0 - 900).expect("key"),
    ];
    old[0].retire_at = Some(T0 + 500);
    for k in &old {
        assert!(store.insert_signing_key(k).await.expect("insert"));
    }
    clock.set(T0 + 10);
    let s = signer(&store, &clock).await;
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert_eq!(&keys[..3], &old[..], "the ES256 keys are untouched");
    // (Both created now: listed in kid order, so sorted by state here.)
    let mut rs256: Vec<&StoredKey> = keys.iter().filter(|k| k.alg == "RS256").collect();
    rs256.sort_by_key(|k| k.state != KeyState::Active);
    assert_eq!(
        rs256.iter().map(|k| k.state).collect::<Vec<_>>(),
        vec![KeyState::Active, KeyState::Next]
    );
    assert!(rs256.iter().all(|k| k.created_at == T0 + 10));
    assert_eq!(s.active_kid(SigAlg::Es256), old[1].kid);
    assert_eq!(s.active_kid(SigAlg::Rs256), rs256[0].kid);
    assert_eq!(s.jwks()["keys"].as_array().map(Vec::len), Some(5));
    // The new RS256 next key was published just now: rotation waits for it.
    let e = check_rotation_age(&store, T0 + 20)
        .await
        .expect_err("too early");
    assert!(
        matches!(
            e,
            KeyError::TooEarly {
                published_secs: 10,
                ..
            }
        ),
        "{e}"
    );
    // A second start creates nothing more.
    let _again = signer(&store, &clock).await;
    assert_eq!(store.signing_keys().await.expect("keys").len(), 5);
}

#[tokio::test]
async fn a_damaged_rs256_key_row_is_reported_not_used() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let _s = signer(&store, &clock).await;
    let keys = store.signing_keys().await.expect("keys");
    let of = |state| {
        keys.iter()
            .find(|k| k.state == state && k.alg == "RS256")
            .expect("key")
            .clone()
    };
    let (active, next) = (of(KeyState::Active), of(KeyState::Next));
    let es_active = keys
        .iter()
        .find(|k| k.state == KeyState::Active && k.alg == "ES256")
        .expect("key");
    // `active` with the private key of `other`, sealed as if it were its own.
    let with_private_of = |other: &StoredKey| {
        let pkcs8 = ring()
            .open(&other.private_sealed, &sealing_purpose(&other.kid))
            .expect("open");
        StoredKey {
            private_sealed: ring()
                .seal(&pkcs8, &sealing_purpose(&active.kid))
                .expect("seal"),
            ..active.clone()
        }
    };
    let mut swapped_public = active.clone();
    swapped_public.public_jwk = next.public_jwk.clone();
    let swapped_private = with_private_of(&next);
    let mut wrong_alg = active.clone();
    wrong_alg.alg = "ES256".into();
    let an_ec_key = with_private_of(es_active);
    for (what, damaged, replaces) in [
        ("public key of another key", swapped_public, None),
        ("private key of another key", swapped_private, None),
        ("labelled ES256", wrong_alg, Some(&es_active.kid)),
        ("an EC private key", an_ec_key, None),
    ] {
        let bad = MemoryStore::new();
        for k in &keys {
            if k.kid != active.kid && Some(&k.kid) != replaces {
                assert!(bad.insert_signing_key(k).await.expect("insert"));
            }
        }
        assert!(
            bad.insert_signing_key(&damaged).await.expect("insert"),
            "{what}"
        );
        let e = Signer::load(&bad, &ring(), &clock, ISS)
            .await
            .expect_err(what);
        assert!(matches!(e, KeyError::Damaged(_)), "{what}: {e}");
    }
}

#[tokio::test]
async fn a_keys_age_counts_from_when_it_began_signing() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0));
    let s = signer(&store, &clock).await;
    assert_eq!(
        s.active_key_ages(T0 + 100),
        [(SigAlg::Es256, 100), (SigAlg::Rs256, 100)]
    );
    // The promoted key was published at T0 but signs from the rotation on.
    s.rotate(&store, &ring(), T0 + 1000, 3600)
        .await
        .expect("rotate");
    assert_eq!(
        s.active_key_ages(T0 + 1500),
        [(SigAlg::Es256, 500), (SigAlg::Rs256, 500)]
    );
}
