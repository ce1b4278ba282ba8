//! OAuth profiles (HDP `/api/mgmt/oauthprofiles`, `spec/hdp-reference.md` §2.2): a
//! user's tokens at an upstream application, sealed at rest, and their refresh.
//!
//! Who (HDP §2.2): MgmtAPI (11) with the data-source permission of the operation —
//! create 1, read 2, change (and refresh) 3, delete 4; Administrator (12) holds all.
//! A profile belongs to the user who created it; Administrators of its tenant also
//! see, refresh and delete it, but only the owner changes it (HDP) and only the owner
//! is shown its tokens (an Administrator sees the profile without them). Profiles not
//! visible answer 222207710 "Invalid OAuthProfileId".
//!
//! Refresh ([`refresh_profile`]) serialises on a lease in the database, so concurrent
//! refreshes of one profile, on any node, make one upstream call: the caller that
//! takes the lease calls the upstream; the others wait for it to finish and answer
//! with the stored result. A failure leaves the tokens as they were and records the
//! error and a backoff on the profile.

use super::apps::{self, usable};
use super::upstream::{ClientAuth, Upstream, UpstreamError};
use super::{
    new_seal_ref, parse_description, parse_name, parse_required, purpose, NewOAuthProfile,
    OAuthApp, OAuthProfile, ProfileChanges, RefreshFailure, RefreshSuccess,
};
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::mgmt::policy;
use crate::model::identity::Permission;
use crate::model::time::UnixTime;
use crate::store::StoreError;
use crate::vault::store::ProfileScope;
use std::collections::HashMap;
use std::time::Duration;

/// Seconds a refresh lease lasts: longer than the upstream call may take
/// ([`super::upstream::TOTAL_TIMEOUT`]), so a lease only runs out when its node died.
pub const LEASE_SECS: i64 = 30;
/// How long a caller waits for another caller's refresh of the same profile.
pub const WAIT_FOR_OTHER: Duration = Duration::from_secs(20);
/// Longest background-refresh backoff after repeated failures.
pub const MAX_BACKOFF_SECS: i64 = 3600;
/// First background-refresh backoff.
pub const FIRST_BACKOFF_SECS: i64 = 60;

const REFUSED_PREFIX: &str = "The upstream refused the refresh: ";
const NOT_ALLOWED_PREFIX: &str = "Portcullis did not call the upstream token endpoint: ";

/// Seals `plaintext` under the master key for `purpose`.
pub fn seal(ctx: &Context, plaintext: &str, purpose: &str) -> Result<String, ApiFailure> {
    ctx.keyring
        .seal(plaintext.as_bytes(), purpose)
        .map_err(|e| {
            tracing::error!(error = %e, "sealing a vault secret failed");
            ApiFailure::internal(Code::INTERNAL)
        })
}

/// Opens a value sealed for `purpose`.
pub fn open(ctx: &Context, sealed: &str, purpose: &str) -> Result<String, ApiFailure> {
    let bytes = ctx.keyring.open(sealed, purpose).map_err(|e| {
        tracing::error!(error = %e, purpose, "a sealed vault secret does not open");
        ApiFailure::new(
            Code::SEALED_VALUE_UNREADABLE,
            "A stored secret cannot be opened with the configured master keys.",
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ApiFailure::new(
            Code::SEALED_VALUE_UNREADABLE,
            "A stored secret is not valid text.",
        )
    })
}

pub fn access_purpose(seal_ref: &str) -> String {
    purpose("oauthprofile", seal_ref, "access_token")
}

pub fn refresh_purpose(seal_ref: &str) -> String {
    purpose("oauthprofile", seal_ref, "refresh_token")
}

/// A profile's tokens in clear, for its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct Revealed {
    pub access_token: Option<String>,
    pub refresh_token: String,
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revealed(***)")
    }
}

/// A profile as the caller may see it: with its application, and its tokens when the
/// caller owns it.
#[derive(Debug, Clone)]
pub struct View {
    pub profile: OAuthProfile,
    pub app: OAuthApp,
    pub tokens: Option<Revealed>,
}

/// A create or update request, as received.
#[derive(Clone, Default)]
pub struct ProfileInput {
    pub name: String,
    pub oauth_app_id: i64,
    pub description: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for ProfileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput")
            .field("name", &self.name)
            .field("oauth_app_id", &self.oauth_app_id)
            .finish_non_exhaustive()
    }
}

