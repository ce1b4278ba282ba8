//! Injected time. Core logic takes `now` from a [`Clock`] so tests can pin it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Seconds since the Unix epoch, the one time unit stored and compared everywhere.
pub type UnixTime = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> UnixTime;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock tests can set and advance.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(t: UnixTime) -> Self {
        Self(Arc::new(AtomicI64::new(t)))
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    pub fn set(&self, t: UnixTime) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// Formats a Unix time the way HDP prints timestamps: UTC `YYYY-MM-DD HH:mm:ss`.
pub fn hdp_timestamp(t: UnixTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

/// Parses HDP's UTC `YYYY-MM-DD HH:mm:ss` (an optional fraction after the seconds is
/// ignored, as HDP prints `passwordExpiration` with one).
pub fn parse_hdp_timestamp(s: &str) -> Option<UnixTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let whole = s.split('.').next().unwrap_or(s);
    time::PrimitiveDateTime::parse(whole, &fmt)
        .ok()
        .map(|d| d.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdp_timestamps_are_utc_with_seconds() {
        assert_eq!(hdp_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(hdp_timestamp(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn hdp_timestamps_parse_back() {
        assert_eq!(
            parse_hdp_timestamp("2023-11-14 22:13:20"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_hdp_timestamp("2023-11-14 22:13:20.0"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_hdp_timestamp("14/11/2023"), None);
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::at(100);
        assert_eq!(c.now(), 100);
        c.advance(5);
        assert_eq!(c.now(), 105);
    }
}
