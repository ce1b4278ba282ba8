//! Client authentication at the token, pushed-request (RFC 9126 §2.1: as at the token
//! endpoint), introspection and revocation endpoints
//! (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2),
//! [OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication):
//! verified by [`super::client_assertion`] with the keys the client registered), or
//! `none` for public clients (which must then prove possession otherwise, e.g. PKCE).
//! Exactly one method per request (§2.3: "MUST NOT use more than one"), and it must be
//! the one the client registered as its `token_endpoint_auth_method` as far as secret
//! versus assertion goes (a secret client may use Basic or the body). Failures are
//! rate limited per client id and per address.
//!
//! Which methods an endpoint accepts is [`ClientEndpoint::methods`], the one list both
//! [`authenticate`] enforces and the RFC 8414 metadata advertises
//! (`*_endpoint_auth_methods_supported`). Introspection takes authenticated clients
//! only ([RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)): a
//! public client, which proves nothing by sending its `client_id`, would otherwise
//! read the claims of every token of its tenant. Revocation takes public clients too
//! ([RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)); they can
//! only revoke tokens issued to themselves, which is what a logging-out app needs.

use super::client_assertion::{self, JwksSource};
use super::error::OAuthError;
use super::metadata_document::LookupError;
use super::request::{ClientAssertion, ClientCredentials};
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::client_app::{ClientApp, TokenEndpointAuthMethod};
use crate::ratelimit::FailureLimiter;
use std::net::IpAddr;

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Basic,
    Post,
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// A public client, identified but not authenticated.
    None,
}

impl Method {
    /// The RFC 8414 / RFC 7591 name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Basic => "client_secret_basic",
            Method::Post => "client_secret_post",
            Method::PrivateKeyJwt => "private_key_jwt",
            Method::None => "none",
        }
    }
}

/// An endpoint at which clients authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEndpoint {
    Token,
    /// The pushed authorization request endpoint (RFC 9126).
    Par,
    /// The device authorization endpoint (RFC 8628 §3.1).
    DeviceAuthorization,
    Introspection,
    Revocation,
}

impl ClientEndpoint {
    /// The methods this endpoint accepts, as enforced and as advertised.
    pub fn methods(self) -> &'static [Method] {
        match self {
            ClientEndpoint::Token
            | ClientEndpoint::Par
            | ClientEndpoint::DeviceAuthorization
            | ClientEndpoint::Revocation => &[
                Method::Basic,
                Method::Post,
                Method::PrivateKeyJwt,
                Method::None,
            ],
            ClientEndpoint::Introspection => &[Method::Basic, Method::Post, Method::PrivateKeyJwt],
        }
    }

    /// The paths (under the issuer) at which this endpoint is served; an assertion
    /// sent there may name any of them as its `aud`.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            ClientEndpoint::Token => &[TOKEN_PATH, "/api/mgmt/oauth2/token"],
            ClientEndpoint::Par => &["/oauth2/par"],
            ClientEndpoint::DeviceAuthorization => &["/oauth2/device_authorization"],
            ClientEndpoint::Introspection => &["/oauth2/introspect"],
            ClientEndpoint::Revocation => &["/oauth2/revoke"],
        }
    }

    /// The audiences a client assertion sent here may name (`aud`): the issuer, the
    /// token endpoint's URL and this endpoint's URLs (docs/decisions.md).
    pub fn assertion_audiences(self, issuer: &str) -> Vec<String> {
        let mut list = vec![issuer.to_owned(), format!("{issuer}{TOKEN_PATH}")];
        for path in self.paths() {
            let url = format!("{issuer}{path}");
            if !list.contains(&url) {
                list.push(url);
            }
        }
        list
    }

    /// The method names, for the metadata document.
    pub fn method_names(self) -> Vec<&'static str> {
        self.methods().iter().map(|m| m.as_str()).collect()
    }
}

/// The token endpoint's path under the issuer.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// An authenticated (or, for public clients, identified) client.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub app: ClientApp,
    pub method: Method,
}

/// The client id, secret and method a request presents with a secret (or none),
/// refusing mixtures. A client assertion is refused here (read, so that mixtures are
/// `invalid_request`): callers that take assertions ([`authenticate`]) read them
/// first, and the others (user API secrets) never take one.
pub fn presented(c: &ClientCredentials) -> Result<(String, Option<Secret>, Method), OAuthError> {
    if client_assertion::presented_assertion(c)?.is_some() {
        return Err(OAuthError::invalid_client(
            "Client authentication with client_assertion (private_key_jwt) is not accepted at this endpoint; use client_id and client_secret.",
        ));
    }
    match (&c.basic, &c.body_id, &c.body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "The client authenticated with both HTTP Basic and client_secret in the body; use one method.",
        )),
        (Some((id, _)), Some(body_id), None) if body_id != id => Err(OAuthError::invalid_request(
            "client_id in the body names a different client than HTTP Basic.",
        )),
        (Some((id, secret)), _, None) => Ok((id.clone(), Some(secret.clone()), Method::Basic)),
        (None, Some(id), Some(secret)) => Ok((id.clone(), Some(secret.clone()), Method::Post)),
        (None, Some(id), None) => Ok((id.clone(), None, Method::None)),
        (None, None, Some(_)) => Err(OAuthError::invalid_request("client_secret was sent without client_id.")),
        (None, None, None) => Err(OAuthError::invalid_client(
            "Client authentication is required: HTTP Basic, or client_id (and client_secret) in the body.",
        )),
    }
}

