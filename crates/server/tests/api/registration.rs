//! Dynamic client registration (RFC 7591) and its management (RFC 7592), issue 14:
//! the tenant policy on HDP's tenant API, initial access tokens, every refusal with
//! its RFC code, the registered client doing a PKCE code flow, HDP's application API
//! listing and deleting it, and the expiry of unused openly registered clients driven
//! by the expiry tick and the test clock.

use crate::authorize::{
    code_of, create_alice, decide, exchange, to_consent, Browser, Client, CALLBACK, VERIFIER,
};
use crate::helpers::{backends, spawn_app, Backend, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const REGISTER: &str = "/oauth2/register";
const APPS: &str = "/api/mgmt/oauth/client/applications";

/// Sets tenant `id`'s `clientRegistration` through the tenant API.
async fn set_policy(app: &TestApp, id: i64, policy: Value) -> Reply {
    let t = app
        .send_as_admin(Method::GET, &format!("/api/admin/tenants/{id}"))
        .await
        .json();
    let body = json!({"name": t["name"], "status": t["status"], "clientRegistration": policy});
    app.send_json_as_admin(Method::PUT, &format!("/api/admin/tenants/{id}"), &body)
        .await
}

/// The system tenant open to public clients with redirects to app.example.
pub(crate) async fn open_system_tenant(app: &TestApp) {
    let r = set_policy(
        app,
        1,
        json!({"policy": "open", "redirectUris": {"httpsHosts": ["app.example"]}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["clientRegistration"]["policy"], "open");
}

async fn post_register(app: &TestApp, token: Option<&str>, body: &Value) -> Reply {
    let mut req = app.http.post(app.url(REGISTER)).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

fn public_client() -> Value {
    json!({
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "client_name": "MCP Inspector",
        "software_id": "mcp-inspector",
    })
}

#[track_caller]
fn refused(r: &Reply, status: u16, error: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    assert_eq!(v["error"], error, "{}", r.text);
    v["error_description"]
        .as_str()
        .expect("description")
        .to_owned()
}

async fn new_iat(app: &TestApp, tenant: i64, body: Value) -> Reply {
    app.send_json_as_admin(
        Method::POST,
        &format!("/api/admin/tenants/{tenant}/initialaccesstokens"),
        &body,
    )
    .await
}

async fn registration_is_closed_by_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app
        .send_as_admin(Method::GET, "/api/admin/tenants/1")
        .await
        .json();
    assert_eq!(t["clientRegistration"]["policy"], "closed");
    assert_eq!(t["clientRegistration"]["unusedClientLifetime"], 86400);
    let r = post_register(&app, None, &public_client()).await;
    let why = refused(&r, 401, "invalid_token");
    assert!(why.contains("initial access token"), "{why}");
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""));
    // No token can be issued for a closed tenant either.
    let r = new_iat(&app, 1, json!({})).await;
    assert!(r.hdp_error(409, 222209106).contains("closed"));
    let r = post_register(&app, Some("made-up"), &public_client()).await;
    refused(&r, 401, "invalid_token");
}

async fn open_registration_applies_every_restriction(backend: Backend) {
    let app = spawn_app(backend).await;
    open_system_tenant(&app).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"redirect_uris": ["https://evil.example/cb"], "token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
            "https on app.example",
        ),
        (
            json!({"redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": [CALLBACK]}),
            "invalid_client_metadata",
            "only public clients",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none", "scope": "api.access.mgmt"}),
            "invalid_client_metadata",
            "'scope'",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
            "only public clients",
        ),
    ];
    for (body, code, says) in cases {
        let why = refused(&post_register(&app, None, &body).await, 400, code);
        assert!(why.contains(says), "{body}: {why}");
    }
    // Loopback redirects are allowed by default (RFC 8252 §7.3), any port.
    let r = post_register(
        &app,
        None,
        &json!({"redirect_uris": ["http://127.0.0.1:49152/cb"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert!(
        v.get("client_secret").is_none(),
        "a public client has no secret"
    );
    assert_eq!(v["client_name"].as_str(), None, "none was sent");
    assert_eq!(
        v["scope"], "api.access.odata",
        "the tenant's scopes by default"
    );
}

async fn every_invalid_field_is_refused_with_its_rfc_code_and_unknown_ones_ignored(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    open_system_tenant(&app).await;
    let with = |k: &str, v: Value| {
        let mut b = public_client();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("redirect_uris", json!(["javascript:alert(1)"])),
            "invalid_redirect_uri",
        ),
        (with("redirect_uris", json!([])), "invalid_redirect_uri"),
        (
            with("token_endpoint_auth_method", json!("client_secret_jwt")),
            "invalid_client_metadata",
        ),
        (
            with("grant_types", json!(["password"])),
            "invalid_client_metadata",
        ),
        (
            with("response_types", json!(["token"])),
            "invalid_client_metadata",
        ),
        (with("client_name", json!("")), "invalid_client_metadata"),
        (
            with("client_uri", json!("http://app.example/")),
            "invalid_client_metadata",
        ),
        (with("logo_uri", json!("nope")), "invalid_client_metadata"),
        (
            with("tos_uri", json!("ftp://app.example/tos")),
            "invalid_client_metadata",
        ),
        (with("policy_uri", json!(7)), "invalid_client_metadata"),
        (
            with("jwks_uri", json!("http://app.example/jwks")),
            "invalid_client_metadata",
        ),
        (
            with("jwks", json!({"keys": [{"kty": "EC", "d": "private"}]})),
            "invalid_client_metadata",
        ),
        (
            with("contacts", json!("ops@app.example")),
            "invalid_client_metadata",
        ),
        (
            with("scope", json!("api.access.odata unknown")),
            "invalid_client_metadata",
        ),
        (
            with("software_statement", json!("eyJhbGciOiJub25lIn0.e30.")),
            "unapproved_software_statement",
        ),
        (
            with("id_token_signed_response_alg", json!("HS256")),
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in cases {
        refused(&post_register(&app, None, &body).await, 400, code);
    }
    let r = app
        .send(
            app.http
                .post(app.url(REGISTER))
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    refused(&r, 400, "invalid_client_metadata");
    let r = app
        .send(app.http.post(app.url(REGISTER)).form(&[("a", "b")]))
        .await;
    assert_eq!(r.status, 415, "{}", r.text);
    // Unknown fields and language-tagged names are ignored and not echoed.
    let r = post_register(
        &app,
        None,
        &with("x_vendor_extension", json!({"anything": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert!(v.get("x_vendor_extension").is_none());
    assert_eq!(v["client_name"], "MCP Inspector");
    assert_eq!(v["software_id"], "mcp-inspector");
}

async fn initial_access_tokens_bad_expired_used_up_and_multi_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = set_policy(
        &app,
        1,
        json!({"policy": "initial_access_token", "clientTypes": ["public", "confidential"],
               "redirectUris": {"httpsHosts": ["app.example"]}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Without a token: no open tenant, so refused.
    refused(
        &post_register(&app, None, &public_client()).await,
        401,
        "invalid_token",
    );
    let once = new_iat(&app, 1, json!({})).await;
    assert_eq!(once.status, 201, "{}", once.text);
    assert_eq!(once.header("cache-control"), Some("no-store"));
    let once = once.json();
    assert_eq!(once["usesLeft"], 1);
    let token = once["token"].as_str().expect("token").to_owned();
    let r = post_register(&app, Some(&token), &public_client()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let why = refused(
        &post_register(&app, Some(&token), &public_client()).await,
        401,
        "invalid_token",
    );
    assert!(why.contains("used up"), "{why}");
    refused(
        &post_register(&app, Some("not-a-token"), &public_client()).await,
        401,
        "invalid_token",
    );
    // Expiry follows the clock.
    let short = new_iat(&app, 1, json!({"uses": null, "expiresIn": 60}))
        .await
        .json();
    let short_token = short["token"].as_str().expect("token").to_owned();
    assert_eq!(
        post_register(&app, Some(&short_token), &public_client())
            .await
            .status,
        201
    );
    app.clock.advance(61);
    let why = refused(
        &post_register(&app, Some(&short_token), &public_client()).await,
        401,
        "invalid_token",
    );
    assert!(why.contains("expired"), "{why}");
    // A three-use token registers three clients, a confidential one with a secret.
    let three = new_iat(&app, 1, json!({"uses": 3})).await.json();
    let three_token = three["token"].as_str().expect("token").to_owned();
    let confidential =
        json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_post"});
    let r = post_register(&app, Some(&three_token), &confidential).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["client_secret"].as_str().map(str::len), Some(43));
    assert_eq!(v["client_secret_expires_at"], 0);
    for _ in 0..2 {
        assert_eq!(
            post_register(&app, Some(&three_token), &public_client())
                .await
                .status,
            201
        );
    }
    refused(
        &post_register(&app, Some(&three_token), &public_client()).await,
        401,
        "invalid_token",
    );
    // Listed without the tokens; deleted.
    let list = app
        .send_as_admin(Method::GET, "/api/admin/tenants/1/initialaccesstokens")
        .await
        .json();
    let tokens = list["initialAccessTokens"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t.get("token").is_none()));
    assert_eq!(tokens[2]["used"], 3);
    assert_eq!(tokens[2]["usesLeft"], 0);
    let id = tokens[1]["id"].as_i64().expect("id");
    let path = format!("/api/admin/tenants/1/initialaccesstokens/{id}");
    assert_eq!(app.send_as_admin(Method::DELETE, &path).await.status, 204);
    app.send_as_admin(Method::DELETE, &path)
        .await
        .hdp_error(404, 222209105);
    // The registered clients are listed for the Administrator with how they came.
    let apps = app.send_as_admin(Method::GET, APPS).await.json();
    let by: Vec<&Value> = apps["applications"]
        .as_array()
        .expect("apps")
        .iter()
        .filter_map(|a| a.get("registeredBy"))
        .collect();
    assert_eq!(by.len(), 5);
    assert!(by.iter().all(|b| b["method"] == "initial_access_token"));
    assert_eq!(by[0]["initialAccessTokenId"], once["id"]);
}

async fn a_registered_client_runs_a_pkce_code_flow_and_manages_its_registration(backend: Backend) {
    let app = spawn_app(backend).await;
    create_alice(&app).await;
    open_system_tenant(&app).await;
    let r = post_register(&app, None, &public_client()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let reg = r.json();
    let client_id = reg["client_id"].as_str().expect("client_id").to_owned();
    let rat = reg["registration_access_token"]
        .as_str()
        .expect("rat")
        .to_owned();
    let uri = reg["registration_client_uri"]
        .as_str()
        .expect("uri")
        .to_owned();
    assert_eq!(uri, format!("{}{REGISTER}/{client_id}", app.base));
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["response_types"], json!(["code"]));
    assert!(reg["client_id_issued_at"].is_i64());

    // The PKCE code flow through the real login and consent pages.
    let client = Client {
        id: 0,
        client_id: client_id.clone(),
        secret: None,
    };
    let mut b = Browser::new(&app);
    let consent = to_consent(&mut b, &crate::authorize::authorize_path(&client, &[])).await;
    assert!(consent.text.contains("MCP Inspector"), "{}", consent.text);
    let code = code_of(&decide(&mut b, &consent, "allow").await);
    let tokens = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);

    // RFC 7592 read: the right token only; a wrong one or another client's is 401.
    let get = |token: Option<String>, id: String| {
        let mut req = app.http.get(app.url(&format!("{REGISTER}/{id}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        app.send(req)
    };
    let r = get(Some(rat.clone()), client_id.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["client_name"], "MCP Inspector");
    assert_eq!(r.json()["registration_access_token"], rat.as_str());
    refused(&get(None, client_id.clone()).await, 401, "invalid_token");
    refused(
        &get(Some("wrong".into()), client_id.clone()).await,
        401,
        "invalid_token",
    );
    let other = post_register(&app, None, &public_client()).await.json();
    let other_rat = other["registration_access_token"]
        .as_str()
        .expect("rat")
        .to_owned();
    let a = refused(
        &get(Some(other_rat.clone()), client_id.clone()).await,
        401,
        "invalid_token",
    );
    let b2 = refused(
        &get(Some(other_rat), "no-such-client".into()).await,
        401,
        "invalid_token",
    );
    assert_eq!(a, b2, "an unknown client and another's token read the same");

    // RFC 7592 update: client_id must match, the method cannot change.
    let mut body = public_client();
    body["client_name"] = json!("MCP Inspector 2");
    let put = |body: Value, token: &str| {
        app.send(
            app.http
                .put(app.url(&format!("{REGISTER}/{client_id}")))
                .bearer_auth(token)
                .json(&body),
        )
    };
    refused(
        &put(body.clone(), &rat).await,
        400,
        "invalid_client_metadata",
    );
    body["client_id"] = json!(client_id);
    refused(&put(body.clone(), "wrong").await, 401, "invalid_token");
    let mut secret_method = body.clone();
    secret_method["token_endpoint_auth_method"] = json!("client_secret_basic");
    refused(
        &put(secret_method, &rat).await,
        400,
        "invalid_client_metadata",
    );
    let r = put(body, &rat).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["client_name"], "MCP Inspector 2");

    // RFC 7592 delete: 204, the client and its tokens are gone.
    let r = app
        .send(
            app.http
                .delete(app.url(&format!("{REGISTER}/{client_id}")))
                .bearer_auth("wrong"),
        )
        .await;
    refused(&r, 401, "invalid_token");
    let r = app
        .send(
            app.http
                .delete(app.url(&format!("{REGISTER}/{client_id}")))
                .bearer_auth(&rat),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    refused(
        &get(Some(rat.clone()), client_id.clone()).await,
        401,
        "invalid_token",
    );
    let refresh = tokens.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let r = app
        .send(app.http.post(app.url("/oauth2/token")).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", client_id.as_str()),
        ]))
        .await;
    assert_eq!(r.status, 401, "the client is gone: {}", r.text);

    // The audit trail holds the registration and the deletion, each once, by the
    // client itself, and neither holds the registration access token.
    let r = app
        .send_as_admin(
            Method::GET,
            &format!("/api/admin/events?clientId={client_id}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains(&rat), "a secret in the audit trail");
    let events = r.json()["events"].as_array().expect("events").clone();
    let of =
        |t: &str| -> Vec<Value> { events.iter().filter(|e| e["type"] == t).cloned().collect() };
    let (registered, deleted) = (of("client_registered"), of("client_deleted"));
    assert_eq!((registered.len(), deleted.len()), (1, 1), "{events:#?}");
    assert_eq!(registered[0]["clientId"], client_id.as_str());
    assert!(registered[0]["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("dynamic registration")));
    assert!(deleted[0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("RFC 7592")));
}

async fn administrators_list_and_delete_self_registered_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    open_system_tenant(&app).await;
    let v = post_register(&app, None, &public_client()).await.json();
    let apps = app.send_as_admin(Method::GET, APPS).await.json();
    let listed = apps["applications"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["name"] == "MCP Inspector")
        .expect("listed")
        .clone();
    assert_eq!(
        listed["registeredBy"],
        json!({"method": "open", "softwareId": "mcp-inspector"})
    );
    let id = listed["id"].as_i64().expect("id");
    let detail = app
        .send_as_admin(Method::GET, &format!("{APPS}/{id}"))
        .await
        .json();
    assert_eq!(detail["clientId"], v["client_id"]);
    assert_eq!(detail["registeredBy"]["method"], "open");
    assert_eq!(
        app.send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
            .await
            .status,
        204
    );
    let rat = v["registration_access_token"].as_str().expect("rat");
    let r = app
        .send(
            app.http
                .get(app.url(&format!(
                    "{REGISTER}/{}",
                    v["client_id"].as_str().expect("id")
                )))
                .bearer_auth(rat),
        )
        .await;
    refused(&r, 401, "invalid_token");
    // An application registered by a user through HDP's API shows no registeredBy.
    let hdp = crate::authorize::register(&app, &[CALLBACK], json!({})).await;
    let detail = app
        .send_as_admin(Method::GET, &format!("{APPS}/{}", hdp.id))
        .await
        .json();
    assert!(
        detail.get("registeredBy").is_none() && detail.get("tokenEndpointAuthMethod").is_none()
    );
}

async fn unused_open_clients_expire_on_the_tick_and_used_ones_stay(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = set_policy(
        &app,
        1,
        json!({"policy": "open", "clientTypes": ["confidential"], "grantTypes": ["client_credentials"],
               "unusedClientLifetime": 3600}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let machine = json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"});
    let unused = post_register(&app, None, &machine).await.json();
    let used = post_register(&app, None, &machine).await.json();
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(
                    used["client_id"].as_str().expect("id"),
                    used["client_secret"].as_str(),
                )
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ctx = &app.state.ctx;
    let tick = || portcullis_core::oauth::registration::expire_unused(ctx);
    app.clock.advance(3599);
    assert_eq!(tick().await.expect("tick"), 0, "not yet");
    app.clock.advance(2);
    assert_eq!(tick().await.expect("tick"), 1);
    let gone = ctx
        .store
        .client_app_by_client_id(unused["client_id"].as_str().expect("id"))
        .await
        .expect("read");
    assert!(gone.is_none());
    let kept = ctx
        .store
        .client_app_by_client_id(used["client_id"].as_str().expect("id"))
        .await
        .expect("read");
    assert!(kept.is_some_and(|a| a.first_used_at.is_some()));
    assert_eq!(tick().await.expect("tick"), 0);
}

async fn at_most_one_tenant_may_be_open_or_take_metadata_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    open_system_tenant(&app).await;
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({"name": "Acme", "parentTenant": 1, "clientRegistration": {"policy": "open"}}),
        )
        .await;
    let why = r.hdp_error(409, 222209104);
    assert!(why.contains("Tenant 1") && why.contains("open"), "{why}");
    // Nothing was created by the refused request.
    let tenants = app
        .send_as_admin(Method::GET, "/api/admin/tenants")
        .await
        .json();
    assert_eq!(tenants["tenants"].as_array().map(Vec::len), Some(1));
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({"name": "Acme", "parentTenant": 1,
                    "clientRegistration": {"policy": "initial_access_token", "metadataDocuments": true}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let acme = r.json()["id"].as_i64().expect("id");
    let why = set_policy(
        &app,
        1,
        json!({"policy": "open", "metadataDocuments": true}),
    )
    .await
    .hdp_error(409, 222209104);
    assert!(
        why.contains("Acme") && why.contains("metadata documents"),
        "{why}"
    );
    let bad = set_policy(&app, acme, json!({"policy": "wide"})).await;
    assert!(bad
        .hdp_error(400, 222209010)
        .contains("'clientRegistration.policy'"));
}

async fn the_metadata_advertises_the_registration_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let v = app.send(app.http.get(app.url(path))).await.json();
        assert_eq!(
            v["registration_endpoint"],
            format!("{}{REGISTER}", app.base)
        );
    }
}

backends!(
    registration_is_closed_by_default,
    open_registration_applies_every_restriction,
    every_invalid_field_is_refused_with_its_rfc_code_and_unknown_ones_ignored,
    initial_access_tokens_bad_expired_used_up_and_multi_use,
    a_registered_client_runs_a_pkce_code_flow_and_manages_its_registration,
    administrators_list_and_delete_self_registered_clients,
    unused_open_clients_expire_on_the_tick_and_used_ones_stay,
    at_most_one_tenant_may_be_open_or_take_metadata_documents,
    the_metadata_advertises_the_registration_endpoint,
);
