//! Client ID Metadata Documents (IETF `draft-ietf-oauth-client-id-metadata-document`):
//! a client whose `client_id` is an `https` URL ([`ClientIdUrl`]) needs no
//! registration; the URL serves its metadata, which Portcullis fetches and checks
//! when the client appears at the authorization, PAR, token, introspection or
//! revocation endpoint.
//!
//! * **Which tenant.** The one tenant whose `clientRegistration` has
//!   `metadataDocuments: true` (at most one may: [`crate::model::registration`]); with
//!   none, URL client ids are unknown clients and the metadata does not advertise
//!   `client_id_metadata_document_supported`. The tenant's registration restrictions
//!   (client types, grant types, scopes, redirect URIs) apply to documents as to
//!   registrations.
//! * **Fetching** goes through `ctx.documents` ([`crate::upstream::fetch`]): https
//!   only, no redirects, internal addresses refused unless `outbound_allow` lists them,
//!   5 KiB, a short timeout, the document's HTTP caching honoured within 5 min–24 h,
//!   at most 10 fetches per host a minute. A document that fails the checks below is
//!   dropped from the cache (draft §5.2: invalid documents are not cached), and any
//!   failure refuses the request (§5.1) with words saying what was wrong.
//! * **Checks** (§4, §4.1): the document's `client_id` is the URL exactly; no
//!   `client_secret` or `client_secret_expires_at`; `token_endpoint_auth_method` is
//!   `none` (the default here, since no secret can exist) or `private_key_jwt` with
//!   `jwks` or `jwks_uri`; every other field as RFC 7591 registration checks it
//!   ([`ClientMetadata::parse`]).
//! * **Stored as an ordinary client application** of that tenant (`registeredBy`
//!   `metadata_document`, no owner, no registration access token), so consents, tokens,
//!   HDP's application list and an administrator's delete work as for any client. A
//!   changed document updates the row; a changed authentication method, or a document
//!   now accepted by another tenant, replaces it (deleting the old row, its consents
//!   and every token issued under it), since the trust the user gave was for the old one.
//! * **The consent page** shows the URL's host beside the document's name
//!   ([`display_host`]): the name is whatever the document's author chose.

use crate::context::Context;
use crate::model::client_app::{
    ClientApp, ClientAppChanges, RegisteredBy, TokenEndpointAuthMethod,
};
use crate::model::client_id_url::{is_url_client_id, ClientIdUrl};
use crate::model::client_metadata::ClientMetadata;
use crate::model::identity::Tenant;
use crate::model::registration::RegistrationPolicy;
use crate::store::StoreError;
use crate::upstream::fetch::DocumentKind;
use serde_json::Value;

/// Why a client could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A metadata document client that cannot be used, in words for the requester.
    #[error("{0}")]
    Document(String),
}

/// The client `client_id` names: a registered client, or for a Client Identifier URL
/// the client its metadata document describes (fetched, checked, stored or brought up
/// to date). `None`: no such registered client.
pub async fn find_client(ctx: &Context, client_id: &str) -> Result<Option<ClientApp>, LookupError> {
    if !is_url_client_id(client_id) {
        return Ok(ctx.store.client_app_by_client_id(client_id).await?);
    }
    resolve(ctx, client_id).await.map(Some)
}

/// The host a metadata-document client's URL names, for the pages; `None` for
/// clients registered otherwise.
pub fn display_host(app: &ClientApp) -> Option<String> {
    (app.registered_by == RegisteredBy::MetadataDocument)
        .then(|| ClientIdUrl::parse(&app.client_id).ok())
        .flatten()
        .map(|u| u.host().to_owned())
}

/// Whether some active tenant accepts metadata documents (the metadata's
/// `client_id_metadata_document_supported`).
pub async fn supported(ctx: &Context) -> Result<bool, StoreError> {
    Ok(accepting_tenant(ctx).await?.is_some())
}

/// The active tenant that accepts metadata documents, with its policy.
async fn accepting_tenant(
    ctx: &Context,
) -> Result<Option<(Tenant, RegistrationPolicy)>, StoreError> {
    let policies = ctx.store.registration_policies().await?;
    let Some((tenant_id, policy)) = policies.into_iter().find(|(_, p)| p.metadata_documents) else {
        return Ok(None);
    };
    let tenant = ctx.store.tenant(tenant_id).await?;
    Ok(tenant.filter(|t| t.active).map(|t| (t, policy)))
}

