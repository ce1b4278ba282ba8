//! HDP's Tenant API (`/api/admin/tenants`, `/api/admin/tenants/{id}/admins`;
//! `spec/hdp-reference.md` §3.2, SPEC §4.5), with Portcullis's `hostNames` and
//! `allowedScopes` extensions. Handlers parse, make one call into
//! `portcullis_core::mgmt::tenants` (which holds the permission rules), and answer in
//! HDP's shapes.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{HdpJson, IdPath, Mgmt};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_core::mgmt::tenants::{self, TenantView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Body of `POST /api/admin/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantCreateRequest {
    /// 1–128 characters (trimmed), unique ignoring case, without `@` or `:`.
    pub name: String,
    /// At most 256 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Must be 1: the system tenant is the only possible parent.
    pub parent_tenant: i64,
    /// 0 inactive, 1 active (default).
    #[serde(default)]
    pub status: Option<i64>,
    /// Ids of system-tenant roles to copy into the tenant (new ids). Default `[2, 3]`.
    #[serde(default)]
    pub imported_roles: Option<Vec<i64>>,
    /// Ids of users (of the system tenant) given admin access; the creator is added.
    #[serde(default)]
    pub admins: Option<Vec<i64>>,
    /// Extension: host names (`name` or `name:port`) this tenant is reached by; at most 32.
    #[serde(default)]
    pub host_names: Option<Vec<String>>,
    /// Extension: scopes tokens of this tenant may carry. Default `["api.access.odata"]`.
    #[serde(default)]
    pub allowed_scopes: Option<Vec<String>>,
}

/// Body of `PUT /api/admin/tenants/{id}`. `name`, `description` and `status` are
/// replaced (an absent description is cleared); `hostNames`, `allowedScopes` and
/// `admins` only when given. `id`, `roles` and `importedRoles` may be echoed back from
/// a GET and are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantUpdateRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// May be repeated (1; null for the system tenant), not changed.
    #[serde(default)]
    pub parent_tenant: Option<i64>,
    /// 0 inactive, 1 active. The system tenant cannot be deactivated.
    pub status: i64,
    #[serde(default)]
    pub host_names: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_scopes: Option<Vec<String>>,
    /// Replaces the users with admin access when given.
    #[serde(default)]
    pub admins: Option<Vec<i64>>,
    /// Ignored (read-only).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// Ignored (read-only).
    #[serde(default)]
    #[schema(value_type = Option<Vec<i64>>)]
    pub roles: Option<serde_json::Value>,
    /// Ignored: roles are imported only when a tenant is created.
    #[serde(default)]
    #[schema(value_type = Option<Vec<i64>>)]
    pub imported_roles: Option<serde_json::Value>,
}

/// A tenant, in HDP's shape (with `roles` and `admins` always present) plus the
/// Portcullis extensions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetail {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// 1; null for the system tenant.
    pub parent_tenant: Option<i64>,
    /// 0 inactive, 1 active.
    pub status: i64,
    /// Ids of the tenant's roles.
    pub roles: Vec<i64>,
    /// Ids of the users with admin access on the tenant.
    pub admins: Vec<i64>,
    pub host_names: Vec<String>,
    pub allowed_scopes: Vec<String>,
}

impl From<TenantView> for TenantDetail {
    fn from(v: TenantView) -> Self {
        let status = v.status();
        Self {
            id: v.tenant.id,
            name: v.tenant.name,
            description: v.tenant.description,
            parent_tenant: v.tenant.parent_id,
            status,
            roles: v.roles,
            admins: v.admins,
            host_names: v.hosts,
            allowed_scopes: v.tenant.allowed_scopes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantDetail>,
}

/// The users with admin access on a tenant (request and response of `/{id}/admins`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantAdmins {
    /// User ids, of the system tenant or of the tenant itself.
    pub admins: Vec<i64>,
}

/// The tenants the caller administers (every tenant for a system administrator).
#[utoipa::path(get, path = "/api/admin/tenants", tag = "tenants",
    security(("basic" = [])),
    responses((status = 200, body = TenantList), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
pub async fn list(Mgmt(s, c): Mgmt) -> Result<Json<TenantList>, ApiError> {
    let tenants = tenants::list(&s.ctx, &c).await?;
    Ok(Json(TenantList {
        tenants: tenants.into_iter().map(TenantDetail::from).collect(),
    }))
}

/// Creates a child of the system tenant; the caller gets admin access on it.
#[utoipa::path(post, path = "/api/admin/tenants", tag = "tenants",
    security(("basic" = [])), request_body = TenantCreateRequest,
    responses((status = 201, body = TenantDetail), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope)))]
pub async fn create(
    Mgmt(s, c): Mgmt,
    HdpJson(req): HdpJson<TenantCreateRequest>,
) -> Result<(StatusCode, Json<TenantDetail>), ApiError> {
    let creation = tenants::Creation {
        name: req.name,
        description: req.description,
        parent_tenant: req.parent_tenant,
        status: req.status,
        imported_roles: req.imported_roles,
        admins: req.admins,
        host_names: req.host_names,
        allowed_scopes: req.allowed_scopes,
    };
    let view = tenants::create(&s.ctx, &c, creation).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// One tenant, with its roles, admins, host names and allowed scopes.
#[utoipa::path(get, path = "/api/admin/tenants/{id}", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, body = TenantDetail), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn get(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Json<TenantDetail>, ApiError> {
    Ok(Json(tenants::get(&s.ctx, &c, id).await?.into()))
}

/// Replaces name, description and status (and host names, allowed scopes, admins when given).
#[utoipa::path(put, path = "/api/admin/tenants/{id}", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    request_body = TenantUpdateRequest,
    responses((status = 200, body = TenantDetail), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn update(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<TenantUpdateRequest>,
) -> Result<Json<TenantDetail>, ApiError> {
    let upd = tenants::Update {
        name: req.name,
        description: req.description,
        parent_tenant: req.parent_tenant,
        status: req.status,
        host_names: req.host_names,
        allowed_scopes: req.allowed_scopes,
        admins: req.admins,
    };
    Ok(Json(tenants::update(&s.ctx, &c, id, upd).await?.into()))
}

/// Deletes the tenant and everything in it (users, roles, applications). Not the system tenant.
#[utoipa::path(delete, path = "/api/admin/tenants/{id}", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn delete(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    tenants::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users with admin access on the tenant.
#[utoipa::path(get, path = "/api/admin/tenants/{id}/admins", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, body = TenantAdmins), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn admins(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Json<TenantAdmins>, ApiError> {
    let admins = tenants::admins(&s.ctx, &c, id).await?;
    Ok(Json(TenantAdmins { admins }))
}

/// Replaces the users with admin access on the tenant.
#[utoipa::path(put, path = "/api/admin/tenants/{id}/admins", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    request_body = TenantAdmins,
    responses((status = 200, body = TenantAdmins), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn set_admins(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<TenantAdmins>,
) -> Result<Json<TenantAdmins>, ApiError> {
    let admins = tenants::set_admins(&s.ctx, &c, id, &req.admins).await?;
    Ok(Json(TenantAdmins { admins }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(admins, set_admins))
}
