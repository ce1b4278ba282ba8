//! Token exchange (RFC 8693, issue 15 item 3): down-scoping and audience change of a
//! Portcullis access token, delegation (`act`) and impersonation by per-client policy,
//! every refusal with the RFC's error, and the vault's retrieval interface against a
//! second, real Portcullis as the upstream: fresh (no upstream call), expiring
//! (refreshed first), concurrent retrievals on two nodes making one upstream refresh,
//! and an upstream failure named in the error.

use crate::helpers::{
    backends, fresh_database, spawn_app, spawn_with, test_config, Backend, Reply, TestApp,
    ADMIN_PASSWORD,
};
use crate::support::oauth::{access_claims as claims, access_token_of as access_token};
use crate::support::oauth::{
    client_form, form_post, register, revoke, set_rotation, tokens_for, userinfo, Client, ALICE,
    ALICE_PASSWORD, INTROSPECT, MGMT, ODATA, TOKEN,
};
use portcullis_core::clock::Clock;
use portcullis_core::model::token_exchange::{RetrievalOutcome, GRANT};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const APPS: &str = "/api/mgmt/oauth/client/applications";
const OAUTH_APPS: &str = "/api/mgmt/oauthapps";
const PROFILES: &str = "/api/mgmt/oauthprofiles";
const BOB: &str = "bob";
const BOB_PASSWORD: &str = "Builder-Bob-77";

