//! OpenID Connect (issue 13) over plain HTTP, the browser played by hand as in
//! `authorize.rs`: ID tokens from the code, refresh and password grants verified as a
//! relying party does (discovery, `jwks_uri`, the `jsonwebtoken` crate), UserInfo,
//! `prompt`/`max_age`/`login_hint`/`id_token_hint`, response modes, the `claims`
//! parameter, RP-initiated logout, and every error path. The same flows driven by
//! openid-client and Authlib are `oidc_clients.rs`.

use crate::authorize::{
    assert_page, authorize_path, create_alice, decide, exchange, follow, form_fields, query_of,
    register, submit_login, to_consent, Browser, Client, ALICE, ALICE_PASSWORD, CALLBACK, VERIFIER,
};
use crate::helpers::{backends, spawn_app, Backend, Reply, TestApp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use portcullis_core::clock::Clock as _;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const BYE: &str = "https://app.example/signed-out";
const NONCE: &str = "n-0S6_WzA2Mj";

/// Alice with a profile; returns her id.
async fn alice_with_profile(app: &TestApp) -> i64 {
    let id = create_alice(app).await;
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("/api/admin/users/{id}"),
            &json!({"userName": ALICE, "statusInfo": {"status": 1}, "displayName": "Alice Liddell", "givenName": "Alice", "familyName": "Liddell",
                    "email": "alice@example.com", "emailVerified": true, "locale": "en-GB"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    id
}

/// An application that may sign users in and be sent back to after signing out.
async fn rp(app: &TestApp, extra: Value) -> Client {
    let mut fields = json!({"postLogoutRedirectUris": [BYE]});
    if let (Some(f), Some(e)) = (fields.as_object_mut(), extra.as_object()) {
        f.extend(e.clone());
    }
    register(app, &[CALLBACK], fields).await
}

/// The discovery document.
async fn discovery(app: &TestApp) -> Value {
    let r = app
        .send(app.http.get(app.url("/.well-known/openid-configuration")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

/// Verifies a JWT the way a relying party does: the key by `kid` from the discovery
/// document's `jwks_uri`, the algorithm `alg`, `iss` the issuer, `aud` the client.
/// Returns the claims.
async fn rp_verify(app: &TestApp, token: &str, alg: Algorithm, audience: &str) -> Value {
    verify_as_rp(
        app,
        token,
        alg,
        audience,
        &["exp", "iat", "iss", "aud", "sub"],
    )
    .await
}

/// [`rp_verify`] requiring only `required` (a signed UserInfo answer has no `exp`).
async fn verify_as_rp(
    app: &TestApp,
    token: &str,
    alg: Algorithm,
    audience: &str,
    required: &[&str],
) -> Value {
    let meta = discovery(app).await;
    let jwks = app
        .send(app.http.get(meta["jwks_uri"].as_str().expect("jwks_uri")))
        .await
        .json();
    let jwks: JwkSet = serde_json::from_value(jwks).expect("a JWK Set");
    let header = decode_header(token).expect("a JWS header");
    assert_eq!(header.alg, alg, "{header:?}");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("the kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut v = Validation::new(alg);
    v.set_issuer(&[meta["issuer"].as_str().expect("issuer")]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(required);
    v.validate_exp = required.contains(&"exp");
    v.leeway = 0;
    decode::<Value>(token, &key, &v)
        .expect("a valid JWT")
        .claims
}

/// The callback's parameters of a redirect to the client.
#[track_caller]
fn to_callback(r: &Reply) -> BTreeMap<String, String> {
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").expect("Location");
    assert!(location.starts_with(CALLBACK), "{location}");
    query_of(location)
}

#[track_caller]
fn code_of(r: &Reply) -> String {
    let q = to_callback(r);
    assert_eq!(q.get("state").map(String::as_str), Some("xyz-123"));
    q.get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {q:?}"))
}

#[track_caller]
fn error_of(r: &Reply) -> String {
    let q = to_callback(r);
    assert_eq!(q.get("state").map(String::as_str), Some("xyz-123"), "{q:?}");
    q.get("error")
        .cloned()
        .unwrap_or_else(|| panic!("no error: {q:?}"))
}

/// Signs Alice in and consents to `extra`'s request; returns the token response.
async fn sign_in(
    app: &TestApp,
    b: &mut Browser<'_>,
    client: &Client,
    extra: &[(&str, &str)],
) -> Value {
    let consent = to_consent(b, &authorize_path(client, extra)).await;
    let code = code_of(&decide(b, &consent, "allow").await);
    let r = exchange(app, client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn userinfo(app: &TestApp, method: Method, token: &str) -> Reply {
    app.send(
        app.http
            .request(method, app.url("/oauth2/userinfo"))
            .bearer_auth(token),
    )
    .await
}

async fn an_openid_sign_in_gives_an_id_token_a_relying_party_verifies(b: Backend) {
    let app = spawn_app(b).await;
    let alice = alice_with_profile(&app).await;
    let client = rp(&app, json!({})).await;
    let meta = discovery(&app).await;
    assert_eq!(meta["issuer"], app.base.as_str());
    assert!(meta["scopes_supported"]
        .as_array()
        .expect("scopes")
        .contains(&json!("openid")));

    let mut browser = Browser::new(&app);
    let path = authorize_path(
        &client,
        &[("scope", "openid profile email"), ("nonce", NONCE)],
    );
    let consent = to_consent(&mut browser, &path).await;
    assert!(
        consent.text.contains("Sign you in with your account"),
        "{}",
        consent.text
    );
    assert!(consent.text.contains("See your email address"));
    let signed_in_at = app.clock.now();
    app.clock.advance(7);
    let code = code_of(&decide(&mut browser, &consent, "allow").await);
    let tokens = exchange(&app, &client, &code, VERIFIER).await.json();
    assert_eq!(tokens["scope"], "openid profile email");
    assert!(
        tokens.get("refresh_token").is_some(),
        "a confidential client gets one"
    );
    let access = tokens["access_token"].as_str().expect("access token");
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let claims = rp_verify(&app, id_token, Algorithm::RS256, &client.client_id).await;
    assert_eq!(claims["sub"], alice.to_string());
    assert_eq!(claims["nonce"], NONCE, "echoed exactly");
    assert_eq!(claims["auth_time"], signed_in_at);
    assert_eq!(
        claims["at_hash"],
        portcullis_core::oauth::id_token::at_hash(access)
    );
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Alice Liddell");
    assert_eq!(claims["preferred_username"], ALICE);
    assert!(claims.get("azp").is_none(), "one audience, no azp needed");

    // UserInfo, by GET and POST: the same subject and the scopes' claims.
    for method in [Method::GET, Method::POST] {
        let r = userinfo(&app, method, access).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let u = r.json();
        assert_eq!(u["sub"], claims["sub"]);
        assert_eq!(u["given_name"], "Alice");
        assert_eq!(u["family_name"], "Liddell");
        assert_eq!(u["locale"], "en-GB");
        assert_eq!(u["email"], "alice@example.com");
    }

    // A refresh gives a fresh ID token that still says when Alice signed in.
    app.clock.advance(60);
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&[
                    ("grant_type", "refresh_token"),
                    (
                        "refresh_token",
                        tokens["refresh_token"].as_str().expect("rt"),
                    ),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refreshed = r.json();
    let again = rp_verify(
        &app,
        refreshed["id_token"].as_str().expect("a fresh ID token"),
        Algorithm::RS256,
        &client.client_id,
    )
    .await;
    assert_eq!(again["sub"], claims["sub"]);
    assert_eq!(again["auth_time"], signed_in_at);
    assert_eq!(again["sid"], claims["sid"]);
    assert!(again["iat"].as_i64() > claims["iat"].as_i64());
    assert!(
        again.get("nonce").is_none(),
        "the nonce belongs to the sign-in"
    );

    // The same client without openid: what HDP clients have always had.
    let hdp = sign_in(
        &app,
        &mut Browser::new(&app),
        &client,
        &[("scope", "odata")],
    )
    .await;
    assert!(hdp.get("id_token").is_none());
    assert!(hdp.get("refresh_token").is_some());
    let u = userinfo(&app, Method::GET, hdp["access_token"].as_str().expect("at"))
        .await
        .json();
    assert_eq!(u["username"], ALICE);
    assert!(u.get("email").is_none());
}

async fn es256_on_request_and_a_signed_userinfo_answer(b: Backend) {
    let app = spawn_app(b).await;
    alice_with_profile(&app).await;
    let client = rp(
        &app,
        json!({"idTokenSignedResponseAlg": "ES256", "userinfoSignedResponseAlg": "RS256"}),
    )
    .await;
    let tokens = sign_in(
        &app,
        &mut Browser::new(&app),
        &client,
        &[("scope", "openid email")],
    )
    .await;
    let claims = rp_verify(
        &app,
        tokens["id_token"].as_str().expect("id token"),
        Algorithm::ES256,
        &client.client_id,
    )
    .await;
    let r = userinfo(
        &app,
        Method::GET,
        tokens["access_token"].as_str().expect("at"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/jwt"));
    let signed = verify_as_rp(
        &app,
        &r.text,
        Algorithm::RS256,
        &client.client_id,
        &["iss", "aud", "sub"],
    )
    .await;
    assert_eq!(signed["sub"], claims["sub"]);
    assert_eq!(signed["email"], "alice@example.com");
}

async fn prompt_max_age_and_hints_decide_when_to_sign_in_again(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = rp(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    let openid = ("scope", "openid");

    // prompt=none without a session: an error, never a page.
    let r = browser
        .get(&authorize_path(&client, &[openid, ("prompt", "none")]))
        .await;
    assert_eq!(error_of(&r), "login_required");

    let tokens = sign_in(&app, &mut browser, &client, &[openid]).await;
    let id_token = tokens["id_token"].as_str().expect("id token").to_owned();
    // Signed in and consented: prompt=none goes straight back with a code …
    code_of(
        &browser
            .get(&authorize_path(&client, &[openid, ("prompt", "none")]))
            .await,
    );
    // … also with a hint naming Alice …
    code_of(
        &browser
            .get(&authorize_path(
                &client,
                &[openid, ("prompt", "none"), ("id_token_hint", &id_token)],
            ))
            .await,
    );
    // … but not for scopes she has not allowed.
    let r = browser
        .get(&authorize_path(
            &client,
            &[("scope", "openid email"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(error_of(&r), "consent_required");

    // prompt=consent asks again although the consent covers the request.
    let r = browser
        .get(&authorize_path(&client, &[openid, ("prompt", "consent")]))
        .await;
    assert!(assert_page(&r, 200).contains("wants access"), "{}", r.text);

    // prompt=login shows the login page (the hint filled in) despite the session, and
    // after signing in goes on without asking again.
    let r = browser
        .get(&authorize_path(
            &client,
            &[openid, ("prompt", "login"), ("login_hint", ALICE)],
        ))
        .await;
    let page = assert_page(&r, 200);
    assert!(page.contains("Sign in"), "{page}");
    assert!(
        page.contains(&format!("value=\"{ALICE}\"")),
        "login_hint: {page}"
    );
    app.clock.advance(100);
    let relogged_at = app.clock.now();
    let signed = submit_login(&mut browser, &r, ALICE, ALICE_PASSWORD).await;
    let code = code_of(&follow(&mut browser, &signed).await);
    let fresh = exchange(&app, &client, &code, VERIFIER).await.json();
    let claims = rp_verify(
        &app,
        fresh["id_token"].as_str().expect("id token"),
        Algorithm::RS256,
        &client.client_id,
    )
    .await;
    assert_eq!(claims["auth_time"], relogged_at, "a new sign-in");

    // max_age: a session older than it signs in again; max_age=0 always does.
    app.clock.advance(30);
    code_of(
        &browser
            .get(&authorize_path(&client, &[openid, ("max_age", "60")]))
            .await,
    );
    let r = browser
        .get(&authorize_path(&client, &[openid, ("max_age", "10")]))
        .await;
    assert!(assert_page(&r, 200).contains("Sign in"));
    let r = browser
        .get(&authorize_path(&client, &[openid, ("max_age", "0")]))
        .await;
    assert!(assert_page(&r, 200).contains("Sign in"));
    let signed = submit_login(&mut browser, &r, ALICE, ALICE_PASSWORD).await;
    app.clock.advance(1);
    code_of(&follow(&mut browser, &signed).await);
    let r = browser
        .get(&authorize_path(
            &client,
            &[openid, ("max_age", "0"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(error_of(&r), "login_required", "max_age=0 with prompt=none");
}

async fn a_hint_for_another_user_or_a_bad_one_is_not_obeyed(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    crate::support::oauth::create_user(&app, "bob", ALICE_PASSWORD).await;
    let client = rp(&app, json!({})).await;
    let openid = ("scope", "openid");
    // Bob signs in in his own browser and keeps his ID token.
    let mut bobs_browser = Browser::new(&app);
    let page = bobs_browser.get(&authorize_path(&client, &[openid])).await;
    let signed = submit_login(&mut bobs_browser, &page, "bob", ALICE_PASSWORD).await;
    let consent = follow(&mut bobs_browser, &signed).await;
    let code = code_of(&decide(&mut bobs_browser, &consent, "allow").await);
    let bobs = exchange(&app, &client, &code, VERIFIER).await.json();
    let bobs_hint = bobs["id_token"].as_str().expect("id token");

    let mut browser = Browser::new(&app);
    sign_in(&app, &mut browser, &client, &[openid]).await;
    let r = browser
        .get(&authorize_path(
            &client,
            &[openid, ("prompt", "none"), ("id_token_hint", bobs_hint)],
        ))
        .await;
    assert_eq!(
        error_of(&r),
        "login_required",
        "Alice is signed in, not Bob"
    );
    let r = browser
        .get(&authorize_path(
            &client,
            &[openid, ("id_token_hint", bobs_hint)],
        ))
        .await;
    assert!(assert_page(&r, 200).contains("Sign in"), "sign in as Bob");

    // Not an ID token of this server for this client: refused.
    let access = bobs["access_token"].as_str().expect("at");
    let other = rp(&app, json!({})).await;
    for bad in [access, "e30.e30.sig", bobs_hint] {
        let r = browser
            .get(&authorize_path(&other, &[openid, ("id_token_hint", bad)]))
            .await;
        assert_eq!(error_of(&r), "invalid_request", "{bad}");
    }
}

async fn oidc_parameters_are_checked_and_refused_with_the_rfc_errors(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = rp(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    for (params, error) in [
        (vec![("nonce", "n")], "invalid_request"),
        (vec![("max_age", "5")], "invalid_request"),
        (
            vec![("claims", r#"{"userinfo":{"email":null}}"#)],
            "invalid_request",
        ),
        (
            vec![("scope", "openid"), ("request", "eyJ.e30.")],
            "request_not_supported",
        ),
        (
            vec![("scope", "openid"), ("request_uri", "https://rp.example/r")],
            "request_uri_not_supported",
        ),
        (
            vec![("scope", "openid"), ("prompt", "none login")],
            "invalid_request",
        ),
        (
            vec![("scope", "openid"), ("prompt", "later")],
            "invalid_request",
        ),
        (
            vec![("scope", "openid"), ("max_age", "-1")],
            "invalid_request",
        ),
        (
            vec![("scope", "openid"), ("claims", "{")],
            "invalid_request",
        ),
        (
            vec![("scope", "openid"), ("response_mode", "jwt")],
            "invalid_request",
        ),
        (vec![("scope", "openid phone")], "invalid_scope"),
        (
            vec![("scope", "openid"), ("response_type", "code id_token")],
            "unsupported_response_type",
        ),
    ] {
        let path = authorize_path(&client, &params).replace("response_type=code&", "");
        let path = if params.iter().any(|(k, _)| *k == "response_type") {
            path
        } else {
            format!("{path}&response_type=code")
        };
        let r = browser.get(&path).await;
        let q = to_callback(&r);
        assert_eq!(
            q.get("error").map(String::as_str),
            Some(error),
            "{params:?}: {q:?}"
        );
        let description = q.get("error_description").expect("a description");
        if error == "invalid_request" && params.len() == 1 {
            assert!(
                description.contains("openid"),
                "says what is missing: {description}"
            );
        }
    }
    // Discovery says what is and is not supported.
    let meta = discovery(&app).await;
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["request_parameter_supported"], false);
    assert_eq!(meta["subject_types_supported"], json!(["public"]));
}

async fn the_fragment_and_form_post_response_modes(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = rp(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    sign_in(&app, &mut browser, &client, &[("scope", "openid")]).await;

    let r = browser
        .get(&authorize_path(
            &client,
            &[("scope", "openid"), ("response_mode", "fragment")],
        ))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").expect("Location");
    let (base, fragment) = location.split_once('#').expect("a fragment");
    assert_eq!(base, CALLBACK);
    let q: BTreeMap<String, String> = form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    assert!(q.contains_key("code") && q["state"] == "xyz-123" && q["iss"] == app.base);

    let r = browser
        .get(&authorize_path(
            &client,
            &[("scope", "openid"), ("response_mode", "form_post")],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fields: BTreeMap<String, String> = form_fields(&r.text, CALLBACK).into_iter().collect();
    assert!(fields.contains_key("code"), "{fields:?}");
    assert_eq!(fields["state"], "xyz-123");
    assert_eq!(fields["iss"], app.base);
    assert!(r.text.contains("<noscript>"), "works without JavaScript");
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // The code it carries works.
    let t = exchange(&app, &client, &fields["code"], VERIFIER).await;
    assert_eq!(t.status, 200, "{}", t.text);

    // Errors travel the same way.
    let r = browser
        .get(&authorize_path(
            &client,
            &[
                ("scope", "openid"),
                ("response_mode", "form_post"),
                ("prompt", "bogus"),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fields: BTreeMap<String, String> = form_fields(&r.text, CALLBACK).into_iter().collect();
    assert_eq!(fields["error"], "invalid_request");
}

async fn the_claims_parameter_asks_for_single_claims(b: Backend) {
    let app = spawn_app(b).await;
    alice_with_profile(&app).await;
    let client = rp(&app, json!({})).await;
    let claims = r#"{"id_token":{"email":{"essential":true},"unknown_claim":null},"userinfo":{"given_name":null}}"#;
    let tokens = sign_in(
        &app,
        &mut Browser::new(&app),
        &client,
        &[("scope", "openid"), ("claims", claims)],
    )
    .await;
    let id = rp_verify(
        &app,
        tokens["id_token"].as_str().expect("id token"),
        Algorithm::RS256,
        &client.client_id,
    )
    .await;
    assert_eq!(id["email"], "alice@example.com", "asked by name");
    assert!(id.get("given_name").is_none() && id.get("unknown_claim").is_none());
    let u = userinfo(
        &app,
        Method::GET,
        tokens["access_token"].as_str().expect("at"),
    )
    .await
    .json();
    assert_eq!(u["given_name"], "Alice");
    assert!(u.get("email").is_none(), "asked for the ID token only");
}

async fn rp_initiated_logout_ends_the_session_and_returns_only_where_registered(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = rp(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    let tokens = sign_in(&app, &mut browser, &client, &[("scope", "openid")]).await;
    let hint = tokens["id_token"].as_str().expect("id token").to_owned();
    let end = |extra: &[(&str, &str)]| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        format!("/oauth2/end_session?{}", q.finish())
    };

    // An unregistered return address or a foreign hint: a page, never a redirect.
    let r = browser
        .get(&end(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ]))
        .await;
    assert!(
        assert_page(&r, 400).contains("not one registered"),
        "{}",
        r.text
    );
    let r = browser
        .get(&end(&[("post_logout_redirect_uri", BYE)]))
        .await;
    assert_page(&r, 400);
    let r = browser.get(&end(&[("id_token_hint", "e30.e30.x")])).await;
    assert!(assert_page(&r, 400).contains("id_token_hint"));
    let code = code_of(
        &browser
            .get(&authorize_path(&client, &[("scope", "openid")]))
            .await,
    );
    assert!(!code.is_empty(), "still signed in after refused sign-outs");

    // The session's own ID token: signed out at once, back with the state.
    let r = browser
        .get(&end(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "bye-1"),
        ]))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("{BYE}?state=bye-1").as_str())
    );
    assert!(!browser.cookies.contains_key("portcullis_session"));
    let r = browser
        .get(&authorize_path(&client, &[("scope", "openid")]))
        .await;
    assert!(assert_page(&r, 200).contains("Sign in"));

    // Without a hint the user is asked first; the form is bound to the session.
    // (A scope not yet allowed, so the consent page shows again.)
    let tokens = sign_in(&app, &mut browser, &client, &[("scope", "openid email")]).await;
    assert!(tokens.get("id_token").is_some());
    let r = browser
        .get(&end(&[
            ("client_id", &client.client_id),
            ("post_logout_redirect_uri", BYE),
        ]))
        .await;
    let page = assert_page(&r, 200);
    assert!(
        page.contains("Sign out?") && page.contains("Quarterly Reports"),
        "{page}"
    );
    let mut fields = form_fields(page, "/oauth2/end_session");
    let mut forged = fields.clone();
    forged.retain(|(k, _)| k != "csrf_token");
    forged.push(("csrf_token".into(), "forged".into()));
    forged.push(("confirm".into(), "yes".into()));
    let r = browser.post("/oauth2/end_session", &forged).await;
    assert_page(&r, 403);
    fields.push(("confirm".into(), "yes".into()));
    let r = browser.post("/oauth2/end_session", &fields).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(r.header("location"), Some(BYE));
    assert!(!browser.cookies.contains_key("portcullis_session"));

    // Without a session there is nothing to end: straight on, or the signed-out page.
    let r = browser
        .get(&end(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", BYE),
        ]))
        .await;
    assert_eq!(r.header("location"), Some(BYE));
    let r = browser.get(&end(&[])).await;
    assert!(assert_page(&r, 200).contains("signed out"));
}

async fn identity_scopes_need_no_setup_and_refresh_tokens_follow_offline_access(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    // An application registered through HDP's API without naming any scope.
    let confidential = register(&app, &[CALLBACK], json!({})).await;
    let t = sign_in(
        &app,
        &mut Browser::new(&app),
        &confidential,
        &[("scope", "openid")],
    )
    .await;
    assert!(t.get("id_token").is_some(), "{t}");
    assert_eq!(t["scope"], "openid");

    // A public client gets a refresh token only when it asks for offline_access.
    let public = register(&app, &[CALLBACK], json!({"public": true})).await;
    assert!(public.secret.is_none(), "a public client");
    let t = sign_in(
        &app,
        &mut Browser::new(&app),
        &public,
        &[("scope", "openid")],
    )
    .await;
    assert!(
        t.get("id_token").is_some() && t.get("refresh_token").is_none(),
        "{t}"
    );
    let t = sign_in(
        &app,
        &mut Browser::new(&app),
        &public,
        &[("scope", "openid offline_access")],
    )
    .await;
    assert!(t.get("refresh_token").is_some(), "{t}");

    // The password grant answers with an ID token too (as Keycloak does).
    let pw = register(
        &app,
        &[CALLBACK],
        json!({"grantTypes": ["password", "refresh_token"]}),
    )
    .await;
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(&pw.client_id, pw.secret.as_deref())
                .form(&[
                    ("grant_type", "password"),
                    ("username", ALICE),
                    ("password", ALICE_PASSWORD),
                    ("scope", "openid"),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let claims = rp_verify(
        &app,
        r.json()["id_token"].as_str().expect("id token"),
        Algorithm::RS256,
        &pw.client_id,
    )
    .await;
    assert_eq!(claims["auth_time"], app.clock.now());

    // A client acting for itself has no user to sign in.
    let cc = register(
        &app,
        &[CALLBACK],
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(&cc.client_id, cc.secret.as_deref())
                .form(&[("grant_type", "client_credentials"), ("scope", "openid")]),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_scope");
}

backends!(
    an_openid_sign_in_gives_an_id_token_a_relying_party_verifies,
    es256_on_request_and_a_signed_userinfo_answer,
    prompt_max_age_and_hints_decide_when_to_sign_in_again,
    a_hint_for_another_user_or_a_bad_one_is_not_obeyed,
    oidc_parameters_are_checked_and_refused_with_the_rfc_errors,
    the_fragment_and_form_post_response_modes,
    the_claims_parameter_asks_for_single_claims,
    rp_initiated_logout_ends_the_session_and_returns_only_where_registered,
    identity_scopes_need_no_setup_and_refresh_tokens_follow_offline_access,
);
