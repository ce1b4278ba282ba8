//! Client application registration (HDP `/api/mgmt/oauth/client/applications`,
//! `spec/hdp-reference.md` §1.1–§1.6; SPEC §4.2).
//!
//! Visibility: a user sees and manages the applications they registered; an
//! Administrator (permission 12) also those of their tenant. Anything else answers
//! "not found", so ids of other users' applications reveal nothing. The client secret
//! is shown on register and reset only; the store keeps a keyed verifier.

use super::audit;
use crate::auth::{store_failure, store_failure_as, Principal};
use crate::context::Context;
use crate::crypto::Secret;
use crate::error::{ApiFailure, Code};
use crate::model::audit::EventType;
use crate::model::client_app::AppListScope;
use crate::model::client_app::{
    parse_grant_types, parse_post_logout_redirect_uris, parse_scopes, parse_signing_alg,
    AppDescription, AppName, ClientApp, ClientAppChanges, ClientProfile, NewClientApp,
    RedirectPolicy, RedirectUrl, RegisteredBy, TokenEndpointAuthMethod,
};

/// A registration request, as received.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub name: String,
    pub description: Option<String>,
    pub redirect_urls: Vec<String>,
    pub public: Option<bool>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// OpenID Connect settings; on update, those not given stay as they are.
    pub oidc: OidcChanges,
    /// `delegation` or `impersonation` (token exchange, administrators only); `None`
    /// leaves it as it is.
    pub token_exchange_policy: Option<String>,
}

/// An update request: name, description and redirect URLs are replaced; grant types,
/// scopes and OpenID Connect settings only when given. `public` may be repeated but
/// not changed.
pub type Update = Registration;

/// Changes to an application's OpenID Connect settings: `None` leaves a setting as it
/// is, `Some(None)` (or an empty list) clears it.
#[derive(Debug, Clone, Default)]
pub struct OidcChanges {
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub id_token_signed_response_alg: Option<Option<String>>,
    pub userinfo_signed_response_alg: Option<Option<String>>,
    /// RFC 9126 §5; `None` leaves it as it is.
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9449 §5.2; `None` leaves it as it is.
    pub dpop_bound_access_tokens: Option<bool>,
}

/// An application's OpenID Connect settings, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct OidcSettings {
    post_logout_redirect_uris: Vec<String>,
    id_token_signed_response_alg: Option<String>,
    userinfo_signed_response_alg: Option<String>,
    require_pushed_authorization_requests: bool,
    dpop_bound_access_tokens: bool,
}

impl OidcChanges {
    /// `current` with these changes, each given value checked.
    fn apply(
        self,
        current: OidcSettings,
        policy: RedirectPolicy,
    ) -> Result<OidcSettings, ApiFailure> {
        let alg =
            |field: &str, change: Option<Option<String>>, current: Option<String>| match change {
                Some(v) => parse_signing_alg(field, v.as_deref()),
                None => Ok(current),
            };
        Ok(OidcSettings {
            post_logout_redirect_uris: match self.post_logout_redirect_uris {
                Some(list) => parse_post_logout_redirect_uris(&list, policy)?,
                None => current.post_logout_redirect_uris,
            },
            id_token_signed_response_alg: alg(
                "idTokenSignedResponseAlg",
                self.id_token_signed_response_alg,
                current.id_token_signed_response_alg,
            )?,
            userinfo_signed_response_alg: alg(
                "userinfoSignedResponseAlg",
                self.userinfo_signed_response_alg,
                current.userinfo_signed_response_alg,
            )?,
            require_pushed_authorization_requests: self
                .require_pushed_authorization_requests
                .unwrap_or(current.require_pushed_authorization_requests),
            dpop_bound_access_tokens: self
                .dpop_bound_access_tokens
                .unwrap_or(current.dpop_bound_access_tokens),
        })
    }
}

impl From<&ClientApp> for OidcSettings {
    fn from(app: &ClientApp) -> Self {
        Self {
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: app.id_token_signed_response_alg.clone(),
            userinfo_signed_response_alg: app.userinfo_signed_response_alg.clone(),
            require_pushed_authorization_requests: app.require_pushed_authorization_requests,
            dpop_bound_access_tokens: app.profile.dpop_bound_access_tokens,
        }
    }
}

