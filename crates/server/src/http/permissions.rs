//! HDP's permission catalogue (`/api/admin/permissions`) and the caller's effective
//! permissions (`/api/mgmt/permissions`), `spec/hdp-reference.md` §3.1.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{Caller, IdPath};
use axum::Json;
use portcullis_core::error::{ApiFailure, Code};
use portcullis_core::mgmt::{policy, users};
use portcullis_core::model::identity::{Permission, PERMISSIONS};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionBody {
    pub id: i64,
    pub name: &'static str,
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionList {
    pub permissions: Vec<PermissionBody>,
}

fn catalogue_allowed(c: &portcullis_core::auth::Principal) -> Result<(), ApiError> {
    // Administrator (12) or MgmtAPI (11), as HDP documents.
    policy::require(c, Permission::MGMT_API, "Reading the permission catalogue").map_err(Into::into)
}

/// Every permission (Administrator 12 or MgmtAPI 11).
#[utoipa::path(get, path = "/api/admin/permissions", tag = "users", security(("basic" = [])),
    responses((status = 200, body = PermissionList), (status = 403, body = ErrorEnvelope)))]
pub async fn list(Caller(c): Caller) -> Result<Json<PermissionList>, ApiError> {
    catalogue_allowed(&c)?;
    let permissions = PERMISSIONS
        .iter()
        .map(|(id, name, description)| PermissionBody {
            id: *id,
            name,
            description,
        })
        .collect();
    Ok(Json(PermissionList { permissions }))
}

/// One permission.
#[utoipa::path(get, path = "/api/admin/permissions/{id}", tag = "users", params(("id" = i64, Path)),
    security(("basic" = [])), responses((status = 200, body = PermissionBody), (status = 404, body = ErrorEnvelope)))]
pub async fn get(Caller(c): Caller, IdPath(id): IdPath) -> Result<Json<PermissionBody>, ApiError> {
    catalogue_allowed(&c)?;
    PERMISSIONS
        .iter()
        .find(|(pid, _, _)| *pid == id)
        .map(|(id, name, description)| {
            Json(PermissionBody {
                id: *id,
                name,
                description,
            })
        })
        .ok_or_else(|| {
            ApiFailure::new(
                Code::PERMISSION_NOT_FOUND,
                format!("There is no permission with id {id}."),
            )
            .into()
        })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyPermissions {
    pub user_id: i64,
    /// Effective permission ids: the roles' and the explicit ones.
    pub permissions: Vec<i64>,
}

/// The caller's effective permissions (MgmtAPI 11).
#[utoipa::path(get, path = "/api/mgmt/permissions", tag = "users", security(("basic" = [])),
    responses((status = 200, body = MyPermissions), (status = 403, body = ErrorEnvelope)))]
pub async fn mine(Caller(c): Caller) -> Result<Json<MyPermissions>, ApiError> {
    let p = users::me(&c)?;
    Ok(Json(MyPermissions {
        user_id: p.user.id,
        permissions: p.permissions.clone(),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(mine))
}
