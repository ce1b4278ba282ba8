//! The limits catalogue (HDP's Limits API, `spec/hdp-reference.md` §3.3) with the
//! defaults in force when nothing is set, and how they are resolved.

use crate::identity::LockoutPolicy;
use crate::store::{Store, StoreResult};

/// A limit: id, name, default, minimum, maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitDef {
    pub id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
}

pub const PASSWORD_LOCKOUT_INTERVAL: LimitDef = LimitDef {
    id: 2,
    name: "PasswordLockoutInterval",
    description: "Seconds over which failed sign-ins are counted.",
    default: 900,
    min: 1,
    max: 1_000_000_000,
};
pub const PASSWORD_LOCKOUT_LIMIT: LimitDef = LimitDef {
    id: 3,
    name: "PasswordLockoutLimit",
    description: "Consecutive failed sign-ins that lock an account; 0 disables lockout.",
    default: 3,
    min: 0,
    max: 1_000_000,
};
pub const PASSWORD_LOCKOUT_PERIOD: LimitDef = LimitDef {
    id: 4,
    name: "PasswordLockoutPeriod",
    description: "Seconds an account stays locked.",
    default: 1800,
    min: 1,
    max: 221_000_000_000,
};

/// Every limit this server knows.
pub const ALL: &[LimitDef] = &[
    PASSWORD_LOCKOUT_INTERVAL,
    PASSWORD_LOCKOUT_LIMIT,
    PASSWORD_LOCKOUT_PERIOD,
];

/// The value of `def` for a user of `tenant_id`, falling back to the default.
pub async fn value(
    store: &dyn Store,
    def: LimitDef,
    tenant_id: i64,
    user_id: Option<i64>,
) -> StoreResult<i64> {
    Ok(store
        .limit(def.id, tenant_id, user_id)
        .await?
        .unwrap_or(def.default))
}

/// The lockout policy in force (system level only, as in HDP).
pub async fn lockout_policy(store: &dyn Store) -> StoreResult<LockoutPolicy> {
    let sys = crate::identity::SYSTEM_TENANT_ID;
    Ok(LockoutPolicy {
        interval: value(store, PASSWORD_LOCKOUT_INTERVAL, sys, None).await?,
        limit: value(store, PASSWORD_LOCKOUT_LIMIT, sys, None).await?,
        period: value(store, PASSWORD_LOCKOUT_PERIOD, sys, None).await?,
    })
}
