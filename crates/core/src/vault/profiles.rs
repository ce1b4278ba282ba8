//! OAuth profiles (HDP `/api/mgmt/oauthprofiles`, `spec/hdp-reference.md` §2.2): a
//! user's tokens at an upstream application, sealed at rest; their refresh is
//! [`super::refresh`].
//!
//! Who (HDP §2.2): MgmtAPI (11) with the data-source permission of the operation —
//! create 1, read 2, change (and refresh) 3, delete 4; Administrator (12) holds all.
//! A profile belongs to the user who created it; Administrators of its tenant also
//! see, refresh and delete it, but only the owner changes it (HDP) and only the owner
//! is shown its tokens (an Administrator sees the profile without them). Profiles not
//! visible answer 222207710 "Invalid OAuthProfileId".

use super::apps::{self, usable};
use super::sealing::{open, seal};
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::mgmt::policy;
use crate::model::identity::Permission;
use crate::model::time::UnixTime;
use crate::model::vault::ProfileScope;
use crate::model::vault::{
    new_seal_ref, parse_description, parse_name, parse_required, purpose, NewOAuthProfile,
    OAuthApp, OAuthProfile, ProfileChanges,
};
use crate::store::StoreError;
use std::collections::HashMap;

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

pub(super) fn require(caller: &Principal, p: Permission, what: &str) -> Result<(), ApiFailure> {
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

pub(super) async fn app_of(ctx: &Context, p: &OAuthProfile) -> Result<OAuthApp, ApiFailure> {
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

pub(super) fn view(
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
    ctx.audit
        .record(
            crate::mgmt::audit::by(
                ctx,
                owner,
                crate::model::audit::EventType::VaultConnected,
                profile.tenant_id,
            )
            .subject_user(owner.user.id)
            .subject(format!("oauth_profile {}", profile.id))
            .reason(format!("oauth_application {}", checked.app.id)),
        )
        .await;
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

pub(super) async fn visible(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<OAuthProfile, ApiFailure> {
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
