//! Where a limit value is set: for the whole system, a tenant or a user. The catalogue
//! of limits and how effective values are found is [`crate::limits`].

/// Where a limit value is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitLevel {
    System,
    Tenant(i64),
    User(i64),
}

impl LimitLevel {
    /// The stored (level, target id) pair.
    pub fn key(self) -> (&'static str, i64) {
        match self {
            LimitLevel::System => ("system", 0),
            LimitLevel::Tenant(t) => ("tenant", t),
            LimitLevel::User(u) => ("user", u),
        }
    }
}
