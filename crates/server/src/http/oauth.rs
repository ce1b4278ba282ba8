//! The OAuth endpoints: token (`/oauth2/token`, `/api/mgmt/oauth2/token`,
//! `/configapi/v2/oauth/token`), pushed authorization requests (RFC 9126),
//! introspection (RFC 7662), revocation (RFC 7009) and userinfo (an RFC 6750 protected resource). Requests are form-encoded (RFC 6749) or,
//! on the token endpoints, JSON in HDP's style (seed 000, camelCase or snake_case
//! client fields). Errors follow the request: RFC 6749 §5.2 bodies for forms, the HDP
//! envelope for JSON, with the same status codes.

use super::error::ApiError;
use super::extract::{RepeatedAuthorization, MAX_BODY};
use super::reply::{no_store, set_retry_after};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use portcullis_core::auth::{authenticate_password, Attempt};
use portcullis_core::crypto::Secret;
use portcullis_core::error::Code;
use portcullis_core::oauth::client_auth;
use portcullis_core::oauth::error::{ErrorCode, OAuthError};
use portcullis_core::oauth::introspect::{self, Introspection};
use portcullis_core::oauth::par;
use portcullis_core::oauth::params::RESOURCE_PARAM;
use portcullis_core::oauth::request::{
    ClientAssertion, ClientCredentials, Endpoint, TokenRequest, TokenResponse,
};
use portcullis_core::oauth::token;
use portcullis_core::oauth::userinfo::{self, UserInfo};
use portcullis_core::oauth::validate;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How the request body was encoded, which decides the error format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Form,
    Json,
}

/// An OAuth error rendered for its encoding.
#[derive(Debug)]
pub struct OAuthReply {
    pub error: OAuthError,
    pub encoding: Encoding,
    /// A 415 for an unusable content type.
    pub media_type: bool,
}

impl OAuthReply {
    fn new(error: OAuthError, encoding: Encoding) -> Self {
        Self {
            error,
            encoding,
            media_type: false,
        }
    }

    fn form(error: OAuthError) -> Self {
        Self::new(error, Encoding::Form)
    }

    /// A form-encoded error as the response (introspection and revocation).
    pub(super) fn form_response(error: OAuthError) -> Response {
        Self::form(error).into_response()
    }
}

/// The catalogue code an OAuth error carries in the HDP envelope.
pub fn hdp_code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::InvalidRequest => Code::OAUTH_INVALID_REQUEST,
        ErrorCode::InvalidClient => Code::OAUTH_INVALID_CLIENT,
        ErrorCode::InvalidGrant => Code::OAUTH_INVALID_GRANT,
        ErrorCode::UnauthorizedClient => Code::OAUTH_UNAUTHORIZED_CLIENT,
        ErrorCode::UnsupportedGrantType => Code::OAUTH_UNSUPPORTED_GRANT_TYPE,
        ErrorCode::InvalidScope => Code::OAUTH_INVALID_SCOPE,
        ErrorCode::InvalidTarget => Code::OAUTH_INVALID_TARGET,
        ErrorCode::InvalidDpopProof => Code::OAUTH_INVALID_DPOP_PROOF,
        ErrorCode::UseDpopNonce => Code::OAUTH_USE_DPOP_NONCE,
        ErrorCode::InvalidRedirectUri
        | ErrorCode::InvalidClientMetadata
        | ErrorCode::InvalidSoftwareStatement
        | ErrorCode::UnapprovedSoftwareStatement => Code::OAUTH_INVALID_REQUEST,
        ErrorCode::InvalidToken | ErrorCode::InsufficientScope => Code::OAUTH_INVALID_GRANT,
        ErrorCode::AuthorizationPending
        | ErrorCode::SlowDown
        | ErrorCode::AccessDenied
        | ErrorCode::ExpiredToken => Code::OAUTH_INVALID_GRANT,
        ErrorCode::ServerError => Code::INTERNAL,
        ErrorCode::TemporarilyUnavailable => Code::UNAVAILABLE,
    }
}

