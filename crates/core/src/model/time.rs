//! Time as the records hold it: seconds since the Unix epoch, and HDP's printed form.

/// Seconds since the Unix epoch, the one time unit stored and compared everywhere.
pub type UnixTime = i64;

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
}