pub fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::OAUTH_PROFILE_NOT_FOUND,
        format!("Invalid OAuthProfileId: {id}"),
    )
}

fn require(caller: &Principal, p: Permission, what: &str) -> Result<(), ApiFailure> {
    policy::require(caller, Permission::MGMT_API, what)?;
    policy::require(caller, p, what)
}

async fn sees(ctx: &Context, caller: &Principal, p: &OAuthProfile) -> Result<bool, ApiFailure> {
    Ok(p.owner_id == caller.user.id
        || (caller.is_administrator() && policy::administers(ctx, caller, p.tenant_id).await?))
}

fn name_conflict(e: StoreError, name: &str) -> ApiFailure {
    match e {
        StoreError::Conflict(_) => ApiFailure::new(
            Code::OAUTH_PROFILE_NAME_CONFLICT,
            format!("You already have an OAuth profile named '{name}'."),
        ),
        e => store_failure(e),
    }
}

/// The application `id` if a profile of the caller may use it.
pub(crate) async fn usable_app(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<OAuthApp, ApiFailure> {
    match ctx.store.oauth_app(id).await.map_err(store_failure)? {
        Some(app) if usable(caller, &app) => Ok(app),
        _ => Err(apps::not_found(id)),
    }
}

async fn app_of(ctx: &Context, p: &OAuthProfile) -> Result<OAuthApp, ApiFailure> {
    ctx.store
        .oauth_app(p.oauth_app_id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| not_found(p.id))
}

/// Opens the profile's tokens.
pub fn reveal(ctx: &Context, p: &OAuthProfile) -> Result<Revealed, ApiFailure> {
    Ok(Revealed {
        access_token: p
            .access_token_sealed
            .as_deref()
            .map(|s| open(ctx, s, &access_purpose(&p.seal_ref)))
            .transpose()?,
        refresh_token: open(ctx, &p.refresh_token_sealed, &refresh_purpose(&p.seal_ref))?,
    })
}

fn view(
    ctx: &Context,
    caller: &Principal,
    profile: OAuthProfile,
    app: OAuthApp,
) -> Result<View, ApiFailure> {
    let tokens = if profile.owner_id == caller.user.id {
        Some(reveal(ctx, &profile)?)
    } else {
        None
    };
    Ok(View {
        profile,
        app,
        tokens,
    })
}

/// What a new profile is made of, checked; shared by create and the connect flow.
pub(crate) struct Checked {
    pub name: String,
    pub description: String,
    pub app: OAuthApp,
}

pub(crate) async fn check_new(
    ctx: &Context,
    caller: &Principal,
    name: &str,
    description: Option<&str>,
    oauth_app_id: i64,
) -> Result<Checked, ApiFailure> {
    require(
        caller,
        Permission::CREATE_DATA_SOURCE,
        "Creating an OAuth profile",
    )?;
    let name = parse_name("name", name)?;
    let description = parse_description(description)?;
    let app = usable_app(ctx, caller, oauth_app_id).await?;
    Ok(Checked {
        name,
        description,
        app,
    })
}

/// Stores a new profile of `owner` with these tokens (sealed here).
pub(crate) async fn store_new(
    ctx: &Context,
    owner: &Principal,
    checked: Checked,
    access_token: Option<&str>,
    refresh_token: &str,
    access_expires_at: Option<UnixTime>,
) -> Result<View, ApiFailure> {
    let seal_ref = new_seal_ref();
    let new = NewOAuthProfile {
        access_token_sealed: access_token
            .map(|t| seal(ctx, t, &access_purpose(&seal_ref)))
            .transpose()?,
        refresh_token_sealed: seal(ctx, refresh_token, &refresh_purpose(&seal_ref))?,
        seal_ref,
        oauth_app_id: checked.app.id,
        tenant_id: owner.user.tenant_id,
        owner_id: owner.user.id,
        name: checked.name.clone(),
        description: checked.description,
        access_expires_at,
        now: ctx.now(),
    };
    let profile = ctx
        .store
        .create_oauth_profile(new)
        .await
        .map_err(|e| name_conflict(e, &checked.name))?;
    tracing::info!(
        oauth_profile_id = profile.id,
        oauth_app_id = checked.app.id,
        owner = owner.user.id,
        "OAuth profile created"
    );
    view(ctx, owner, profile, checked.app)
}

fn optional_token(field: &str, v: Option<&str>) -> Result<Option<String>, ApiFailure> {
    match v {
        None => Ok(None),
        Some("") => Ok(None),
        Some(t) => parse_required(field, Some(t)).map(Some),
    }
}

/// Creates a profile from pasted tokens (HDP's POST).
pub async fn create(
    ctx: &Context,
    caller: &Principal,
    input: ProfileInput,
) -> Result<View, ApiFailure> {
    let refresh = parse_required("refreshToken", input.refresh_token.as_deref());
    let access = optional_token("accessToken", input.access_token.as_deref());
    let checked = check_new(
        ctx,
        caller,
        &input.name,
        input.description.as_deref(),
        input.oauth_app_id,
    )
    .await?;
    let (refresh, access) = (refresh?, access?);
    store_new(ctx, caller, checked, access.as_deref(), &refresh, None).await
}

/// The profiles the caller sees, each with its application.
pub async fn list(ctx: &Context, caller: &Principal) -> Result<Vec<View>, ApiFailure> {
    require(
        caller,
        Permission::VIEW_DATA_SOURCE,
        "Listing OAuth profiles",
    )?;
    let scope = if caller.is_administrator() {
        match policy::administered(ctx, caller).await? {
            None => ProfileScope::All,
            Some(tenants) => ProfileScope::Tenants {
                tenants,
                owner: caller.user.id,
            },
        }
    } else {
        ProfileScope::Owner(caller.user.id)
    };
    let profiles = ctx
        .store
        .list_oauth_profiles(scope)
        .await
        .map_err(store_failure)?;
    let mut apps: HashMap<i64, OAuthApp> = HashMap::new();
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        let app = match apps.get(&p.oauth_app_id) {
            Some(a) => a.clone(),
            None => {
                let a = app_of(ctx, &p).await?;
                apps.insert(a.id, a.clone());
                a
            }
        };
        out.push(View {
            profile: p,
            app,
            tokens: None,
        });
    }
    Ok(out)
}

