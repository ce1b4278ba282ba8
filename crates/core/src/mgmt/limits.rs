//! The Limits API use cases (HDP `/api/admin/limits`, `spec/hdp-reference.md` §3.3–§3.4;
//! SPEC §4.6): the catalogue, and values at the system and tenant levels.
//!
//! Who may do what:
//! * **Catalogue and system values, read**: Administrator (12) or Limits (27), in any
//!   tenant (a tenant's values fall back to the system's, so they are no secret to the
//!   people who manage that tenant's limits).
//! * **System values, change or reset**: a user of the system tenant holding
//!   Administrator (12) or Limits (27) (HDP: lockout is configured by a system-tenant
//!   administrator). Everyone else gets 403.
//! * **Tenant values**: Administrator (12) or Limits (27), *and* administering the
//!   tenant ([`super::policy::administers`]). Other tenants answer "There is no Tenant
//!   with that id", so their ids reveal nothing.
//!
//! Reads answer the value in force (the level's own value, else the level above, else
//! the default); a reset (DELETE) removes the level's own value.

use super::policy::administers;
use crate::auth::Principal;
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::limits::{self, LimitDef};
use crate::model::audit::EventType;
use crate::model::identity::{Permission, SYSTEM_TENANT_ID};
use crate::model::limits::LimitLevel;
use crate::store::StoreError;

/// A limit and the value in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitValue {
    pub id: i64,
    pub value: i64,
}

/// A store failure: 503 while the database is unavailable (as every other surface
/// answers), else HDP's "Problem with limits" 500.
fn failed(e: StoreError) -> ApiFailure {
    crate::auth::store_failure_as(e, Code::LIMITS_FAILED)
}

fn tenant_not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::TENANT_NOT_FOUND,
        format!("There is no Tenant with that id: {id}."),
    )
}

/// Whether the caller holds Administrator (12) or Limits (27).
fn may_manage_limits(caller: &Principal) -> bool {
    caller.is_administrator() || caller.has(Permission::LIMITS)
}

fn require_limits(caller: &Principal, what: &str) -> Result<(), ApiFailure> {
    if may_manage_limits(caller) {
        Ok(())
    } else {
        Err(ApiFailure::forbidden(format!(
            "{what} requires the Administrator (12) or Limits (27) permission."
        )))
    }
}

/// The catalogue entry of `id`, valid at `level`.
fn limit_at(id: i64, level: LimitLevel) -> Result<LimitDef, ApiFailure> {
    let def = limits::find(id).ok_or_else(|| {
        ApiFailure::new(
            Code::LIMIT_NOT_FOUND,
            format!("There is no limit with id {id}; GET /api/admin/limits lists them."),
        )
    })?;
    if !def.valid_for.allows(level) {
        let here = match level {
            LimitLevel::System => "system",
            LimitLevel::Tenant(_) => "tenant",
            LimitLevel::User(_) => "user",
        };
        return Err(ApiFailure::new(
            Code::LIMIT_LEVEL_INVALID,
            format!(
                "Limit {id} ({}) cannot be set at the {here} level; it is valid at the {} level only.",
                def.name,
                def.valid_for.describe()
            ),
        ));
    }
    Ok(def)
}

fn check_range(def: LimitDef, value: i64) -> Result<(), ApiFailure> {
    if def.in_range(value) {
        Ok(())
    } else {
        Err(ApiFailure::new(
            Code::LIMIT_OUT_OF_RANGE,
            format!("Limit value not in range({}, {}).", def.min, def.max),
        ))
    }
}

/// Fails unless the caller may change system values: a system-tenant user with
/// Administrator (12) or Limits (27).
fn require_system_writer(caller: &Principal) -> Result<(), ApiFailure> {
    let what = "Changing system limits";
    require_limits(caller, what)?;
    if caller.user.tenant_id == SYSTEM_TENANT_ID {
        Ok(())
    } else {
        Err(ApiFailure::forbidden(format!(
            "{what} is reserved to users of the system tenant; use /api/admin/limits/tenants/{}/{{limitId}} for your tenant.",
            caller.user.tenant_id
        )))
    }
}

/// Fails unless the caller manages the limits of `tenant_id`, which exists.
async fn require_tenant(
    ctx: &Context,
    caller: &Principal,
    tenant_id: i64,
) -> Result<(), ApiFailure> {
    require_limits(caller, "Managing tenant limits")?;
    if !administers(ctx, caller, tenant_id).await? {
        if tenant_id == caller.user.tenant_id {
            // Their own tenant exists as far as they know: say why, not "not found".
            return Err(ApiFailure::forbidden(format!(
                "managing the limits of tenant {tenant_id} requires admin access to it (Administrator (12) in the tenant, or being listed among its admins)."
            )));
        }
        return Err(tenant_not_found(tenant_id));
    }
    match ctx.store.tenant(tenant_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(tenant_not_found(tenant_id)),
        Err(e) => Err(failed(e)),
    }
}

/// The catalogue.
pub fn catalogue(caller: &Principal) -> Result<&'static [LimitDef], ApiFailure> {
    require_limits(caller, "Reading the limits catalogue")?;
    Ok(limits::ALL)
}

/// The value in force of every limit valid at the system level.
pub async fn system_values(
    ctx: &Context,
    caller: &Principal,
) -> Result<Vec<LimitValue>, ApiFailure> {
    require_limits(caller, "Reading system limits")?;
    let mut out = Vec::new();
    for def in limits::ALL
        .iter()
        .filter(|d| d.valid_for.allows(LimitLevel::System))
    {
        let value = limits::effective_at(ctx.store.as_ref(), *def, LimitLevel::System)
            .await
            .map_err(failed)?;
        out.push(LimitValue { id: def.id, value });
    }
    Ok(out)
}

