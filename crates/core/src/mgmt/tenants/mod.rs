//! Tenants (HDP `/api/admin/tenants` and `/api/admin/tenants/{id}/admins`,
//! `spec/hdp-reference.md` §3.2; SPEC §4.5): create, list, read, update, delete, and the
//! list of users with admin access on a tenant.
//!
//! Who may do what, on top of [`super::policy`]:
//!
//! * Every operation needs Administrator (12) or TenantAPI (25) ([`policy::require`]).
//! * A caller sees the tenants they administer ([`policy::administered`]): the
//!   super-user all of them, anyone else those whose `admins` list names them (and a
//!   child tenant's Administrator their own tenant). Any other id answers HDP's
//!   222208573 "There is no Tenant with that id", exactly like an unknown id.
//! * Creating, changing and deleting tenants is reserved to users of the system tenant:
//!   a child tenant's record (its host names, its allowed scopes, its status) is the
//!   operator's configuration, not something the tenant grants itself. The system
//!   tenant itself is changed by the super-user only, and is never deleted or
//!   deactivated.
//! * The creator of a tenant is added to its admins (HDP: "users have administrative
//!   access on any tenant they create"). Admins must be users of the system tenant or
//!   of the tenant itself (HDP, "Update the list of administrators on a tenant").
//! * Imported roles are copies of system-tenant roles; a caller who is not the
//!   super-user may import only roles whose permissions they hold themselves.

use super::policy;
use crate::actor::Actor;
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::model::client_app::parse_scopes;
use crate::model::identity::input::{
    parse_status, HostName, TenantDescription, TenantName, STATUS_ACTIVE, STATUS_INACTIVE,
};
use crate::model::identity::{
    NewTenant, Permission, Tenant, TenantChanges, ROLE_TENANT_ADMINISTRATOR, ROLE_USER,
    SYSTEM_TENANT_ID,
};
use crate::model::registration::{PolicyInput, RegistrationMode, RegistrationPolicy};
use crate::store::StoreError;

/// Roles imported into a new tenant when the request names none: User (2) and Tenant
/// Administrator (3), as in HDP's multitenancy walkthrough.
pub const DEFAULT_IMPORTED_ROLES: [i64; 2] = [ROLE_USER, ROLE_TENANT_ADMINISTRATOR];
/// Most users one `admins` list may name.
pub const MAX_ADMINS: usize = 100;
/// Most roles one request may import.
pub const MAX_IMPORTED_ROLES: usize = 64;

const WHAT: &str = "Using the Tenant API";

/// A creation request, as received.
#[derive(Debug, Clone, Default)]
pub struct Creation {
    pub name: String,
    pub description: Option<String>,
    /// Must be 1, the system tenant (the only possible parent).
    pub parent_tenant: i64,
    /// 0 inactive, 1 active; default 1.
    pub status: Option<i64>,
    /// System-tenant role ids to copy; default [`DEFAULT_IMPORTED_ROLES`].
    pub imported_roles: Option<Vec<i64>>,
    /// User ids given admin access, besides the creator.
    pub admins: Option<Vec<i64>>,
    /// Extension: host names served for this tenant; default none.
    pub host_names: Option<Vec<String>>,
    /// Extension: scopes tokens of this tenant may carry; default `api.access.odata`.
    pub allowed_scopes: Option<Vec<String>>,
    /// Extension: who may register clients (RFC 7591); default closed.
    pub client_registration: Option<PolicyInput>,
}

/// An update request. `name`, `description` and `status` are replaced (an absent
/// description is cleared); host names, allowed scopes and admins only when given, so an
/// HDP script that knows nothing of the extensions does not wipe them.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub name: String,
    pub description: Option<String>,
    /// May be repeated (1; absent or null for the system tenant), not changed.
    pub parent_tenant: Option<i64>,
    pub status: i64,
    pub host_names: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub admins: Option<Vec<i64>>,
    /// Replaced when given (absent fields of it take their defaults).
    pub client_registration: Option<PolicyInput>,
}

/// A tenant with what its API shape shows besides the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantView {
    pub tenant: Tenant,
    /// Ids of the tenant's roles, ordered.
    pub roles: Vec<i64>,
    /// Ids of the users with admin access, ordered.
    pub admins: Vec<i64>,
    /// Host names, lowercased and ordered.
    pub hosts: Vec<String>,
    /// Who may register clients here (the default, closed, when never set).
    pub client_registration: RegistrationPolicy,
}

