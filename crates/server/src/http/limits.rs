//! HDP's Limits API (`/api/admin/limits`, `spec/hdp-reference.md` §3.3, SPEC §4.6): the
//! catalogue, system values and tenant values. Handlers parse, make one call into
//! `portcullis_core::mgmt::limits`, and shape the answer as HDP does.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{Caller, HdpJson, IdPath, Mgmt};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use portcullis_core::error::Code;
use portcullis_core::limits::LimitDef;
use portcullis_core::mgmt::limits;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A limit of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitDefinition {
    pub id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub min_value: i64,
    pub max_value: i64,
    /// The value in force when none is set.
    pub default_value: i64,
    /// The levels the limit may be set at, HDP's bit set: 1 system only, 3 system and
    /// tenant, 11 system, tenant and user.
    pub valid_for_limits: i64,
}

impl From<&LimitDef> for LimitDefinition {
    fn from(d: &LimitDef) -> Self {
        Self {
            id: d.id,
            name: d.name,
            description: d.description,
            min_value: d.min,
            max_value: d.max,
            default_value: d.default,
            valid_for_limits: d.valid_for.0,
        }
    }
}

/// `GET /api/admin/limits`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitCatalogue {
    pub limits: Vec<LimitDefinition>,
}

/// A limit and the value in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitEntry {
    pub id: i64,
    pub value: i64,
}

/// `GET /api/admin/limits/system`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitValues {
    pub limits: Vec<LimitEntry>,
}

/// One limit's value in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitValue {
    pub value: i64,
}

/// Body of a `PUT`: the new value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLimit {
    /// An integer within the limit's `minValue`–`maxValue`. A string of digits is
    /// accepted too (HDP's configuration API sends values as strings).
    #[serde(deserialize_with = "integer")]
    #[schema(value_type = i64)]
    pub value: i64,
}

/// Reads an integer given as a JSON number or a string of digits.
fn integer<'de, D: Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            Err(E::custom(format!("{v} is not an integer")))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::custom(format!("'{v}' is not an integer")))
        }
    }
    de.deserialize_any(V)
}

/// `{tenantId}/{limitId}` from the path, both positive integers.
#[derive(Debug, Clone, Copy)]
pub struct TenantLimitPath {
    pub tenant_id: i64,
    pub limit_id: i64,
}

fn positive(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::new(
            Code::INVALID_ID,
            format!("'{raw}' is not a valid id; ids are positive integers."),
        )
    })
}

impl<S: Send + Sync> FromRequestParts<S> for TenantLimitPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((tenant, limit)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    Code::INVALID_ID,
                    "The path must end with a tenant id and a limit id.",
                )
            })?;
        Ok(Self {
            tenant_id: positive(&tenant)?,
            limit_id: positive(&limit)?,
        })
    }
}

/// The limits catalogue: ranges, defaults and the levels each limit may be set at.
#[utoipa::path(get, path = "/api/admin/limits", tag = "limits",
    security(("basic" = [])),
    responses((status = 200, body = LimitCatalogue), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
pub async fn catalogue(Caller(c): Caller) -> Result<Json<LimitCatalogue>, ApiError> {
    let defs = limits::catalogue(&c)?;
    Ok(Json(LimitCatalogue {
        limits: defs.iter().map(LimitDefinition::from).collect(),
    }))
}

/// The value in force of every limit valid at the system level (the default when unset).
#[utoipa::path(get, path = "/api/admin/limits/system", tag = "limits",
    security(("basic" = [])),
    responses((status = 200, body = LimitValues), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 500, body = ErrorEnvelope)))]
pub async fn system_values(Mgmt(s, c): Mgmt) -> Result<Json<LimitValues>, ApiError> {
    let values = limits::system_values(&s.ctx, &c).await?;
    Ok(Json(LimitValues {
        limits: values
            .into_iter()
            .map(|v| LimitEntry {
                id: v.id,
                value: v.value,
            })
            .collect(),
    }))
}

