//! Resource indicators (RFC 8707, issue 14): the resource servers API and CLI (CRUD,
//! permissions, tenant isolation), `resource` at the authorization endpoint (also
//! pushed) and the token endpoint, `aud` in access tokens and introspection, narrowing
//! at the code exchange and at refreshes, per-resource lifetimes, `invalid_target`,
//! and the audience restriction of the management API and UserInfo.

use crate::authorize::{
    assert_error_redirect, authorize_path, code_of, create_alice, decide, register, to_consent,
    Browser, Client, ALICE, ALICE_PASSWORD, CALLBACK, VERIFIER,
};
use crate::helpers::{backends, fresh_database, spawn_with, test_config, Backend, Reply, TestApp};
use crate::support::oauth::{access_claims as claims, access_token_of as token_of};
use portcullis_core::model::claims::Audience;
use reqwest::Method;
use serde_json::{json, Value};

const RESOURCES: &str = "/api/admin/resources";
const ODATA: &str = "api.access.odata";
const MGMT: &str = "api.access.mgmt";
const REPORTS: &str = "https://reports.example/api";
const MCP: &str = "https://mcp.example/mcp";

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    spawn_with(test_config(&url), dir).await
}

/// Registers a resource server as the administrator; returns its id.
async fn create(app: &TestApp, uri: &str, name: &str, scopes: &[&str], life: Option<i64>) -> i64 {
    let body = json!({"uri": uri, "name": name, "scopes": scopes, "accessTokenLifetime": life});
    let r = app.send_json_as_admin(Method::POST, RESOURCES, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_i64().expect("id")
}

/// Lets the system tenant's tokens carry both API scopes.
async fn allow_both_scopes(app: &TestApp) {
    let body = json!({"name": "system", "status": 1, "allowedScopes": [ODATA, MGMT]});
    let r = app
        .send_json_as_admin(Method::PUT, "/api/admin/tenants/1", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A token request by `client` (client_secret_post) with `fields`.
async fn token(app: &TestApp, client: &Client, fields: &[(&str, &str)]) -> Reply {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("client_id", &client.client_id));
    if let Some(s) = &client.secret {
        form.push(("client_secret", s));
    }
    app.send(app.http.post(app.url("/oauth2/token")).form(&form))
        .await
}

#[track_caller]
fn assert_rfc_error(r: &Reply, status: u16, error: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.json()["error"], error, "{}", r.text);
    r.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn introspect(app: &TestApp, client: &Client, token: &str) -> Value {
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/introspect"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&[("token", token)]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn resource_servers_are_managed_by_their_tenants_administrators(b: Backend) {
    let app = spawn(b).await;
    let issuer = app.state.issuer.to_string();
    let id = create(&app, REPORTS, "Reports API", &["odata"], Some(600)).await;

    // The list: Portcullis's own APIs first (no id, read-only), then the registered.
    let r = app.send_as_admin(Method::GET, RESOURCES).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json()["resources"].clone();
    assert_eq!(list[0]["uri"], issuer.as_str());
    assert_eq!(list[0]["builtIn"], true);
    assert_eq!(list[0]["id"], Value::Null);
    assert_eq!(list[1]["uri"], format!("{issuer}/api/mgmt"));
    assert_eq!(list[1]["scopes"], json!([MGMT]));
    assert_eq!(
        list[2],
        json!({"id": id, "tenantId": 1, "uri": REPORTS, "name": "Reports API",
               "scopes": [ODATA], "accessTokenLifetime": 600, "builtIn": false})
    );
    let one = app
        .send_as_admin(Method::GET, &format!("{RESOURCES}/{id}"))
        .await;
    assert_eq!(one.json(), list[2]);

    // Refusals name the field; nothing is stored by them.
    for (body, field) in [
        (
            json!({"uri": "reports", "name": "R", "scopes": [ODATA]}),
            "uri",
        ),
        (
            json!({"uri": "https://r.example/#top", "name": "R", "scopes": [ODATA]}),
            "uri",
        ),
        (
            json!({"uri": "https://r.example/", "name": "", "scopes": [ODATA]}),
            "name",
        ),
        (
            json!({"uri": "https://r.example/", "name": "R", "scopes": ["openid"]}),
            "scopes",
        ),
        (
            json!({"uri": "https://r.example/", "name": "R", "scopes": [ODATA], "accessTokenLifetime": 1}),
            "accessTokenLifetime",
        ),
    ] {
        let r = app.send_json_as_admin(Method::POST, RESOURCES, &body).await;
        assert!(
            r.hdp_error(400, 222209010).contains(&format!("'{field}'")),
            "{}",
            r.text
        );
    }
    let r = app
        .send_json_as_admin(
            Method::POST,
            RESOURCES,
            &json!({"uri": "https://r.example/", "name": "R", "scopes": [ODATA], "colour": "red"}),
        )
        .await;
    assert!(r.text.contains("colour"), "{}", r.text);
    assert_eq!(r.status, 400);
    let r = app
        .send_json_as_admin(
            Method::POST,
            RESOURCES,
            &json!({"uri": REPORTS, "name": "Again", "scopes": [ODATA]}),
        )
        .await;
    assert!(r.hdp_error(409, 222209702).contains(REPORTS));
    let r = app
        .send_json_as_admin(
            Method::POST,
            RESOURCES,
            &json!({"uri": format!("{issuer}/api/mgmt"), "name": "Mine", "scopes": [MGMT]}),
        )
        .await;
    assert_eq!(
        r.status, 409,
        "the built-in identifiers are taken: {}",
        r.text
    );

    // Update replaces every field; delete answers 204, then 404.
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("{RESOURCES}/{id}"),
            &json!({"uri": REPORTS, "name": "Reports v2", "scopes": [ODATA, MGMT]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "Reports v2");
    assert_eq!(r.json()["accessTokenLifetime"], Value::Null);

    // Tenant isolation: another tenant's administrator sees only their own.
    let t2 = app.create_tenant("Acme", &[1, 2, 3]).await;
    let admin_role = app.role_id(t2.id, "Administrator").await;
    app.create_user(t2.id, "carol", "Carol-Pass-42", vec![admin_role])
        .await;
    let r = app
        .send(
            app.as_user(Method::POST, RESOURCES, "carol", "Carol-Pass-42")
                .json(&json!({"uri": REPORTS, "name": "Acme reports", "scopes": [ODATA]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let acme = r.json();
    assert_eq!(acme["tenantId"], t2.id, "the same URI in another tenant");
    let acme_id = acme["id"].as_i64().expect("id");
    let r = app
        .send_as_admin(Method::GET, &format!("{RESOURCES}?tenantId={}", t2.id))
        .await;
    assert_eq!(r.json()["resources"].as_array().map(Vec::len), Some(3));
    let r = app.send_as_admin(Method::GET, RESOURCES).await;
    assert_eq!(
        r.json()["resources"].as_array().map(Vec::len),
        Some(3),
        "system's own"
    );
    let r = app
        .send_as(
            Method::GET,
            &format!("{RESOURCES}/{id}"),
            "carol",
            "Carol-Pass-42",
        )
        .await;
    r.hdp_error(404, 222209701);
    let r = app
        .send_as(
            Method::GET,
            &format!("{RESOURCES}?tenantId=1"),
            "carol",
            "Carol-Pass-42",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app
        .send_as(Method::GET, RESOURCES, "carol", "Carol-Pass-42")
        .await;
    assert_eq!(r.json()["resources"][2]["id"], acme_id);

    // An ordinary user manages none; another tenant's ids are "not found".
    create_alice(&app).await;
    let r = app
        .send_as(Method::GET, RESOURCES, ALICE, ALICE_PASSWORD)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app
        .send_as(
            Method::GET,
            &format!("{RESOURCES}/{id}"),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    r.hdp_error(404, 222209701);
    let r = app
        .send_as(
            Method::GET,
            &format!("{RESOURCES}?tenantId={}", t2.id),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("{RESOURCES}/{acme_id}"),
            &json!({"uri": REPORTS, "name": "x", "scopes": [ODATA], "tenantId": 1}),
        )
        .await;
    assert!(r.hdp_error(400, 222209010).contains("tenantId"));

    let r = app
        .send_as_admin(Method::DELETE, &format!("{RESOURCES}/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app
        .send_as_admin(Method::DELETE, &format!("{RESOURCES}/{id}"))
        .await;
    r.hdp_error(404, 222209701);
}

/// Runs the browser flow for `extra` authorization parameters up to the consent page
/// and allows it; returns the consent page's HTML and the code.
async fn authorize(app: &TestApp, client: &Client, extra: &[(&str, &str)]) -> (String, String) {
    let mut browser = Browser::new(app);
    let consent = to_consent(&mut browser, &authorize_path(client, extra)).await;
    let code = code_of(&decide(&mut browser, &consent, "allow").await);
    (consent.text, code)
}

async fn exchange_with(
    app: &TestApp,
    client: &Client,
    code: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    fields.extend_from_slice(extra);
    token(app, client, &fields).await
}

async fn a_code_flow_for_resources_gives_them_as_aud_and_the_token_requests_may_narrow(b: Backend) {
    let app = spawn(b).await;
    allow_both_scopes(&app).await;
    create(&app, REPORTS, "Reports API", &[ODATA], Some(600)).await;
    create(&app, MCP, "Assistant tools", &[MGMT], None).await;
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({"scopes": [ODATA, MGMT]})).await;

    // Both resources, no scope: what they accept of what the client may have.
    let (page, code) = authorize(&app, &client, &[("resource", REPORTS), ("resource", MCP)]).await;
    assert!(
        page.contains("Reports API") && page.contains(REPORTS),
        "{page}"
    );
    assert!(
        page.contains("Assistant tools") && page.contains(MCP),
        "{page}"
    );
    // The code exchange narrows to one of them: its aud, scopes and lifetime.
    let r = exchange_with(&app, &client, &code, &[("resource", REPORTS)]).await;
    let at = token_of(&r);
    assert_eq!(r.json()["scope"], ODATA);
    assert_eq!(r.json()["expires_in"], 600, "the resource's own lifetime");
    let c = claims(&app, &at);
    assert_eq!(c.aud, Audience::One(REPORTS.into()));
    assert_eq!(c.exp - c.iat, 600);
    let seen = introspect(&app, &client, &at).await;
    assert_eq!(seen["aud"], REPORTS);
    let refresh = r.json()["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let seen = introspect(&app, &client, &refresh).await;
    assert_eq!(seen["aud"], json!([REPORTS, MCP]), "the grant's resources");

    // A refresh without resource gets the whole grant: both, as an array, the
    // shortest lifetime; with one, that one; with another, invalid_target.
    let r = token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    let c = claims(&app, &token_of(&r));
    assert_eq!(c.aud, Audience::Many(vec![REPORTS.into(), MCP.into()]));
    assert_eq!(r.json()["scope"], format!("{ODATA} {MGMT}"));
    assert_eq!(r.json()["expires_in"], 600);
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("resource", MCP),
        ],
    )
    .await;
    assert_eq!(claims(&app, &token_of(&r)).aud, Audience::One(MCP.into()));
    assert_eq!(r.json()["scope"], MGMT);
    assert_eq!(r.json()["expires_in"], 3600, "the tenant's lifetime");
    let other = app.state.issuer.to_string();
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("resource", &other),
        ],
    )
    .await;
    assert!(assert_rfc_error(&r, 400, "invalid_target").contains("not part of this grant"));

    // A code exchange naming a resource its request did not: invalid_target.
    let (_, code) = authorize(&app, &client, &[("resource", REPORTS)]).await;
    let r = exchange_with(&app, &client, &code, &[("resource", MCP)]).await;
    assert_rfc_error(&r, 400, "invalid_target");

    // Without resource, nothing changes: aud is the issuer. (A recorded consent would
    // skip the page; `openid` was never consented to, so it is shown.)
    let (page, code) = authorize(&app, &client, &[("scope", "openid api.access.odata")]).await;
    assert!(
        !page.contains("only for"),
        "no resource on the consent page"
    );
    let r = exchange_with(&app, &client, &code, &[]).await;
    let c = claims(&app, &token_of(&r));
    assert_eq!(c.aud, Audience::One(app.state.issuer.to_string()));
    assert_eq!(r.json()["expires_in"], 3600);
}

async fn an_unregistered_or_malformed_resource_is_invalid_target_at_both_endpoints(b: Backend) {
    let app = spawn(b).await;
    create(&app, REPORTS, "Reports API", &[ODATA], None).await;
    create_alice(&app).await;
    let client = register(
        &app,
        &[CALLBACK],
        json!({"grantTypes": ["authorization_code", "password", "client_credentials", "refresh_token"]}),
    )
    .await;
    let mut browser = Browser::new(&app);
    for (resource, says) in [
        (
            "https://nowhere.example/",
            "not a resource server registered",
        ),
        ("https://reports.example/api#x", "fragment"),
        ("reports", "absolute URI"),
    ] {
        let r = browser
            .get(&authorize_path(&client, &[("resource", resource)]))
            .await;
        let q = assert_error_redirect(&r, "invalid_target");
        assert!(
            q.get("error_description").is_some_and(|d| d.contains(says)),
            "{q:?}"
        );
    }
    // The same URI differently spelled is another (unregistered) resource.
    let r = browser
        .get(&authorize_path(
            &client,
            &[("resource", "https://reports.example/api/")],
        ))
        .await;
    assert_error_redirect(&r, "invalid_target");

    let password = [
        ("grant_type", "password"),
        ("username", ALICE),
        ("password", ALICE_PASSWORD),
    ];
    for resource in ["https://nowhere.example/", "https://reports.example/api#x"] {
        let mut fields = password.to_vec();
        fields.push(("resource", resource));
        assert_rfc_error(&token(&app, &client, &fields).await, 400, "invalid_target");
        let r = token(
            &app,
            &client,
            &[("grant_type", "client_credentials"), ("resource", resource)],
        )
        .await;
        assert_rfc_error(&r, 400, "invalid_target");
    }
    // A registered one works on both grants; a scope it does not accept is refused.
    let mut fields = password.to_vec();
    fields.push(("resource", REPORTS));
    let r = token(&app, &client, &fields).await;
    assert_eq!(
        claims(&app, &token_of(&r)).aud,
        Audience::One(REPORTS.into())
    );
    let r = token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("resource", REPORTS)],
    )
    .await;
    assert_eq!(
        claims(&app, &token_of(&r)).aud,
        Audience::One(REPORTS.into())
    );
    let issuer = app.state.issuer.to_string();
    let mgmt = format!("{issuer}/api/mgmt");
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "client_credentials"),
            ("resource", &mgmt),
            ("scope", ODATA),
        ],
    )
    .await;
    assert_rfc_error(&r, 400, "invalid_scope");
    // HDP's JSON token request gets the envelope with its own code.
    let r = app
        .send(app.http.post(app.url("/oauth2/token")).json(&json!({
            "grant_type": "client_credentials", "clientId": client.client_id,
            "clientSecret": client.secret, "resource": "https://nowhere.example/"
        })))
        .await;
    r.hdp_error(400, 222209408);
}

async fn a_token_for_another_resource_is_refused_by_the_management_api_and_userinfo(b: Backend) {
    let app = spawn(b).await;
    allow_both_scopes(&app).await;
    create(&app, MCP, "Assistant tools", &[MGMT, ODATA], None).await;
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({"scopes": [ODATA, MGMT]})).await;
    let issuer = app.state.issuer.to_string();
    let mgmt_resource = format!("{issuer}/api/mgmt");
    let grant = |resource: Option<&'static str>| {
        let mut f = vec![
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", ALICE_PASSWORD),
            ("scope", "openid api.access.mgmt"),
        ];
        if let Some(r) = resource {
            f.push(("resource", r));
        }
        f
    };
    let call = |token: String, path: &'static str| {
        let app = &app;
        async move {
            app.send(app.http.get(app.url(path)).bearer_auth(token))
                .await
        }
    };
    let apps = "/api/mgmt/oauth/client/applications";

    let other = token_of(&token(&app, &client, &grant(Some(MCP))).await);
    for path in [apps, "/api/admin/resources", "/oauth2/userinfo"] {
        let r = call(other.clone(), path).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.contains("invalid_token"), "{path}: {challenge}");
    }
    let r = call(other.clone(), apps).await;
    assert!(r.text.contains("another resource"), "{}", r.text);

    // For the management API's own identifier: accepted there, not at UserInfo.
    let mine = {
        let mut f = grant(None);
        f.push(("resource", &mgmt_resource));
        token_of(&token(&app, &client, &f).await)
    };
    assert_eq!(
        claims(&app, &mine).aud,
        Audience::One(mgmt_resource.clone())
    );
    assert_eq!(call(mine.clone(), apps).await.status, 200);
    assert_eq!(call(mine, "/oauth2/userinfo").await.status, 401);

    // Without resource (legacy, aud = issuer): both, as before.
    let legacy = token_of(&token(&app, &client, &grant(None)).await);
    assert_eq!(call(legacy.clone(), apps).await.status, 200);
    assert_eq!(call(legacy, "/oauth2/userinfo").await.status, 200);
}

