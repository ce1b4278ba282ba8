//! HDP's OAuth profiles (`/api/mgmt/oauthprofiles`, `spec/hdp-reference.md` §2.2): a
//! user's upstream tokens, sealed at rest and shown to their owner only, through
//! `portcullis_core::vault::profiles`; and Portcullis's refresh now
//! (`portcullis_core::vault::refresh`). Answers carrying tokens are `no-store`.

use super::LooseInt;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{HdpJson, IdPath, Mgmt};
use crate::http::reply::no_store;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use portcullis_core::error::{ApiFailure, Code};
use portcullis_core::model::time::hdp_timestamp;
use portcullis_core::vault::profiles::{self, ProfileInput, View};
use portcullis_core::vault::refresh;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// The caller's OAuth profiles (Administrators: also their tenants' users').
#[utoipa::path(get, path = "/api/mgmt/oauthprofiles", tag = "oauth profiles",
    security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_profiles(Mgmt(s, c): Mgmt) -> Result<Json<ProfileList>, ApiError> {
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
    Mgmt(s, c): Mgmt,
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
pub async fn get_profile(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Response, ApiError> {
    let v = profiles::get(&s.ctx, &c, id).await?;
    Ok(no_store(Json(ProfileDetail::new(v))))
}

/// Replaces an OAuth profile (the same body as create; its owner only).
#[utoipa::path(put, path = "/api/mgmt/oauthprofiles/{id}", tag = "oauth profiles", request_body = ProfileRequest,
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileDetail), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn update_profile(
    Mgmt(s, c): Mgmt,
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
pub async fn delete_profile(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    profiles::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The data sources using a profile (always none in Portcullis) and its data store.
#[utoipa::path(get, path = "/api/mgmt/oauthprofiles/{id}/stats", tag = "oauth profiles",
    params(("id" = i64, Path, description = "OAuth profile id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 200, body = ProfileStats), (status = 404, body = ErrorEnvelope)))]
pub async fn profile_stats(
    Mgmt(s, c): Mgmt,
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
pub async fn refresh_profile(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Response, ApiError> {
    let v = refresh::now(&s.ctx, &s.upstream, &c, id).await?;
    Ok(no_store(Json(ProfileDetail::new(v))))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_profiles, create_profile))
        .routes(routes!(get_profile, update_profile, delete_profile))
        .routes(routes!(profile_stats))
        .routes(routes!(refresh_profile))
}