/// Rate-limit keys for a client id and an address.
pub fn limit_keys(client_id: &str, peer: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("client:{client_id}")];
    if let Some(ip) = peer {
        keys.push(format!("ip:{}", crate::ratelimit::counted_address(ip)));
    }
    keys
}

/// Authenticates the client of a request at `endpoint`.
pub async fn authenticate(
    ctx: &Context,
    limiter: &FailureLimiter,
    creds: &ClientCredentials,
    peer: Option<IpAddr>,
    endpoint: ClientEndpoint,
) -> Result<AuthenticatedClient, OAuthError> {
    let assertion = client_assertion::presented_assertion(creds)?;
    let (client_id, secret, method) = match &assertion {
        Some((sub, _)) => (sub.clone(), None, Method::PrivateKeyJwt),
        None => presented(creds)?,
    };
    if !endpoint.methods().contains(&method) {
        // Only `none` is ever left out; say so without telling whether the id exists.
        return Err(OAuthError::invalid_client(
            "Client authentication is required here: only confidential clients may use this endpoint, with HTTP Basic, client_id and client_secret in the body, or a client_assertion (private_key_jwt).",
        ));
    }
    let now = ctx.now();
    let keys = limit_keys(&client_id, peer);
    limiter.check(&keys, now).map_err(OAuthError::too_many)?;
    let fail = |why: &str| {
        limiter.record_failure(&keys, now);
        OAuthError::invalid_client(why.to_owned())
    };
    // Refusals decided before any secret is checked do the same work as checking
    // one, so they are not told apart from a wrong secret by time.
    let fail_unchecked = |why: &str| {
        let _ = ctx
            .keys
            .verifier(secret.as_ref().map(Secret::expose).unwrap_or(""));
        fail(why)
    };
    let app = match super::metadata_document::find_client(ctx, &client_id).await {
        Ok(app) => app,
        Err(LookupError::Store(e)) => return Err(e.into()),
        Err(LookupError::Document(why)) => return Err(fail(&why)),
    };
    let Some(app) = app else {
        return Err(fail_unchecked(if assertion.is_some() {
            "Client authentication failed: unknown client (the client assertion's sub names no client)."
        } else {
            "Client authentication failed: unknown client or wrong secret."
        }));
    };
    let registered_jwt = app.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt;
    match (&assertion, registered_jwt) {
        (Some((_, presented)), true) => {
            verify_assertion(ctx, limiter, &keys, &app, presented, endpoint).await?
        }
        (Some(_), false) => {
            return Err(fail_unchecked(
                "Client authentication failed: this client is not registered for private_key_jwt; authenticate with its client_secret, or with client_id only if it is public.",
            ))
        }
        (None, true) => {
            // Neither a secret nor a bare client_id stands in for an assertion.
            return Err(fail_unchecked(
                "Client authentication failed: this client is registered for private_key_jwt; authenticate with a client_assertion signed with its key.",
            ));
        }
        (None, false) => check_secret(ctx, &app, secret.as_ref()).map_err(fail)?,
    }
    let tenant = ctx.store.tenant(app.tenant_id).await?;
    if !tenant.is_some_and(|t| t.active) {
        return Err(OAuthError::invalid_client(
            "The client's tenant is inactive.",
        ));
    }
    Ok(AuthenticatedClient { app, method })
}

/// Checks the secret (or its absence) a client presented against its registration;
/// `Err` is the reason to refuse it.
fn check_secret(
    ctx: &Context,
    app: &ClientApp,
    secret: Option<&Secret>,
) -> Result<(), &'static str> {
    match (&app.secret_verifier, secret) {
        (Some(verifier), Some(s)) if ctx.keys.verify(s.expose(), verifier) => Ok(()),
        (Some(_), None) => {
            Err("Client authentication failed: this client must authenticate with its secret.")
        }
        (Some(_), Some(_)) => Err("Client authentication failed: unknown client or wrong secret."),
        (None, Some(_)) => {
            Err("Client authentication failed: this is a public client; send client_id only.")
        }
        (None, None) => Ok(()),
    }
}

/// Verifies a `private_key_jwt` client's assertion with the keys it registered
/// (`jwks` inline, or `jwks_uri` fetched through the guarded fetcher), for the
/// audiences of `endpoint`; refusals are counted by `authenticate_presented`.
async fn verify_assertion(
    ctx: &Context,
    limiter: &FailureLimiter,
    keys: &[String],
    app: &ClientApp,
    assertion: &ClientAssertion,
    endpoint: ClientEndpoint,
) -> Result<(), OAuthError> {
    // Both were checked when the client registered; unreadable ones count as none.
    let inline = app
        .profile
        .jwks
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    let uri = app
        .profile
        .jwks_uri
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok());
    let jwks = match (&inline, &uri) {
        (Some(set), _) => Some(JwksSource::Inline(set)),
        (None, Some(url)) => Some(JwksSource::Uri(url)),
        (None, None) => None,
    };
    let audiences = endpoint.assertion_audiences(ctx.signer.issuer());
    let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
    client_assertion::authenticate_presented(
        ctx,
        limiter,
        keys,
        &app.client_id,
        assertion,
        jwks,
        &audiences,
    )
    .await
}
