//! Who may administer what (HDP §3.1–§3.2), in one place so every surface applies the
//! same rules:
//!
//! * **Super-user**: a user of the system tenant holding Administrator (12) may do
//!   everything in every tenant.
//! * **Administrator of a child tenant**: a child-tenant user holding Administrator (12)
//!   administers their own tenant only.
//! * **Tenant admin access**: a user listed among a tenant's admins
//!   (`/api/admin/tenants/{id}/admins`) administers that tenant, for the operations
//!   whose permission they hold (e.g. CreateUsers 13 to create users there).
//!
//! * **Operator**: the person at the console ([`crate::actor::Operator`]) counts as the
//!   super-user; every helper here takes an [`Actor`], so the admin commands and the
//!   API pass the same checks.
//!
//! Resources of a tenant the caller may not administer answer "not found", so their
//! ids reveal nothing; a missing permission answers 403 naming it.

use crate::actor::Actor;
use crate::auth::store_failure;
use crate::context::Context;
use crate::error::ApiFailure;
use crate::model::identity::{Permission, PERMISSIONS, SYSTEM_TENANT_ID};

/// The catalogue name of a permission id.
pub fn permission_name(p: Permission) -> &'static str {
    PERMISSIONS
        .iter()
        .find(|(id, _, _)| *id == p.0)
        .map(|(_, n, _)| *n)
        .unwrap_or("unknown")
}

/// A 403 naming the operation and the permission it needs.
pub fn denied(what: &str, p: Permission) -> ApiFailure {
    ApiFailure::forbidden(format!(
        "{what} requires the {} permission ({}).",
        permission_name(p),
        p.0
    ))
}

/// Whether the caller is the system-wide super-user.
pub fn is_super_admin<'a>(caller: impl Into<Actor<'a>>) -> bool {
    let caller = caller.into();
    caller.is_administrator() && caller.tenant_id() == SYSTEM_TENANT_ID
}

/// Fails with 403 unless the caller holds `p` (or Administrator).
pub fn require<'a>(
    caller: impl Into<Actor<'a>>,
    p: Permission,
    what: &str,
) -> Result<(), ApiFailure> {
    let caller = caller.into();
    if caller.is_administrator() || caller.has(p) {
        Ok(())
    } else {
        Err(denied(what, p))
    }
}

/// Whether the caller administers `tenant_id` at all (any operation).
pub async fn administers<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: i64,
) -> Result<bool, ApiFailure> {
    let caller = caller.into();
    if is_super_admin(caller) || (caller.is_administrator() && caller.tenant_id() == tenant_id) {
        return Ok(true);
    }
    let Some(user_id) = caller.user_id() else {
        return Ok(false);
    };
    let tenants = ctx
        .store
        .administered_tenants(user_id)
        .await
        .map_err(store_failure)?;
    Ok(tenants.binary_search(&tenant_id).is_ok())
}

/// The tenants the caller administers: `None` means every tenant (super-user).
pub async fn administered<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
) -> Result<Option<Vec<i64>>, ApiFailure> {
    let caller = caller.into();
    if is_super_admin(caller) {
        return Ok(None);
    }
    let Some(user_id) = caller.user_id() else {
        return Ok(Some(Vec::new()));
    };
    let mut tenants = ctx
        .store
        .administered_tenants(user_id)
        .await
        .map_err(store_failure)?;
    if caller.is_administrator() && !tenants.contains(&caller.tenant_id()) {
        tenants.push(caller.tenant_id());
        tenants.sort_unstable();
    }
    Ok(Some(tenants))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_name_the_permission() {
        let f = denied("Creating a user", Permission::CREATE_USERS);
        assert_eq!(
            f.message,
            "Permission denied: Creating a user requires the CreateUsers permission (13)."
        );
        assert_eq!(f.code, crate::error::Code::FORBIDDEN);
    }
}
