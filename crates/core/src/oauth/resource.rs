//! Resource indicators ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)): which
//! resource servers a `resource` parameter names, which scopes a token for them may
//! carry, and how long it lives.
//!
//! * No `resource` → the token is for the issuer (`aud` = issuer), as before.
//! * Each `resource` must be a resource server registered in the client's tenant, or
//!   one of Portcullis's own ([`built_in`]: the issuer and `<issuer>/api/mgmt`),
//!   else `invalid_target` (§2).
//! * Scopes are narrowed (§2.2 lets the server use the resource to decide the scope,
//!   as node-oidc-provider does): a token keeps the identity scopes and those API
//!   scopes that at least one of its resources accepts. Without `scope`, the default
//!   is every allowed API scope the resources accept. A request whose API scopes the
//!   resources accept none of is refused.
//! * A code or refresh token may name a subset of its grant's resources at the token
//!   endpoint; anything else is `invalid_target`.
//! * A token for several resources names them all in `aud` (an array) and lives as
//!   long as the shortest of their lifetimes.

use super::error::OAuthError;
use crate::context::Context;
use crate::model::claims::AccessClaims;
use crate::model::resource::{ResourceServer, ResourceUri};
use crate::model::scope::{self, is_identity};
use crate::store::StoreError;

/// The path of the management API's resource identifier after the issuer.
pub const MGMT_PATH: &str = "/api/mgmt";

/// The management API's resource identifier: `<issuer>/api/mgmt`.
pub fn mgmt_uri(issuer: &str) -> String {
    format!("{}{MGMT_PATH}", issuer.trim_end_matches('/'))
}

