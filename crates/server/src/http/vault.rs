//! The token vault's HTTP surface (SPEC §4.3): HDP's OAuth application objects
//! (`/api/mgmt/oauthapps`, `spec/hdp-reference.md` §2.1) and OAuth profiles
//! (`/api/mgmt/oauthprofiles`, §2.2), plus Portcullis's refresh, connect and the
//! browser callback `/oauth2callback` (its page rendered from a template by
//! [`super::pages`]). Handlers parse, make one call into `portcullis_core::vault`,
//! and shape the answer as HDP does.
//!
//! JSON typing (HDP §0.4): ids in bodies (`oauthAppId`, `dataStore`, `tenantId`) are
//! accepted as numbers or strings of digits and always answered as numbers.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{Caller, HdpJson, HdpQuery, IdPath};
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use portcullis_core::clock::hdp_timestamp;
use portcullis_core::error::{ApiFailure, Code};
use portcullis_core::vault::apps::{self, AppInput, TenantFilter};
use portcullis_core::vault::connect::{self, Callback};
use portcullis_core::vault::profiles::{self, ProfileInput, View};
use portcullis_core::vault::refresh;
use portcullis_core::vault::OAuthApp;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// An integer sent as a JSON number or as a string of digits (HDP samples show both).
#[derive(Debug, Clone, Copy)]
pub struct LooseInt(pub i64);

impl<'de> Deserialize<'de> for LooseInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::N(n)) => Ok(LooseInt(n)),
            Ok(Raw::S(s)) => s
                .trim()
                .parse()
                .map(LooseInt)
                .map_err(|_| serde::de::Error::custom(format!("'{s}' is not an integer"))),
            Err(_) => Err(serde::de::Error::custom(
                "expected an integer (a number or a string of digits)",
            )),
        }
    }
}

// ---------------------------------------------------------------------------------
// OAuth application objects
// ---------------------------------------------------------------------------------

/// Body of `POST /api/mgmt/oauthapps` and `PUT /api/mgmt/oauthapps/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuthAppRequest {
    /// Letters, digits and `_` only; at most 128 characters; unique in the tenant.
    pub name: String,
    /// The data store id (e.g. 1 Salesforce, 54 Google Analytics, 62 Google BigQuery,
    /// 63 Autonomous REST Connector).
    #[schema(value_type = i64)]
    pub data_store: LooseInt,
    /// Default: the caller's tenant. Cannot change on update.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub tenant_id: Option<LooseInt>,
    #[serde(default)]
    pub description: Option<String>,
    /// This server's client id at the upstream.
    pub client_id: String,
    /// This server's client secret at the upstream. Required on create; on update,
    /// leave it out to keep the stored one. Write-only: never returned.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The upstream authorization endpoint (http or https).
    #[serde(rename = "authorizeURI")]
    pub authorize_uri: String,
    /// The upstream token endpoint (http or https).
    #[serde(rename = "tokenURI")]
    pub token_uri: String,
    /// Scopes to ask for, as the upstream spells them.
    #[serde(default)]
    pub scope: Option<String>,
    /// Extension: `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Ignored (read-only), so a GET answer can be sent back.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub id: Option<serde_json::Value>,
}

impl From<OAuthAppRequest> for AppInput {
    fn from(r: OAuthAppRequest) -> Self {
        AppInput {
            name: r.name,
            data_store: r.data_store.0,
            tenant_id: r.tenant_id.map(|t| t.0),
            description: r.description,
            client_id: r.client_id,
            client_secret: r.client_secret,
            authorize_uri: r.authorize_uri,
            token_uri: r.token_uri,
            scope: r.scope,
            token_auth_method: r.token_endpoint_auth_method,
        }
    }
}

/// An application in a listing (HDP: no client id or secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthAppSummary {
    pub id: i64,
    pub name: String,
    pub data_store: i64,
    pub tenant_id: i64,
    pub description: String,
    #[serde(rename = "authorizeURI")]
    pub authorize_uri: String,
    #[serde(rename = "tokenURI")]
    pub token_uri: String,
    pub scope: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthAppList {
    pub applications: Vec<OAuthAppSummary>,
}

