//! The audit events of the token endpoint: one `token_issued` per successful token
//! response and one `token_refused` per refusal, recorded where every outcome passes
//! (`token::exchange`). The grant that mints decides the subject, so
//! `token::mint` notes it here ([`note_minted`]) in a scope of the request, as the
//! DPoP binding is carried ([`super::dpop::scoped`]); the client is noted once
//! authenticated ([`note_client`]). Events go to the queue of [`crate::audit`]: the
//! token endpoint does no database write of its own for them.

use super::error::OAuthError;
use super::request::{ClientCredentials, TokenResponse};
use crate::context::Context;
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::identity::SYSTEM_TENANT_ID;
use std::cell::RefCell;
use std::future::Future;

/// What the request has established about the token so far.
#[derive(Debug, Default, Clone)]
struct Noted {
    tenant_id: Option<i64>,
    client_id: Option<String>,
    subject_user: Option<i64>,
    grant: Option<String>,
}

tokio::task_local! {
    static NOTED: RefCell<Noted>;
}

/// The longest client id copied into a refusal (an unknown one is the caller's text).
const CLIENT_ID_MAX: usize = 128;

/// The client id the request names (Basic, else the body), before it is checked.
pub fn presented_id(c: &ClientCredentials) -> Option<String> {
    c.basic
        .as_ref()
        .map(|(id, _)| id.clone())
        .or_else(|| c.body_id.clone())
}

/// The client authenticated for this token request.
pub fn note_client(tenant_id: i64, client_id: &str) {
    let _ = NOTED.try_with(|n| {
        let mut n = n.borrow_mut();
        n.tenant_id = Some(tenant_id);
        n.client_id = Some(client_id.to_owned());
    });
}

/// An access token was minted for `subject_user` (`None`: the client itself).
pub fn note_minted(tenant_id: i64, client_id: &str, subject_user: Option<i64>) {
    let _ = NOTED.try_with(|n| {
        let mut n = n.borrow_mut();
        n.tenant_id = Some(tenant_id);
        n.client_id = Some(client_id.to_owned());
        n.subject_user = subject_user;
    });
}

/// Runs a token request and records its outcome. `grant_type` and
/// `presented_client` are what the request named (for a refusal before the client
/// was authenticated).
pub async fn recorded<F>(
    ctx: &Context,
    grant_type: Option<&str>,
    presented_client: Option<&str>,
    request: F,
) -> Result<TokenResponse, OAuthError>
where
    F: Future<Output = Result<TokenResponse, OAuthError>>,
{
    let noted = Noted {
        grant: grant_type.map(|g| g.chars().take(80).collect()),
        ..Noted::default()
    };
    let (result, noted) = NOTED
        .scope(RefCell::new(noted), async {
            let r = request.await;
            (r, NOTED.with(|n| n.borrow().clone()))
        })
        .await;
    let now = ctx.now();
    let tenant = noted.tenant_id.unwrap_or(SYSTEM_TENANT_ID);
    let client = noted
        .client_id
        .or_else(|| presented_client.map(|c| c.chars().take(CLIENT_ID_MAX).collect::<String>()));
    let grant = noted.grant.unwrap_or_else(|| "none".into());
    let mut event = match &result {
        Ok(_) => {
            NewAuditEvent::new(EventType::TokenIssued, tenant, now).reason(format!("grant {grant}"))
        }
        Err(e) => NewAuditEvent::new(EventType::TokenRefused, tenant, now)
            .failed(format!("grant {grant}: {}", e.code.as_str())),
    };
    if let Some(c) = &client {
        event = event.by_client(c);
    }
    if let Some(u) = noted.subject_user {
        event = event.subject_user(u);
    }
    ctx.audit.record(event).await;
    result
}
