//! Token exchange (RFC 8693): a client allowed the grant (by an administrator) trades a
//! user's Portcullis access token, the subject token, for
//!
//! * another Portcullis access token for the same user with a narrower `scope` and/or
//!   another audience (`resource`/`audience` naming registered resource servers), by
//!   delegation (`actor_token`: the new token's `act` claim names the actor, nesting
//!   the subject token's own `act`) or, when the client's policy allows it, by
//!   impersonation (no actor, no `act`); or
//! * the user's *upstream* access token from the vault ([`crate::vault::retrieve`]),
//!   when `audience` names an OAuth application or `resource` is its URL
//!   (`<issuer>/api/mgmt/oauthapps/{id}`), for clients given `vault.retrieve`.
//!
//! The subject token is checked as introspection checks it (signature, expiry,
//! revocation of the token and its grant, the user unchanged), must belong to the
//! client's tenant and be a user's. No refresh token is issued (RFC 8693 §2.2.1).

use crate::context::Context;
use crate::model::claims::Act;
use crate::model::identity::User;
use crate::model::token_exchange::{readable_type, ExchangePolicy, ACCESS_TOKEN};
use crate::model::vault::OAuthApp;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::request::{ExchangeParams, TokenRequest, TokenResponse};
use crate::oauth::resource;
use crate::oauth::token::{mint, tenant_and_limits, Subject};
use crate::oauth::validate::{self, ActiveToken, Inactive};
use crate::vault::retrieve;

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let p = &req.exchange;
    check_types(p)?;
    let subject_token = p
        .subject_token
        .as_ref()
        .ok_or_else(|| OAuthError::invalid_request("The subject_token parameter is required."))?;
    let subject = active(ctx, subject_token.expose(), "subject_token").await?;
    if subject.claims.tenant != client.app.tenant_id {
        return Err(OAuthError::invalid_grant(
            "The subject_token was issued in another tenant than this client's.",
        ));
    }
    let Some(user) = subject.user.clone().filter(|_| subject.app.is_some()) else {
        return Err(OAuthError::invalid_grant(
            "The subject_token must be a user's access token; a client's own token or an API-secret token cannot be exchanged.",
        ));
    };
    if let Some(app) = vault_target(ctx, &req, user.tenant_id).await? {
        return vault(ctx, client, &req, &subject, &user, &app).await;
    }
    narrower(ctx, client, &req, &subject, &user).await
}

/// The token types: ours are access tokens (JWTs), and so is what we issue.
fn check_types(p: &ExchangeParams) -> Result<(), OAuthError> {
    let subject_type = p.subject_token_type.as_deref().ok_or_else(|| {
        OAuthError::invalid_request("The subject_token_type parameter is required.")
    })?;
    if !readable_type(subject_type) {
        return Err(OAuthError::invalid_request(format!(
            "subject_token_type '{subject_type}' is not supported; use {ACCESS_TOKEN}."
        )));
    }
    match (&p.actor_token, p.actor_token_type.as_deref()) {
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token.",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type was sent without an actor_token.",
            ))
        }
        (Some(_), Some(t)) if !readable_type(t) => {
            return Err(OAuthError::invalid_request(format!(
                "actor_token_type '{t}' is not supported; use {ACCESS_TOKEN}."
            )))
        }
        _ => {}
    }
    if let Some(t) = p.requested_token_type.as_deref() {
        if t != ACCESS_TOKEN {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_type '{t}' is not supported; use {ACCESS_TOKEN}."
            )));
        }
    }
    Ok(())
}

/// A presented token, active now; refusals say which parameter and why.
async fn active(ctx: &Context, token: &str, name: &str) -> Result<ActiveToken, OAuthError> {
    match validate::access_token(ctx, token).await? {
        Ok(a) => Ok(a),
        Err(Inactive::Expired) => Err(OAuthError::invalid_grant(format!(
            "The {name} has expired."
        ))),
        Err(Inactive::Revoked) => Err(OAuthError::invalid_grant(format!(
            "The {name} is no longer valid (revoked, or its user or client changed)."
        ))),
        Err(Inactive::Malformed) => Err(OAuthError::invalid_grant(format!(
            "The {name} is not an access token issued by this server."
        ))),
    }
}

/// The OAuth application the request names, if it names one: a `resource` that is
/// an application's URL, or an `audience` that is no resource server but an
/// application's name. Naming one with anything else is `invalid_target`.
async fn vault_target(
    ctx: &Context,
    req: &TokenRequest,
    tenant_id: i64,
) -> Result<Option<OAuthApp>, OAuthError> {
    let issuer = ctx.signer.issuer();
    let mut found: Vec<OAuthApp> = Vec::new();
    let mut others = 0;
    for r in &req.resource {
        match retrieve::app_id_in(issuer, r) {
            Some(id) => {
                let id = id?;
                let app = retrieve::app_by_id(ctx, tenant_id, id)
                    .await?
                    .ok_or_else(|| {
                        OAuthError::invalid_target(format!(
                            "There is no OAuth application {id} in your tenant."
                        ))
                    })?;
                found.push(app);
            }
            None => others += 1,
        }
    }
    for a in &req.exchange.audience {
        if resource::find(ctx, tenant_id, a).await?.is_some() {
            others += 1;
        } else if let Some(app) = retrieve::app_named(ctx, tenant_id, a).await? {
            found.push(app);
        } else {
            return Err(OAuthError::invalid_target(format!(
                "The audience '{a}' is neither a resource server nor an OAuth application of this tenant."
            )));
        }
    }
    match found.len() {
        0 => Ok(None),
        1 if others == 0 => Ok(found.pop()),
        _ => Err(OAuthError::invalid_target(
            "A retrieval from the vault names one OAuth application and nothing else.",
        )),
    }
}