impl TenantView {
    /// HDP's `status`: 1 active, 0 inactive.
    pub fn status(&self) -> i64 {
        if self.tenant.active {
            STATUS_ACTIVE
        } else {
            STATUS_INACTIVE
        }
    }
}

/// HDP's 222208573, for unknown ids and tenants the caller may not administer alike.
pub fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::TENANT_NOT_FOUND,
        format!("There is no Tenant with that id: {id}."),
    )
}

/// `allowedScopes`, parsed as client-application scopes are.
fn parse_allowed_scopes(list: Option<&[String]>) -> Result<Vec<String>, ApiFailure> {
    parse_scopes(list).map_err(|mut e| {
        e.message = e.message.replacen("'scopes'", "'allowedScopes'", 1);
        e
    })
}

/// Fails with 403 unless the caller may use the Tenant API at all.
fn require_tenant_api(caller: Actor<'_>) -> Result<(), ApiFailure> {
    policy::require(caller, Permission::TENANT_API, WHAT)
}

/// Fails with 403 unless the caller may create, change or delete tenants.
fn require_system_caller(caller: Actor<'_>, what: &str) -> Result<(), ApiFailure> {
    if caller.tenant_id() == SYSTEM_TENANT_ID {
        Ok(())
    } else {
        Err(ApiFailure::forbidden(format!(
            "{what} is reserved to users of the system tenant; ask a system administrator."
        )))
    }
}

/// Fails with 403 unless the caller may change tenant `id` (which they administer).
fn require_may_change(caller: Actor<'_>, id: i64) -> Result<(), ApiFailure> {
    require_system_caller(caller, "Changing a tenant")?;
    if id == SYSTEM_TENANT_ID && !policy::is_super_admin(caller) {
        return Err(ApiFailure::forbidden(
            "only a system administrator may change the system tenant.",
        ));
    }
    Ok(())
}

/// The tenant with its roles, admins and host names.
async fn view(ctx: &Context, tenant: Tenant) -> Result<TenantView, ApiFailure> {
    let roles = ctx
        .store
        .roles(tenant.id)
        .await
        .map_err(store_failure)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let admins = ctx
        .store
        .tenant_admins(tenant.id)
        .await
        .map_err(store_failure)?;
    let hosts = ctx
        .store
        .tenant_hosts(tenant.id)
        .await
        .map_err(store_failure)?;
    let client_registration = ctx
        .store
        .registration_policy(tenant.id)
        .await
        .map_err(store_failure)?
        .unwrap_or_default();
    Ok(TenantView {
        tenant,
        roles,
        admins,
        hosts,
        client_registration,
    })
}

/// Tenant `id` if the caller may use the tenant API, it exists and the caller administers it.
async fn visible(ctx: &Context, caller: &Principal, id: i64) -> Result<Tenant, ApiFailure> {
    require_tenant_api(caller.into())?;
    if !policy::administers(ctx, caller, id).await? {
        return Err(not_found(id));
    }
    ctx.store
        .tenant(id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| not_found(id))
}

