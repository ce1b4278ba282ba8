//! HDP's Users API (`/api/admin/users`, `spec/hdp-reference.md` §3.4–§3.5) and the
//! caller's own view (`/api/mgmt/user`, `/api/mgmt/user/password`). Handlers parse,
//! call `portcullis_core::mgmt::users`, and shape the answer as HDP does.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{Caller, HdpJson, HdpQuery, IdPath, Mgmt};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::error::ApiFailure;
use portcullis_core::mgmt::users::{self, CreateUser, TenantFilter, UpdateUser, UserView};
use portcullis_core::model::identity::profile::ProfileChanges;
use portcullis_core::model::identity::{RoleAssignments, UserProfile};
use portcullis_core::model::time::{hdp_timestamp, parse_hdp_timestamp, UnixTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Roles and explicit permissions (`{"roles":[…],"permissions":[…]}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantsBody {
    /// Role ids of the user's tenant; at least one.
    pub roles: Vec<i64>,
    /// Explicit permission ids beyond the roles'.
    #[serde(default)]
    pub permissions: Vec<i64>,
}

impl From<RoleAssignments> for GrantsBody {
    fn from(g: RoleAssignments) -> Self {
        Self {
            roles: g.roles,
            permissions: g.permissions,
        }
    }
}

impl From<GrantsBody> for RoleAssignments {
    fn from(g: GrantsBody) -> Self {
        Self {
            roles: g.roles,
            permissions: g.permissions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// 1 active, 0 inactive.
    pub status: i64,
    pub account_locked: bool,
    /// UTC `YYYY-MM-DD HH:mm:ss`.
    pub account_locked_at: Option<String>,
    pub account_locked_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordInfo {
    /// 1 active, 2 must be reset.
    pub password_status: i64,
    pub password_expiration: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthUser {
    pub auth_user_name: String,
    pub auth_service_id: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticationInfo {
    pub auth_users: Vec<AuthUser>,
}

/// A user as the API shows it. The password and API secret never appear.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    pub id: i64,
    pub user_name: String,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub status_info: StatusInfo,
    pub password_info: PasswordInfo,
    pub permissions: GrantsBody,
    pub authentication_info: AuthenticationInfo,
    /// Whether an API secret exists (the secret itself is shown once, on generation).
    pub has_api_secret: bool,
    #[serde(flatten)]
    pub profile: ProfileBody,
}

/// The optional profile (extension fields, the OpenID Connect standard claims): each
/// appears only when set, so users created through HDP's API look as they do in HDP.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileBody {
    /// Full name for display (the `name` claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Shown with `email`: whether the address is known to be the user's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// BCP 47 language tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl From<UserProfile> for ProfileBody {
    fn from(p: UserProfile) -> Self {
        Self {
            email_verified: (p.email.is_some() || p.email_verified).then_some(p.email_verified),
            display_name: p.name,
            given_name: p.given_name,
            family_name: p.family_name,
            email: p.email,
            locale: p.locale,
        }
    }
}

fn user_body(v: UserView, now: UnixTime) -> UserBody {
    let lock = v.user.lock_at(now);
    UserBody {
        id: v.user.id,
        user_name: v.user.login.clone(),
        tenant_id: v.user.tenant_id,
        tenant_name: v.tenant_name,
        status_info: StatusInfo {
            status: i64::from(v.user.active),
            account_locked: lock.is_some(),
            account_locked_at: lock.map(|l| hdp_timestamp(l.locked_at)),
            account_locked_until: lock.map(|l| hdp_timestamp(l.locked_until)),
        },
        password_info: PasswordInfo {
            password_status: v.user.password_status,
            password_expiration: v.user.password_expiration.map(hdp_timestamp),
        },
        permissions: v.assignments.into(),
        authentication_info: AuthenticationInfo {
            auth_users: vec![AuthUser {
                auth_user_name: v.user.login,
                auth_service_id: 1,
            }],
        },
        has_api_secret: v.user.api_secret_verifier.is_some(),
        profile: v.user.profile.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserBody>,
}

/// `statusInfo` in a request: `status` counts; the lock fields may be echoed back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusInfoIn {
    /// 1 active, 0 inactive.
    pub status: i64,
    /// `false` unlocks the account.
    #[serde(default)]
    pub account_locked: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub account_locked_at: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub account_locked_until: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordInfoIn {
    /// Required on create; on update, sets a new password.
    #[serde(default)]
    pub password: Option<String>,
    /// The caller's current password: required on update when `password` sets the
    /// caller's own password.
    #[serde(default)]
    pub old_password: Option<String>,
    /// 1 active, 2 must be reset at next sign-in.
    #[serde(default)]
    pub password_status: Option<i64>,
    /// UTC `YYYY-MM-DD HH:mm:ss`, or null for never.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub password_expiration: Option<Option<String>>,
}

/// Body of `POST /api/admin/users` and `PUT /api/admin/users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserRequest {
    /// At most 128 characters; no ':'.
    pub user_name: String,
    /// Defaults to the caller's tenant; cannot change on update.
    #[serde(default)]
    pub tenant_id: Option<i64>,
    pub status_info: StatusInfoIn,
    #[serde(default)]
    pub password_info: Option<PasswordInfoIn>,
    /// Required on create.
    #[serde(default)]
    pub permissions: Option<GrantsBody>,
    /// Only the internal authentication service (id 1) is supported.
    #[serde(default)]
    pub authentication_info: Option<AuthenticationInfo>,
    /// Ignored (read-only, may be echoed from a GET).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tenant_name: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub has_api_secret: Option<serde_json::Value>,
    /// Extension: full name for display, at most 256 characters (`name` is accepted as
    /// an alias). On update, absent leaves it and null clears it, as for every profile
    /// field.
    #[serde(default, alias = "name", deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Extension: at most 256 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub given_name: Option<Option<String>>,
    /// Extension: at most 256 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub family_name: Option<Option<String>>,
    /// Extension: name@domain, at most 254 characters. A new address is unverified
    /// unless `emailVerified` is sent with it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Extension: whether `email` is known to be the user's (never true without one).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub email_verified: Option<Option<bool>>,
    /// Extension: a BCP 47 language tag such as `en` or `en-US`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
}

impl UserRequest {
    /// The profile fields of the request, for core to check and apply.
    fn profile_changes(&mut self) -> ProfileChanges {
        ProfileChanges {
            name: self.display_name.take(),
            given_name: self.given_name.take(),
            family_name: self.family_name.take(),
            email: self.email.take(),
            email_verified: self.email_verified.take(),
            locale: self.locale.take(),
        }
    }
}

/// Keeps "absent" (`None`, with `#[serde(default)]`) apart from "null" (`Some(None)`).
pub(super) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn status(s: i64) -> Result<bool, ApiError> {
    match s {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(ApiFailure::invalid_field(
            "statusInfo.status",
            format!("{s} is not 0 (inactive) or 1 (active)"),
        )
        .into()),
    }
}

fn expiration(e: Option<Option<String>>) -> Result<Option<Option<UnixTime>>, ApiError> {
    match e {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) => parse_hdp_timestamp(&s)
            .map(|t| Some(Some(t)))
            .ok_or_else(|| {
                ApiFailure::invalid_field(
                    "passwordInfo.passwordExpiration",
                    format!("'{s}' is not UTC YYYY-MM-DD HH:mm:ss"),
                )
                .into()
            }),
    }
}

fn check_auth_info(a: &Option<AuthenticationInfo>) -> Result<(), ApiError> {
    if let Some(a) = a {
        if let Some(u) = a.auth_users.iter().find(|u| u.auth_service_id != 1) {
            return Err(ApiFailure::invalid_field(
                "authenticationInfo",
                format!(
                    "authentication service {} is not supported; only the internal service (1) is",
                    u.auth_service_id
                ),
            )
            .into());
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only users of this tenant.
    #[serde(default, deserialize_with = "super::extract::query_id")]
    #[param(minimum = 1)]
    pub tenant_id: Option<i64>,
    /// Only users of the tenant with this name.
    pub tenant_name: Option<String>,
}

/// Users of the tenants the caller administers.
#[utoipa::path(get, path = "/api/admin/users", tag = "users", params(UserFilter), security(("basic" = [])),
    responses((status = 200, body = UserList), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    Mgmt(s, c): Mgmt,
    HdpQuery(f): HdpQuery<UserFilter>,
) -> Result<Json<UserList>, ApiError> {
    let filter = match (f.tenant_id, f.tenant_name) {
        (Some(id), _) => TenantFilter::Id(id),
        (None, Some(name)) => TenantFilter::Name(name),
        (None, None) => TenantFilter::All,
    };
    let now = s.ctx.now();
    let users = users::list(&s.ctx, &c, filter).await?;
    Ok(Json(UserList {
        users: users.into_iter().map(|u| user_body(u, now)).collect(),
    }))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/admin/users", tag = "users", request_body = UserRequest, security(("basic" = [])),
    responses((status = 201, body = UserBody), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn create(
    Mgmt(s, c): Mgmt,
    HdpJson(mut req): HdpJson<UserRequest>,
) -> Result<Response, ApiError> {
    check_auth_info(&req.authentication_info)?;
    let profile = req.profile_changes();
    let pw = req.password_info.unwrap_or_default();
    let password = pw
        .password
        .ok_or_else(|| ApiFailure::invalid_field("passwordInfo.password", "is required"))?;
    let grants = req
        .permissions
        .ok_or_else(|| ApiFailure::invalid_field("permissions", "is required"))?;
    let create = CreateUser {
        login: req.user_name,
        tenant_id: req.tenant_id,
        active: status(req.status_info.status)?,
        password,
        password_status: pw.password_status,
        password_expiration: expiration(pw.password_expiration)?.flatten(),
        assignments: grants.into(),
        profile,
    };
    let v = users::create(&s.ctx, &c, create).await?;
    Ok((StatusCode::CREATED, Json(user_body(v, s.ctx.now()))).into_response())
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "users", params(("id" = i64, Path)), security(("basic" = [])),
    responses((status = 200, body = UserBody), (status = 404, body = ErrorEnvelope)))]
pub async fn get(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Json<UserBody>, ApiError> {
    Ok(Json(user_body(
        users::get(&s.ctx, &c, id).await?,
        s.ctx.now(),
    )))
}

/// Updates a user: name, status (0 deactivates, ending their sessions and tokens),
/// `accountLocked: false` unlocks, and password / permissions / profile fields when
/// given (a profile field sent as null is cleared).
#[utoipa::path(put, path = "/api/admin/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserRequest,
    security(("basic" = [])),
    responses((status = 200, body = UserBody), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn update(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(mut req): HdpJson<UserRequest>,
) -> Result<Json<UserBody>, ApiError> {
    check_auth_info(&req.authentication_info)?;
    let profile = req.profile_changes();
    let current = users::get(&s.ctx, &c, id).await?;
    if req.tenant_id.is_some_and(|t| t != current.user.tenant_id) {
        return Err(
            ApiFailure::invalid_field("tenantId", "a user cannot move to another tenant").into(),
        );
    }
    let pw = req.password_info.unwrap_or_default();
    let upd = UpdateUser {
        login: req.user_name,
        active: status(req.status_info.status)?,
        account_locked: req.status_info.account_locked,
        password: pw.password,
        current_password: pw.old_password,
        password_status: pw.password_status,
        password_expiration: expiration(pw.password_expiration)?,
        assignments: req.permissions.map(Into::into),
        profile,
    };
    Ok(Json(user_body(
        users::update(&s.ctx, &c, id, upd).await?,
        s.ctx.now(),
    )))
}

/// Deletes a user with their applications, consents and tokens.
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "users", params(("id" = i64, Path)), security(("basic" = [])),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn delete(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    users::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's roles and explicit permissions.
#[utoipa::path(get, path = "/api/admin/users/{id}/permissions", tag = "users", params(("id" = i64, Path)),
    security(("basic" = [])), responses((status = 200, body = GrantsBody), (status = 404, body = ErrorEnvelope)))]
pub async fn get_grants(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
) -> Result<Json<GrantsBody>, ApiError> {
    Ok(Json(users::role_assignments(&s.ctx, &c, id).await?.into()))
}

/// Replaces the user's roles (at least one, of their tenant) and explicit permissions.
#[utoipa::path(put, path = "/api/admin/users/{id}/permissions", tag = "users", params(("id" = i64, Path)),
    request_body = GrantsBody, security(("basic" = [])),
    responses((status = 200, body = GrantsBody), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn set_grants(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(g): HdpJson<GrantsBody>,
) -> Result<Json<GrantsBody>, ApiError> {
    Ok(Json(
        users::set_role_assignments(&s.ctx, &c, id, g.into())
            .await?
            .into(),
    ))
}

/// Ends a lock after failed sign-ins.
#[utoipa::path(put, path = "/api/admin/users/{id}/unlock", tag = "users", params(("id" = i64, Path)),
    security(("basic" = [])), responses((status = 200, body = UserBody), (status = 404, body = ErrorEnvelope)))]
pub async fn unlock(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Json<UserBody>, ApiError> {
    Ok(Json(user_body(
        users::unlock(&s.ctx, &c, id).await?,
        s.ctx.now(),
    )))
}

/// Body of `PUT /api/admin/users/{id}/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
    /// The caller's current password: required when the id is the caller's own (as
    /// `oldPassword` at `PUT /api/mgmt/user/password`); ignored for other users.
    #[serde(default)]
    pub old_password: Option<String>,
    /// Make the user choose a new password at next sign-in. Default false.
    #[serde(default)]
    pub must_reset: bool,
}

/// Sets a user's password (ending their sessions and tokens). Setting one's own needs
/// `oldPassword`, the current one.
#[utoipa::path(put, path = "/api/admin/users/{id}/password", tag = "users", params(("id" = i64, Path)),
    request_body = SetPassword, security(("basic" = [])),
    responses((status = 204, description = "Set"), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn set_password(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(b): HdpJson<SetPassword>,
) -> Result<StatusCode, ApiError> {
    users::set_password(
        &s.ctx,
        &c,
        id,
        &b.password,
        b.old_password.as_deref(),
        b.must_reset,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiSecretBody {
    /// Shown once: store it now.
    pub api_secret: String,
}

/// Generates (or regenerates) the user's API secret for `/configapi/v2/oauth/token`.
#[utoipa::path(post, path = "/api/admin/users/{id}/apisecret", tag = "users", params(("id" = i64, Path)),
    security(("basic" = [])), responses((status = 200, body = ApiSecretBody), (status = 404, body = ErrorEnvelope)))]
pub async fn generate_api_secret(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
) -> Result<Json<ApiSecretBody>, ApiError> {
    let secret = users::generate_api_secret(&s.ctx, &c, id).await?;
    Ok(Json(ApiSecretBody {
        api_secret: secret.expose().to_owned(),
    }))
}

/// Deletes the user's API secret.
#[utoipa::path(delete, path = "/api/admin/users/{id}/apisecret", tag = "users", params(("id" = i64, Path)),
    security(("basic" = [])), responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_api_secret(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    users::delete_api_secret(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller (`GET /api/mgmt/user`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user_id: i64,
    pub user_name: String,
    pub tenant_id: i64,
    /// UTC `YYYY-MM-DD HH:mm:ss`, or null for never.
    pub password_expiration: Option<String>,
    /// Effective permission ids.
    pub permissions: Vec<i64>,
    pub has_api_secret: bool,
}

/// Who the caller is, with their effective permissions (MgmtAPI 11).
#[utoipa::path(get, path = "/api/mgmt/user", tag = "users", security(("basic" = [])),
    responses((status = 200, body = Me), (status = 403, body = ErrorEnvelope)))]
pub async fn me(Caller(c): Caller) -> Result<Json<Me>, ApiError> {
    let p = users::me(&c)?;
    Ok(Json(Me {
        user_id: p.user.id,
        user_name: p.user.login.clone(),
        tenant_id: p.user.tenant_id,
        password_expiration: p.user.password_expiration.map(hdp_timestamp),
        permissions: p.permissions.clone(),
        has_api_secret: p.user.api_secret_verifier.is_some(),
    }))
}

/// Body of `PUT /api/mgmt/user/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassword {
    pub old_password: String,
    pub new_password: String,
}

/// Changes the caller's own password (ChangePassword 9).
#[utoipa::path(put, path = "/api/mgmt/user/password", tag = "users", request_body = ChangePassword,
    security(("basic" = [])),
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn change_password(
    Mgmt(s, c): Mgmt,
    HdpJson(b): HdpJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    users::change_own_password(&s.ctx, &c, &b.old_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(get_grants, set_grants))
        .routes(routes!(unlock))
        .routes(routes!(set_password))
        .routes(routes!(generate_api_secret, delete_api_secret))
        .routes(routes!(me))
        .routes(routes!(change_password))
}
