//! Reading the audit trail (`GET /api/admin/events`) and keeping it to its retention
//! (limit 1005, `AuditEventRetentionDays`).
//!
//! Who may read: whoever administers the tenant ([`super::policy::administers`]: the
//! super-user, an Administrator (12) of the tenant, a user listed among its admins).
//! The default tenant is the caller's own; another tenant the caller does not
//! administer answers "There is no Tenant with that id", as the other admin APIs do,
//! so its id reveals nothing.
//!
//! The filters arrive as the query's raw strings and are parsed here, each refusal
//! naming its parameter. The cursor is opaque to clients (base64url of the last id
//! seen); pages are newest first.

use super::policy::administers;
use crate::actor::Actor;
use crate::auth::store_failure;
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::limits::{self, AUDIT_EVENT_RETENTION_DAYS};
use crate::model::audit::{AuditEvent, AuditQuery, EventType, NewAuditEvent, PAGE_MAX};
use crate::model::time::UnixTime;
use crate::store::StoreResult;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// An event of `event_type` in `tenant_id`, now, by `caller` (a user over HTTP or
/// the operator at the console), for the management use cases to record.
pub fn by<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    event_type: EventType,
    tenant_id: i64,
) -> NewAuditEvent {
    let event = NewAuditEvent::new(event_type, tenant_id, ctx.now());
    match caller.into().user_id() {
        Some(u) => event.by_user(u),
        None => event.by("operator".into(), None),
    }
}

/// Records that `caller` changed user `user_id` of `tenant_id`: created, updated,
/// deleted, a password or profile set (`reason`, in words).
pub async fn user_changed<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: i64,
    user_id: i64,
    reason: &str,
) {
    ctx.audit
        .record(
            by(ctx, caller, EventType::UserChanged, tenant_id)
                .subject_user(user_id)
                .reason(reason),
        )
        .await;
}

/// Records that `caller` ended user `user_id`'s lock: by the unlock call, or by HDP's
/// way, a PUT of the user with `accountLocked: false` (which also records the user as
/// changed when other fields change with it).
pub async fn unlocked<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: i64,
    user_id: i64,
) {
    ctx.audit
        .record(by(ctx, caller, EventType::Unlock, tenant_id).subject_user(user_id))
        .await;
}

/// Records that `caller` changed tenant `tenant_id` (`reason`, in words), in the trail
/// of tenant `recorded_in` (the tenant itself, or the deleting administrator's when it
/// is gone).
pub async fn tenant_changed<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    recorded_in: i64,
    tenant_id: i64,
    reason: &str,
) {
    ctx.audit
        .record(
            by(ctx, caller, EventType::TenantChanged, recorded_in)
                .subject(format!("tenant {tenant_id}"))
                .reason(reason),
        )
        .await;
}

/// The events filters as the query string gives them (each absent when not sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsRequest {
    pub tenant_id: Option<String>,
    pub event_type: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

/// The page size when `limit` is not sent.
pub const PAGE_DEFAULT: u32 = 100;

/// One page of events and the cursor of the next (absent on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPage {
    pub tenant_id: i64,
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

fn invalid(param: &str, what: &str, raw: &str) -> ApiFailure {
    let shown: String = raw.chars().take(40).collect();
    ApiFailure::new(
        Code::INVALID_FIELD,
        format!("Invalid query: {param}: expected {what}, got {shown:?}."),
    )
}

fn positive(param: &str, raw: &str) -> Result<i64, ApiFailure> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(param, "a positive integer", raw))
}

/// A time: Unix seconds, or RFC 3339 (`2026-12-02T10:00:00Z`).
fn instant(param: &str, raw: &str) -> Result<UnixTime, ApiFailure> {
    let raw_t = raw.trim();
    if let Ok(n) = raw_t.parse::<i64>() {
        return Ok(n);
    }
    time::OffsetDateTime::parse(raw_t, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            invalid(
                param,
                "Unix seconds or an RFC 3339 time such as 2026-12-02T10:00:00Z",
                raw,
            )
        })
}

