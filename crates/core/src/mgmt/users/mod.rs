//! Users, their roles and permissions, passwords, locks, API secrets and profiles (HDP
//! `/api/admin/users`, `/api/mgmt/user`, `spec/hdp-reference.md` §3.1, §3.4, §3.5;
//! SPEC §1.4, §4.4).
//!
//! Every operation checks HDP's permission for it (CreateUsers 13, ViewUsers 14,
//! ModifyUsers 15, DeleteUsers 16, or Administrator 12) *and* that the caller
//! administers the user's tenant ([`super::policy`]); users of other tenants answer
//! "not found". Administrators cannot grant a permission they do not hold, nor change
//! their own roles, permissions or status.

mod access;
mod api_secrets;
mod crud;
mod passwords;
mod profile;
mod roles;

pub use access::{me, UserView};
pub use api_secrets::{delete_api_secret, generate_api_secret};
pub use crud::{create, delete, get, list, update, CreateUser, TenantFilter, UpdateUser};
pub use passwords::{change_own_password, set_password, unlock};
pub use profile::set_profile;
pub use roles::{role_assignments, set_role_assignments};
