//! The token vault's HTTP surface (SPEC §4.3): HDP's OAuth application objects
//! ([`apps`]: `/api/mgmt/oauthapps`, `spec/hdp-reference.md` §2.1), OAuth profiles
//! ([`profiles`]: `/api/mgmt/oauthprofiles`, §2.2, with Portcullis's refresh), and the
//! connect flow with its browser callback `/oauth2callback` ([`connect`], its page
//! rendered from a template by [`super::pages`]). Handlers parse, make one call into
//! `portcullis_core::vault`, and shape the answer as HDP does.
//!
//! JSON typing (HDP §0.4): ids in bodies (`oauthAppId`, `dataStore`, `tenantId`) are
//! accepted as numbers or strings of digits ([`LooseInt`]) and always answered as
//! numbers.

pub mod apps;
pub mod connect;
pub mod profiles;

use crate::state::AppState;
use serde::{Deserialize, Deserializer};
use utoipa_axum::router::OpenApiRouter;

/// An integer sent as a JSON number or as a string of digits (HDP samples show both).
#[derive(Debug, Clone, Copy)]
pub struct LooseInt(pub i64);

impl<'de> Deserialize<'de> for LooseInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::N(n)) => Ok(LooseInt(n)),
            Ok(Raw::S(s)) => s
                .trim()
                .parse()
                .map(LooseInt)
                .map_err(|_| serde::de::Error::custom(format!("'{s}' is not an integer"))),
            Err(_) => Err(serde::de::Error::custom(
                "expected an integer (a number or a string of digits)",
            )),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(apps::router())
        .merge(profiles::router())
        .merge(connect::router())
}