async fn visible(ctx: &Context, caller: &Principal, id: i64) -> Result<OAuthProfile, ApiFailure> {
    match ctx.store.oauth_profile(id).await.map_err(store_failure)? {
        Some(p) if sees(ctx, caller, &p).await? => Ok(p),
        _ => Err(not_found(id)),
    }
}

/// One profile (tokens for its owner only).
pub async fn get(ctx: &Context, caller: &Principal, id: i64) -> Result<View, ApiFailure> {
    require(
        caller,
        Permission::VIEW_DATA_SOURCE,
        "Reading an OAuth profile",
    )?;
    let p = visible(ctx, caller, id).await?;
    let app = app_of(ctx, &p).await?;
    view(ctx, caller, p, app)
}

/// The profile's application, for `/stats` (no data sources exist in Portcullis).
pub async fn stats(ctx: &Context, caller: &Principal, id: i64) -> Result<OAuthApp, ApiFailure> {
    require(
        caller,
        Permission::VIEW_DATA_SOURCE,
        "Reading an OAuth profile",
    )?;
    let p = visible(ctx, caller, id).await?;
    app_of(ctx, &p).await
}

/// Replaces the profile (HDP: the same body as create; its owner only). New tokens
/// clear the refresh status.
pub async fn update(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    input: ProfileInput,
) -> Result<View, ApiFailure> {
    require(
        caller,
        Permission::MODIFY_DATA_SOURCE,
        "Changing an OAuth profile",
    )?;
    let name = parse_name("name", &input.name)?;
    let description = parse_description(input.description.as_deref())?;
    let refresh = parse_required("refreshToken", input.refresh_token.as_deref())?;
    let access = optional_token("accessToken", input.access_token.as_deref())?;
    let current = visible(ctx, caller, id).await?;
    if current.owner_id != caller.user.id {
        return Err(ApiFailure::forbidden(
            "only the user who created an OAuth profile may change it",
        ));
    }
    let app = usable_app(ctx, caller, input.oauth_app_id).await?;
    let changes = ProfileChanges {
        oauth_app_id: app.id,
        name: name.clone(),
        description,
        access_token_sealed: access
            .as_deref()
            .map(|t| seal(ctx, t, &access_purpose(&current.seal_ref)))
            .transpose()?,
        refresh_token_sealed: seal(ctx, &refresh, &refresh_purpose(&current.seal_ref))?,
        access_expires_at: None,
        now: ctx.now(),
    };
    let p = ctx
        .store
        .update_oauth_profile(id, changes)
        .await
        .map_err(|e| name_conflict(e, &name))?
        .ok_or_else(|| not_found(id))?;
    tracing::info!(
        oauth_profile_id = id,
        by = caller.user.id,
        "OAuth profile changed"
    );
    view(ctx, caller, p, app)
}

