//! Dynamic client registration: `POST /oauth2/register`
//! ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)) and the client
//! configuration endpoint `GET|PUT|DELETE /oauth2/register/{client_id}`
//! ([RFC 7592 §2](https://www.rfc-editor.org/rfc/rfc7592#section-2)). Handlers read the
//! JSON body (at most [`MAX_REGISTRATION_BODY`] bytes), the `Authorization: Bearer`
//! token (an initial access token, or the registration access token) and the caller's
//! address, make one call into `portcullis_core::oauth::registration`, and answer
//! RFC 7591's JSON: 201 with the client information, or `{"error",
//! "error_description"}` (400; 401 with `WWW-Authenticate: Bearer` for
//! `invalid_token`; 429 with `Retry-After`), always `Cache-Control: no-store`.

use super::extract::{bearer_token, RepeatedAuthorization};
use super::oauth::RfcError;
use super::reply::set_retry_after;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::crypto::Secret;
use portcullis_core::oauth::error::{ErrorCode, OAuthError};
use portcullis_core::oauth::registration::{self, Registered, RegistrationRequest};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest registration body: metadata with a JWK Set fits in a few KiB.
pub const MAX_REGISTRATION_BODY: usize = 32 * 1024;

/// An RFC 7591 error answer.
fn error_response(e: OAuthError) -> Response {
    let status = if e.retry_after.is_some() {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        match e.code {
            ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    };
    let mut res = (
        status,
        Json(RfcError {
            error: e.code.as_str(),
            error_description: e.description.clone(),
        }),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if e.code == ErrorCode::InvalidToken {
        // RFC 6750 §3: the description is ours, plain ASCII without quotes.
        let challenge = format!(
            "Bearer realm=\"Portcullis\", error=\"invalid_token\", error_description=\"{}\"",
            e.description
                .chars()
                .map(|c| match c {
                    '"' | '\\' => '\'',
                    c if c == ' ' || c.is_ascii_graphic() => c,
                    _ => '?',
                })
                .collect::<String>()
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
    }
    set_retry_after(h, e.retry_after);
    res
}

fn client_information(status: StatusCode, r: &Registered, issuer: &str) -> Response {
    let mut res = (status, Json(Value::Object(r.response(issuer)))).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// A registration request as received: state, the caller's address, the bearer token
/// and the JSON body.
#[derive(Debug)]
pub struct RegisterPost {
    s: AppState,
    peer: IpAddr,
    bearer: Option<Secret>,
    body: Result<Value, OAuthError>,
}

fn repeated(_: RepeatedAuthorization) -> OAuthError {
    OAuthError::invalid_request("The request carries more than one Authorization header; send one.")
}

fn bearer(headers: &HeaderMap) -> Result<Option<Secret>, OAuthError> {
    Ok(bearer_token(headers)
        .map_err(repeated)?
        .map(|t| Secret::new(t.to_owned())))
}

impl FromRequest<AppState> for RegisterPost {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let peer = s.trusted_proxies.client_ip(peer.ip(), &headers);
        let bearer = bearer(&headers).map_err(error_response)?;
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.essence_str() == "application/json");
        if !json {
            let mut r = error_response(OAuthError::invalid_request(
                "The registration request must be JSON (Content-Type: application/json).",
            ));
            *r.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Err(r);
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), s).await;
        let body = match bytes {
            Err(_) => Err(OAuthError::invalid_request(format!(
                "The request body could not be read; it must be at most {MAX_REGISTRATION_BODY} bytes of JSON."
            ))),
            Ok(b) if b.len() > MAX_REGISTRATION_BODY => {
                let mut r = error_response(OAuthError::new(
                    ErrorCode::InvalidClientMetadata,
                    format!("The registration request is larger than {MAX_REGISTRATION_BODY} bytes."),
                ));
                *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                return Err(r);
            }
            Ok(b) => serde_json::from_slice::<Value>(&b).map_err(|e| {
                OAuthError::new(
                    ErrorCode::InvalidClientMetadata,
                    format!(
                        "The request body is not valid JSON (line {}, column {}).",
                        e.line(),
                        e.column()
                    ),
                )
            }),
        };
        Ok(Self {
            s: s.clone(),
            peer,
            bearer,
            body,
        })
    }
}

/// Registers a client (RFC 7591). Without a bearer token the client lands in the
/// tenant whose policy is `open`; with an initial access token, in its tenant.
#[utoipa::path(post, path = "/oauth2/register", tag = "oauth",
    request_body(content = Object, content_type = "application/json",
        description = "Client metadata (RFC 7591 §2): redirect_uris, token_endpoint_auth_method, grant_types, response_types, client_name, scope, …"),
    security((), ("bearer" = [])),
    responses((status = 201, body = Object, description = "Client information: client_id, client_secret (confidential clients), registration_access_token, registration_client_uri and the registered metadata"),
        (status = 400, body = RfcError, description = "invalid_redirect_uri, invalid_client_metadata, unapproved_software_statement"),
        (status = 401, body = RfcError, description = "invalid_token: registration needs an initial access token, or the one sent is not valid"),
        (status = 413, body = RfcError), (status = 415, body = RfcError),
        (status = 429, body = RfcError, description = "Too many registrations from this address")))]
