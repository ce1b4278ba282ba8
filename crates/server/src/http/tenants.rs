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
use portcullis_core::mgmt::initial_access_tokens as iat;
use portcullis_core::mgmt::tenants::{self, TenantView};
use portcullis_core::model::registration::{
    ClientType, InitialAccessToken, PolicyInput, RegistrationPolicy,
};
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
    /// Extension: who may register clients here (RFC 7591). Default closed.
    #[serde(default)]
    pub client_registration: Option<ClientRegistrationRequest>,
}

/// `clientRegistration`: a tenant's policy for clients that register themselves
/// (`POST /oauth2/register`, RFC 7591). Absent fields take their defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientRegistrationRequest {
    /// `closed` (default), `initial_access_token` or `open` (at most one tenant).
    #[serde(default)]
    pub policy: Option<String>,
    /// `public` and/or `confidential`. Default `["public"]`.
    #[serde(default)]
    pub client_types: Option<Vec<String>>,
    /// Grants a client may ask for (never `password`). Default
    /// `["authorization_code", "refresh_token"]`.
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// API scopes a client may ask for. Default: the tenant's `allowedScopes`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub redirect_uris: Option<RedirectRestrictionsRequest>,
    /// Seconds after which an openly registered client that never got a token is
    /// deleted (60 to 31536000). Default 86400.
    #[serde(default)]
    pub unused_client_lifetime: Option<i64>,
    /// Whether clients identified by a metadata document URL land here (at most one
    /// tenant). Default false.
    #[serde(default)]
    pub metadata_documents: Option<bool>,
}

/// Which redirect URIs a registration may name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedirectRestrictionsRequest {
    /// `http` (and `https`) on 127.0.0.1, [::1] or localhost, any port. Default true.
    #[serde(default)]
    pub loopback: Option<bool>,
    /// Hosts whose `https` URIs are allowed; `*` for any. Default none.
    #[serde(default)]
    pub https_hosts: Option<Vec<String>>,
    /// Private-use schemes of native apps (`com.example.app`). Default none.
    #[serde(default)]
    pub schemes: Option<Vec<String>>,
}

impl From<ClientRegistrationRequest> for PolicyInput {
    fn from(r: ClientRegistrationRequest) -> Self {
        let redirects = r.redirect_uris;
        let (loopback, https_hosts, schemes) = match redirects {
            Some(x) => (x.loopback, x.https_hosts, x.schemes),
            None => (None, None, None),
        };
        PolicyInput {
            policy: r.policy,
            client_types: r.client_types,
            grant_types: r.grant_types,
            scopes: r.scopes,
            loopback,
            https_hosts,
            schemes,
            unused_client_lifetime: r.unused_client_lifetime,
            metadata_documents: r.metadata_documents,
        }
    }
}

/// A tenant's `clientRegistration` as shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRegistrationDetail {
    pub policy: &'static str,
    pub client_types: Vec<&'static str>,
    pub grant_types: Vec<&'static str>,
    /// Absent: the tenant's `allowedScopes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: RedirectRestrictionsDetail,
    pub unused_client_lifetime: i64,
    pub metadata_documents: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedirectRestrictionsDetail {
    pub loopback: bool,
    pub https_hosts: Vec<String>,
    pub schemes: Vec<String>,
}

impl From<RegistrationPolicy> for ClientRegistrationDetail {
    fn from(p: RegistrationPolicy) -> Self {
        Self {
            policy: p.policy.as_str(),
            client_types: p
                .client_types
                .iter()
                .map(|t| match t {
                    ClientType::Public => "public",
                    ClientType::Confidential => "confidential",
                })
                .collect(),
            grant_types: p.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: p.scopes,
            redirect_uris: RedirectRestrictionsDetail {
                loopback: p.redirect_uris.loopback,
                https_hosts: p.redirect_uris.https_hosts,
                schemes: p.redirect_uris.schemes,
            },
            unused_client_lifetime: p.unused_client_lifetime,
            metadata_documents: p.metadata_documents,
        }
    }
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
    /// Replaces the registration policy when given (its absent fields take their
    /// defaults).
    #[serde(default)]
    pub client_registration: Option<ClientRegistrationRequest>,
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
    /// Who may register clients here (RFC 7591).
    pub client_registration: ClientRegistrationDetail,
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
            client_registration: v.client_registration.into(),
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
        client_registration: req.client_registration.map(PolicyInput::from),
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
        client_registration: req.client_registration.map(PolicyInput::from),
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

/// Body of `POST /api/admin/tenants/{id}/initialaccesstokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitialAccessTokenRequest {
    /// Registrations it allows (1–100000); null for unlimited. Default 1.
    #[serde(default, deserialize_with = "super::users::present")]
    #[schema(value_type = Option<i64>)]
    pub uses: Option<Option<i64>>,
    /// Seconds it lives; null for never. Default 86400.
    #[serde(default, deserialize_with = "super::users::present")]
    #[schema(value_type = Option<i64>)]
    pub expires_in: Option<Option<i64>>,
}