/// The system value of limit `id` in force.
pub async fn get_system(ctx: &Context, caller: &Principal, id: i64) -> Result<i64, ApiFailure> {
    require_limits(caller, "Reading system limits")?;
    let def = limit_at(id, LimitLevel::System)?;
    limits::effective_at(ctx.store.as_ref(), def, LimitLevel::System)
        .await
        .map_err(failed)
}

/// Sets the system value of limit `id`.
pub async fn set_system(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    value: i64,
) -> Result<i64, ApiFailure> {
    require_system_writer(caller)?;
    set(ctx, caller, LimitLevel::System, id, value).await
}

/// Removes the system value of limit `id`: the default applies again.
pub async fn reset_system(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    require_system_writer(caller)?;
    reset(ctx, caller, LimitLevel::System, id).await
}

/// The value of limit `id` in force for tenant `tenant_id`.
pub async fn get_tenant(
    ctx: &Context,
    caller: &Principal,
    tenant_id: i64,
    id: i64,
) -> Result<i64, ApiFailure> {
    require_tenant(ctx, caller, tenant_id).await?;
    let level = LimitLevel::Tenant(tenant_id);
    let def = limit_at(id, level)?;
    limits::effective_at(ctx.store.as_ref(), def, level)
        .await
        .map_err(failed)
}

/// Sets tenant `tenant_id`'s own value of limit `id`.
pub async fn set_tenant(
    ctx: &Context,
    caller: &Principal,
    tenant_id: i64,
    id: i64,
    value: i64,
) -> Result<i64, ApiFailure> {
    require_tenant(ctx, caller, tenant_id).await?;
    set(ctx, caller, LimitLevel::Tenant(tenant_id), id, value).await
}

/// Removes tenant `tenant_id`'s own value of limit `id`: the system value (or the
/// default) applies again.
pub async fn reset_tenant(
    ctx: &Context,
    caller: &Principal,
    tenant_id: i64,
    id: i64,
) -> Result<(), ApiFailure> {
    require_tenant(ctx, caller, tenant_id).await?;
    reset(ctx, caller, LimitLevel::Tenant(tenant_id), id).await
}

async fn set(
    ctx: &Context,
    caller: &Principal,
    level: LimitLevel,
    id: i64,
    value: i64,
) -> Result<i64, ApiFailure> {
    let def = limit_at(id, level)?;
    check_range(def, value)?;
    ctx.store
        .set_limit(level, id, Some(value))
        .await
        .map_err(failed)?;
    tracing::info!(
        limit = id,
        name = def.name,
        ?level,
        value,
        by = caller.user.id,
        "limit set"
    );
    record_change(ctx, caller, level, def, format!("set to {value}")).await;
    Ok(value)
}

/// Records a limit change in the tenant it applies to (the system tenant for system
/// values, the caller's for a user's).
async fn record_change(
    ctx: &Context,
    caller: &Principal,
    level: LimitLevel,
    def: LimitDef,
    what: String,
) {
    let (tenant, subject) = match level {
        LimitLevel::System => (SYSTEM_TENANT_ID, format!("limit {} (system)", def.id)),
        LimitLevel::Tenant(t) => (t, format!("limit {} (tenant {t})", def.id)),
        LimitLevel::User(u) => (
            caller.user.tenant_id,
            format!("limit {} (user {u})", def.id),
        ),
    };
    ctx.audit
        .record(
            super::audit::by(ctx, caller, EventType::LimitChanged, tenant)
                .subject(subject)
                .reason(format!("{}: {what}", def.name)),
        )
        .await;
}

async fn reset(
    ctx: &Context,
    caller: &Principal,
    level: LimitLevel,
    id: i64,
) -> Result<(), ApiFailure> {
    let def = limit_at(id, level)?;
    ctx.store.set_limit(level, id, None).await.map_err(failed)?;
    tracing::info!(
        limit = id,
        name = def.name,
        ?level,
        by = caller.user.id,
        "limit reset"
    );
    record_change(ctx, caller, level, def, "reset to the level above".into()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_limit_the_level_and_the_range() {
        let e = limit_at(3, LimitLevel::Tenant(2)).expect_err("system only");
        assert_eq!(e.code, Code::LIMIT_LEVEL_INVALID);
        assert_eq!(
            e.message,
            "Limit 3 (PasswordLockoutLimit) cannot be set at the tenant level; it is valid at the system level only."
        );
        assert_eq!(
            limit_at(77, LimitLevel::System).expect_err("unknown").code,
            Code::LIMIT_NOT_FOUND
        );
        let r = check_range(limits::ACCESS_TOKEN_LIFETIME, 59).expect_err("range");
        assert_eq!(r.message, "Limit value not in range(60, 86400).");
        assert_eq!(r.code.code, 222207929);
        assert!(check_range(limits::ACCESS_TOKEN_LIFETIME, 60).is_ok());
    }

    #[test]
    fn an_unavailable_database_is_503_and_other_store_failures_500() {
        let down = failed(StoreError::Unavailable("connection refused".into()));
        assert_eq!(down.code, Code::UNAVAILABLE);
        assert_eq!(down.code.kind, crate::error::Kind::Unavailable);
        assert!(!down.message.contains("refused"), "{}", down.message);
        let broken = failed(StoreError::Backend("no such table: limits".into()));
        assert_eq!(broken.code, Code::LIMITS_FAILED);
        assert_eq!(broken.code.kind, crate::error::Kind::Internal);
        assert!(!broken.message.contains("table"), "{}", broken.message);
    }
}
