//! The refresh token grant (RFC 6749 §6): with rotation on, each refresh returns a new
//! token and reuse revokes the family; of concurrent refreshes exactly one wins.

use crate::helpers::{backends, spawn_app, Backend, ADMIN_PASSWORD};
use crate::support::oauth::{
    alice, alices_client, assert_invalid_token, assert_rfc_error, client_form, form_post,
    is_active, password_grant, refresh_grant, register, rfc_error, set_rotation, tokens_for,
    userinfo, ALICE, ALICE_PASSWORD, TOKEN,
};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{AuthType, TokenResponse};
use serde_json::{json, Value};

async fn with_rotation_each_refresh_returns_a_new_token_and_reuse_revokes_the_family(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let c = alices_client(&app).await;
    let rs = register(&app, "admin", ADMIN_PASSWORD, "Resource server", json!({})).await;
    set_rotation(&app, true).await;

    let t = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None)
        .await
        .expect("password grant");
    let first = t.refresh_token().expect("refresh").secret().clone();
    let r = refresh_grant(&app, &c, AuthType::RequestBody, &first)
        .await
        .expect("refresh");
    let second = r.refresh_token().expect("a successor").secret().clone();
    assert_ne!(second, first, "rotated");
    assert!(
        !is_active(&app, &rs, &first).await,
        "the spent token is no longer active"
    );
    assert!(is_active(&app, &rs, &second).await);
    let r = refresh_grant(&app, &c, AuthType::BasicAuth, &second)
        .await
        .expect("refresh");
    let third = r.refresh_token().expect("a successor").secret().clone();
    let access = r.access_token().secret().clone();
    assert!(is_active(&app, &rs, &access).await);

    // Reusing a spent token revokes the whole family: the current token and its
    // access tokens with it.
    let e = refresh_grant(&app, &c, AuthType::BasicAuth, &first).await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidGrant);
    let e = refresh_grant(&app, &c, AuthType::BasicAuth, &third).await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidGrant);
    assert!(!is_active(&app, &rs, &third).await);
    assert!(!is_active(&app, &rs, &access).await);

    // Back to HDP's behaviour: a new grant's token is returned unchanged.
    set_rotation(&app, false).await;
    let t = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None)
        .await
        .expect("password grant");
    let token = t.refresh_token().expect("refresh").secret().clone();
    let r = refresh_grant(&app, &c, AuthType::BasicAuth, &token)
        .await
        .expect("refresh");
    assert_eq!(r.refresh_token().map(|t| t.secret().clone()), Some(token));
}

async fn concurrent_refreshes_with_rotation_have_exactly_one_winner(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let c = alices_client(&app).await;
    let rs = register(&app, "admin", ADMIN_PASSWORD, "Resource server", json!({})).await;
    set_rotation(&app, true).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;

    const N: usize = 8;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let req = form_post(
            &app,
            TOKEN,
            Some((&c.client_id, &c.secret)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        );
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("JSON");
            (status, body)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        match status {
            200 => winners.push(body),
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            _ => panic!("unexpected {status}: {body}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one refresh succeeds: {winners:?}"
    );
    let won = &winners[0];
    let successor = won["refresh_token"].as_str().expect("successor");
    assert_ne!(successor, refresh);

    // The losers reused a spent token: the family is revoked, the winner's new tokens too.
    let r = client_form(
        &app,
        &c,
        TOKEN,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", successor),
        ],
    )
    .await;
    assert_rfc_error(&r, 400, "invalid_grant", "the winner's successor");
    assert!(!is_active(&app, &rs, successor).await);
    assert!(!is_active(&app, &rs, won["access_token"].as_str().expect("access")).await);
    assert!(!is_active(&app, &rs, &access).await);
    assert_invalid_token(&userinfo(&app, &access).await);
}

backends!(
    with_rotation_each_refresh_returns_a_new_token_and_reuse_revokes_the_family,
    concurrent_refreshes_with_rotation_have_exactly_one_winner,
);
