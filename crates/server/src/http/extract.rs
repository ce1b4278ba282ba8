//! Request extractors that fail with the HDP envelope: JSON bodies (content type, size,
//! syntax, unknown fields — each error names what was wrong), integer path ids, and the
//! authenticated management caller (HTTP Basic, or a Bearer token with RFC 6750
//! challenges pointing to the RFC 9728 metadata), with exactly one `Authorization`
//! header.

use super::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use portcullis_core::auth::{authenticate_password, Attempt, Principal};
use portcullis_core::error::Code;
use portcullis_core::oauth::error::ErrorCode;
use serde::de::DeserializeOwned;

/// Largest accepted request body (SPEC §1.1).
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON body parsed into `T`, or an HDP error naming the problem.
#[derive(Debug)]
pub struct HdpJson<T>(pub T);

fn is_json(parts_ct: Option<&header::HeaderValue>) -> bool {
    let Some(ct) = parts_ct.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match ct.parse::<mime::Mime>() {
        Ok(m) => {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        }
        Err(_) => false,
    }
}

/// Parses JSON bytes into `T`, naming the field at fault in plain words
/// ([`super::plain`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    super::plain::from_json(bytes).map_err(|p| {
        ApiError::new(
            Code::INVALID_JSON,
            format!("Invalid JSON Input: {}.", p.message()),
        )
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HdpJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                Code::UNSUPPORTED_MEDIA_TYPE,
                "The request body must be JSON, sent with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    Code::PAYLOAD_TOO_LARGE,
                    format!("The request body is larger than {MAX_BODY} bytes."),
                )
            } else {
                ApiError::new(
                    Code::INVALID_JSON,
                    "Invalid JSON Input: the request body could not be read.",
                )
            }
        })?;
        parse_json(&bytes).map(HdpJson)
    }
}

/// A query string parsed into `T`, or an HDP error naming the parameter at fault
/// (axum's `Query` would answer plain text in serde's words).
#[derive(Debug)]
pub struct HdpQuery<T>(pub T);

/// Parses a query string into `T`, naming the parameter at fault in plain words.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let raw = e.into_inner().to_string();
        ApiError::new(
            Code::INVALID_FIELD,
            format!("Invalid query: {}.", super::plain::describe(&path, &raw)),
        )
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for HdpQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(HdpQuery)
    }
}

/// For `deserialize_with` on an optional id in a query: a positive integer, or a
/// refusal that says so (`tenantId: expected a positive integer, got "abc"`).
pub fn query_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::{Error, Unexpected};
    let raw = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(Some)
        .ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&raw), &"a positive integer"))
}

/// An integer id from the path (`{id}`).
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::new(Code::INVALID_ID, "The path must end with an integer id.")
            })?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(IdPath)
            .ok_or_else(|| {
                ApiError::new(
                    Code::INVALID_ID,
                    format!("'{raw}' is not a valid id; ids are positive integers."),
                )
            })
    }
}

/// The authenticated management caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// A management request: the shared state and the authenticated caller, which every
/// management handler that calls into core starts from.
#[derive(Debug, Clone)]
pub struct Mgmt(pub AppState, pub Principal);

/// The request's `Authorization` header: `Ok(None)` without one, `Err` when it was
/// sent more than once (which one would count is ambiguous, so neither does).
pub fn authorization(headers: &HeaderMap) -> Result<Option<&HeaderValue>, RepeatedAuthorization> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(RepeatedAuthorization);
    }
    Ok(first)
}

/// More than one `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedAuthorization;

impl RepeatedAuthorization {
    pub const MESSAGE: &'static str =
        "The request has more than one Authorization header; send exactly one.";
}

impl From<RepeatedAuthorization> for ApiError {
    fn from(_: RepeatedAuthorization) -> Self {
        ApiError::new(Code::AUTHORIZATION_REPEATED, RepeatedAuthorization::MESSAGE)
    }
}

