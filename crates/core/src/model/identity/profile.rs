//! A user's optional profile: the standard claims OpenID Connect releases about them
//! (`name`, `given_name`, `family_name`, `email`, `email_verified`, `locale`,
//! `updated_at`; OpenID Connect Core 1.0 §5.1), and the rules an administrator's change
//! to it follows. Every field is optional: users created through HDP's API have none.

use crate::error::ApiFailure;
use crate::model::text::{check_length, check_name};
use crate::model::time::UnixTime;

/// Longest accepted name (`displayName`, `givenName`, `familyName`).
pub const MAX_NAME: usize = 256;

/// Longest accepted e-mail address (RFC 5321 §4.5.3.1.3 limits a path to 256 octets,
/// of which 254 are the address).
pub const MAX_EMAIL: usize = 254;

/// Longest accepted locale tag. BCP 47 sets no limit; real tags are far shorter.
pub const MAX_LOCALE: usize = 64;

/// What is known about a user beyond their login name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserProfile {
    /// Full name for display (`displayName`; the `name` claim).
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    /// Whether the administrator vouches that `email` belongs to the user. Never true
    /// without an `email`.
    pub email_verified: bool,
    /// A BCP 47 language tag (`en-US`, `fr`).
    pub locale: Option<String>,
    /// When a profile field last changed (the `updated_at` claim); `None` while none
    /// was ever set.
    pub updated_at: Option<UnixTime>,
}

impl UserProfile {
    /// Whether no field is set (an HDP user's profile).
    pub fn is_empty(&self) -> bool {
        let UserProfile {
            name,
            given_name,
            family_name,
            email,
            email_verified,
            locale,
            updated_at: _,
        } = self;
        name.is_none()
            && given_name.is_none()
            && family_name.is_none()
            && email.is_none()
            && !email_verified
            && locale.is_none()
    }
}

/// A change to a profile, as an administrator sends it. For each field `None` leaves
/// it as it is, `Some(None)` clears it and `Some(Some(v))` sets it (HDP's update
/// semantics for optional fields). `email_verified: Some(None)` means false.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub name: Option<Option<String>>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub email_verified: Option<Option<bool>>,
    pub locale: Option<Option<String>>,
}

impl ProfileChanges {
    /// `current` with these changes, every given value checked (the field named in
    /// the API's words). A changed `email` is unverified unless `emailVerified` is
    /// sent with it; `updated_at` becomes `now` when any field changed.
    pub fn apply(self, current: &UserProfile, now: UnixTime) -> Result<UserProfile, ApiFailure> {
        let name = changed(self.name, &current.name, |s| {
            check_person_name("displayName", s)
        })?;
        let given_name = changed(self.given_name, &current.given_name, |s| {
            check_person_name("givenName", s)
        })?;
        let family_name = changed(self.family_name, &current.family_name, |s| {
            check_person_name("familyName", s)
        })?;
        let email = changed(self.email, &current.email, check_email)?;
        let locale = changed(self.locale, &current.locale, check_locale)?;
        let email_verified = match self.email_verified {
            Some(v) => v.unwrap_or(false),
            None if email != current.email => false,
            None => current.email_verified,
        };
        if email_verified && email.is_none() {
            return Err(ApiFailure::invalid_field(
                "emailVerified",
                "cannot be true without an email",
            ));
        }
        let mut next = UserProfile {
            name,
            given_name,
            family_name,
            email,
            email_verified,
            locale,
            updated_at: current.updated_at,
        };
        if next != *current {
            next.updated_at = Some(now);
        }
        Ok(next)
    }
}

/// The field after a change: unchanged, cleared, or set to a value `check` accepts.
fn changed(
    change: Option<Option<String>>,
    current: &Option<String>,
    check: impl Fn(&str) -> Result<(), ApiFailure>,
) -> Result<Option<String>, ApiFailure> {
    match change {
        None => Ok(current.clone()),
        Some(None) => Ok(None),
        Some(Some(v)) => check(&v).map(|()| Some(v)),
    }
}

/// A name: 1–256 characters, not blank, no control characters (clear it with null).
pub fn check_person_name(field: &str, s: &str) -> Result<(), ApiFailure> {
    check_name(field, s, MAX_NAME)
}

/// An e-mail address: at most 254 characters, exactly one `@` with text on both
/// sides, no spaces or control characters. Deliverability is not checked.
pub fn check_email(s: &str) -> Result<(), ApiFailure> {
    let field = "email";
    check_length(field, s, MAX_EMAIL)?;
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiFailure::invalid_field(
            field,
            format!(
                "'{}' contains spaces or control characters",
                s.escape_default()
            ),
        ));
    }
    let shaped = s.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    if !shaped {
        return Err(ApiFailure::invalid_field(
            field,
            format!("'{s}' is not an e-mail address (name@domain, with exactly one '@')"),
        ));
    }
    Ok(())
}

