//! What every install has: HDP's permission catalogue, the system tenant and roles 1–3
//! (built by [`crate::bootstrap`], written by [`crate::store::SetupStore::seed`]).

use crate::model::identity::Tenant;

/// A role to make sure exists, with its permissions.
#[derive(Debug, Clone)]
pub struct SeedRole {
    pub id: i64,
    pub tenant_id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: Vec<i64>,
}

/// What every install has: HDP's permission catalogue, the system tenant and roles 1–3.
#[derive(Debug, Clone)]
pub struct Seed {
    pub permissions: Vec<(i64, &'static str, &'static str)>,
    pub system_tenant: Tenant,
    pub roles: Vec<SeedRole>,
}
