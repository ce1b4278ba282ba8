//! What administrators type about tenants and users, parsed before anything is
//! stored: tenant names, descriptions and host names, HDP's 0/1 status, login names
//! and the password policy. Every refusal names the field in HDP's words.

use crate::error::ApiFailure;
use crate::model::text::{check_length, check_name, check_not_blank};

/// Most host names a tenant may have.
pub const MAX_HOSTS: usize = 32;

/// `status` as HDP spells it.
pub const STATUS_INACTIVE: i64 = 0;

pub const STATUS_ACTIVE: i64 = 1;

/// A tenant name: trimmed, 1–128 characters, no control characters, and neither `@`
/// nor `:`, since sign-in names address a tenant as `user@tenant` and HTTP Basic ends
/// the user name at the first `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    pub const MAX: usize = 128;
    pub fn parse(s: &str) -> Result<Self, ApiFailure> {
        let s = s.trim();
        check_name("name", s, Self::MAX)?;
        if s.contains(['@', ':']) {
            return Err(ApiFailure::invalid_field(
                "name",
                "must not contain '@' or ':' (users sign in as user@tenant with HTTP Basic)",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A tenant description: at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDescription(Option<String>);

impl TenantDescription {
    pub const MAX: usize = 256;
    pub fn parse(s: Option<&str>) -> Result<Self, ApiFailure> {
        if let Some(s) = s {
            check_length("description", s, Self::MAX)?;
        }
        Ok(Self(s.map(str::to_owned)))
    }
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

/// A host name a tenant is reached by: a DNS name (ASCII letters, digits and hyphens
/// in dot-separated labels of 1–63 characters, 253 at most in all), optionally with
/// `:port`; kept lowercased. Internationalised names are given in their `xn--` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName(String);

impl HostName {
    pub fn parse(s: &str) -> Result<Self, ApiFailure> {
        let bad = |why: &str| {
            ApiFailure::invalid_field(
                "hostNames",
                format!("'{}' is not a host name: {why}", s.escape_default()),
            )
        };
        let lower = s.to_ascii_lowercase();
        let (host, port) = match lower.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (lower.as_str(), None),
        };
        if let Some(p) = port {
            let valid = !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n > 0);
            if !valid {
                return Err(bad("the port must be a number from 1 to 65535"));
            }
        }
        if host.is_empty() {
            return Err(bad("it is empty"));
        }
        if host.len() > 253 {
            return Err(bad("it is longer than 253 characters"));
        }
        for label in host.split('.') {
            if label.is_empty() {
                return Err(bad(
                    "it has an empty label (leading, trailing or double dot)",
                ));
            }
            if label.len() > 63 {
                return Err(bad("a label is longer than 63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad(
                    "only letters, digits, hyphens and dots are allowed (write internationalised names in their xn-- form)",
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("a label may not begin or end with a hyphen"));
            }
        }
        Ok(Self(lower))
    }

    /// Parses the whole list: at most [`MAX_HOSTS`], none listed twice.
    pub fn parse_list(list: &[String]) -> Result<Vec<HostName>, ApiFailure> {
        if list.len() > MAX_HOSTS {
            return Err(ApiFailure::invalid_field(
                "hostNames",
                format!("at most {MAX_HOSTS} host names are allowed"),
            ));
        }
        let mut out: Vec<HostName> = Vec::with_capacity(list.len());
        for s in list {
            let h = HostName::parse(s)?;
            if out.contains(&h) {
                return Err(ApiFailure::invalid_field(
                    "hostNames",
                    format!("'{}' is listed twice", h.0),
                ));
            }
            out.push(h);
        }
        Ok(out)
    }

    /// A host name read back from the store, where it was written only after
    /// [`HostName::parse`] accepted it.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Parses HDP's `status` (0 or 1) into "active".
pub fn parse_status(status: i64) -> Result<bool, ApiFailure> {
    match status {
        STATUS_ACTIVE => Ok(true),
        STATUS_INACTIVE => Ok(false),
        other => Err(ApiFailure::invalid_field(
            "status",
            format!("is {other}; use 0 (inactive) or 1 (active)"),
        )),
    }
}

/// Longest accepted login name (HDP §3.5).
pub const MAX_LOGIN: usize = 128;

/// Password length bounds. HDP's API caps passwords at 32 characters and its default
/// policy at 12; Portcullis accepts long passphrases (NIST SP 800-63B §5.1.1).
pub const MIN_PASSWORD: usize = 8;

pub const MAX_PASSWORD: usize = 128;

/// Validates a login name: 1–128 characters, no control characters, no ':' (HTTP Basic).
pub fn check_login(login: &str) -> Result<(), ApiFailure> {
    let field = "userName";
    check_not_blank(field, login)?;
    check_length(field, login, MAX_LOGIN)?;
    if login.chars().any(|c| c.is_control() || c == ':') || login != login.trim() {
        return Err(ApiFailure::invalid_field(
            field,
            "must not contain ':', control characters, or leading or trailing spaces",
        ));
    }
    Ok(())
}

/// The password policy: 8–128 characters, not containing the login name.
pub fn check_password(login: &str, password: &str) -> Result<(), ApiFailure> {
    let field = "password";
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(ApiFailure::invalid_field(
            field,
            format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long (it is {n})"),
        ));
    }
    if login.chars().count() >= 3 && password.to_lowercase().contains(&login.to_lowercase()) {
        return Err(ApiFailure::invalid_field(
            field,
            "must not contain the user name",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<impl std::fmt::Debug, ApiFailure>) -> String {
        r.err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn names_are_trimmed_limited_and_free_of_sign_in_separators() {
        assert_eq!(
            TenantName::parse("  acme ")
                .map(TenantName::into_inner)
                .ok(),
            Some("acme".to_owned())
        );
        assert!(TenantName::parse(&"é".repeat(128)).is_ok());
        assert_eq!(
            message(TenantName::parse(&"a".repeat(129))),
            "Invalid value for 'name': is 129 characters long; at most 128 are allowed"
        );
        assert!(message(TenantName::parse("   ")).contains("must not be empty"));
        assert!(message(TenantName::parse("a@b")).contains("'@'"));
        assert!(message(TenantName::parse("a:b")).contains("':'"));
        assert!(message(TenantName::parse("a\u{7}b")).contains("control"));
    }

    #[test]
    fn host_names_are_dns_names_with_an_optional_port_kept_lowercased() {
        for ok in [
            "acme.example.com",
            "ACME.Example.COM",
            "localhost",
            "a-b.c:8443",
            "10.0.0.1:1",
            "xn--bcher-kva.example",
        ] {
            assert!(HostName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            HostName::parse("ACME.Example.com:443")
                .map(HostName::into_inner)
                .ok(),
            Some("acme.example.com:443".to_owned())
        );
        for (bad, why) in [
            ("", "empty"),
            ("a..b", "empty label"),
            ("a.b.", "empty label"),
            ("-a.b", "hyphen"),
            ("a_b.c", "only letters"),
            ("bücher.example", "xn--"),
            ("a.b:0", "port"),
            ("a.b:65536", "port"),
            ("a.b:", "port"),
            ("a.b:+80", "port"),
            ("a.b:80:90", "port"),
            ("http://a.b", "port"),
            ("*.a.b", "only letters"),
        ] {
            let m = message(HostName::parse(bad));
            assert!(m.contains(why), "{bad}: {m}");
        }
        assert!(message(HostName::parse(&format!("{}.b", "a".repeat(64)))).contains("63"));
        assert!(message(HostName::parse(&["abc"; 70].join("."))).contains("253"));
    }

    #[test]
    fn host_lists_refuse_duplicates_ignoring_case_and_more_than_32() {
        assert!(
            message(HostName::parse_list(&["a.b".into(), "A.B".into()])).contains("listed twice")
        );
        let many: Vec<String> = (0..33).map(|i| format!("h{i}.example")).collect();
        assert!(message(HostName::parse_list(&many)).contains("at most 32"));
        assert!(HostName::parse_list(&many[..32]).is_ok());
    }

    #[test]
    fn status_is_zero_or_one() {
        assert_eq!(parse_status(1).ok(), Some(true));
        assert_eq!(parse_status(0).ok(), Some(false));
        assert!(message(parse_status(2)).contains("use 0 (inactive) or 1 (active)"));
    }

    #[test]
    fn login_names_are_checked() {
        assert!(check_login("alice").is_ok());
        assert!(check_login("alice@example.com").is_ok());
        assert!(check_login("").is_err());
        assert!(check_login("a:b").is_err());
        assert!(check_login(" alice").is_err());
        assert!(check_login(&"a".repeat(129)).is_err());
    }

    #[test]
    fn passwords_need_length_and_must_not_contain_the_name() {
        assert!(check_password("alice", "correct horse").is_ok());
        assert!(check_password("alice", "short").is_err());
        assert!(check_password("alice", &"x".repeat(129)).is_err());
        let e = check_password("alice", "my-Alice-pw-1")
            .err()
            .map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some("Invalid value for 'password': must not contain the user name")
        );
    }
}
