//! The UserInfo endpoint's answer (OpenID Connect Core §5.3): for an access token
//! granted `openid`, the user's claims for the token's scopes and its claims request,
//! as JSON or, when the application registered `userinfoSignedResponseAlg`, as a JWT
//! signed with that algorithm carrying `iss` and `aud` (§5.3.2). A token without
//! `openid` gets the answer this endpoint always gave (HDP clients see nothing new):
//! `sub`, `client_id`, `scope`, `tenant` and, for a user, `username` and `user_id`.

use super::error::OAuthError;
use super::id_token::user_claims;
use super::validate::ActiveToken;
use crate::context::Context;
use crate::model::scope::OPENID;
use crate::model::signing_key::SigAlg;
use serde_json::{json, Value};

/// What the endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInfo {
    /// `application/json`.
    Json(Value),
    /// `application/jwt`.
    Signed(String),
}

/// The answer for an active token.
pub fn answer(ctx: &Context, token: ActiveToken) -> Result<UserInfo, OAuthError> {
    let c = token.claims;
    let (Some(user), true) = (&token.user, c.has_scope(OPENID)) else {
        let mut body =
            json!({"sub": c.sub, "client_id": c.client_id, "scope": c.scope, "tenant": c.tenant});
        if let Some(u) = token.user {
            body["username"] = Value::String(u.login);
            body["user_id"] = Value::from(u.id);
        }
        return Ok(UserInfo::Json(body));
    };
    let scopes: Vec<String> = c.scope.split(' ').map(str::to_owned).collect();
    let mut claims = user_claims(user, &scopes, c.uc.as_deref().unwrap_or_default());
    let alg = token
        .app
        .as_ref()
        .and_then(|a| a.userinfo_signed_response_alg.as_deref())
        .and_then(SigAlg::parse);
    let Some(alg) = alg else {
        return Ok(UserInfo::Json(Value::Object(claims)));
    };
    claims.insert("iss".into(), Value::String(ctx.signer.issuer().to_owned()));
    claims.insert("aud".into(), Value::String(c.client_id.clone()));
    ctx.signer
        .sign_jwt(alg, "JWT", &Value::Object(claims))
        .map(UserInfo::Signed)
        .map_err(|e| {
            tracing::error!(error = %e, "signing a userinfo answer failed");
            OAuthError::server_error()
        })
}
