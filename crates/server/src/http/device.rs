//! The device authorization grant's HTTP surface (RFC 8628): the device authorization
//! endpoint (`POST /oauth2/device_authorization`, client authentication as at the
//! token endpoint) and the verification page (`GET|POST /oauth2/device`) where the
//! user types the code. A good code sends the browser on to the authorization
//! endpoint's own login and consent pages ([`super::authorize`]); the decisions are
//! core's ([`portcullis_core::oauth::device`]). The token endpoint's polling is in
//! [`super::oauth`].

use super::authorize::{field, html, pairs, redirect, too_long, PageForm};
use super::oauth::{authenticated_form, form_resources, OAuthPost, OAuthReply, RfcError};
use super::pages;
use super::reply::no_store;
use crate::state::AppState;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use portcullis_core::oauth::client_auth::ClientEndpoint;
use portcullis_core::oauth::device::{self, EntryError};
use portcullis_core::oauth::params::RESOURCE_PARAM;
use portcullis_core::oauth::signin::authorize_path;
use serde::Serialize;
use std::net::SocketAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceAuthorizationBody {
    /// The device's secret for polling the token endpoint (256 random bits).
    pub device_code: String,
    /// What the user types: 8 letters as `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    /// `verification_uri` with the code filled in.
    pub verification_uri_complete: String,
    /// Seconds the codes stay valid.
    pub expires_in: i64,
    /// Seconds to wait between polls.
    pub interval: i64,
}

/// Device authorization (RFC 8628 §3.1): the client authenticates as at the token
/// endpoint (public clients send `client_id`) and gets a device code to poll with and
/// a user code for the user to type at `verification_uri`.
#[utoipa::path(post, path = "/oauth2/device_authorization", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Client authentication as at the token endpoint; scope, resource"),
    responses((status = 200, body = DeviceAuthorizationBody),
        (status = 400, body = RfcError, description = "invalid_request, invalid_scope, invalid_target, unauthorized_client (the client may not use the device grant)"),
        (status = 401, body = RfcError, description = "invalid_client")))]
pub async fn device_authorization_endpoint(req: OAuthPost) -> Response {
    let (client, mut fields) =
        match authenticated_form(&req, ClientEndpoint::DeviceAuthorization).await {
            Ok(x) => x,
            Err(res) => return res,
        };
    let resources = match req.body() {
        Some(body) => form_resources(body),
        None => Vec::new(),
    };
    fields.remove(RESOURCE_PARAM);
    let scope = fields.remove("scope");
    match device::start(req.ctx(), &client, scope.as_deref(), &resources).await {
        Ok(d) => no_store(Json(DeviceAuthorizationBody {
            device_code: d.device_code.expose().to_owned(),
            user_code: d.user_code,
            verification_uri: d.verification_uri,
            verification_uri_complete: d.verification_uri_complete,
            expires_in: d.expires_in,
            interval: d.interval,
        })),
        Err(e) => OAuthReply::form_response(e),
    }
}

/// The device verification page (RFC 8628 §3.3): a field for the code, filled in
/// when `user_code` is in the query.
#[utoipa::path(get, path = "/oauth2/device", tag = "authorization",
    params(("user_code" = Option<String>, Query, description = "Fills in the code (verification_uri_complete)")),
    responses((status = 200, description = "The page (HTML)", content_type = "text/html")))]
pub async fn verification_page(RawQuery(query): RawQuery) -> Response {
    // From `verification_uri_complete`: fills the field in (the user still confirms).
    // Read leniently: a query that is not a form shows the empty field.
    let prefill: String = pairs(query.unwrap_or_default().as_bytes())
        .and_then(|p| field(&p, "user_code").map(str::to_owned))
        .unwrap_or_default()
        .chars()
        .take(32)
        .collect();
    html(StatusCode::OK, pages::device(&prefill, None), None)
}

/// The code was typed: a good one goes on to sign-in and consent at the authorization
/// endpoint; a wrong one shows the page again. Wrong codes are limited per address
/// and for the whole code space (then 429 with `Retry-After`).
#[utoipa::path(post, path = "/oauth2/device", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded", description = "user_code"),
    responses(
        (status = 303, description = "Code accepted: on to /oauth2/authorize (sign-in, consent)"),
        (status = 400, description = "The page again: the code is wrong, expired or used", content_type = "text/html"),
        (status = 429, description = "Too many wrong codes: the page again, with Retry-After", content_type = "text/html"),
    ))]
pub async fn verification_submit(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(body): PageForm,
) -> Response {
    let Some(pairs) = pairs(&body) else {
        return too_long();
    };
    let typed = field(&pairs, "user_code").unwrap_or("");
    let ip = s.trusted_proxies.client_ip(peer.ip(), &headers);
    match device::enter(&s.ctx, &s.limiter, Some(ip), typed).await {
        Ok(params) => redirect(StatusCode::SEE_OTHER, &authorize_path(&params)),
        Err(e) => {
            let status = match e {
                EntryError::Wrong => StatusCode::BAD_REQUEST,
                EntryError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
                EntryError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let prefill: String = typed.chars().take(32).collect();
            let mut res = html(status, pages::device(&prefill, Some(&e.message())), None);
            if let EntryError::TooMany(secs) = e {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            res
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verification_page, verification_submit))
        .route_layer(axum::middleware::map_response_with_state(
            pages::Policy::Sign,
            pages::page_headers,
        ))
        .routes(routes!(device_authorization_endpoint))
}