/// The system value of one limit in force (the default when unset).
#[utoipa::path(get, path = "/api/admin/limits/system/{limitId}", tag = "limits",
    security(("basic" = [])), params(("limitId" = i64, Path, description = "Limit id")),
    responses((status = 200, body = LimitValue), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_system(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
) -> Result<Json<LimitValue>, ApiError> {
    let value = limits::get_system(&s.ctx, &c, id).await?;
    Ok(Json(LimitValue { value }))
}

/// Sets a system value. Only users of the system tenant may.
#[utoipa::path(put, path = "/api/admin/limits/system/{limitId}", tag = "limits",
    security(("basic" = [])), params(("limitId" = i64, Path, description = "Limit id")),
    request_body = SetLimit,
    responses((status = 200, body = LimitValue),
        (status = 400, description = "Bad JSON, a value out of range (222207929) or a limit not valid at the system level", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope)))]
pub async fn set_system(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<SetLimit>,
) -> Result<Json<LimitValue>, ApiError> {
    let value = limits::set_system(&s.ctx, &c, id, req.value).await?;
    Ok(Json(LimitValue { value }))
}

/// Removes a system value: the default applies again.
#[utoipa::path(delete, path = "/api/admin/limits/system/{limitId}", tag = "limits",
    security(("basic" = [])), params(("limitId" = i64, Path, description = "Limit id")),
    responses((status = 204, description = "Reset to the default"), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn reset_system(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    limits::reset_system(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A tenant's value of one limit in force (its own, else the system value, else the default).
#[utoipa::path(get, path = "/api/admin/limits/tenants/{tenantId}/{limitId}", tag = "limits",
    security(("basic" = [])),
    params(("tenantId" = i64, Path, description = "Tenant id"), ("limitId" = i64, Path, description = "Limit id")),
    responses((status = 200, body = LimitValue), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_tenant(
    Mgmt(s, c): Mgmt,
    p: TenantLimitPath,
) -> Result<Json<LimitValue>, ApiError> {
    let value = limits::get_tenant(&s.ctx, &c, p.tenant_id, p.limit_id).await?;
    Ok(Json(LimitValue { value }))
}

/// Sets a tenant's own value of a limit valid at the tenant level.
#[utoipa::path(put, path = "/api/admin/limits/tenants/{tenantId}/{limitId}", tag = "limits",
    security(("basic" = [])),
    params(("tenantId" = i64, Path, description = "Tenant id"), ("limitId" = i64, Path, description = "Limit id")),
    request_body = SetLimit,
    responses((status = 200, body = LimitValue),
        (status = 400, description = "Bad JSON, a value out of range (222207929) or a limit not valid at the tenant level", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope)))]
pub async fn set_tenant(
    Mgmt(s, c): Mgmt,
    p: TenantLimitPath,
    HdpJson(req): HdpJson<SetLimit>,
) -> Result<Json<LimitValue>, ApiError> {
    let value = limits::set_tenant(&s.ctx, &c, p.tenant_id, p.limit_id, req.value).await?;
    Ok(Json(LimitValue { value }))
}

/// Removes a tenant's own value: the system value (or the default) applies again.
#[utoipa::path(delete, path = "/api/admin/limits/tenants/{tenantId}/{limitId}", tag = "limits",
    security(("basic" = [])),
    params(("tenantId" = i64, Path, description = "Tenant id"), ("limitId" = i64, Path, description = "Limit id")),
    responses((status = 204, description = "Reset to the system value"), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn reset_tenant(Mgmt(s, c): Mgmt, p: TenantLimitPath) -> Result<StatusCode, ApiError> {
    limits::reset_tenant(&s.ctx, &c, p.tenant_id, p.limit_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue))
        .routes(routes!(system_values))
        .routes(routes!(get_system, set_system, reset_system))
        .routes(routes!(get_tenant, set_tenant, reset_tenant))
}
