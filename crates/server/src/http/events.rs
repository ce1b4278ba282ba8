//! The audit trail's read API (`GET /api/admin/events`) and the layer that tells core
//! where each request comes from ([`origin`]). The handler takes the query's raw
//! strings and makes one call into `portcullis_core::mgmt::audit`, which parses them
//! (each refusal names its parameter), checks the caller administers the tenant, and
//! reads a page.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{HdpQuery, Mgmt};
use crate::state::AppState;
use axum::Json;
use portcullis_core::mgmt::audit::{self, EventsRequest};
use portcullis_core::model::audit::AuditEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The filters of `GET /api/admin/events`. Every one is optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// The tenant whose events to read (default: the caller's; another tenant only
    /// for those who administer it).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub tenant_id: Option<String>,
    /// Only events of this type (`sign_in`, `token_issued`, … — see the README).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only events this user did or that were done to them (a user id).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub user_id: Option<String>,
    /// Only events involving this OAuth `client_id`.
    pub client_id: Option<String>,
    /// Only events at or after this time (Unix seconds or RFC 3339).
    pub from: Option<String>,
    /// Only events before this time (Unix seconds or RFC 3339).
    pub to: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Events per page: 1–500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// One security event. Never a secret, password, token or code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub tenant_id: i64,
    /// Who acted: `user 12`, `client my-app`, `operator`, `system`.
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub client_id: Option<String>,
    /// What was acted on: `user 14`, `client_app 7`, `limit 1005`, …
    pub subject: Option<String>,
    pub subject_user_id: Option<i64>,
    /// The caller's address (after `trusted_proxies`).
    pub source: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: &'static str,
    pub reason: Option<String>,
}

impl From<AuditEvent> for EventDetail {
    fn from(e: AuditEvent) -> Self {
        let ev = e.event;
        Self {
            id: e.id,
            at: ev.at,
            event_type: ev.event_type.as_str(),
            tenant_id: ev.tenant_id,
            actor: ev.actor,
            actor_user_id: ev.actor_user_id,
            client_id: ev.client_id,
            subject: ev.subject,
            subject_user_id: ev.subject_user_id,
            source: ev.source,
            user_agent: ev.user_agent,
            outcome: ev.outcome.as_str(),
            reason: ev.reason,
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub tenant_id: i64,
    pub events: Vec<EventDetail>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The audit trail of a tenant: security events, newest first, with filters and a
/// cursor. Events of this node's requests are visible as soon as the request ended.
#[utoipa::path(get, path = "/api/admin/events", tag = "audit", params(EventFilter),
    security(("basic" = [])),
    responses((status = 200, body = EventPage),
        (status = 400, description = "A filter that does not parse; the message names it", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such tenant, or one the caller does not administer", body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)))]
pub async fn list(
    Mgmt(s, c): Mgmt,
    HdpQuery(f): HdpQuery<EventFilter>,
) -> Result<Json<EventPage>, ApiError> {
    let req = EventsRequest {
        tenant_id: f.tenant_id,
        event_type: f.event_type,
        user_id: f.user_id,
        client_id: f.client_id,
        from: f.from,
        to: f.to,
        cursor: f.cursor,
        limit: f.limit,
    };
    let page = audit::events(&s.ctx, &c, &req).await?;
    Ok(Json(EventPage {
        tenant_id: page.tenant_id,
        events: page.events.into_iter().map(EventDetail::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}