/// 409 when another tenant has this name (ignoring case) or uses one of these hosts.
async fn check_unique(
    ctx: &Context,
    id: Option<i64>,
    name: &TenantName,
    hosts: &[HostName],
) -> Result<(), ApiFailure> {
    let wanted = name.as_str().to_lowercase();
    let tenants = ctx.store.tenants().await.map_err(store_failure)?;
    if let Some(t) = tenants
        .iter()
        .find(|t| Some(t.id) != id && t.name.to_lowercase() == wanted)
    {
        return Err(ApiFailure::new(
            Code::TENANT_NAME_CONFLICT,
            format!(
                "A tenant named '{}' already exists; tenant names are unique, ignoring case.",
                t.name
            ),
        ));
    }
    for h in hosts {
        let owner = ctx
            .store
            .tenant_by_host(h.as_str())
            .await
            .map_err(store_failure)?;
        if owner.is_some_and(|t| Some(t.id) != id) {
            return Err(ApiFailure::new(
                Code::TENANT_HOST_CONFLICT,
                format!(
                    "The host name '{}' is already used by another tenant.",
                    h.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// 409 when `policy` is open (accepts metadata documents) and another tenant than
/// `id` already is (does): at most one of each, since the unauthenticated endpoints
/// need one tenant to register into.
async fn check_registration_unique(
    ctx: &Context,
    id: Option<i64>,
    policy: &RegistrationPolicy,
) -> Result<(), ApiFailure> {
    let others = ctx
        .store
        .registration_policies()
        .await
        .map_err(store_failure)?;
    for (tenant_id, other) in others.iter().filter(|(t, _)| Some(*t) != id) {
        let what =
            if policy.policy == RegistrationMode::Open && other.policy == RegistrationMode::Open {
                "open for client registration"
            } else if policy.metadata_documents && other.metadata_documents {
                "the tenant that accepts client ID metadata documents"
            } else {
                continue;
            };
        let name = ctx
            .store
            .tenant(*tenant_id)
            .await
            .map_err(store_failure)?
            .map(|t| t.name)
            .unwrap_or_default();
        return Err(registration_conflict(&format!(
            "Tenant {tenant_id} ('{name}') is already {what}; at most one tenant may be. Change that tenant first."
        )));
    }
    Ok(())
}

fn registration_conflict(message: &str) -> ApiFailure {
    ApiFailure::new(Code::REGISTRATION_POLICY_CONFLICT, message.to_owned())
}

/// Stores the policy; a race lost to another tenant after the check is still a 409.
async fn store_registration_policy(
    ctx: &Context,
    id: i64,
    policy: &RegistrationPolicy,
) -> Result<(), ApiFailure> {
    match ctx.store.set_registration_policy(id, policy).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(detail)) => {
            tracing::info!(%detail, "registration policy write lost a race");
            Err(registration_conflict(
                "Another tenant became open for client registration (or took metadata documents) at the same time; at most one tenant may be.",
            ))
        }
        Err(e) => Err(store_failure(e)),
    }
}

/// A store failure of a tenant write; a uniqueness race lost after [`check_unique`]
/// passed is still a 409.
fn write_failure(e: StoreError) -> ApiFailure {
    match e {
        StoreError::Conflict(detail) => {
            tracing::info!(%detail, "tenant write lost a uniqueness race");
            ApiFailure::new(
                Code::CONFLICT,
                "Another tenant took this name or one of these host names at the same time; check and try again.",
            )
        }
        e => store_failure(e),
    }
}

/// The roles to import: system-tenant roles, each once, and (unless the caller is the
/// super-user) only roles whose every permission the caller holds.
async fn parse_imported_roles(
    ctx: &Context,
    caller: Actor<'_>,
    list: Option<&[i64]>,
) -> Result<Vec<i64>, ApiFailure> {
    let list = list.unwrap_or(&DEFAULT_IMPORTED_ROLES);
    if list.len() > MAX_IMPORTED_ROLES {
        return Err(ApiFailure::invalid_field(
            "importedRoles",
            format!("at most {MAX_IMPORTED_ROLES} roles may be imported"),
        ));
    }
    let system_roles = ctx
        .store
        .roles(SYSTEM_TENANT_ID)
        .await
        .map_err(store_failure)?;
    let mut out: Vec<i64> = Vec::with_capacity(list.len());
    for id in list {
        let Some(role) = system_roles.iter().find(|r| r.id == *id) else {
            let known: Vec<String> = system_roles
                .iter()
                .map(|r| format!("{} ({})", r.id, r.name))
                .collect();
            return Err(ApiFailure::invalid_field(
                "importedRoles",
                format!(
                    "{id} is not a role of the system tenant; roles that can be imported: {}",
                    known.join(", ")
                ),
            ));
        };
        if !policy::is_super_admin(caller) {
            if let Some(p) = role
                .permissions
                .iter()
                .find(|p| !caller.has(Permission(**p)))
            {
                return Err(policy::denied(
                    &format!("Importing role {} ({})", role.id, role.name),
                    Permission(*p),
                ));
            }
        }
        if !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// The admins list: existing users of the system tenant or of `tenant_id` (the tenant
/// being changed; `None` while creating), each once, ordered.
async fn parse_admins(
    ctx: &Context,
    list: &[i64],
    tenant_id: Option<i64>,
) -> Result<Vec<i64>, ApiFailure> {
    if list.len() > MAX_ADMINS {
        return Err(ApiFailure::invalid_field(
            "admins",
            format!("at most {MAX_ADMINS} admins are allowed"),
        ));
    }
    let mut out: Vec<i64> = Vec::with_capacity(list.len());
    for id in list {
        if out.contains(id) {
            continue;
        }
        let user = ctx.store.user(*id).await.map_err(store_failure)?;
        let eligible =
            user.is_some_and(|u| u.tenant_id == SYSTEM_TENANT_ID || Some(u.tenant_id) == tenant_id);
        if !eligible {
            let where_ = if tenant_id.is_some_and(|t| t != SYSTEM_TENANT_ID) {
                "the system tenant or this tenant"
            } else {
                "the system tenant"
            };
            return Err(ApiFailure::invalid_field(
                "admins",
                format!("there is no user with id {id} in {where_}; tenant admins must be users of the system tenant or of the tenant itself"),
            ));
        }
        out.push(*id);
    }
    out.sort_unstable();
    Ok(out)
}

/// The tenants the caller administers, ordered by id.
pub async fn list(ctx: &Context, caller: &Principal) -> Result<Vec<TenantView>, ApiFailure> {
    require_tenant_api(caller.into())?;
    let scope = policy::administered(ctx, caller).await?;
    let tenants = ctx.store.tenants().await.map_err(store_failure)?;
    let mut out = Vec::new();
    for t in tenants {
        if scope
            .as_ref()
            .is_none_or(|ids| ids.binary_search(&t.id).is_ok())
        {
            out.push(view(ctx, t).await?);
        }
    }
    Ok(out)
}

/// Creates a child of the system tenant; the caller gets admin access on it (unless
/// the caller is the operator, who is no user).
pub async fn create<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    req: Creation,
) -> Result<TenantView, ApiFailure> {
    let caller = caller.into();
    require_tenant_api(caller)?;
    require_system_caller(caller, "Creating a tenant")?;
    let name = TenantName::parse(&req.name)?;
    let description = TenantDescription::parse(req.description.as_deref())?;
    if req.parent_tenant != SYSTEM_TENANT_ID {
        return Err(ApiFailure::invalid_field(
            "parentTenant",
            format!(
                "is {}; the system tenant ({SYSTEM_TENANT_ID}) is the only possible parent",
                req.parent_tenant
            ),
        ));
    }
    let active = parse_status(req.status.unwrap_or(STATUS_ACTIVE))?;
    let hosts = HostName::parse_list(req.host_names.as_deref().unwrap_or_default())?;
    let allowed_scopes = parse_allowed_scopes(req.allowed_scopes.as_deref())?;
    let imported_roles = parse_imported_roles(ctx, caller, req.imported_roles.as_deref()).await?;
    let mut admins = parse_admins(ctx, req.admins.as_deref().unwrap_or_default(), None).await?;
    if let Some(creator) = caller.user_id() {
        if !admins.contains(&creator) {
            admins.push(creator);
            admins.sort_unstable();
        }
    }
    let registration = req
        .client_registration
        .map(PolicyInput::parse)
        .transpose()?;
    check_unique(ctx, None, &name, &hosts).await?;
    if let Some(p) = &registration {
        check_registration_unique(ctx, None, p).await?;
    }
    let new = NewTenant {
        name: name.into_inner(),
        description: description.into_inner(),
        active,
        allowed_scopes,
        hosts: hosts.into_iter().map(HostName::into_inner).collect(),
        imported_roles,
        admins,
        now: ctx.now(),
    };
    let tenant = ctx.store.create_tenant(new).await.map_err(write_failure)?;
    if let Some(p) = registration.filter(|p| *p != RegistrationPolicy::default()) {
        if let Err(e) = store_registration_policy(ctx, tenant.id, &p).await {
            // Lost a race after the check: undo the create, so the refusal changes nothing.
            if let Err(undo) = ctx.store.delete_tenant(tenant.id).await {
                tracing::error!(tenant_id = tenant.id, error = %undo, "undoing a tenant create failed");
            }
            return Err(e);
        }
    }
    tracing::info!(
        tenant_id = tenant.id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "tenant created"
    );
    crate::mgmt::audit::tenant_changed(ctx, caller, tenant.id, tenant.id, "created").await;
    view(ctx, tenant).await
}

/// Tenant `id`, if the caller administers it.
pub async fn get(ctx: &Context, caller: &Principal, id: i64) -> Result<TenantView, ApiFailure> {
    let tenant = visible(ctx, caller, id).await?;
    view(ctx, tenant).await
}

/// Replaces the tenant's fields (see [`Update`]).
pub async fn update(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    req: Update,
) -> Result<TenantView, ApiFailure> {
    let current = visible(ctx, caller, id).await?;
    require_may_change(caller.into(), id)?;
    let name = TenantName::parse(&req.name)?;
    let description = TenantDescription::parse(req.description.as_deref())?;
    match (current.parent_id, req.parent_tenant) {
        (_, None) => {}
        (Some(parent), Some(p)) if p == parent => {}
        (None, Some(p)) => {
            return Err(ApiFailure::invalid_field(
                "parentTenant",
                format!("is {p}; the system tenant has no parent (send null or leave it out)"),
            ))
        }
        (Some(parent), Some(p)) => {
            return Err(ApiFailure::invalid_field(
                "parentTenant",
                format!("is {p}; a tenant's parent cannot change (it is {parent})"),
            ))
        }
    }
    let active = parse_status(req.status)?;
    if id == SYSTEM_TENANT_ID && !active {
        return Err(ApiFailure::invalid_field(
            "status",
            "the system tenant (id 1) cannot be deactivated",
        ));
    }
    let hosts = match req.host_names.as_deref() {
        Some(list) => HostName::parse_list(list)?,
        None => {
            let stored = ctx.store.tenant_hosts(id).await.map_err(store_failure)?;
            stored.into_iter().map(HostName::from_stored).collect()
        }
    };
    let allowed_scopes = match req.allowed_scopes.as_deref() {
        Some(list) => parse_allowed_scopes(Some(list))?,
        None => current.allowed_scopes.clone(),
    };
    let admins = match req.admins.as_deref() {
        Some(list) => Some(parse_admins(ctx, list, Some(id)).await?),
        None => None,
    };
    let registration = req
        .client_registration
        .map(PolicyInput::parse)
        .transpose()?;
    check_unique(ctx, Some(id), &name, &hosts).await?;
    if let Some(p) = &registration {
        check_registration_unique(ctx, Some(id), p).await?;
        store_registration_policy(ctx, id, p).await?;
    }
    let changes = TenantChanges {
        name: name.into_inner(),
        description: description.into_inner(),
        active,
        allowed_scopes,
        hosts: hosts.into_iter().map(HostName::into_inner).collect(),
        now: ctx.now(),
    };
    let tenant = ctx
        .store
        .update_tenant(id, changes)
        .await
        .map_err(write_failure)?
        .ok_or_else(|| not_found(id))?;
    if let Some(admins) = admins {
        ctx.store
            .set_tenant_admins(id, &admins)
            .await
            .map_err(store_failure)?;
    }
    tracing::info!(
        tenant_id = id,
        by = caller.user.id,
        active,
        "tenant updated"
    );
    crate::mgmt::audit::tenant_changed(ctx, caller, id, id, "updated").await;
    view(ctx, tenant).await
}

/// Deletes the tenant with everything in it (users, roles, applications, consents).
pub async fn delete(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    visible(ctx, caller, id).await?;
    if id == SYSTEM_TENANT_ID {
        return Err(ApiFailure::new(
            Code::SYSTEM_TENANT_PROTECTED,
            "The system tenant (id 1) cannot be deleted.",
        ));
    }
    require_may_change(caller.into(), id)?;
    if !ctx.store.delete_tenant(id).await.map_err(store_failure)? {
        return Err(not_found(id));
    }
    tracing::info!(tenant_id = id, by = caller.user.id, "tenant deleted");
    crate::mgmt::audit::tenant_changed(ctx, caller, caller.user.tenant_id, id, "deleted").await;
    Ok(())
}

/// Ids of the users with admin access on tenant `id`.
pub async fn admins(ctx: &Context, caller: &Principal, id: i64) -> Result<Vec<i64>, ApiFailure> {
    visible(ctx, caller, id).await?;
    ctx.store.tenant_admins(id).await.map_err(store_failure)
}

/// Replaces the users with admin access on tenant `id`; answers the new list.
pub async fn set_admins(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    list: &[i64],
) -> Result<Vec<i64>, ApiFailure> {
    visible(ctx, caller, id).await?;
    require_may_change(caller.into(), id)?;
    let admins = parse_admins(ctx, list, Some(id)).await?;
    ctx.store
        .set_tenant_admins(id, &admins)
        .await
        .map_err(store_failure)?;
    tracing::info!(
        tenant_id = id,
        by = caller.user.id,
        count = admins.len(),
        "tenant admins replaced"
    );
    crate::mgmt::audit::tenant_changed(
        ctx,
        caller,
        id,
        id,
        &format!("admins replaced: {admins:?}"),
    )
    .await;
    ctx.store.tenant_admins(id).await.map_err(store_failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_errors_name_allowed_scopes() {
        let refused = parse_allowed_scopes(Some(&["email".into()]))
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(refused.starts_with("Invalid value for 'allowedScopes': 'email'"));
        assert_eq!(
            parse_allowed_scopes(None).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
    }
}
