//! What the device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628))
//! stores: one [`DeviceGrant`] per `/oauth2/device_authorization` request, keyed by the
//! verifier of its device code and found by the verifier of its user code (never the
//! codes themselves), and the rule a poll follows ([`DeviceGrant::poll`]), written once
//! here so every store adapter decides a poll alike.

use crate::model::time::UnixTime;

/// How many seconds a poll sooner than the interval adds to it (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// Where a device request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// The user has not decided yet.
    Pending,
    /// The user allowed it: who, when they signed in and their session's `sid`.
    Approved {
        user_id: i64,
        auth_time: Option<UnixTime>,
        sid: Option<String>,
    },
    /// The user denied it.
    Denied,
    /// Approved, and its tokens were issued: spent.
    Used,
}

impl DeviceStatus {
    /// The status column's value.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved { .. } => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Used => "used",
        }
    }
}

/// A device authorization request (RFC 8628 §3.1) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// The keyed verifier of the device code (the key).
    pub device_verifier: String,
    /// The keyed verifier of the normalised user code (unique).
    pub user_verifier: String,
    pub client_app_id: i64,
    pub scopes: Vec<String>,
    /// The resource indicators (RFC 8707) asked for; empty: the issuer.
    pub resources: Vec<String>,
    /// The least number of seconds between polls; raised by [`SLOW_DOWN_STEP`].
    pub interval: i64,
    pub last_poll_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub status: DeviceStatus,
}

/// What a poll of the token endpoint found (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    /// No such device code for this client.
    Unknown,
    Expired,
    /// Not decided yet.
    Pending,
    /// Polled sooner than the interval: the interval is now this many seconds.
    SlowDown(i64),
    Denied,
    /// Already used for tokens.
    Used,
    /// Approved, and this poll took it: the only one that does.
    Taken(DeviceGrant),
}

impl DeviceGrant {
    /// The answer to a poll by `client_app_id` at `now`, and the grant as it must be
    /// stored afterwards (`None`: unchanged). A poll of another client's code, of an
    /// expired, denied or used code changes nothing; a pending poll records when it
    /// came and raises the interval when it came too soon; an approved code is spent.
    pub fn poll(&self, client_app_id: i64, now: UnixTime) -> (DevicePoll, Option<DeviceGrant>) {
        if self.client_app_id != client_app_id {
            return (DevicePoll::Unknown, None);
        }
        if self.expires_at <= now {
            return (DevicePoll::Expired, None);
        }
        match &self.status {
            DeviceStatus::Denied => (DevicePoll::Denied, None),
            DeviceStatus::Used => (DevicePoll::Used, None),
            DeviceStatus::Approved { .. } => {
                let taken = self.clone();
                let spent = DeviceGrant {
                    status: DeviceStatus::Used,
                    last_poll_at: Some(now),
                    ..self.clone()
                };
                (DevicePoll::Taken(taken), Some(spent))
            }
            DeviceStatus::Pending => {
                let too_soon = self.last_poll_at.is_some_and(|t| now < t + self.interval);
                let interval = if too_soon {
                    self.interval + SLOW_DOWN_STEP
                } else {
                    self.interval
                };
                let next = DeviceGrant {
                    interval,
                    last_poll_at: Some(now),
                    ..self.clone()
                };
                let answer = if too_soon {
                    DevicePoll::SlowDown(interval)
                } else {
                    DevicePoll::Pending
                };
                (answer, Some(next))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(status: DeviceStatus) -> DeviceGrant {
        DeviceGrant {
            device_verifier: "d".into(),
            user_verifier: "u".into(),
            client_app_id: 7,
            scopes: vec![],
            resources: vec![],
            interval: 5,
            last_poll_at: None,
            created_at: 100,
            expires_at: 700,
            status,
        }
    }

    #[test]
    fn a_poll_sooner_than_the_interval_raises_it_by_five_seconds() {
        let g = grant(DeviceStatus::Pending);
        let (a, next) = g.poll(7, 110);
        assert_eq!(a, DevicePoll::Pending);
        let next = next.expect("recorded");
        let (a, next) = next.poll(7, 112);
        assert_eq!(a, DevicePoll::SlowDown(10));
        let next = next.expect("recorded");
        assert_eq!(next.poll(7, 122).0, DevicePoll::Pending);
    }

    #[test]
    fn other_clients_expired_denied_and_used_codes_change_nothing() {
        assert_eq!(
            grant(DeviceStatus::Pending).poll(8, 110),
            (DevicePoll::Unknown, None)
        );
        assert_eq!(
            grant(DeviceStatus::Pending).poll(7, 700),
            (DevicePoll::Expired, None)
        );
        assert_eq!(
            grant(DeviceStatus::Denied).poll(7, 110),
            (DevicePoll::Denied, None)
        );
        assert_eq!(
            grant(DeviceStatus::Used).poll(7, 110),
            (DevicePoll::Used, None)
        );
    }
}
