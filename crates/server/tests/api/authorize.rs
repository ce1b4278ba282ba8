//! The authorization code flow over plain HTTP (issue 5, SPEC §2): the browser's side
//! is played by hand (cookies, hidden fields) so that every error path can be driven
//! exactly: unknown client, mismatched redirect_uri, missing or invalid PKCE, bad CSRF
//! tokens, Deny, replayed and expired codes, lockout at the login form. The same flow
//! in a real browser is `browser.rs`.

use crate::helpers::{backends, spawn_app, Backend, Reply, TestApp, ADMIN_PASSWORD};
use portcullis_core::crypto::pkce::s256;
use portcullis_core::model::identity::ROLE_USER;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const ALICE: &str = "alice";
pub const ALICE_PASSWORD: &str = "Wonder-Land-42";
pub const CALLBACK: &str = "https://app.example/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const ALLOWED: &str = "/api/mgmt/oauth/client/allowedapplications";

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: i64,
    pub client_id: String,
    pub secret: Option<String>,
}

/// Creates Alice through the users API; returns her id.
pub async fn create_alice(app: &TestApp) -> i64 {
    crate::support::oauth::create_user(app, ALICE, ALICE_PASSWORD).await
}

/// Registers an application as the administrator with `redirects` and `extra` fields.
pub async fn register(app: &TestApp, redirects: &[&str], extra: Value) -> Client {
    let mut body = json!({
        "name": "Quarterly Reports",
        "description": "Builds the quarterly sales reports from your OData sources.",
        "redirectUrls": redirects,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let v = app.register_as("admin", ADMIN_PASSWORD, body).await;
    Client {
        id: v["id"].as_i64().expect("id"),
        client_id: v["clientId"].as_str().expect("clientId").to_owned(),
        secret: v["clientSecret"].as_str().map(str::to_owned),
    }
}

/// The decoded hidden and named inputs of the first form whose action is `action`.
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posting to {action}: {html}"));
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |e| start + e);
    let form = &html[start..end];
    let mut out = Vec::new();
    for input in form.split("<input").skip(1) {
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            input.find(&key).map(|i| {
                let rest = &input[i + key.len()..];
                crate::helpers::unescape_html(&rest[..rest.find('"').unwrap_or(rest.len())])
            })
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push((n, v));
        }
    }
    out
}

/// The query parameters of a Location header.
pub fn query_of(location: &str) -> BTreeMap<String, String> {
    let q = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A browser, by hand: a cookie jar over the test's HTTP client.
#[derive(Debug)]
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Reply {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let r = self.app.send(req).await;
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().expect("ascii");
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').expect("name=value");
            assert!(attrs.contains("HttpOnly"), "{v}");
            assert!(attrs.contains("SameSite=Lax"), "{v}");
            if val.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        r
    }

    pub async fn get(&mut self, path_and_query: &str) -> Reply {
        let url = self.app.url(path_and_query);
        self.send(self.app.http.get(url)).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(String, String)]) -> Reply {
        let url = self.app.url(path);
        self.send(self.app.http.post(url).form(fields)).await
    }
}

/// `/oauth2/authorize?…` for `client` with PKCE (S256 of [`VERIFIER`]) and `state`.
pub fn authorize_path(client: &Client, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("state", "xyz-123")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/oauth2/authorize?{}", q.finish())
}

/// Asserts a page of the flow with its security headers; returns its HTML.
#[track_caller]
pub fn assert_page(r: &Reply, status: u16) -> &str {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(r.header("location").is_none(), "a page, not a redirect");
    assert!(!r.text.contains("<script"), "no JavaScript");
    &r.text
}

/// Asserts an error redirect to the callback; returns its query.
#[track_caller]
pub fn assert_error_redirect(r: &Reply, error: &str) -> BTreeMap<String, String> {
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").expect("Location");
    assert!(location.starts_with(CALLBACK), "{location}");
    let q = query_of(location);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some(error),
        "{location}"
    );
    assert!(
        q.get("error_description").is_some_and(|d| !d.is_empty()),
        "{location}"
    );
    q
}

