//! The limits catalogue (HDP's Limits API, `spec/hdp-reference.md` §3.3) with the
//! defaults in force when nothing is set, the levels each limit may be set at, and how
//! effective values are resolved (user → tenant → system → default).
//!
//! HDP's lockout limits keep HDP's ids (2, 3, 4) and are system-only, as in HDP (§3.4).
//! Portcullis's own OAuth limits use ids from 1001 on, away from HDP's range, and may be
//! set per tenant. Effective values are clamped to the catalogue range, so a value
//! stored before a range changed (or written around the API) cannot break a grant.

use crate::model::identity::{LockoutPolicy, SYSTEM_TENANT_ID};
use crate::model::limits::LimitLevel;
use crate::store::{Store, StoreResult};

/// The levels a limit may be set at: HDP's `validForLimits`, a bit set.
///
/// HDP documents three values: `1` system only, `11` system/tenant/user and `15` all
/// four levels. Read as bits: 1 system, 2 tenant, 8 user, 4 data source. Portcullis's
/// OAuth limits are system/tenant, `3` in that encoding (HDP shows no such limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidFor(pub i64);

impl ValidFor {
    pub const SYSTEM: ValidFor = ValidFor(1);
    pub const TENANT: ValidFor = ValidFor(2);
    pub const USER: ValidFor = ValidFor(8);
    /// System and tenant (`3`).
    pub const SYSTEM_TENANT: ValidFor = ValidFor(1 | 2);
    /// System, tenant and user (`11`).
    pub const SYSTEM_TENANT_USER: ValidFor = ValidFor(1 | 2 | 8);

    /// Whether every level of `other` is among these.
    pub fn contains(self, other: ValidFor) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether a value may be set at `level`.
    pub fn allows(self, level: LimitLevel) -> bool {
        self.contains(match level {
            LimitLevel::System => ValidFor::SYSTEM,
            LimitLevel::Tenant(_) => ValidFor::TENANT,
            LimitLevel::User(_) => ValidFor::USER,
        })
    }