/// An initial access token as listed (the token itself is shown only on creation).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitialAccessTokenDetail {
    pub id: i64,
    pub tenant_id: i64,
    /// Registrations left; null for unlimited.
    pub uses_left: Option<i64>,
    /// Registrations made with it.
    pub used: i64,
    /// Unix seconds; null for never.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// The user who created it; null for the console.
    pub created_by: Option<i64>,
    /// The token, for `Authorization: Bearer` at `/oauth2/register`: on creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<InitialAccessToken> for InitialAccessTokenDetail {
    fn from(t: InitialAccessToken) -> Self {
        Self {
            id: t.id,
            tenant_id: t.tenant_id,
            uses_left: t.uses_left,
            used: t.used,
            expires_at: t.expires_at,
            created_at: t.created_at,
            created_by: t.created_by,
            token: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitialAccessTokenList {
    pub initial_access_tokens: Vec<InitialAccessTokenDetail>,
}

/// Issues an initial access token for registering clients into the tenant (whose
/// policy must not be closed). The token is in the answer, once.
#[utoipa::path(post, path = "/api/admin/tenants/{id}/initialaccesstokens", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    request_body = InitialAccessTokenRequest,
    responses((status = 201, body = InitialAccessTokenDetail), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn create_initial_access_token(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<InitialAccessTokenRequest>,
) -> Result<(StatusCode, axum::response::Response), ApiError> {
    let creation = iat::Creation {
        uses: req.uses,
        expires_in: req.expires_in,
    };
    let (token, secret) = iat::create(&s.ctx, &c, id, creation).await?;
    let mut detail = InitialAccessTokenDetail::from(token);
    detail.token = Some(secret.expose().to_owned());
    Ok((StatusCode::CREATED, super::reply::no_store(Json(detail))))
}

/// The tenant's initial access tokens (without the tokens).
#[utoipa::path(get, path = "/api/admin/tenants/{id}/initialaccesstokens", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, body = InitialAccessTokenList), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn list_initial_access_tokens(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
) -> Result<Json<InitialAccessTokenList>, ApiError> {
    let tokens = iat::list(&s.ctx, &c, id).await?;
    Ok(Json(InitialAccessTokenList {
        initial_access_tokens: tokens.into_iter().map(Into::into).collect(),
    }))
}

/// `{id}` and `{tokenId}` of an initial access token's path.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPath {
    id: String,
    token_id: String,
}

fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::new(
            portcullis_core::error::Code::INVALID_ID,
            format!("'{raw}' is not a valid id; ids are positive integers."),
        )
    })
}

/// Deletes an initial access token (clients registered with it stay).
#[utoipa::path(delete, path = "/api/admin/tenants/{id}/initialaccesstokens/{tokenId}", tag = "tenants",
    security(("basic" = [])), params(("id" = i64, Path, description = "Tenant id"),
        ("tokenId" = i64, Path, description = "Initial access token id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn delete_initial_access_token(
    Mgmt(s, c): Mgmt,
    axum::extract::Path(p): axum::extract::Path<TokenPath>,
) -> Result<StatusCode, ApiError> {
    iat::delete(&s.ctx, &c, path_id(&p.id)?, path_id(&p.token_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(admins, set_admins))
        .routes(routes!(
            create_initial_access_token,
            list_initial_access_tokens
        ))
        .routes(routes!(delete_initial_access_token))
}