/// Signs in at the login page `page` (the reply that showed it); returns the reply
/// to the login form.
pub async fn submit_login(b: &mut Browser<'_>, page: &Reply, user: &str, password: &str) -> Reply {
    let mut fields = form_fields(&page.text, "/oauth2/login");
    fields.retain(|(k, _)| k != "username");
    fields.push(("username".into(), user.into()));
    fields.push(("password".into(), password.into()));
    b.post("/oauth2/login", &fields).await
}

/// Follows a 303 back to the authorization endpoint.
pub async fn follow(b: &mut Browser<'_>, r: &Reply) -> Reply {
    assert_eq!(r.status, 303, "{}", r.text);
    let location = r.header("location").expect("Location").to_owned();
    assert!(location.starts_with("/oauth2/authorize?"), "{location}");
    b.get(&location).await
}

/// Logs in and reaches the consent page for `path`.
pub async fn to_consent(b: &mut Browser<'_>, path: &str) -> Reply {
    let page = b.get(path).await;
    assert!(assert_page(&page, 200).contains("Sign in"));
    let r = submit_login(b, &page, ALICE, ALICE_PASSWORD).await;
    let consent = follow(b, &r).await;
    assert!(
        assert_page(&consent, 200).contains("wants access"),
        "{}",
        consent.text
    );
    consent
}

pub async fn decide(b: &mut Browser<'_>, consent: &Reply, decision: &str) -> Reply {
    let mut fields = form_fields(&consent.text, "/oauth2/consent");
    fields.push(("decision".into(), decision.into()));
    b.post("/oauth2/consent", &fields).await
}

/// Exchanges `code` at the token endpoint as `client` with [`VERIFIER`].
pub async fn exchange(app: &TestApp, client: &Client, code: &str, verifier: &str) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier),
        ("client_id", client.client_id.as_str()),
    ];
    if let Some(s) = &client.secret {
        form.push(("client_secret", s));
    }
    app.send(app.http.post(app.url("/oauth2/token")).form(&form))
        .await
}

/// Whether `token` is active, introspected by `client`.
pub async fn active(app: &TestApp, client: &Client, token: &str) -> bool {
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/introspect"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&[("token", token)]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["active"] == true
}

pub fn code_of(r: &Reply) -> String {
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").expect("Location");
    assert!(location.starts_with(CALLBACK), "{location}");
    let q = query_of(location);
    assert_eq!(q.get("state").map(String::as_str), Some("xyz-123"));
    q.get("code").cloned().expect("code")
}

