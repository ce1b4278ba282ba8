//! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)):
//! a device without a browser asks for a code pair at
//! [`DEVICE_AUTHORIZATION_PATH`] ([`start`]); the user types the short user code on
//! the verification page ([`VERIFICATION_PATH`], [`enter`]), then signs in and
//! consents on the authorization endpoint's own pages ([`super::signin`]), which end
//! on a page instead of a redirect ([`approve`], [`deny`]); the device polls the token
//! endpoint ([`super::grant::device_code`]).
//!
//! User codes are 8 letters of RFC 8628 §6.1's 20 consonants (no vowels, so no words;
//! no look-alikes such as 0/O or 1/I), shown `XXXX-XXXX` and accepted in any case,
//! with or without the dash, with surrounding spaces ([`normalize`]): 20^8 ≈ 2.6·10^10
//! codes. Wrong codes are limited per address and for the whole code space
//! ([`crate::ratelimit::DEVICE_CODES_PER_ADDRESS`], `DEVICE_CODES_PER_NODE`); the odds
//! are in docs/decisions.md. Only keyed verifiers of both codes are stored. The codes'
//! own rules are [`super::user_code`]; the authorization endpoint's side of a device
//! request is [`super::authorize::validate`]'s.
//!
//! Once a code is accepted, the authorization endpoint's forms carry it with a keyed
//! proof ([`super::params::DEVICE_PROOF_PARAM`]), so that the endpoint cannot be used to try codes
//! without going through the limits.

use super::authorize::ValidRequest;
use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::params::AuthorizeParams;
use super::step::{unavailable, DeviceOutcome, Step};
use super::token::{allowed_scopes_for_user, resolve_scope_for, tenant_and_limits};
pub use super::user_code::{display, normalize, VERIFICATION_PATH};
use super::user_code::{new_user_code, proof, user_verifier};
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::client_app::GrantType;
use crate::model::device::{DeviceGrant, DeviceStatus};
use crate::model::identity::User;
use crate::model::time::UnixTime;
use crate::ratelimit::{counted_address, FailureLimiter};
use crate::session;
use std::net::IpAddr;

/// Where devices ask for codes.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/oauth2/device_authorization";
/// How many seconds a device code lives (RFC 8628 §3.2 `expires_in`).
pub const LIFETIME: i64 = 600;
/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    /// As shown: `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Starts a device request for `client` (RFC 8628 §3.1): the client must be allowed
/// the grant; `scope` and `resource` are resolved as at the authorization endpoint.
pub async fn start(
    ctx: &Context,
    client: &AuthenticatedClient,
    scope: Option<&str>,
    resource: &[String],
) -> Result<DeviceAuthorization, OAuthError> {
    let app = &client.app;
    if !app.grant_types.contains(&GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client(format!(
            "This client is not allowed to use the {} grant.",
            GrantType::DeviceCode
        )));
    }
    let (tenant, _) = tenant_and_limits(ctx, app.tenant_id).await?;
    let resources = super::resource::resolve(ctx, tenant.id, resource).await?;
    let scopes = resolve_scope_for(scope, &allowed_scopes_for_user(app, &tenant), &resources)?;
    let now = ctx.now();
    let device_code = Secret::generate();
    let interval = ctx.device_poll_interval.max(1);
    // A user code collides with a live one once in billions: try a few.
    for _ in 0..3 {
        let user_code = new_user_code();
        let grant = DeviceGrant {
            device_verifier: ctx.keys.verifier(device_code.expose()),
            user_verifier: user_verifier(ctx, &user_code),
            client_app_id: app.id,
            scopes: scopes.clone(),
            resources: super::resource::uris(&resources),
            interval,
            last_poll_at: None,
            created_at: now,
            expires_at: now + LIFETIME,
            status: DeviceStatus::Pending,
        };
        match ctx.store.insert_device_grant(&grant).await {
            Ok(()) => {
                tracing::info!(client = %app.client_id, "device authorization started");
                let verification_uri = format!("{}{VERIFICATION_PATH}", ctx.signer.issuer());
                let shown = display(&user_code);
                return Ok(DeviceAuthorization {
                    device_code,
                    verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                    verification_uri,
                    user_code: shown,
                    expires_in: LIFETIME,
                    interval,
                });
            }
            Err(crate::store::StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::error!("three user-code collisions in a row");
    Err(OAuthError::server_error())
}

/// Why a typed user code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// Not a code, unknown, expired or already decided (one message for all).
    Wrong,
    /// Too many wrong codes: from this address, or for the whole code space.
    TooMany(u64),
    /// The database failed (logged).
    Unavailable,
}

impl EntryError {
    /// In words for the page.
    pub fn message(&self) -> String {
        match self {
            EntryError::Wrong => "That code is not valid. Check it on your device: it may have expired or been used already.".to_owned(),
            EntryError::TooMany(secs) => format!("Too many wrong codes were entered. Try again in {secs} seconds."),
            EntryError::Unavailable => "The service cannot check codes right now. Please try again shortly.".to_owned(),
        }
    }
}

/// The keys a wrong user code counts against: the address and the code space.
fn entry_keys(peer: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec!["device-all".to_owned()];
    if let Some(ip) = peer {
        keys.push(format!("device-ip:{}", counted_address(ip)));
    }
    keys
}

/// The user typed `typed` on the verification page: when it names a pending request,
/// the authorization request that continues it (sign-in, consent). Wrong codes count
/// toward the limits; over them, nothing is looked up.
pub async fn enter(
    ctx: &Context,
    limiter: &FailureLimiter,
    peer: Option<IpAddr>,
    typed: &str,
) -> Result<AuthorizeParams, EntryError> {
    let now = ctx.now();
    let keys = entry_keys(peer);
    limiter.check(&keys, now).map_err(EntryError::TooMany)?;
    let wrong = || {
        limiter.record_failure(&keys, now);
        tracing::info!("a wrong user code was entered");
        EntryError::Wrong
    };
    let Some(code) = normalize(typed) else {
        return Err(wrong());
    };
    let grant = match ctx
        .store
        .device_grant_by_user_code(&user_verifier(ctx, &code))
        .await
    {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "store failure at the device verification page");
            return Err(EntryError::Unavailable);
        }
    };
    let Some(grant) = grant.filter(|g| g.status == DeviceStatus::Pending && g.expires_at > now)
    else {
        return Err(wrong());
    };
    let app = match ctx.store.client_app(grant.client_app_id).await {
        Ok(Some(app)) => app,
        Ok(None) => return Err(wrong()),
        Err(e) => {
            tracing::error!(error = %e, "store failure at the device verification page");
            return Err(EntryError::Unavailable);
        }
    };
    Ok(AuthorizeParams {
        client_id: Some(app.client_id),
        device_request: Some(proof(ctx, &code)),
        user_code: Some(code),
        ..AuthorizeParams::default()
    })
}