/// One application. `clientSecret` is write-only and never returned.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthAppDetail {
    pub id: i64,
    pub name: String,
    pub data_store: i64,
    pub tenant_id: i64,
    pub description: String,
    pub client_id: String,
    #[serde(rename = "authorizeURI")]
    pub authorize_uri: String,
    #[serde(rename = "tokenURI")]
    pub token_uri: String,
    pub scope: String,
    pub token_endpoint_auth_method: &'static str,
}

impl From<OAuthApp> for OAuthAppDetail {
    fn from(a: OAuthApp) -> Self {
        Self {
            id: a.id,
            name: a.name,
            data_store: a.data_store,
            tenant_id: a.tenant_id,
            description: a.description,
            client_id: a.client_id,
            authorize_uri: a.authorize_uri,
            token_uri: a.token_uri,
            scope: a.scope,
            token_endpoint_auth_method: a.token_auth_method.as_str(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OAuthAppFilter {
    /// Only applications of this tenant.
    #[serde(default, deserialize_with = "super::extract::query_id")]
    #[param(minimum = 1)]
    pub tenant_id: Option<i64>,
    /// Only applications of the tenant with this name.
    pub tenant_name: Option<String>,
}

/// Lists the OAuth applications of the tenants the caller manages.
#[utoipa::path(get, path = "/api/mgmt/oauthapps", tag = "oauth applications", params(OAuthAppFilter),
    security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = OAuthAppList), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn list_apps(
    State(s): State<AppState>,
    Caller(c): Caller,
    HdpQuery(f): HdpQuery<OAuthAppFilter>,
) -> Result<Json<OAuthAppList>, ApiError> {
    let filter = match (f.tenant_id, f.tenant_name) {
        (Some(id), _) => TenantFilter::Id(id),
        (None, Some(name)) => TenantFilter::Name(name),
        (None, None) => TenantFilter::Any,
    };
    let applications = apps::list(&s.ctx, &c, filter)
        .await?
        .into_iter()
        .map(|a| OAuthAppSummary {
            id: a.id,
            name: a.name,
            data_store: a.data_store,
            tenant_id: a.tenant_id,
            description: a.description,
            authorize_uri: a.authorize_uri,
            token_uri: a.token_uri,
            scope: a.scope,
        })
        .collect();
    Ok(Json(OAuthAppList { applications }))
}

/// Creates an OAuth application object; its `clientSecret` is sealed at rest.
#[utoipa::path(post, path = "/api/mgmt/oauthapps", tag = "oauth applications", request_body = OAuthAppRequest,
    security(("basic" = []), ("bearer" = [])),
    responses((status = 201, body = OAuthAppDetail), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn create_app(
    State(s): State<AppState>,
    Caller(c): Caller,
    HdpJson(req): HdpJson<OAuthAppRequest>,
) -> Result<Response, ApiError> {
    let app = apps::create(&s.ctx, &c, req.into()).await?;
    Ok((StatusCode::CREATED, Json(OAuthAppDetail::from(app))).into_response())
}

/// One OAuth application object (without its secret).
#[utoipa::path(get, path = "/api/mgmt/oauthapps/{id}", tag = "oauth applications",
    params(("id" = i64, Path, description = "OAuth application id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = OAuthAppDetail), (status = 404, body = ErrorEnvelope)))]
pub async fn get_app(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
) -> Result<Json<OAuthAppDetail>, ApiError> {
    Ok(Json(apps::get(&s.ctx, &c, id).await?.into()))
}

/// Replaces an OAuth application object (the same body as create).
#[utoipa::path(put, path = "/api/mgmt/oauthapps/{id}", tag = "oauth applications", request_body = OAuthAppRequest,
    params(("id" = i64, Path, description = "OAuth application id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = OAuthAppDetail), (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn update_app(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<OAuthAppRequest>,
) -> Result<Json<OAuthAppDetail>, ApiError> {
    Ok(Json(apps::update(&s.ctx, &c, id, req.into()).await?.into()))
}

/// Deletes an OAuth application object and every profile using it.
#[utoipa::path(delete, path = "/api/mgmt/oauthapps/{id}", tag = "oauth applications",
    params(("id" = i64, Path, description = "OAuth application id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_app(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    apps::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------
// OAuth profiles
// ---------------------------------------------------------------------------------

/// Body of `POST /api/mgmt/oauthprofiles` and `PUT /api/mgmt/oauthprofiles/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfileRequest {
    /// Letters, digits and `_` only; at most 128 characters; unique per user.
    pub name: String,
    /// An OAuth application of the caller's tenant or of the system tenant.
    #[schema(value_type = i64)]
    pub oauth_app_id: LooseInt,
    #[serde(default)]
    pub description: Option<String>,
    /// The upstream access token (optional).
    #[serde(default)]
    pub access_token: Option<String>,
    /// The upstream refresh token (required).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Ignored (read-only), so a GET answer can be sent back.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub id: Option<serde_json::Value>,
}

impl std::fmt::Debug for ProfileRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileRequest")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl From<ProfileRequest> for ProfileInput {
    fn from(r: ProfileRequest) -> Self {
        ProfileInput {
            name: r.name,
            oauth_app_id: r.oauth_app_id.0,
            description: r.description,
            access_token: r.access_token,
            refresh_token: r.refresh_token,
        }
    }
}

/// A profile as created (HDP's 201 shape: tokens echoed to their owner).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileCreated {
    pub id: i64,
    pub name: String,
    pub oauth_app_id: i64,
    pub description: String,
    pub access_token: Option<String>,
    pub refresh_token: String,
}

/// One profile with its refresh status. `accessToken` and `refreshToken` are shown
/// to the profile's owner only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileDetail {
    pub id: i64,
    pub name: String,
    pub oauth_app_id: i64,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (UTC `YYYY-MM-DD HH:mm:ss`), if known.
    pub access_token_expires_at: Option<String>,
    /// When the last successful refresh happened.
    pub last_refreshed_at: Option<String>,
    /// Why the last refresh failed (cleared by a success).
    pub last_refresh_error: Option<String>,
    /// When the background refresher tries again after failures.
    pub next_refresh_attempt_at: Option<String>,
}

impl std::fmt::Debug for ProfileCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileCreated")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ProfileDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileDetail")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ProfileDetail {
    fn new(v: View) -> Self {
        let p = v.profile;
        let (access_token, refresh_token) = match v.tokens {
            Some(t) => (t.access_token, Some(t.refresh_token)),
            None => (None, None),
        };
        Self {
            id: p.id,
            name: p.name,
            oauth_app_id: p.oauth_app_id,
            description: p.description,
            access_token,
            refresh_token,
            access_token_expires_at: p.access_expires_at.map(hdp_timestamp),
            last_refreshed_at: p.last_refreshed_at.map(hdp_timestamp),
            last_refresh_error: p.last_refresh_error,
            next_refresh_attempt_at: p.next_attempt_at.map(hdp_timestamp),
        }
    }
}

/// A profile in a listing (HDP 5.0 shape, with its application and status).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSummary {
    pub id: i64,
    pub name: String,
    pub oauth_app_id: i64,
    pub description: String,
    #[serde(rename = "authorizeURI")]
    pub authorize_uri: String,
    #[serde(rename = "tokenURI")]
    pub token_uri: String,
    pub scope: String,
    pub access_token_expires_at: Option<String>,
    pub last_refreshed_at: Option<String>,
    pub last_refresh_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileList {
    pub profiles: Vec<ProfileSummary>,
}

/// `/stats` (HDP): Portcullis has no data sources, so none is ever linked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileStats {
    pub data_sources_linked: i64,
    pub data_store_id: i64,
    pub data_sources: Vec<serde_json::Value>,
}

fn no_store(res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The caller's OAuth profiles (Administrators: also their tenants' users').
#[utoipa::path(get, path = "/api/mgmt/oauthprofiles", tag = "oauth profiles",
    security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_profiles(
    State(s): State<AppState>,
    Caller(c): Caller,
) -> Result<Json<ProfileList>, ApiError> {
    let profiles = profiles::list(&s.ctx, &c)
        .await?
        .into_iter()
        .map(|v| ProfileSummary {
            id: v.profile.id,
            name: v.profile.name,
            oauth_app_id: v.profile.oauth_app_id,
            description: v.profile.description,
            authorize_uri: v.app.authorize_uri,
            token_uri: v.app.token_uri,
            scope: v.app.scope,
            access_token_expires_at: v.profile.access_expires_at.map(hdp_timestamp),
            last_refreshed_at: v.profile.last_refreshed_at.map(hdp_timestamp),
            last_refresh_error: v.profile.last_refresh_error,
        })
        .collect();
    Ok(Json(ProfileList { profiles }))
}

/// Creates an OAuth profile from tokens obtained elsewhere (sealed at rest).
#[utoipa::path(post, path = "/api/mgmt/oauthprofiles", tag = "oauth profiles", request_body = ProfileRequest,
    security(("basic" = []), ("bearer" = [])),
    responses((status = 201, body = ProfileCreated), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn create_profile(
    State(s): State<AppState>,
    Caller(c): Caller,
    HdpJson(req): HdpJson<ProfileRequest>,
) -> Result<Response, ApiError> {
    let v = profiles::create(&s.ctx, &c, req.into()).await?;
    let tokens = v
        .tokens
        .ok_or_else(|| ApiError(ApiFailure::internal(Code::INTERNAL)))?;
    Ok(no_store((
        StatusCode::CREATED,
        Json(ProfileCreated {
            id: v.profile.id,
            name: v.profile.name,
            oauth_app_id: v.profile.oauth_app_id,
            description: v.profile.description,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        }),
    )))
}

/// One OAuth profile with its refresh status (tokens for its owner only).
#[utoipa::path(get, path = "/api/mgmt/oauthprofiles/{id}", tag = "oauth profiles",
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileDetail), (status = 404, body = ErrorEnvelope)))]
pub async fn get_profile(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let v = profiles::get(&s.ctx, &c, id).await?;
    Ok(no_store(Json(ProfileDetail::new(v))))
}

/// Replaces an OAuth profile (the same body as create; its owner only).
#[utoipa::path(put, path = "/api/mgmt/oauthprofiles/{id}", tag = "oauth profiles", request_body = ProfileRequest,
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileDetail), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn update_profile(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<ProfileRequest>,
) -> Result<Response, ApiError> {
    let v = profiles::update(&s.ctx, &c, id, req.into()).await?;
    Ok(no_store(Json(ProfileDetail::new(v))))
}

