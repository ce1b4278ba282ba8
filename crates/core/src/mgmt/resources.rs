//! The resource servers API's use cases (`/api/admin/resources`, RFC 8707): list,
//! create, get, update and delete the resource servers of a tenant.
//!
//! Who may do what: the administrators of a tenant ([`super::policy::administers`]:
//! Administrator (12) in it, listed among its admins, or the system tenant's
//! super-user, who may name any tenant) manage its resource servers. Other tenants'
//! resources answer "not found", so their ids reveal nothing.
//!
//! Portcullis's own APIs ([`crate::oauth::resource::built_in`]) are listed first,
//! read-only and without an id: they are not stored and cannot be changed.

use super::policy::administers;
use crate::actor::Actor;
use crate::auth::store_failure;
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::model::resource::{ResourceInput, ResourceServer};
use crate::store::StoreError;

/// The fields of a create or update, as sent.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// The tenant (create: default the caller's; update: must be the resource's own).
    pub tenant_id: Option<i64>,
    pub uri: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub access_token_lifetime: Option<i64>,
}

fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::RESOURCE_NOT_FOUND,
        format!("There is no resource server with id {id}."),
    )
}

fn tenant_not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::TENANT_NOT_FOUND,
        format!("There is no Tenant with that id: {id}."),
    )
}

fn input(f: &Fields) -> Result<ResourceInput, ApiFailure> {
    ResourceInput::new(&f.uri, &f.name, &f.scopes, f.access_token_lifetime)
        .map_err(|(field, why)| ApiFailure::invalid_field(field, why))
}

fn write_failed(e: StoreError, uri: &str) -> ApiFailure {
    match e {
        StoreError::Conflict(_) => ApiFailure::new(
            Code::RESOURCE_URI_CONFLICT,
            format!("This tenant already has a resource server with the URI '{uri}'."),
        ),
        e => store_failure(e),
    }
}

/// Fails unless the caller administers `tenant_id`, which exists.
async fn require_tenant(
    ctx: &Context,
    caller: Actor<'_>,
    tenant_id: i64,
) -> Result<(), ApiFailure> {
    if !administers(ctx, caller, tenant_id).await? {
        if tenant_id == caller.tenant_id() {
            return Err(ApiFailure::forbidden(format!(
                "managing the resource servers of tenant {tenant_id} requires admin access to it (Administrator (12) in the tenant, or being listed among its admins)."
            )));
        }
        return Err(tenant_not_found(tenant_id));
    }
    match ctx.store.tenant(tenant_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(tenant_not_found(tenant_id)),
        Err(e) => Err(store_failure(e)),
    }
}

/// The stored resource `id`, if the caller administers its tenant.
async fn visible(ctx: &Context, caller: Actor<'_>, id: i64) -> Result<ResourceServer, ApiFailure> {
    let r = ctx
        .store
        .resource(id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| not_found(id))?;
    if !administers(ctx, caller, r.tenant_id).await? {
        return Err(not_found(id));
    }
    Ok(r)
}

/// The resource servers of `tenant_id` (default: the caller's tenant): the built-in
/// ones first, then the registered ones by id.
pub async fn list<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: Option<i64>,
) -> Result<Vec<ResourceServer>, ApiFailure> {
    let caller = caller.into();
    let tenant_id = tenant_id.unwrap_or(caller.tenant_id());
    require_tenant(ctx, caller, tenant_id).await?;
    let mut out = crate::oauth::resource::built_in(ctx.signer.issuer(), tenant_id);
    out.extend(
        ctx.store
            .list_resources(tenant_id)
            .await
            .map_err(store_failure)?,
    );
    Ok(out)
}

/// Registers a resource server in `fields.tenant_id` (default: the caller's tenant).
pub async fn create<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    fields: Fields,
) -> Result<ResourceServer, ApiFailure> {
    let caller = caller.into();
    let tenant_id = fields.tenant_id.unwrap_or(caller.tenant_id());
    require_tenant(ctx, caller, tenant_id).await?;
    let input = input(&fields)?;
    refuse_built_in(ctx, &input)?;
    let r = ctx
        .store
        .create_resource(tenant_id, &input, ctx.now())
        .await
        .map_err(|e| write_failed(e, input.uri.as_str()))?;
    tracing::info!(
        resource = r.id,
        tenant = tenant_id,
        "resource server registered"
    );
    Ok(r)
}

/// Portcullis's own identifiers cannot be registered again.
fn refuse_built_in(ctx: &Context, input: &ResourceInput) -> Result<(), ApiFailure> {
    let own = crate::oauth::resource::built_in(ctx.signer.issuer(), 0);
    if own.iter().any(|b| b.uri == input.uri) {
        return Err(ApiFailure::new(
            Code::RESOURCE_URI_CONFLICT,
            format!(
                "'{}' is one of Portcullis's own APIs, present in every tenant; it cannot be registered.",
                input.uri
            ),
        ));
    }
    Ok(())
}

/// One resource server.
pub async fn get<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
) -> Result<ResourceServer, ApiFailure> {
    visible(ctx, caller.into(), id).await
}

/// Replaces every field of a resource server. Tokens already issued keep the
/// audience and lifetime they were issued with.
pub async fn update<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
    fields: Fields,
) -> Result<ResourceServer, ApiFailure> {
    let caller = caller.into();
    let current = visible(ctx, caller, id).await?;
    if fields.tenant_id.is_some_and(|t| t != current.tenant_id) {
        return Err(ApiFailure::invalid_field(
            "tenantId",
            "a resource server cannot move to another tenant.",
        ));
    }
    let input = input(&fields)?;
    refuse_built_in(ctx, &input)?;
    ctx.store
        .update_resource(id, &input)
        .await
        .map_err(|e| write_failed(e, input.uri.as_str()))?
        .ok_or_else(|| not_found(id))
}

/// Deletes a resource server: new tokens can no longer be asked for it, and grants
/// that named it can no longer be refreshed for it.
pub async fn delete<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
) -> Result<(), ApiFailure> {
    let caller = caller.into();
    visible(ctx, caller, id).await?;
    if !ctx.store.delete_resource(id).await.map_err(store_failure)? {
        return Err(not_found(id));
    }
    tracing::info!(resource = id, "resource server deleted");
    Ok(())
}