/// Deletes the profile.
pub async fn delete(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    require(
        caller,
        Permission::DELETE_DATA_SOURCE,
        "Deleting an OAuth profile",
    )?;
    visible(ctx, caller, id).await?;
    if !ctx
        .store
        .delete_oauth_profile(id)
        .await
        .map_err(store_failure)?
    {
        return Err(not_found(id));
    }
    tracing::info!(
        oauth_profile_id = id,
        by = caller.user.id,
        "OAuth profile deleted"
    );
    Ok(())
}

/// Refreshes the profile's access token at the upstream now (`POST …/{id}/refresh`).
pub async fn refresh(
    ctx: &Context,
    upstream: &Upstream,
    caller: &Principal,
    id: i64,
) -> Result<View, ApiFailure> {
    require(
        caller,
        Permission::MODIFY_DATA_SOURCE,
        "Refreshing an OAuth profile",
    )?;
    visible(ctx, caller, id).await?;
    let p = refresh_profile(ctx, upstream, id, true)
        .await?
        .ok_or_else(|| not_found(id))?;
    let app = app_of(ctx, &p).await?;
    view(ctx, caller, p, app)
}

/// Seconds to wait before the next background attempt after `failures` failures in a row.
pub fn backoff_secs(failures: i64) -> i64 {
    let exp = failures.clamp(1, 16) - 1;
    FIRST_BACKOFF_SECS
        .saturating_mul(1_i64 << exp)
        .min(MAX_BACKOFF_SECS)
}

/// Refreshes profile `id` under its lease. When another caller holds the lease,
/// `wait` waits for it and answers with the stored outcome; without `wait` it
/// answers `Ok(None)` at once. `Ok(None)` also when the profile does not exist.
pub async fn refresh_profile(
    ctx: &Context,
    upstream: &Upstream,
    id: i64,
    wait: bool,
) -> Result<Option<OAuthProfile>, ApiFailure> {
    let holder = uuid::Uuid::new_v4().to_string();
    let now = ctx.now();
    let leased = ctx
        .store
        .acquire_refresh_lease(id, &holder, now, now + LEASE_SECS)
        .await
        .map_err(store_failure)?;
    match leased {
        // The upstream may rotate its refresh token on this call, and only the store
        // write keeps the successor: the call and the write run in a task of their
        // own, which finishes even when the caller goes away (an HTTP request
        // cancelled by its client) instead of losing the new token.
        Some(p) => {
            let (ctx, upstream) = (ctx.clone(), upstream.clone());
            tokio::spawn(async move { run_refresh(&ctx, &upstream, p, &holder).await })
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, oauth_profile_id = id, "the refresh task failed");
                    ApiFailure::internal(Code::INTERNAL)
                })?
                .map(Some)
        }
        None if wait => wait_for_other(ctx, id).await,
        None => Ok(None),
    }
}

/// Waits until the lease of profile `id` is released, then answers with the stored
/// outcome: the profile, or the error its refresh ended with.
async fn wait_for_other(ctx: &Context, id: i64) -> Result<Option<OAuthProfile>, ApiFailure> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Some(p) = ctx.store.oauth_profile(id).await.map_err(store_failure)? else {
            return Ok(None);
        };
        let free = p.refresh_lease_until.is_none_or(|u| u <= ctx.now());
        if free {
            return match &p.last_refresh_error {
                Some(e) => Err(refresh_error(e)),
                None => Ok(Some(p)),
            };
        }
        if tokio::time::Instant::now() >= deadline {
            let mut f = ApiFailure::new(
                Code::REFRESH_IN_PROGRESS,
                format!(
                    "Another refresh of OAuth profile {id} is still running; try again shortly."
                ),
            );
            f.retry_after = Some(5);
            return Err(f);
        }
    }
}