/// The cursor clients get: the last id of a page, opaque.
pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("e{id}"))
}

fn decode_cursor(raw: &str) -> Result<i64, ApiFailure> {
    URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix('e').and_then(|n| n.parse::<i64>().ok()))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            invalid(
                "cursor",
                "the nextCursor of a previous page, unchanged",
                raw,
            )
        })
}

/// The query `req` asks for, the tenant defaulting to `own_tenant`.
fn query(req: &EventsRequest, own_tenant: i64) -> Result<AuditQuery, ApiFailure> {
    let tenant_id = match &req.tenant_id {
        Some(t) => positive("tenantId", t)?,
        None => own_tenant,
    };
    let event_type = match &req.event_type {
        Some(t) => Some(EventType::parse(t.trim()).ok_or_else(|| {
            let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            invalid("type", &format!("one of {}", names.join(", ")), t)
        })?),
        None => None,
    };
    let user_id = req
        .user_id
        .as_deref()
        .map(|u| positive("userId", u))
        .transpose()?;
    let client_id = match req.client_id.as_deref().map(str::trim) {
        Some("") => return Err(invalid("clientId", "a client_id", "")),
        c => c.map(str::to_owned),
    };
    let from = req
        .from
        .as_deref()
        .map(|f| instant("from", f))
        .transpose()?;
    let to = req.to.as_deref().map(|t| instant("to", t)).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(ApiFailure::new(
                Code::INVALID_FIELD,
                "Invalid query: from must be before to (from is inclusive, to exclusive).",
            ));
        }
    }
    let before_id = req.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = match &req.limit {
        Some(l) => u32::try_from(positive("limit", l)?)
            .ok()
            .filter(|l| *l <= PAGE_MAX)
            .ok_or_else(|| invalid("limit", &format!("at most {PAGE_MAX}"), l))?,
        None => PAGE_DEFAULT,
    };
    Ok(AuditQuery {
        tenant_id,
        event_type,
        user_id,
        client_id,
        from,
        to,
        before_id,
        limit,
    })
}

/// A page of the audit trail of the tenant `req` names (default: the caller's). This
/// node's queued events are written first, so a caller reads their own actions.
pub async fn events<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    req: &EventsRequest,
) -> Result<EventsPage, ApiFailure> {
    let caller = caller.into();
    let q = query(req, caller.tenant_id())?;
    let not_found = || {
        ApiFailure::new(
            Code::TENANT_NOT_FOUND,
            format!("There is no Tenant with that id: {}.", q.tenant_id),
        )
    };
    if !administers(ctx, caller, q.tenant_id).await? {
        if q.tenant_id == caller.tenant_id() {
            return Err(ApiFailure::forbidden(format!(
                "reading the audit trail of tenant {} requires admin access to it (Administrator (12) in the tenant, or being listed among its admins).",
                q.tenant_id
            )));
        }
        return Err(not_found());
    }
    if ctx
        .store
        .tenant(q.tenant_id)
        .await
        .map_err(store_failure)?
        .is_none()
    {
        return Err(not_found());
    }
    ctx.audit.flush().await.map_err(store_failure)?;
    let events = ctx.store.audit_events(&q).await.map_err(store_failure)?;
    let next_cursor = (events.len() == q.limit as usize)
        .then(|| events.last().map(|e| encode_cursor(e.id)))
        .flatten();
    Ok(EventsPage {
        tenant_id: q.tenant_id,
        events,
        next_cursor,
    })
}