/// Portcullis's own resource servers, present in every tenant without registration
/// (and listed read-only): the issuer itself, which every legacy token is for and
/// which accepts every API scope; and the management API, which accepts
/// `api.access.mgmt`.
pub fn built_in(issuer: &str, tenant_id: i64) -> Vec<ResourceServer> {
    let make = |uri: String, name: &str, scopes: Vec<String>| {
        ResourceUri::parse(&uri).ok().map(|uri| ResourceServer {
            id: 0,
            tenant_id,
            uri,
            name: name.to_owned(),
            scopes,
            access_token_lifetime: None,
            created_at: 0,
            built_in: true,
        })
    };
    [
        make(
            issuer.to_owned(),
            "Portcullis",
            scope::KNOWN.iter().map(|(n, _)| (*n).to_owned()).collect(),
        ),
        make(
            mgmt_uri(issuer),
            "Portcullis management API",
            vec![scope::MGMT.to_owned()],
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Whether a token may call the management API (audience restriction, RFC 8707 §1):
/// one for the issuer (every token without resource indicators) or for the
/// management API's own identifier.
pub fn opens_management_api(claims: &AccessClaims, issuer: &str) -> bool {
    claims.has_audience(issuer) || claims.has_audience(&mgmt_uri(issuer))
}

/// Whether a token may call UserInfo: one for the issuer.
pub fn opens_userinfo(claims: &AccessClaims, issuer: &str) -> bool {
    claims.has_audience(issuer)
}

/// Checks each `resource` value: an absolute URI without a fragment (RFC 8707 §2),
/// each once in the answer.
pub fn parse(values: &[String]) -> Result<Vec<ResourceUri>, OAuthError> {
    let mut out: Vec<ResourceUri> = Vec::new();
    for v in values {
        let uri = ResourceUri::parse(v).map_err(|e| OAuthError::invalid_target(capital(&e)))?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The resource server `uri` names in `tenant_id`: a built-in one or a registered one.
pub async fn find(
    ctx: &Context,
    tenant_id: i64,
    uri: &str,
) -> Result<Option<ResourceServer>, StoreError> {
    if let Some(b) = built_in(ctx.signer.issuer(), tenant_id)
        .into_iter()
        .find(|r| r.uri.as_str() == uri)
    {
        return Ok(Some(b));
    }
    ctx.store.resource_by_uri(tenant_id, uri).await
}

/// The resource servers the `resource` values name in the tenant: `invalid_target`
/// for a malformed or unregistered one.
pub async fn resolve(
    ctx: &Context,
    tenant_id: i64,
    values: &[String],
) -> Result<Vec<ResourceServer>, OAuthError> {
    let mut out = Vec::new();
    for uri in parse(values)? {
        match find(ctx, tenant_id, uri.as_str()).await? {
            Some(r) => out.push(r),
            None => {
                return Err(OAuthError::invalid_target(format!(
                    "The resource '{uri}' is not a resource server registered for this client's tenant."
                )))
            }
        }
    }
    Ok(out)
}

/// The resources a token request asks for, out of those of its grant (`granted`, the
/// URIs stored with the code or token family): all of them when it names none; a
/// subset otherwise (RFC 8707 §2.2), anything else `invalid_target`. The records are
/// read again, so a resource deleted since is refused too.
pub async fn select(
    ctx: &Context,
    tenant_id: i64,
    granted: &[String],
    asked: &[String],
) -> Result<Vec<ResourceServer>, OAuthError> {
    if asked.is_empty() {
        return resolve(ctx, tenant_id, granted).await;
    }
    for uri in parse(asked)? {
        if !granted.iter().any(|g| g == uri.as_str()) {
            return Err(OAuthError::invalid_target(if granted.is_empty() {
                format!(
                    "The resource '{uri}' was not part of this grant, which was given without resource indicators."
                )
            } else {
                format!(
                    "The resource '{uri}' was not part of this grant; it may only narrow to: {}.",
                    granted.join(", ")
                )
            }));
        }
    }
    resolve(ctx, tenant_id, asked).await
}

/// Whether `scope` (an API scope) is accepted by one of `resources`.
fn accepted(resources: &[ResourceServer], scope: &str) -> bool {
    resources
        .iter()
        .any(|r| r.scopes.iter().any(|s| s == scope))
}

fn names(resources: &[ResourceServer]) -> String {
    resources
        .iter()
        .map(|r| r.uri.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scopes of a new grant for `resources`, from what was asked: `resolved` is the
/// `scope` parameter already resolved against what the client may have, `asked`
/// whether a `scope` was sent at all, `allowed` what the client may have. Without
/// resources, `resolved` unchanged.
pub fn grant_scopes(
    resolved: Vec<String>,
    asked: bool,
    allowed: &[String],
    resources: &[ResourceServer],
) -> Result<Vec<String>, OAuthError> {
    if resources.is_empty() {
        return Ok(resolved);
    }
    if !asked {
        let out: Vec<String> = allowed
            .iter()
            .filter(|s| !is_identity(s) && accepted(resources, s))
            .cloned()
            .collect();
        if out.is_empty() {
            return Err(OAuthError::invalid_scope(format!(
                "The resource {} accepts none of the scopes this client may have; ask for a scope it accepts.",
                names(resources)
            )));
        }
        return Ok(out);
    }
    narrow(&resolved, resources).ok_or_else(|| {
        OAuthError::invalid_scope(format!(
            "None of the scopes asked for ({}) is accepted by the resource {}.",
            resolved.join(" "),
            names(resources)
        ))
    })
}

/// `scopes` narrowed to what `resources` accept: the identity scopes and the API
/// scopes one of them accepts; `None` when `scopes` had API scopes and none is left.
/// Without resources, `scopes` unchanged.
pub fn narrow(scopes: &[String], resources: &[ResourceServer]) -> Option<Vec<String>> {
    if resources.is_empty() {
        return Some(scopes.to_vec());
    }
    let had_api = scopes.iter().any(|s| !is_identity(s));
    let out: Vec<String> = scopes
        .iter()
        .filter(|s| is_identity(s) || accepted(resources, s))
        .cloned()
        .collect();
    (!had_api || out.iter().any(|s| !is_identity(s))).then_some(out)
}

/// [`narrow`] at the token endpoint, where a narrowed set of resources accepting none
/// of the grant's API scopes is `invalid_target`.
pub fn token_scopes(
    scopes: &[String],
    resources: &[ResourceServer],
) -> Result<Vec<String>, OAuthError> {
    narrow(scopes, resources).ok_or_else(|| {
        OAuthError::invalid_target(format!(
            "The resource {} accepts none of this grant's scopes ({}).",
            names(resources),
            scopes.join(" ")
        ))
    })
}

/// How long an access token for `resources` lives: the shortest of their own
/// lifetimes, else `default` (the tenant's limit).
pub fn lifetime(resources: &[ResourceServer], default: i64) -> i64 {
    resources
        .iter()
        .filter_map(|r| r.access_token_lifetime)
        .min()
        .unwrap_or(default)
}

/// The URIs of `resources`, in order.
pub fn uris(resources: &[ResourceServer]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r.uri.as_str().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(uri: &str, scopes: &[&str], lifetime: Option<i64>) -> ResourceServer {
        ResourceServer {
            id: 1,
            tenant_id: 1,
            uri: ResourceUri::parse(uri).expect("uri"),
            name: "r".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            access_token_lifetime: lifetime,
            created_at: 0,
            built_in: false,
        }
    }

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_built_ins_are_the_issuer_and_the_management_api() {
        let b = built_in("https://as.example", 7);
        assert_eq!(
            uris(&b),
            v(&["https://as.example", "https://as.example/api/mgmt"])
        );
        assert!(b.iter().all(|r| r.built_in && r.tenant_id == 7));
        assert_eq!(b[1].scopes, v(&[scope::MGMT]));
    }

    #[test]
    fn malformed_resources_are_invalid_target_and_repeats_count_once() {
        let e = parse(&v(&["https://a.example/#x"])).err().map(|e| e.code);
        assert_eq!(e, Some(super::super::error::ErrorCode::InvalidTarget));
        assert!(parse(&v(&["not a uri"])).is_err());
        let twice = parse(&v(&["https://a.example/", "https://a.example/"])).expect("ok");
        assert_eq!(twice.len(), 1);
    }

    #[test]
    fn scopes_are_narrowed_to_what_the_resources_accept() {
        let odata = server("https://o.example/", &[scope::ODATA], None);
        let mgmt = server("https://m.example/", &[scope::MGMT], None);
        let asked = v(&["openid", scope::ODATA, scope::MGMT]);
        assert_eq!(
            narrow(&asked, std::slice::from_ref(&odata)),
            Some(v(&["openid", scope::ODATA]))
        );
        assert_eq!(
            narrow(&asked, &[odata.clone(), mgmt.clone()]),
            Some(asked.clone())
        );
        assert_eq!(
            narrow(&v(&[scope::MGMT]), std::slice::from_ref(&odata)),
            None
        );
        assert_eq!(
            narrow(&v(&["openid"]), std::slice::from_ref(&odata)),
            Some(v(&["openid"]))
        );
        assert_eq!(narrow(&asked, &[]), Some(asked.clone()));
        // No scope asked: what the resources accept of what is allowed.
        let allowed = v(&[scope::ODATA, scope::MGMT, "openid"]);
        assert_eq!(
            grant_scopes(
                v(&[scope::ODATA]),
                false,
                &allowed,
                std::slice::from_ref(&mgmt)
            )
            .ok(),
            Some(v(&[scope::MGMT]))
        );
        assert!(grant_scopes(v(&[scope::MGMT]), true, &allowed, &[odata]).is_err());
    }

    #[test]
    fn the_shortest_resource_lifetime_wins_else_the_tenants() {
        let a = server("https://a.example/", &[scope::ODATA], Some(600));
        let b = server("https://b.example/", &[scope::ODATA], Some(300));
        let c = server("https://c.example/", &[scope::ODATA], None);
        assert_eq!(lifetime(&[a.clone(), b, c.clone()], 3600), 300);
        assert_eq!(lifetime(&[c], 3600), 3600);
        assert_eq!(lifetime(&[], 3600), 3600);
        assert_eq!(lifetime(&[a], 3600), 600);
    }
}
