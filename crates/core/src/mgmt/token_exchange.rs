//! Who may let a client application exchange tokens (RFC 8693) and retrieve users'
//! upstream tokens from the vault: administrators only. A user registering or
//! changing their own application cannot add the token-exchange grant or the
//! `vault.retrieve` scope, nor set the exchange policy (`tokenExchangePolicy`); what an
//! administrator gave stays when its owner later changes other fields.

use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::ApiFailure;
use crate::model::client_app::{ClientApp, GrantType};
use crate::model::token_exchange::{ExchangePolicy, VAULT_RETRIEVE};

/// The policy field as sent: `delegation` or `impersonation`.
pub fn parse_policy(s: Option<&str>) -> Result<Option<ExchangePolicy>, ApiFailure> {
    s.map(|s| {
        ExchangePolicy::parse(s).ok_or_else(|| {
            ApiFailure::invalid_field(
                "tokenExchangePolicy",
                format!("'{s}' is not a policy; use delegation or impersonation"),
            )
        })
    })
    .transpose()
}

/// Refuses a caller who is not an administrator adding the token-exchange grant, the
/// `vault.retrieve` scope or setting a policy; `current` is the application before the
/// change (`None` on registration).
pub fn check(
    caller: &Principal,
    grant_types: &[GrantType],
    scopes: &[String],
    policy: Option<ExchangePolicy>,
    current: Option<&ClientApp>,
) -> Result<(), ApiFailure> {
    if caller.is_administrator() {
        return Ok(());
    }
    let had_grant = current.is_some_and(|a| a.grant_types.contains(&GrantType::TokenExchange));
    if grant_types.contains(&GrantType::TokenExchange) && !had_grant {
        return Err(ApiFailure::forbidden(
            "only an administrator can allow a client the token-exchange grant",
        ));
    }
    let had_scope = current.is_some_and(|a| a.scopes.iter().any(|s| s == VAULT_RETRIEVE));
    if scopes.iter().any(|s| s == VAULT_RETRIEVE) && !had_scope {
        return Err(ApiFailure::forbidden(
            "only an administrator can give a client the vault.retrieve scope",
        ));
    }
    if policy.is_some() {
        return Err(ApiFailure::forbidden(
            "only an administrator can set a client's tokenExchangePolicy",
        ));
    }
    Ok(())
}

/// The policy of `app` as shown: only for applications allowed the grant.
pub async fn shown(ctx: &Context, app: &ClientApp) -> Result<Option<ExchangePolicy>, ApiFailure> {
    if !app.grant_types.contains(&GrantType::TokenExchange) {
        return Ok(None);
    }
    ctx.store
        .exchange_policy(app.id)
        .await
        .map(Some)
        .map_err(store_failure)
}
