//! The token endpoint (RFC 6749 §3.2, SPEC §1): authenticates the client, runs the
//! grant, and mints the access token (a JWT, RFC 9068) and, where the grant gives one,
//! a refresh token. One file per grant under [`super::grant`].

use super::claims_request::ClaimsRequest;
use super::client_auth::{self, AuthenticatedClient};
use super::error::{ErrorCode, OAuthError};
use super::grant;
use super::id_token;
use super::request::{Endpoint, TokenRequest, TokenResponse};
use super::resource;
use crate::context::Context;
use crate::crypto::Secret;
use crate::limits::{oauth_limits, OauthLimits};
use crate::model::claims::{AccessClaims, Act, Audience};
use crate::model::client_app::{ClientApp, GrantType};
use crate::model::identity::{Tenant, User};
use crate::model::resource::ResourceServer;
use crate::model::scope::{OFFLINE_ACCESS, OPENID};
use crate::model::token::{Family, RefreshToken, SignInContext};
use crate::ratelimit::FailureLimiter;

/// Runs a token request end to end, in a DPoP binding scope
/// ([`super::dpop::scoped`]): the tokens every grant mints are bound to the request's
/// proof key, if it sent one.
pub async fn exchange(
    ctx: &Context,
    limiter: &FailureLimiter,
    req: TokenRequest,
    endpoint: Endpoint,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = req.grant_type.clone();
    let presented = super::token_audit::presented_id(&req.client);
    let result = super::token_audit::recorded(
        ctx,
        grant_type.as_deref(),
        presented.as_deref(),
        // Boxed: `run` holds every grant's state machine (several KB), and each scope
        // wrapped around it would otherwise move it whole (memmove was 5 % of the
        // server's time under `client_credentials` load).
        super::dpop::scoped(Box::pin(run(ctx, limiter, req, endpoint))),
    )
    .await;
    if let Err(e) = &result {
        // Counted here, where every token-endpoint outcome passes; the label is the
        // RFC 6749 error code, a fixed set.
        count_failure(e.code);
    }
    result
}

/// Counts one failed token request by its RFC 6749 error code. [`exchange`] counts
/// its own; the HTTP layer calls this for the requests it refuses before the token
/// logic runs (an unreadable body, a bad form, a bad DPoP proof).
pub fn count_failure(code: ErrorCode) {
    metrics::counter!("portcullis_token_failures_total", "error" => code.as_str()).increment(1);
}

async fn run(
    ctx: &Context,
    limiter: &FailureLimiter,
    req: TokenRequest,
    endpoint: Endpoint,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = req
        .grant_type
        .clone()
        .ok_or_else(|| OAuthError::invalid_request("The grant_type parameter is required."))?;
    if endpoint == Endpoint::ConfigApi {
        if grant_type != "client_credentials" {
            return Err(OAuthError::new(
                super::error::ErrorCode::UnsupportedGrantType,
                format!(
                    "This endpoint takes grant_type=client_credentials only, not '{grant_type}'."
                ),
            ));
        }
        let issued = grant::api_secret::exchange(ctx, limiter, req).await;
        if issued.is_ok() {
            count_issued("client_credentials", "api_secret");
        }
        return issued;
    }
    let Some(kind) = GrantType::parse(&grant_type) else {
        return Err(OAuthError::new(
            super::error::ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type '{grant_type}' is not supported; use authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code or {}.", crate::model::token_exchange::GRANT
            ),
        ));
    };
    let client = client_auth::authenticate(
        ctx,
        limiter,
        &req.client,
        req.peer,
        client_auth::ClientEndpoint::Token,
    )
    .await?;
    super::token_audit::note_client(client.app.tenant_id, &client.app.client_id);
    if !client.app.grant_types.contains(&kind) {
        return Err(OAuthError::unauthorized_client(format!(
            "This client is not allowed to use the {kind} grant."
        )));
    }
    super::dpop::bind(super::dpop::verify_presented(ctx, &client.app, req.dpop.as_ref()).await?);
    let issued = match kind {
        GrantType::Password => {
            let attempt = crate::auth::Attempt {
                limiter,
                peer: req.peer,
            };
            grant::password::exchange(ctx, &client, attempt, req).await
        }
        GrantType::RefreshToken => grant::refresh_token::exchange(ctx, &client, req).await,
        GrantType::ClientCredentials => {
            grant::client_credentials::exchange(ctx, &client, req).await
        }
        GrantType::AuthorizationCode => {
            grant::authorization_code::exchange(ctx, &client, req).await
        }
        GrantType::TokenExchange => grant::token_exchange::exchange(ctx, &client, req).await,
        GrantType::DeviceCode => grant::device_code::exchange(ctx, &client, req).await,
    };
    if issued.is_ok() {
        count_issued(
            kind.as_str(),
            if client.app.public {
                "public"
            } else {
                "confidential"
            },
        );
        super::registration::mark_used(ctx, &client.app).await;
    }
    issued
}