async fn the_whole_flow_runs_and_a_second_authorization_skips_consent(b: Backend) {
    let app = spawn_app(b).await;
    let m = app
        .send(
            app.http
                .get(app.url("/.well-known/oauth-authorization-server")),
        )
        .await
        .json();
    assert_eq!(m["authorization_endpoint"], app.url("/oauth2/authorize"));
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(&client, &[("scope", "odata")]);
    let consent = to_consent(&mut browser, &path).await;
    let html = &consent.text;
    assert!(html.contains("Quarterly Reports"));
    assert!(html.contains("Builds the quarterly sales reports"));
    assert!(html.contains("Allow data access via OData"));
    assert!(html.contains("Signed in as <strong>alice</strong>"));
    let csp = consent.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "the form may end at the client: {csp}"
    );
    let session = browser
        .cookies
        .get("portcullis_session")
        .expect("session cookie")
        .clone();
    assert_eq!(session.len(), 43, "256 random bits");

    let code = code_of(&decide(&mut browser, &consent, "allow").await);
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tokens = r.json();
    assert_eq!(tokens["scope"], "api.access.odata");
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    assert!(active(&app, &client, &access).await);

    // The consent is listed in HDP's shape.
    let listed = app
        .send_as(Method::GET, ALLOWED, ALICE, ALICE_PASSWORD)
        .await;
    assert_eq!(
        listed.json(),
        json!({"applications": [{"id": client.id, "name": "Quarterly Reports", "scopes": ["api.access.odata"]}]})
    );

    // A second authorization within the consent goes straight back with a code.
    let r = browser.get(&authorize_path(&client, &[])).await;
    let code2 = code_of(&r);
    assert_ne!(code, code2);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // HDP's path behaves the same.
    let mgmt =
        authorize_path(&client, &[]).replace("/oauth2/authorize", "/api/mgmt/oauth2/authorize");
    code_of(&browser.get(&mgmt).await);

    // Signing out ends the session: the next request shows the login page.
    let mut fields = form_fields(&consent.text, "/oauth2/logout");
    fields.retain(|(k, _)| k == "csrf_token");
    let r = browser.post("/oauth2/logout", &fields).await;
    assert!(assert_page(&r, 200).contains("signed out"));
    assert!(!browser.cookies.contains_key("portcullis_session"));
    browser
        .cookies
        .insert("portcullis_session".into(), session.clone());
    let r = browser.get(&authorize_path(&client, &[])).await;
    assert!(
        assert_page(&r, 200).contains("Sign in"),
        "the old cookie is worthless after sign-out"
    );
}