/// Lets the system tenant's tokens carry both API scopes.
async fn allow_both_scopes(app: &TestApp) {
    let body = json!({"name": "system", "status": 1, "allowedScopes": [ODATA, MGMT]});
    let r = app
        .send_json_as_admin(Method::PUT, "/api/admin/tenants/1", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A client registered by the administrator with these grants and scopes.
async fn admin_client(app: &TestApp, name: &str, grants: &[&str], scopes: &[&str]) -> Client {
    register(
        app,
        "admin",
        ADMIN_PASSWORD,
        name,
        json!({"grantTypes": grants, "scopes": scopes}),
    )
    .await
}

/// A token-exchange request by `c` with `subject` and the `extra` fields.
async fn exchange(app: &TestApp, c: &Client, subject: &str, extra: &[(&str, &str)]) -> Reply {
    let mut fields = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    fields.extend_from_slice(extra);
    client_form(app, c, TOKEN, &fields).await
}

/// The RFC error of a refused exchange, with its description.
#[track_caller]
fn refused(r: &Reply, error: &str) -> String {
    assert_eq!(
        r.status,
        if error == "invalid_client" { 401 } else { 400 },
        "{}",
        r.text
    );
    assert_eq!(r.json()["error"], error, "{}", r.text);
    r.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A client's own token (`client_credentials`).
async fn own_token(app: &TestApp, c: &Client) -> String {
    let r = client_form(app, c, TOKEN, &[("grant_type", "client_credentials")]).await;
    access_token(&r)
}

/// A password-grant access token for `login` through `c`, for `scope`.
async fn user_token(app: &TestApp, c: &Client, login: &str, password: &str, scope: &str) -> String {
    let r = client_form(
        app,
        c,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
            ("scope", scope),
        ],
    )
    .await;
    access_token(&r)
}

async fn set_policy(app: &TestApp, c: &Client, name: &str, grants: &[&str], policy: &str) -> Reply {
    let body = json!({
        "name": name, "redirectUrls": ["https://app.example/callback"],
        "grantTypes": grants, "tokenExchangePolicy": policy
    });
    app.send_json_as_admin(Method::PUT, &format!("{APPS}/{}", c.id), &body)
        .await
}

async fn down_scoping_audience_change_delegation_and_impersonation(b: Backend) {
    let app = spawn_app(b).await;
    allow_both_scopes(&app).await;
    app.create_plain_user(BOB, BOB_PASSWORD).await;
    let front = admin_client(
        &app,
        "Front",
        &["password", "refresh_token"],
        &[ODATA, MGMT],
    )
    .await;
    let grants = [GRANT, "client_credentials"];
    let service = admin_client(&app, "Service", &grants, &[ODATA, MGMT]).await;
    let subject = user_token(
        &app,
        &front,
        BOB,
        BOB_PASSWORD,
        "api.access.odata api.access.mgmt",
    )
    .await;
    let bob_id = claims(&app, &subject).sub;
    let actor = own_token(&app, &service).await;

    // The metadata lists the grant.
    let meta = app
        .send(
            app.http
                .get(app.url("/.well-known/oauth-authorization-server")),
        )
        .await
        .json();
    assert!(meta["grant_types_supported"]
        .as_array()
        .expect("grants")
        .iter()
        .any(|g| g == GRANT));
    assert!(meta["scopes_supported"]
        .as_array()
        .expect("scopes")
        .iter()
        .any(|s| s == "vault.retrieve"));

    // Delegation (the default policy): an actor is required.
    let msg = refused(
        &exchange(&app, &service, &subject, &[]).await,
        "unauthorized_client",
    );
    assert!(msg.contains("delegation"), "{msg}");

    // Down-scoping by delegation: the new token is Bob's, for the service, with act.
    let actor_fields = [
        ("actor_token", actor.as_str()),
        ("actor_token_type", ACCESS_TOKEN),
    ];
    let mut fields = actor_fields.to_vec();
    fields.push(("scope", ODATA));
    let r = exchange(&app, &service, &subject, &fields).await;
    let v = r.json();
    assert_eq!(v["issued_token_type"], ACCESS_TOKEN, "{}", r.text);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], ODATA);
    assert!(
        v.get("refresh_token").is_none(),
        "no refresh token (RFC 8693 §2.2.1)"
    );
    let delegated = access_token(&r);
    let c = claims(&app, &delegated);
    assert_eq!((c.sub.as_str(), c.scope.as_str()), (bob_id.as_str(), ODATA));
    assert_eq!(c.client_id, service.client_id);
    let act = c.act.clone().expect("act");
    assert_eq!(
        act.sub, service.client_id,
        "the actor is the service itself"
    );
    assert_eq!(act.act, None);
    assert!(
        c.exp <= claims(&app, &subject).exp,
        "never outlives the subject token"
    );

    // Introspection shows the actor (RFC 8693 §4.1).
    let r = client_form(&app, &service, INTROSPECT, &[("token", &delegated)]).await;
    assert_eq!(
        r.json()["act"]["sub"],
        service.client_id.as_str(),
        "{}",
        r.text
    );

    // Nested act: exchanging the delegated token again keeps the prior actor inside.
    let r = exchange(&app, &service, &delegated, &actor_fields).await;
    let nested = claims(&app, &access_token(&r)).act.expect("act");
    assert_eq!(nested.act.map(|a| a.sub), Some(service.client_id.clone()));

    // Audience change to a registered resource (the management API), by `resource`
    // and by `audience`.
    let mgmt_uri = app.url("/api/mgmt");
    for param in ["resource", "audience"] {
        let mut fields = actor_fields.to_vec();
        fields.push((param, mgmt_uri.as_str()));
        let r = exchange(&app, &service, &subject, &fields).await;
        let c = claims(&app, &access_token(&r));
        assert!(c.has_audience(&mgmt_uri), "{param}: {:?}", c.aud);
        assert_eq!(c.scope, MGMT, "narrowed to what the resource accepts");
    }

    // Refusals.
    let mut wider = actor_fields.to_vec();
    wider.push(("scope", MGMT));
    let odata_only = user_token(&app, &front, BOB, BOB_PASSWORD, ODATA).await;
    let msg = refused(
        &exchange(&app, &service, &odata_only, &wider).await,
        "invalid_scope",
    );
    assert!(msg.contains("only narrow"), "{msg}");
    let mut unknown = actor_fields.to_vec();
    unknown.push(("audience", "https://nowhere.example/api"));
    refused(
        &exchange(&app, &service, &subject, &unknown).await,
        "invalid_target",
    );
    let mut unknown = actor_fields.to_vec();
    unknown.push(("resource", "https://nowhere.example/api"));
    refused(
        &exchange(&app, &service, &subject, &unknown).await,
        "invalid_target",
    );
    let foreign_actor = own_token(
        &app,
        &admin_client(&app, "Other", &["client_credentials"], &[ODATA]).await,
    )
    .await;
    let r = exchange(
        &app,
        &service,
        &subject,
        &[
            ("actor_token", &foreign_actor),
            ("actor_token_type", ACCESS_TOKEN),
        ],
    )
    .await;
    assert!(refused(&r, "invalid_grant").contains("issued to this client"));
    let r = exchange(&app, &service, &subject, &[("actor_token", &actor)]).await;
    refused(&r, "invalid_request");
    let r = exchange(
        &app,
        &service,
        &subject,
        &[(
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        )],
    )
    .await;
    refused(&r, "invalid_request");
    let r = client_form(
        &app,
        &service,
        TOKEN,
        &[("grant_type", GRANT), ("subject_token", &subject)],
    )
    .await;
    refused(&r, "invalid_request");
    let r = exchange(&app, &service, "not-a-token", &actor_fields).await;
    refused(&r, "invalid_grant");
    let r = exchange(&app, &service, &actor, &actor_fields).await;
    assert!(refused(&r, "invalid_grant").contains("user's access token"));
    // A client without the grant.
    let r = exchange(&app, &front, &subject, &actor_fields).await;
    refused(&r, "unauthorized_client");

    // Impersonation, once the administrator allows it: no actor, no act.
    let r = set_policy(&app, &service, "Service", &grants, "impersonation").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["tokenExchangePolicy"], "impersonation");
    let r = exchange(&app, &service, &subject, &[("scope", ODATA)]).await;
    let c = claims(&app, &access_token(&r));
    assert_eq!((c.sub.as_str(), c.act), (bob_id.as_str(), None));
    let r = app
        .send_as_admin(Method::GET, &format!("{APPS}/{}", service.id))
        .await;
    assert_eq!(r.json()["tokenExchangePolicy"], "impersonation");
    let r = set_policy(&app, &service, "Service", &grants, "both").await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Revoked and expired subject tokens.
    revoke(&app, &front, &subject).await;
    let r = exchange(&app, &service, &subject, &[]).await;
    assert!(refused(&r, "invalid_grant").contains("no longer valid"));
    let fresh = user_token(&app, &front, BOB, BOB_PASSWORD, ODATA).await;
    app.clock.advance(3601);
    let r = exchange(&app, &service, &fresh, &[]).await;
    assert!(refused(&r, "invalid_grant").contains("expired"));
    // A failed request changed nothing: the policy is still what the admin set.
    assert_eq!(
        app.state
            .ctx
            .store
            .exchange_policy(service.id)
            .await
            .expect("policy")
            .as_str(),
        "impersonation"
    );
}