fn status_of(e: &OAuthError) -> StatusCode {
    if e.retry_after.is_some() {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    match e.code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfcError {
    /// An RFC 6749 §5.2 error code.
    pub error: &'static str,
    pub error_description: String,
}

impl IntoResponse for OAuthReply {
    fn into_response(self) -> Response {
        let e = self.error;
        let status = if self.media_type {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            status_of(&e)
        };
        let mut res = match self.encoding {
            Encoding::Form => (
                status,
                Json(RfcError {
                    error: e.code.as_str(),
                    error_description: e.description.clone(),
                }),
            )
                .into_response(),
            Encoding::Json => {
                let code = hdp_code(e.code).code;
                let body = serde_json::json!({"error": {"code": code, "message": {"lang": "en-US",
                    "value": format!("{}: {}", e.code, e.description)}}});
                (status, Json(body)).into_response()
            }
        };
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED && e.code == ErrorCode::InvalidClient {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Portcullis\""),
            );
        }
        set_retry_after(h, e.retry_after);
        res
    }
}

/// The fields of an OAuth request body, by name.
pub type Fields = HashMap<String, String>;

fn content_type(headers: &HeaderMap) -> Option<mime::Mime> {
    headers
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Parses a form body; a parameter sent twice is `invalid_request` (RFC 6749 §3.1),
/// except `resource`, which RFC 8707 §2 lets a client repeat: its first value is
/// here, all of them in [`form_resources`].
pub fn form_fields(body: &[u8]) -> Result<Fields, OAuthError> {
    let mut out = Fields::new();
    for (k, v) in form_urlencoded::parse(body) {
        if k == RESOURCE_PARAM && out.contains_key(RESOURCE_PARAM) {
            continue;
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "The {} parameter was sent more than once.",
                super::plain::field_name(&k)
            )));
        }
    }
    Ok(out)
}

/// Every non-empty `resource` of a form body (RFC 8707 §2), in order.
pub fn form_resources(body: &[u8]) -> Vec<String> {
    form_urlencoded::parse(body)
        .filter(|(k, v)| k == RESOURCE_PARAM && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// The `resource` values of a token request: every one of a form; in HDP's JSON, the
/// one string.
fn resources(body: &[u8], fields: &Fields, encoding: Encoding) -> Vec<String> {
    match encoding {
        Encoding::Form => form_resources(body),
        Encoding::Json => fields
            .get(RESOURCE_PARAM)
            .filter(|v| !v.is_empty())
            .cloned()
            .into_iter()
            .collect(),
    }
}

/// The members of a JSON object in order, duplicates kept (to be refused).
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry::<String, Value>()? {
                    out.push(kv);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses an HDP-style JSON body: an object of strings (numbers are taken as text,
/// null as absent). A field sent twice is `invalid_request`, as in a form; every
/// refusal names the field, in plain words ([`super::plain`]).
pub fn json_fields(body: &[u8]) -> Result<Fields, OAuthError> {
    let Members(members) = super::plain::from_json(body)
        .map_err(|p| OAuthError::invalid_request(format!("{}.", capitalized(p.message()))))?;
    let mut out = Fields::new();
    for (k, v) in members {
        let shown = super::plain::field_name(&k);
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Null => continue,
            other => {
                let got = match other {
                    Value::Bool(b) => b.to_string(),
                    Value::Array(_) => "an array".to_owned(),
                    _ => "an object".to_owned(),
                };
                return Err(OAuthError::invalid_request(format!(
                    "{shown}: expected a string, got {got}."
                )));
            }
        };
        if out.insert(k, text).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "The {shown} parameter was sent more than once."
            )));
        }
    }
    Ok(out)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Reads the body as form or JSON; 415 otherwise.
