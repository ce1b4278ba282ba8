//! Rate limiting of failed authentication (SPEC §5.3), by fixed windows of failures
//! after which further attempts answer 429 with `Retry-After` until the window ends:
//!
//! * client authentication at the token, introspection and revocation endpoints: per
//!   client id ([`PER_CLIENT`]) and per address ([`PER_ADDRESS`]) in [`WINDOW`];
//! * user passwords (the login form, HTTP Basic on the management API, the password
//!   grant, HDP's Basic login at the token endpoint): per address
//!   ([`PASSWORD_PER_ADDRESS`]) and per address and login name
//!   ([`PASSWORD_PER_USER`]) in [`PASSWORD_WINDOW`]. This stops password spraying
//!   (one password tried against many names) that the per-account lockout cannot see.
//!
//! * client registrations (RFC 7591, every attempt counts): per address
//!   ([`REGISTRATIONS_PER_ADDRESS`]) in [`REGISTRATION_WINDOW`].
//!
//! IPv6 addresses count by their /64, the block one subscriber usually holds, so an
//! attacker cannot walk through the addresses of its own prefix.
//!
//! In memory, per node: an attacker spread over N nodes gets N times the budget; the
//! point is to stop floods and noisy scripts cheaply. The table is bounded
//! ([`MAX_KEYS`]): when it is full of live windows, the ones furthest from their limit
//! are dropped first, so a flood of new keys cannot push a blocked key out. A poisoned
//! lock is recovered, never treated as "no limit".

use crate::model::time::UnixTime;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Failed client authentications allowed per client id in one [`WINDOW`].
pub const PER_CLIENT: u32 = 10;
/// Failed client authentications allowed per address in one [`WINDOW`].
pub const PER_ADDRESS: u32 = 50;
/// Window of the client-authentication limits, in seconds.
pub const WINDOW: i64 = 60;
/// Failed user-password attempts allowed per address in one [`PASSWORD_WINDOW`].
pub const PASSWORD_PER_ADDRESS: u32 = 20;
/// Failed user-password attempts allowed per address and login name in one
/// [`PASSWORD_WINDOW`].
pub const PASSWORD_PER_USER: u32 = 10;
/// Window of the user-password limits, in seconds (5 minutes).
pub const PASSWORD_WINDOW: i64 = 300;
/// Client registrations (RFC 7591) allowed per address in one [`REGISTRATION_WINDOW`].
pub const REGISTRATIONS_PER_ADDRESS: u32 = 20;
/// Window of the registration limit, in seconds (an hour).
pub const REGISTRATION_WINDOW: i64 = 3600;
/// Wrong user codes allowed per address in one [`DEVICE_WINDOW`] at the device
/// verification page (RFC 8628 §5.1).
pub const DEVICE_CODES_PER_ADDRESS: u32 = 10;
/// Wrong user codes allowed from all addresses together (the whole code space) in one
/// [`DEVICE_WINDOW`], per node.
pub const DEVICE_CODES_PER_NODE: u32 = 500;
/// Window of the user-code limits, in seconds: a device code's lifetime.
pub const DEVICE_WINDOW: i64 = 600;
/// Most keys kept at once.
pub const MAX_KEYS: usize = 100_000;
/// Longest login name kept in a key (longer ones are cut, at a character boundary).
const MAX_LOGIN_IN_KEY: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    failures: u32,
}

/// Counts failures by key (see [`limit_keys`](super::client_auth::limit_keys) and
/// [`password_keys`]).
#[derive(Debug, Default)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<String, Window>>,
    /// How many keys the table holds, set under its lock after every change. Every
    /// successful request checks its keys; while no failure is counted anywhere (the
    /// usual state) the check reads this and takes no lock, so concurrent token
    /// requests do not queue on the table's mutex.
    held: AtomicUsize,
}