async fn only_administrators_give_the_grant_vault_retrieve_and_a_policy(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user(BOB, BOB_PASSWORD).await;
    for extra in [
        json!({"grantTypes": [GRANT]}),
        json!({"scopes": [ODATA, "vault.retrieve"]}),
        json!({"tokenExchangePolicy": "impersonation"}),
    ] {
        let mut body = json!({"name": "Mine", "redirectUrls": ["https://app.example/callback"]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = app
            .send(
                app.as_user(Method::POST, APPS, BOB, BOB_PASSWORD)
                    .json(&body),
            )
            .await;
        assert_eq!(r.status, 403, "{extra}: {}", r.text);
    }
    let count = app
        .raw_strings("SELECT name FROM client_apps WHERE name = 'Mine'")
        .await;
    assert!(count.is_empty(), "a refused registration stores nothing");
    // Dynamic registration cannot ask for either: model/client_metadata.rs's unit test.
}

// ---------------------------------------------------------------------------------
// The vault's retrieval interface
// ---------------------------------------------------------------------------------

/// The vault's nodes sit behind one public URL, so they name the same issuer.
const PUBLIC_URL: &str = "https://portcullis.test";

/// The vault's configuration: its upstreams run on 127.0.0.1.
fn vault_config(url: &str) -> portcullis_server::config::Config {
    portcullis_server::config::Config {
        outbound_allow: vec!["127.0.0.1".into()],
        public_url: Some(PUBLIC_URL.into()),
        ..test_config(url)
    }
}

/// A TCP relay to `target` counting the connections it relays (upstream calls) and
/// holding each for `delay`, so concurrent retrievals overlap with the first's call.
async fn counting_relay(target: &str, delay: Duration) -> (String, Arc<AtomicUsize>) {
    let target = target.strip_prefix("http://").expect("http").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

/// Here (the vault) and a second Portcullis as the upstream, reached through a
/// counting relay; Bob, who has a profile with Alice's upstream tokens at the OAuth
/// application "Upstream", and the agent client given `vault.retrieve`.
struct Vault {
    here: TestApp,
    up: TestApp,
    up_client: Client,
    calls: Arc<AtomicUsize>,
    app_id: i64,
    profile: i64,
    agent: Client,
}

impl Vault {
    async fn start(b: Backend, delay: Duration) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let url = fresh_database(b, &dir).await;
        let here = spawn_with(vault_config(&url), dir).await;
        let up = spawn_app(b).await;
        up.create_plain_user(ALICE, ALICE_PASSWORD).await;
        let up_client = register(
            &up,
            "admin",
            ADMIN_PASSWORD,
            "Vault",
            json!({"redirectUrls": [here.url("/oauth2callback")]}),
        )
        .await;
        let (relay, calls) = counting_relay(&up.base, delay).await;
        here.create_plain_user(BOB, BOB_PASSWORD).await;
        let body = json!({
            "name": "Upstream", "dataStore": 63, "description": "",
            "clientId": up_client.client_id, "clientSecret": up_client.secret,
            "authorizeURI": up.url("/oauth2/authorize"),
            "tokenURI": format!("{relay}/oauth2/token"), "scope": ODATA
        });
        let r = here
            .send(here.as_admin(Method::POST, OAUTH_APPS).json(&body))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let app_id = r.json()["id"].as_i64().expect("id");
        let (access, refresh) = tokens_for(&up, &up_client, ALICE, ALICE_PASSWORD).await;
        let r = here
            .send(
                here.as_user(Method::POST, PROFILES, BOB, BOB_PASSWORD)
                    .json(&json!({
                        "name": "Bobs_upstream", "oauthAppId": app_id,
                        "accessToken": access, "refreshToken": refresh
                    })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let profile = r.json()["id"].as_i64().expect("id");
        let agent = admin_client(
            &here,
            "Agent",
            &["password", GRANT],
            &[ODATA, "vault.retrieve"],
        )
        .await;
        Self {
            here,
            up,
            up_client,
            calls,
            app_id,
            profile,
            agent,
        }
    }

    /// Bob's Portcullis access token through the agent.
    async fn bobs_token(&self) -> String {
        user_token(&self.here, &self.agent, BOB, BOB_PASSWORD, ODATA).await
    }

    /// The stored profile's access-token expiry, set straight in the database.
    async fn expire_at(&self, at: i64) {
        self.here
            .raw_execute(&format!(
                "UPDATE oauth_profiles SET access_expires_at = {at} WHERE id = {}",
                self.profile
            ))
            .await;
    }

    async fn stored_access(&self) -> String {
        let p = self.here.state.ctx.store.oauth_profile(self.profile).await;
        let p = p.expect("read").expect("profile");
        let tokens =
            portcullis_core::vault::profiles::reveal(&self.here.state.ctx, &p).expect("reveal");
        tokens.access_token.expect("access token")
    }

    async fn outcomes(&self) -> Vec<RetrievalOutcome> {
        let records = self
            .here
            .state
            .ctx
            .store
            .vault_retrievals(self.profile)
            .await;
        records
            .expect("records")
            .into_iter()
            .map(|r| r.outcome)
            .collect()
    }
}

/// A retrieval of Bob's upstream token for "Upstream" by `audience`.
async fn retrieve(v: &Vault, on: &TestApp, subject: &str) -> Reply {
    exchange(
        on,
        &v.agent,
        subject,
        &[
            ("requested_token_type", ACCESS_TOKEN),
            ("audience", "Upstream"),
        ],
    )
    .await
}

/// Each retrieval is one `vault_retrieved` audit event (issue 16 item 2) naming the
/// client and the user, never the token handed over.
async fn each_retrieval_is_one_audit_event_without_the_token(b: Backend) {
    let v = Vault::start(b, Duration::ZERO).await;
    let subject = v.bobs_token().await;
    v.expire_at(v.here.clock.now() + 1800).await;
    let r = retrieve(&v, &v.here, &subject).await;
    let handed = access_token(&r);
    let r = v
        .here
        .send_as_admin(Method::GET, "/api/admin/events?type=vault_retrieved")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let events = r.json()["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["clientId"], v.agent.client_id.as_str());
    assert_eq!(events[0]["subject"], format!("oauth_profile {}", v.profile));
    assert_eq!(events[0]["reason"], "stored");
    assert!(!r.text.contains(&handed) && !r.text.contains(&subject));
}

async fn the_vault_hands_over_fresh_tokens_and_refreshes_expiring_ones_first(b: Backend) {
    let v = Vault::start(b, Duration::ZERO).await;
    let subject = v.bobs_token().await;
    let now = v.here.clock.now();

    // Fresh: the stored token, its remaining lifetime, no upstream call.
    v.expire_at(now + 1800).await;
    let stored = v.stored_access().await;
    let r = retrieve(&v, &v.here, &subject).await;
    let body = r.json();
    assert_eq!(access_token(&r), stored);
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(v.calls.load(Ordering::SeqCst), 0, "no upstream call");
    // By the application's URL as `resource`, too.
    let url = format!("{PUBLIC_URL}{OAUTH_APPS}/{}", v.app_id);
    let r = exchange(&v.here, &v.agent, &subject, &[("resource", &url)]).await;
    assert_eq!(access_token(&r), stored);
    assert_eq!(v.calls.load(Ordering::SeqCst), 0);

    // Expiring within the margin (60 s): refreshed first, one upstream call.
    v.expire_at(now + 30).await;
    let r = retrieve(&v, &v.here, &subject).await;
    let renewed = access_token(&r);
    assert_ne!(renewed, stored);
    assert_eq!(r.json()["expires_in"], 3600, "the upstream's lifetime");
    assert_eq!(v.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        userinfo(&v.up, &renewed).await.status,
        200,
        "a real upstream token"
    );
    assert_eq!(
        v.outcomes().await,
        [
            RetrievalOutcome::Stored,
            RetrievalOutcome::Stored,
            RetrievalOutcome::Refreshed
        ]
    );
    // No token value in the record table.
    let rows = v
        .here
        .raw_strings("SELECT outcome FROM vault_retrievals")
        .await;
    assert!(rows
        .iter()
        .all(|r| !r.contains(&renewed) && !r.contains(&stored)));

    // A DPoP proof on a retrieval binds nothing: the upstream's token is not ours to
    // bind, and the answer says Bearer (RFC 9449 §5: token_type tells the client).
    // (This server's public URL is PUBLIC_URL, the htu a proof names.)
    let proof = crate::dpop::Key::es256().sign(&json!({"htm": "POST",
        "htu": format!("{PUBLIC_URL}{TOKEN}"), "iat": v.here.clock.now(), "jti": "retrieval-1"}));
    let req = form_post(
        &v.here,
        TOKEN,
        Some((&v.agent.client_id, &v.agent.secret)),
        &[
            ("grant_type", GRANT),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN),
            ("requested_token_type", ACCESS_TOKEN),
            ("audience", "Upstream"),
        ],
    )
    .header("DPoP", proof);
    let r = v.here.send(req).await;
    assert_eq!(access_token(&r), renewed);
    assert_eq!(r.json()["token_type"], "Bearer");
    assert_eq!(
        v.calls.load(Ordering::SeqCst),
        1,
        "still fresh: no upstream call"
    );

    // Refusals.
    let plain = admin_client(&v.here, "Plain", &["password", GRANT], &[ODATA]).await;
    let plain_token = user_token(&v.here, &plain, BOB, BOB_PASSWORD, ODATA).await;
    let r = exchange(&v.here, &plain, &plain_token, &[("audience", "Upstream")]).await;
    assert!(refused(&r, "unauthorized_client").contains("vault.retrieve"));
    v.here.create_plain_user(ALICE, ALICE_PASSWORD).await;
    let alices = user_token(&v.here, &v.agent, ALICE, ALICE_PASSWORD, ODATA).await;
    let r = retrieve(&v, &v.here, &alices).await;
    assert!(
        refused(&r, "invalid_grant").contains("no OAuth profile"),
        "Bob's profile is not Alice's"
    );
    let r = exchange(&v.here, &v.agent, &subject, &[("audience", "Nowhere")]).await;
    refused(&r, "invalid_target");
    let r = exchange(
        &v.here,
        &v.agent,
        &subject,
        &[("resource", &format!("{PUBLIC_URL}{OAUTH_APPS}/999"))],
    )
    .await;
    refused(&r, "invalid_target");
    let r = retrieve(&v, &v.here, &plain_token).await;
    assert!(refused(&r, "invalid_grant").contains("through this client"));
    let expired = v.bobs_token().await;
    v.here.clock.advance(3601);
    let r = retrieve(&v, &v.here, &expired).await;
    assert!(refused(&r, "invalid_grant").contains("expired"));
    assert_eq!(v.outcomes().await.len(), 4, "refusals retrieve nothing");

    // An upstream failure: the refresh token revoked upstream.
    let subject = v.bobs_token().await;
    let p = v
        .here
        .state
        .ctx
        .store
        .oauth_profile(v.profile)
        .await
        .expect("read")
        .expect("p");
    let refresh = portcullis_core::vault::profiles::reveal(&v.here.state.ctx, &p)
        .expect("reveal")
        .refresh_token;
    revoke(&v.up, &v.up_client, &refresh).await;
    v.expire_at(v.here.clock.now() + 10).await;
    let r = retrieve(&v, &v.here, &subject).await;
    let msg = refused(&r, "invalid_grant");
    assert!(
        msg.contains("invalid_grant (HTTP 400)"),
        "names the upstream answer: {msg}"
    );
    assert!(
        !msg.contains(&refresh) && !msg.contains(&v.up_client.secret),
        "{msg}"
    );
    assert_eq!(
        v.outcomes().await.last(),
        Some(&RetrievalOutcome::UpstreamFailed)
    );
}

async fn concurrent_retrievals_of_an_expiring_token_make_one_upstream_refresh_across_nodes(
    b: Backend,
) {
    let v = Vault::start(b, Duration::from_millis(700)).await;
    // A second node on the same database, its clock with the first's.
    let other = spawn_with(
        vault_config(&v.here.database_url),
        tempfile::tempdir().expect("dir"),
    )
    .await;
    other.clock.set(v.here.clock.now());
    // Rotation on upstream: a second use of the refresh token would revoke the family.
    set_rotation(&v.up, true).await;
    let subject = v.bobs_token().await;
    v.expire_at(v.here.clock.now() + 10).await;
    let stored = v.stored_access().await;

    const N: usize = 8;
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let node = if i % 2 == 0 { &v.here } else { &other };
        let req = node
            .http
            .post(node.url(TOKEN))
            .basic_auth(&v.agent.client_id, Some(&v.agent.secret))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", subject.as_str()),
                ("subject_token_type", ACCESS_TOKEN),
                ("audience", "Upstream"),
            ]);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = req.send().await.expect("request");
            (res.status().as_u16(), res.text().await.expect("body"))
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        let (status, text) = t.await.expect("task");
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(&text).expect("json");
        tokens.push(body["access_token"].as_str().expect("token").to_owned());
    }
    assert_eq!(
        v.calls.load(Ordering::SeqCst),
        1,
        "exactly one upstream refresh"
    );
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every caller gets the one refresh's token"
    );
    assert_ne!(tokens[0], stored);
    assert_eq!(
        userinfo(&v.up, &tokens[0]).await.status,
        200,
        "the family is intact upstream"
    );
    let outcomes = v.outcomes().await;
    assert_eq!(outcomes.len(), N, "every retrieval is recorded");
}

backends!(
    down_scoping_audience_change_delegation_and_impersonation,
    only_administrators_give_the_grant_vault_retrieve_and_a_policy,
    the_vault_hands_over_fresh_tokens_and_refreshes_expiring_ones_first,
    concurrent_retrievals_of_an_expiring_token_make_one_upstream_refresh_across_nodes,
    each_retrieval_is_one_audit_event_without_the_token,
);