/// Splits the value of `Authorization: Basic …` into login and password.
pub fn parse_basic(value: &HeaderValue) -> Result<(String, String), ApiError> {
    let missing = basic_required;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::new(
            Code::AUTHENTICATION_REQUIRED,
            format!("The {scheme} authorization scheme is not accepted here; use HTTP Basic."),
        ));
    }
    let malformed = || {
        ApiError::new(
            Code::AUTHENTICATION_REQUIRED,
            "Malformed HTTP Basic credentials.",
        )
    };
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (login, password) = decoded.split_once(':').ok_or_else(malformed)?;
    if login.is_empty() || login.len() > 256 || password.len() > 1024 {
        return Err(ApiError::new(
            Code::INVALID_CREDENTIALS,
            "Invalid user name or password.",
        ));
    }
    Ok((login.to_owned(), password.to_owned()))
}

/// Splits `Authorization: Basic …` into login and password.
pub fn basic_credentials(parts: &Parts) -> Result<(String, String), ApiError> {
    match authorization(&parts.headers)? {
        Some(value) => parse_basic(value),
        None => Err(basic_required()),
    }
}

fn basic_required() -> ApiError {
    ApiError::new(
        Code::AUTHENTICATION_REQUIRED,
        "Authentication required: send HTTP Basic credentials (login name and password).",
    )
}

/// A refused management caller: the HDP envelope, and for a refused Bearer token the
/// RFC 6750 §3 challenge instead of the Basic one; a caller that sent no credentials
/// HDP takes (none, or another scheme) gets the Bearer challenge next to the Basic one,
/// as a second `WWW-Authenticate` header. Bearer challenges point to the resource's
/// RFC 9728 metadata ([`super::resource_metadata::challenge`]).
#[derive(Debug)]
pub struct CallerRejection {
    error: ApiError,
    bearer: Option<Bearer>,
}

/// The Bearer challenge of a [`CallerRejection`].
#[derive(Debug)]
enum Bearer {
    /// A Bearer token was refused: this challenge replaces the Basic one.
    Refused(String),
    /// No credentials: this challenge is offered after the Basic one (on a 401 only).
    Offered(String),
    /// A DPoP presentation was refused (RFC 9449 §7.1): this `DPoP` challenge replaces
    /// the Basic one, with a `DPoP-Nonce` when nonces are on.
    Dpop(String, Option<String>),
}

impl From<ApiError> for CallerRejection {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            bearer: None,
        }
    }
}

impl IntoResponse for CallerRejection {
    fn into_response(self) -> Response {
        let mut res = self.error.into_response();
        let status = res.status();
        let headers = res.headers_mut();
        match self.bearer {
            Some(Bearer::Refused(challenge)) => {
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            Some(Bearer::Dpop(challenge, nonce)) => {
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
                if let Some(v) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
                    headers.insert(super::dpop::DPOP_NONCE, v);
                }
            }
            Some(Bearer::Offered(challenge)) if status == StatusCode::UNAUTHORIZED => {
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    headers.append(header::WWW_AUTHENTICATE, v);
                }
            }
            _ => {}
        }
        res
    }
}

/// Whether an `Authorization` value uses the Basic scheme.
fn is_basic(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = CallerRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let issuer = state.ctx.signer.issuer();
        let path = parts.uri.path();
        let value = authorization(&parts.headers).map_err(ApiError::from)?;
        if let Some(p) = value.and_then(super::dpop::presentation) {
            return bearer_caller(state, parts, p).await.map(Caller);
        }
        let basic_caller = value.is_some_and(is_basic);
        let (login, password) = basic_credentials(parts).map_err(|error| CallerRejection {
            error,
            bearer: (!basic_caller)
                .then(|| Bearer::Offered(super::resource_metadata::challenge(issuer, path, None))),
        })?;
        let attempt = Attempt {
            limiter: &state.limiter,
            peer: super::peer::client_ip(&state.trusted_proxies, &parts.extensions, &parts.headers),
        };
        let principal =
            authenticate_password(&state.ctx, &state.credentials, attempt, &login, &password)
                .await
                .map_err(ApiError::from)?;
        Ok(Caller(principal))
    }
}

