//! The device authorization grant's user codes (RFC 8628 §6.1): 8 letters of 20
//! consonants (no vowels, so no words; no look-alikes such as 0/O or 1/I), shown
//! `XXXX-XXXX`, accepted in any case, with or without the dash and with surrounding
//! spaces; stored only as keyed verifiers. Below both [`super::device`] and
//! [`super::authorize`], which each need them.

use crate::context::Context;
use rand::Rng as _;

/// Where users type the code (`verification_uri`).
pub const VERIFICATION_PATH: &str = "/oauth2/device";
/// RFC 8628 §6.1's alphabet: 20 consonants, no look-alikes.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code: 20^8 ≈ 2.6·10^10 codes.
pub const USER_CODE_LEN: usize = 8;

/// A fresh user code, normalised (8 letters, no dash), from the OS generator.
pub(crate) fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LEN)
        .map(|_| char::from(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

/// A normalised code as shown to people: `XXXX-XXXX`.
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// The user code as typed, normalised: surrounding spaces and one dash in the middle
/// dropped, letters upper-cased. `None` when it cannot be a user code at all.
pub fn normalize(typed: &str) -> Option<String> {
    let t = typed.trim().to_ascii_uppercase();
    let t = match t.split_once('-') {
        Some((a, b)) if a.len() == USER_CODE_LEN / 2 => format!("{a}{b}"),
        Some(_) => return None,
        None => t,
    };
    let ok = t.len() == USER_CODE_LEN && t.bytes().all(|c| USER_CODE_ALPHABET.contains(&c));
    ok.then_some(t)
}

/// The keyed verifier a normalised user code is stored and found by.
pub(crate) fn user_verifier(ctx: &Context, code: &str) -> String {
    ctx.keys.verifier(&format!("user-code\n{code}"))
}

fn proof_text(code: &str) -> String {
    format!("device-request\n{code}")
}

/// The keyed proof, carried through the authorization endpoint's forms, that the
/// verification page accepted `code` (within the guessing limits).
pub(crate) fn proof(ctx: &Context, code: &str) -> String {
    ctx.keys.verifier(&proof_text(code))
}

/// Whether `presented` is [`proof`] of `code`.
pub(crate) fn proof_ok(ctx: &Context, code: &str, presented: &str) -> bool {
    ctx.keys.verify(&proof_text(code), presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_accepted_in_any_case_with_or_without_the_dash() {
        assert_eq!(normalize(" bcdf-ghjk ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize("bcdfghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize("BCDF-GHJK").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize("BCD-FGHJK"), None, "the dash goes in the middle");
        assert_eq!(normalize("BCDF-GHJA"), None, "no vowels");
        assert_eq!(normalize("BCDF-GHJ"), None, "eight letters");
        assert_eq!(normalize("BCDF-GHJK-"), None);
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
    }

    #[test]
    fn new_user_codes_use_the_alphabet() {
        for _ in 0..100 {
            let c = new_user_code();
            assert_eq!(normalize(&c).as_deref(), Some(c.as_str()));
        }
    }
}