async fn unknown_clients_and_redirect_uris_get_an_error_page_never_a_redirect(b: Backend) {
    let app = spawn_app(b).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let two = register(&app, &[CALLBACK, "https://app.example/other"], json!({})).await;
    let mut browser = Browser::new(&app);
    let unknown = Client {
        id: 0,
        client_id: "no-such-client".into(),
        secret: None,
    };
    let r = browser.get(&authorize_path(&unknown, &[])).await;
    assert!(assert_page(&r, 400).contains("No application is registered"));
    let r = browser
        .get("/oauth2/authorize?response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback")
        .await;
    assert!(assert_page(&r, 400).contains("client_id is missing"));

    let path = authorize_path(&client, &[]).replace("callback", "callback%2Fevil");
    let r = browser.get(&path).await;
    assert!(
        assert_page(&r, 400).contains("not one registered"),
        "{}",
        r.text
    );
    // Exact matching: a prefix, another case or a trailing slash is another URI.
    for uri in [
        "https://app.example/callback/",
        "https://APP.example/callback",
        "https://app.example/callbac",
    ] {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", uri);
        let r = browser
            .get(&format!("/oauth2/authorize?{}", q.finish()))
            .await;
        assert_page(&r, 400);
    }
    // Omitted: fine with one registered, an error page with two.
    let omitted = |c: &Client| {
        format!(
            "/oauth2/authorize?response_type=code&client_id={}&state=s",
            c.client_id
        )
    };
    let r = browser.get(&omitted(&client)).await;
    assert!(assert_page(&r, 200).contains("Sign in"));
    let r = browser.get(&omitted(&two)).await;
    assert!(assert_page(&r, 400).contains("several redirect addresses"));
    // Script in a parameter is shown as text.
    let r = browser
        .get("/oauth2/authorize?client_id=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert!(!assert_page(&r, 400).contains("<script>"));
}

async fn other_request_errors_go_back_to_the_client_with_the_state(b: Backend) {
    let app = spawn_app(b).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let public = register(&app, &[CALLBACK], json!({"public": true})).await;
    assert_eq!(public.secret, None);
    let mut browser = Browser::new(&app);
    let base = |c: &Client, q: &str| {
        format!(
            "/oauth2/authorize?client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&state=st%26ate{q}",
            c.client_id
        )
    };
    let challenge = s256(VERIFIER);
    let cases: Vec<(String, &str, &str)> = vec![
        (base(&client, ""), "invalid_request", "response_type"),
        (
            base(&client, "&response_type=token"),
            "unsupported_response_type",
            "token",
        ),
        (
            base(&public, "&response_type=code"),
            "invalid_request",
            "Public clients must send a PKCE code_challenge",
        ),
        (
            base(
                &client,
                &format!(
                    "&response_type=code&code_challenge={challenge}&code_challenge_method=plain"
                ),
            ),
            "invalid_request",
            "plain",
        ),
        (
            base(
                &client,
                &format!("&response_type=code&code_challenge={challenge}"),
            ),
            "invalid_request",
            "S256",
        ),
        (
            base(
                &client,
                "&response_type=code&code_challenge=short&code_challenge_method=S256",
            ),
            "invalid_request",
            "43-character",
        ),
        (
            base(&client, "&response_type=code&code_challenge_method=S256"),
            "invalid_request",
            "without a code_challenge",
        ),
        (
            base(&client, "&response_type=code&scope=phone"),
            "invalid_scope",
            "phone",
        ),
        (
            base(&client, "&response_type=code&scope=api.access.mgmt"),
            "invalid_scope",
            "not allowed",
        ),
        (
            base(&client, "&response_type=code&response_type=code"),
            "invalid_request",
            "more than once",
        ),
    ];
    for (path, error, words) in cases {
        let r = browser.get(&path).await;
        let q = assert_error_redirect(&r, error);
        assert!(q["error_description"].contains(words), "{path}: {q:?}");
        assert_eq!(q.get("state").map(String::as_str), Some("st&ate"), "{path}");
    }
    // The same on HDP's path and by POST.
    let r = browser
        .get(&base(&client, "&response_type=token").replace("/oauth2/", "/api/mgmt/oauth2/"))
        .await;
    assert_error_redirect(&r, "unsupported_response_type");
    let form: Vec<(String, String)> = vec![
        ("client_id".into(), client.client_id.clone()),
        ("response_type".into(), "token".into()),
    ];
    let r = browser.post("/oauth2/authorize", &form).await;
    assert_error_redirect(&r, "unsupported_response_type");
    // A client that may not use the grant.
    let cc = register(
        &app,
        &[CALLBACK],
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    let r = browser.get(&base(&cc, "&response_type=code")).await;
    assert_error_redirect(&r, "unauthorized_client");
    // A public client with S256 gets the login page.
    let r = browser
        .get(&base(
            &public,
            &format!("&response_type=code&code_challenge={challenge}&code_challenge_method=S256"),
        ))
        .await;
    assert!(assert_page(&r, 200).contains("Sign in"));
}

async fn forms_without_the_right_csrf_token_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let alice = create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let path = authorize_path(&client, &[]);

    // The login form with a wrong token, or from a browser without the login cookie.
    let mut browser = Browser::new(&app);
    let page = browser.get(&path).await;
    let mut fields = form_fields(&page.text, "/oauth2/login");
    fields.retain(|(k, _)| k != "username");
    for (k, v) in fields.iter_mut() {
        if k == "csrf_token" {
            v.push('x');
        }
    }
    fields.push(("username".into(), ALICE.into()));
    fields.push(("password".into(), ALICE_PASSWORD.into()));
    let r = browser.post("/oauth2/login", &fields).await;
    assert!(assert_page(&r, 403).contains("security token did not match"));
    assert!(!browser.cookies.contains_key("portcullis_session"));
    let mut stranger = Browser::new(&app);
    let good = {
        let mut f = form_fields(&page.text, "/oauth2/login");
        f.retain(|(k, _)| k != "username");
        f.push(("username".into(), ALICE.into()));
        f.push(("password".into(), ALICE_PASSWORD.into()));
        f
    };
    let r = stranger.post("/oauth2/login", &good).await;
    assert_page(&r, 403);
    assert!(stranger.cookies.is_empty(), "no session for a forged login");

    // The consent form: a token of another session does not count.
    let consent = to_consent(&mut browser, &path).await;
    let mut other = Browser::new(&app);
    let other_consent = to_consent(&mut other, &path).await;
    let mut fields = form_fields(&other_consent.text, "/oauth2/consent");
    fields.push(("decision".into(), "allow".into()));
    let r = browser.post("/oauth2/consent", &fields).await;
    assert_page(&r, 403);
    let mut fields = form_fields(&consent.text, "/oauth2/consent");
    fields.retain(|(k, _)| k != "csrf_token");
    fields.push(("decision".into(), "allow".into()));
    let r = browser.post("/oauth2/consent", &fields).await;
    assert_page(&r, 403);
    assert!(
        app.state
            .ctx
            .store
            .consents_of_user(alice)
            .await
            .expect("consents")
            .is_empty(),
        "a refused form records nothing"
    );
    // Sign-out with a wrong token leaves the session alone.
    let r = browser
        .post("/oauth2/logout", &[("csrf_token".into(), "nope".into())])
        .await;
    assert_page(&r, 403);
    let r = browser.get(&path).await;
    assert!(
        assert_page(&r, 200).contains("wants access"),
        "still signed in"
    );
}

async fn deny_sends_access_denied_and_records_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let alice = create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let consent = to_consent(&mut browser, &authorize_path(&client, &[])).await;
    let r = decide(&mut browser, &consent, "deny").await;
    let q = assert_error_redirect(&r, "access_denied");
    assert_eq!(q["error_description"], "User denied OAuth access");
    assert_eq!(q["state"], "xyz-123");
    assert!(!q.contains_key("code"));
    assert!(app
        .state
        .ctx
        .store
        .consents_of_user(alice)
        .await
        .expect("consents")
        .is_empty());
    // Asking again shows the consent page again.
    let r = browser.get(&authorize_path(&client, &[])).await;
    assert!(assert_page(&r, 200).contains("wants access"));
    // An unknown decision is refused.
    let r = decide(&mut browser, &consent, "maybe").await;
    assert_page(&r, 400);
}

