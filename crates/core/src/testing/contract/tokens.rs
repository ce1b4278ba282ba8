//! Contract cases of [`crate::store::TokenStore`]: refresh rotation and code takes
//! (single use, also under concurrency), revocation cascades, `token_state`.

use super::{app, found, race, seeded, user, T0};
use crate::model::identity::{ROLE_USER, SYSTEM_TENANT_ID};
use crate::store::{Store, StoreResult};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub(super) fn family(id: &str, app: i64, user: Option<i64>) -> crate::model::token::Family {
    crate::model::token::Family {
        id: id.into(),
        client_app_id: app,
        user_id: user,
        tenant_id: SYSTEM_TENANT_ID,
        scopes: vec!["api.access.odata".into()],
        auth_version: user.map(|_| 1),
        created_at: T0,
        revoked_at: None,
        // What an OpenID Connect sign-in leaves on its grant, round-tripped by every
        // case that reads a family back.
        sign_in: crate::model::token::SignInContext {
            auth_time: user.map(|_| T0 - 5),
            nonce: None,
            sid: user.map(|_| "sid-1".to_owned()),
            claims: user.map(|_| r#"{"id_token":["email"],"userinfo":[]}"#.to_owned()),
        },
        // The resources (RFC 8707) of a user's grant round-trip too, in order.
        resources: user
            .map(|_| vec!["https://b.example/api".to_owned(), "urn:a:api".to_owned()])
            .unwrap_or_default(),
        // A public client's DPoP binding (RFC 9449 §5) round-trips too.
        dpop_jkt: user.map(|_| "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_owned()),
    }
}

pub(super) fn refresh(verifier: &str, family: &str) -> crate::model::token::RefreshToken {
    crate::model::token::RefreshToken {
        verifier: verifier.into(),
        family_id: family.into(),
        created_at: T0,
        expires_at: None,
        rotated_at: None,
    }
}

pub(super) fn code(verifier: &str, app: i64, user: i64) -> crate::model::token::AuthCode {
    crate::model::token::AuthCode {
        verifier: verifier.into(),
        client_app_id: app,
        user_id: user,
        redirect_uri: Some("https://a.example/cb".into()),
        scopes: vec!["api.access.odata".into()],
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        created_at: T0,
        expires_at: T0 + 60,
        used_at: None,
        family_id: None,
        sign_in: crate::model::token::SignInContext {
            auth_time: Some(T0 - 5),
            nonce: Some("n-0S6_WzA2Mj".into()),
            sid: Some("sid-1".into()),
            claims: Some(r#"{"id_token":[],"userinfo":["email"]}"#.into()),
        },
        resources: vec!["https://r.example/mcp".into()],
        dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
    }
}

pub(super) async fn token_fixture(store: &Arc<dyn Store>) -> (i64, i64) {
    seeded(store).await;
    let u = user(store, SYSTEM_TENANT_ID, "tok", vec![ROLE_USER]).await;
    let a = store
        .create_client_app(app(SYSTEM_TENANT_ID, u.id, "cid-tok"))
        .await
        .expect("app");
    (u.id, a.id)
}

/// Creates family `id` of `user` at application `app`, with the refresh token `rt`.
async fn new_family(
    store: &Arc<dyn Store>,
    id: &str,
    app: i64,
    user: Option<i64>,
    rt: Option<&str>,
) {
    let rt = rt.map(|rt| refresh(rt, id));
    store
        .create_family(&family(id, app, user), rt.as_ref())
        .await
        .expect("family");
}

pub async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(store: Arc<dyn Store>) {
    use crate::model::token::Rotation;
    let (u, a) = token_fixture(&store).await;
    new_family(&store, "fam-1", a, Some(u), Some("rt-1")).await;
    let (t, f) = found(store.refresh_token("rt-1").await);
    assert_eq!(
        (t.family_id.as_str(), t.rotated_at, f.revoked_at),
        ("fam-1", None, None)
    );
    assert_eq!(f, family("fam-1", a, Some(u)));
    assert_eq!(store.refresh_token("nope").await.expect("get"), None);

    assert_eq!(
        store
            .rotate_refresh_token("rt-1", &refresh("rt-2", "fam-1"), T0 + 1)
            .await
            .expect("rotate"),
        Rotation::Rotated
    );
    assert_eq!(
        found(store.refresh_token("rt-1").await).0.rotated_at,
        Some(T0 + 1)
    );
    assert_eq!(found(store.refresh_token("rt-2").await).1.revoked_at, None);
    let reuse = store
        .rotate_refresh_token("rt-1", &refresh("rt-3", "fam-1"), T0 + 2)
        .await
        .expect("rotate");
    assert_eq!(
        reuse,
        Rotation::Reused {
            family_id: "fam-1".into()
        }
    );
    assert_eq!(found(store.family("fam-1").await).revoked_at, Some(T0 + 2));
    assert_eq!(
        store.refresh_token("rt-3").await.expect("get"),
        None,
        "no successor on reuse"
    );
    assert_eq!(
        store
            .rotate_refresh_token("nope", &refresh("rt-4", "fam-1"), T0)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
    assert!(
        !store.revoke_family("fam-1", T0 + 3).await.expect("revoke"),
        "already revoked"
    );
    assert!(!store.revoke_family("nope", T0).await.expect("revoke"));
}

pub async fn of_concurrent_rotations_exactly_one_wins(store: Arc<dyn Store>) {
    use crate::model::token::Rotation;
    let (u, a) = token_fixture(&store).await;
    new_family(&store, "fam-c", a, Some(u), Some("rt-c")).await;
    let rotations = race((0..8).map(|i| {
        let s = store.clone();
        async move {
            s.rotate_refresh_token("rt-c", &refresh(&format!("succ-{i}"), "fam-c"), T0 + 1)
                .await
        }
    }))
    .await;
    let mut wins = 0;
    for rotation in rotations {
        match rotation.expect("rotate") {
            Rotation::Rotated => wins += 1,
            Rotation::Reused { .. } => {}
            Rotation::Unknown => panic!("the token exists"),
        }
    }
    assert_eq!(wins, 1);
    assert!(found(store.family("fam-c").await).revoked_at.is_some());
}

pub async fn authorization_codes_are_single_use_and_replay_revokes(store: Arc<dyn Store>) {
    use crate::model::token::CodeTake;
    let (u, a) = token_fixture(&store).await;
    store
        .insert_auth_code(&code("code-1", a, u))
        .await
        .expect("insert");
    assert!(
        store.insert_auth_code(&code("code-1", a, u)).await.is_err(),
        "codes are unique"
    );
    let CodeTake::Taken(c) = store.take_auth_code("code-1", T0 + 5).await.expect("take") else {
        panic!("first use")
    };
    assert_eq!(c.used_at, Some(T0 + 5));
    assert_eq!(c.redirect_uri.as_deref(), Some("https://a.example/cb"));
    new_family(&store, "fam-code", a, Some(u), Some("rt-code")).await;
    store
        .set_code_family("code-1", "fam-code")
        .await
        .expect("link");
    let CodeTake::Replayed(c) = store.take_auth_code("code-1", T0 + 6).await.expect("take") else {
        panic!("replay")
    };
    assert_eq!(c.family_id.as_deref(), Some("fam-code"));
    assert_eq!(
        found(store.family("fam-code").await).revoked_at,
        Some(T0 + 6)
    );
    assert_eq!(
        store.take_auth_code("nope", T0).await.expect("take"),
        CodeTake::Unknown
    );

    store
        .insert_auth_code(&code("code-2", a, u))
        .await
        .expect("insert");
    let takes = race((0..6).map(|_| {
        let s = store.clone();
        async move { s.take_auth_code("code-2", T0 + 1).await }
    }))
    .await;
    let mut taken = 0;
    for take in takes {
        if let CodeTake::Taken(_) = take.expect("take") {
            taken += 1;
        }
    }
    assert_eq!(taken, 1);
}

pub async fn revocations_and_cascades_reach_token_families(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    let other = store
        .create_client_app(app(SYSTEM_TENANT_ID, u, "cid-other"))
        .await
        .expect("app");
    new_family(&store, "f-a", a, Some(u), Some("r-a")).await;
    new_family(&store, "f-o", other.id, Some(u), None).await;
    new_family(&store, "f-cc", a, None, None).await;
    store
        .grant_consent(u, a, &["api.access.odata".into()], T0)
        .await
        .expect("consent");
    assert!(store.revoke_consent(u, a, T0 + 9).await.expect("revoke"));
    assert_eq!(found(store.family("f-a").await).revoked_at, Some(T0 + 9));
    assert_eq!(
        found(store.family("f-o").await).revoked_at,
        None,
        "other apps untouched"
    );
    assert_eq!(
        found(store.family("f-cc").await).revoked_at,
        None,
        "client grants untouched"
    );
    // A reset revokes every family of the application, even one created in the same
    // second (`tokens_valid_after` alone would miss it).
    store
        .reset_client_secret(a, "v1.reset", T0)
        .await
        .expect("reset")
        .expect("exists");
    let revoked_at = |id: &'static str| {
        let store = store.clone();
        async move { found(store.family(id).await).revoked_at }
    };
    assert_eq!(revoked_at("f-cc").await, Some(T0));
    assert_eq!(
        revoked_at("f-a").await,
        Some(T0 + 9),
        "already revoked: unchanged"
    );
    assert_eq!(revoked_at("f-o").await, None, "other apps untouched");

    assert!(store.delete_client_app(other.id).await.expect("delete"));
    assert_eq!(store.family("f-o").await.expect("get"), None);
    assert!(store.delete_user(u).await.expect("delete"));
    assert_eq!(store.family("f-a").await.expect("get"), None);
    assert_eq!(store.refresh_token("r-a").await.expect("get"), None);

    assert!(!store.is_jti_revoked("jti-1").await.expect("get"));
    store.revoke_jti("jti-1", T0 + 100).await.expect("revoke");
    store
        .revoke_jti("jti-1", T0 + 100)
        .await
        .expect("revoking twice is fine");
    assert!(store.is_jti_revoked("jti-1").await.expect("get"));
    assert!(store.purge_expired(T0 + 101).await.expect("purge") >= 1);
    assert!(!store.is_jti_revoked("jti-1").await.expect("get"));
}

pub async fn a_replay_during_the_exchange_still_revokes_its_family(store: Arc<dyn Store>) {
    use crate::model::token::CodeTake;
    let (u, a) = token_fixture(&store).await;
    store
        .insert_auth_code(&code("code-r", a, u))
        .await
        .expect("insert");
    let CodeTake::Taken(_) = store.take_auth_code("code-r", T0 + 1).await.expect("take") else {
        panic!("first use")
    };
    // The replay arrives before the first exchange recorded its family.
    let CodeTake::Replayed(c) = store.take_auth_code("code-r", T0 + 2).await.expect("take") else {
        panic!("replay")
    };
    assert_eq!(c.family_id, None);
    new_family(&store, "fam-r", a, Some(u), Some("rt-r")).await;
    assert!(
        store
            .set_code_family("code-r", "fam-r")
            .await
            .expect("link"),
        "the exchange learns of the replay"
    );
    assert_eq!(found(store.family("fam-r").await).revoked_at, Some(T0 + 2));
    // Replays racing the link: whatever the interleaving, the family ends revoked.
    for round in 0..4 {
        let (c, f) = (format!("code-race-{round}"), format!("fam-race-{round}"));
        store
            .insert_auth_code(&code(&c, a, u))
            .await
            .expect("insert");
        let CodeTake::Taken(_) = store.take_auth_code(&c, T0 + 1).await.expect("take") else {
            panic!("first use")
        };
        new_family(&store, &f, a, Some(u), None).await;
        // Three replays of the code race the exchange recording its family.
        let mut racers: Vec<Pin<Box<dyn Future<Output = StoreResult<()>> + Send>>> = Vec::new();
        for _ in 0..3 {
            let (s, c) = (store.clone(), c.clone());
            racers.push(Box::pin(async move {
                s.take_auth_code(&c, T0 + 2).await.map(|_| ())
            }));
        }
        let (s, c2, f2) = (store.clone(), c.clone(), f.clone());
        racers.push(Box::pin(async move {
            s.set_code_family(&c2, &f2).await.map(|_| ())
        }));
        for outcome in race(racers).await {
            outcome.expect("store call");
        }
        assert!(
            found(store.family(&f).await).revoked_at.is_some(),
            "round {round}: a replay racing the exchange revokes its family"
        );
    }
    // Without a replay, linking revokes nothing.
    store
        .insert_auth_code(&code("code-s", a, u))
        .await
        .expect("insert");
    store.take_auth_code("code-s", T0 + 1).await.expect("take");
    new_family(&store, "fam-s", a, Some(u), None).await;
    assert!(!store
        .set_code_family("code-s", "fam-s")
        .await
        .expect("link"));
    assert_eq!(found(store.family("fam-s").await).revoked_at, None);
}

/// `token_state` answers what `is_jti_revoked`, `family` and `user` answer, in one read.
pub async fn token_state_reads_revocations_families_and_users_together(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    new_family(&store, "f-s", a, Some(u), None).await;
    let s = store
        .token_state("jti-s", Some("f-s"), Some(u))
        .await
        .expect("state");
    assert!(!s.jti_revoked);
    assert_eq!(s.family_live, Some(true));
    assert_eq!(s.user, store.user(u).await.expect("user"));
    assert!(s.user.is_some());

    let none = store.token_state("jti-s", None, None).await.expect("state");
    assert_eq!((none.family_live, none.user), (None, None));
    let unknown = store
        .token_state("jti-s", Some("f-missing"), Some(u + 1000))
        .await
        .expect("state");
    assert_eq!((unknown.family_live, unknown.user), (Some(false), None));

    store.revoke_jti("jti-s", T0 + 100).await.expect("revoke");
    assert!(store.revoke_family("f-s", T0 + 1).await.expect("revoke"));
    let s = store
        .token_state("jti-s", Some("f-s"), Some(u))
        .await
        .expect("state");
    assert!(s.jti_revoked);
    assert_eq!(s.family_live, Some(false));
}

/// Whether `token_state` finds the token live: `jti` not revoked, family live, user
/// present with auth version `av`.
async fn live(store: &Arc<dyn Store>, jti: &str, fam: &str, u: i64, av: i64) -> bool {
    let s = store
        .token_state(jti, Some(fam), Some(u))
        .await
        .expect("state");
    !s.jti_revoked && s.family_live == Some(true) && s.user.is_some_and(|x| x.auth_version == av)
}

/// `token_state` may be answered from memory (issue #17), yet every write that ends a
/// token is seen by the next `token_state` on the same store, even right after the
/// token was read (and so possibly kept) twice.
pub async fn every_write_that_ends_a_token_is_seen_by_token_state_at_once(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    let av = found(store.user(u).await).auth_version;
    let read_twice = |jti: &'static str, fam: &'static str, av: i64| {
        let store = store.clone();
        async move {
            assert!(live(&store, jti, fam, u, av).await, "{jti} live before");
            assert!(live(&store, jti, fam, u, av).await, "{jti} live again");
        }
    };
    // The access token's jti.
    new_family(&store, "f-1", a, Some(u), Some("r-1")).await;
    read_twice("j-1", "f-1", av).await;
    store.revoke_jti("j-1", T0 + 100).await.expect("revoke");
    assert!(
        store
            .token_state("j-1", None, None)
            .await
            .expect("state")
            .jti_revoked
    );
    // The family, directly.
    read_twice("j-2", "f-1", av).await;
    assert!(store.revoke_family("f-1", T0 + 1).await.expect("revoke"));
    assert!(!live(&store, "j-2", "f-1", u, av).await, "revoked family");
    // A reused refresh token.
    new_family(&store, "f-2", a, Some(u), Some("r-2")).await;
    read_twice("j-3", "f-2", av).await;
    let next = refresh("r-2b", "f-2");
    store
        .rotate_refresh_token("r-2", &next, T0 + 2)
        .await
        .expect("rotate");
    store
        .rotate_refresh_token("r-2", &refresh("r-2c", "f-2"), T0 + 3)
        .await
        .expect("reuse");
    assert!(!live(&store, "j-3", "f-2", u, av).await, "reuse revokes");
    // A replayed authorization code.
    store
        .insert_auth_code(&code("c-3", a, u))
        .await
        .expect("insert");
    store.take_auth_code("c-3", T0 + 1).await.expect("take");
    new_family(&store, "f-3", a, Some(u), None).await;
    assert!(!store.set_code_family("c-3", "f-3").await.expect("link"));
    read_twice("j-4", "f-3", av).await;
    store.take_auth_code("c-3", T0 + 2).await.expect("replay");
    assert!(!live(&store, "j-4", "f-3", u, av).await, "replay revokes");
    // Revocation by refresh token (RFC 7009).
    new_family(&store, "f-4", a, Some(u), Some("r-4")).await;
    read_twice("j-5", "f-4", av).await;
    assert!(store
        .revoke_refresh_family("r-4", a, T0 + 4)
        .await
        .expect("revoke")
        .is_some());
    assert!(
        !live(&store, "j-5", "f-4", u, av).await,
        "revoked by refresh token"
    );
    // Withdrawn consent.
    new_family(&store, "f-5", a, Some(u), None).await;
    store
        .grant_consent(u, a, &["api.access.odata".into()], T0)
        .await
        .expect("consent");
    read_twice("j-6", "f-5", av).await;
    assert!(store.revoke_consent(u, a, T0 + 5).await.expect("withdraw"));
    assert!(
        !live(&store, "j-6", "f-5", u, av).await,
        "consent withdrawn"
    );
    // A reset client secret.
    new_family(&store, "f-6", a, Some(u), None).await;
    read_twice("j-7", "f-6", av).await;
    store
        .reset_client_secret(a, "v1.reset", T0 + 6)
        .await
        .expect("reset")
        .expect("exists");
    assert!(!live(&store, "j-7", "f-6", u, av).await, "client reset");
    // The user: a new password moves auth_version; deletion takes the families.
    new_family(&store, "f-7", a, Some(u), None).await;
    read_twice("j-8", "f-7", av).await;
    assert!(store
        .set_password(u, "v1.new", T0 + 7)
        .await
        .expect("password"));
    let av2 = found(store.user(u).await).auth_version;
    assert_ne!(av2, av);
    assert!(
        live(&store, "j-8", "f-7", u, av2).await,
        "the new auth_version is read"
    );
    assert!(store.unlock_user(u).await.expect("unlock"));
    assert!(live(&store, "j-8", "f-7", u, av2).await);
    assert!(store.delete_user(u).await.expect("delete"));
    let s = store
        .token_state("j-8", Some("f-7"), Some(u))
        .await
        .expect("state");
    assert_eq!((s.family_live, s.user), (Some(false), None), "deleted user");
}

fn pushed(verifier: &str, app: i64, expires_at: i64) -> crate::model::token::PushedRequest {
    crate::model::token::PushedRequest {
        verifier: verifier.to_owned(),
        client_app_id: app,
        params: r#"[["response_type","code"]]"#.to_owned(),
        created_at: T0,
        expires_at,
    }
}

/// Takes the pushed request `verifier` of `app` at `now`.
async fn take(
    store: &Arc<dyn Store>,
    verifier: &str,
    app: i64,
    now: i64,
) -> Option<crate::model::token::PushedRequest> {
    store
        .take_pushed_request(verifier, app, now)
        .await
        .expect("take")
}

pub async fn pushed_requests_are_taken_once_by_their_client_before_expiry(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    let mut strict = app(SYSTEM_TENANT_ID, u, "cid-par-other");
    strict.require_pushed_authorization_requests = true;
    let other = store.create_client_app(strict).await.expect("app");
    assert!(
        found(store.client_app(other.id).await).require_pushed_authorization_requests,
        "the application's requirement round-trips"
    );
    let other = other.id;
    store
        .insert_pushed_request(&pushed("par-1", a, T0 + 60))
        .await
        .expect("insert");
    assert!(
        store
            .insert_pushed_request(&pushed("par-1", a, T0 + 60))
            .await
            .is_err(),
        "verifiers are unique"
    );
    assert_eq!(
        take(&store, "par-1", other, T0 + 1).await,
        None,
        "another client's take finds nothing"
    );
    assert_eq!(
        take(&store, "par-1", a, T0 + 60).await,
        None,
        "expired at its expiry"
    );
    assert_eq!(
        take(&store, "par-1", a, T0 + 59).await,
        Some(pushed("par-1", a, T0 + 60))
    );
    assert_eq!(take(&store, "par-1", a, T0 + 2).await, None, "spent");

    store
        .insert_pushed_request(&pushed("par-race", a, T0 + 60))
        .await
        .expect("insert");
    let takes = race((0..6).map(|_| {
        let s = store.clone();
        async move { s.take_pushed_request("par-race", a, T0 + 1).await }
    }))
    .await;
    let won = takes
        .into_iter()
        .filter(|t| t.as_ref().expect("take").is_some())
        .count();
    assert_eq!(won, 1, "of concurrent takes exactly one wins");

    store
        .insert_pushed_request(&pushed("par-old", a, T0 + 10))
        .await
        .expect("insert");
    store
        .insert_pushed_request(&pushed("par-new", a, T0 + 100))
        .await
        .expect("insert");
    store.purge_expired(T0 + 10).await.expect("purge");
    assert_eq!(take(&store, "par-old", a, T0).await, None, "purged");
    assert!(take(&store, "par-new", a, T0).await.is_some());
}