impl FromRequestParts<AppState> for Mgmt {
    type Rejection = CallerRejection;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(c) = Caller::from_request_parts(parts, s).await?;
        Ok(Mgmt(s.clone(), c))
    }
}

/// A management caller by Bearer token (SPEC §4.1): an active access token for a
/// user, for the issuer or the management API (RFC 8707 audience), carrying the
/// `api.access.mgmt` scope; it acts with that user's permissions.
async fn bearer_caller(
    state: &AppState,
    parts: &Parts,
    presented: super::dpop::Presentation<'_>,
) -> Result<Principal, CallerRejection> {
    let (path, token) = (parts.uri.path(), presented.token);
    let refused = |code: Code, message: String, bearer: ErrorCode| CallerRejection {
        bearer: Some(Bearer::Refused(super::resource_metadata::challenge(
            state.ctx.signer.issuer(),
            path,
            Some((bearer, &message)),
        ))),
        error: ApiError::new(code, message),
    };
    let active = match portcullis_core::oauth::validate::access_token(&state.ctx, token).await {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => {
            return Err(refused(
                Code::INVALID_CREDENTIALS,
                "The access token is invalid, expired or revoked.".to_owned(),
                ErrorCode::InvalidToken,
            ))
        }
        Err(e) => return Err(ApiError::from(portcullis_core::auth::store_failure(e)).into()),
    };
    let issuer = state.ctx.signer.issuer();
    if !portcullis_core::oauth::resource::opens_management_api(&active.claims, issuer) {
        return Err(refused(
            Code::INVALID_CREDENTIALS,
            format!(
                "The access token is for another resource (aud); the management API takes tokens for {issuer} or {}.",
                portcullis_core::oauth::resource::mgmt_uri(issuer)
            ),
            ErrorCode::InvalidToken,
        ));
    }
    // RFC 9449 §7: a DPoP-bound token needs the DPoP scheme and a proof by its key.
    let method = parts.method.as_str();
    let cnf = active.claims.cnf.as_ref();
    let checked =
        super::dpop::check_at_resource(state, &parts.headers, method, path, presented, cnf);
    if let Err(refusal) = checked.await {
        let nonce = super::dpop::current_nonce(state);
        return Err(CallerRejection {
            bearer: Some(Bearer::Dpop(
                super::dpop::challenge_value(Some(&refusal)),
                nonce,
            )),
            error: ApiError::new(Code::INVALID_CREDENTIALS, refusal.1),
        });
    }
    if !active.claims.has_scope(portcullis_core::model::scope::MGMT) {
        return Err(refused(
            Code::INSUFFICIENT_SCOPE,
            format!(
                "The access token lacks the {} scope the management API needs.",
                portcullis_core::model::scope::MGMT
            ),
            ErrorCode::InsufficientScope,
        ));
    }
    let Some(user) = active.user else {
        return Err(refused(
            Code::INSUFFICIENT_SCOPE,
            "The access token is a client's own; the management API needs a user's token."
                .to_owned(),
            ErrorCode::InsufficientScope,
        ));
    };
    let permissions = state
        .ctx
        .store
        .effective_permissions(user.id)
        .await
        .map_err(|e| ApiError::from(portcullis_core::auth::store_failure(e)))?;
    Ok(Principal { user, permissions })
}

/// The bearer token of `Authorization: Bearer …` (RFC 6750 §2.1; header only);
/// `Err` when the header was sent more than once.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, RepeatedAuthorization> {
    Ok(authorization(headers)?.and_then(bearer_value))
}

/// The token of one `Authorization: Bearer …` value.
pub fn bearer_value(value: &HeaderValue) -> Option<&str> {
    let v = value.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