/// A registered application and, on register and reset only, its new secret.
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub app: ClientApp,
    pub secret: Option<Secret>,
}

fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::CLIENT_APP_NOT_FOUND,
        format!("There is no client application with id {id}."),
    )
}

/// Whether `caller` may see and manage `app`.
pub fn visible(caller: &Principal, app: &ClientApp) -> bool {
    app.owner_id == Some(caller.user.id)
        || (caller.is_administrator() && app.tenant_id == caller.user.tenant_id)
}

/// Lists the applications visible to the caller.
pub async fn list(ctx: &Context, caller: &Principal) -> Result<Vec<ClientApp>, ApiFailure> {
    let scope = if caller.is_administrator() {
        AppListScope::Tenant(caller.user.tenant_id)
    } else {
        AppListScope::Owner(caller.user.id)
    };
    ctx.store
        .list_client_apps(scope)
        .await
        .map_err(|e| store_failure_as(e, Code::CLIENT_APP_GET_FAILED))
}

/// Registers an application owned by the caller, in the caller's tenant.
pub async fn register(
    ctx: &Context,
    caller: &Principal,
    req: Registration,
) -> Result<WithSecret, ApiFailure> {
    let name = AppName::parse(&req.name)?;
    let description = AppDescription::parse(req.description.as_deref())?;
    let redirect_urls = RedirectUrl::parse_list(&req.redirect_urls, ctx.redirects)?;
    let public = req.public.unwrap_or(false);
    let grant_types = parse_grant_types(req.grant_types.as_deref(), public)?;
    let scopes = parse_scopes(req.scopes.as_deref())?;
    let policy = super::token_exchange::parse_policy(req.token_exchange_policy.as_deref())?;
    super::token_exchange::check(caller, &grant_types, &scopes, policy, None)?;
    let oidc = req.oidc.apply(OidcSettings::default(), ctx.redirects)?;
    let secret = (!public).then(Secret::generate);
    let new = NewClientApp {
        tenant_id: caller.user.tenant_id,
        owner_id: Some(caller.user.id),
        name: name.into_inner(),
        description: description.into_inner(),
        redirect_urls: redirect_urls
            .into_iter()
            .map(RedirectUrl::into_inner)
            .collect(),
        client_id: uuid::Uuid::new_v4().to_string(),
        secret_verifier: secret.as_ref().map(|s| ctx.keys.verifier(s.expose())),
        public,
        grant_types,
        scopes,
        post_logout_redirect_uris: oidc.post_logout_redirect_uris,
        id_token_signed_response_alg: oidc.id_token_signed_response_alg,
        userinfo_signed_response_alg: oidc.userinfo_signed_response_alg,
        require_pushed_authorization_requests: oidc.require_pushed_authorization_requests,
        token_endpoint_auth_method: TokenEndpointAuthMethod::for_public(public),
        profile: ClientProfile {
            dpop_bound_access_tokens: oidc.dpop_bound_access_tokens,
            ..ClientProfile::default()
        },
        registered_by: RegisteredBy::User,
        registration_verifier: None,
        token_exchange_policy: policy,
        now: ctx.now(),
    };
    let app = ctx
        .store
        .create_client_app(new)
        .await
        .map_err(|e| store_failure_as(e, Code::CLIENT_APP_CREATE_FAILED))?;
    tracing::info!(app_id = app.id, client_id = %app.client_id, owner = caller.user.id, "client application registered");
    ctx.audit
        .record(
            audit::by(ctx, caller, EventType::ClientRegistered, app.tenant_id)
                .client(&app.client_id)
                .subject(format!("client_app {}", app.id)),
        )
        .await;
    Ok(WithSecret { app, secret })
}

/// The application `id` if the caller may see it.
pub async fn get(ctx: &Context, caller: &Principal, id: i64) -> Result<ClientApp, ApiFailure> {
    match ctx.store.client_app(id).await {
        Ok(Some(app)) if visible(caller, &app) => Ok(app),
        Ok(_) => Err(not_found(id)),
        Err(e) => Err(store_failure_as(e, Code::CLIENT_APP_GET_FAILED)),
    }
}