    /// The levels in words, for messages ("system", "system and tenant" …).
    pub fn describe(self) -> String {
        let names: Vec<&str> = [
            (ValidFor::SYSTEM, "system"),
            (ValidFor::TENANT, "tenant"),
            (ValidFor::USER, "user"),
        ]
        .iter()
        .filter(|(v, _)| self.contains(*v))
        .map(|(_, n)| *n)
        .collect();
        match names.as_slice() {
            [] => "no".to_owned(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

/// A limit: id, name, default, minimum, maximum and the levels it may be set at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitDef {
    pub id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    pub valid_for: ValidFor,
}

impl LimitDef {
    /// Whether `value` is within `min..=max`.
    pub fn in_range(&self, value: i64) -> bool {
        (self.min..=self.max).contains(&value)
    }

    fn clamp(&self, value: i64) -> i64 {
        value.clamp(self.min, self.max)
    }
}

pub const PASSWORD_LOCKOUT_INTERVAL: LimitDef = LimitDef {
    id: 2,
    name: "PasswordLockoutInterval",
    description: "Seconds over which failed sign-ins are counted.",
    default: 900,
    min: 1,
    max: 1_000_000_000,
    valid_for: ValidFor::SYSTEM,
};
pub const PASSWORD_LOCKOUT_LIMIT: LimitDef = LimitDef {
    id: 3,
    name: "PasswordLockoutLimit",
    description: "Consecutive failed sign-ins that lock an account; 0 disables lockout.",
    default: 3,
    min: 0,
    max: 1_000_000,
    valid_for: ValidFor::SYSTEM,
};
pub const PASSWORD_LOCKOUT_PERIOD: LimitDef = LimitDef {
    id: 4,
    name: "PasswordLockoutPeriod",
    description: "Seconds an account stays locked.",
    default: 1800,
    min: 1,
    max: 221_000_000_000,
    valid_for: ValidFor::SYSTEM,
};
pub const ACCESS_TOKEN_LIFETIME: LimitDef = LimitDef {
    id: 1001,
    name: "AccessTokenLifetime",
    description: "Seconds an OAuth access token is valid.",
    default: 3600,
    min: 60,
    max: 86_400,
    valid_for: ValidFor::SYSTEM_TENANT,
};
pub const REFRESH_TOKEN_LIFETIME: LimitDef = LimitDef {
    id: 1002,
    name: "RefreshTokenLifetime",
    description: "Seconds an OAuth refresh token is valid; 0 means it never expires.",
    default: 0,
    min: 0,
    max: 315_360_000,
    valid_for: ValidFor::SYSTEM_TENANT,
};
pub const REFRESH_TOKEN_ROTATION: LimitDef = LimitDef {
    id: 1003,
    name: "RefreshTokenRotation",
    description: "1: a refresh token of a confidential client is replaced on every use; 0: it is reused. Public clients always rotate.",
    default: 0,
    min: 0,
    max: 1,
    valid_for: ValidFor::SYSTEM_TENANT,
};
pub const AUTHORIZATION_CODE_LIFETIME: LimitDef = LimitDef {
    id: 1004,
    name: "AuthorizationCodeLifetime",
    description: "Seconds an OAuth authorization code may be exchanged.",
    default: 60,
    min: 10,
    max: 600,
    valid_for: ValidFor::SYSTEM_TENANT,
};
pub const AUDIT_EVENT_RETENTION_DAYS: LimitDef = LimitDef {
    id: 1005,
    name: "AuditEventRetentionDays",
    description:
        "Days the audit trail's events (and the vault's retrieval records) of a tenant are kept.",
    default: 90,
    min: 1,
    max: 3650,
    valid_for: ValidFor::SYSTEM_TENANT,
};

/// Every limit this server knows, ordered by id.
pub const ALL: &[LimitDef] = &[
    PASSWORD_LOCKOUT_INTERVAL,
    PASSWORD_LOCKOUT_LIMIT,
    PASSWORD_LOCKOUT_PERIOD,
    ACCESS_TOKEN_LIFETIME,
    REFRESH_TOKEN_LIFETIME,
    REFRESH_TOKEN_ROTATION,
    AUTHORIZATION_CODE_LIFETIME,
    AUDIT_EVENT_RETENTION_DAYS,
];

/// The catalogue entry of `id`.
pub fn find(id: i64) -> Option<LimitDef> {
    ALL.iter().copied().find(|d| d.id == id)
}

/// The value of `def` in force for a user of `tenant_id` (`None`: for the tenant
/// itself): the most specific value set, else the default, clamped to the range.
pub async fn value(
    store: &dyn Store,
    def: LimitDef,
    tenant_id: i64,
    user_id: Option<i64>,
) -> StoreResult<i64> {
    Ok(def.clamp(
        store
            .limit(def.id, tenant_id, user_id)
            .await?
            .unwrap_or(def.default),
    ))
}

/// The value of `def` in force at `level`: the system value; a tenant's own value,
/// else the system value; a user's own value, else their tenant's …; else the default.
pub async fn effective_at(store: &dyn Store, def: LimitDef, level: LimitLevel) -> StoreResult<i64> {
    match level {
        LimitLevel::System => Ok(def.clamp(
            store
                .limits_at(LimitLevel::System)
                .await?
                .into_iter()
                .find(|(id, _)| *id == def.id)
                .map_or(def.default, |(_, v)| v),
        )),
        LimitLevel::Tenant(t) => value(store, def, t, None).await,
        LimitLevel::User(u) => {
            let tenant = store
                .user(u)
                .await?
                .map_or(SYSTEM_TENANT_ID, |x| x.tenant_id);
            value(store, def, tenant, Some(u)).await
        }
    }
}

/// The lockout policy in force (system level only, as in HDP).
pub async fn lockout_policy(store: &dyn Store) -> StoreResult<LockoutPolicy> {
    let system = |def| effective_at(store, def, LimitLevel::System);
    Ok(LockoutPolicy {
        interval: system(PASSWORD_LOCKOUT_INTERVAL).await?,
        limit: system(PASSWORD_LOCKOUT_LIMIT).await?,
        period: system(PASSWORD_LOCKOUT_PERIOD).await?,
    })
}

/// The OAuth limits in force for a tenant (ids 1001–1004).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OauthLimits {
    /// Seconds an access token is valid (limit 1001).
    pub access_token_lifetime: i64,
    /// Seconds a refresh token is valid; `None` when it never expires (limit 1002 = 0).
    pub refresh_token_lifetime: Option<i64>,
    /// Whether a confidential client's refresh token is replaced on use (limit 1003).
    pub refresh_rotation: bool,
    /// Seconds an authorization code may be exchanged (limit 1004).
    pub code_lifetime: i64,
}

impl Default for OauthLimits {
    /// The catalogue defaults.
    fn default() -> Self {
        Self {
            access_token_lifetime: ACCESS_TOKEN_LIFETIME.default,
            refresh_token_lifetime: None,
            refresh_rotation: REFRESH_TOKEN_ROTATION.default == 1,
            code_lifetime: AUTHORIZATION_CODE_LIFETIME.default,
        }
    }
}

/// The OAuth limits in force for tokens of `tenant_id` (its own values, else the
/// system's, else the defaults).
pub async fn oauth_limits(store: &dyn Store, tenant_id: i64) -> StoreResult<OauthLimits> {
    let of = |def| value(store, def, tenant_id, None);
    let refresh = of(REFRESH_TOKEN_LIFETIME).await?;
    Ok(OauthLimits {
        access_token_lifetime: of(ACCESS_TOKEN_LIFETIME).await?,
        refresh_token_lifetime: (refresh > 0).then_some(refresh),
        refresh_rotation: of(REFRESH_TOKEN_ROTATION).await? == 1,
        code_lifetime: of(AUTHORIZATION_CODE_LIFETIME).await?,
    })
}

/// The OAuth limits of the system tenant.
pub async fn system_oauth_limits(store: &dyn Store) -> StoreResult<OauthLimits> {
    oauth_limits(store, SYSTEM_TENANT_ID).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::identity::NewTenant;
    use crate::store::{LimitStore as _, TenantStore as _};
    use crate::testing::MemoryStore;

    #[test]
    fn the_catalogue_is_ordered_unique_and_its_defaults_are_in_range() {
        for pair in ALL.windows(2) {
            assert!(pair[0].id < pair[1].id);
        }
        for def in ALL {
            assert!(def.in_range(def.default), "{}", def.name);
            assert!(def.valid_for.allows(LimitLevel::System), "{}", def.name);
        }
    }

    #[test]
    fn valid_for_uses_hdps_encoding() {
        assert_eq!(PASSWORD_LOCKOUT_LIMIT.valid_for.0, 1);
        assert_eq!(ACCESS_TOKEN_LIFETIME.valid_for.0, 3);
        assert_eq!(ValidFor::SYSTEM_TENANT_USER.0, 11);
        assert!(!ValidFor::SYSTEM.allows(LimitLevel::Tenant(2)));
        assert!(ValidFor::SYSTEM_TENANT.allows(LimitLevel::Tenant(2)));
        assert!(!ValidFor::SYSTEM_TENANT.allows(LimitLevel::User(2)));
        assert_eq!(ValidFor::SYSTEM.describe(), "system");
        assert_eq!(ValidFor::SYSTEM_TENANT.describe(), "system and tenant");
        assert_eq!(
            ValidFor::SYSTEM_TENANT_USER.describe(),
            "system, tenant and user"
        );
    }

    #[tokio::test]
    async fn oauth_limits_resolve_tenant_then_system_then_default() {
        let store = MemoryStore::new();
        let acme = store
            .create_tenant(NewTenant::named("acme", 0))
            .await
            .expect("tenant");
        let beta = store
            .create_tenant(NewTenant::named("beta", 0))
            .await
            .expect("tenant");
        assert_eq!(
            oauth_limits(&store, acme.id).await.expect("limits"),
            OauthLimits::default()
        );
        store
            .set_limit(LimitLevel::System, 1001, Some(1800))
            .await
            .expect("set");
        store
            .set_limit(LimitLevel::Tenant(acme.id), 1001, Some(600))
            .await
            .expect("set");
        store
            .set_limit(LimitLevel::Tenant(acme.id), 1002, Some(86_400))
            .await
            .expect("set");
        store
            .set_limit(LimitLevel::Tenant(acme.id), 1003, Some(1))
            .await
            .expect("set");
        let a = oauth_limits(&store, acme.id).await.expect("limits");
        assert_eq!(
            a,
            OauthLimits {
                access_token_lifetime: 600,
                refresh_token_lifetime: Some(86_400),
                refresh_rotation: true,
                code_lifetime: 60,
            }
        );
        let b = oauth_limits(&store, beta.id).await.expect("limits");
        assert_eq!(b.access_token_lifetime, 1800);
        assert_eq!(b.refresh_token_lifetime, None);
        assert!(!b.refresh_rotation);
        assert_eq!(
            system_oauth_limits(&store)
                .await
                .expect("limits")
                .access_token_lifetime,
            1800
        );
    }

    #[tokio::test]
    async fn stored_values_out_of_range_are_clamped() {
        let store = MemoryStore::new();
        store
            .set_limit(LimitLevel::System, 1001, Some(5))
            .await
            .expect("set");
        store
            .set_limit(LimitLevel::System, 1004, Some(100_000))
            .await
            .expect("set");
        let l = system_oauth_limits(&store).await.expect("limits");
        assert_eq!(l.access_token_lifetime, 60);
        assert_eq!(l.code_lifetime, 600);
    }

    #[tokio::test]
    async fn the_lockout_policy_reads_only_system_values() {
        let store = MemoryStore::new();
        assert_eq!(
            lockout_policy(&store).await.expect("policy"),
            LockoutPolicy::default()
        );
        store
            .set_limit(LimitLevel::Tenant(SYSTEM_TENANT_ID), 3, Some(9))
            .await
            .expect("set");
        assert_eq!(lockout_policy(&store).await.expect("policy").limit, 3);
        store
            .set_limit(LimitLevel::System, 3, Some(1))
            .await
            .expect("set");
        store
            .set_limit(LimitLevel::System, 4, Some(60))
            .await
            .expect("set");
        let p = lockout_policy(&store).await.expect("policy");
        assert_eq!((p.interval, p.limit, p.period), (900, 1, 60));
    }
}