async fn replayed_codes_revoke_their_tokens_and_codes_expire(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let public = register(&app, &[CALLBACK], json!({"public": true})).await;
    let mut browser = Browser::new(&app);
    let consent = to_consent(&mut browser, &authorize_path(&client, &[])).await;
    let code = code_of(&decide(&mut browser, &consent, "allow").await);

    // Wrong verifier, missing verifier, wrong redirect_uri, another client: refused.
    let r = exchange(&app, &client, &code, &"x".repeat(43)).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);
    // (the code was spent by that attempt: a code is single use even when refused)
    let code = code_of(&browser.get(&authorize_path(&client, &[])).await);
    let r = exchange(&app, &public, &code, VERIFIER).await;
    assert_eq!(
        r.json()["error"],
        "invalid_grant",
        "another client: {}",
        r.text
    );

    let code = code_of(&browser.get(&authorize_path(&client, &[])).await);
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json()["access_token"].as_str().expect("at").to_owned();
    let refresh = r.json()["refresh_token"].as_str().expect("rt").to_owned();
    assert!(active(&app, &client, &access).await);
    // The replay is refused and takes the tokens issued from the code with it.
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(r.json()["error_description"]
        .as_str()
        .expect("description")
        .contains("revoked"));
    assert!(
        !active(&app, &client, &access).await,
        "access token revoked"
    );
    assert!(
        !active(&app, &client, &refresh).await,
        "refresh token revoked"
    );

    // A code lives 60 seconds (limit 1004).
    let code = code_of(&browser.get(&authorize_path(&client, &[])).await);
    app.clock.advance(61);
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);
    assert!(r.text.contains("expired"), "{}", r.text);
    // Within its lifetime it works.
    let code = code_of(&browser.get(&authorize_path(&client, &[])).await);
    app.clock.advance(59);
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn login_failures_count_toward_lockout_and_reveal_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let alice = create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(&client, &[]);
    let page = browser.get(&path).await;
    assert!(
        !assert_page(&page, 200).contains("name=\"tenant\""),
        "one tenant: no tenant field"
    );
    let message = |r: &Reply| {
        let html = assert_page(r, 200);
        let start = html.find("class=\"error\"").expect("an error message");
        html[start..start + 200].to_owned()
    };
    let unknown = message(&submit_login(&mut browser, &page, "nobody", "whatever").await);
    let mut wrong = Vec::new();
    for _ in 0..3 {
        wrong.push(message(
            &submit_login(&mut browser, &page, ALICE, "wrong").await,
        ));
    }
    assert!(wrong.iter().all(|m| *m == unknown), "{unknown} / {wrong:?}");
    assert!(unknown.contains("lock"), "says failures lock: {unknown}");
    let user = app.stored_user(alice).await;
    assert!(
        user.lock_at(portcullis_core::clock::Clock::now(&app.clock))
            .is_some(),
        "three failures lock the account (HDP limit 3)"
    );
    // Now even the right password is refused, with the same words.
    let r = submit_login(&mut browser, &page, ALICE, ALICE_PASSWORD).await;
    assert_eq!(message(&r), unknown);
    assert!(!browser.cookies.contains_key("portcullis_session"));
    // The name typed is kept, the password is not.
    assert!(r.text.contains("value=\"alice\""));
    assert!(!r.text.contains(ALICE_PASSWORD));
}

