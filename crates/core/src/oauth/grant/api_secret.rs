//! User API secrets at `/configapi/v2/oauth/token` (SPEC §1.4, seed 003): the
//! `client_credentials` grant where `client_id` is a user's login name, the secret is
//! that user's API secret, and `scope` names the tenant (its name or one of its host
//! names). The token acts as that user. No refresh token.
//!
//! Seed 003 calls `scope` "the tenant or host URL", so besides a tenant's name or host
//! name it may be a URL: `https://example.com`, `http://EXAMPLE.com:8443/` name the
//! same tenant as `example.com` ([`scope_host`]). A scope that names no tenant is
//! `invalid_scope` (400), not a failed authentication.
//!
//! Such tokens carry `client_id` = [`CLIENT_PREFIX`] + the user id: there is no client
//! application behind them, and deleting or regenerating the user's API secret ends
//! them (their `sv` claim names the secret they were issued under).

use crate::auth::user_still_valid;
use crate::context::Context;
use crate::oauth::client_auth::{limit_keys, presented};
use crate::oauth::error::OAuthError;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::resource;
use crate::oauth::token::{api_secret_version, mint, tenant_and_limits, Subject};
use crate::ratelimit::FailureLimiter;

/// The `client_id` claim of API-secret tokens starts with this.
pub const CLIENT_PREFIX: &str = "apisecret:";

pub async fn exchange(
    ctx: &Context,
    limiter: &FailureLimiter,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let (login, secret, _) = presented(&req.client)?;
    let scope = req.scope.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        OAuthError::invalid_request("scope is required: the tenant's name or host name.")
    })?;
    let now = ctx.now();
    let keys = limit_keys(&login, req.peer);
    limiter.check(&keys, now).map_err(OAuthError::too_many)?;
    let fail = || {
        limiter.record_failure(&keys, now);
        OAuthError::invalid_client("Authentication failed: unknown user or wrong API secret.")
    };
    let scope = scope.trim();
    let Some(tenant) = tenant_of_scope(ctx, scope).await? else {
        limiter.record_failure(&keys, now);
        return Err(OAuthError::invalid_scope(format!(
            "scope '{}' names no tenant: send the tenant's name, one of its host names, or its URL such as https://example.com.",
            scope.escape_default()
        )));
    };
    let user = ctx.store.user_by_login(tenant.id, &login).await?;
    let verified = match (&user, &secret) {
        (Some(u), Some(s)) => u
            .api_secret_verifier
            .as_ref()
            .is_some_and(|v| ctx.keys.verify(s.expose(), v)),
        (None, s) => {
            let _ = ctx
                .keys
                .verifier(s.as_ref().map(|s| s.expose()).unwrap_or(""));
            false
        }
        (Some(_), None) => false,
    };
    let (Some(user), true) = (user, verified) else {
        return Err(fail());
    };
    let user = user_still_valid(ctx, user.id, Some(user.auth_version))
        .await?
        .ok_or_else(|| OAuthError::invalid_client("The user is inactive or locked."))?;
    // Names the secret this token was issued under: a regenerated (or deleted)
    // secret ends it (validate.rs).
    let sv = api_secret_version(ctx, &user)
        .ok_or_else(|| OAuthError::invalid_client("The user has no API secret."))?;
    let (_, limits) = tenant_and_limits(ctx, tenant.id).await?;
    // A resource (RFC 8707) of the tenant narrows the tenant's scopes to its own.
    let resources = resource::resolve(ctx, tenant.id, &req.resource).await?;
    let scopes = resource::token_scopes(&tenant.allowed_scopes, &resources)?;
    let client_id = format!("{CLIENT_PREFIX}{}", user.id);
    let (access_token, expires_in) = mint(
        ctx,
        &client_id,
        tenant.id,
        Subject::ApiUser(&user, &sv),
        &scopes,
        None,
        resource::lifetime(&resources, limits.access_token_lifetime),
        None,
        &resource::uris(&resources),
    )?;
    tracing::info!(
        user = user.id,
        tenant = tenant.id,
        "API-secret token issued"
    );
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: None,
        scope: scopes.join(" "),
        id_token: None,
        issued_token_type: None,
        token_type: None,
    })
}

/// The host (lowercased) and port a scope names when it is `host[:port]`, optionally
/// as an `http://` or `https://` URL, optionally with a trailing `/`: seed 003's
/// "tenant or host URL". `None` for anything else (a tenant's name, a URL with a
/// path, query or credentials).
pub fn scope_host(scope: &str) -> Option<(String, Option<u16>)> {
    let lower = scope.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => {
            let port = (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .filter(|n| *n > 0)?;
            (h, Some(port))
        }
        None => (rest, None),
    };
    crate::model::client_app::is_host_name(host).then(|| (host.to_owned(), port))
}

/// The tenant `scope` names: by name as sent, else by host name (with the port when
/// one was given, then without), else by name as the bare host.
async fn tenant_of_scope(
    ctx: &Context,
    scope: &str,
) -> Result<Option<crate::model::identity::Tenant>, crate::store::StoreError> {
    if let Some(t) = ctx.store.tenant_by_name(scope).await? {
        return Ok(Some(t));
    }
    let Some((host, port)) = scope_host(scope) else {
        return Ok(None);
    };
    if let Some(port) = port {
        if let Some(t) = ctx.store.tenant_by_host(&format!("{host}:{port}")).await? {
            return Ok(Some(t));
        }
    }
    if let Some(t) = ctx.store.tenant_by_host(&host).await? {
        return Ok(Some(t));
    }
    ctx.store.tenant_by_name(&host).await
}

#[cfg(test)]
mod tests {
    use super::*;

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            #[test]
            fn arbitrary_scopes_never_panic(s in any::<String>()) {
                if let Some((host, _)) = scope_host(&s) {
                    prop_assert!(crate::model::client_app::is_host_name(&host));
                    prop_assert_eq!(host.to_ascii_lowercase(), host);
                }
            }

            /// `https://H[:port][/]` (any scheme case, http too) names the host `H`.
            #[test]
            fn a_host_url_is_the_host(
                host in "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?){0,3}",
                scheme in prop_oneof![Just("https://"), Just("http://"), Just("HTTPS://"), Just("Http://"), Just("")],
                port in proptest::option::of(1u16..),
                slash in any::<bool>(),
            ) {
                let url = format!(
                    "{scheme}{host}{}{}",
                    port.map(|p| format!(":{p}")).unwrap_or_default(),
                    if slash { "/" } else { "" }
                );
                let bare = scope_host(&host);
                prop_assert_eq!(bare.clone(), Some((host.to_ascii_lowercase(), None)));
                prop_assert_eq!(scope_host(&url), Some((host.to_ascii_lowercase(), port)));
            }
        }
    }

    #[test]
    fn a_host_url_names_the_same_host_as_the_bare_host() {
        let h = |s: &str| scope_host(s);
        let bare = Some(("example.com".to_owned(), None));
        for s in [
            "example.com",
            "example.com/",
            "https://example.com",
            "https://example.com/",
            "http://example.com",
            "HTTPS://EXAMPLE.com/",
            "Example.COM",
        ] {
            assert_eq!(h(s), bare, "{s}");
        }
        assert_eq!(
            h("https://example.com:8443/"),
            Some(("example.com".to_owned(), Some(8443)))
        );
        for s in [
            "Tenant A",
            "https://example.com/path",
            "https://user@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "ftp://example.com",
            "https://",
            "example.com//",
            "",
        ] {
            assert_eq!(h(s), None, "{s}");
        }
    }
}
