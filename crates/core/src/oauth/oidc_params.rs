//! The OpenID Connect parameters of an authorization request (OIDC Core §3.1.2.1),
//! checked after the client, its redirect URI and the scopes are known, so that every
//! failure goes back to the client as an error redirect:
//!
//! * `request` and `request_uri` are refused (`request_not_supported`,
//!   `request_uri_not_supported`, §6): signed request objects are not built. A
//!   pushed request's `request_uri` (RFC 9126) never gets here: [`super::par`] took
//!   it and replaced the parameters before.
//! * `prompt` must be a list of `none`, `login`, `consent`, `select_account`, with
//!   `none` alone; `max_age` a number of seconds.
//! * `nonce`, `max_age`, `id_token_hint` and `claims` only mean something for an
//!   OpenID Connect request: without `openid` in `scope` they are refused, so a client
//!   that forgot the scope learns it instead of silently getting no ID token.
//! * `id_token_hint` must be an ID token this server issued to this client (its
//!   signature checked with the published keys; it may have expired, §3.1.2.1).
//! * `login_hint`, `ui_locales`, `acr_values` and `display` are accepted: the login
//!   page pre-fills the hint; the pages exist in English only; one way to sign in
//!   (a password) satisfies every `acr`; one display fits all.

use super::claims_request::ClaimsRequest;
use super::params::Prompt;
use crate::context::Context;
use crate::model::client_app::ClientApp;
use crate::model::scope::OPENID;

use super::params::AuthorizeParams;

/// What the parameters say, once checked.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub openid: bool,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub hinted_subject: Option<String>,
    /// The claims request in its stored form.
    pub claims: Option<String>,
}

/// An error for the client: (error code, description).
pub type Refusal = (&'static str, String);

fn invalid(description: impl Into<String>) -> Refusal {
    ("invalid_request", description.into())
}

/// Checks the parameters of a request whose `scopes` were granted.
pub fn check(
    ctx: &Context,
    app: &ClientApp,
    params: &AuthorizeParams,
    scopes: &[String],
) -> Result<Checked, Refusal> {
    if params.request.is_some() {
        return Err((
            "request_not_supported",
            "Request objects (the request parameter) are not supported; send the parameters themselves.".to_owned(),
        ));
    }
    if params.request_uri.is_some() {
        return Err((
            "request_uri_not_supported",
            "request_uri is not supported; send the parameters themselves.".to_owned(),
        ));
    }
    let prompt = Prompt::parse(params.prompt.as_deref()).map_err(invalid)?;
    let openid = scopes.iter().any(|s| s == OPENID);
    if !openid {
        let oidc_only = [
            ("nonce", &params.nonce),
            ("max_age", &params.max_age),
            ("id_token_hint", &params.id_token_hint),
            ("claims", &params.claims),
        ];
        if let Some((name, _)) = oidc_only.iter().find(|(_, v)| v.is_some()) {
            return Err(invalid(format!(
                "{name} is an OpenID Connect parameter; add openid to the scope to use it."
            )));
        }
    }
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(v) => Some(
            v.parse::<u32>()
                .map(i64::from)
                .map_err(|_| invalid("max_age must be a whole number of seconds."))?,
        ),
    };
    let claims = match params.claims.as_deref() {
        None => None,
        Some(raw) => Some(ClaimsRequest::parse(raw).map_err(invalid)?.to_json()),
    };
    let hinted_subject =
        match params.id_token_hint.as_deref() {
            None => None,
            Some(hint) => Some(super::id_token::hinted_subject(ctx, app, hint).ok_or_else(
                || invalid("id_token_hint is not an ID token this server issued to this client."),
            )?),
        };
    Ok(Checked {
        openid,
        prompt,
        max_age,
        hinted_subject,
        claims,
    })
}
