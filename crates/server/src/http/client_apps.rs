//! HDP's Client Application Registration API (`/api/mgmt/oauth/client/…`,
//! `spec/hdp-reference.md` §1.1–§1.8, SPEC §4.2). Handlers parse, make one call into
//! `portcullis_core::mgmt`, and shape the answer as HDP does.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{HdpJson, IdPath, Mgmt};
use super::reply::no_store;
use super::users::present;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use portcullis_core::mgmt::{allowed_apps, client_apps, token_exchange};
use portcullis_core::model::client_app::{ClientApp, RegisteredBy, TokenEndpointAuthMethod};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `redirectUrls` as HDP accepts it: a list, or one string of comma-separated URLs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum UrlList {
    List(Vec<String>),
    CommaSeparated(String),
}

impl UrlList {
    fn into_vec(self) -> Vec<String> {
        match self {
            UrlList::List(v) => v,
            UrlList::CommaSeparated(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        }
    }
}

/// Body of `POST /api/mgmt/oauth/client/applications`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegisterRequest {
    /// At most 128 characters.
    pub name: String,
    /// At most 256 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// One or more redirect URLs (exactly matched at authorization).
    #[schema(value_type = Vec<String>)]
    pub redirect_urls: UrlList,
    /// Extension: a public client has no secret and must use PKCE. Default false.
    #[serde(default)]
    pub public: Option<bool>,
    /// Extension: allowed grants. Default `authorization_code`, `password`,
    /// `refresh_token` (`authorization_code`, `refresh_token` for public clients).
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Extension: allowed scopes. Default `api.access.odata`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Extension (OpenID Connect RP-Initiated Logout): where the browser may be sent
    /// after logout, matched exactly. The rules of `redirectUrls`, but every entry a
    /// full URL (no host-only entries). On update, absent leaves it; null or `[]` clears.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub post_logout_redirect_uris: Option<Option<Vec<String>>>,
    /// Extension: `RS256` or `ES256` for ID tokens; absent or null means RS256.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub id_token_signed_response_alg: Option<Option<String>>,
    /// Extension: `RS256` or `ES256` to sign UserInfo answers; absent or null means
    /// plain JSON.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub userinfo_signed_response_alg: Option<Option<String>>,
    /// Extension (RFC 9126 §5): `true` when every authorization request of this
    /// application must be pushed to `/oauth2/par` first. Default false.
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Extension (RFC 8693 token exchange; administrators only): `delegation` (the
    /// default: every exchange names an actor) or `impersonation` (an exchange may
    /// also go without one).
    #[serde(default)]
    pub token_exchange_policy: Option<String>,
    /// Extension (RFC 9449 §5.2): `true` when every token request of this
    /// application must carry a DPoP proof. Default false.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
}

/// Body of `PUT /api/mgmt/oauth/client/applications/{id}`: the registration fields;
/// `id`, `clientId` and `clientSecret` may be echoed back from a GET and are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub redirect_urls: UrlList,
    /// May be repeated, not changed.
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Absent: unchanged; null or `[]`: none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub post_logout_redirect_uris: Option<Option<Vec<String>>>,
    /// Absent: unchanged; null: the default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub id_token_signed_response_alg: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub userinfo_signed_response_alg: Option<Option<String>>,
    /// Absent: unchanged.
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Extension (RFC 8693 token exchange; administrators only): `delegation` (the
    /// default: every exchange names an actor) or `impersonation` (an exchange may
    /// also go without one).
    #[serde(default)]
    pub token_exchange_policy: Option<String>,
    /// Absent: unchanged.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// Ignored (read-only).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// Ignored (read-only).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_id: Option<serde_json::Value>,
    /// Ignored: secrets change only through `/reset`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<serde_json::Value>,
}

/// The OpenID Connect settings of a request, for core to check and apply (a null list
/// clears, as an empty one does).
fn oidc_changes(
    post_logout_redirect_uris: Option<Option<Vec<String>>>,
    id_token_signed_response_alg: Option<Option<String>>,
    userinfo_signed_response_alg: Option<Option<String>>,
    require_pushed_authorization_requests: Option<bool>,
    dpop_bound_access_tokens: Option<bool>,
) -> client_apps::OidcChanges {
    client_apps::OidcChanges {
        post_logout_redirect_uris: post_logout_redirect_uris.map(Option::unwrap_or_default),
        id_token_signed_response_alg,
        userinfo_signed_response_alg,
        require_pushed_authorization_requests,
        dpop_bound_access_tokens,
    }
}

/// An application in a listing (HDP's list shape: no client id or secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    /// Extension; shown for clients that registered themselves (RFC 7591).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<RegisteredByDetail>,
}