/// A BCP 47 language tag (RFC 5646): subtags of 1–8 ASCII letters or digits joined by
/// `-`, the first 2–8 letters (`en`, `en-US`, `zh-Hant-TW`, `de-CH-1996`).
pub fn check_locale(s: &str) -> Result<(), ApiFailure> {
    let field = "locale";
    check_length(field, s, MAX_LOCALE)?;
    let bad = |why: &str| {
        ApiFailure::invalid_field(
            field,
            format!(
                "'{}' is not a BCP 47 language tag such as en or en-US: {why}",
                s.escape_default()
            ),
        )
    };
    if s.contains('_') {
        return Err(bad("subtags are joined with '-', not '_'"));
    }
    let mut subtags = s.split('-');
    let primary = subtags.next().unwrap_or("");
    if !(2..=8).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad("it must begin with a language of 2 to 8 letters"));
    }
    if !subtags.all(|t| (1..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(bad(
            "each further subtag is 1 to 8 letters or digits, joined with '-'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_800_000_000;

    fn message(r: Result<impl std::fmt::Debug, ApiFailure>) -> String {
        r.err().map(|e| e.message).unwrap_or_default()
    }

    fn set(v: &str) -> Option<Option<String>> {
        Some(Some(v.to_owned()))
    }

    #[test]
    fn emails_have_one_at_sign_no_spaces_and_at_most_254_characters() {
        for ok in ["a@b", "ann.lee+tag@example.com", "\"q\"@example.org"] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("ann", "exactly one '@'"),
            ("@example.com", "exactly one '@'"),
            ("ann@", "exactly one '@'"),
            ("a@b@c", "exactly one '@'"),
            ("ann lee@example.com", "spaces"),
            ("ann@exam\u{7}ple.com", "control"),
        ] {
            let m = message(check_email(bad));
            assert!(m.starts_with("Invalid value for 'email'"), "{m}");
            assert!(m.contains(why), "{bad}: {m}");
        }
        let long = format!("{}@example.com", "a".repeat(243));
        assert!(message(check_email(&long)).contains("at most 254"));
        assert!(check_email(&long[1..]).is_ok());
    }

    #[test]
    fn locales_are_bcp47_tags() {
        for ok in ["en", "en-US", "zh-Hant-TW", "de-CH-1996", "es-419", "fil"] {
            assert!(check_locale(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("en_US", "not '_'"),
            ("", "2 to 8 letters"),
            ("e", "2 to 8 letters"),
            ("12", "2 to 8 letters"),
            ("en-", "1 to 8 letters or digits"),
            ("en--US", "1 to 8 letters or digits"),
            ("en-US!", "1 to 8 letters or digits"),
            ("en-abcdefghi", "1 to 8 letters or digits"),
        ] {
            let m = message(check_locale(bad));
            assert!(m.contains(why), "{bad}: {m}");
        }
    }

    #[test]
    fn names_are_limited_and_not_blank() {
        assert!(check_person_name("givenName", &"é".repeat(256)).is_ok());
        assert_eq!(
            message(check_person_name("givenName", &"a".repeat(257))),
            "Invalid value for 'givenName': is 257 characters long; at most 256 are allowed"
        );
        assert!(message(check_person_name("displayName", " ")).contains("must not be empty"));
    }

    #[test]
    fn absent_fields_stay_null_clears_and_a_change_stamps_updated_at() {
        let before = UserProfile {
            name: Some("Ann Lee".into()),
            locale: Some("en".into()),
            updated_at: Some(NOW - 10),
            ..UserProfile::default()
        };
        let same = ProfileChanges {
            name: set("Ann Lee"),
            ..ProfileChanges::default()
        }
        .apply(&before, NOW)
        .ok();
        assert_eq!(same.as_ref(), Some(&before), "no change keeps updated_at");
        let after = ProfileChanges {
            given_name: set("Ann"),
            locale: Some(None),
            ..ProfileChanges::default()
        }
        .apply(&before, NOW)
        .ok();
        assert_eq!(
            after,
            Some(UserProfile {
                name: Some("Ann Lee".into()),
                given_name: Some("Ann".into()),
                updated_at: Some(NOW),
                ..UserProfile::default()
            })
        );
        assert!(UserProfile::default().is_empty());
        assert!(!before.is_empty());
    }

    #[test]
    fn a_changed_email_is_unverified_unless_verification_is_sent_with_it() {
        let verified = UserProfile {
            email: Some("ann@example.com".into()),
            email_verified: true,
            updated_at: Some(NOW - 10),
            ..UserProfile::default()
        };
        let apply = |c: ProfileChanges| c.apply(&verified, NOW).ok().map(|p| p.email_verified);
        let email = |v: &str| ProfileChanges {
            email: set(v),
            ..ProfileChanges::default()
        };
        assert_eq!(apply(email("ann@example.com")), Some(true), "same email");
        assert_eq!(apply(email("ann@example.org")), Some(false));
        assert_eq!(
            apply(ProfileChanges {
                email_verified: Some(Some(true)),
                ..email("ann@example.org")
            }),
            Some(true)
        );
        assert_eq!(
            apply(ProfileChanges {
                email_verified: Some(None),
                ..ProfileChanges::default()
            }),
            Some(false),
            "null is false"
        );
        let cleared = ProfileChanges {
            email: Some(None),
            ..ProfileChanges::default()
        }
        .apply(&verified, NOW)
        .ok();
        assert_eq!(
            cleared.map(|p| (p.email, p.email_verified)),
            Some((None, false))
        );
        assert_eq!(
            message(
                ProfileChanges {
                    email_verified: Some(Some(true)),
                    ..ProfileChanges::default()
                }
                .apply(&UserProfile::default(), NOW)
            ),
            "Invalid value for 'emailVerified': cannot be true without an email"
        );
    }
}
