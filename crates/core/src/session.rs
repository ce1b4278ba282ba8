//! Browser sign-in sessions of the authorization endpoint (SPEC §2). The cookie holds a
//! random 256-bit id; the store keeps only its keyed verifier with the user, the
//! user's `auth_version` at sign-in, and two deadlines: an idle one that each use
//! pushes forward and an absolute one that nothing extends. Sessions are server-side
//! so that signing out really ends one and several nodes on one database share them.

use crate::context::Context;
use crate::crypto::Secret;
use crate::error::{Code, Kind};
use crate::model::identity::User;
use crate::model::session::Session;
use crate::model::time::UnixTime;
use crate::store::{StoreError, StoreResult};

/// Why a sign-in at the login form failed, in words fit for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFailure {
    /// Wrong name, wrong password, unknown tenant or a locked account: one answer,
    /// so the form reveals neither whether the user exists nor whether it is locked.
    Rejected,
    /// The password was right but the account (or its tenant) is inactive.
    Inactive,
    /// The database is unreachable.
    Unavailable,
    /// Too many failed sign-ins from the caller's address: retry after these seconds.
    TooMany(u64),
    /// Anything else (logged).
    Internal,
}

impl SignInFailure {
    pub fn message(&self) -> &'static str {
        match self {
            SignInFailure::Rejected => {
                "The user name or password is wrong, or the account is locked. Repeated failed sign-ins lock the account for a while."
            }
            SignInFailure::Inactive => {
                "This account is inactive. Ask an administrator to activate it."
            }
            SignInFailure::Unavailable => {
                "The service is unavailable right now. Please try again shortly."
            }
            SignInFailure::Internal => "Something went wrong. Please try again.",
            SignInFailure::TooMany(_) => {
                "Too many failed sign-ins from your network address. Please wait a few minutes and try again."
            }
        }
    }
}

/// Checks a login form: `login` in the tenant named `tenant`. Failures count toward
/// the account's lockout exactly as at the password grant and Basic authentication
/// (HDP limits 2–4), and toward the address's spraying limits; an unknown user or
/// tenant costs the same hash and the same store work.
pub async fn sign_in(
    ctx: &Context,
    attempt: crate::auth::Attempt<'_>,
    tenant: &str,
    login: &str,
    password: &str,
) -> Result<User, SignInFailure> {
    let store_failed = |e: StoreError| {
        tracing::error!(error = %e, "store failure at sign-in");
        match e {
            StoreError::Unavailable(_) => SignInFailure::Unavailable,
            _ => SignInFailure::Internal,
        }
    };
    let throttle = attempt
        .begin(&format!("{login}@{tenant}"), ctx.now())
        .map_err(|f| SignInFailure::TooMany(f.retry_after.unwrap_or(1)))?;
    let tenant_id = ctx
        .store
        .tenant_by_name(tenant)
        .await
        .map_err(store_failed)?
        .map_or(crate::auth::NO_USER, |t| t.id);
    // An unknown tenant still looks the user up (in no tenant), as a known one does.
    let user = ctx
        .store
        .user_by_login(tenant_id, login)
        .await
        .map_err(store_failed)?;
    crate::auth::check_password(ctx, None, &throttle, user, password)
        .await
        .map_err(|f| match f.code {
            c if c == Code::ACCOUNT_INACTIVE => SignInFailure::Inactive,
            c if c == Code::UNAVAILABLE => SignInFailure::Unavailable,
            c if c.kind == Kind::Internal => SignInFailure::Internal,
            _ => SignInFailure::Rejected,
        })
}

/// Starts a session for `user`; returns the id for the cookie (never stored).
pub async fn start(ctx: &Context, user: &User) -> StoreResult<Secret> {
    let id = Secret::generate();
    let session = Session::new(
        ctx.keys.verifier(id.expose()),
        user.id,
        user.auth_version,
        ctx.now(),
    );
    ctx.store.insert_session(&session).await?;
    tracing::info!(user = user.id, "browser session started");
    Ok(id)
}

/// Who a live session belongs to.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    /// When the user signed in (OpenID Connect's `auth_time`, which `max_age` is
    /// measured against).
    pub since: UnixTime,
}

/// The user of the session with cookie value `id`, if the session is live and the
/// user may still sign in unchanged (same `auth_version`: no password change, lock,
/// deactivation or new grants since). A dead session is deleted; a live one touched.
pub async fn resume(ctx: &Context, id: &str) -> StoreResult<Option<SignedIn>> {
    let verifier = ctx.keys.verifier(id);
    let Some(session) = ctx.store.session(&verifier).await? else {
        return Ok(None);
    };
    let now = ctx.now();
    let user = if session.is_live(now) {
        crate::auth::user_still_valid(ctx, session.user_id, Some(session.auth_version)).await?
    } else {
        None
    };
    let Some(user) = user else {
        ctx.store.delete_session(&verifier).await?;
        return Ok(None);
    };
    if let Some(idle_until) = session.touched(now) {
        ctx.store.touch_session(&verifier, idle_until).await?;
    }
    Ok(Some(SignedIn {
        user,
        since: session.created_at,
    }))
}

/// The session's `sid` (OpenID Connect Front-Channel Logout §2, used in ID tokens and
/// at logout): a keyed digest of the cookie's value, so it names the session without
/// revealing anything that opens it.
pub fn sid(ctx: &Context, id: &str) -> String {
    use base64::Engine as _;
    let digest = ctx.keys.cache_key(&[b"sid", id.as_bytes()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The CSRF token of a form, bound to the cookie value `bound_to` (the session id, or
/// the pre-sign-in cookie of the login form) and to the form's `purpose`: an HMAC
/// under the server's key, so it cannot be forged without the cookie and the key.
pub fn csrf_token(ctx: &Context, purpose: &str, bound_to: &str) -> String {
    use base64::Engine as _;
    let mac = ctx
        .keys
        .cache_key(&[b"csrf", purpose.as_bytes(), bound_to.as_bytes()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
}

/// Whether `token` is the CSRF token for `purpose` and `bound_to`, compared in
/// constant time.
pub fn csrf_ok(ctx: &Context, purpose: &str, bound_to: &str, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = csrf_token(ctx, purpose, bound_to);
    bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
}

/// Ends the session with cookie value `id` (signing out).
pub async fn end(ctx: &Context, id: &str) -> StoreResult<bool> {
    ctx.store.delete_session(&ctx.keys.verifier(id)).await
}