/// Who or what registered a client that registered itself (`registeredBy`): absent
/// for applications registered by a user through this API.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredByDetail {
    /// `initial_access_token` or `open` (dynamic registration, RFC 7591).
    pub method: &'static str,
    /// The initial access token used, for `initial_access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_access_token_id: Option<i64>,
    /// The `software_id` the client gave, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
}

impl RegisteredByDetail {
    fn of(app: &ClientApp) -> Option<Self> {
        (app.registered_by != RegisteredBy::User).then(|| Self {
            method: app.registered_by.as_str(),
            initial_access_token_id: app.registered_by.initial_access_token(),
            software_id: app.profile.software_id.clone(),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppList {
    pub applications: Vec<AppSummary>,
}

/// A registered application. `clientSecret` appears on register and reset only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppDetail {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// Extension; shown when any is registered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Extension; shown when set (RS256 applies otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// Extension; shown when set (UserInfo answers plain JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<String>,
    /// Extension (RFC 9126 §5); shown when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// Extension (RFC 9449 §5.2); shown when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// Extension; shown for clients that registered themselves (RFC 7591).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<RegisteredByDetail>,
    /// Extension; shown when not what `public` implies (`none` / `client_secret_basic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<&'static str>,
    /// Extension; shown for applications allowed the token-exchange grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_exchange_policy: Option<&'static str>,
}

impl AppDetail {
    fn new(app: ClientApp, secret: Option<String>) -> Self {
        let method = app.token_endpoint_auth_method;
        Self {
            registered_by: RegisteredByDetail::of(&app),
            token_endpoint_auth_method: (method != TokenEndpointAuthMethod::for_public(app.public))
                .then_some(method.as_str()),
            id: app.id,
            name: app.name,
            description: app.description,
            redirect_urls: app.redirect_urls,
            client_id: app.client_id,
            client_secret: secret,
            public: app.public,
            grant_types: app
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: app.scopes,
            post_logout_redirect_uris: app.post_logout_redirect_uris,
            id_token_signed_response_alg: app.id_token_signed_response_alg,
            userinfo_signed_response_alg: app.userinfo_signed_response_alg,
            require_pushed_authorization_requests: app.require_pushed_authorization_requests,
            token_exchange_policy: None,
            dpop_bound_access_tokens: app.profile.dpop_bound_access_tokens,
        }
    }

    /// With the exchange policy, for applications allowed token exchange.
    async fn with_policy(mut self, s: &AppState, app: &ClientApp) -> Result<Self, ApiError> {
        self.token_exchange_policy = token_exchange::shown(&s.ctx, app)
            .await?
            .map(|p| p.as_str());
        Ok(self)
    }

    /// The application with its new secret, the one time it is shown.
    fn shown_once(out: client_apps::WithSecret) -> Self {
        let secret = out.secret.map(|s| s.expose().to_owned());
        Self::new(out.app, secret)
    }
}

/// An application the caller has granted access to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowedApp {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllowedAppList {
    pub applications: Vec<AllowedApp>,
}

/// Lists the applications the caller registered (Administrators: their tenant's).
#[utoipa::path(get, path = "/api/mgmt/oauth/client/applications", tag = "client applications",
    security(("basic" = [])),
    responses((status = 200, body = AppList), (status = 401, body = ErrorEnvelope)))]
pub async fn list(Mgmt(s, c): Mgmt) -> Result<Json<AppList>, ApiError> {
    let apps = client_apps::list(&s.ctx, &c).await?;
    let applications = apps
        .into_iter()
        .map(|a| AppSummary {
            registered_by: RegisteredByDetail::of(&a),
            id: a.id,
            name: a.name,
            description: a.description,
            redirect_urls: a.redirect_urls,
        })
        .collect();
    Ok(Json(AppList { applications }))
}

/// Registers an application; the answer carries `clientId` and, once, `clientSecret`.
#[utoipa::path(post, path = "/api/mgmt/oauth/client/applications", tag = "client applications",
    security(("basic" = [])), request_body = RegisterRequest,
    responses((status = 201, body = AppDetail), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope)))]