fn parse_body(
    headers: &HeaderMap,
    body: &[u8],
    allow_json: bool,
) -> Result<(Fields, Encoding), OAuthReply> {
    let ct = content_type(headers);
    let is = |sub: mime::Name<'_>| {
        ct.as_ref()
            .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == sub)
    };
    if is(mime::WWW_FORM_URLENCODED) {
        return form_fields(body)
            .map(|f| (f, Encoding::Form))
            .map_err(OAuthReply::form);
    }
    if allow_json && is(mime::JSON) {
        return json_fields(body)
            .map(|f| (f, Encoding::Json))
            .map_err(|error| OAuthReply::new(error, Encoding::Json));
    }
    let expected = if allow_json {
        "application/x-www-form-urlencoded (RFC 6749) or application/json (HDP)"
    } else {
        "application/x-www-form-urlencoded"
    };
    Err(OAuthReply {
        error: OAuthError::invalid_request(format!("The request body must be {expected}.")),
        encoding: Encoding::Form,
        media_type: true,
    })
}

/// One of two spellings (HDP's camelCase and RFC 6749's snake_case); both with
/// different values is `invalid_request`.
fn either(f: &mut Fields, a: &str, b: &str) -> Result<Option<String>, OAuthError> {
    match (f.remove(a), f.remove(b)) {
        (Some(x), Some(y)) if x != y => Err(OAuthError::invalid_request(format!(
            "{a} and {b} disagree."
        ))),
        (x, y) => Ok(x.or(y).filter(|v| !v.is_empty())),
    }
}

/// `Authorization: Basic` client credentials, form-decoded (RFC 6749 §2.3.1).
fn basic_client(headers: &HeaderMap) -> Result<Option<(String, Secret)>, OAuthError> {
    let Some(value) = one_authorization(headers)? else {
        return Ok(None);
    };
    parse_basic_client(value).map(Some)
}

/// The one `Authorization` header; two are `invalid_request` (RFC 6749 §3.2: no
/// parameter twice).
fn one_authorization(headers: &HeaderMap) -> Result<Option<&HeaderValue>, OAuthError> {
    super::extract::authorization(headers)
        .map_err(|_| OAuthError::invalid_request(RepeatedAuthorization::MESSAGE))
}

/// The client id and secret of a Basic `Authorization` value, each form-decoded.
pub fn parse_basic_client(value: &HeaderValue) -> Result<(String, Secret), OAuthError> {
    let bad = || OAuthError::invalid_client("Malformed HTTP Basic client credentials.");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(format!(
            "The {scheme} scheme cannot authenticate a client; use Basic."
        )));
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unform = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let id = unform(id).ok_or_else(bad)?;
    let secret = unform(secret).ok_or_else(bad)?;
    Ok((id, Secret::new(secret)))
}

fn client_credentials(
    headers: &HeaderMap,
    f: &mut Fields,
) -> Result<ClientCredentials, OAuthError> {
    Ok(ClientCredentials {
        basic: basic_client(headers)?,
        body_id: either(f, "clientId", "client_id")?,
        body_secret: either(f, "clientSecret", "client_secret")?.map(Secret::new),
        assertion: client_assertion(f),
    })
}

/// `client_assertion_type` and `client_assertion` (RFC 7521 §4.2), when either was sent.
fn client_assertion(f: &mut Fields) -> Option<ClientAssertion> {
    let assertion_type = f.remove("client_assertion_type");
    let assertion = f.remove("client_assertion").map(Secret::new);
    (assertion_type.is_some() || assertion.is_some()).then_some(ClientAssertion {
        assertion_type,
        assertion,
    })
}

