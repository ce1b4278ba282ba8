//! The token service as its clients see it (issue 4, SPEC §1 and §3): a real OAuth
//! client library (`oauth2`) drives the password, refresh and client credentials
//! grants; a JWT library (`jsonwebtoken`) verifies access tokens against the JWK Set
//! the way a resource server would; the seed samples (000, 003) work as printed; every
//! RFC 6749 §5.2 error on both encodings; refresh rotation under concurrency;
//! introspection, revocation and userinfo; the management API by Bearer token; abuse
//! limits; metadata; and two server processes sharing one PostgreSQL database.

use crate::helpers::{backends, fresh_database, spawn_app, Backend, TestApp, ADMIN_PASSWORD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse, TokenUrl,
};
use portcullis_core::clock::Clock;
use portcullis_core::identity::{
    NewUser, ROLE_ADMINISTRATOR, ROLE_TENANT_ADMINISTRATOR, ROLE_USER,
};
use reqwest::Method;
use serde_json::{json, Map, Value};

const TOKEN: &str = "/oauth2/token";
const MGMT_TOKEN: &str = "/api/mgmt/oauth2/token";
const CONFIGAPI_TOKEN: &str = "/configapi/v2/oauth/token";
const INTROSPECT: &str = "/oauth2/introspect";
const REVOKE: &str = "/oauth2/revoke";
const USERINFO: &str = "/oauth2/userinfo";
const METADATA: &str = "/.well-known/oauth-authorization-server";
const APPS: &str = "/api/mgmt/oauth/client/applications";
const ALLOWED: &str = "/api/mgmt/oauth/client/allowedapplications";
const USERS: &str = "/api/admin/users";

const ALICE: &str = "alice";
const ALICE_PASSWORD: &str = "Wonder-Land-42";
const ODATA: &str = "api.access.odata";
const MGMT: &str = "api.access.mgmt";

// HDP envelope codes of the OAuth errors (the catalogue in portcullis_core::error).
const INVALID_REQUEST: u32 = 222209401;
const INVALID_CLIENT: u32 = 222209402;
const INVALID_GRANT: u32 = 222209403;
const UNAUTHORIZED_CLIENT: u32 = 222209404;
const UNSUPPORTED_GRANT_TYPE: u32 = 222209405;
const INVALID_SCOPE: u32 = 222209406;
const INSUFFICIENT_SCOPE: u32 = 222209407;

/// A registered client application.
#[derive(Debug, Clone)]
struct Client {
    id: i64,
    client_id: String,
    secret: String,
}

