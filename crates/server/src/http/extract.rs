//! Request extractors that fail with the HDP envelope: JSON bodies (content type, size,
//! syntax, unknown fields — each error names what was wrong), integer path ids, and the
//! authenticated management caller (HTTP Basic).

use super::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use portcullis_core::auth::{authenticate_password, Principal};
use portcullis_core::error::Code;
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

/// Splits `Authorization: Basic …` into login and password.
pub fn basic_credentials(parts: &Parts) -> Result<(String, String), ApiError> {
    let missing = || {
        ApiError::new(
            Code::AUTHENTICATION_REQUIRED,
            "Authentication required: send HTTP Basic credentials (login name and password).",
        )
    };
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = super::oauth::bearer_token(&parts.headers) {
            return bearer_caller(state, token).await.map(Caller);
        }
        let (login, password) = basic_credentials(parts)?;
        let principal =
            authenticate_password(&state.ctx, &state.credentials, &login, &password).await?;
        Ok(Caller(principal))
    }
}

/// A management caller by Bearer token (SPEC §4.1): an active access token for a
/// user, carrying the `api.access.mgmt` scope; it acts with that user's permissions.
async fn bearer_caller(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let invalid = || {
        ApiError::new(
            Code::INVALID_CREDENTIALS,
            "The access token is invalid, expired or revoked.",
        )
    };
    let active = match portcullis_core::oauth::validate::access_token(&state.ctx, token).await {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => return Err(invalid()),
        Err(e) => return Err(portcullis_core::auth::store_failure(e).into()),
    };
    if !active.claims.has_scope(portcullis_core::scope::MGMT) {
        return Err(ApiError::new(
            Code::INSUFFICIENT_SCOPE,
            format!(
                "The access token lacks the {} scope the management API needs.",
                portcullis_core::scope::MGMT
            ),
        ));
    }
    let Some(user) = active.user else {
        return Err(ApiError::new(
            Code::INSUFFICIENT_SCOPE,
            "The access token is a client's own; the management API needs a user's token.",
        ));
    };
    let permissions = state
        .ctx
        .store
        .effective_permissions(user.id)
        .await
        .map_err(portcullis_core::auth::store_failure)?;
    Ok(Principal { user, permissions })
}
