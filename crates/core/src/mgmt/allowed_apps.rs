//! "Allowed applications": the consents the calling user has given
//! (HDP `/api/mgmt/oauth/client/allowedapplications`, `spec/hdp-reference.md` §1.7–§1.8).
//! Revoking one withdraws the consent, and with it every token the user granted that
//! application (tokens are checked against their consent when they are used).

use crate::auth::{store_failure_as, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::client_app::Consent;

/// The caller's consents, one per application.
pub async fn list(ctx: &Context, caller: &Principal) -> Result<Vec<Consent>, ApiFailure> {
    ctx.store
        .consents_of_user(caller.user.id)
        .await
        .map_err(|e| store_failure_as(e, Code::CLIENT_APP_GET_FAILED))
}

/// Withdraws the caller's consent to application `id`.
pub async fn revoke(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    match ctx
        .store
        .revoke_consent(caller.user.id, id, ctx.now())
        .await
    {
        Ok(true) => {
            tracing::info!(app_id = id, user = caller.user.id, "consent revoked");
            ctx.audit
                .record(
                    NewAuditEvent::new(
                        EventType::ConsentWithdrawn,
                        caller.user.tenant_id,
                        ctx.now(),
                    )
                    .by_user(caller.user.id)
                    .subject_user(caller.user.id)
                    .reason(format!("client_app {id}")),
                )
                .await;
            Ok(())
        }
        Ok(false) => Err(ApiFailure::new(
            Code::ALLOWED_APP_NOT_FOUND,
            format!("You have not granted access to an application with id {id}."),
        )),
        Err(e) => Err(store_failure_as(e, Code::CLIENT_APP_DELETE_FAILED)),
    }
}
