//! A browser sign-in session as stored: whose it is, when it started and was last
//! used, and the lifetimes that end it.

use crate::model::time::UnixTime;

/// Seconds a session lives without use.
pub const IDLE_LIFETIME: i64 = 30 * 60;

/// Seconds a session lives at most, however busy.
pub const ABSOLUTE_LIFETIME: i64 = 12 * 60 * 60;

/// A use extends the idle deadline only when it moved by at least this many seconds,
/// so a busy session does not write on every request.
pub const TOUCH_GRANULARITY: i64 = 60;

/// A stored session (the id itself is only a verifier here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub verifier: String,
    pub user_id: i64,
    /// The user's `auth_version` at sign-in; a change (password, lock, grants) ends it.
    pub auth_version: i64,
    pub created_at: UnixTime,
    /// Idle deadline.
    pub idle_until: UnixTime,
    /// Absolute deadline.
    pub expires_at: UnixTime,
}

impl Session {
    /// A new session for `user_id` signed in at `now`.
    pub fn new(verifier: String, user_id: i64, auth_version: i64, now: UnixTime) -> Self {
        Self {
            verifier,
            user_id,
            auth_version,
            created_at: now,
            idle_until: now + IDLE_LIFETIME,
            expires_at: now + ABSOLUTE_LIFETIME,
        }
    }

    /// Whether neither deadline has passed at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.idle_until > now && self.expires_at > now
    }

    /// The idle deadline a use at `now` should store, if it is worth a write.
    pub fn touched(&self, now: UnixTime) -> Option<UnixTime> {
        let next = (now + IDLE_LIFETIME).min(self.expires_at);
        (next - self.idle_until >= TOUCH_GRANULARITY).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_and_touches() {
        let s = Session::new("v".into(), 1, 0, 1000);
        assert!(s.is_live(1000));
        assert!(!s.is_live(1000 + IDLE_LIFETIME));
        assert_eq!(s.touched(1030), None, "too soon to write");
        assert_eq!(s.touched(1000 + 60), Some(1000 + 60 + IDLE_LIFETIME));
        let late = Session {
            idle_until: s.expires_at - 10,
            ..s.clone()
        };
        assert_eq!(late.touched(s.expires_at - 20), None, "never past the end");
    }
}
