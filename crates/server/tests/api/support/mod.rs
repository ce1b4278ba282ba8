//! Helpers shared by several test files, beyond the harness in `helpers.rs`.

pub mod oauth;
