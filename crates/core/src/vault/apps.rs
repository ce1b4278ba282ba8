//! OAuth application objects (HDP `/api/mgmt/oauthapps`, `spec/hdp-reference.md` §2.1):
//! an upstream's authorize and token endpoints and this server's client credentials
//! there.
//!
//! Who (HDP §2.1): Administrators (12), or holders of MgmtAPI (11) and OAuth (28),
//! manage the applications of their own tenant and of the tenants they administer (a
//! system Administrator: every tenant). Applications of other tenants answer
//! 222207711 "Invalid OAuthApplicationId". Profiles may use an application of their
//! owner's tenant or of the system tenant ([`usable`]).
//!
//! The upstream `clientSecret` is write-only: it is sealed at rest and never returned
//! (a deliberate divergence from HDP, whose GET returns it; documented in
//! docs/decisions.md). An update without `clientSecret` keeps the stored one.

use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::mgmt::policy;
use crate::model::identity::{Permission, SYSTEM_TENANT_ID};
use crate::model::vault::{
    new_seal_ref, parse_app_name, parse_description, parse_endpoint, parse_required, purpose,
    NewOAuthApp, OAuthApp, OAuthAppChanges, TokenAuthMethod,
};
use crate::store::StoreError;

/// Associated data of an application's sealed client secret.
pub fn secret_purpose(app_seal_ref: &str) -> String {
    purpose("oauthapp", app_seal_ref, "client_secret")
}

/// A create or update request, as received.
#[derive(Debug, Clone, Default)]
pub struct AppInput {
    pub name: String,
    pub data_store: i64,
    pub tenant_id: Option<i64>,
    pub description: Option<String>,
    pub client_id: String,
    /// Required on create; on update `None` keeps the stored secret.
    pub client_secret: Option<String>,
    pub authorize_uri: String,
    pub token_uri: String,
    pub scope: Option<String>,
    pub token_auth_method: Option<String>,
}

/// Which tenants' applications a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantFilter {
    Any,
    Id(i64),
    Name(String),
}

pub fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::OAUTH_APP_NOT_FOUND,
        format!("Invalid OAuthApplicationId: {id}"),
    )
}

fn require_manager(caller: &Principal, what: &str) -> Result<(), ApiFailure> {
    if caller.is_administrator() {
        return Ok(());
    }
    policy::require(caller, Permission::MGMT_API, what)?;
    policy::require(caller, Permission::OAUTH, what)
}

/// Whether the caller manages the applications of `tenant_id`.
async fn manages(ctx: &Context, caller: &Principal, tenant_id: i64) -> Result<bool, ApiFailure> {
    Ok(tenant_id == caller.user.tenant_id || policy::administers(ctx, caller, tenant_id).await?)
}

/// Whether a profile of `caller` may use `app`: an application of the caller's own
/// tenant or of the system tenant.
pub fn usable(caller: &Principal, app: &OAuthApp) -> bool {
    app.tenant_id == caller.user.tenant_id || app.tenant_id == SYSTEM_TENANT_ID
}

fn conflict(e: StoreError, name: &str) -> ApiFailure {
    match e {
        StoreError::Conflict(_) => ApiFailure::new(
            Code::OAUTH_APP_NAME_CONFLICT,
            format!("An OAuth application named '{name}' already exists in this tenant."),
        ),
        e => store_failure(e),
    }
}

struct Parsed {
    name: String,
    description: String,
    client_id: String,
    authorize_uri: String,
    token_uri: String,
    scope: String,
    token_auth_method: TokenAuthMethod,
}

fn parse(input: &AppInput) -> Result<Parsed, ApiFailure> {
    let name = parse_app_name("name", &input.name)?;
    if input.data_store < 1 {
        return Err(ApiFailure::invalid_field(
            "dataStore",
            "must be a positive data store id (e.g. 1 Salesforce, 54 Google Analytics, 62 Google BigQuery, 63 Autonomous REST)",
        ));
    }
    let description = parse_description(input.description.as_deref())?;
    let client_id = parse_required("clientId", Some(&input.client_id))?;
    let authorize_uri = parse_endpoint("authorizeURI", Some(&input.authorize_uri))?;
    let token_uri = parse_endpoint("tokenURI", Some(&input.token_uri))?;
    let scope = input.scope.clone().unwrap_or_default();
    if scope.len() > crate::model::vault::MAX_TEXT || scope.chars().any(char::is_control) {
        return Err(ApiFailure::invalid_field(
            "scope",
            "must be at most 8192 bytes without control characters",
        ));
    }
    let token_auth_method = match input.token_auth_method.as_deref() {
        None => TokenAuthMethod::default(),
        Some(m) => TokenAuthMethod::parse(m).ok_or_else(|| {
            ApiFailure::invalid_field(
                "tokenEndpointAuthMethod",
                format!("'{m}' is not client_secret_basic or client_secret_post"),
            )
        })?,
    };
    Ok(Parsed {
        name,
        description,
        client_id,
        authorize_uri,
        token_uri,
        scope,
        token_auth_method,
    })
}

async fn check_tenant(ctx: &Context, caller: &Principal, tenant_id: i64) -> Result<(), ApiFailure> {
    let exists = ctx
        .store
        .tenant(tenant_id)
        .await
        .map_err(store_failure)?
        .is_some();
    if !exists || !manages(ctx, caller, tenant_id).await? {
        return Err(ApiFailure::new(
            Code::TENANT_NOT_FOUND,
            format!("There is no Tenant with that id: {tenant_id}."),
        ));
    }
    Ok(())
}

