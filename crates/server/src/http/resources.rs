//! The resource servers API (`/api/admin/resources`, RFC 8707 resource indicators):
//! the APIs a tenant's clients may ask tokens for with `resource`. Handlers parse,
//! make one call into `portcullis_core::mgmt::resources` (which holds the permission
//! rules), and answer in the HDP envelope's conventions.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{HdpJson, HdpQuery, IdPath, Mgmt};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_core::mgmt::resources::{self, Fields};
use portcullis_core::model::resource::ResourceServer;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Body of `POST /api/admin/resources` and `PUT /api/admin/resources/{id}` (every
/// field replaced).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceRequest {
    /// The resource indicator: an absolute URI without a fragment (RFC 8707 §2),
    /// compared exactly as written; unique in the tenant.
    pub uri: String,
    /// 1–128 characters, shown on the consent page.
    pub name: String,
    /// The API scopes tokens for this resource may carry (`api.access.odata`,
    /// `api.access.mgmt`); at least one.
    pub scopes: Vec<String>,
    /// Seconds an access token for this resource lives (60–86400), instead of the
    /// tenant's limit; absent or null: the tenant's.
    #[serde(default)]
    pub access_token_lifetime: Option<i64>,
    /// The tenant: on create, where to register (default: the caller's; another
    /// tenant for those who administer it); on update, the resource's own if sent.
    #[serde(default)]
    pub tenant_id: Option<i64>,
    /// Ignored (read-only), so a GET's body may be sent back.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// Ignored (read-only).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub built_in: Option<serde_json::Value>,
}

/// A resource server.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDetail {
    /// Null for Portcullis's own APIs, which are built in (not stored, read-only).
    pub id: Option<i64>,
    pub tenant_id: i64,
    pub uri: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Null: the tenant's access-token lifetime.
    pub access_token_lifetime: Option<i64>,
    /// Whether this is one of Portcullis's own APIs (the issuer and `<issuer>/api/mgmt`).
    pub built_in: bool,
}

impl From<ResourceServer> for ResourceDetail {
    fn from(r: ResourceServer) -> Self {
        Self {
            id: (!r.built_in).then_some(r.id),
            tenant_id: r.tenant_id,
            uri: r.uri.into_string(),
            name: r.name,
            scopes: r.scopes,
            access_token_lifetime: r.access_token_lifetime,
            built_in: r.built_in,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceList {
    pub resources: Vec<ResourceDetail>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResourceFilter {
    /// The tenant whose resource servers to list (default: the caller's).
    #[serde(default, deserialize_with = "super::extract::query_id")]
    #[param(minimum = 1)]
    pub tenant_id: Option<i64>,
}

fn fields(req: ResourceRequest) -> Fields {
    Fields {
        tenant_id: req.tenant_id,
        uri: req.uri,
        name: req.name,
        scopes: req.scopes,
        access_token_lifetime: req.access_token_lifetime,
    }
}

/// The resource servers of a tenant: Portcullis's own first, then the registered ones.
#[utoipa::path(get, path = "/api/admin/resources", tag = "resources", params(ResourceFilter),
    security(("basic" = [])),
    responses((status = 200, body = ResourceList), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn list(
    Mgmt(s, c): Mgmt,
    HdpQuery(f): HdpQuery<ResourceFilter>,
) -> Result<Json<ResourceList>, ApiError> {
    let list = resources::list(&s.ctx, &c, f.tenant_id).await?;
    Ok(Json(ResourceList {
        resources: list.into_iter().map(ResourceDetail::from).collect(),
    }))
}

/// Registers a resource server.
#[utoipa::path(post, path = "/api/admin/resources", tag = "resources",
    security(("basic" = [])), request_body = ResourceRequest,
    responses((status = 201, body = ResourceDetail), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope)))]
pub async fn create(
    Mgmt(s, c): Mgmt,
    HdpJson(req): HdpJson<ResourceRequest>,
) -> Result<(StatusCode, Json<ResourceDetail>), ApiError> {
    let r = resources::create(&s.ctx, &c, fields(req)).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// One resource server.
#[utoipa::path(get, path = "/api/admin/resources/{id}", tag = "resources",
    security(("basic" = [])), params(("id" = i64, Path, description = "Resource server id")),
    responses((status = 200, body = ResourceDetail), (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn get(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Json<ResourceDetail>, ApiError> {
    Ok(Json(resources::get(&s.ctx, &c, id).await?.into()))
}

/// Replaces every field of a resource server (`tenantId` cannot change).
#[utoipa::path(put, path = "/api/admin/resources/{id}", tag = "resources",
    security(("basic" = [])), params(("id" = i64, Path, description = "Resource server id")),
    request_body = ResourceRequest,
    responses((status = 200, body = ResourceDetail), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn update(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<ResourceRequest>,
) -> Result<Json<ResourceDetail>, ApiError> {
    Ok(Json(
        resources::update(&s.ctx, &c, id, fields(req)).await?.into(),
    ))
}

/// Deletes a resource server; tokens can no longer be asked or refreshed for it.
#[utoipa::path(delete, path = "/api/admin/resources/{id}", tag = "resources",
    security(("basic" = [])), params(("id" = i64, Path, description = "Resource server id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn delete(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    resources::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}