/// The user allowed the device request `req`: records the approval (with the
/// sign-in's time and session) for the device's next poll.
pub(crate) async fn approve(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
    since: UnixTime,
    session_id: &str,
) -> Step {
    let decision = DeviceStatus::Approved {
        user_id: user.id,
        auth_time: Some(since),
        sid: Some(session::sid(ctx, session_id)),
    };
    decide(ctx, req, user, decision).await
}

/// The user denied the device request `req`: its polls answer `access_denied`.
pub(crate) async fn deny(ctx: &Context, req: &ValidRequest, user: &User) -> Step {
    decide(ctx, req, user, DeviceStatus::Denied).await
}

async fn decide(ctx: &Context, req: &ValidRequest, user: &User, decision: DeviceStatus) -> Step {
    let Some(verifier) = req.device.as_deref() else {
        return unavailable("a device decision without a device request");
    };
    let approved = matches!(decision, DeviceStatus::Approved { .. });
    match ctx
        .store
        .decide_device_grant(verifier, &decision, ctx.now())
        .await
    {
        Ok(true) => {
            tracing::info!(client = %req.app.client_id, user = user.id, approved, "device request decided");
            Step::Device(DeviceOutcome {
                approved,
                app_name: req.app.name.clone(),
            })
        }
        Ok(false) => Step::Error(super::step::ErrorPage::new(
            super::step::Refusal::Invalid,
            "Device code not valid",
            "This device code has expired or was already used. Start again on your device.",
        )),
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::tests::fixture;
    use crate::ratelimit::{DEVICE_CODES_PER_NODE, DEVICE_WINDOW};

    #[tokio::test]
    async fn wrong_codes_from_many_addresses_close_the_code_space_for_a_window() {
        let f = fixture(false).await;
        let limiter = FailureLimiter::default();
        let wrong = "BBBB-BBBB";
        for i in 0..DEVICE_CODES_PER_NODE {
            let ip = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
            let r = enter(&f.ctx, &limiter, Some(ip), wrong).await;
            assert_eq!(r, Err(EntryError::Wrong), "attempt {i}");
        }
        let fresh = IpAddr::from([192, 0, 2, 1]);
        let r = enter(&f.ctx, &limiter, Some(fresh), wrong).await;
        assert!(matches!(r, Err(EntryError::TooMany(_))), "{r:?}");
        f.clock.advance(DEVICE_WINDOW);
        let r = enter(&f.ctx, &limiter, Some(fresh), wrong).await;
        assert_eq!(r, Err(EntryError::Wrong), "a new window");
    }
}