fn token_request(
    headers: &HeaderMap,
    mut f: Fields,
    resource: Vec<String>,
    peer: IpAddr,
    login_user: Option<i64>,
) -> Result<TokenRequest, OAuthError> {
    let client = if login_user.is_some() {
        // The Basic header was the HDP user's login; the body authenticates the client.
        ClientCredentials {
            basic: None,
            body_id: either(&mut f, "clientId", "client_id")?,
            body_secret: either(&mut f, "clientSecret", "client_secret")?.map(Secret::new),
            assertion: client_assertion(&mut f),
        }
    } else {
        client_credentials(headers, &mut f)?
    };
    Ok(TokenRequest {
        grant_type: f.remove("grant_type").or_else(|| f.remove("grantType")),
        scope: f.remove("scope"),
        username: f.remove("username"),
        password: f.remove("password").map(Secret::new),
        refresh_token: either(&mut f, "refresh_token", "refreshToken")?.map(Secret::new),
        code: f.remove("code").map(Secret::new),
        redirect_uri: either(&mut f, "redirect_uri", "redirectUri")?,
        code_verifier: either(&mut f, "code_verifier", "codeVerifier")?.map(Secret::new),
        device_code: f.remove("device_code").map(Secret::new),
        resource,
        client,
        peer: Some(peer),
        login_user,
        exchange: exchange_params(&mut f),
        upstream: None,
        dpop: None,
    })
}

/// Token exchange's parameters (RFC 8693 §2.1); `audience` once (a second is refused
/// as any repeated parameter).
fn exchange_params(f: &mut Fields) -> portcullis_core::oauth::request::ExchangeParams {
    let mut take = |k: &str| f.remove(k).filter(|v| !v.is_empty());
    portcullis_core::oauth::request::ExchangeParams {
        subject_token: take("subject_token").map(Secret::new),
        subject_token_type: take("subject_token_type"),
        actor_token: take("actor_token").map(Secret::new),
        actor_token_type: take("actor_token_type"),
        requested_token_type: take("requested_token_type"),
        audience: take("audience").into_iter().collect(),
    }
}

/// Whether a field is present and non-empty in either spelling.
fn has(f: &Fields, a: &str, b: &str) -> bool {
    [a, b]
        .iter()
        .any(|k| f.get(*k).is_some_and(|v| !v.is_empty()))
}

