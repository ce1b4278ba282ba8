//! What the token-service test files share (`grant_*`, `token_endpoint`,
//! `introspection_revocation`, `bearer_mgmt`, `metadata`, `two_processes`, the vault's
//! upstream): endpoint paths, the HDP codes of the OAuth errors, Alice and her client,
//! the `oauth2` crate's client, grant, introspection and revocation calls, rotation on
//! and off, and a resource server's verification.

use crate::helpers::{Reply, TestApp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenUrl,
};
use portcullis_core::model::identity::ROLE_USER;
use reqwest::Method;
use serde_json::{json, Value};

pub(crate) const TOKEN: &str = "/oauth2/token";
pub(crate) const MGMT_TOKEN: &str = "/api/mgmt/oauth2/token";
pub(crate) const INTROSPECT: &str = "/oauth2/introspect";
pub(crate) const REVOKE: &str = "/oauth2/revoke";
pub(crate) const USERINFO: &str = "/oauth2/userinfo";
pub(crate) const METADATA: &str = "/.well-known/oauth-authorization-server";
pub(crate) const APPS: &str = "/api/mgmt/oauth/client/applications";
pub(crate) const USERS: &str = "/api/admin/users";

pub(crate) const ALICE: &str = "alice";
pub(crate) const ALICE_PASSWORD: &str = "Wonder-Land-42";
pub(crate) const ODATA: &str = "api.access.odata";
pub(crate) const MGMT: &str = "api.access.mgmt";

/// The HDP envelope code of `invalid_grant` (the catalogue in portcullis_core::error).
pub(crate) const INVALID_GRANT: u32 = 222209403;

/// A registered client application.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) id: i64,
    pub(crate) client_id: String,
    pub(crate) secret: String,
}

/// Registers an application as `login` through the HDP API, with `extra` fields
/// (`grantTypes`, `scopes`) merged into a plain registration.
pub(crate) async fn register(
    app: &TestApp,
    login: &str,
    password: &str,
    name: &str,
    extra: Value,
) -> Client {
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

/// A new API secret for user `user`, issued by the administrator through the users API.
pub(crate) async fn api_secret(app: &TestApp, user: i64) -> String {
    let r = app
        .send_as_admin(Method::POST, &format!("{USERS}/{user}/apisecret"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["apiSecret"]
        .as_str()
        .expect("apiSecret")
        .to_owned()
}

/// Alice, an ordinary user of the system tenant, created through the users API.
pub(crate) async fn alice(app: &TestApp) -> i64 {
    create_user(app, ALICE, ALICE_PASSWORD).await
}

pub(crate) async fn create_user(app: &TestApp, login: &str, password: &str) -> i64 {
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

/// Alice's client `name`, allowed only the client_credentials grant.
pub(crate) async fn alices_job(app: &TestApp, name: &str) -> Client {
    register(
        app,
        ALICE,
        ALICE_PASSWORD,
        name,
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await
}

/// A confidential client registered by Alice with the default grants.
pub(crate) async fn alices_client(app: &TestApp) -> Client {
    register(app, ALICE, ALICE_PASSWORD, "Reporting", json!({})).await
}

pub(crate) type OAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The `oauth2` crate's client for `c` at the token endpoint of `base`.
pub(crate) fn oauth_client(base: &str, c: &Client, auth: AuthType) -> OAuthClient {
    BasicClient::new(ClientId::new(c.client_id.clone()))
        .set_client_secret(ClientSecret::new(c.secret.clone()))
        .set_auth_type(auth)
        .set_token_uri(TokenUrl::new(format!("{base}{TOKEN}")).expect("token url"))
}

pub(crate) type Tokens = oauth2::basic::BasicTokenResponse;

pub(crate) type TokenError = RequestTokenError<
    oauth2::HttpClientError<reqwest::Error>,
    oauth2::StandardErrorResponse<BasicErrorResponseType>,
>;

pub(crate) async fn password_grant(
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

pub(crate) async fn refresh_grant(
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
pub(crate) fn rfc_error(r: Result<Tokens, TokenError>) -> BasicErrorResponseType {
    match r {
        Err(RequestTokenError::ServerResponse(e)) => e.error().clone(),
        Err(other) => panic!("not an OAuth error response: {other:?}"),
        Ok(t) => panic!("expected an error, got tokens: {t:?}"),
    }
}

/// Verifies an access token as a resource server does: the issuer and `jwks_uri` from
/// the RFC 8414 metadata, the key by `kid` from the JWK Set, ES256, `typ` at+jwt, then
/// signature, `iss`, `aud` and `exp`. Returns the claims.
pub(crate) async fn resource_server_verify(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> Value {
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
pub(crate) fn form_post(
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

/// Sends a form POST to `path` with client `c` authenticating by HTTP Basic.
pub(crate) async fn client_form(
    app: &TestApp,
    c: &Client,
    path: &str,
    fields: &[(&str, &str)],
) -> Reply {
    app.send(form_post(
        app,
        path,
        Some((&c.client_id, &c.secret)),
        fields,
    ))
    .await
}

/// Introspects `token` as client `c`.
pub(crate) async fn introspect(app: &TestApp, c: &Client, token: &str) -> Value {
    let r = client_form(app, c, INTROSPECT, &[("token", token)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

pub(crate) async fn is_active(app: &TestApp, c: &Client, token: &str) -> bool {
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

pub(crate) async fn revoke(app: &TestApp, c: &Client, token: &str) {
    let r = client_form(app, c, REVOKE, &[("token", token)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

pub(crate) async fn userinfo(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.send(app.http.get(app.url(USERINFO)).bearer_auth(token))
        .await
}

/// Turns refresh-token rotation (limit 1003) on or off, as the administrator.
pub(crate) async fn set_rotation(app: &TestApp, on: bool) {
    app.put_system_limit(1003, i64::from(on)).await;
}

/// Asserts a 401 from a Bearer-protected resource for an unusable token (RFC 6750 §3.1).
#[track_caller]
pub(crate) fn assert_invalid_token(r: &crate::helpers::Reply) {
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(r.json()["error"], "invalid_token");
}

/// Both tokens of a fresh password grant for Alice through `c` (a raw form request).
pub(crate) async fn tokens_for(
    app: &TestApp,
    c: &Client,
    login: &str,
    password: &str,
) -> (String, String) {
    let r = client_form(
        app,
        c,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
        ],
    )
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

#[track_caller]
pub(crate) fn assert_rfc_error(r: &crate::helpers::Reply, status: u16, error: &str, what: &str) {
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

/// The claims of an access token, checked with the server's own keys.
pub(crate) fn access_claims(
    app: &TestApp,
    token: &str,
) -> portcullis_core::model::claims::AccessClaims {
    use portcullis_core::clock::Clock as _;
    app.state
        .ctx
        .signer
        .verify(token, app.clock.now())
        .expect("a valid access token")
}

/// The `access_token` of a successful token response.
#[track_caller]
pub(crate) fn access_token_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