/// The budget and window length of a key, by its prefix.
fn rule_of(key: &str) -> (u32, i64) {
    if key.starts_with("pw-user:") {
        (PASSWORD_PER_USER, PASSWORD_WINDOW)
    } else if key.starts_with("pw-ip:") {
        (PASSWORD_PER_ADDRESS, PASSWORD_WINDOW)
    } else if key.starts_with("device-ip:") {
        (DEVICE_CODES_PER_ADDRESS, DEVICE_WINDOW)
    } else if key == "device-all" {
        (DEVICE_CODES_PER_NODE, DEVICE_WINDOW)
    } else if key.starts_with("reg-ip:") {
        (REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW)
    } else if key.starts_with("ip:") {
        (PER_ADDRESS, WINDOW)
    } else {
        (PER_CLIENT, WINDOW)
    }
}

/// The address as it is counted: IPv4 (and IPv4-mapped IPv6) as is, IPv6 by its /64.
pub fn counted_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The keys of a user-password attempt: the address, and the address with the login
/// name as typed (compared ignoring case). Without an address, the login alone.
pub fn password_keys(peer: Option<IpAddr>, login: &str) -> Vec<String> {
    let mut cut = login.len().min(MAX_LOGIN_IN_KEY);
    while !login.is_char_boundary(cut) {
        cut -= 1;
    }
    let login = login[..cut].to_lowercase();
    match peer {
        Some(ip) => {
            let addr = counted_address(ip);
            vec![format!("pw-ip:{addr}"), format!("pw-user:{addr}|{login}")]
        }
        None => vec![format!("pw-user:-|{login}")],
    }
}

impl Window {
    fn live(&self, key: &str, now: UnixTime) -> bool {
        now - self.start < rule_of(key).1
    }

    fn blocked(&self, key: &str, now: UnixTime) -> bool {
        self.live(key, now) && self.failures >= rule_of(key).0
    }
}