async fn sessions_end_when_the_password_changes_and_tenants_are_asked_when_several(b: Backend) {
    let app = spawn_app(b).await;
    let alice = create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(&client, &[]);
    to_consent(&mut browser, &path).await;
    let hash = app
        .state
        .ctx
        .hasher
        .hash("Another-Password-7")
        .await
        .expect("hash");
    app.state
        .ctx
        .store
        .set_password(alice, &hash, portcullis_core::clock::Clock::now(&app.clock))
        .await
        .expect("set");
    let r = browser.get(&path).await;
    assert!(assert_page(&r, 200).contains("Sign in"), "the session died");

    // With a second tenant, the login page asks for the tenant, filled in with the
    // application's.
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({"name": "acme", "parentTenant": 1}),
        )
        .await;
    assert_eq!(r.status / 100, 2, "{}", r.text);
    let page = browser.get(&path).await;
    let html = assert_page(&page, 200);
    assert!(html.contains("name=\"tenant\""), "{html}");
    let fields = form_fields(html, "/oauth2/login");
    let tenant = fields
        .iter()
        .find(|(k, _)| k == "tenant")
        .map(|(_, v)| v.clone());
    assert!(tenant.is_some_and(|t| !t.is_empty()));
    // Alice does not exist in acme.
    let mut f = form_fields(html, "/oauth2/login");
    f.retain(|(k, _)| k != "tenant" && k != "username");
    f.push(("tenant".into(), "acme".into()));
    f.push(("username".into(), ALICE.into()));
    f.push(("password".into(), "Another-Password-7".into()));
    let r = browser.post("/oauth2/login", &f).await;
    assert!(assert_page(&r, 200).contains("class=\"error\""));
    let r = submit_login(&mut browser, &page, ALICE, "Another-Password-7").await;
    let consent = follow(&mut browser, &r).await;
    assert!(assert_page(&consent, 200).contains("wants access"));

    // A session ends after 30 idle minutes; use keeps it alive.
    app.clock.advance(29 * 60);
    assert!(assert_page(&browser.get(&path).await, 200).contains("wants access"));
    app.clock.advance(29 * 60);
    assert!(assert_page(&browser.get(&path).await, 200).contains("wants access"));
    app.clock.advance(30 * 60);
    assert!(
        assert_page(&browser.get(&path).await, 200).contains("Sign in"),
        "idle too long"
    );

    // A user of another tenant may not authorize this application: a page that
    // offers to sign in as someone else.
    let acme = app
        .state
        .ctx
        .store
        .tenant_by_name("acme")
        .await
        .expect("get")
        .expect("acme");
    app.create_user(acme.id, "bob", "Bobs-Password-9", vec![ROLE_USER])
        .await;
    let mut bob = Browser::new(&app);
    let page = bob.get(&path).await;
    let mut f = form_fields(&page.text, "/oauth2/login");
    f.retain(|(k, _)| k != "tenant" && k != "username");
    f.push(("tenant".into(), "acme".into()));
    f.push(("username".into(), "bob".into()));
    f.push(("password".into(), "Bobs-Password-9".into()));
    let r = bob.post("/oauth2/login", &f).await;
    let refused = follow(&mut bob, &r).await;
    assert!(
        assert_page(&refused, 403).contains("belongs to tenant system"),
        "{}",
        refused.text
    );
    let mut fields = form_fields(&refused.text, "/oauth2/logout");
    fields.retain(|(k, _)| k != "username");
    let r = bob.post("/oauth2/logout", &fields).await;
    let login = follow(&mut bob, &r).await;
    assert!(
        assert_page(&login, 200).contains("Sign in"),
        "signed out, back to the login page"
    );

    // The request may also come as a form POST (RFC 6749 §3.1).
    let mut fresh = Browser::new(&app);
    let form: Vec<(String, String)> = query_of(&path).into_iter().collect();
    let r = fresh.post("/oauth2/authorize", &form).await;
    assert!(assert_page(&r, 200).contains("Sign in"));
    // HDP's spelling clientId works too.
    let hdp: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| {
            let k = if k == "client_id" {
                "clientId".to_owned()
            } else {
                k.clone()
            };
            (k, v.clone())
        })
        .collect();
    let r = fresh.post("/oauth2/authorize", &hdp).await;
    assert!(assert_page(&r, 200).contains("Sign in"));
}

