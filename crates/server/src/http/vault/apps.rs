//! HDP's OAuth application objects (`/api/mgmt/oauthapps`, `spec/hdp-reference.md`
//! §2.1): an upstream's endpoints and this server's client credentials there, through
//! `portcullis_core::vault::apps`. The `clientSecret` is write-only.

use super::LooseInt;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{HdpJson, HdpQuery, IdPath, Mgmt};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::model::vault::OAuthApp;
use portcullis_core::vault::apps::{self, AppInput, TenantFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    #[serde(default, deserialize_with = "crate::http::extract::query_id")]
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
    Mgmt(s, c): Mgmt,
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
    Mgmt(s, c): Mgmt,
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
    Mgmt(s, c): Mgmt,
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
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<OAuthAppRequest>,
) -> Result<Json<OAuthAppDetail>, ApiError> {
    Ok(Json(apps::update(&s.ctx, &c, id, req.into()).await?.into()))
}

/// Deletes an OAuth application object and every profile using it.
#[utoipa::path(delete, path = "/api/mgmt/oauthapps/{id}", tag = "oauth applications",
    params(("id" = i64, Path, description = "OAuth application id")), security(("basic" = []), ("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_app(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    apps::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, create_app))
        .routes(routes!(get_app, update_app, delete_app))
}