/// The vault retrieval: the user's upstream token at `app`.
async fn vault(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: &TokenRequest,
    subject: &ActiveToken,
    user: &User,
    app: &OAuthApp,
) -> Result<TokenResponse, OAuthError> {
    if !retrieve::may_retrieve(&client.app) {
        return Err(OAuthError::unauthorized_client(
            "This client has not been given the vault.retrieve scope by an administrator.",
        ));
    }
    if subject.claims.client_id != client.app.client_id {
        return Err(OAuthError::invalid_grant(
            "A vault retrieval takes an access token the user obtained through this client.",
        ));
    }
    if req.exchange.actor_token.is_some() {
        return Err(OAuthError::invalid_request(
            "A vault retrieval hands over the user's own upstream token; it takes no actor_token.",
        ));
    }
    let got = retrieve::retrieve(ctx, req.upstream.as_ref(), &client.app, user, app).await?;
    Ok(TokenResponse {
        access_token: got.access_token,
        expires_in: got.expires_in,
        refresh_token: None,
        scope: got.scope,
        id_token: None,
        issued_token_type: Some(ACCESS_TOKEN),
        token_type: Some("Bearer"),
    })
}

/// Down-scoping and audience change: a new Portcullis access token for the user.
async fn narrower(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: &TokenRequest,
    subject: &ActiveToken,
    user: &User,
) -> Result<TokenResponse, OAuthError> {
    let act = match &req.exchange.actor_token {
        Some(t) => Some(actor(ctx, client, t.expose(), subject).await?),
        None => {
            let policy = ctx.store.exchange_policy(client.app.id).await?;
            if policy != ExchangePolicy::Impersonation {
                return Err(OAuthError::unauthorized_client(
                    "This client may exchange tokens by delegation only: send an actor_token (impersonation is not allowed for it).",
                ));
            }
            // Impersonation keeps whoever already acted for the subject.
            subject.claims.act.clone()
        }
    };
    let (tenant, limits) = tenant_and_limits(ctx, user.tenant_id).await?;
    let mut targets = req.resource.clone();
    targets.extend(req.exchange.audience.iter().cloned());
    let resources = resource::resolve(ctx, tenant.id, &targets).await?;
    let scopes = narrowed_scope(req.scope.as_deref(), &subject.claims.scope)?;
    let scopes = resource::token_scopes(&scopes, &resources)?;
    // Never outlives the token it was exchanged for.
    let lifetime = resource::lifetime(&resources, limits.access_token_lifetime)
        .min(subject.claims.exp - ctx.now());
    let subject_of = match &act {
        Some(a) => Subject::Delegated(user, a),
        None => Subject::User(user),
    };
    let (access_token, expires_in) = mint(
        ctx,
        &client.app.client_id,
        tenant.id,
        subject_of,
        &scopes,
        subject.claims.fam.as_deref(),
        lifetime,
        None,
        &resource::uris(&resources),
    )?;
    tracing::info!(
        client = %client.app.client_id, user = user.id, delegated = act.is_some(),
        "token exchanged"
    );
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: None,
        scope: scopes.join(" "),
        id_token: None,
        issued_token_type: Some(ACCESS_TOKEN),
        token_type: None,
    })
}

/// The actor: an active token of this tenant issued to the exchanging client (its own
/// `client_credentials` token, or a user's token obtained through it). Its `act`
/// names it and nests the subject token's `act`, the prior actor (RFC 8693 §4.1).
async fn actor(
    ctx: &Context,
    client: &AuthenticatedClient,
    token: &str,
    subject: &ActiveToken,
) -> Result<Act, OAuthError> {
    let actor = active(ctx, token, "actor_token").await?;
    if actor.claims.tenant != client.app.tenant_id || actor.claims.client_id != client.app.client_id
    {
        return Err(OAuthError::invalid_grant(
            "The actor_token must be an access token issued to this client.",
        ));
    }
    Ok(Act {
        sub: actor.claims.sub.clone(),
        client_id: Some(actor.claims.client_id.clone()),
        act: subject.claims.act.clone().map(Box::new),
    })
}

/// The scopes of the new token: those asked, each one the subject token has
/// (down-scoping only, RFC 8693 §2.1); none asked, the subject token's.
fn narrowed_scope(requested: Option<&str>, subject_scope: &str) -> Result<Vec<String>, OAuthError> {
    let has: Vec<&str> = subject_scope.split(' ').filter(|s| !s.is_empty()).collect();
    let asked: Vec<&str> = requested
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if asked.is_empty() {
        return Ok(has.into_iter().map(str::to_owned).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for s in asked {
        let name = crate::model::scope::canonical(s).unwrap_or(s);
        if !has.contains(&name) {
            return Err(OAuthError::invalid_scope(format!(
                "Scope '{s}' is not among the subject token's scopes ({subject_scope}); an exchange can only narrow them."
            )));
        }
        if !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_only_narrows() {
        let has = "api.access.odata api.access.mgmt";
        assert_eq!(
            narrowed_scope(Some("odata"), has).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert_eq!(narrowed_scope(None, has).ok().map(|v| v.len()), Some(2));
        assert!(narrowed_scope(Some("api.access.odata vault.retrieve"), has).is_err());
    }
}
