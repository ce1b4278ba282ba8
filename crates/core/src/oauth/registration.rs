//! Dynamic client registration ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3))
//! and its management ([RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)), and the
//! expiry of openly registered clients that were never used.
//!
//! Which tenant a registration lands in: the tenant of the initial access token when
//! one is sent (`Authorization: Bearer`), else the one tenant whose policy is `open`.
//! Refusals (each an [`OAuthError`] with the RFC's code):
//! * no token and no open tenant, or an unknown, expired or used-up token, or a token
//!   of a tenant that no longer takes registrations → `invalid_token` (HTTP 401): the
//!   request lacks the credential this server requires (RFC 6750 §3.1), and a client
//!   learns from it to ask an operator for an initial access token;
//! * each invalid field → `invalid_redirect_uri` / `invalid_client_metadata` /
//!   `unapproved_software_statement` (400), from [`ClientMetadata::parse`] and the
//!   tenant's [`RegistrationPolicy::admit`];
//! * more than [`REGISTRATIONS_PER_ADDRESS`] attempts an hour from one address → 429.
//!
//! A registered client gets a `registration_access_token` (256 random bits, stored as a
//! keyed verifier) for RFC 7592's read, update and delete at its
//! `registration_client_uri`; a wrong, missing or other client's token is the same
//! `invalid_token`, so the answer never tells which client ids exist.

use super::error::{ErrorCode, OAuthError};
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::client_app::{ClientApp, RegisteredBy};
use crate::model::client_metadata::{ClientMetadata, MetadataError, MetadataErrorCode};
use crate::model::identity::Tenant;
use crate::model::registration::{RegistrationMode, RegistrationPolicy};
use crate::ratelimit::{counted_address, FailureLimiter, REGISTRATIONS_PER_ADDRESS};
use crate::store::StoreError;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::time::Duration;

/// The path of the registration endpoint; a client's configuration endpoint is
/// `{REGISTER_PATH}/{client_id}`.
pub const REGISTER_PATH: &str = "/oauth2/register";

/// A registration request.
#[derive(Debug)]
pub struct RegistrationRequest {
    /// The JSON body.
    pub body: Value,
    /// The initial access token, when one was sent.
    pub bearer: Option<Secret>,
    pub peer: Option<IpAddr>,
}

/// A registered client and what the answer shows once.
#[derive(Debug)]
pub struct Registered {
    pub app: ClientApp,
    pub metadata: ClientMetadata,
    /// The client secret (new registrations of confidential clients only).
    pub secret: Option<Secret>,
    pub registration_token: Secret,
}

impl Registered {
    /// The client information response (RFC 7591 §3.2.1, RFC 7592 §3). The
    /// `client_secret` is shown only when it was just issued: only its verifier is
    /// kept.
    pub fn response(&self, issuer: &str) -> Map<String, Value> {
        let mut m = self.metadata.to_json(&self.app.scopes);
        m.insert("client_id".into(), json!(self.app.client_id));
        m.insert("client_id_issued_at".into(), json!(self.app.created_at));
        if let Some(secret) = &self.secret {
            m.insert("client_secret".into(), json!(secret.expose()));
        }
        if self.app.token_endpoint_auth_method.has_secret() {
            m.insert("client_secret_expires_at".into(), json!(0));
        }
        m.insert(
            "registration_access_token".into(),
            json!(self.registration_token.expose()),
        );
        m.insert(
            "registration_client_uri".into(),
            json!(format!("{issuer}{REGISTER_PATH}/{}", self.app.client_id)),
        );
        m
    }
}

impl From<MetadataError> for OAuthError {
    fn from(e: MetadataError) -> Self {
        let code = match e.code {
            MetadataErrorCode::InvalidRedirectUri => ErrorCode::InvalidRedirectUri,
            MetadataErrorCode::InvalidClientMetadata => ErrorCode::InvalidClientMetadata,
            MetadataErrorCode::InvalidSoftwareStatement => ErrorCode::InvalidSoftwareStatement,
            MetadataErrorCode::UnapprovedSoftwareStatement => {
                ErrorCode::UnapprovedSoftwareStatement
            }
        };
        OAuthError::new(code, e.description)
    }
}

fn no_registration() -> OAuthError {
    OAuthError::invalid_token(
        "This server accepts client registrations only with an initial access token from an administrator (Authorization: Bearer <token>).",
    )
}

fn bad_registration_token() -> OAuthError {
    OAuthError::invalid_token(
        "The registration access token is missing or not valid for this client.",
    )
}

/// The tenant (active) and its policy, when it takes registrations.
async fn tenant_taking(
    ctx: &Context,
    tenant_id: i64,
) -> Result<Option<(Tenant, RegistrationPolicy)>, OAuthError> {
    let Some(policy) = ctx.store.registration_policy(tenant_id).await? else {
        return Ok(None);
    };
    if !policy.accepts_registrations() {
        return Ok(None);
    }
    let tenant = ctx.store.tenant(tenant_id).await?;
    Ok(tenant.filter(|t| t.active).map(|t| (t, policy)))
}