/// HDP's token request with the user's login as HTTP Basic and the client's id and
/// secret in the JSON body (seed 000, SPEC §1.1): verifies the login through the
/// credential cache and returns the user's id. `Ok(None)` for every other request,
/// which authenticates the client as RFC 6749 says (one method only).
async fn hdp_login(
    s: &AppState,
    headers: &HeaderMap,
    fields: &Fields,
    encoding: Encoding,
    peer: IpAddr,
) -> Result<Option<i64>, Response> {
    if encoding != Encoding::Json
        || !has(fields, "clientId", "client_id")
        || !has(fields, "clientSecret", "client_secret")
    {
        return Ok(None);
    }
    let value = match super::extract::authorization(headers) {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(None),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let is_basic = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    if !is_basic {
        return Ok(None);
    }
    let (login, password) =
        super::extract::parse_basic(value).map_err(IntoResponse::into_response)?;
    let attempt = Attempt {
        limiter: &s.limiter,
        peer: Some(peer),
    };
    let principal = authenticate_password(&s.ctx, &s.credentials, attempt, &login, &password)
        .await
        .map_err(|f| ApiError::from(f).into_response())?;
    Ok(Some(principal.user.id))
}

/// A successful token response (RFC 6749 §5.1). `expires_in` is a number for form
/// requests and a string for HDP-style JSON requests and on `/configapi`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub access_token: String,
    /// `Bearer`, or `DPoP` when the request carried a DPoP proof (RFC 9449 §5).
    pub token_type: &'static str,
    #[schema(value_type = Object)]
    pub expires_in: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// The OpenID Connect ID token, when `openid` was granted to a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Token exchange's `issued_token_type` (RFC 8693 §2.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

fn token_body(t: TokenResponse, as_string: bool, token_type: &'static str) -> Response {
    let expires_in = if as_string {
        Value::String(t.expires_in.to_string())
    } else {
        Value::from(t.expires_in)
    };
    let body = TokenBody {
        access_token: t.access_token,
        token_type: t.token_type.unwrap_or(token_type),
        expires_in,
        refresh_token: t.refresh_token.map(|s| s.expose().to_owned()),
        scope: t.scope,
        id_token: t.id_token,
        issued_token_type: t.issued_token_type,
    };
    let mut res = no_store(Json(body));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// What the token, introspection and revocation endpoints read: the state, the
/// peer's address, the headers and the body, whose rejection (too large, unreadable)
/// each endpoint answers in its own error shape.
#[derive(Debug)]
pub struct OAuthPost {
    s: AppState,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    /// The path called (a DPoP proof's `htu` names it).
    path: String,
}

impl FromRequest<AppState> for OAuthPost {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        // Moved out rather than copied: reading the body needs only the extensions
        // (the body limit), not the headers.
        let headers = std::mem::take(&mut parts.headers);
        let path = parts.uri.path().to_owned();
        let body = Bytes::from_request(Request::from_parts(parts, body), s).await;
        Ok(Self {
            s: s.clone(),
            peer,
            headers,
            body,
            path,
        })
    }
}

impl OAuthPost {
    /// The body, when it could be read.
    pub(super) fn body(&self) -> Option<&Bytes> {
        self.body.as_ref().ok()
    }

    /// The use cases' context.
    pub(super) fn ctx(&self) -> &portcullis_core::context::Context {
        &self.s.ctx
    }

    /// The client's address, through the trusted proxies.
    fn client_ip(&self) -> IpAddr {
        self.s
            .trusted_proxies
            .client_ip(self.peer.ip(), &self.headers)
    }
}

async fn run_token(req: OAuthPost, endpoint: Endpoint) -> Response {
    let peer = req.client_ip();
    let OAuthPost {
        s,
        headers,
        body,
        path,
        ..
    } = req;
    let body = match body {
        Ok(b) => b,
        Err(r) => {
            let json = endpoint == Endpoint::Standard
                && content_type(&headers).is_some_and(|m| m.subtype() == mime::JSON);
            let encoding = if json { Encoding::Json } else { Encoding::Form };
            let res = body_rejected(&r, encoding);
            token::count_failure(ErrorCode::InvalidRequest);
            return res;
        }
    };
    let (fields, encoding) = match parse_body(&headers, &body, endpoint == Endpoint::Standard) {
        Ok(x) => x,
        Err(reply) => {
            token::count_failure(reply.error.code);
            return reply.into_response();
        }
    };
    let login_user = match hdp_login(&s, &headers, &fields, encoding, peer).await {
        Ok(user) => user,
        Err(res) => return res,
    };
    let resource = resources(&body, &fields, encoding);
    let mut req = match token_request(&headers, fields, resource, peer, login_user) {
        Ok(r) => r,
        Err(error) => {
            // Refused before the token logic runs, so counted here (issue 16).
            token::count_failure(error.code);
            return OAuthReply::new(error, encoding).into_response();
        }
    };
    req.upstream = Some(s.upstream.clone());
    if endpoint == Endpoint::Standard {
        req.dpop = match super::dpop::presented(&s, &headers, &path) {
            Ok(p) => p,
            Err(error) => {
                token::count_failure(error.code);
                return OAuthReply::new(error, encoding).into_response();
            }
        };
    }
    let bound = req.dpop.is_some();
    let mut res = match token::exchange(&s.ctx, &s.limiter, req, endpoint).await {
        Ok(t) => token_body(
            t,
            encoding == Encoding::Json || endpoint == Endpoint::ConfigApi,
            if bound { "DPoP" } else { "Bearer" },
        ),
        Err(error) => OAuthReply::new(error, encoding).into_response(),
    };
    if endpoint == Endpoint::Standard {
        super::dpop::add_nonce(&s, &mut res);
    }
    res
}

/// A body that could not be read (over the 64 KiB limit, or broken), as an RFC error
/// (or, for an HDP JSON request, in the envelope).
fn body_rejected(r: &BytesRejection, encoding: Encoding) -> Response {
    let too_big = r.status() == StatusCode::PAYLOAD_TOO_LARGE;
    let description = if too_big {
        format!("The request body is larger than {MAX_BODY} bytes.")
    } else {
        "The request body could not be read.".to_owned()
    };
    let mut res =
        OAuthReply::new(OAuthError::invalid_request(description), encoding).into_response();
    if too_big {
        *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    }
    res
}

/// The token endpoint (RFC 6749 §3.2): grants `authorization_code`, `password`,
/// `refresh_token`, `client_credentials`, and token exchange (RFC 8693).
#[utoipa::path(post, path = "/oauth2/token", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "RFC 6749 form, or HDP JSON"),
    responses((status = 200, body = TokenBody)))]