/// Deletes, in every tenant (also deleted ones), the audit events and vault retrievals older than the
/// tenant's `AuditEventRetentionDays` (limit 1005) at `ctx.now()`; how many rows went.
/// Queued events are written first, so none escapes a sweep by being late.
pub async fn purge_expired(ctx: &Context) -> StoreResult<u64> {
    ctx.audit.flush().await?;
    let now = ctx.now();
    let mut gone = 0;
    // Every tenant with records, also deleted ones (whose value falls back to the
    // system's).
    let mut tenants: Vec<i64> = ctx.store.tenants().await?.iter().map(|t| t.id).collect();
    tenants.extend(ctx.store.audit_tenant_ids().await?);
    tenants.sort_unstable();
    tenants.dedup();
    for t in tenants {
        let days = limits::value(ctx.store.as_ref(), AUDIT_EVENT_RETENTION_DAYS, t, None).await?;
        gone += ctx.store.purge_audit(t, now - days * 86_400).await?;
    }
    Ok(gone)
}

/// Runs [`purge_expired`] every `every`, for the server's background work.
pub async fn run_retention(ctx: Context, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match purge_expired(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged audit events past their retention"),
            Err(e) => tracing::warn!(error = %e, "purging old audit events failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> EventsRequest {
        EventsRequest::default()
    }

    #[test]
    fn bad_filters_name_their_parameter() {
        let cases = [
            (
                EventsRequest {
                    event_type: Some("nope".into()),
                    ..req()
                },
                "type:",
            ),
            (
                EventsRequest {
                    user_id: Some("x".into()),
                    ..req()
                },
                "userId:",
            ),
            (
                EventsRequest {
                    tenant_id: Some("0".into()),
                    ..req()
                },
                "tenantId:",
            ),
            (
                EventsRequest {
                    from: Some("yesterday".into()),
                    ..req()
                },
                "from:",
            ),
            (
                EventsRequest {
                    to: Some("2026-13-01".into()),
                    ..req()
                },
                "to:",
            ),
            (
                EventsRequest {
                    cursor: Some("abc".into()),
                    ..req()
                },
                "cursor:",
            ),
            (
                EventsRequest {
                    limit: Some("501".into()),
                    ..req()
                },
                "limit:",
            ),
            (
                EventsRequest {
                    limit: Some("0".into()),
                    ..req()
                },
                "limit:",
            ),
            (
                EventsRequest {
                    client_id: Some(" ".into()),
                    ..req()
                },
                "clientId:",
            ),
        ];
        for (r, param) in cases {
            let e = query(&r, 1).expect_err("refused");
            assert_eq!(e.code, Code::INVALID_FIELD);
            assert!(e.message.contains(param), "{param}: {}", e.message);
        }
    }

    #[tokio::test]
    async fn retention_reaches_the_events_of_deleted_tenants_at_the_system_value() {
        use crate::model::audit::NewAuditEvent;
        let (ctx, clock) = crate::testing::test_context().await;
        let t0 = ctx.now();
        for tenant in [1, 99] {
            ctx.audit
                .record(NewAuditEvent::new(EventType::SignIn, tenant, t0))
                .await;
        }
        clock.advance(89 * 86_400);
        assert_eq!(purge_expired(&ctx).await.expect("sweep"), 0, "young");
        clock.advance(2 * 86_400);
        assert_eq!(purge_expired(&ctx).await.expect("sweep"), 2);
        assert!(ctx.store.audit_tenant_ids().await.expect("ids").is_empty());
    }

    #[test]
    fn filters_parse_and_the_cursor_round_trips() {
        let q = query(
            &EventsRequest {
                event_type: Some("sign_in".into()),
                from: Some("2026-12-02T10:00:00Z".into()),
                to: Some("1796209200".into()),
                cursor: Some(encode_cursor(42)),
                limit: Some("5".into()),
                ..req()
            },
            3,
        )
        .expect("parsed");
        assert_eq!(q.tenant_id, 3);
        assert_eq!(q.event_type, Some(EventType::SignIn));
        assert_eq!((q.from, q.to), (Some(1_796_205_600), Some(1_796_209_200)));
        assert_eq!(q.before_id, Some(42));
        assert_eq!(q.limit, 5);
    }
}