pub async fn register(req: RegisterPost) -> Response {
    let body = match req.body {
        Ok(b) => b,
        Err(e) => return error_response(e),
    };
    let request = RegistrationRequest {
        body,
        bearer: req.bearer,
        peer: Some(req.peer),
    };
    match registration::register(&req.s.ctx, &req.s.limiter, request).await {
        Ok(r) => client_information(StatusCode::CREATED, &r, &req.s.issuer),
        Err(e) => error_response(e),
    }
}

/// A client's current registration (RFC 7592 §2.1), with its registration access token.
#[utoipa::path(get, path = "/oauth2/register/{client_id}", tag = "oauth",
    params(("client_id" = String, Path, description = "The client's client_id")),
    security(("bearer" = [])),
    responses((status = 200, body = Object, description = "Client information"),
        (status = 401, body = RfcError, description = "invalid_token")))]
pub async fn read(
    axum::extract::State(s): axum::extract::State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    match registration::read(&s.ctx, &client_id, token).await {
        Ok(r) => client_information(StatusCode::OK, &r, &s.issuer),
        Err(e) => error_response(e),
    }
}

/// Replaces a client's metadata (RFC 7592 §2.2), under its tenant's policy.
#[utoipa::path(put, path = "/oauth2/register/{client_id}", tag = "oauth",
    params(("client_id" = String, Path, description = "The client's client_id")),
    request_body(content = Object, content_type = "application/json",
        description = "The client's complete metadata with its client_id"),
    security(("bearer" = [])),
    responses((status = 200, body = Object, description = "Client information"),
        (status = 400, body = RfcError), (status = 401, body = RfcError, description = "invalid_token"),
        (status = 413, body = RfcError), (status = 415, body = RfcError)))]
pub async fn update(Path(client_id): Path<String>, req: RegisterPost) -> Response {
    let body = match req.body {
        Ok(b) => b,
        Err(e) => return error_response(e),
    };
    match registration::update(&req.s.ctx, &client_id, req.bearer, body).await {
        Ok(r) => client_information(StatusCode::OK, &r, &req.s.issuer),
        Err(e) => error_response(e),
    }
}

/// Deletes a client (RFC 7592 §2.3) and revokes every token issued to it.
#[utoipa::path(delete, path = "/oauth2/register/{client_id}", tag = "oauth",
    params(("client_id" = String, Path, description = "The client's client_id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 401, body = RfcError, description = "invalid_token")))]
pub async fn delete(
    axum::extract::State(s): axum::extract::State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    match registration::delete(&s.ctx, &client_id, token).await {
        Ok(()) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => error_response(e),
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(read, update, delete))
}
