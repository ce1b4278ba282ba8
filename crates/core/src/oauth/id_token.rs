//! ID tokens (OpenID Connect Core §2, §3.1.3.6) and the claims about a user that they
//! and the UserInfo endpoint share (§5.1, §5.4).
//!
//! An ID token is a JWT signed with the application's `idTokenSignedResponseAlg`
//! (RS256 when it registered none, the algorithm §3.1.3.7 lets every client assume;
//! ES256 on request) by the keys of [`crate::keys`], so clients verify it with the
//! JWK Set at `jwks_uri`. Its `sub` is the user's id: numeric ids are never reused
//! (AUTOINCREMENT on SQLite, identity columns on PostgreSQL) and one user has one id
//! for every client (the `public` subject type).

use super::claims_request::ClaimsRequest;
use super::error::OAuthError;
use crate::context::Context;
use crate::model::client_app::ClientApp;
use crate::model::identity::User;
use crate::model::signing_key::SigAlg;
use crate::model::token::SignInContext;
use serde_json::{Map, Value};

/// The authentication method of every sign-in here (RFC 8176 §2: a password).
pub const AMR_PASSWORD: &str = "pwd";

/// The standard claims a scope grants (OIDC Core §5.4).
pub fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        _ => &[],
    }
}

/// The value of one of the user's claims, if the user has it.
pub fn user_claim(user: &User, name: &str) -> Option<Value> {
    let p = &user.profile;
    let text = |v: &Option<String>| v.clone().map(Value::String);
    match name {
        "name" => text(&p.name),
        "given_name" => text(&p.given_name),
        "family_name" => text(&p.family_name),
        "preferred_username" => Some(Value::String(user.login.clone())),
        "locale" => text(&p.locale),
        "updated_at" => p.updated_at.map(Value::from),
        "email" => text(&p.email),
        "email_verified" => p.email.as_ref().map(|_| Value::Bool(p.email_verified)),
        _ => None,
    }
}

/// `sub`, then the user's claims that `scopes` grant and those `requested` by name
/// (the `claims` parameter), each once and only when the user has a value.
pub fn user_claims(user: &User, scopes: &[String], requested: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.id.to_string()));
    let names = scopes
        .iter()
        .flat_map(|s| scope_claims(s).iter().copied())
        .chain(requested.iter().map(String::as_str));
    for name in names {
        if !out.contains_key(name) {
            if let Some(v) = user_claim(user, name) {
                out.insert(name.to_owned(), v);
            }
        }
    }
    out
}

/// The algorithm `app` wants its ID tokens signed with: RS256 unless it asked for
/// another (OIDC Core §3.1.3.7, Registration §2).
pub fn id_token_alg(app: &ClientApp) -> SigAlg {
    app.id_token_signed_response_alg
        .as_deref()
        .and_then(SigAlg::parse)
        .unwrap_or(SigAlg::Rs256)
}

/// The left half of the SHA-256 of `token`, base64url: `at_hash` (§3.1.3.6), for
/// both RS256 and ES256, which hash with SHA-256.
pub fn at_hash(token: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// What an ID token is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub app: &'a ClientApp,
    pub user: &'a User,
    pub scopes: &'a [String],
    /// The access token issued with it (`at_hash`).
    pub access_token: &'a str,
    pub sign_in: &'a SignInContext,
    pub lifetime: i64,
}

/// Signs an ID token for `s`: `iss`, `sub`, `aud` (the client), `exp`, `iat`,
/// `auth_time`, `nonce` (exactly as the request sent it, when it did), `at_hash`,
/// `amr`, `sid`, and the user's claims for the scopes and the claims request. The
/// audience is the client alone, so no `azp` is needed (§2).
pub fn mint(ctx: &Context, s: Subject<'_>) -> Result<String, OAuthError> {
    let now = ctx.now();
    let requested = ClaimsRequest::from_json(s.sign_in.claims.as_deref());
    let mut claims = user_claims(s.user, s.scopes, &requested.id_token);
    claims.insert("iss".into(), Value::String(ctx.signer.issuer().to_owned()));
    claims.insert("aud".into(), Value::String(s.app.client_id.clone()));
    claims.insert("exp".into(), Value::from(now + s.lifetime));
    claims.insert("iat".into(), Value::from(now));
    claims.insert(
        "auth_time".into(),
        Value::from(s.sign_in.auth_time.unwrap_or(now)),
    );
    if let Some(nonce) = &s.sign_in.nonce {
        claims.insert("nonce".into(), Value::String(nonce.clone()));
    }
    claims.insert("at_hash".into(), Value::String(at_hash(s.access_token)));
    claims.insert("amr".into(), Value::from(vec![AMR_PASSWORD]));
    if let Some(sid) = &s.sign_in.sid {
        claims.insert("sid".into(), Value::String(sid.clone()));
    }
    ctx.signer
        .sign_jwt(id_token_alg(s.app), "JWT", &Value::Object(claims))
        .map_err(|e| {
            tracing::error!(error = %e, "signing an ID token failed");
            OAuthError::server_error()
        })
}

/// The claims of an ID token this server issued to `client_id`, read back from a hint
/// (`id_token_hint` at the authorization and end-session endpoints): the signature
/// must verify with a published key and `iss` be this server; it may have expired
/// (OIDC Core §3.1.2.1). `None` for anything else, access tokens included (their
/// audience is this server, not a client).
pub fn read_hint(ctx: &Context, client_id: Option<&str>, hint: &str) -> Option<Map<String, Value>> {
    let Ok(Value::Object(claims)) = ctx.signer.verify_jwt(hint) else {
        return None;
    };
    if claims.get("iss").and_then(Value::as_str) != Some(ctx.signer.issuer()) {
        return None;
    }
    let audience: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    match client_id {
        Some(id) if !audience.contains(&id) => None,
        None if audience.len() != 1 => None,
        _ => Some(claims),
    }
}

/// The `sub` of a hint issued to `app`.
pub fn hinted_subject(ctx: &Context, app: &ClientApp, hint: &str) -> Option<String> {
    read_hint(ctx, Some(&app.client_id), hint)?
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OIDC Core §A.3's example access token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn scopes_grant_their_claims_and_absent_values_are_left_out() {
        let mut user = User {
            id: 7,
            tenant_id: 1,
            login: "ada".into(),
            password_hash: String::new(),
            active: true,
            auth_version: 1,
            failed_logins: 0,
            failed_window_start: None,
            lock: None,
            password_status: 0,
            password_expiration: None,
            api_secret_verifier: None,
            created_at: 0,
            profile: Default::default(),
        };
        user.profile.email = Some("ada@example.com".into());
        user.profile.name = Some("Ada".into());
        let c = user_claims(&user, &["openid".into(), "email".into()], &[]);
        assert_eq!(c["sub"], user.id.to_string());
        assert_eq!(c["email"], "ada@example.com");
        assert_eq!(c["email_verified"], false);
        assert!(!c.contains_key("name"), "profile was not granted");
        let asked = user_claims(&user, &["openid".into()], &["name".into(), "locale".into()]);
        assert_eq!(asked["name"], "Ada");
        assert!(!asked.contains_key("locale"), "no value");
        let profile = user_claims(&user, &["profile".into()], &[]);
        assert_eq!(profile["preferred_username"], user.login.as_str());
    }
}
