//! Who performs a management use case: a user authenticated over HTTP (a
//! [`Principal`]), or the **operator**, the person at the machine's console running
//! `portcullis tenant|user|client|keys …` against the configured database.
//!
//! The operator holds every permission in every tenant, like the system tenant's
//! super-user, but is no user: nothing is recorded as theirs (a tenant they create gets
//! no creator among its admins). An [`Operator`] is made only by
//! [`Operator::at_console`], which the admin commands call; the HTTP layer never does
//! (a test of the server crate reads its `http` sources to keep it so), so no request
//! can act as the operator.
//!
//! Use cases take `impl Into<Actor>`: handlers pass their `&Principal` unchanged, the
//! admin commands pass an [`Operator`], and the same rules (validation, defaults,
//! uniqueness) run for both.

use crate::auth::Principal;
use crate::model::identity::{Permission, SYSTEM_TENANT_ID};

/// Proof that the caller is the operator at the console (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator(());

impl Operator {
    /// The operator. Called by the admin commands only, never from an HTTP handler.
    pub fn at_console() -> Self {
        Operator(())
    }
}

/// Who performs a use case.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A user authenticated over HTTP, with their effective permissions.
    User(&'a Principal),
    /// The operator at the console: every permission in every tenant.
    Operator(Operator),
}

impl<'a> From<&'a Principal> for Actor<'a> {
    fn from(p: &'a Principal) -> Self {
        Actor::User(p)
    }
}

impl From<Operator> for Actor<'_> {
    fn from(o: Operator) -> Self {
        Actor::Operator(o)
    }
}

impl Actor<'_> {
    /// Whether the actor holds permission `p` (the operator holds them all).
    pub fn has(&self, p: Permission) -> bool {
        match self {
            Actor::User(u) => u.has(p),
            Actor::Operator(_) => true,
        }
    }

    /// Whether the actor holds Administrator (12).
    pub fn is_administrator(&self) -> bool {
        self.has(Permission::ADMINISTRATOR)
    }

    /// The actor's tenant: the user's, or the system tenant for the operator.
    pub fn tenant_id(&self) -> i64 {
        match self {
            Actor::User(u) => u.user.tenant_id,
            Actor::Operator(_) => SYSTEM_TENANT_ID,
        }
    }

    /// The acting user's id; `None` for the operator.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.user.id),
            Actor::Operator(_) => None,
        }
    }

    /// Whether the actor is user `id` (never for the operator).
    pub fn is_user(&self, id: i64) -> bool {
        self.user_id() == Some(id)
    }

    /// Whether the actor is the operator.
    pub fn is_operator(&self) -> bool {
        matches!(self, Actor::Operator(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_holds_every_permission_in_the_system_tenant_and_is_no_user() {
        let op = Actor::from(Operator::at_console());
        assert!(op.is_operator());
        assert!(op.is_administrator());
        assert!(op.has(Permission::CREATE_USERS));
        assert_eq!(op.tenant_id(), SYSTEM_TENANT_ID);
        assert_eq!(op.user_id(), None);
        assert!(!op.is_user(1));
    }
}
