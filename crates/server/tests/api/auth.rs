//! Management authentication: HTTP Basic, lockout (HDP limits 2/3/4), the credential
//! cache, and what callers are told.

use crate::helpers::{backends, spawn_app, Backend, Reply, TestApp, ADMIN_PASSWORD};
use portcullis_core::model::identity::ROLE_USER;
use reqwest::Method;

const APPS: &str = "/api/mgmt/oauth/client/applications";

/// `times` requests as alice with a wrong password, each refused with HDP code `code`.
async fn alice_fails(app: &TestApp, times: usize, code: u32) {
    for _ in 0..times {
        get_apps(app, "alice", "wrong").await.hdp_error(401, code);
    }
}

/// `GET` the applications as `login` with `password`.
async fn get_apps(app: &TestApp, login: &str, password: &str) -> Reply {
    app.send_as(Method::GET, APPS, login, password).await
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_answer(b: Backend) {
    let app = spawn_app(b).await;
    let wrong = get_apps(&app, "admin", "nope").await;
    let unknown = get_apps(&app, "nobody", "nope").await;
    assert_eq!(
        wrong.hdp_error(401, 222209002),
        "Invalid user name or password."
    );
    assert_eq!(unknown.text, wrong.text);
    assert_eq!(unknown.status, wrong.status);
}

async fn malformed_or_foreign_authorization_headers_are_refused_clearly(b: Backend) {
    let app = spawn_app(b).await;
    let with = |v: &str| {
        app.http
            .get(app.url(APPS))
            .header("authorization", v.to_owned())
    };
    for (header, says) in [
        ("Basic !!!", "Malformed"),
        ("Basic YWRtaW4=", "Malformed"),
        ("Digest abc", "Digest"),
        ("Basic", "Basic"),
    ] {
        let msg = app.send(with(header)).await.hdp_error(401, 222209001);
        assert!(msg.contains(says), "{header}: {msg}");
    }
}

async fn three_failures_lock_the_account_for_thirty_minutes(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    alice_fails(&app, 2, 222209002).await;
    let third = get_apps(&app, "alice", "wrong").await;
    let msg = third.hdp_error(401, 222209003);
    assert!(msg.contains("locked"), "{msg}");
    assert_eq!(third.header("retry-after"), Some("1800"));
    // Even the right password is refused while locked, with the same clear message.
    let right = get_apps(&app, "alice", "Alice-Password-1").await;
    assert!(right.hdp_error(401, 222209003).contains("until"));
    // Other accounts are unaffected.
    assert_eq!(app.send_as_admin(Method::GET, APPS).await.status, 200);
    // The lock ends after the period.
    app.clock.advance(1801);
    assert_eq!(
        get_apps(&app, "alice", "Alice-Password-1").await.status,
        200
    );
}

async fn failures_older_than_the_interval_do_not_count(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    alice_fails(&app, 2, 222209002).await;
    app.clock.advance(901);
    alice_fails(&app, 2, 222209002).await;
    alice_fails(&app, 1, 222209003).await;
}

async fn a_success_clears_earlier_failures(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    alice_fails(&app, 2, 222209002).await;
    assert_eq!(
        get_apps(&app, "alice", "Alice-Password-1").await.status,
        200
    );
    alice_fails(&app, 2, 222209002).await;
}

async fn the_lockout_limits_are_read_from_the_limits(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    app.set_limit(
        portcullis_core::model::limits::LimitLevel::System,
        3,
        Some(1),
    )
    .await;
    app.set_limit(
        portcullis_core::model::limits::LimitLevel::System,
        4,
        Some(60),
    )
    .await;
    let r = get_apps(&app, "alice", "wrong").await;
    r.hdp_error(401, 222209003);
    assert_eq!(r.header("retry-after"), Some("60"));
    app.set_limit(
        portcullis_core::model::limits::LimitLevel::System,
        3,
        Some(0),
    )
    .await;
    app.clock.advance(61);
    alice_fails(&app, 5, 222209002).await;
}

async fn a_password_change_invalidates_cached_credentials(b: Backend) {
    let app = spawn_app(b).await;
    let alice = app.create_plain_user("alice", "Alice-Password-1").await;
    assert_eq!(
        get_apps(&app, "alice", "Alice-Password-1").await.status,
        200
    );
    assert_eq!(app.state.credentials.len(), 1, "one cached credential");
    let hash = app
        .state
        .ctx
        .hasher
        .hash("Alice-Password-2")
        .await
        .expect("hash");
    app.state
        .ctx
        .store
        .set_password(alice.id, &hash, 0)
        .await
        .expect("set password");
    get_apps(&app, "alice", "Alice-Password-1")
        .await
        .hdp_error(401, 222209002);
    assert_eq!(
        get_apps(&app, "alice", "Alice-Password-2").await.status,
        200
    );
}

async fn cached_credentials_expire(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(app.send_as_admin(Method::GET, APPS).await.status, 200);
    assert_eq!(app.send_as_admin(Method::GET, APPS).await.status, 200);
    assert_eq!(app.state.credentials.len(), 1);
    app.clock.advance(portcullis_core::auth::CACHE_TTL + 1);
    assert_eq!(app.send_as_admin(Method::GET, APPS).await.status, 200);
    // A wrong password is never served from the cache.
    get_apps(&app, "admin", "Admin-Password-X")
        .await
        .hdp_error(401, 222209002);
}

async fn a_locked_account_cannot_use_a_cached_credential(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    assert_eq!(
        get_apps(&app, "alice", "Alice-Password-1").await.status,
        200
    );
    for _ in 0..3 {
        get_apps(&app, "alice", "wrong").await;
    }
    get_apps(&app, "alice", "Alice-Password-1")
        .await
        .hdp_error(401, 222209003);
}

async fn a_name_in_several_tenants_needs_the_tenant(b: Backend) {
    let app = spawn_app(b).await;
    let acme = app.create_tenant("acme", &[]).await;
    app.create_plain_user("sam", "Sam-System-1").await;
    app.create_user(acme.id, "sam", "Sam-Acme-1", vec![ROLE_USER])
        .await;
    let r = get_apps(&app, "sam", "Sam-System-1").await;
    assert!(r.hdp_error(401, 222209002).contains("name@tenant"));
    assert_eq!(get_apps(&app, "sam@acme", "Sam-Acme-1").await.status, 200);
    assert_eq!(
        get_apps(&app, "sam@system", "Sam-System-1").await.status,
        200
    );
    get_apps(&app, "sam@acme", "Sam-System-1")
        .await
        .hdp_error(401, 222209002);
    assert_eq!(get_apps(&app, "admin", ADMIN_PASSWORD).await.status, 200);
}

backends!(
    a_wrong_password_and_an_unknown_user_get_the_same_answer,
    malformed_or_foreign_authorization_headers_are_refused_clearly,
    three_failures_lock_the_account_for_thirty_minutes,
    failures_older_than_the_interval_do_not_count,
    a_success_clears_earlier_failures,
    the_lockout_limits_are_read_from_the_limits,
    a_password_change_invalidates_cached_credentials,
    cached_credentials_expire,
    a_locked_account_cannot_use_a_cached_credential,
    a_name_in_several_tenants_needs_the_tenant,
);