pub async fn token_endpoint(req: OAuthPost) -> Response {
    run_token(req, Endpoint::Standard).await
}

/// HDP's spelling of the token endpoint; identical behaviour.
#[utoipa::path(post, path = "/api/mgmt/oauth2/token", tag = "oauth",
    request_body(content_type = "application/json", description = "HDP JSON (seed 000), or an RFC 6749 form"),
    responses((status = 200, body = TokenBody)))]
pub async fn mgmt_token_endpoint(req: OAuthPost) -> Response {
    run_token(req, Endpoint::Standard).await
}

/// User API secrets (SPEC §1.4): `grant_type=client_credentials`, `client_id` = login
/// name, `client_secret` = API secret, `scope` = tenant name or host name.
#[utoipa::path(post, path = "/configapi/v2/oauth/token", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "grant_type, client_id, client_secret, scope"),
    responses((status = 200, body = TokenBody), (status = 400, body = RfcError), (status = 401, body = RfcError)))]
pub async fn configapi_token_endpoint(req: OAuthPost) -> Response {
    run_token(req, Endpoint::ConfigApi).await
}

/// Reads a form body and authenticates its client at `endpoint`; the other fields
/// are returned.
pub(super) async fn authenticated_form(
    req: &OAuthPost,
    endpoint: client_auth::ClientEndpoint,
) -> Result<(client_auth::AuthenticatedClient, Fields), Response> {
    let (s, headers) = (&req.s, &req.headers);
    let body = match &req.body {
        Ok(b) => b,
        Err(r) => return Err(body_rejected(r, Encoding::Form)),
    };
    let (mut fields, _) = parse_body(headers, body, false).map_err(IntoResponse::into_response)?;
    let reject = OAuthReply::form_response;
    let creds = client_credentials(headers, &mut fields).map_err(reject)?;
    let peer = req.client_ip();
    let client = client_auth::authenticate(&s.ctx, &s.limiter, &creds, Some(peer), endpoint)
        .await
        .map_err(reject)?;
    Ok((client, fields))
}

/// Authenticates the client of an introspection or revocation request and returns
/// the `token` parameter.
async fn client_and_token(
    req: &OAuthPost,
    endpoint: client_auth::ClientEndpoint,
) -> Result<(client_auth::AuthenticatedClient, String), Response> {
    let (client, mut fields) = authenticated_form(req, endpoint).await?;
    let token = fields
        .remove("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            OAuthReply::form_response(OAuthError::invalid_request(
                "The token parameter is required.",
            ))
        })?;
    Ok((client, token))
}

/// A pushed authorization request's answer (RFC 9126 §2.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct PushedBody {
    /// `urn:ietf:params:oauth:request_uri:` and 256 random bits; single use.
    pub request_uri: String,
    /// Seconds the `request_uri` stays valid.
    pub expires_in: i64,
}

/// Pushed authorization requests (RFC 9126): the client authenticates as at the token
/// endpoint and sends the authorization request's parameters, checked as the
/// authorization endpoint checks them; the answer's `request_uri` then stands for
/// them at `/oauth2/authorize` (with the same `client_id`), once, for `expires_in`
/// seconds.
#[utoipa::path(post, path = "/oauth2/par", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Client authentication as at the token endpoint, and the authorization request's parameters (response_type, redirect_uri, scope, state, code_challenge, …); not request_uri"),
    responses((status = 201, body = PushedBody),
        (status = 400, body = RfcError, description = "The request would be refused at the authorization endpoint: invalid_request, invalid_scope, unauthorized_client"),
        (status = 401, body = RfcError, description = "invalid_client")))]