/// Replaces name, description and redirect URLs (and grant types, scopes and OpenID
/// Connect settings when given).
pub async fn update(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    req: Update,
) -> Result<ClientApp, ApiFailure> {
    let name = AppName::parse(&req.name)?;
    let description = AppDescription::parse(req.description.as_deref())?;
    let redirect_urls = RedirectUrl::parse_list(&req.redirect_urls, ctx.redirects)?;
    let current = get(ctx, caller, id).await?;
    if req.public.is_some_and(|p| p != current.public) {
        return Err(ApiFailure::invalid_field(
            "public",
            "cannot be changed after registration; register a new application instead",
        ));
    }
    let grant_types = match req.grant_types.as_deref() {
        Some(list) => parse_grant_types(Some(list), current.public)?,
        None => current.grant_types.clone(),
    };
    let scopes = match req.scopes.as_deref() {
        Some(list) => parse_scopes(Some(list))?,
        None => current.scopes.clone(),
    };
    let policy = super::token_exchange::parse_policy(req.token_exchange_policy.as_deref())?;
    super::token_exchange::check(caller, &grant_types, &scopes, policy, Some(&current))?;
    let oidc = req
        .oidc
        .apply(OidcSettings::from(&current), ctx.redirects)?;
    let changes = ClientAppChanges {
        name: name.into_inner(),
        description: description.into_inner(),
        redirect_urls: redirect_urls
            .into_iter()
            .map(RedirectUrl::into_inner)
            .collect(),
        grant_types,
        scopes,
        post_logout_redirect_uris: oidc.post_logout_redirect_uris,
        id_token_signed_response_alg: oidc.id_token_signed_response_alg,
        userinfo_signed_response_alg: oidc.userinfo_signed_response_alg,
        require_pushed_authorization_requests: oidc.require_pushed_authorization_requests,
        profile: ClientProfile {
            dpop_bound_access_tokens: oidc.dpop_bound_access_tokens,
            ..current.profile.clone()
        },
        token_exchange_policy: policy,
        now: ctx.now(),
    };
    let app = ctx
        .store
        .update_client_app(id, changes)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| not_found(id))?;
    Ok(app)
}

/// Deletes the application, its consents and (through them) its tokens.
pub async fn delete(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    let app = get(ctx, caller, id).await?;
    match ctx.store.delete_client_app(id).await {
        Ok(true) => {
            ctx.audit
                .record(
                    audit::by(ctx, caller, EventType::ClientDeleted, app.tenant_id)
                        .client(&app.client_id)
                        .subject(format!("client_app {id}")),
                )
                .await;
            tracing::info!(
                app_id = id,
                by = caller.user.id,
                "client application deleted"
            );
            Ok(())
        }
        Ok(false) => Err(not_found(id)),
        Err(e) => Err(store_failure_as(e, Code::CLIENT_APP_DELETE_FAILED)),
    }
}

/// Issues a new secret, revoking every grant and token of the application.
pub async fn reset_secret(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<WithSecret, ApiFailure> {
    let app = get(ctx, caller, id).await?;
    if app.public {
        return Err(ApiFailure::invalid_field(
            "id",
            format!("client application {id} is public and has no secret to reset"),
        ));
    }
    let secret = Secret::generate();
    let verifier = ctx.keys.verifier(secret.expose());
    match ctx
        .store
        .reset_client_secret(id, &verifier, ctx.now())
        .await
    {
        Ok(Some(app)) => {
            tracing::info!(app_id = id, by = caller.user.id, "client secret reset");
            ctx.audit
                .record(
                    audit::by(ctx, caller, EventType::ClientReset, app.tenant_id)
                        .client(&app.client_id)
                        .subject(format!("client_app {id}")),
                )
                .await;
            Ok(WithSecret {
                app,
                secret: Some(secret),
            })
        }
        Ok(None) => Err(not_found(id)),
        Err(e) => Err(store_failure_as(e, Code::CLIENT_APP_RESET_FAILED)),
    }
}
