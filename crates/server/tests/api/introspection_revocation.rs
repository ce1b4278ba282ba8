//! Introspection (RFC 7662), revocation (RFC 7009) and userinfo; administrative acts
//! (deactivation, password reset, deletion, consent revocation) end tokens at once.

use crate::helpers::{backends, spawn_app, Backend, ADMIN_PASSWORD};
use crate::support::oauth::{
    alice, alices_client, alices_job, assert_invalid_token, assert_rfc_error, client_form,
    form_post, introspect, is_active, password_grant, refresh_grant, register, revoke, rfc_error,
    tokens_for, userinfo, Client, ALICE, ALICE_PASSWORD, APPS, INTROSPECT, ODATA, REVOKE, TOKEN,
    USERINFO, USERS,
};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{AuthType, TokenResponse};
use portcullis_core::model::identity::{ROLE_ADMINISTRATOR, ROLE_TENANT_ADMINISTRATOR, ROLE_USER};
use reqwest::Method;
use serde_json::json;

const ALLOWED: &str = "/api/mgmt/oauth/client/allowedapplications";

async fn introspection_and_revocation_follow_rfc_7662_and_7009(b: Backend) {
    let app = spawn_app(b).await;
    let alice_id = alice(&app).await;
    let c = alices_client(&app).await;
    let rs = register(&app, "admin", ADMIN_PASSWORD, "Resource server", json!({})).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;

    let v = introspect(&app, &rs, &access).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], c.client_id.as_str());
    assert_eq!(v["username"], ALICE);
    assert_eq!(v["sub"], alice_id.to_string());
    assert_eq!(v["scope"], ODATA);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["iss"], app.base.as_str());
    assert_eq!(v["tenant"], 1);
    assert!(
        v["exp"].is_i64() && v["iat"].is_i64() && v["jti"].is_string(),
        "{v}"
    );
    let v = introspect(&app, &rs, &refresh).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], c.client_id.as_str());
    assert_eq!(v["username"], ALICE);
    assert_eq!(v["token_type"], "refresh_token");
    assert!(
        v.get("exp").is_none(),
        "HDP refresh tokens never expire: {v}"
    );

    let me = userinfo(&app, &access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let me = me.json();
    assert_eq!(me["sub"], alice_id.to_string());
    assert_eq!(me["username"], ALICE);
    assert_eq!(me["client_id"], c.client_id.as_str());
    assert_eq!(me["scope"], ODATA);
    assert_eq!(me["tenant"], 1);

    // Unknown tokens: inactive, and revoking them is a silent success (RFC 7009 §2.2).
    for unknown in ["no-such-token", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"] {
        assert!(!is_active(&app, &rs, unknown).await);
        revoke(&app, &rs, unknown).await;
    }
    // The caller must authenticate as a client, and send a token.
    let r = app
        .send(form_post(&app, INTROSPECT, None, &[("token", &access)]))
        .await;
    assert_rfc_error(
        &r,
        401,
        "invalid_client",
        "introspection without client auth",
    );
    let r = app
        .send(form_post(
            &app,
            INTROSPECT,
            Some((&rs.client_id, "wrong")),
            &[("token", &access)],
        ))
        .await;
    assert_rfc_error(
        &r,
        401,
        "invalid_client",
        "introspection with a wrong secret",
    );
    let r = client_form(&app, &rs, INTROSPECT, &[]).await;
    assert_rfc_error(&r, 400, "invalid_request", "introspection without a token");
    let r = app
        .send(form_post(&app, REVOKE, None, &[("token", &access)]))
        .await;
    assert_rfc_error(&r, 401, "invalid_client", "revocation without client auth");

    // A client revokes only its own tokens: another client's attempt changes nothing.
    revoke(&app, &rs, &access).await;
    revoke(&app, &rs, &refresh).await;
    assert!(is_active(&app, &rs, &access).await);
    assert!(is_active(&app, &rs, &refresh).await);

    // An access token revoked by itself (its jti); the grant lives on.
    revoke(&app, &c, &access).await;
    assert!(!is_active(&app, &rs, &access).await);
    assert_invalid_token(&userinfo(&app, &access).await);
    assert!(is_active(&app, &rs, &refresh).await);
    let r = refresh_grant(&app, &c, AuthType::BasicAuth, &refresh)
        .await
        .expect("refresh");
    let access2 = r.access_token().secret().clone();
    assert!(is_active(&app, &rs, &access2).await);

    // The refresh token takes its family with it: every access token issued under it.
    revoke(&app, &c, &refresh).await;
    assert!(!is_active(&app, &rs, &refresh).await);
    assert!(!is_active(&app, &rs, &access2).await);
    assert_invalid_token(&userinfo(&app, &access2).await);
    let e = refresh_grant(&app, &c, AuthType::BasicAuth, &refresh).await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidGrant);
    revoke(&app, &c, &refresh).await; // twice: still 200

    // A token of another tenant is inactive to this tenant's clients.
    let acme = app
        .create_tenant(
            "acme",
            &[ROLE_ADMINISTRATOR, ROLE_USER, ROLE_TENANT_ADMINISTRATOR],
        )
        .await;
    let user_role = app.role_id(acme.id, "User").await;
    app.create_user(acme.id, "bob", "Bob-Password-1", vec![user_role])
        .await;
    let acme_client = register(&app, "bob", "Bob-Password-1", "Acme reporting", json!({})).await;
    let (bob_access, bob_refresh) = tokens_for(&app, &acme_client, "bob", "Bob-Password-1").await;
    let v = introspect(&app, &acme_client, &bob_access).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["tenant"], acme.id);
    assert!(
        !is_active(&app, &rs, &bob_access).await,
        "another tenant's access token"
    );
    assert!(
        !is_active(&app, &rs, &bob_refresh).await,
        "another tenant's refresh token"
    );
    assert!(is_active(&app, &acme_client, &bob_refresh).await);

    // Userinfo wants a Bearer token in the header (RFC 6750 §2.1), nowhere else.
    let r = app.send(app.http.get(app.url(USERINFO))).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(
        !challenge.contains("error="),
        "no error code without a token (§3.1): {challenge}"
    );
    let r = app
        .send(
            app.http
                .get(app.url(&format!("{USERINFO}?access_token={bob_access}"))),
        )
        .await;
    assert_eq!(
        r.status, 401,
        "a token in the query is not accepted: {}",
        r.text
    );
    assert_invalid_token(&userinfo(&app, "garbage").await);
    let mut tampered = bob_access.clone();
    tampered.pop();
    tampered.push(if bob_access.ends_with('A') { 'B' } else { 'A' });
    assert_invalid_token(&userinfo(&app, &tampered).await);
}

