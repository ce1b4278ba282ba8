//! The audit trail's records: a security event (who did what to whom, from where, and
//! how it ended) and the query administrators read them with. An event never holds a
//! secret, a password, a token or a code: only ids, names, addresses and reasons.

use super::time::UnixTime;

/// What happened. The wire names (`as_str`) are stored and are the `type` filter of
/// `GET /api/admin/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    SignIn,
    Lockout,
    Unlock,
    TokenIssued,
    TokenRefused,
    TokenRevoked,
    RefreshTokenReuse,
    ConsentGiven,
    ConsentWithdrawn,
    ClientRegistered,
    ClientReset,
    ClientDeleted,
    UserChanged,
    TenantChanged,
    RoleChanged,
    PermissionChanged,
    LimitChanged,
    ApiSecretCreated,
    ApiSecretDeleted,
    VaultConnected,
    VaultRefreshed,
    VaultFailed,
    VaultRetrieved,
    KeyRotated,
}

impl EventType {
    /// Every type, in the order the docs list them.
    pub const ALL: &'static [EventType] = &[
        Self::SignIn,
        Self::Lockout,
        Self::Unlock,
        Self::TokenIssued,
        Self::TokenRefused,
        Self::TokenRevoked,
        Self::RefreshTokenReuse,
        Self::ConsentGiven,
        Self::ConsentWithdrawn,
        Self::ClientRegistered,
        Self::ClientReset,
        Self::ClientDeleted,
        Self::UserChanged,
        Self::TenantChanged,
        Self::RoleChanged,
        Self::PermissionChanged,
        Self::LimitChanged,
        Self::ApiSecretCreated,
        Self::ApiSecretDeleted,
        Self::VaultConnected,
        Self::VaultRefreshed,
        Self::VaultFailed,
        Self::VaultRetrieved,
        Self::KeyRotated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Lockout => "lockout",
            Self::Unlock => "unlock",
            Self::TokenIssued => "token_issued",
            Self::TokenRefused => "token_refused",
            Self::TokenRevoked => "token_revoked",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::ConsentGiven => "consent_given",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::ClientRegistered => "client_registered",
            Self::ClientReset => "client_reset",
            Self::ClientDeleted => "client_deleted",
            Self::UserChanged => "user_changed",
            Self::TenantChanged => "tenant_changed",
            Self::RoleChanged => "role_changed",
            Self::PermissionChanged => "permission_changed",
            Self::LimitChanged => "limit_changed",
            Self::ApiSecretCreated => "api_secret_created",
            Self::ApiSecretDeleted => "api_secret_deleted",
            Self::VaultConnected => "vault_connected",
            Self::VaultRefreshed => "vault_refreshed",
            Self::VaultFailed => "vault_failed",
            Self::VaultRetrieved => "vault_retrieved",
            Self::KeyRotated => "key_rotated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// An event to record. Built with [`NewAuditEvent::new`] and the builder methods; the
/// source address and user agent are filled in from the request being served
/// (`crate::audit`) when the caller does not set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    pub at: UnixTime,
    pub event_type: EventType,
    /// The tenant the event belongs to (whose administrators may read it).
    pub tenant_id: i64,
    /// Who acted, as words: `user 12`, `client my-app`, `operator`, `system`.
    pub actor: String,
    /// The acting user's id, when a user acted.
    pub actor_user_id: Option<i64>,
    /// The OAuth client involved (its `client_id`), if any.
    pub client_id: Option<String>,
    /// What was acted on, as words: `user 14`, `client_app 7`, `limit 1001`, `key <kid>`.
    pub subject: Option<String>,
    /// The user acted on (or for), when there is one.
    pub subject_user_id: Option<i64>,
    /// The caller's address (after `trusted_proxies`).
    pub source: Option<String>,
    /// The caller's `User-Agent`, cut to [`USER_AGENT_MAX`] characters.
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    /// Why it failed (or what was done), in words; never a secret.
    pub reason: Option<String>,
}

/// The longest `User-Agent` kept, in characters.
pub const USER_AGENT_MAX: usize = 256;

impl NewAuditEvent {
    /// A successful event of `event_type` in `tenant_id` at `at`, by the system.
    pub fn new(event_type: EventType, tenant_id: i64, at: UnixTime) -> Self {
        Self {
            at,
            event_type,
            tenant_id,
            actor: "system".into(),
            actor_user_id: None,
            client_id: None,
            subject: None,
            subject_user_id: None,
            source: None,
            user_agent: None,
            outcome: Outcome::Success,
            reason: None,
        }
    }

    /// Acted by user `id`.
    pub fn by_user(mut self, id: i64) -> Self {
        self.actor = format!("user {id}");
        self.actor_user_id = Some(id);
        self
    }

    /// Acted by the OAuth client `client_id` (on its own behalf).
    pub fn by_client(mut self, client_id: &str) -> Self {
        self.actor = format!("client {client_id}");
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// Acted by whoever `actor` describes (see [`Self::actor`]).
    pub fn by(mut self, actor: String, user_id: Option<i64>) -> Self {
        self.actor = actor;
        self.actor_user_id = user_id;
        self
    }

    /// The OAuth client involved.
    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// The thing acted on.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The user acted on (also sets the subject to `user <id>` when none is set).
    pub fn subject_user(mut self, id: i64) -> Self {
        self.subject_user_id = Some(id);
        if self.subject.is_none() {
            self.subject = Some(format!("user {id}"));
        }
        self
    }

    /// A failure, for `reason`.
    pub fn failed(mut self, reason: impl Into<String>) -> Self {
        self.outcome = Outcome::Failure;
        self.reason = Some(reason.into());
        self
    }

    /// What was done, in words (a success's detail).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// A recorded event: its id (the cursor order) and what was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub event: NewAuditEvent,
}

/// The most events one page of `GET /api/admin/events` returns.
pub const PAGE_MAX: u32 = 500;

/// Which events to read: one tenant's, newest first, optionally only of one type, of
/// one user (as actor or subject), of one client, within `from..to` (`at >= from`,
/// `at < to`), and older than the cursor (`before_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub tenant_id: i64,
    pub event_type: Option<EventType>,
    pub user_id: Option<i64>,
    pub client_id: Option<String>,
    pub from: Option<UnixTime>,
    pub to: Option<UnixTime>,
    /// Only events with an id below this (the cursor of the previous page).
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl AuditQuery {
    /// Every event of `tenant_id`, the first page of the largest size.
    pub fn tenant(tenant_id: i64) -> Self {
        Self {
            tenant_id,
            event_type: None,
            user_id: None,
            client_id: None,
            from: None,
            to: None,
            before_id: None,
            limit: PAGE_MAX,
        }
    }

    /// Whether `e` (of any tenant) is selected, ignoring the limit.
    pub fn matches(&self, id: i64, e: &NewAuditEvent) -> bool {
        e.tenant_id == self.tenant_id
            && self.event_type.is_none_or(|t| t == e.event_type)
            && self
                .user_id
                .is_none_or(|u| e.actor_user_id == Some(u) || e.subject_user_id == Some(u))
            && self
                .client_id
                .as_ref()
                .is_none_or(|c| e.client_id.as_ref() == Some(c))
            && self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at < t)
            && self.before_id.is_none_or(|b| id < b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_parses_back_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::parse("nope"), None);
    }
}