/// Registers an application as `login` through the HDP API, with `extra` fields
/// (`grantTypes`, `scopes`) merged into a plain registration.
async fn register(app: &TestApp, login: &str, password: &str, name: &str, extra: Value) -> Client {
    let mut body = json!({"name": name, "redirectUrls": ["https://app.example/callback"]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let v = app.register_as(login, password, body).await;
    Client {
        id: v["id"].as_i64().expect("id"),
        client_id: v["clientId"].as_str().expect("clientId").to_owned(),
        secret: v["clientSecret"].as_str().expect("clientSecret").to_owned(),
    }
}

/// Alice, an ordinary user of the system tenant, created through the users API.
async fn alice(app: &TestApp) -> i64 {
    create_user(app, ALICE, ALICE_PASSWORD).await
}

async fn create_user(app: &TestApp, login: &str, password: &str) -> i64 {
    let r = app
        .send(app.as_admin(Method::POST, USERS).json(&json!({
            "userName": login,
            "statusInfo": {"status": 1},
            "passwordInfo": {"password": password},
            "permissions": {"roles": [ROLE_USER], "permissions": []}
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_i64().expect("id")
}

/// A confidential client registered by Alice with the default grants.
async fn alices_client(app: &TestApp) -> Client {
    register(app, ALICE, ALICE_PASSWORD, "Reporting", json!({})).await
}

type OAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The `oauth2` crate's client for `c` at the token endpoint of `base`.
fn oauth_client(base: &str, c: &Client, auth: AuthType) -> OAuthClient {
    BasicClient::new(ClientId::new(c.client_id.clone()))
        .set_client_secret(ClientSecret::new(c.secret.clone()))
        .set_auth_type(auth)
        .set_token_uri(TokenUrl::new(format!("{base}{TOKEN}")).expect("token url"))
}

type Tokens = oauth2::basic::BasicTokenResponse;
type TokenError = RequestTokenError<
    oauth2::HttpClientError<reqwest::Error>,
    oauth2::StandardErrorResponse<BasicErrorResponseType>,
>;

async fn password_grant(
    app: &TestApp,
    c: &Client,
    auth: AuthType,
    login: &str,
    password: &str,
    scope: Option<&str>,
) -> Result<Tokens, TokenError> {
    let client = oauth_client(&app.base, c, auth);
    let user = ResourceOwnerUsername::new(login.to_owned());
    let pass = ResourceOwnerPassword::new(password.to_owned());
    let mut req = client.exchange_password(&user, &pass);
    if let Some(s) = scope {
        req = req.add_scope(Scope::new(s.to_owned()));
    }
    req.request_async(&app.http).await
}

async fn refresh_grant(
    app: &TestApp,
    c: &Client,
    auth: AuthType,
    refresh: &str,
) -> Result<Tokens, TokenError> {
    let client = oauth_client(&app.base, c, auth);
    let token = oauth2::RefreshToken::new(refresh.to_owned());
    client
        .exchange_refresh_token(&token)
        .request_async(&app.http)
        .await
}

/// The RFC error code of a failed token request made with the `oauth2` crate.
#[track_caller]
fn rfc_error(r: Result<Tokens, TokenError>) -> BasicErrorResponseType {
    match r {
        Err(RequestTokenError::ServerResponse(e)) => e.error().clone(),
        Err(other) => panic!("not an OAuth error response: {other:?}"),
        Ok(t) => panic!("expected an error, got tokens: {t:?}"),
    }
}

/// Verifies an access token as a resource server does: the issuer and `jwks_uri` from
/// the RFC 8414 metadata, the key by `kid` from the JWK Set, ES256, `typ` at+jwt, then
/// signature, `iss`, `aud` and `exp`. Returns the claims.
async fn resource_server_verify(http: &reqwest::Client, base: &str, token: &str) -> Value {
    let meta: Value = http
        .get(format!("{base}{METADATA}"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("metadata JSON");
    let issuer = meta["issuer"].as_str().expect("issuer");
    let jwks: JwkSet = http
        .get(meta["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("a JWK Set");
    let header = decode_header(token).expect("a JWS header");
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1");
    let kid = header.kid.expect("kid in the header");
    let jwk = jwks
        .find(&kid)
        .expect("the kid is published in the JWK Set");
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[issuer]);
    v.set_audience(&[issuer]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    v.leeway = 0;
    let claims = decode::<Value>(token, &key, &v)
        .expect("a valid access token")
        .claims;

    // The same checks refuse what they should.
    let mut other_aud = v.clone();
    other_aud.set_audience(&["https://another-resource.example"]);
    assert!(
        decode::<Value>(token, &key, &other_aud).is_err(),
        "aud is checked"
    );
    let mut other_iss = v.clone();
    other_iss.set_issuer(&["https://another-issuer.example"]);
    assert!(
        decode::<Value>(token, &key, &other_iss).is_err(),
        "iss is checked"
    );
    let parts: Vec<&str> = token.split('.').collect();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &json!({"sub": "1"}),
        &jsonwebtoken::EncodingKey::from_secret(b"x"),
    )
    .expect("encode");
    let forged_payload = forged.split('.').nth(1).expect("payload");
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert!(
        decode::<Value>(tampered, &key, &v).is_err(),
        "a changed payload fails the signature"
    );
    claims
}

/// A form POST, with optional HTTP Basic client credentials.
fn form_post(
    app: &TestApp,
    path: &str,
    basic: Option<(&str, &str)>,
    fields: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let mut req = app.http.post(app.url(path)).form(fields);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    req
}

/// Introspects `token` as client `c`.
async fn introspect(app: &TestApp, c: &Client, token: &str) -> Value {
    let r = app
        .send(form_post(
            app,
            INTROSPECT,
            Some((&c.client_id, &c.secret)),
            &[("token", token)],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

async fn is_active(app: &TestApp, c: &Client, token: &str) -> bool {
    let v = introspect(app, c, token).await;
    match v["active"].as_bool() {
        Some(true) => true,
        Some(false) => {
            assert_eq!(
                v,
                json!({"active": false}),
                "an inactive token reveals nothing"
            );
            false
        }
        None => panic!("no active member: {v}"),
    }
}

async fn revoke(app: &TestApp, c: &Client, token: &str) {
    let r = app
        .send(form_post(
            app,
            REVOKE,
            Some((&c.client_id, &c.secret)),
            &[("token", token)],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn userinfo(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.send(app.http.get(app.url(USERINFO)).bearer_auth(token))
        .await
}

/// Asserts a 401 from a Bearer-protected resource for an unusable token (RFC 6750 §3.1).
#[track_caller]
fn assert_invalid_token(r: &crate::helpers::Reply) {
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(r.json()["error"], "invalid_token");
}

/// Both tokens of a fresh password grant for Alice through `c` (a raw form request).
async fn tokens_for(app: &TestApp, c: &Client, login: &str, password: &str) -> (String, String) {
    let r = app
        .send(form_post(
            app,
            TOKEN,
            Some((&c.client_id, &c.secret)),
            &[
                ("grant_type", "password"),
                ("username", login),
                ("password", password),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    (
        v["access_token"].as_str().expect("access_token").to_owned(),
        v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    )
}

async fn set_rotation(app: &TestApp, on: bool) {
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/limits/system/1003")
                .json(&json!({"value": i64::from(on)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Sets the system tenant's allowed scopes.
async fn allow_scopes(app: &TestApp, scopes: &[&str]) {
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/tenants/1")
                .json(&json!({
                    "name": "system", "status": 1, "allowedScopes": scopes
                })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

// ---------------------------------------------------------------------------------
// 1, 2. A real OAuth client library and a real JWT library.
// ---------------------------------------------------------------------------------

async fn the_oauth2_crate_runs_the_password_and_refresh_grants_with_both_client_auth_methods(
    b: Backend,
) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let alice_id = alice(&app).await;
    let c = alices_client(&app).await;

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let t = password_grant(&app, &c, auth.clone(), ALICE, ALICE_PASSWORD, Some(ODATA))
            .await
            .expect("password grant");
        assert_eq!(*t.token_type(), BasicTokenType::Bearer);
        assert_eq!(t.expires_in().map(|d| d.as_secs()), Some(3600));
        assert_eq!(
            t.scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec![ODATA.to_owned()])
        );
        let refresh = t.refresh_token().expect("a refresh token").secret().clone();
        assert_eq!(refresh.len(), 43, "256 bits, base64url");

        let claims = resource_server_verify(&app.http, &app.base, t.access_token().secret()).await;
        assert_eq!(claims["iss"], app.base.as_str());
        assert_eq!(claims["aud"], app.base.as_str());
        assert_eq!(claims["sub"], alice_id.to_string());
        assert_eq!(claims["username"], ALICE);
        assert_eq!(claims["client_id"], c.client_id.as_str());
        assert_eq!(claims["scope"], ODATA);
        assert_eq!(claims["tenant"], 1);
        let (iat, exp) = (
            claims["iat"].as_i64().expect("iat"),
            claims["exp"].as_i64().expect("exp"),
        );
        assert_eq!(exp - iat, 3600);
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

        // HDP: the same refresh token comes back, and keeps working.
        for _ in 0..2 {
            let r = refresh_grant(&app, &c, auth.clone(), &refresh)
                .await
                .expect("refresh grant");
            assert_eq!(
                r.refresh_token().map(|t| t.secret().as_str()),
                Some(refresh.as_str())
            );
            assert_ne!(r.access_token().secret(), t.access_token().secret());
            let claims =
                resource_server_verify(&app.http, &app.base, r.access_token().secret()).await;
            assert_eq!(claims["sub"], alice_id.to_string());
            assert_eq!(claims["client_id"], c.client_id.as_str());
        }
    }

    // No scope asked: the default, api.access.odata (and its HDP alias works too).
    let t = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None)
        .await
        .expect("password grant");
    assert_eq!(t.scopes().map(|s| s[0].to_string()), Some(ODATA.to_owned()));
    let t = password_grant(
        &app,
        &c,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        Some("odata"),
    )
    .await
    .expect("the odata alias");
    let claims = resource_server_verify(&app.http, &app.base, t.access_token().secret()).await;
    assert_eq!(claims["scope"], ODATA);

    // The library's error handling sees RFC 6749 errors.
    let e = password_grant(&app, &c, AuthType::BasicAuth, ALICE, "wrong", None).await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidGrant);
    let mut wrong = c.clone();
    wrong.secret = "not-the-secret".into();
    let e = password_grant(
        &app,
        &wrong,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        None,
    )
    .await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidClient);
}

async fn with_rotation_each_refresh_returns_a_new_token_and_reuse_revokes_the_family(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
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

async fn the_oauth2_crate_runs_the_client_credentials_grant(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    alice(&app).await;
    let k = register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Nightly job",
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let t = oauth_client(&app.base, &k, auth)
            .exchange_client_credentials()
            .add_scope(Scope::new(ODATA.into()))
            .request_async(&app.http)
            .await
            .expect("client credentials grant");
        assert_eq!(*t.token_type(), BasicTokenType::Bearer);
        assert!(
            t.refresh_token().is_none(),
            "RFC 6749 §4.4.3: no refresh token"
        );
        let claims = resource_server_verify(&app.http, &app.base, t.access_token().secret()).await;
        assert_eq!(
            claims["sub"],
            k.client_id.as_str(),
            "the client acts for itself"
        );
        assert_eq!(claims["client_id"], k.client_id.as_str());
        assert_eq!(claims["scope"], ODATA);
        assert_eq!(claims["tenant"], 1);
        assert!(claims.get("username").is_none(), "no user: {claims}");
        let me = userinfo(&app, t.access_token().secret()).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.json()["sub"], k.client_id.as_str());
    }
    // Without the grant in its registration a client may not use it.
    let c = alices_client(&app).await;
    let e = oauth_client(&app.base, &c, AuthType::BasicAuth)
        .exchange_client_credentials()
        .request_async(&app.http)
        .await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::UnauthorizedClient);
}

// ---------------------------------------------------------------------------------
// 3. The seed samples, as printed.
// ---------------------------------------------------------------------------------

async fn seed_000_json_password_and_refresh_payloads_work_as_printed(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    alice(&app).await;
    let c = alices_client(&app).await;
    for path in [TOKEN, MGMT_TOKEN] {
        let r = app
            .send(app.http.post(app.url(path)).json(&json!({
                "grant_type": "password",
                "scope": "api.access.odata",
                "clientId": c.client_id,
                "clientSecret": c.secret,
                "username": ALICE,
                "password": ALICE_PASSWORD
            })))
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")));
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(
            v["expires_in"], "3600",
            "a JSON string, as in the seed sample"
        );
        let access = v["access_token"].as_str().expect("access_token");
        resource_server_verify(&app.http, &app.base, access).await;
        let refresh = v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();

        let r = app
            .send(app.http.post(app.url(path)).json(&json!({
                "grant_type": "refresh_token",
                "scope": "api.access.odata",
                "refresh_token": refresh,
                "clientId": c.client_id,
                "clientSecret": c.secret
            })))
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = r.json();
        assert_eq!(
            v["refresh_token"],
            refresh.as_str(),
            "returned unchanged, as in the sample"
        );
        assert_eq!(v["expires_in"], "3600");
        assert_eq!(v["token_type"], "Bearer");
        resource_server_verify(
            &app.http,
            &app.base,
            v["access_token"].as_str().expect("access"),
        )
        .await;

        // snake_case client fields and Basic client auth work with JSON too.
        let r = app
            .send(
                app.http
                    .post(app.url(path))
                    .basic_auth(&c.client_id, Some(&c.secret))
                    .json(&json!({
                        "grant_type": "refresh_token", "refresh_token": refresh
                    })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["expires_in"], "3600");
        let r = app
            .send(app.http.post(app.url(path)).json(&json!({
                "grant_type": "refresh_token", "refresh_token": refresh,
                "client_id": c.client_id, "client_secret": c.secret
            })))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);

        // A form request on the same endpoint gets RFC 6749's number.
        let r = app
            .send(form_post(
                &app,
                path,
                Some((&c.client_id, &c.secret)),
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(
            r.json()["expires_in"],
            3600,
            "a JSON number for form requests"
        );
        assert_eq!(r.json()["token_type"], "Bearer");
    }
}

async fn seed_003_user_api_secrets_get_tokens_at_the_configapi_endpoint(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let sheila = create_user(&app, "sheila.thomas", "Tea-Time-1984").await;
    let r = app
        .send(app.as_admin(Method::POST, &format!("{USERS}/{sheila}/apisecret")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.json()["apiSecret"]
        .as_str()
        .expect("apiSecret")
        .to_owned();
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/tenants/1")
                .json(&json!({
                    "name": "system", "status": 1, "hostNames": ["example.com"]
                })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let request = |secret: &str, scope: &str| {
        // The seed's request, byte for byte but for the secret.
        app.http
            .post(app.url(CONFIGAPI_TOKEN))
            .header("Host", "example.com")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id=sheila.thomas&client_secret={secret}&scope={scope}"
            ))
    };
    for scope in ["example.com", "system"] {
        let r = app.send(request(&secret, scope)).await;
        assert_eq!(r.status, 200, "scope={scope}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(
            v["expires_in"], "3600",
            "a string, as in the seed's example"
        );
        let mut keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        keys.sort();
        // The seed's three members, plus RFC 6749 §5.1's scope; no refresh token.
        assert_eq!(
            keys,
            ["access_token", "expires_in", "scope", "token_type"],
            "{v}"
        );
        let access = v["access_token"].as_str().expect("access_token");
        let claims = resource_server_verify(&app.http, &app.base, access).await;
        assert_eq!(
            claims["sub"],
            sheila.to_string(),
            "the token acts as the user"
        );
        assert_eq!(claims["username"], "sheila.thomas");
        assert_eq!(claims["tenant"], 1);
        // "Use the Access Token to Access the Resource".
        let me = userinfo(&app, access).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.json()["username"], "sheila.thomas");
    }

    let r = app.send(request("wrong-secret", "example.com")).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");
    let r = app.send(request(&secret, "elsewhere.example")).await;
    assert_eq!(r.status, 400, "an unknown tenant: {}", r.text);
    assert_eq!(r.json()["error"], "invalid_scope");
    let r = app
        .send(form_post(
            &app,
            CONFIGAPI_TOKEN,
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "sheila.thomas"),
                ("client_secret", &secret),
            ],
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "unsupported_grant_type");

    // Deleting the API secret ends its tokens.
    let r = app.send(request(&secret, "example.com")).await;
    let access = r.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(userinfo(&app, &access).await.status, 200);
    let r = app
        .send(app.as_admin(Method::DELETE, &format!("{USERS}/{sheila}/apisecret")))
        .await;
    assert!(r.status == 204 || r.status == 200, "{}", r.text);
    assert_invalid_token(&userinfo(&app, &access).await);
    assert_eq!(app.send(request(&secret, "example.com")).await.status, 401);
}

// ---------------------------------------------------------------------------------
// 4. Every RFC 6749 §5.2 error, on both encodings.
// ---------------------------------------------------------------------------------

/// One erroneous token request.
struct Case {
    what: &'static str,
    /// Body fields in RFC 6749 spelling (`client_id`, `client_secret` are sent as HDP's
    /// `clientId`, `clientSecret` in JSON).
    fields: Vec<(&'static str, String)>,
    basic: Option<(String, String)>,
    error: &'static str,
    status: u16,
    hdp_code: u32,
}

impl Case {
    fn json_body(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.fields {
            let k = match *k {
                "client_id" => "clientId",
                "client_secret" => "clientSecret",
                k => k,
            };
            m.insert(k.to_owned(), Value::String(v.clone()));
        }
        Value::Object(m)
    }
}

#[track_caller]
fn assert_rfc_error(r: &crate::helpers::Reply, status: u16, error: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    let v = r.json();
    assert_eq!(v["error"], error, "{what}: {}", r.text);
    assert!(
        v["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{what}: {}",
        r.text
    );
    let mut keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["error", "error_description"], "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
}

async fn every_rfc_6749_error_is_answered_on_both_encodings(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    alice(&app).await;
    create_user(&app, "mallory", "Mirror-Glass-7").await;
    let c = alices_client(&app).await;
    let other = register(&app, ALICE, ALICE_PASSWORD, "Other", json!({})).await;
    let k = register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Job",
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    let (_, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    // Wrong passwords are tried four times below; this test is not about lockout.
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/limits/system/3")
                .json(&json!({"value": 100})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let f = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    let creds = |cl: &Client| {
        vec![
            ("client_id", cl.client_id.clone()),
            ("client_secret", cl.secret.clone()),
        ]
    };
    let with = |cl: &Client, pairs: &[(&'static str, &str)]| {
        let mut v = creds(cl);
        v.extend(f(pairs));
        v
    };
    let basic = |cl: &Client| Some((cl.client_id.clone(), cl.secret.clone()));
    let password = [
        ("grant_type", "password"),
        ("username", ALICE),
        ("password", ALICE_PASSWORD),
    ];
    let cases = vec![
        Case {
            what: "missing grant_type",
            fields: with(&c, &[("username", ALICE), ("password", ALICE_PASSWORD)]),
            basic: None,
            error: "invalid_request",
            status: 400,
            hdp_code: INVALID_REQUEST,
        },
        Case {
            what: "missing username",
            fields: with(
                &c,
                &[("grant_type", "password"), ("password", ALICE_PASSWORD)],
            ),
            basic: None,
            error: "invalid_request",
            status: 400,
            hdp_code: INVALID_REQUEST,
        },
        Case {
            what: "missing refresh_token",
            fields: with(&c, &[("grant_type", "refresh_token")]),
            basic: None,
            error: "invalid_request",
            status: 400,
            hdp_code: INVALID_REQUEST,
        },
        Case {
            what: "Basic and a body secret together",
            fields: with(&c, &password),
            basic: basic(&c),
            error: "invalid_request",
            status: 400,
            hdp_code: INVALID_REQUEST,
        },
        Case {
            what: "Basic names one client, the body another",
            fields: {
                let mut v = f(&password);
                v.push(("client_id", other.client_id.clone()));
                v
            },
            basic: basic(&c),
            error: "invalid_request",
            status: 400,
            hdp_code: INVALID_REQUEST,
        },
        Case {
            what: "wrong client secret in the body",
            fields: {
                let mut v = f(&password);
                v.push(("client_id", c.client_id.clone()));
                v.push(("client_secret", "wrong".into()));
                v
            },
            basic: None,
            error: "invalid_client",
            status: 401,
            hdp_code: INVALID_CLIENT,
        },
        Case {
            what: "wrong client secret by Basic",
            fields: f(&password),
            basic: Some((c.client_id.clone(), "wrong".into())),
            error: "invalid_client",
            status: 401,
            hdp_code: INVALID_CLIENT,
        },
        Case {
            what: "unknown client",
            fields: f(&password),
            basic: Some(("no-such-client".into(), "whatever".into())),
            error: "invalid_client",
            status: 401,
            hdp_code: INVALID_CLIENT,
        },
        Case {
            what: "no client authentication",
            fields: f(&password),
            basic: None,
            error: "invalid_client",
            status: 401,
            hdp_code: INVALID_CLIENT,
        },
        Case {
            what: "wrong password",
            fields: with(
                &c,
                &[
                    ("grant_type", "password"),
                    ("username", "mallory"),
                    ("password", "wrong"),
                ],
            ),
            basic: None,
            error: "invalid_grant",
            status: 400,
            hdp_code: INVALID_GRANT,
        },
        Case {
            what: "unknown user",
            fields: with(
                &c,
                &[
                    ("grant_type", "password"),
                    ("username", "nobody"),
                    ("password", "wrong"),
                ],
            ),
            basic: None,
            error: "invalid_grant",
            status: 400,
            hdp_code: INVALID_GRANT,
        },
        Case {
            what: "bad refresh token",
            fields: with(
                &c,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "not-a-token"),
                ],
            ),
            basic: None,
            error: "invalid_grant",
            status: 400,
            hdp_code: INVALID_GRANT,
        },
        Case {
            what: "refresh token of another client",
            fields: with(
                &other,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ],
            ),
            basic: None,
            error: "invalid_grant",
            status: 400,
            hdp_code: INVALID_GRANT,
        },
        Case {
            what: "a grant the client is not registered for (password)",
            fields: with(&k, &password),
            basic: None,
            error: "unauthorized_client",
            status: 400,
            hdp_code: UNAUTHORIZED_CLIENT,
        },
        Case {
            what: "a grant the client is not registered for (client_credentials)",
            fields: with(&c, &[("grant_type", "client_credentials")]),
            basic: None,
            error: "unauthorized_client",
            status: 400,
            hdp_code: UNAUTHORIZED_CLIENT,
        },
        Case {
            what: "unsupported grant type",
            fields: with(
                &c,
                &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
            ),
            basic: None,
            error: "unsupported_grant_type",
            status: 400,
            hdp_code: UNSUPPORTED_GRANT_TYPE,
        },
        Case {
            what: "implicit is not a token grant",
            fields: with(&c, &[("grant_type", "implicit")]),
            basic: None,
            error: "unsupported_grant_type",
            status: 400,
            hdp_code: UNSUPPORTED_GRANT_TYPE,
        },
        Case {
            what: "unknown scope",
            fields: with(
                &c,
                &[
                    ("grant_type", "password"),
                    ("username", ALICE),
                    ("password", ALICE_PASSWORD),
                    ("scope", "email"),
                ],
            ),
            basic: None,
            error: "invalid_scope",
            status: 400,
            hdp_code: INVALID_SCOPE,
        },
        Case {
            what: "scope not allowed for the client",
            fields: with(
                &c,
                &[
                    ("grant_type", "password"),
                    ("username", ALICE),
                    ("password", ALICE_PASSWORD),
                    ("scope", MGMT),
                ],
            ),
            basic: None,
            error: "invalid_scope",
            status: 400,
            hdp_code: INVALID_SCOPE,
        },
        Case {
            what: "refresh asking for more scope than granted",
            fields: with(
                &c,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("scope", MGMT),
                ],
            ),
            basic: None,
            error: "invalid_scope",
            status: 400,
            hdp_code: INVALID_SCOPE,
        },
    ];

    let mut wrong_user_descriptions = Vec::new();
    for case in &cases {
        for path in [TOKEN, MGMT_TOKEN] {
            // RFC 6749 form.
            let fields: Vec<(&str, &str)> =
                case.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let basic = case.basic.as_ref().map(|(i, s)| (i.as_str(), s.as_str()));
            let r = app.send(form_post(&app, path, basic, &fields)).await;
            assert_rfc_error(&r, case.status, case.error, case.what);
            if case.status == 401 {
                let challenge = r.header("www-authenticate").unwrap_or_default();
                assert!(challenge.starts_with("Basic"), "{}: {challenge}", case.what);
            }
            if case.what == "wrong password" || case.what == "unknown user" {
                wrong_user_descriptions.push(r.json()["error_description"].clone());
            }

            // HDP JSON with the client's id and secret in the body reads Basic as the
            // user's login (seed 000, issue 11): tested in security_auth.
            if case.what == "Basic and a body secret together" {
                continue;
            }
            // HDP JSON: the envelope, same status.
            let mut req = app.http.post(app.url(path)).json(&case.json_body());
            if let Some((i, s)) = &case.basic {
                req = req.basic_auth(i, Some(s));
            }
            let r = app.send(req).await;
            let message = r.hdp_error(case.status, case.hdp_code);
            assert!(message.starts_with(case.error), "{}: {message}", case.what);
            assert_eq!(r.header("cache-control"), Some("no-store"), "{}", case.what);
            if case.status == 401 {
                assert!(r
                    .header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Basic")));
            }
        }
    }
    // A wrong user name and a wrong password are told apart by nothing.
    assert!(
        wrong_user_descriptions.windows(2).all(|w| w[0] == w[1]),
        "{wrong_user_descriptions:?}"
    );

    // A parameter sent twice (RFC 6749 §3.1): form only, JSON objects cannot repeat
    // keys; there HDP's and RFC's spellings disagreeing is the equivalent.
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .basic_auth(&c.client_id, Some(&c.secret))
                .form(&[
                    ("grant_type", "password"),
                    ("grant_type", "password"),
                    ("username", ALICE),
                    ("password", ALICE_PASSWORD),
                ]),
        )
        .await;
    assert_rfc_error(&r, 400, "invalid_request", "duplicate parameter");
    let r = app
        .send(app.http.post(app.url(TOKEN)).json(&json!({
            "grant_type": "password", "username": ALICE, "password": ALICE_PASSWORD,
            "clientId": c.client_id, "client_id": other.client_id, "clientSecret": c.secret
        })))
        .await;
    r.hdp_error(400, INVALID_REQUEST);
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .header("Content-Type", "application/json")
                .body("{not json"),
        )
        .await;
    r.hdp_error(400, INVALID_REQUEST);

    // Neither form nor JSON: 415 with a clear error.
    for path in [TOKEN, MGMT_TOKEN] {
        let r = app
            .send(
                app.http
                    .post(app.url(path))
                    .header("Content-Type", "text/plain")
                    .body("grant_type=password&username=alice&password=x"),
            )
            .await;
        assert_eq!(r.status, 415, "{}", r.text);
        assert!(r.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("application/x-www-form-urlencoded")));
        let r = app
            .send(app.http.post(app.url(path)).body("grant_type=password"))
            .await;
        assert_eq!(r.status, 415, "no content type: {}", r.text);
    }
    // Nothing of this locked Alice out or rate limited her client.
    tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
}

// ---------------------------------------------------------------------------------
// 5. Refresh rotation under concurrency.
// ---------------------------------------------------------------------------------

async fn concurrent_refreshes_with_rotation_have_exactly_one_winner(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
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
    let r = app
        .send(form_post(
            &app,
            TOKEN,
            Some((&c.client_id, &c.secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", successor),
            ],
        ))
        .await;
    assert_rfc_error(&r, 400, "invalid_grant", "the winner's successor");
    assert!(!is_active(&app, &rs, successor).await);
    assert!(!is_active(&app, &rs, won["access_token"].as_str().expect("access")).await);
    assert!(!is_active(&app, &rs, &access).await);
    assert_invalid_token(&userinfo(&app, &access).await);
}

// ---------------------------------------------------------------------------------
// 6. Introspection, revocation and userinfo.
// ---------------------------------------------------------------------------------

async fn introspection_and_revocation_follow_rfc_7662_and_7009(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
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
    let r = app
        .send(form_post(
            &app,
            INTROSPECT,
            Some((&rs.client_id, &rs.secret)),
            &[],
        ))
        .await;
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
    let mut t = portcullis_core::identity::NewTenant::named("acme", app.clock.now());
    t.imported_roles = vec![ROLE_ADMINISTRATOR, ROLE_USER, ROLE_TENANT_ADMINISTRATOR];
    let acme = app.state.ctx.store.create_tenant(t).await.expect("tenant");
    let roles = app.state.ctx.store.roles(acme.id).await.expect("roles");
    let user_role = roles
        .iter()
        .find(|r| r.name == "User")
        .expect("User role")
        .id;
    let hash = app
        .state
        .ctx
        .hasher
        .hash("Bob-Password-1")
        .await
        .expect("hash");
    app.state
        .ctx
        .store
        .create_user(NewUser::new(
            acme.id,
            "bob",
            hash,
            vec![user_role],
            app.clock.now(),
        ))
        .await
        .expect("bob");
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
    let Some(app) = spawn_app(b).await else {
        return;
    };
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
            let r = app
                .send(form_post(
                    app,
                    TOKEN,
                    Some((&c.client_id, &c.secret)),
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                ))
                .await;
            assert_eq!(r.status / 100, 4, "{what}: refresh refused: {}", r.text);
        }
    };

    // Revoking the consent (as Alice, in the allowed-applications API).
    let c = alices_client(&app).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    check_live(access.clone(), refresh.clone()).await;
    let listed = app
        .send(app.as_user(Method::GET, ALLOWED, ALICE, ALICE_PASSWORD))
        .await;
    assert_eq!(
        listed.json()["applications"][0]["id"],
        c.id,
        "{}",
        listed.text
    );
    let r = app
        .send(app.as_user(
            Method::DELETE,
            &format!("{ALLOWED}/{}", c.id),
            ALICE,
            ALICE_PASSWORD,
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    check_dead("consent revoked", c.clone(), access, refresh).await;

    // Resetting the client secret.
    let c = alices_client(&app).await;
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    check_live(access.clone(), refresh.clone()).await;
    let r = app
        .send(app.as_user(
            Method::PUT,
            &format!("{APPS}/{}/reset", c.id),
            ALICE,
            ALICE_PASSWORD,
        ))
        .await;
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
    let k = register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Job",
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    let r = app
        .send(form_post(
            &app,
            TOKEN,
            Some((&k.client_id, &k.secret)),
            &[("grant_type", "client_credentials")],
        ))
        .await;
    let job_access = r.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert!(is_active(&app, &rs, &job_access).await);
    check_live(access.clone(), refresh.clone()).await;
    for gone in [&c, &k] {
        let r = app
            .send(app.as_user(
                Method::DELETE,
                &format!("{APPS}/{}", gone.id),
                ALICE,
                ALICE_PASSWORD,
            ))
            .await;
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

// ---------------------------------------------------------------------------------
// 7. The management API by Bearer token.
// ---------------------------------------------------------------------------------

async fn a_token_with_the_mgmt_scope_calls_the_management_api_as_its_user(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    alice(&app).await;
    allow_scopes(&app, &[ODATA, MGMT]).await;
    let c = register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Console",
        json!({"scopes": [ODATA, MGMT]}),
    )
    .await;
    let t = password_grant(
        &app,
        &c,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        Some(MGMT),
    )
    .await
    .expect("a management token");
    let mgmt = t.access_token().secret().clone();
    let claims = resource_server_verify(&app.http, &app.base, &mgmt).await;
    assert_eq!(claims["scope"], MGMT);

    let r = app
        .send(app.http.get(app.url(APPS)).bearer_auth(&mgmt))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let apps = r.json();
    assert_eq!(
        apps["applications"].as_array().map(Vec::len),
        Some(1),
        "Alice's own: {apps}"
    );
    assert_eq!(apps["applications"][0]["id"], c.id);
    let r = app
        .send(app.http.get(app.url("/api/mgmt/user")).bearer_auth(&mgmt))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The default scope is for data, not management.
    let t = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None)
        .await
        .expect("an OData token");
    let r = app
        .send(
            app.http
                .get(app.url(APPS))
                .bearer_auth(t.access_token().secret()),
        )
        .await;
    r.hdp_error(403, INSUFFICIENT_SCOPE);

    // A revoked management token no longer authenticates.
    revoke(&app, &c, &mgmt).await;
    let r = app
        .send(app.http.get(app.url(APPS)).bearer_auth(&mgmt))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

// ---------------------------------------------------------------------------------
// 8. Abuse: client authentication rate limit, password lockout.
// ---------------------------------------------------------------------------------

async fn failed_client_authentication_is_rate_limited_per_client(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    alice(&app).await;
    let c = alices_client(&app).await;
    let bystander = register(&app, ALICE, ALICE_PASSWORD, "Bystander", json!({})).await;
    let attempt = |secret: &str| {
        form_post(
            &app,
            TOKEN,
            Some((&c.client_id, secret)),
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", ALICE_PASSWORD),
            ],
        )
    };
    for i in 1..=10 {
        let r = app.send(attempt(&format!("wrong-{i}"))).await;
        assert_rfc_error(&r, 401, "invalid_client", "a wrong secret");
        assert!(r.header("retry-after").is_none());
    }
    for what in ["the 11th wrong secret", "the 12th", "even the right secret"] {
        let secret = if what == "even the right secret" {
            c.secret.clone()
        } else {
            "wrong".into()
        };
        let r = app.send(attempt(&secret)).await;
        assert_eq!(r.status, 429, "{what}: {}", r.text);
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(r.json()["error"], "invalid_client");
        assert!(r.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("Too many")));
    }
    // JSON requests get the envelope with the same status.
    let r = app
        .send(app.http.post(app.url(TOKEN)).json(&json!({
            "grant_type": "password", "clientId": c.client_id, "clientSecret": c.secret,
            "username": ALICE, "password": ALICE_PASSWORD
        })))
        .await;
    r.hdp_error(429, INVALID_CLIENT);
    assert!(r.header("retry-after").is_some());
    // Introspection shares the limit.
    let r = app
        .send(form_post(
            &app,
            INTROSPECT,
            Some((&c.client_id, &c.secret)),
            &[("token", "x")],
        ))
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    // Other clients are not affected.
    tokens_for(&app, &bystander, ALICE, ALICE_PASSWORD).await;
    // The window ends.
    app.clock.advance(61);
    tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
}

async fn wrong_passwords_at_the_password_grant_lock_the_account(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    alice(&app).await;
    let c = alices_client(&app).await;
    let mut descriptions = Vec::new();
    for _ in 0..3 {
        let r = app
            .send(form_post(
                &app,
                TOKEN,
                Some((&c.client_id, &c.secret)),
                &[
                    ("grant_type", "password"),
                    ("username", ALICE),
                    ("password", "wrong"),
                ],
            ))
            .await;
        assert_rfc_error(&r, 400, "invalid_grant", "a wrong password");
        descriptions.push(
            r.json()["error_description"]
                .as_str()
                .expect("description")
                .to_owned(),
        );
    }
    assert!(!descriptions[0].contains("locked"), "{descriptions:?}");
    assert!(
        descriptions[2].contains("locked"),
        "the third failure locks (HDP limit 3): {descriptions:?}"
    );
    // Now even the right password is refused, and the answer says why.
    let r = app
        .send(app.http.post(app.url(TOKEN)).json(&json!({
            "grant_type": "password", "clientId": c.client_id, "clientSecret": c.secret,
            "username": ALICE, "password": ALICE_PASSWORD
        })))
        .await;
    let message = r.hdp_error(400, INVALID_GRANT);
    assert!(message.contains("locked"), "{message}");
    // The lock is the account's (HDP): management sign-in is locked too.
    let r = app
        .send(app.as_user(Method::GET, APPS, ALICE, ALICE_PASSWORD))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    // After the lockout period (limit 4, 1800 s) the right password works again.
    app.clock.advance(1801);
    tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
}

// ---------------------------------------------------------------------------------
// 10. Metadata (RFC 8414).
// ---------------------------------------------------------------------------------

async fn the_metadata_lists_every_endpoint_and_each_answers(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let r = app.send(app.http.get(app.url(METADATA))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = r.json();
    assert_eq!(m["issuer"], app.base.as_str());
    let endpoints = [
        ("token_endpoint", TOKEN),
        ("jwks_uri", "/oauth2/jwks"),
        ("introspection_endpoint", INTROSPECT),
        ("revocation_endpoint", REVOKE),
        ("userinfo_endpoint", USERINFO),
    ];
    for (field, path) in endpoints {
        assert_eq!(m[field], app.url(path), "{field}");
    }
    // The authorization endpoint is advertised exactly when the router serves it.
    let doc = app
        .send(app.http.get(app.url("/api/openapi.json")))
        .await
        .json();
    let authorize = doc["paths"].get("/oauth2/authorize").is_some();
    assert_eq!(
        m.get("authorization_endpoint").is_some(),
        authorize,
        "authorization_endpoint iff /oauth2/authorize is routed: {m}"
    );
    if authorize {
        assert_eq!(m["authorization_endpoint"], app.url("/oauth2/authorize"));
    }
    let grants = m["grant_types_supported"]
        .as_array()
        .expect("grant_types_supported");
    for g in ["password", "refresh_token", "client_credentials"] {
        assert!(grants.contains(&json!(g)), "{g}");
    }
    let auth_methods = &m["token_endpoint_auth_methods_supported"];
    assert!(auth_methods
        .as_array()
        .is_some_and(|a| a.contains(&json!("client_secret_basic"))
            && a.contains(&json!("client_secret_post"))));
    assert!(m["scopes_supported"]
        .as_array()
        .is_some_and(|a| a.contains(&json!(ODATA))));

    // Every advertised endpoint answers (with the method RFC 8414 implies).
    for (field, value) in m.as_object().expect("object") {
        if !(field.ends_with("_endpoint") || field == "jwks_uri") {
            continue;
        }
        let url = value.as_str().expect("a URL");
        let method = if field == "jwks_uri" || field == "userinfo_endpoint" {
            Method::GET
        } else {
            Method::POST
        };
        let req = app.http.request(method, url);
        let req = if field == "jwks_uri" || field == "userinfo_endpoint" {
            req
        } else {
            req.form(&[("grant_type", "password")])
        };
        let r = app.send(req).await;
        assert!(
            r.status != 404 && r.status != 405,
            "{field} {url}: {} {}",
            r.status,
            r.text
        );
        if field == "jwks_uri" {
            assert_eq!(r.status, 200);
            assert!(r.json()["keys"].as_array().is_some_and(|k| !k.is_empty()));
        }
    }
}

backends!(
    the_oauth2_crate_runs_the_password_and_refresh_grants_with_both_client_auth_methods,
    with_rotation_each_refresh_returns_a_new_token_and_reuse_revokes_the_family,
    the_oauth2_crate_runs_the_client_credentials_grant,
    seed_000_json_password_and_refresh_payloads_work_as_printed,
    seed_003_user_api_secrets_get_tokens_at_the_configapi_endpoint,
    every_rfc_6749_error_is_answered_on_both_encodings,
    concurrent_refreshes_with_rotation_have_exactly_one_winner,
    introspection_and_revocation_follow_rfc_7662_and_7009,
    deactivation_reset_deletion_and_consent_revocation_end_tokens_at_once,
    a_token_with_the_mgmt_scope_calls_the_management_api_as_its_user,
    failed_client_authentication_is_rate_limited_per_client,
    wrong_passwords_at_the_password_grant_lock_the_account,
    the_metadata_lists_every_endpoint_and_each_answers,
);

// ---------------------------------------------------------------------------------
// 9. Two server processes on one PostgreSQL database.
// ---------------------------------------------------------------------------------

const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Both nodes sit behind one public URL (SPEC §5.4), so they name the same issuer.
const PUBLIC_URL: &str = "https://portcullis.test";

/// A `portcullis` process, stopped with SIGTERM when dropped (so a failing test
/// leaves no server behind).
struct Node {
    child: std::process::Child,
    base: String,
}

impl Node {
    fn start(database_url: &str) -> Node {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
                "--public-url",
                PUBLIC_URL,
            ])
            .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("PORTCULLIS_LISTEN")
            .env_remove("PORTCULLIS_DATABASE_URL")
            .env_remove("PORTCULLIS_PUBLIC_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn portcullis");
        let stdout = child.stdout.take().expect("stdout");
        let mut node = Node {
            child,
            base: String::new(),
        };
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line of stdout");
            if let Some(u) = line.strip_prefix("Portcullis listening on ") {
                node.base = u.trim().to_owned();
                break;
            }
        }
        assert!(!node.base.is_empty(), "the server did not start");
        node
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then waits: the node shuts down gracefully.
    fn stop(mut self) {
        let status = self.terminate().expect("stopped");
        assert!(
            status.success(),
            "graceful shutdown exits 0, got {status:?}"
        );
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.terminate();
    }
}

#[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_one_process_are_introspected_refreshed_and_revoked_by_another() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(database_url) = fresh_database(Backend::Postgres, &dir).await else {
        return;
    };
    let a = Node::start(&database_url);
    let b = Node::start(&database_url);
    assert_ne!(a.base, b.base);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let send = |req: reqwest::RequestBuilder| async move {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            text,
        )
    };

    // One set of signing keys for both.
    let (_, jwks_a, _) = send(http.get(a.url("/oauth2/jwks"))).await;
    let (_, jwks_b, _) = send(http.get(b.url("/oauth2/jwks"))).await;
    assert_eq!(jwks_a, jwks_b);
    assert!(
        jwks_a["keys"].as_array().is_some_and(|k| !k.is_empty()),
        "{jwks_a}"
    );

    // Alice is created on A, registers her client on B.
    let (status, _, text) = send(
        http.post(a.url(USERS))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({
                "userName": ALICE, "statusInfo": {"status": 1},
                "passwordInfo": {"password": ALICE_PASSWORD},
                "permissions": {"roles": [ROLE_USER], "permissions": []}
            })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (status, v, text) = send(
        http.post(b.url(APPS))
            .basic_auth(ALICE, Some(ALICE_PASSWORD))
            .json(&json!({
                "name": "Reporting", "redirectUrls": ["https://app.example/callback"]
            })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let c = Client {
        id: v["id"].as_i64().expect("id"),
        client_id: v["clientId"].as_str().expect("clientId").to_owned(),
        secret: v["clientSecret"].as_str().expect("secret").to_owned(),
    };
    let form = |node: &Node, path: &str, fields: &[(&str, &str)]| {
        http.post(node.url(path))
            .basic_auth(&c.client_id, Some(&c.secret))
            .form(fields)
    };

    // Issued by A (with the oauth2 crate).
    let t = oauth_client(&a.base, &c, AuthType::BasicAuth)
        .exchange_password(
            &ResourceOwnerUsername::new(ALICE.into()),
            &ResourceOwnerPassword::new(ALICE_PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .expect("password grant on A");
    let access = t.access_token().secret().clone();
    let refresh = t.refresh_token().expect("refresh").secret().clone();

    // Introspected by B, and B's resource check accepts it.
    let (status, v, text) = send(form(&b, INTROSPECT, &[("token", &access)])).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["iss"], PUBLIC_URL);
    assert_eq!(v["username"], ALICE);
    let (status, _, text) = send(form(&b, INTROSPECT, &[("token", &refresh)])).await;
    assert_eq!(status, 200);
    assert!(text.contains("\"active\":true"), "{text}");
    let (status, _, text) = send(http.get(b.url(USERINFO)).bearer_auth(&access)).await;
    assert_eq!(status, 200, "{text}");

    // Refreshed by B (HDP: the same refresh token back); A accepts B's access token.
    let r = oauth_client(&b.base, &c, AuthType::RequestBody)
        .exchange_refresh_token(&oauth2::RefreshToken::new(refresh.clone()))
        .request_async(&http)
        .await
        .expect("refresh grant on B");
    assert_eq!(
        r.refresh_token().map(|t| t.secret().clone()),
        Some(refresh.clone())
    );
    let access_b = r.access_token().secret().clone();
    let (status, _, text) = send(http.get(a.url(USERINFO)).bearer_auth(&access_b)).await;
    assert_eq!(status, 200, "{text}");

    // Revoked on B: A sees it at once, for the refresh token and both access tokens.
    let (status, _, text) = send(form(&b, REVOKE, &[("token", &refresh)])).await;
    assert_eq!(status, 200, "{text}");
    for token in [&refresh, &access, &access_b] {
        let (status, v, _) = send(form(&a, INTROSPECT, &[("token", token)])).await;
        assert_eq!(status, 200);
        assert_eq!(v, json!({"active": false}));
    }
    for token in [&access, &access_b] {
        let (status, _, text) = send(http.get(a.url(USERINFO)).bearer_auth(token)).await;
        assert_eq!(status, 401, "{text}");
    }
    let (status, v, _) = send(form(
        &a,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"], "invalid_grant");

    // Rotation across nodes: rotated on A, the spent token reused on B revokes the family.
    let (status, _, text) = send(
        http.put(a.url("/api/admin/limits/system/1003"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"value": 1})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (_, v, text) = send(form(
        &a,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", ALICE_PASSWORD),
        ],
    ))
    .await;
    let first = v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned();
    let (status, v, text) = send(form(
        &a,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let second = v["refresh_token"].as_str().expect("successor").to_owned();
    assert_ne!(second, first);
    let (status, v, _) = send(form(
        &b,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    ))
    .await;
    assert_eq!((status, v["error"].clone()), (400, json!("invalid_grant")));
    let (status, v, _) = send(form(
        &a,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    ))
    .await;
    assert_eq!(
        (status, v["error"].clone()),
        (400, json!("invalid_grant")),
        "the family is revoked"
    );
    a.stop();
    b.stop();
}