/// The page security headers come from one layer over the page routes (issue 12):
/// pages and redirects get them, the cached stylesheet and a 405 do not, and the
/// connect flow's page keeps its own bare CSP.
async fn the_page_headers_cover_the_page_routes_and_nothing_else(b: Backend) {
    let app = spawn_app(b).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&authorize_path(&client, &[])).await;
    assert_page(&page, 200);
    assert_eq!(page.header("pragma"), Some("no-cache"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert_eq!(
        csp,
        "default-src 'none'; style-src 'self'; img-src 'self'; \
         form-action 'self' https://app.example; frame-ancestors 'none'; base-uri 'none'"
    );

    // Not signed in: the consent form sends the browser back, with the headers of a
    // page but no CSP (a redirect has no content).
    let fields = form_fields(&page.text, "/oauth2/login");
    let r = browser.post("/oauth2/consent", &fields).await;
    assert_eq!(r.status, 303, "{}", r.text);
    for (name, value) in [
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(r.header(name), Some(value), "{name}");
    }
    assert!(r.header("content-security-policy").is_none());

    let css = app
        .send(app.http.get(app.url("/oauth2/assets/portcullis.css")))
        .await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("cache-control"), Some("public, max-age=86400"));
    assert!(css.header("x-frame-options").is_none());
    assert!(css.header("content-security-policy").is_none());

    let r = app.send(app.http.put(app.url("/oauth2/authorize"))).await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert!(
        r.header("x-frame-options").is_none(),
        "the API's 405, not a page"
    );

    let r = app
        .send(
            app.http
                .get(app.url("/oauth2callback?state=unknown&code=x")),
        )
        .await;
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

backends!(
    the_whole_flow_runs_and_a_second_authorization_skips_consent,
    unknown_clients_and_redirect_uris_get_an_error_page_never_a_redirect,
    other_request_errors_go_back_to_the_client_with_the_state,
    forms_without_the_right_csrf_token_are_refused,
    deny_sends_access_denied_and_records_nothing,
    replayed_codes_revoke_their_tokens_and_codes_expire,
    login_failures_count_toward_lockout_and_reveal_nothing,
    sessions_end_when_the_password_changes_and_tenants_are_asked_when_several,
    the_page_headers_cover_the_page_routes_and_nothing_else,
);