fn refresh_error(message: &str) -> ApiFailure {
    let code = if message.starts_with(REFUSED_PREFIX) {
        Code::UPSTREAM_REFUSED
    } else if message.starts_with(NOT_ALLOWED_PREFIX) {
        Code::UPSTREAM_NOT_ALLOWED
    } else {
        Code::UPSTREAM_FAILED
    };
    ApiFailure::new(code, message.to_owned())
}

fn upstream_failure(e: &UpstreamError) -> ApiFailure {
    match e {
        UpstreamError::Refused { status, error } => ApiFailure::new(
            Code::UPSTREAM_REFUSED,
            format!("{REFUSED_PREFIX}{error} (HTTP {status}). The stored tokens are unchanged."),
        ),
        UpstreamError::NotAllowed(refused) => ApiFailure::new(
            Code::UPSTREAM_NOT_ALLOWED,
            format!("{NOT_ALLOWED_PREFIX}{refused}. The stored tokens are unchanged."),
        ),
        UpstreamError::Unreachable(why) => ApiFailure::new(
            Code::UPSTREAM_FAILED,
            format!("The upstream token endpoint failed: {why}. The stored tokens are unchanged."),
        ),
    }
}

async fn call_upstream(
    ctx: &Context,
    upstream: &Upstream,
    p: &OAuthProfile,
) -> Result<RefreshSuccess, ApiFailure> {
    let app = app_of(ctx, p).await?;
    let refresh_token = open(ctx, &p.refresh_token_sealed, &refresh_purpose(&p.seal_ref))?;
    let secret = open(
        ctx,
        &app.client_secret_sealed,
        &apps::secret_purpose(&app.seal_ref),
    )?;
    let client = ClientAuth {
        client_id: &app.client_id,
        client_secret: &secret,
        method: app.token_auth_method,
    };
    let tokens = upstream
        .refresh(&app.token_uri, &client, &refresh_token)
        .await
        .map_err(|e| upstream_failure(&e))?;
    let now = ctx.now();
    let rotated = tokens
        .refresh_token
        .as_deref()
        .filter(|r| *r != refresh_token);
    Ok(RefreshSuccess {
        access_token_sealed: seal(ctx, &tokens.access_token, &access_purpose(&p.seal_ref))?,
        refresh_token_sealed: rotated
            .map(|r| seal(ctx, r, &refresh_purpose(&p.seal_ref)))
            .transpose()?,
        access_expires_at: tokens.expires_at(now),
        now,
    })
}

async fn run_refresh(
    ctx: &Context,
    upstream: &Upstream,
    p: OAuthProfile,
    holder: &str,
) -> Result<OAuthProfile, ApiFailure> {
    match call_upstream(ctx, upstream, &p).await {
        Ok(done) => {
            let stored = ctx
                .store
                .finish_refresh(p.id, holder, &done)
                .await
                .map_err(store_failure)?;
            tracing::info!(
                oauth_profile_id = p.id,
                rotated = done.refresh_token_sealed.is_some(),
                "OAuth profile refreshed"
            );
            stored.ok_or_else(|| {
                tracing::warn!(oauth_profile_id = p.id, "refresh lease lost before storing");
                let mut f = ApiFailure::new(
                    Code::REFRESH_IN_PROGRESS,
                    format!(
                        "The refresh of OAuth profile {} took too long; try again.",
                        p.id
                    ),
                );
                f.retry_after = Some(5);
                f
            })
        }
        Err(failure) => {
            let now = ctx.now();
            let record = RefreshFailure {
                error: failure.message.clone(),
                next_attempt_at: now + backoff_secs(p.refresh_failures + 1),
                now,
            };
            if let Err(e) = ctx.store.fail_refresh(p.id, holder, &record).await {
                tracing::error!(error = %e, oauth_profile_id = p.id, "recording a failed refresh failed");
            }
            Err(failure)
        }
    }
}