async fn resolve(ctx: &Context, client_id: &str) -> Result<ClientApp, LookupError> {
    let id = ClientIdUrl::parse(client_id).map_err(|why| {
        LookupError::Document(format!(
            "The client_id is a URL, so it must name a client metadata document, but {why}."
        ))
    })?;
    let Some((tenant, policy)) = accepting_tenant(ctx).await? else {
        return Err(LookupError::Document(
            "This server does not accept clients that identify themselves by a metadata document URL; register the client instead.".to_owned(),
        ));
    };
    let document = ctx
        .documents
        .get(id.url(), DocumentKind::ClientMetadata, ctx.now())
        .await
        .map_err(|e| {
            LookupError::Document(format!(
                "The client's metadata document at {id} could not be fetched: {e}."
            ))
        })?;
    let (metadata, scopes) = match check(ctx, &id, &document, &tenant, &policy) {
        Ok(checked) => checked,
        Err(why) => {
            ctx.documents.forget(id.url(), DocumentKind::ClientMetadata);
            return Err(LookupError::Document(format!(
                "The client's metadata document at {id} cannot be used: {why}."
            )));
        }
    };
    let stored = ctx.store.client_app_by_client_id(id.as_str()).await?;
    match stored {
        Some(app)
            if app.tenant_id == tenant.id
                && app.registered_by == RegisteredBy::MetadataDocument
                && app.token_endpoint_auth_method == metadata.token_endpoint_auth_method =>
        {
            let changes = changes(ctx, &id, &app, &metadata, scopes);
            if unchanged(&app, &changes) {
                return Ok(app);
            }
            let updated = ctx.store.update_client_app(app.id, changes).await?;
            tracing::info!(app_id = app.id, client_id = %app.client_id, "a client metadata document changed; the client is updated");
            updated.ok_or_else(|| gone(&id))
        }
        Some(app) => {
            // Another tenant, or another way of authenticating: not the client the
            // user trusted. Its grants end with it.
            ctx.store.delete_client_app(app.id).await?;
            tracing::info!(app_id = app.id, client_id = %app.client_id, "a client metadata document changed how the client authenticates or which tenant takes it; the old client and its tokens are removed");
            create(ctx, &id, &tenant, metadata, scopes).await
        }
        None => create(ctx, &id, &tenant, metadata, scopes).await,
    }
}

fn gone(id: &ClientIdUrl) -> LookupError {
    LookupError::Document(format!(
        "The client {id} was removed while its metadata document was being read; try again."
    ))
}

/// Checks the document for `id` and returns its metadata and the scopes it may have.
fn check(
    ctx: &Context,
    id: &ClientIdUrl,
    document: &Value,
    tenant: &Tenant,
    policy: &RegistrationPolicy,
) -> Result<(ClientMetadata, Vec<String>), String> {
    let Some(fields) = document.as_object() else {
        return Err("it is not a JSON object".to_owned());
    };
    match fields.get("client_id") {
        Some(Value::String(s)) if s == id.as_str() => {}
        Some(Value::String(s)) => {
            return Err(format!(
                "its client_id is '{}', not the URL it was fetched from",
                s.escape_default()
            ))
        }
        Some(_) => return Err("its client_id is not a string".to_owned()),
        None => return Err("it has no client_id (it must be the document's own URL)".to_owned()),
    }
    for secret in ["client_secret", "client_secret_expires_at"] {
        if fields.contains_key(secret) {
            return Err(format!(
                "it contains {secret}, which a metadata document must not: there is no way to share a secret with a client that registers by URL"
            ));
        }
    }
    let mut fields = fields.clone();
    fields
        .entry("token_endpoint_auth_method")
        .or_insert_with(|| Value::String("none".to_owned()));
    let metadata =
        ClientMetadata::parse(&Value::Object(fields), ctx.redirects).map_err(|e| e.description)?;
    match metadata.token_endpoint_auth_method {
        TokenEndpointAuthMethod::None | TokenEndpointAuthMethod::PrivateKeyJwt => {}
        other => {
            return Err(format!(
                "its token_endpoint_auth_method is {}, a shared-secret method; a metadata document client uses none (a public client) or private_key_jwt",
                other.as_str()
            ))
        }
    }
    let scopes = policy
        .admit(&metadata, &tenant.allowed_scopes)
        .map_err(|e| e.description)?;
    Ok((metadata, scopes))
}

/// The stored fields the document decides.
fn changes(
    ctx: &Context,
    id: &ClientIdUrl,
    app: &ClientApp,
    m: &ClientMetadata,
    scopes: Vec<String>,
) -> ClientAppChanges {
    m.changes(
        display_name(m, id),
        app.description.clone(),
        scopes,
        ctx.now(),
    )
}

/// Whether `c` would change nothing in `app`.
fn unchanged(app: &ClientApp, c: &ClientAppChanges) -> bool {
    app.name == c.name
        && app.redirect_urls == c.redirect_urls
        && app.grant_types == c.grant_types
        && app.scopes == c.scopes
        && app.post_logout_redirect_uris == c.post_logout_redirect_uris
        && app.id_token_signed_response_alg == c.id_token_signed_response_alg
        && app.userinfo_signed_response_alg == c.userinfo_signed_response_alg
        && app.require_pushed_authorization_requests == c.require_pushed_authorization_requests
        && app.profile == c.profile
}

/// The document's `client_name`, or the URL's host.
fn display_name(m: &ClientMetadata, id: &ClientIdUrl) -> String {
    m.client_name
        .clone()
        .unwrap_or_else(|| id.host().to_owned())
}

async fn create(
    ctx: &Context,
    id: &ClientIdUrl,
    tenant: &Tenant,
    metadata: ClientMetadata,
    scopes: Vec<String>,
) -> Result<ClientApp, LookupError> {
    let new = metadata.new_client_app(
        tenant.id,
        id.as_str().to_owned(),
        display_name(&metadata, id),
        scopes,
        RegisteredBy::MetadataDocument,
        ctx.now(),
    );
    match ctx.store.register_client(new, None).await {
        Ok(Some(app)) => {
            tracing::info!(app_id = app.id, client_id = %app.client_id, tenant = app.tenant_id, "a client arrived with a metadata document");
            Ok(app)
        }
        Ok(None) => Err(gone(id)),
        // Another request stored it first: use that one.
        Err(StoreError::Conflict(_)) => ctx
            .store
            .client_app_by_client_id(id.as_str())
            .await?
            .ok_or_else(|| gone(id)),
        Err(e) => Err(e.into()),
    }
}