pub async fn register(
    Mgmt(s, c): Mgmt,
    HdpJson(req): HdpJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let reg = client_apps::Registration {
        name: req.name,
        description: req.description,
        redirect_urls: req.redirect_urls.into_vec(),
        public: req.public,
        grant_types: req.grant_types,
        scopes: req.scopes,
        oidc: oidc_changes(
            req.post_logout_redirect_uris,
            req.id_token_signed_response_alg,
            req.userinfo_signed_response_alg,
            req.require_pushed_authorization_requests,
            req.dpop_bound_access_tokens,
        ),
        token_exchange_policy: req.token_exchange_policy,
    };
    let out = client_apps::register(&s.ctx, &c, reg).await?;
    let app = out.app.clone();
    let detail = AppDetail::shown_once(out).with_policy(&s, &app).await?;
    Ok(no_store((StatusCode::CREATED, Json(detail))))
}

/// One application (without its secret, which is stored only as a verifier).
#[utoipa::path(get, path = "/api/mgmt/oauth/client/applications/{id}", tag = "client applications",
    security(("basic" = [])), params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = AppDetail), (status = 404, body = ErrorEnvelope)))]
pub async fn get(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Json<AppDetail>, ApiError> {
    let app = client_apps::get(&s.ctx, &c, id).await?;
    Ok(Json(
        AppDetail::new(app.clone(), None)
            .with_policy(&s, &app)
            .await?,
    ))
}

/// Replaces name, description and redirect URLs (and grant types, scopes and the
/// OpenID Connect settings when given).
#[utoipa::path(put, path = "/api/mgmt/oauth/client/applications/{id}", tag = "client applications",
    security(("basic" = [])), params(("id" = i64, Path, description = "Application id")), request_body = UpdateRequest,
    responses((status = 200, body = AppDetail), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn update(
    Mgmt(s, c): Mgmt,
    IdPath(id): IdPath,
    HdpJson(req): HdpJson<UpdateRequest>,
) -> Result<Json<AppDetail>, ApiError> {
    let upd = client_apps::Update {
        name: req.name,
        description: req.description,
        redirect_urls: req.redirect_urls.into_vec(),
        public: req.public,
        grant_types: req.grant_types,
        scopes: req.scopes,
        oidc: oidc_changes(
            req.post_logout_redirect_uris,
            req.id_token_signed_response_alg,
            req.userinfo_signed_response_alg,
            req.require_pushed_authorization_requests,
            req.dpop_bound_access_tokens,
        ),
        token_exchange_policy: req.token_exchange_policy,
    };
    let app = client_apps::update(&s.ctx, &c, id, upd).await?;
    Ok(Json(
        AppDetail::new(app.clone(), None)
            .with_policy(&s, &app)
            .await?,
    ))
}

/// Deletes the application and revokes everything issued to it.
#[utoipa::path(delete, path = "/api/mgmt/oauth/client/applications/{id}", tag = "client applications",
    security(("basic" = [])), params(("id" = i64, Path, description = "Application id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    client_apps::delete(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new client secret (shown once) and revokes all access granted to the application.
#[utoipa::path(put, path = "/api/mgmt/oauth/client/applications/{id}/reset", tag = "client applications",
    security(("basic" = [])), params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = AppDetail), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn reset(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<Response, ApiError> {
    let out = client_apps::reset_secret(&s.ctx, &c, id).await?;
    Ok(no_store(Json(AppDetail::shown_once(out))))
}

/// The applications the caller has granted access to.
#[utoipa::path(get, path = "/api/mgmt/oauth/client/allowedapplications", tag = "client applications",
    security(("basic" = [])), responses((status = 200, body = AllowedAppList), (status = 401, body = ErrorEnvelope)))]
pub async fn allowed(Mgmt(s, c): Mgmt) -> Result<Json<AllowedAppList>, ApiError> {
    let consents = allowed_apps::list(&s.ctx, &c).await?;
    let applications = consents
        .into_iter()
        .map(|c| AllowedApp {
            id: c.client_app_id,
            name: c.app_name,
            scopes: c.scopes,
        })
        .collect();
    Ok(Json(AllowedAppList { applications }))
}

/// Withdraws the caller's grant to application `{id}`, revoking that user's tokens for it.
#[utoipa::path(delete, path = "/api/mgmt/oauth/client/allowedapplications/{id}", tag = "client applications",
    security(("basic" = [])), params(("id" = i64, Path, description = "Application id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorEnvelope)))]
pub async fn revoke_allowed(Mgmt(s, c): Mgmt, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    allowed_apps::revoke(&s.ctx, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, register))
        .routes(routes!(get, update, delete))
        .routes(routes!(reset))
        .routes(routes!(allowed))
        .routes(routes!(revoke_allowed))
}
