//! Rate limiting of failed client authentication (SPEC §5.3): per client id and per
//! address, a fixed window of failures after which further attempts answer 429 with
//! `Retry-After` until the window ends. In memory, per node: a determined attacker
//! spread over N nodes gets N times the budget, which still keeps guessing a 256-bit
//! secret hopeless; the point is to stop floods and noisy scripts cheaply.

use crate::clock::UnixTime;
use std::collections::HashMap;
use std::sync::Mutex;

/// Failures allowed per client id in one window.
pub const PER_CLIENT: u32 = 10;
/// Failures allowed per address in one window.
pub const PER_ADDRESS: u32 = 50;
/// Window length in seconds.
pub const WINDOW: i64 = 60;
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    failures: u32,
}

/// Counts failures by key ("client:…", "ip:…").
#[derive(Debug, Default)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

fn limit_of(key: &str) -> u32 {
    if key.starts_with("ip:") {
        PER_ADDRESS
    } else {
        PER_CLIENT
    }
}

impl FailureLimiter {
    /// `Err(seconds)` when any key is over its budget in the current window.
    pub fn check(&self, keys: &[String], now: UnixTime) -> Result<(), u64> {
        let Ok(map) = self.windows.lock() else {
            return Ok(());
        };
        for k in keys {
            if let Some(w) = map.get(k) {
                if now - w.start < WINDOW && w.failures >= limit_of(k) {
                    return Err((w.start + WINDOW - now).max(1) as u64);
                }
            }
        }
        Ok(())
    }

    /// Counts one failure against every key.
    pub fn record_failure(&self, keys: &[String], now: UnixTime) {
        let Ok(mut map) = self.windows.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, w| now - w.start < WINDOW);
        }
        for k in keys {
            let w = map.entry(k.clone()).or_insert(Window {
                start: now,
                failures: 0,
            });
            if now - w.start >= WINDOW {
                *w = Window {
                    start: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
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
}