impl FailureLimiter {
    /// The table, also after a panic elsewhere poisoned the lock: its counts are still
    /// good numbers, and failing open would lift every limit.
    fn table(&self) -> MutexGuard<'_, HashMap<String, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(seconds)` when any key is over its budget in its current window.
    pub fn check(&self, keys: &[String], now: UnixTime) -> Result<(), u64> {
        if self.held.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        let map = self.table();
        let mut wait = None;
        for k in keys {
            if let Some(w) = map.get(k) {
                if w.blocked(k, now) {
                    let secs = (w.start + rule_of(k).1 - now).max(1) as u64;
                    wait = Some(wait.map_or(secs, |s: u64| s.max(secs)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts one failure against every key.
    pub fn record_failure(&self, keys: &[String], now: UnixTime) {
        let mut map = self.table();
        for k in keys {
            if !map.contains_key(k) {
                make_room(&mut map, now);
            }
            let w = map.entry(k.clone()).or_insert(Window {
                start: now,
                failures: 0,
            });
            if !w.live(k, now) {
                *w = Window {
                    start: now,
                    failures: 0,
                };
            }
            w.failures = w.failures.saturating_add(1);
        }
        self.held.store(map.len(), Ordering::Release);
    }

    /// Forgets the failures of `keys` (a success for that address and login).
    pub fn forgive(&self, keys: &[String]) {
        let mut map = self.table();
        for k in keys {
            map.remove(k);
        }
        self.held.store(map.len(), Ordering::Release);
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.table().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the table under [`MAX_KEYS`] before a new key goes in: drops ended windows;
/// if that is not enough, drops a tenth of the table, the windows furthest from their
/// limit (then the oldest) first, so blocked keys are the last to go.
fn make_room(map: &mut HashMap<String, Window>, now: UnixTime) {
    if map.len() < MAX_KEYS {
        return;
    }
    map.retain(|k, w| w.live(k, now));
    if map.len() < MAX_KEYS {
        return;
    }
    let mut order: Vec<(bool, u32, UnixTime, String)> = map
        .iter()
        .map(|(k, w)| (w.blocked(k, now), w.failures, w.start, k.clone()))
        .collect();
    order.sort_unstable();
    let drop = map.len() - MAX_KEYS * 9 / 10;
    for (_, _, _, k) in order.into_iter().take(drop) {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_after_its_budget_until_the_window_ends() {
        let l = FailureLimiter::default();
        let keys = vec!["client:abc".to_owned(), "ip:127.0.0.1".to_owned()];
        for _ in 0..PER_CLIENT {
            assert!(l.check(&keys, 100).is_ok());
            l.record_failure(&keys, 100);
        }
        assert_eq!(l.check(&keys, 110), Err(50));
        assert!(l.check(&["client:other".to_owned()], 110).is_ok());
        assert!(l.check(&keys, 160).is_ok(), "a new window");
    }

    #[test]
    fn an_address_has_a_larger_budget_shared_by_clients() {
        let l = FailureLimiter::default();
        for i in 0..PER_ADDRESS {
            l.record_failure(&[format!("client:{i}"), "ip:10.0.0.1".to_owned()], 0);
        }
        assert!(l
            .check(&["client:new".to_owned(), "ip:10.0.0.1".to_owned()], 1)
            .is_err());
        assert!(l
            .check(&["client:new".to_owned(), "ip:10.0.0.2".to_owned()], 1)
            .is_ok());
    }

    #[test]
    fn password_spraying_from_one_address_is_stopped_across_names() {
        let l = FailureLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        for i in 0..PASSWORD_PER_ADDRESS {
            let keys = password_keys(Some(ip), &format!("user{i}"));
            assert!(l.check(&keys, 1000).is_ok(), "attempt {i}");
            l.record_failure(&keys, 1000);
        }
        let next = password_keys(Some(ip), "someone-else");
        assert_eq!(l.check(&next, 1010), Err(290));
        let elsewhere = password_keys(Some("192.0.2.8".parse().expect("ip")), "user1");
        assert!(l.check(&elsewhere, 1010).is_ok(), "another address");
        assert!(
            l.check(&next, 1000 + PASSWORD_WINDOW).is_ok(),
            "a new window"
        );
    }

    #[test]
    fn one_name_from_one_address_has_the_smaller_budget() {
        let l = FailureLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        for _ in 0..PASSWORD_PER_USER {
            l.record_failure(&password_keys(Some(ip), "Ann"), 0);
        }
        assert!(l.check(&password_keys(Some(ip), "ann"), 1).is_err());
        assert!(l.check(&password_keys(Some(ip), "bob"), 1).is_ok());
        l.forgive(&password_keys(Some(ip), "ann")[1..]);
        assert!(l.check(&password_keys(Some(ip), "ann"), 1).is_ok());
    }

    #[test]
    fn forgiving_every_key_empties_the_table_and_failures_count_again() {
        let l = FailureLimiter::default();
        let keys = vec!["client:abc".to_owned()];
        assert!(l.check(&keys, 0).is_ok(), "an empty table");
        for _ in 0..PER_CLIENT {
            l.record_failure(&keys, 0);
        }
        assert!(l.check(&keys, 1).is_err());
        l.forgive(&keys);
        assert!(l.is_empty());
        assert!(l.check(&keys, 1).is_ok(), "forgiven");
        for _ in 0..PER_CLIENT {
            l.record_failure(&keys, 2);
        }
        assert!(
            l.check(&keys, 3).is_err(),
            "counted again after the table emptied"
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(counted_address(a), counted_address(b));
        assert_ne!(counted_address(a), counted_address(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(counted_address(mapped), "192.0.2.1");
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_blocked_keys() {
        let l = FailureLimiter::default();
        let blocked = vec!["client:victim".to_owned()];
        for _ in 0..PER_CLIENT {
            l.record_failure(&blocked, 0);
        }
        for i in 0..(MAX_KEYS + 5_000) {
            l.record_failure(&[format!("client:flood{i}")], 1);
            assert!(l.len() <= MAX_KEYS);
        }
        assert!(l.len() <= MAX_KEYS);
        assert!(l.check(&blocked, 2).is_err(), "a flood does not unblock");
    }

    #[test]
    fn a_poisoned_lock_still_limits() {
        let l = std::sync::Arc::new(FailureLimiter::default());
        let keys = vec!["client:abc".to_owned()];
        for _ in 0..PER_CLIENT {
            l.record_failure(&keys, 0);
        }
        let poisoner = l.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.windows.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(l.windows.is_poisoned());
        assert!(l.check(&keys, 1).is_err(), "never fails open");
        l.record_failure(&["client:new".to_owned()], 1);
        assert_eq!(l.len(), 2);
    }
}
