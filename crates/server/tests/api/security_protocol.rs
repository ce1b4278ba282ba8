//! Issue 11's OAuth protocol items, each driven over HTTP as the audit did: who may
//! introspect (RFC 7662 §2.1) and what the metadata says about it, redirect URIs with
//! dangerous schemes (RFC 9700 §4.1, RFC 8252), `iss` in authorization responses
//! (RFC 9207), ECDSA signature malleability, seed 003's "tenant or host URL" scope,
//! and HDP's own OAuth-application sample name.

use crate::authorize::{
    authorize_path, create_alice, decide, exchange, query_of, register, to_consent, Browser,
    Client, ALICE, ALICE_PASSWORD, CALLBACK, VERIFIER,
};
use crate::helpers::{backends, spawn_app, spawn_with, test_config, Backend, Reply, TestApp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use portcullis_core::clock::Clock;
use portcullis_core::model::client_app::ClientAppChanges;
use reqwest::Method;
use serde_json::{json, Value};

const METADATA: &str = "/.well-known/oauth-authorization-server";
const APPS: &str = "/api/mgmt/oauth/client/applications";
const INTROSPECT: &str = "/oauth2/introspect";
const REVOKE: &str = "/oauth2/revoke";
const INVALID_FIELD: u32 = 222209010;

async fn metadata(app: &TestApp) -> Value {
    let r = app.send(app.http.get(app.url(METADATA))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

/// Sends a form POST to `path` with the client authenticating by `method`
/// (`client_secret_basic`, `client_secret_post` or `none`).
async fn client_post(
    app: &TestApp,
    path: &str,
    c: &Client,
    method: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    let req = app.http.post(app.url(path));
    let req = match method {
        "client_secret_basic" => req.basic_auth(&c.client_id, c.secret.as_deref()),
        "client_secret_post" => {
            form.push(("client_id", &c.client_id));
            form.push(("client_secret", c.secret.as_deref().unwrap_or("")));
            req
        }
        _ => {
            form.push(("client_id", &c.client_id));
            req
        }
    };
    app.send(req.form(&form)).await
}

/// Runs the code flow for Alice through `client`; returns the redirect's Location.
async fn authorize_location(app: &TestApp, client: &Client) -> String {
    let mut browser = Browser::new(app);
    let consent = to_consent(&mut browser, &authorize_path(client, &[])).await;
    let r = decide(&mut browser, &consent, "allow").await;
    assert_eq!(r.status, 302, "{}", r.text);
    r.header("location").expect("Location").to_owned()
}

/// Alice's access and refresh tokens through `client`, by the code flow.
async fn code_flow_tokens(app: &TestApp, client: &Client) -> (String, String) {
    let location = authorize_location(app, client).await;
    let code = query_of(&location).get("code").cloned().expect("code");
    let r = exchange(app, client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    (
        v["access_token"].as_str().expect("access").to_owned(),
        v["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

// ---------------------------------------------------------------------------------
// Item 2: introspection needs an authenticated client; the metadata says so.
// ---------------------------------------------------------------------------------

async fn public_clients_cannot_introspect_and_the_metadata_matches_each_endpoint(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let public = register(&app, &[CALLBACK], json!({"public": true})).await;
    assert!(public.secret.is_none());
    let confidential = register(&app, &[CALLBACK], json!({"name": "Resource server"})).await;
    let (access, refresh) = code_flow_tokens(&app, &public).await;

    // The audit's finding: client_id alone read Alice's claims. Now 401 invalid_client,
    // for access and refresh tokens alike, and nothing about the token is said.
    for token in [&access, &refresh] {
        let r = client_post(&app, INTROSPECT, &public, "none", &[("token", token)]).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.json()["error"], "invalid_client");
        assert!(
            !r.text.contains(ALICE) && !r.text.contains("active"),
            "{}",
            r.text
        );
        assert!(r.header("www-authenticate").is_some());
    }
    // An unknown client_id gets the same answer (no probing for registered ids).
    let ghost = Client {
        id: 0,
        client_id: "no-such-client".into(),
        secret: None,
    };
    let r = client_post(&app, INTROSPECT, &ghost, "none", &[("token", &access)]).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");

    // What the metadata advertises is exactly what each endpoint accepts.
    let m = metadata(&app).await;
    let methods = |field: &str| -> Vec<String> {
        m[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field}: {m}"))
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    };
    assert_eq!(
        methods("introspection_endpoint_auth_methods_supported"),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ]
    );
    assert_eq!(
        methods("revocation_endpoint_auth_methods_supported"),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ]
    );
    assert_eq!(
        methods("token_endpoint_auth_methods_supported"),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ]
    );
    // private_key_jwt at each endpoint: tests/api/private_key_jwt.rs.
    let all = ["client_secret_basic", "client_secret_post", "none"];
    for method in all {
        let client = if method == "none" {
            &public
        } else {
            &confidential
        };
        let advertised = |field: &str| methods(field).iter().any(|a| a == method);
        // Introspection: accepted methods answer 200, the others 401.
        let r = client_post(&app, INTROSPECT, client, method, &[("token", &access)]).await;
        assert_eq!(
            r.status == 200,
            advertised("introspection_endpoint_auth_methods_supported"),
            "introspection with {method}: {} {}",
            r.status,
            r.text
        );
        // Revocation of a token that is not the caller's: accepted methods answer 200
        // (RFC 7009 §2.2) and revoke nothing.
        let r = client_post(&app, REVOKE, client, method, &[("token", "unknown")]).await;
        assert_eq!(
            r.status == 200,
            advertised("revocation_endpoint_auth_methods_supported"),
            "revocation with {method}: {} {}",
            r.status,
            r.text
        );
        // Token endpoint: a method it accepts gets past client authentication (the
        // grant itself is wrong here, so `invalid_grant`, never `invalid_client`).
        let grant = [
            ("grant_type", "refresh_token"),
            ("refresh_token", "unknown"),
        ];
        let r = client_post(&app, "/oauth2/token", client, method, &grant).await;
        assert_eq!(
            r.json()["error"] != "invalid_client",
            advertised("token_endpoint_auth_methods_supported"),
            "token endpoint with {method}: {} {}",
            r.status,
            r.text
        );
    }
    let r = client_post(
        &app,
        INTROSPECT,
        &confidential,
        "client_secret_basic",
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.json()["active"], true, "{}", r.text);

    // A public client may revoke its own tokens with its client_id (RFC 7009 §2.1).
    let r = client_post(&app, REVOKE, &public, "none", &[("token", &refresh)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = client_post(
        &app,
        INTROSPECT,
        &confidential,
        "client_secret_post",
        &[("token", &refresh)],
    )
    .await;
    assert_eq!(r.json(), json!({"active": false}));
}

// ---------------------------------------------------------------------------------
// Item 3: redirect URIs.
// ---------------------------------------------------------------------------------

async fn post_app(app: &TestApp, redirects: &[&str]) -> Reply {
    app.send_json_as_admin(
        Method::POST,
        APPS,
        &json!({"name": "Redirects", "redirectUrls": redirects}),
    )
    .await
}

async fn dangerous_redirect_uris_are_refused_at_registration_and_update(b: Backend) {
    let app = spawn_app(b).await;
    let refused = [
        ("javascript:alert(document.domain)", "javascript: scheme"),
        ("JavaScript:alert(1)//", "javascript: scheme"),
        ("data:text/html,<script>alert(1)</script>", "data: scheme"),
        ("file:///etc/passwd", "file: scheme"),
        ("vbscript:msgbox(1)", "vbscript: scheme"),
        ("https://app.example/cb#frag", "fragment"),
        ("http://app.example/cb", "not loopback"),
        ("http://127.0.0.1.evil.example/cb", "not loopback"),
        // Browsers read '\' as '/': this goes to evil.example, not to loopback.
        ("http://evil.example\\@127.0.0.1/cb", "may not contain"),
        (
            "//evil.example/cb",
            "neither an absolute URL nor a host name",
        ),
        ("https:///cb", "has no host"),
    ];
    for (uri, rule) in refused {
        let msg = post_app(&app, &[CALLBACK, uri])
            .await
            .hdp_error(400, INVALID_FIELD);
        assert!(msg.contains("redirectUrls"), "{uri}: {msg}");
        assert!(msg.contains(&format!("'{uri}'")), "names the URI: {msg}");
        assert!(msg.contains(rule), "{uri}: says the rule ({rule}): {msg}");
    }
    let accepted = [
        "https://app.example/callback",
        "http://127.0.0.1:8123/cb",
        "http://localhost/cb",
        "http://[::1]:8080/cb",
        "com.example.app:/oauth2redirect",
        "bedford.progresstest.com",
    ];
    let r = post_app(&app, &accepted).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_i64().expect("id");
    let put = |redirects: &[&str]| {
        app.as_admin(Method::PUT, &format!("{APPS}/{id}"))
            .json(&json!({"name": "Redirects", "redirectUrls": redirects}))
    };
    let msg = app
        .send(put(&["javascript:alert(1)"]))
        .await
        .hdp_error(400, INVALID_FIELD);
    assert!(msg.contains("'javascript:alert(1)'"), "{msg}");
    let r = app.send(put(&["https://app.example/other"])).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn an_operator_may_allow_plain_http_redirect_uris(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = crate::helpers::fresh_database(b, &dir).await;
    let mut config = test_config(&url);
    config.allow_http_redirect_uris = true;
    let app = spawn_with(config, dir).await;
    let r = post_app(&app, &["http://app.example/cb"]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Still never the dangerous schemes.
    post_app(&app, &["javascript:alert(1)"])
        .await
        .hdp_error(400, INVALID_FIELD);
}

#[test]
fn the_http_redirect_setting_is_off_by_default_and_read_from_the_environment() {
    use portcullis_server::config::{Config, Overrides};
    let load = |value: Option<&str>| {
        let env: Vec<(String, String)> = value
            .map(|v| {
                (
                    "PORTCULLIS_ALLOW_HTTP_REDIRECT_URIS".to_owned(),
                    v.to_owned(),
                )
            })
            .into_iter()
            .collect();
        Config::load(None, env, Overrides::default())
    };
    assert!(!load(None).expect("defaults").allow_http_redirect_uris);
    assert!(load(Some("true")).expect("true").allow_http_redirect_uris);
    assert!(!load(Some("false")).expect("false").allow_http_redirect_uris);
    let err = load(Some("sometimes")).expect_err("not a boolean");
    assert!(
        err.to_string()
            .contains("PORTCULLIS_ALLOW_HTTP_REDIRECT_URIS"),
        "{err}"
    );
}

/// Replaces the stored redirect URLs of `client`, bypassing registration's rules (as
/// a row written by an older version would be).
async fn store_redirects(app: &TestApp, client: &Client, redirects: &[&str]) {
    let current = app.stored_client_app(client.id).await;
    app.state
        .ctx
        .store
        .update_client_app(
            client.id,
            ClientAppChanges {
                name: current.name,
                description: current.description,
                redirect_urls: redirects.iter().map(|s| (*s).to_owned()).collect(),
                grant_types: current.grant_types,
                scopes: current.scopes,
                post_logout_redirect_uris: current.post_logout_redirect_uris,
                id_token_signed_response_alg: current.id_token_signed_response_alg,
                userinfo_signed_response_alg: current.userinfo_signed_response_alg,
                require_pushed_authorization_requests: current
                    .require_pushed_authorization_requests,
                profile: current.profile,
                token_exchange_policy: None,
                now: app.clock.now(),
            },
        )
        .await
        .expect("store")
        .expect("updated");
}

fn authorize_to(client: &Client, redirect: Option<&str>, response_type: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", response_type)
        .append_pair("client_id", &client.client_id)
        .append_pair("state", "s")
        .append_pair(
            "code_challenge",
            &portcullis_core::crypto::pkce::s256(VERIFIER),
        )
        .append_pair("code_challenge_method", "S256");
    if let Some(r) = redirect {
        q.append_pair("redirect_uri", r);
    }
    format!("/oauth2/authorize?{}", q.finish())
}

#[track_caller]
fn assert_error_page(r: &Reply, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text);
    assert!(r.header("location").is_none(), "{what}: never a redirect");
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{what}"
    );
}

async fn host_only_and_stored_dangerous_uris_are_never_redirected_to(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    // HDP's sample registers host-only entries: accepted, listed, never a target.
    let hdp = register(
        &app,
        &["bedford.progresstest.com", "americas.progresstest.com"],
        json!({}),
    )
    .await;
    for rt in ["code", "token"] {
        let r = app
            .send(
                app.http
                    .get(app.url(&authorize_to(&hdp, Some("bedford.progresstest.com"), rt))),
            )
            .await;
        assert_error_page(&r, "host-only");
        assert!(r.text.contains("host name only"), "{}", r.text);
    }
    store_redirects(&app, &hdp, &["bedford.progresstest.com"]).await;
    let r = app
        .send(app.http.get(app.url(&authorize_to(&hdp, None, "code"))))
        .await;
    assert_error_page(&r, "the only, host-only, entry");

    // Rows stored before the rules (or written around them) are checked again at
    // the authorization endpoint: neither a code nor an error goes there.
    let client = register(&app, &[CALLBACK], json!({})).await;
    for stored in [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "http://app.example/cb",
    ] {
        store_redirects(&app, &client, &[stored]).await;
        for (redirect, rt) in [
            (Some(stored), "code"),
            (None, "code"),
            (Some(stored), "bogus"),
        ] {
            let r = app
                .send(app.http.get(app.url(&authorize_to(&client, redirect, rt))))
                .await;
            assert_error_page(&r, stored);
            assert!(!r.text.contains("<script>"), "escaped: {}", r.text);
        }
    }
    // Back to a valid address, the flow works (the check is not a blanket refusal).
    store_redirects(&app, &client, &[CALLBACK]).await;
    let location = authorize_location(&app, &client).await;
    assert!(location.starts_with(CALLBACK), "{location}");
}

// ---------------------------------------------------------------------------------
// Item 4: RFC 9207 `iss` in every authorization response.
// ---------------------------------------------------------------------------------

async fn authorization_responses_carry_the_issuer_of_the_metadata(b: Backend) {
    let app = spawn_app(b).await;
    let m = metadata(&app).await;
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    let issuer = m["issuer"].as_str().expect("issuer").to_owned();
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;

    // Success.
    let location = authorize_location(&app, &client).await;
    let q = query_of(&location);
    assert!(q.contains_key("code"), "{location}");
    assert_eq!(q.get("iss"), Some(&issuer), "{location}");
    // An error sent to the client before sign-in.
    let r = app
        .send(
            app.http
                .get(app.url(&authorize_to(&client, Some(CALLBACK), "token"))),
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let q = query_of(r.header("location").expect("Location"));
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("unsupported_response_type")
    );
    assert_eq!(q.get("iss"), Some(&issuer));
    // Deny at the consent page.
    let other = register(&app, &[CALLBACK], json!({"name": "Other"})).await;
    let mut browser = Browser::new(&app);
    let consent = to_consent(&mut browser, &authorize_path(&other, &[])).await;
    let r = decide(&mut browser, &consent, "deny").await;
    let q = query_of(r.header("location").expect("Location"));
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q.get("iss"), Some(&issuer));
    assert_eq!(q.get("state").map(String::as_str), Some("xyz-123"));
}

// ---------------------------------------------------------------------------------
// Item 10: ECDSA malleability.
// ---------------------------------------------------------------------------------

/// The P-256 group order, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The token with its signature's `s` replaced by `n − s`: the same signature for
/// ECDSA, a different string.
fn high_s_twin(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').expect("three parts");
    let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("base64url");
    assert_eq!(sig.len(), 64);
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(P256_N[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        sig[32 + i] = u8::try_from(d + 256 * borrow).expect("byte");
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn the_high_s_twin_of_a_real_token_is_refused_everywhere(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/tenants/1")
                .json(&json!({
                    "name": "system", "status": 1,
                    "allowedScopes": ["api.access.odata", "api.access.mgmt"]
                })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let client = register(&app, &[CALLBACK], json!({"scopes": ["api.access.mgmt"]})).await;
    let secret = client.secret.clone().expect("secret");
    // Many tokens: each is low-S, so each one's twin is high-S and a real forgery
    // candidate (ring verifies it; we must refuse it).
    for _ in 0..3 {
        let r = app
            .send(
                app.http
                    .post(app.url("/oauth2/token"))
                    .basic_auth(&client.client_id, Some(&secret))
                    .form(&[
                        ("grant_type", "password"),
                        ("username", ALICE),
                        ("password", ALICE_PASSWORD),
                        ("scope", "api.access.mgmt"),
                    ]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let token = r.json()["access_token"].as_str().expect("token").to_owned();
        let twin = high_s_twin(&token);
        assert_ne!(twin, token);
        let introspect = |t: String| {
            app.http
                .post(app.url(INTROSPECT))
                .basic_auth(&client.client_id, Some(&secret))
                .form(&[("token", t)])
        };
        let userinfo = |t: &str| app.http.get(app.url("/oauth2/userinfo")).bearer_auth(t);
        let mgmt = |t: &str| app.http.get(app.url(APPS)).bearer_auth(t);

        // The real token works everywhere...
        assert_eq!(
            app.send(introspect(token.clone())).await.json()["active"],
            true
        );
        assert_eq!(app.send(userinfo(&token)).await.status, 200);
        assert_eq!(app.send(mgmt(&token)).await.status, 200);
        // ...its twin nowhere.
        assert_eq!(
            app.send(introspect(twin.clone())).await.json(),
            json!({"active": false})
        );
        let r = app.send(userinfo(&twin)).await;
        assert_eq!(r.status, 401, "{}", r.text);
        let r = app.send(mgmt(&twin)).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
}

// ---------------------------------------------------------------------------------
// Item 15: seed 003's scope is "the tenant or host URL".
// ---------------------------------------------------------------------------------

async fn seed_003_scope_may_be_the_tenant_url_and_an_unknown_tenant_is_invalid_scope(b: Backend) {
    let app = spawn_app(b).await;
    let sheila = app
        .create_plain_user("sheila.thomas", "Tea-Time-1984")
        .await;
    let secret = crate::support::oauth::api_secret(&app, sheila.id).await;
    let r = app
        .send(app.as_admin(Method::PUT, "/api/admin/tenants/1").json(&json!({
            "name": "system", "status": 1, "hostNames": ["example.com", "data.example.com:8443"]
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let request = |secret: &str, scope: &str| {
        app.http.post(app.url("/configapi/v2/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sheila.thomas"),
            ("client_secret", secret),
            ("scope", scope),
        ])
    };
    for scope in [
        "example.com",
        "https://example.com",
        "https://example.com/",
        "https://example.com:443",
        "https://example.com:8443/",
        "http://example.com",
        "https://EXAMPLE.com",
        "HTTPS://Example.COM:443/",
        "https://data.example.com:8443",
        "https://data.example.com:8443/",
        "data.example.com:8443",
        "system",
    ] {
        let r = app.send(request(&secret, scope)).await;
        assert_eq!(r.status, 200, "scope={scope}: {}", r.text);
        assert_eq!(r.json()["token_type"], "Bearer");
    }
    for scope in [
        "elsewhere.example",
        "https://elsewhere.example",
        "https://example.com/some/path",
        "https://data.example.com",
    ] {
        let r = app.send(request(&secret, scope)).await;
        assert_eq!(r.status, 400, "scope={scope}: {}", r.text);
        assert_eq!(r.json()["error"], "invalid_scope", "{scope}");
        let d = r.json()["error_description"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(d.contains("names no tenant"), "{d}");
        assert!(!d.contains(&secret));
    }
    // A wrong secret on a known tenant is still a failed authentication.
    let r = app.send(request("wrong", "https://example.com")).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");
}

// ---------------------------------------------------------------------------------
// Item 17: HDP's own OAuth-application sample name.
// ---------------------------------------------------------------------------------

async fn hdps_oauth_application_sample_name_is_accepted(b: Backend) {
    let app = spawn_app(b).await;
    let body = |name: &str| {
        json!({
            "name": name, "dataStore": 54, "tenantId": 1, "description": "TenantA",
            "clientId": "ga-client", "clientSecret": "ga-secret",
            "authorizeURI": "https://accounts.example/o/oauth2/auth",
            "tokenURI": "https://accounts.example/o/oauth2/token",
            "scope": "full_offline_access"
        })
    };
    // Every application name in HDP's samples (hdp-reference §2, seeds 000–003).
    for name in [
        "TenantA OAuth app",
        "TestOAuthApplication_1",
        "Google_Analytics",
    ] {
        let r = app
            .send_json_as_admin(Method::POST, "/api/mgmt/oauthapps", &body(name))
            .await;
        assert_eq!(r.status, 201, "{name}: {}", r.text);
        assert_eq!(r.json()["name"], name);
        let id = r.json()["id"].as_i64().expect("id");
        let r = app
            .send_json_as_admin(
                Method::PUT,
                &format!("/api/mgmt/oauthapps/{id}"),
                &body(name),
            )
            .await;
        assert_eq!(r.status, 200, "update keeps {name}: {}", r.text);
    }
    for bad in [
        "",
        "   ",
        " padded",
        "tab\there",
        "nul\u{0}",
        "rtl\u{202E}ppa",
        &"a".repeat(129),
    ] {
        let msg = app
            .send_json_as_admin(Method::POST, "/api/mgmt/oauthapps", &body(bad))
            .await
            .hdp_error(400, INVALID_FIELD);
        assert!(msg.contains("'name'"), "{bad:?}: {msg}");
    }
    // Profile names keep HDP's documented rule (seed 002): letters, digits and '_'.
    let apps = app
        .send_as_admin(Method::GET, "/api/mgmt/oauthapps")
        .await
        .json();
    let app_id = apps["applications"][0]["id"].as_i64().expect("id");
    let msg = app
        .send(
            app.as_admin(Method::POST, "/api/mgmt/oauthprofiles")
                .json(&json!({
                    "name": "User 1", "oauthAppId": app_id, "refreshToken": "r"
                })),
        )
        .await
        .hdp_error(400, INVALID_FIELD);
    assert!(msg.contains("letters, digits and '_'"), "{msg}");
}

backends!(
    public_clients_cannot_introspect_and_the_metadata_matches_each_endpoint,
    dangerous_redirect_uris_are_refused_at_registration_and_update,
    an_operator_may_allow_plain_http_redirect_uris,
    host_only_and_stored_dangerous_uris_are_never_redirected_to,
    authorization_responses_carry_the_issuer_of_the_metadata,
    the_high_s_twin_of_a_real_token_is_refused_everywhere,
    seed_003_scope_may_be_the_tenant_url_and_an_unknown_tenant_is_invalid_scope,
    hdps_oauth_application_sample_name_is_accepted,
);