/// Creates an application in `tenantId` (default: the caller's tenant).
pub async fn create(
    ctx: &Context,
    caller: &Principal,
    input: AppInput,
) -> Result<OAuthApp, ApiFailure> {
    require_manager(caller, "Creating an OAuth application")?;
    let p = parse(&input)?;
    let secret = parse_required("clientSecret", input.client_secret.as_deref())?;
    let tenant_id = input.tenant_id.unwrap_or(caller.user.tenant_id);
    check_tenant(ctx, caller, tenant_id).await?;
    let seal_ref = new_seal_ref();
    let client_secret_sealed = super::sealing::seal(ctx, &secret, &secret_purpose(&seal_ref))?;
    let new = NewOAuthApp {
        seal_ref,
        tenant_id,
        name: p.name.clone(),
        data_store: input.data_store,
        description: p.description,
        client_id: p.client_id,
        client_secret_sealed,
        authorize_uri: p.authorize_uri,
        token_uri: p.token_uri,
        scope: p.scope,
        token_auth_method: p.token_auth_method,
        now: ctx.now(),
    };
    let app = ctx
        .store
        .create_oauth_app(new)
        .await
        .map_err(|e| conflict(e, &p.name))?;
    tracing::info!(
        oauth_app_id = app.id,
        tenant = tenant_id,
        by = caller.user.id,
        "OAuth application created"
    );
    Ok(app)
}

/// The applications the caller manages, optionally of one tenant.
pub async fn list(
    ctx: &Context,
    caller: &Principal,
    filter: TenantFilter,
) -> Result<Vec<OAuthApp>, ApiFailure> {
    require_manager(caller, "Listing OAuth applications")?;
    let tenant = match filter {
        TenantFilter::Any => None,
        TenantFilter::Id(id) => {
            check_tenant(ctx, caller, id).await?;
            Some(id)
        }
        TenantFilter::Name(name) => {
            let t = ctx
                .store
                .tenant_by_name(&name)
                .await
                .map_err(store_failure)?;
            let visible = match &t {
                Some(t) => manages(ctx, caller, t.id).await?,
                None => false,
            };
            match t {
                Some(t) if visible => Some(t.id),
                _ => {
                    return Err(ApiFailure::new(
                        Code::TENANT_NOT_FOUND,
                        format!("There is no Tenant named '{name}'."),
                    ))
                }
            }
        }
    };
    let tenants: Option<Vec<i64>> = match tenant {
        Some(t) => Some(vec![t]),
        None => policy::administered(ctx, caller).await?.map(|mut v| {
            if !v.contains(&caller.user.tenant_id) {
                v.push(caller.user.tenant_id);
            }
            v
        }),
    };
    ctx.store
        .list_oauth_apps(tenants.as_deref())
        .await
        .map_err(store_failure)
}

/// The application `id`, if the caller manages its tenant.
pub async fn get(ctx: &Context, caller: &Principal, id: i64) -> Result<OAuthApp, ApiFailure> {
    require_manager(caller, "Reading an OAuth application")?;
    match ctx.store.oauth_app(id).await.map_err(store_failure)? {
        Some(app) if manages(ctx, caller, app.tenant_id).await? => Ok(app),
        _ => Err(not_found(id)),
    }
}

/// Replaces the application's fields (HDP: the same body as create). The tenant
/// cannot change; without `clientSecret` the stored secret is kept.
pub async fn update(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    input: AppInput,
) -> Result<OAuthApp, ApiFailure> {
    require_manager(caller, "Changing an OAuth application")?;
    let p = parse(&input)?;
    let secret = match input.client_secret.as_deref() {
        Some(s) => Some(parse_required("clientSecret", Some(s))?),
        None => None,
    };
    let current = get(ctx, caller, id).await?;
    if input.tenant_id.is_some_and(|t| t != current.tenant_id) {
        return Err(ApiFailure::invalid_field(
            "tenantId",
            "cannot be changed; create the application in the other tenant instead",
        ));
    }
    let client_secret_sealed = match secret {
        Some(s) => super::sealing::seal(ctx, &s, &secret_purpose(&current.seal_ref))?,
        None => current.client_secret_sealed.clone(),
    };
    let changes = OAuthAppChanges {
        name: p.name.clone(),
        data_store: input.data_store,
        description: p.description,
        client_id: p.client_id,
        client_secret_sealed,
        authorize_uri: p.authorize_uri,
        token_uri: p.token_uri,
        scope: p.scope,
        token_auth_method: p.token_auth_method,
        now: ctx.now(),
    };
    let app = ctx
        .store
        .update_oauth_app(id, changes)
        .await
        .map_err(|e| conflict(e, &p.name))?
        .ok_or_else(|| not_found(id))?;
    tracing::info!(
        oauth_app_id = id,
        by = caller.user.id,
        "OAuth application changed"
    );
    Ok(app)
}

/// Deletes the application and every profile using it.
pub async fn delete(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    require_manager(caller, "Deleting an OAuth application")?;
    get(ctx, caller, id).await?;
    if !ctx
        .store
        .delete_oauth_app(id)
        .await
        .map_err(store_failure)?
    {
        return Err(not_found(id));
    }
    tracing::info!(
        oauth_app_id = id,
        by = caller.user.id,
        "OAuth application deleted with its profiles"
    );
    Ok(())
}