async fn a_pushed_request_carries_its_resources(b: Backend) {
    let app = spawn(b).await;
    allow_both_scopes(&app).await;
    create(&app, REPORTS, "Reports API", &[ODATA], Some(900)).await;
    create(&app, MCP, "Assistant tools", &[MGMT], Some(300)).await;
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({"scopes": [ODATA, MGMT]})).await;
    let mut form: Vec<(String, String)> = crate::authorize::query_of(&authorize_path(&client, &[]))
        .into_iter()
        .collect();
    form.push(("resource".into(), REPORTS.into()));
    form.push(("resource".into(), MCP.into()));
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/par"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let uri = r.json()["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client.client_id)
        .append_pair("request_uri", &uri);
    let mut browser = Browser::new(&app);
    let consent = to_consent(&mut browser, &format!("/oauth2/authorize?{}", q.finish())).await;
    assert!(consent.text.contains("Reports API") && consent.text.contains("Assistant tools"));
    let code = code_of(&decide(&mut browser, &consent, "allow").await);
    let r = exchange_with(&app, &client, &code, &[]).await;
    let c = claims(&app, &token_of(&r));
    assert_eq!(c.aud, Audience::Many(vec![REPORTS.into(), MCP.into()]));
    assert_eq!(
        r.json()["expires_in"],
        300,
        "the shortest of the two lifetimes"
    );

    // A push naming an unregistered resource is refused with invalid_target.
    form.push(("resource".into(), "https://nowhere.example/".into()));
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/par"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&form),
        )
        .await;
    assert_rfc_error(&r, 400, "invalid_target");
}