pub async fn par_endpoint(req: OAuthPost) -> Response {
    let (client, fields) = match authenticated_form(&req, client_auth::ClientEndpoint::Par).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let mut pairs: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(k, _)| k != RESOURCE_PARAM)
        .collect();
    if let Ok(body) = &req.body {
        pairs.extend(
            form_resources(body)
                .into_iter()
                .map(|r| (RESOURCE_PARAM.to_owned(), r)),
        );
    }
    let dpop = super::dpop::presented(&req.s, &req.headers, &req.path);
    let bound = match dpop {
        Ok(p) => portcullis_core::oauth::dpop::at_par(&req.s.ctx, p.as_ref(), &mut pairs).await,
        Err(e) => Err(e),
    };
    if let Err(e) = bound {
        let mut res = OAuthReply::form_response(e);
        super::dpop::add_nonce(&req.s, &mut res);
        return res;
    }
    match par::push(&req.s.ctx, &client, &pairs).await {
        Ok(p) => no_store((
            StatusCode::CREATED,
            Json(PushedBody {
                request_uri: p.request_uri,
                expires_in: p.expires_in,
            }),
        )),
        Err(e) => OAuthReply::form_response(e),
    }
}

/// Introspection (RFC 7662). The caller authenticates as a confidential client of the
/// token's tenant; public clients get 401 `invalid_client` (RFC 7662 §2.1).
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint"),
    responses((status = 200, description = "`{\"active\":false}` or the token's claims"), (status = 401, body = RfcError)))]
pub async fn introspect_endpoint(req: OAuthPost) -> Result<Response, Response> {
    let (client, token) =
        client_and_token(&req, client_auth::ClientEndpoint::Introspection).await?;
    let body = match introspect::introspect(&req.s.ctx, &client, &token)
        .await
        .map_err(OAuthReply::form_response)?
    {
        Introspection::Inactive => serde_json::json!({"active": false}),
        Introspection::Access(c) => serde_json::json!({
            "active": true, "scope": c.scope, "client_id": c.client_id, "username": c.username,
            "token_type": if c.cnf.is_some() { "DPoP" } else { "Bearer" }, "exp": c.exp, "iat": c.iat, "sub": c.sub, "aud": c.aud, "iss": c.iss,
            "jti": c.jti, "tenant": c.tenant, "cnf": c.cnf,
            // RFC 8693 §4.1: a delegated token's actor.
            "act": c.act,
        }),
        Introspection::Refresh {
            client_id,
            scope,
            sub,
            username,
            exp,
            iat,
            tenant,
            aud,
        } => serde_json::json!({
            "active": true, "scope": scope, "client_id": client_id, "username": username,
            "token_type": "refresh_token", "exp": exp, "iat": iat, "sub": sub, "tenant": tenant,
            "aud": aud,
        }),
    };
    Ok(no_store(Json(strip_nulls(body))))
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        v => v,
    }
}

/// Revocation (RFC 7009). Unknown tokens and tokens of other clients answer 200 too.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint"),
    responses((status = 200, description = "Revoked (or nothing to revoke)"), (status = 401, body = RfcError)))]
pub async fn revoke_endpoint(req: OAuthPost) -> Result<StatusCode, Response> {
    let (client, token) = client_and_token(&req, client_auth::ClientEndpoint::Revocation).await?;
    introspect::revoke(&req.s.ctx, &client, &token)
        .await
        .map_err(OAuthReply::form_response)?;
    Ok(StatusCode::OK)
}