/// Counts one successful token response by grant and client type (never the client
/// id: labels stay a small fixed set).
fn count_issued(grant: &'static str, client_type: &'static str) {
    metrics::counter!(
        "portcullis_tokens_issued_total",
        "grant" => grant,
        "client_type" => client_type
    )
    .increment(1);
}

/// The scopes a token may carry: the client's, within the tenant's allowed set.
pub fn allowed_scopes(app: &ClientApp, tenant: &Tenant) -> Vec<String> {
    app.scopes
        .iter()
        .filter(|s| tenant.allowed_scopes.contains(s))
        .cloned()
        .collect()
}

/// The scopes a token for a signed-in user may carry: [`allowed_scopes`] and the
/// OpenID Connect identity scopes, which every application may ask for
/// ([`crate::model::scope::IDENTITY`]).
pub fn allowed_scopes_for_user(app: &ClientApp, tenant: &Tenant) -> Vec<String> {
    let mut out = allowed_scopes(app, tenant);
    out.extend(
        crate::model::scope::IDENTITY
            .iter()
            .map(|(s, _)| (*s).to_owned()),
    );
    out
}

/// Resolves the `scope` parameter against what is allowed (RFC 6749 §3.3). None asked
/// means the default: `api.access.odata` when allowed, else every allowed API scope
/// (never an identity scope: those are only granted when asked for).
pub fn resolve_scope(
    requested: Option<&str>,
    allowed: &[String],
) -> Result<Vec<String>, OAuthError> {
    let requested: Vec<&str> = requested
        .map(|s| s.split(' ').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    if requested.is_empty() {
        let api: Vec<String> = allowed
            .iter()
            .filter(|s| !crate::model::scope::is_identity(s))
            .cloned()
            .collect();
        let default: Vec<String> = api
            .iter()
            .filter(|s| *s == crate::model::scope::ODATA)
            .cloned()
            .collect();
        let out = if default.is_empty() { api } else { default };
        if out.is_empty() {
            return Err(OAuthError::invalid_scope(
                "No scope is allowed for this client in its tenant.",
            ));
        }
        return Ok(out);
    }
    let mut out: Vec<String> = Vec::new();
    for r in requested {
        let name = crate::model::scope::canonical(r)
            .ok_or_else(|| OAuthError::invalid_scope(format!("Unknown scope '{r}'.")))?
            .to_owned();
        if !allowed.contains(&name) {
            return Err(OAuthError::invalid_scope(format!(
                "Scope '{r}' is not allowed for this client."
            )));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// [`resolve_scope`] for a grant for `resources` (RFC 8707): narrowed to what they
/// accept, and without a `scope`, every allowed API scope they accept
/// ([`resource::grant_scopes`]). Without resources, [`resolve_scope`] itself.
pub fn resolve_scope_for(
    requested: Option<&str>,
    allowed: &[String],
    resources: &[ResourceServer],
) -> Result<Vec<String>, OAuthError> {
    let asked = requested.is_some_and(|s| s.split(' ').any(|p| !p.is_empty()));
    if resources.is_empty() || asked {
        let resolved = resolve_scope(requested, allowed)?;
        return resource::grant_scopes(resolved, true, allowed, resources);
    }
    resource::grant_scopes(Vec::new(), false, allowed, resources)
}

/// What a token is for (RFC 8707): the resources of the grant, kept on its family,
/// and those of this access token (the grant's, or a subset the token request named).
/// Both empty: the issuer, as before resource indicators.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub granted: Vec<String>,
    pub token: Vec<ResourceServer>,
}

impl Target {
    /// A grant whose token is for all of `resources`.
    pub fn all(resources: Vec<ResourceServer>) -> Self {
        Self {
            granted: resource::uris(&resources),
            token: resources,
        }
    }
}

/// Loads the tenant of a client or user and its OAuth limits.
pub async fn tenant_and_limits(
    ctx: &Context,
    tenant_id: i64,
) -> Result<(Tenant, OauthLimits), OAuthError> {
    let tenant = ctx
        .store
        .tenant(tenant_id)
        .await?
        .filter(|t| t.active)
        .ok_or_else(|| OAuthError::invalid_grant("The tenant is inactive."))?;
    let limits = oauth_limits(ctx.store.as_ref(), tenant_id).await?;
    Ok((tenant, limits))
}

/// Who an access token is for.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    User(&'a User),
    /// A user through their API secret, with [`api_secret_version`] of that secret:
    /// regenerating or deleting the secret ends the token.
    ApiUser(&'a User, &'a str),
    /// The client itself (`client_credentials`), with [`secret_version`] of its secret.
    Client(Option<&'a str>),
    /// A user, with the party acting for them (token exchange's delegation, RFC 8693
    /// §4.1): the token carries it as its `act` claim.
    Delegated(&'a User, &'a Act),
}

/// A short keyed digest naming a client's current secret (never the secret itself).
pub fn secret_version(ctx: &Context, app: &ClientApp) -> Option<String> {
    app.secret_verifier
        .as_deref()
        .map(|v| verifier_version(ctx, v))
}

/// A short keyed digest naming a user's current API secret, if they have one.
pub fn api_secret_version(ctx: &Context, user: &User) -> Option<String> {
    user.api_secret_verifier
        .as_deref()
        .map(|v| verifier_version(ctx, v))
}

fn verifier_version(ctx: &Context, verifier: &str) -> String {
    use base64::Engine as _;
    let digest = ctx
        .keys
        .cache_key(&[b"secret-version", verifier.as_bytes()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// Signs an access token; returns it with its lifetime. Within [`exchange`], once a
/// DPoP proof was verified, the token is bound to its key (`cnf.jkt`). `sign_in` is the OpenID
/// Connect sign-in of a user's grant, whose claims request the token carries for
/// the UserInfo endpoint. `audience` is the token's resources (RFC 8707); empty: the
/// issuer.
#[allow(clippy::too_many_arguments)]
pub fn mint(
    ctx: &Context,
    client_id: &str,
    tenant_id: i64,
    subject: Subject<'_>,
    scopes: &[String],
    family: Option<&str>,
    lifetime: i64,
    sign_in: Option<&SignInContext>,
    audience: &[String],
) -> Result<(String, i64), OAuthError> {
    let now = ctx.now();
    let issuer = ctx.signer.issuer().to_owned();
    super::token_audit::note_minted(
        tenant_id,
        client_id,
        match subject {
            Subject::User(u) | Subject::ApiUser(u, _) | Subject::Delegated(u, _) => Some(u.id),
            Subject::Client(_) => None,
        },
    );
    let (sub, username, av) = match subject {
        Subject::User(u) | Subject::ApiUser(u, _) | Subject::Delegated(u, _) => (
            u.id.to_string(),
            Some(u.login.clone()),
            Some(u.auth_version),
        ),
        Subject::Client(_) => (client_id.to_owned(), None, None),
    };
    let sv = match subject {
        Subject::Client(sv) => sv.map(str::to_owned),
        Subject::ApiUser(_, sv) => Some(sv.to_owned()),
        Subject::User(_) | Subject::Delegated(..) => None,
    };
    let claims = AccessClaims {
        aud: if audience.is_empty() {
            Audience::One(issuer.clone())
        } else {
            Audience::of(audience.to_vec())
        },
        iss: issuer,
        sub,
        exp: now + lifetime,
        iat: now,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        client_id: client_id.to_owned(),
        scope: scopes.join(" "),
        tenant: tenant_id,
        username,
        av,
        fam: family.map(str::to_owned),
        sv,
        uc: sign_in
            .map(|s| ClaimsRequest::from_json(s.claims.as_deref()).userinfo)
            .filter(|names| !names.is_empty()),
        act: match subject {
            Subject::Delegated(_, act) => Some(act.clone()),
            _ => None,
        },
        cnf: super::dpop::confirmation(),
    };
    let token = ctx.signer.sign(&claims).map_err(|e| {
        tracing::error!(error = %e, "signing an access token failed");
        OAuthError::server_error()
    })?;
    Ok((token, lifetime))
}

/// Whether a user's grant gets a refresh token. Without `openid`, always (HDP's
/// behaviour); with it, when `offline_access` was granted or the client is
/// confidential, as node-oidc-provider decides (OIDC Core §11 leaves it to the OP):
/// a public client signing a user in gets only what the sign-in needs.
pub fn gets_refresh_token(app: &ClientApp, scopes: &[String]) -> bool {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    !has(OPENID) || has(OFFLINE_ACCESS) || !app.public
}

/// An ID token beside `access_token` when `openid` is among `scopes`.
pub fn id_token_for(
    ctx: &Context,
    app: &ClientApp,
    user: &User,
    scopes: &[String],
    access_token: &str,
    sign_in: &SignInContext,
    lifetime: i64,
) -> Result<Option<String>, OAuthError> {
    if !scopes.iter().any(|s| s == OPENID) {
        return Ok(None);
    }
    id_token::mint(
        ctx,
        id_token::Subject {
            app,
            user,
            scopes,
            access_token,
            sign_in,
            lifetime,
        },
    )
    .map(Some)
}

/// Starts a grant for a user: a family with its first refresh token (when
/// [`gets_refresh_token`]), the first access token and, for `openid`, an ID token.
/// Used by the password and authorization-code grants; `sign_in` says how the user
/// signed in (the code's, or now for the password grant). `scopes` are the grant's;
/// the access token carries those its resources accept ([`resource::token_scopes`])
/// and lives as long as they say ([`resource::lifetime`]).
pub async fn issue_for_user(
    ctx: &Context,
    client: &AuthenticatedClient,
    user: &User,
    scopes: Vec<String>,
    limits: &OauthLimits,
    sign_in: SignInContext,
    target: Target,
) -> Result<(TokenResponse, String), OAuthError> {
    issue_for_user_from(ctx, client, user, scopes, limits, sign_in, target, None).await
}

/// [`issue_for_user`] for a grant from the authorization code whose verifier is
/// `code`: the code is told its family in the same write as the consent and the family
/// ([`crate::store::GrantStore::start_user_grant`]), and a replay of the code that came
/// in since its take fails the exchange before any token is minted.
#[allow(clippy::too_many_arguments)]
pub async fn issue_for_user_from(
    ctx: &Context,
    client: &AuthenticatedClient,
    user: &User,
    scopes: Vec<String>,
    limits: &OauthLimits,
    sign_in: SignInContext,
    target: Target,
    code: Option<&str>,
) -> Result<(TokenResponse, String), OAuthError> {
    let now = ctx.now();
    let token_scopes = resource::token_scopes(&scopes, &target.token)?;
    let lifetime = resource::lifetime(&target.token, limits.access_token_lifetime);
    let family = Family {
        id: uuid::Uuid::new_v4().simple().to_string(),
        client_app_id: client.app.id,
        user_id: Some(user.id),
        tenant_id: user.tenant_id,
        scopes: scopes.clone(),
        auth_version: Some(user.auth_version),
        created_at: now,
        revoked_at: None,
        sign_in: SignInContext {
            nonce: None,
            ..sign_in.clone()
        },
        resources: target.granted.clone(),
        // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key.
        dpop_jkt: super::dpop::binding().filter(|_| client.app.public),
    };
    let refresh = gets_refresh_token(&client.app, &scopes).then(Secret::generate);
    let stored = refresh.as_ref().map(|r| RefreshToken {
        verifier: ctx.keys.verifier(r.expose()),
        family_id: family.id.clone(),
        created_at: now,
        expires_at: limits.refresh_token_lifetime.map(|l| now + l),
        rotated_at: None,
    });
    // Consent, family and (for a code) the code's family: one write.
    if ctx
        .store
        .start_user_grant(&family, stored.as_ref(), code, now)
        .await?
    {
        // Replayed since its take: the family is stored revoked, nothing is minted.
        tracing::warn!(
            client = client.app.id,
            "authorization code replayed during its exchange; its tokens are revoked"
        );
        return Err(OAuthError::invalid_grant(
            "The authorization code was used twice; the tokens issued from it are revoked.",
        ));
    }
    let (access_token, expires_in) = mint(
        ctx,
        &client.app.client_id,
        user.tenant_id,
        Subject::User(user),
        &token_scopes,
        Some(&family.id),
        lifetime,
        Some(&sign_in),
        &resource::uris(&target.token),
    )?;
    let id_token = id_token_for(
        ctx,
        &client.app,
        user,
        &token_scopes,
        &access_token,
        &sign_in,
        limits.access_token_lifetime,
    )?;
    tracing::info!(client = %client.app.client_id, user = user.id, family = %family.id, "tokens issued");
    Ok((
        TokenResponse {
            access_token,
            expires_in,
            refresh_token: refresh,
            scope: token_scopes.join(" "),
            id_token,
            issued_token_type: None,
            token_type: None,
        },
        family.id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["api.access.odata".into(), "api.access.mgmt".into()]
    }

    #[test]
    fn no_scope_means_odata() {
        assert_eq!(
            resolve_scope(None, &allowed()).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert_eq!(
            resolve_scope(Some(""), &allowed()).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert_eq!(
            resolve_scope(None, &["api.access.mgmt".to_owned()]).ok(),
            Some(vec!["api.access.mgmt".to_owned()])
        );
    }

    #[test]
    fn the_odata_alias_and_several_scopes_resolve() {
        assert_eq!(
            resolve_scope(Some("odata api.access.mgmt odata"), &allowed()).ok(),
            Some(vec![
                "api.access.odata".to_owned(),
                "api.access.mgmt".to_owned()
            ])
        );
    }

    #[test]
    fn unknown_or_unallowed_scopes_are_invalid_scope() {
        let e = resolve_scope(Some("phone"), &allowed())
            .err()
            .map(|e| (e.code, e.description));
        assert_eq!(
            e,
            Some((
                super::super::error::ErrorCode::InvalidScope,
                "Unknown scope 'phone'.".to_owned()
            ))
        );
        assert!(resolve_scope(Some("api.access.mgmt"), &["api.access.odata".to_owned()]).is_err());
    }
}