/// Registers a client (RFC 7591 §3.1).
pub async fn register(
    ctx: &Context,
    limiter: &FailureLimiter,
    req: RegistrationRequest,
) -> Result<Registered, OAuthError> {
    let now = ctx.now();
    let keys: Vec<String> = req
        .peer
        .map(|ip| format!("reg-ip:{}", counted_address(ip)))
        .into_iter()
        .collect();
    limiter.check(&keys, now).map_err(|retry| OAuthError {
        code: ErrorCode::InvalidRequest,
        description: format!(
            "Too many client registrations from your address (at most {REGISTRATIONS_PER_ADDRESS} an hour); retry in {retry} seconds."
        ),
        retry_after: Some(retry),
    })?;
    limiter.record_failure(&keys, now);

    let (tenant, policy, by, verifier) = match &req.bearer {
        Some(token) => {
            let verifier = ctx.keys.verifier(token.expose());
            let Some(iat) = ctx
                .store
                .initial_access_token_by_verifier(&verifier)
                .await?
            else {
                return Err(OAuthError::invalid_token(
                    "The initial access token is not valid.",
                ));
            };
            if iat.expires_at.is_some_and(|e| e <= now) {
                return Err(OAuthError::invalid_token(
                    "The initial access token has expired; ask an administrator for a new one.",
                ));
            }
            if iat.uses_left.is_some_and(|n| n <= 0) {
                return Err(OAuthError::invalid_token(
                    "The initial access token has been used up; ask an administrator for a new one.",
                ));
            }
            let Some((tenant, policy)) = tenant_taking(ctx, iat.tenant_id).await? else {
                return Err(OAuthError::invalid_token(
                    "The initial access token's tenant no longer accepts registrations.",
                ));
            };
            (
                tenant,
                policy,
                RegisteredBy::InitialAccessToken(iat.id),
                Some(verifier),
            )
        }
        None => {
            let open = ctx
                .store
                .registration_policies()
                .await?
                .into_iter()
                .find(|(_, p)| p.policy == RegistrationMode::Open);
            let Some((tenant_id, _)) = open else {
                return Err(no_registration());
            };
            let Some((tenant, policy)) = tenant_taking(ctx, tenant_id).await? else {
                return Err(no_registration());
            };
            (tenant, policy, RegisteredBy::Open, None)
        }
    };

    let metadata = ClientMetadata::parse(&req.body, ctx.redirects)?;
    let scopes = policy.admit(&metadata, &tenant.allowed_scopes)?;
    let secret = metadata
        .token_endpoint_auth_method
        .has_secret()
        .then(Secret::generate);
    let registration_token = Secret::generate();
    let client_id = uuid::Uuid::new_v4().to_string();
    let mut new = metadata.new_client_app(
        tenant.id,
        client_id,
        display_name(&metadata),
        scopes,
        by,
        now,
    );
    new.secret_verifier = secret.as_ref().map(|s| ctx.keys.verifier(s.expose()));
    new.registration_verifier = Some(ctx.keys.verifier(registration_token.expose()));
    let Some(app) = ctx.store.register_client(new, verifier.as_deref()).await? else {
        return Err(OAuthError::invalid_token(
            "The initial access token has been used up; ask an administrator for a new one.",
        ));
    };
    tracing::info!(
        app_id = app.id,
        client_id = %app.client_id,
        tenant = app.tenant_id,
        registered_by = by.as_str(),
        initial_access_token = ?by.initial_access_token(),
        "client registered dynamically"
    );
    ctx.audit
        .record(
            NewAuditEvent::new(EventType::ClientRegistered, app.tenant_id, ctx.now())
                .by_client(&app.client_id)
                .subject(format!("client_app {}", app.id))
                .reason(format!("dynamic registration ({})", by.as_str())),
        )
        .await;
    Ok(Registered {
        app,
        metadata,
        secret,
        registration_token,
    })
}

/// The name shown for a client: its `client_name`, else the host of its first
/// redirect URI (or of `client_uri`), else "Unnamed client".
fn display_name(m: &ClientMetadata) -> String {
    if let Some(n) = &m.client_name {
        return n.clone();
    }
    let host = m
        .redirect_uris
        .iter()
        .chain(m.profile.client_uri.as_ref())
        .find_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_owned));
    match host {
        Some(h) => format!("Client at {h}"),
        None => "Unnamed client".to_owned(),
    }
}

/// The client `client_id` if `token` is its registration access token (RFC 7592 §2).
async fn configured(
    ctx: &Context,
    client_id: &str,
    token: Option<&Secret>,
) -> Result<ClientApp, OAuthError> {
    let app = ctx.store.client_app_by_client_id(client_id).await?;
    let presented = token.map(Secret::expose).unwrap_or("");
    let ok = match app
        .as_ref()
        .and_then(|a| a.registration_verifier.as_deref())
    {
        Some(verifier) => token.is_some() && ctx.keys.verify(presented, verifier),
        None => {
            // The same keyed hash as a real check, so time tells nothing.
            let _ = ctx.keys.verifier(presented);
            false
        }
    };
    match app {
        Some(app) if ok => Ok(app),
        _ => Err(bad_registration_token()),
    }
}