/// Each administrative act ends existing tokens at once.
async fn deactivation_reset_deletion_and_consent_revocation_end_tokens_at_once(b: Backend) {
    let app = spawn_app(b).await;
    let alice_id = alice(&app).await;
    let rs = register(&app, "admin", ADMIN_PASSWORD, "Resource server", json!({})).await;

    let check_live = |access: String, refresh: String| {
        let (app, rs) = (&app, &rs);
        async move {
            assert!(is_active(app, rs, &access).await);
            assert!(is_active(app, rs, &refresh).await);
            assert_eq!(userinfo(app, &access).await.status, 200);
        }
    };
    let check_dead = |what: &'static str, c: Client, access: String, refresh: String| {
        let (app, rs) = (&app, &rs);
        async move {
            assert!(!is_active(app, rs, &access).await, "{what}: access token");
            assert!(!is_active(app, rs, &refresh).await, "{what}: refresh token");
            assert_invalid_token(&userinfo(app, &access).await);
            let r = client_form(
                app,
                &c,
                TOKEN,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await;
            assert_eq!(r.status / 100, 4, "{what}: refresh refused: {}", r.text);
        }
    };

    let as_alice = |method, path: &str| app.send(app.as_user(method, path, ALICE, ALICE_PASSWORD));

    // Revoking the consent (as Alice, in the allowed-applications API).
    let c = alices_client(&app).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    check_live(access.clone(), refresh.clone()).await;
    let listed = as_alice(Method::GET, ALLOWED).await;
    assert_eq!(
        listed.json()["applications"][0]["id"],
        c.id,
        "{}",
        listed.text
    );
    let r = as_alice(Method::DELETE, &format!("{ALLOWED}/{}", c.id)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    check_dead("consent revoked", c.clone(), access, refresh).await;

    // Resetting the client secret.
    let c = alices_client(&app).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    check_live(access.clone(), refresh.clone()).await;
    let r = as_alice(Method::PUT, &format!("{APPS}/{}/reset", c.id)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_secret = r.json()["clientSecret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    let reset = Client {
        secret: new_secret,
        ..c.clone()
    };
    check_dead("client secret reset", reset.clone(), access, refresh).await;
    // The new secret works for new grants.
    let (access, _) = tokens_for(&app, &reset, ALICE, ALICE_PASSWORD).await;
    assert!(is_active(&app, &rs, &access).await);

    // Deleting the client application.
    let c = alices_client(&app).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    let k = alices_job(&app, "Job").await;
    let r = client_form(&app, &k, TOKEN, &[("grant_type", "client_credentials")]).await;
    let job_access = r.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert!(is_active(&app, &rs, &job_access).await);
    check_live(access.clone(), refresh.clone()).await;
    for gone in [&c, &k] {
        let r = as_alice(Method::DELETE, &format!("{APPS}/{}", gone.id)).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    assert!(
        !is_active(&app, &rs, &job_access).await,
        "client_credentials token of a deleted client"
    );
    assert!(
        !is_active(&app, &rs, &access).await,
        "client deleted: access token"
    );
    assert!(
        !is_active(&app, &rs, &refresh).await,
        "client deleted: refresh token"
    );
    assert_invalid_token(&userinfo(&app, &access).await);

    // Deactivating the user.
    let c = alices_client(&app).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    check_live(access.clone(), refresh.clone()).await;
    let r = app
        .send(
            app.as_admin(Method::PUT, &format!("{USERS}/{alice_id}"))
                .json(&json!({
                    "userName": ALICE, "statusInfo": {"status": 0}
                })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    check_dead("user deactivated", c.clone(), access, refresh).await;
    let e = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None).await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidGrant);
}

backends!(
    introspection_and_revocation_follow_rfc_7662_and_7009,
    deactivation_reset_deletion_and_consent_revocation_end_tokens_at_once,
);