/// An RFC 6750 §3 challenge from the Bearer-protected resource at `path`, pointing to
/// its RFC 9728 metadata ([`super::resource_metadata::challenge`]).
pub fn bearer_challenge(
    issuer: &str,
    path: &str,
    status: StatusCode,
    error: Option<(ErrorCode, &str)>,
) -> Response {
    let header_value = super::resource_metadata::challenge(issuer, path, error);
    // RFC 6750 §3.1: a request without authentication gets no error code, and no body.
    let mut res = match error {
        None => status.into_response(),
        Some((code, desc)) => (
            status,
            Json(serde_json::json!({"error": code.as_str(), "error_description": desc})),
        )
            .into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&header_value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// Where UserInfo is served.
const USERINFO_PATH: &str = "/oauth2/userinfo";

/// Who the access token is for (a Bearer-protected resource, RFC 6750): OpenID
/// Connect's UserInfo endpoint (Core §5.3) for tokens granted `openid`, by GET or POST.
/// A DPoP-bound token (RFC 9449 §7) goes with `Authorization: DPoP` and a proof
/// ([`super::dpop`]); its refusals carry a `DPoP` challenge.
#[utoipa::path(method(get, post), path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = [])),
    responses((status = 200, description = "With `openid` granted: `sub` and the user's claims for the token's scopes (`profile`: name, given_name, family_name, preferred_username, locale, updated_at; `email`: email, email_verified) and its claims request, as JSON, or as a signed JWT (`application/jwt`) when the application registered `userinfoSignedResponseAlg`. Without `openid`: `sub`, `username`, `user_id`, `tenant`, `client_id`, `scope`."),
        (status = 401, description = "Without a token: an empty body (RFC 6750 §3.1). With an invalid, expired or revoked token: `{\"error\":\"invalid_token\",\"error_description\":…}` as JSON. Both carry the challenge in `WWW-Authenticate`.",
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"Portcullis\"`, with `error=\"invalid_token\"` when a token was refused, and `resource_metadata` (RFC 9728 §5.1) pointing to `/.well-known/oauth-protected-resource`")))))]
pub async fn userinfo(
    State(s): State<AppState>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    let challenge =
        |status, error| bearer_challenge(s.ctx.signer.issuer(), USERINFO_PATH, status, error);
    // `Authorization: Bearer …` or `Authorization: DPoP …` (RFC 9449 §7.1).
    let presented =
        super::extract::authorization(&headers).map(|v| v.and_then(super::dpop::presentation));
    let token = match presented.map(|p| p.map(|p| p.token)) {
        Ok(Some(token)) => token,
        Ok(None) => {
            let mut res = challenge(StatusCode::UNAUTHORIZED, None);
            super::dpop::offer(&mut res);
            return res;
        }
        Err(_) => {
            return challenge(
                StatusCode::BAD_REQUEST,
                Some((ErrorCode::InvalidRequest, RepeatedAuthorization::MESSAGE)),
            )
        }
    };
    let active = match validate::access_token(&s.ctx, token).await {
        Ok(Ok(active)) => active,
        Ok(Err(_)) => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                Some((
                    ErrorCode::InvalidToken,
                    "The access token is invalid, expired or revoked.",
                )),
            )
        }
        Err(e) => return OAuthReply::form(e.into()).into_response(),
    };
    if let Ok(Some(p)) = presented {
        let cnf = active.claims.cnf.as_ref();
        let checked =
            super::dpop::check_at_resource(&s, &headers, method.as_str(), USERINFO_PATH, p, cnf);
        if let Err(refusal) = checked.await {
            return super::dpop::refused(&s, refusal);
        }
    }
    if !portcullis_core::oauth::resource::opens_userinfo(&active.claims, s.ctx.signer.issuer()) {
        return challenge(
            StatusCode::UNAUTHORIZED,
            Some((
                ErrorCode::InvalidToken,
                "The access token is for another resource (aud); UserInfo takes tokens for the issuer.",
            )),
        );
    }
    match userinfo::answer(&s.ctx, active) {
        Ok(UserInfo::Json(body)) => no_store(Json(body)),
        Ok(UserInfo::Signed(jwt)) => no_store((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwt"),
            )],
            jwt,
        )),
        Err(e) => OAuthReply::form(e).into_response(),
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token_endpoint))
        .routes(routes!(mgmt_token_endpoint))
        .routes(routes!(configapi_token_endpoint))
        .routes(routes!(introspect_endpoint))
        .routes(routes!(revoke_endpoint))
        .routes(routes!(par_endpoint))
        .routes(routes!(userinfo))
}