/// RFC 7592 §2.1: the client's current registration.
pub async fn read(
    ctx: &Context,
    client_id: &str,
    token: Option<Secret>,
) -> Result<Registered, OAuthError> {
    let app = configured(ctx, client_id, token.as_ref()).await?;
    Ok(Registered {
        metadata: ClientMetadata::of_app(&app),
        app,
        secret: None,
        registration_token: token.unwrap_or_else(|| Secret::new("")),
    })
}

/// RFC 7592 §2.2: replaces the client's metadata, under its tenant's policy. The
/// `client_id` must be sent and match; a `client_secret`, if sent, must be the
/// client's; the authentication method cannot change.
pub async fn update(
    ctx: &Context,
    client_id: &str,
    token: Option<Secret>,
    body: Value,
) -> Result<Registered, OAuthError> {
    let app = configured(ctx, client_id, token.as_ref()).await?;
    if body.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "Invalid value for 'client_id': an update must repeat the client's client_id (RFC 7592 §2.2)",
        ));
    }
    match (body.get("client_secret"), &app.secret_verifier) {
        (None | Some(Value::Null), _) => {}
        (Some(Value::String(s)), Some(v)) if ctx.keys.verify(s, v) => {}
        _ => {
            return Err(OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                "Invalid value for 'client_secret': it is not this client's secret (secrets are not changed here)",
            ))
        }
    }
    let metadata = ClientMetadata::parse(&body, ctx.redirects)?;
    if metadata.token_endpoint_auth_method != app.token_endpoint_auth_method {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            format!(
                "Invalid value for 'token_endpoint_auth_method': it cannot change after registration (it is {}); register a new client instead",
                app.token_endpoint_auth_method.as_str()
            ),
        ));
    }
    let policy = ctx
        .store
        .registration_policy(app.tenant_id)
        .await?
        .unwrap_or_default();
    let tenant = ctx
        .store
        .tenant(app.tenant_id)
        .await?
        .ok_or_else(bad_registration_token)?;
    let scopes = policy.admit(&metadata, &tenant.allowed_scopes)?;
    let changes = metadata.changes(
        display_name(&metadata),
        app.description.clone(),
        scopes,
        ctx.now(),
    );
    let updated = ctx
        .store
        .update_client_app(app.id, changes)
        .await?
        .ok_or_else(bad_registration_token)?;
    tracing::info!(app_id = app.id, client_id = %app.client_id, "dynamic client updated its registration");
    Ok(Registered {
        metadata: ClientMetadata::of_app(&updated),
        app: updated,
        secret: None,
        registration_token: token.unwrap_or_else(|| Secret::new("")),
    })
}

/// RFC 7592 §2.3: deletes the client, its consents and every token issued to it.
pub async fn delete(
    ctx: &Context,
    client_id: &str,
    token: Option<Secret>,
) -> Result<(), OAuthError> {
    let app = configured(ctx, client_id, token.as_ref()).await?;
    if ctx.store.delete_client_app(app.id).await? {
        tracing::info!(app_id = app.id, client_id = %app.client_id, "dynamic client deleted its registration");
        ctx.audit
            .record(
                NewAuditEvent::new(EventType::ClientDeleted, app.tenant_id, ctx.now())
                    .by_client(&app.client_id)
                    .subject(format!("client_app {}", app.id))
                    .reason("deleted its own registration (RFC 7592)"),
            )
            .await;
    }
    Ok(())
}

/// Marks `app` as used when a token is first issued to it (one write, the first time).
/// A failure is logged: the token was issued, and the worst outcome is that an unused
/// open client is kept a sweep longer than it would be.
pub async fn mark_used(ctx: &Context, app: &ClientApp) {
    if app.first_used_at.is_some() {
        return;
    }
    if let Err(e) = ctx.store.mark_client_used(app.id, ctx.now()).await {
        tracing::warn!(app_id = app.id, error = %e, "marking a client as used failed");
    }
}

/// Deletes the clients registered in the open that were never used within their
/// tenant's `unusedClientLifetime`; returns how many. The background task's tick.
pub async fn expire_unused(ctx: &Context) -> Result<u64, StoreError> {
    let now = ctx.now();
    let mut n = 0;
    for (tenant_id, policy) in ctx.store.registration_policies().await? {
        let cutoff = now.saturating_sub(policy.unused_client_lifetime);
        n += ctx
            .store
            .delete_unused_clients(tenant_id, RegisteredBy::Open, cutoff)
            .await?;
    }
    if n > 0 {
        tracing::info!(deleted = n, "unused openly registered clients expired");
    }
    Ok(n)
}

/// Runs [`expire_unused`] every `interval` until the task is aborted.
pub async fn run_expiry(ctx: Context, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = expire_unused(&ctx).await {
            tracing::warn!(error = %e, "expiring unused registered clients failed");
        }
    }
}