/// Deletes an OAuth profile.
#[utoipa::path(delete, path = "/api/mgmt/oauthprofiles/{id}", tag = "oauth profiles",
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_profile(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    profiles::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The data sources using a profile (always none in Portcullis) and its data store.
#[utoipa::path(get, path = "/api/mgmt/oauthprofiles/{id}/stats", tag = "oauth profiles",
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileStats), (status = 404, body = ErrorEnvelope)))]
pub async fn profile_stats(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
) -> Result<Json<ProfileStats>, ApiError> {
    let app = profiles::stats(&s.ctx, &c, id).await?;
    Ok(Json(ProfileStats {
        data_sources_linked: 0,
        data_store_id: app.data_store,
        data_sources: Vec::new(),
    }))
}

/// Refreshes the profile's access token at the upstream token endpoint now.
/// Concurrent refreshes of one profile make one upstream call; the others answer
/// with its result. An upstream error answers 502 with the upstream's `error` code
/// in the message and leaves the stored tokens unchanged.
#[utoipa::path(post, path = "/api/mgmt/oauthprofiles/{id}/refresh", tag = "oauth profiles",
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileDetail), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 502, body = ErrorEnvelope)))]
pub async fn refresh_profile(
    State(s): State<AppState>,
    Caller(c): Caller,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let v = refresh::now(&s.ctx, &s.upstream, &c, id).await?;
    Ok(no_store(Json(ProfileDetail::new(v))))
}

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
    State(s): State<AppState>,
    Caller(c): Caller,
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
/// [`super::pages::page_headers`] layer).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(super::pages::connect_result(title, body))).into_response()
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
            super::error::status_of(f.kind()),
            "Connection failed",
            &format!("{} (error {})", f.message, f.code.code),
        ),
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, create_app))
        .routes(routes!(get_app, update_app, delete_app))
        .routes(routes!(list_profiles, create_profile))
        .routes(routes!(connect_profile))
        .routes(routes!(get_profile, update_profile, delete_profile))
        .routes(routes!(profile_stats))
        .routes(routes!(refresh_profile))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(oauth2_callback))
                .route_layer(axum::middleware::map_response_with_state(
                    super::pages::Policy::Bare,
                    super::pages::page_headers,
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
