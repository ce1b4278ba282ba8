//! The connect flow's pages (SPEC §4.3): `GET /api/mgmt/oauthprofiles/connect` sends
//! the user to the upstream's `authorizeURI`, and the browser callback
//! `/oauth2callback` exchanges the code and answers an HTML page rendered from a
//! template by [`crate::http::pages`], through `portcullis_core::vault::connect`.

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::Mgmt;
use crate::http::pages;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use portcullis_core::error::{ApiFailure, Code};
use portcullis_core::vault::connect::{self, Callback};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query; parsed by hand for HDP-style errors
pub struct ConnectParams {
    /// The OAuth application to connect through.
    pub oauth_app_id: i64,
    /// The new profile's name.
    pub name: String,
    pub description: Option<String>,
}

/// The redirect URI registered at upstreams: `<issuer>/oauth2callback`.
pub fn callback_uri(issuer: &str) -> String {
    format!("{issuer}/oauth2callback")
}

/// Starts the connect flow: answers 302 to the application's `authorizeURI` with
/// `state` and a PKCE S256 challenge; the upstream sends the user back to
/// `/oauth2callback`, which creates the profile.
#[utoipa::path(get, path = "/api/mgmt/oauthprofiles/connect", tag = "oauth profiles", params(ConnectParams),
    security(("basic" = []), ("bearer" = [])),
    responses((status = 302, description = "Redirect to the upstream authorization endpoint"),
        (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn connect_profile(
    Mgmt(s, c): Mgmt,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut app_id = None;
    let mut name = None;
    let mut description = None;
    for (k, v) in form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "oauthAppId" => app_id = Some(v.into_owned()),
            "name" => name = Some(v.into_owned()),
            "description" => description = Some(v.into_owned()),
            other => {
                return Err(ApiFailure::invalid_field(
                    other,
                    "is not a parameter of connect (oauthAppId, name, description)",
                )
                .into())
            }
        }
    }
    let app_id = app_id
        .ok_or_else(|| ApiFailure::invalid_field("oauthAppId", "is required"))?
        .trim()
        .parse::<i64>()
        .map_err(|_| ApiFailure::invalid_field("oauthAppId", "must be an integer"))?;
    let name = name.ok_or_else(|| ApiFailure::invalid_field("name", "is required"))?;
    let location = connect::start(
        &s.ctx,
        &c,
        app_id,
        &name,
        description.as_deref(),
        &callback_uri(&s.issuer),
    )
    .await?;
    let mut res = StatusCode::FOUND.into_response();
    let value = HeaderValue::from_str(&location)
        .map_err(|_| ApiError(ApiFailure::internal(Code::INTERNAL)))?;
    res.headers_mut().insert(header::LOCATION, value);
    Ok(res)
}

/// The connect flow's result page (the security headers come from the router's
/// [`pages::page_headers`] layer).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(pages::connect_result(title, body))).into_response()
}

/// The browser lands here from the upstream (RFC 6749 §4.1.2): the code is
/// exchanged at the application's `tokenURI` and the profile created. Answers an
/// HTML page: 201 with the new profile's id, or 400/502 saying what went wrong.
#[utoipa::path(get, path = "/oauth2callback", tag = "oauth profiles",
    params(("state" = Option<String>, Query, description = "The state sent to the upstream"),
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("error" = Option<String>, Query, description = "The upstream's error code"),
        ("error_description" = Option<String>, Query, description = "The upstream's error text")),
    responses((status = 201, description = "HTML page: the profile was created", content_type = "text/html"),
        (status = 400, description = "HTML page: unknown state, or the upstream reported an error", content_type = "text/html"),
        (status = 502, description = "HTML page: the code exchange failed", content_type = "text/html")))]
pub async fn oauth2_callback(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let mut cb = Callback::default();
    for (k, v) in form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "state" => cb.state = v,
            "code" => cb.code = v,
            "error" => cb.error = v,
            "error_description" => cb.error_description = v,
            _ => {}
        }
    }
    match connect::finish(&s.ctx, &s.upstream, cb).await {
        Ok(v) => page(
            StatusCode::CREATED,
            "Connected",
            &format!(
                "OAuth profile '{}' (id {}) was created. You can close this window.",
                v.profile.name, v.profile.id
            ),
        ),
        Err(f) => page(
            crate::http::error::status_of(f.kind()),
            "Connection failed",
            &format!("{} (error {})", f.message, f.code.code),
        ),
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(connect_profile)).merge(
        OpenApiRouter::new()
            .routes(routes!(oauth2_callback))
            .route_layer(axum::middleware::map_response_with_state(
                pages::Policy::Bare,
                pages::page_headers,
            )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The connect flow's result pages, for the golden files in `tests/golden/`.
    pub(crate) async fn samples() -> Vec<(&'static str, StatusCode, String)> {
        let mut out = Vec::new();
        for (name, status, title, body) in [
            (
                "vault_connected",
                StatusCode::CREATED,
                "Connected",
                "OAuth profile '<Mail & co>' (id 7) was created. You can close this window.",
            ),
            (
                "vault_failed",
                StatusCode::BAD_GATEWAY,
                "Connection failed",
                "The upstream said \"no\" (error 400)",
            ),
        ] {
            let res = page(status, title, body);
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            out.push((name, status, String::from_utf8_lossy(&bytes).into_owned()));
        }
        out
    }

    /// The template renders exactly what the hand-written page sent.
    #[tokio::test]
    async fn the_connect_page_template_reproduces_the_hand_written_page() {
        for (name, _, html) in samples().await {
            let path = format!("{}/tests/golden/{name}.html", env!("CARGO_MANIFEST_DIR"));
            let golden = std::fs::read_to_string(&path).unwrap();
            assert_eq!(html, golden, "{name}");
        }
    }
}
