//! The checks that the typed text fields (tenant and application names and
//! descriptions, login names) share, each refusing in HDP's words and naming the field.

use crate::error::ApiFailure;

/// Refuses text that is empty or only spaces.
pub fn check_not_blank(field: &str, s: &str) -> Result<(), ApiFailure> {
    if s.trim().is_empty() {
        return Err(ApiFailure::invalid_field(field, "must not be empty"));
    }
    Ok(())
}

/// Refuses text longer than `max` characters.
pub fn check_length(field: &str, s: &str, max: usize) -> Result<(), ApiFailure> {
    let n = s.chars().count();
    if n > max {
        return Err(ApiFailure::invalid_field(
            field,
            format!("is {n} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// A name: not blank, at most `max` characters, no control characters.
pub fn check_name(field: &str, s: &str, max: usize) -> Result<(), ApiFailure> {
    check_not_blank(field, s)?;
    check_length(field, s, max)?;
    if s.chars().any(char::is_control) {
        return Err(ApiFailure::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}