async fn the_resource_commands_manage_a_tenants_resource_servers(b: Backend) {
    use crate::cli::portcullis;
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    // The first run creates the system tenant (as serve would).
    let created = portcullis(
        &url,
        &[
            "resource",
            "create",
            "--uri",
            REPORTS,
            "--name",
            "Reports API",
            "--scope",
            "odata",
            "--access-token-lifetime",
            "600",
        ],
    )
    .await
    .ok();
    assert_eq!(created["uri"], REPORTS);
    assert_eq!(created["scopes"], json!([ODATA]));
    assert_eq!(created["accessTokenLifetime"], 600);
    let id = created["id"].as_i64().expect("id").to_string();
    let list = portcullis(&url, &["resource", "list"]).await.ok();
    assert_eq!(list["resources"].as_array().map(Vec::len), Some(3));
    assert_eq!(list["resources"][0]["builtIn"], true);
    let shown = portcullis(&url, &["resource", "show", &id]).await.ok();
    assert_eq!(shown, created);
    let updated = portcullis(
        &url,
        &[
            "resource", "update", &id, "--uri", MCP, "--name", "Tools", "--scope", MGMT,
        ],
    )
    .await
    .ok();
    assert_eq!(updated["uri"], MCP);
    assert_eq!(updated["accessTokenLifetime"], Value::Null);
    // Bad input exits 2 naming the field; an unknown tenant too.
    let bad = portcullis(
        &url,
        &[
            "resource", "create", "--uri", "nope", "--name", "x", "--scope", "odata",
        ],
    )
    .await;
    assert!(bad.bad_input().contains("'uri'"), "{}", bad.stderr);
    let bad = portcullis(&url, &["resource", "list", "--tenant", "Nobody"]).await;
    assert!(bad.bad_input().contains("Nobody"));
    portcullis(&url, &["resource", "delete", &id]).await.ok();
    let gone = portcullis(&url, &["resource", "show", &id]).await;
    assert_ne!(gone.code, Some(0));

    // The server on the same database sees what the commands left.
    let app = spawn_with(test_config(&url), dir).await;
    let r = app.send_as_admin(Method::GET, RESOURCES).await;
    assert_eq!(r.json()["resources"].as_array().map(Vec::len), Some(2));
}

backends!(
    resource_servers_are_managed_by_their_tenants_administrators,
    a_code_flow_for_resources_gives_them_as_aud_and_the_token_requests_may_narrow,
    an_unregistered_or_malformed_resource_is_invalid_target_at_both_endpoints,
    a_token_for_another_resource_is_refused_by_the_management_api_and_userinfo,
    a_pushed_request_carries_its_resources,
    the_resource_commands_manage_a_tenants_resource_servers,
);
