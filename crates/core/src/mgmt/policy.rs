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
//! Resources of a tenant the caller may not administer answer "not found", so their
//! ids reveal nothing; a missing permission answers 403 naming it.

use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::ApiFailure;
use crate::identity::{Permission, PERMISSIONS, SYSTEM_TENANT_ID};

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
pub fn is_super_admin(caller: &Principal) -> bool {
    caller.is_administrator() && caller.user.tenant_id == SYSTEM_TENANT_ID
}

/// Fails with 403 unless the caller holds `p` (or Administrator).
pub fn require(caller: &Principal, p: Permission, what: &str) -> Result<(), ApiFailure> {
    if caller.is_administrator() || caller.has(p) {
        Ok(())
    } else {
        Err(denied(what, p))
    }
}

/// Whether the caller administers `tenant_id` at all (any operation).
pub async fn administers(
    ctx: &Context,
    caller: &Principal,
    tenant_id: i64,
) -> Result<bool, ApiFailure> {
    if is_super_admin(caller) || (caller.is_administrator() && caller.user.tenant_id == tenant_id) {
        return Ok(true);
    }
    let tenants = ctx
        .store
        .administered_tenants(caller.user.id)
        .await
        .map_err(store_failure)?;
    Ok(tenants.binary_search(&tenant_id).is_ok())
}

/// The tenants the caller administers: `None` means every tenant (super-user).
pub async fn administered(
    ctx: &Context,
    caller: &Principal,
) -> Result<Option<Vec<i64>>, ApiFailure> {
    if is_super_admin(caller) {
        return Ok(None);
    }
    let mut tenants = ctx
        .store
        .administered_tenants(caller.user.id)
        .await
        .map_err(store_failure)?;
    if caller.is_administrator() && !tenants.contains(&caller.user.tenant_id) {
        tenants.push(caller.user.tenant_id);
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
