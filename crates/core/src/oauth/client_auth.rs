//! Client authentication at the token, pushed-request (RFC 9126 §2.1: as at the token
//! endpoint), introspection and revocation endpoints
//! (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, or `none` for public
//! clients (which must then prove possession otherwise, e.g. PKCE). Exactly one
//! method per request (§2.3: "MUST NOT use more than one"). Failures are rate limited
//! per client id and per address.
//!
//! Which methods an endpoint accepts is [`ClientEndpoint::methods`], the one list both
//! [`authenticate`] enforces and the RFC 8414 metadata advertises
//! (`*_endpoint_auth_methods_supported`). Introspection takes authenticated clients
//! only ([RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)): a
//! public client, which proves nothing by sending its `client_id`, would otherwise
//! read the claims of every token of its tenant. Revocation takes public clients too
//! ([RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)); they can
//! only revoke tokens issued to themselves, which is what a logging-out app needs.

use super::error::OAuthError;
use super::metadata_document::LookupError;
use super::request::ClientCredentials;
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
    /// A public client, identified but not authenticated.
    None,
}

impl Method {
    /// The RFC 8414 / RFC 7591 name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Basic => "client_secret_basic",
            Method::Post => "client_secret_post",
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
    Introspection,
    Revocation,
}

impl ClientEndpoint {
    /// The methods this endpoint accepts, as enforced and as advertised.
    pub fn methods(self) -> &'static [Method] {
        match self {
            ClientEndpoint::Token | ClientEndpoint::Par | ClientEndpoint::Revocation => {
                &[Method::Basic, Method::Post, Method::None]
            }
            ClientEndpoint::Introspection => &[Method::Basic, Method::Post],
        }
    }

    /// The method names, for the metadata document.
    pub fn method_names(self) -> Vec<&'static str> {
        self.methods().iter().map(|m| m.as_str()).collect()
    }
}

/// An authenticated (or, for public clients, identified) client.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub app: ClientApp,
    pub method: Method,
}

/// The client id, secret and method a request presents, refusing mixtures.
pub fn presented(c: &ClientCredentials) -> Result<(String, Option<Secret>, Method), OAuthError> {
    if super::client_assertion::presented_assertion(c)?.is_some() {
        // Read (and mixtures refused) above; verifying needs the client's keys, which
        // stored applications do not have yet (`authenticate_assertion` does the rest).
        return Err(OAuthError::invalid_client(
            "Client authentication with client_assertion (private_key_jwt) is not available for this client; use HTTP Basic or client_id and client_secret.",
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
    let (client_id, secret, method) = presented(creds)?;
    if !endpoint.methods().contains(&method) {
        // Only `none` is ever left out; say so without telling whether the id exists.
        return Err(OAuthError::invalid_client(
            "Client authentication is required here: only confidential clients may use this endpoint, with HTTP Basic or client_id and client_secret in the body.",
        ));
    }
    let now = ctx.now();
    let keys = limit_keys(&client_id, peer);
    limiter.check(&keys, now).map_err(OAuthError::too_many)?;
    let fail = |why: &str| {
        limiter.record_failure(&keys, now);
        OAuthError::invalid_client(why.to_owned())
    };
    let app = match super::metadata_document::find_client(ctx, &client_id).await {
        Ok(app) => app,
        Err(LookupError::Store(e)) => return Err(e.into()),
        Err(LookupError::Document(why)) => return Err(fail(&why)),
    };
    let Some(app) = app else {
        // Same work as a wrong secret, so unknown ids are not told apart by time.
        let _ = ctx
            .keys
            .verifier(secret.as_ref().map(Secret::expose).unwrap_or(""));
        return Err(fail(
            "Client authentication failed: unknown client or wrong secret.",
        ));
    };
    if app.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt {
        // Its keys are registered, but assertions are not verified yet: neither a
        // secret nor its bare client_id may stand in for one.
        let _ = ctx
            .keys
            .verifier(secret.as_ref().map(Secret::expose).unwrap_or(""));
        return Err(fail(
            "Client authentication failed: this client is registered for private_key_jwt, which this server does not accept yet.",
        ));
    }
    match (&app.secret_verifier, &secret) {
        (Some(verifier), Some(s)) if ctx.keys.verify(s.expose(), verifier) => {}
        (Some(_), None) => {
            return Err(fail(
                "Client authentication failed: this client must authenticate with its secret.",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                "Client authentication failed: unknown client or wrong secret.",
            ))
        }
        (None, Some(_)) => {
            return Err(fail(
                "Client authentication failed: this is a public client; send client_id only.",
            ))
        }
        (None, None) => {}
    }
    let tenant = ctx.store.tenant(app.tenant_id).await?;
    if !tenant.is_some_and(|t| t.active) {
        return Err(OAuthError::invalid_client(
            "The client's tenant is inactive.",
        ));
    }
    Ok(AuthenticatedClient { app, method })
}
