//! Client applications (HDP's "Client Application Registration", `spec/hdp-reference.md`
//! §1): the stored record and the validating types its fields are parsed into.

use crate::error::ApiFailure;
use crate::model::scope::Scope;
use crate::model::signing_key::SigAlg;
use crate::model::text::{check_length, check_name};
use crate::model::time::UnixTime;
use std::fmt;

/// OAuth grant types a client application may use (RFC 6749 §4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
    /// RFC 8693 token exchange: given by administrators only, never by dynamic
    /// registration ([`crate::oauth::grant::token_exchange`]).
    TokenExchange,
    /// The device authorization grant (RFC 8628).
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 6] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::TokenExchange,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::TokenExchange => crate::model::token_exchange::GRANT,
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Grants a client gets when registration names none: what HDP documents
    /// (authorization code, password, refresh). `client_credentials` is opt-in.
    pub fn defaults(public: bool) -> Vec<GrantType> {
        if public {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            vec![
                GrantType::AuthorizationCode,
                GrantType::Password,
                GrantType::RefreshToken,
            ]
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Application name: 1–128 characters, not blank (HDP §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    pub const MAX: usize = 128;
    pub fn parse(s: &str) -> Result<Self, ApiFailure> {
        check_name("name", s, Self::MAX)?;
        Ok(Self(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Application description: at most 256 characters (HDP §1.2); absent means empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDescription(String);

impl AppDescription {
    pub const MAX: usize = 256;
    pub fn parse(s: Option<&str>) -> Result<Self, ApiFailure> {
        let s = s.unwrap_or("");
        check_length("description", s, Self::MAX)?;
        Ok(Self(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What the operator allows as redirect URLs beyond the fixed rules of [`RedirectUrl`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// Whether `http` URLs on hosts other than loopback are accepted
    /// (`allow_http_redirect_uris`; off by default, RFC 9700 §2.6, RFC 8252 §7.3).
    pub allow_http: bool,
}

/// What a registered redirect URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// An absolute URI with an allowed scheme: `https`, `http` on a loopback host (or
    /// any host when the operator allows it), or an app's private-use scheme
    /// (`com.example.app:/cb`, RFC 8252 §7.1). The only kind ever redirected to.
    Target,
    /// A host name without a scheme (`bedford.progresstest.com`), as HDP's samples
    /// register. Accepted and listed, never redirected to.
    HostOnly,
}

/// Schemes that make a browser run code, show attacker-supplied content or read
/// local files instead of going to a client (RFC 9700 §4.1; the four the audit found
/// plus the browser-internal ones with the same effect).
const REFUSED_SCHEMES: [&str; 7] = [
    "javascript",
    "vbscript",
    "data",
    "file",
    "blob",
    "filesystem",
    "about",
];

/// ASCII characters RFC 3986 leaves out of URIs (`\` among them, which browsers treat
/// as `/`, so it would make the host a browser sees differ from the one checked here).
const NOT_IN_URIS: &str = "\\<>\"{}|^`";

/// The API's name of the redirect URL list.
const REDIRECT_URLS: &str = "redirectUrls";

/// Most entries of a redirect URL list (`redirectUrls`, `postLogoutRedirectUris`).
pub const MAX_REDIRECT_URLS: usize = 32;

/// A registered redirect URL.
///
/// Accepted are absolute URIs whose scheme is `https`, `http` on a loopback host
/// (127.0.0.0/8, `[::1]`, `localhost`: RFC 8252 §7.3; other hosts only when the
/// operator sets [`RedirectPolicy::allow_http`]), or a private-use scheme of a native
/// app (`com.example.app:/callback`, `myapp://cb`: RFC 8252 §7.1, the part after the
/// colon starting with `/`). HDP's own samples register host-only strings
/// (`bedford.progresstest.com`), so those are accepted too ([`RedirectKind::HostOnly`])
/// but are never redirected to: a browser would resolve them against this server.
/// Refused: `javascript:`, `data:`, `file:`, `vbscript:` and the other
/// [`REFUSED_SCHEMES`], fragments (RFC 6749 §3.1.2), empty strings, whitespace or
/// control characters, relative references (`/cb`, `//host/cb`), and anything over
/// 2048 characters. Matching at the authorization endpoint is exact string comparison
/// (RFC 9700 §4.1.3), and [`RedirectUrl::is_target`] is checked there again, so rows
/// stored under older rules are never redirected to either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUrl(String);

impl RedirectUrl {
    pub const MAX: usize = 2048;
    pub fn parse(s: &str, policy: RedirectPolicy) -> Result<Self, ApiFailure> {
        Self::classify(s, policy)
            .map(|_| Self(s.to_owned()))
            .map_err(|why| ApiFailure::invalid_field(REDIRECT_URLS, why))
    }

    /// Whether `s` may be redirected to: a [`RedirectKind::Target`] under `policy`.
    pub fn is_target(s: &str, policy: RedirectPolicy) -> bool {
        Self::classify(s, policy) == Ok(RedirectKind::Target)
    }

    /// What `s` is, or which rule it breaks (naming it and the rule, in plain words).
    pub fn classify(s: &str, policy: RedirectPolicy) -> Result<RedirectKind, String> {
        if s.is_empty() {
            return Err("an entry is empty".to_owned());
        }
        if s.len() > Self::MAX {
            return Err(format!("an entry is longer than {} characters", Self::MAX));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "'{}' contains whitespace or control characters",
                s.escape_default()
            ));
        }
        if s.contains('#') {
            return Err(format!(
                "'{s}' has a fragment ('#'), which redirect URLs may not have"
            ));
        }
        // Not allowed in a URI (RFC 3986 §2), and browsers read `\` as `/`: in
        // `http://evil.example\@127.0.0.1/` they go to evil.example. Checked after a
        // refused scheme, so `data:…<script>` is refused for its scheme.
        let uri_chars = || match s.chars().find(|c| NOT_IN_URIS.contains(*c)) {
            Some(c) => Err(format!(
                "'{s}' contains '{c}', which a URL may not contain (write it percent-encoded)"
            )),
            None => Ok(()),
        };
        const ALLOWED: &str = "redirect URLs must be https, http on a loopback host (127.0.0.1, [::1], localhost), or an app's own scheme such as com.example.app:/callback";
        if let Some((scheme, rest)) = s.split_once(':').filter(|(sc, _)| is_scheme(sc)) {
            let scheme = scheme.to_ascii_lowercase();
            if REFUSED_SCHEMES.contains(&scheme.as_str()) {
                return Err(format!(
                    "'{s}' uses the {scheme}: scheme, which a browser does not treat as an address to send an answer to; {ALLOWED}"
                ));
            }
            uri_chars()?;
            if scheme == "https" || scheme == "http" {
                let Some(host) = rest.strip_prefix("//").and_then(authority_host) else {
                    return Err(format!(
                        "'{s}' has no host; an {scheme} redirect URL is {scheme}://host/path"
                    ));
                };
                if scheme == "http" && !policy.allow_http && !is_loopback(&host) {
                    return Err(format!(
                        "'{s}' uses http on a host that is not loopback; {ALLOWED} (an operator can allow plain http with allow_http_redirect_uris)"
                    ));
                }
                return Ok(RedirectKind::Target);
            }
            if rest.starts_with('/') {
                return Ok(RedirectKind::Target);
            }
            // `host:port` has the shape of a scheme: fall through to the host check.
        }
        uri_chars()?;
        if is_host_only(s) {
            return Ok(RedirectKind::HostOnly);
        }
        Err(format!(
            "'{s}' is neither an absolute URL nor a host name; {ALLOWED}"
        ))
    }

    /// Parses the whole list: at least one entry, at most 32, no duplicates.
    pub fn parse_list(
        list: &[String],
        policy: RedirectPolicy,
    ) -> Result<Vec<RedirectUrl>, ApiFailure> {
        if list.is_empty() {
            return Err(ApiFailure::invalid_field(
                REDIRECT_URLS,
                "at least one redirect URL is required",
            ));
        }
        Self::parse_entries(REDIRECT_URLS, list, policy, |_, _| Ok(()))
    }

    /// Parses a list of `field` with the rules of one entry (`classify`, then `kind`
    /// on what it is): at most [`MAX_REDIRECT_URLS`], none listed twice.
    fn parse_entries(
        field: &str,
        list: &[String],
        policy: RedirectPolicy,
        kind: impl Fn(&str, RedirectKind) -> Result<(), String>,
    ) -> Result<Vec<RedirectUrl>, ApiFailure> {
        if list.len() > MAX_REDIRECT_URLS {
            return Err(ApiFailure::invalid_field(
                field,
                format!("at most {MAX_REDIRECT_URLS} redirect URLs are allowed"),
            ));
        }
        let mut out: Vec<RedirectUrl> = Vec::with_capacity(list.len());
        for s in list {
            Self::classify(s, policy)
                .and_then(|k| kind(s, k))
                .map_err(|why| ApiFailure::invalid_field(field, why))?;
            let url = RedirectUrl(s.clone());
            if out.contains(&url) {
                return Err(ApiFailure::invalid_field(
                    field,
                    format!("'{s}' is listed twice"),
                ));
            }
            out.push(url);
        }
        Ok(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Parses `postLogoutRedirectUris` (OpenID Connect RP-Initiated Logout 1.0 §3): the
/// rules of [`RedirectUrl`] for each entry, at most [`MAX_REDIRECT_URLS`], none listed
/// twice, and every entry an address the browser can be sent to
/// ([`RedirectKind::Target`]): HDP's host-only form is accepted for `redirectUrls`
/// only, for compatibility, and is never redirected to. An empty list means none.
pub fn parse_post_logout_redirect_uris(
    list: &[String],
    policy: RedirectPolicy,
) -> Result<Vec<String>, ApiFailure> {
    let urls = RedirectUrl::parse_entries("postLogoutRedirectUris", list, policy, |s, kind| {
        match kind {
                RedirectKind::Target => Ok(()),
                RedirectKind::HostOnly => Err(format!(
                    "'{s}' is a host name without a scheme; a post-logout redirect URI is an absolute URL such as https://{s}/"
                )),
            }
    })?;
    Ok(urls.into_iter().map(RedirectUrl::into_inner).collect())
}

/// Parses `idTokenSignedResponseAlg` or `userinfoSignedResponseAlg` (named by
/// `field`): an algorithm the server has keys for ([`SigAlg`]: RS256 or ES256), spelt
/// exactly (JWS names are case-sensitive),
/// or `None` for the default (RS256 for ID tokens, an unsigned JSON answer for
/// UserInfo). The one place these names are checked.
pub fn parse_signing_alg(field: &str, alg: Option<&str>) -> Result<Option<String>, ApiFailure> {
    match alg {
        None => Ok(None),
        Some(a) if SigAlg::parse(a).is_some() => Ok(Some(a.to_owned())),
        Some(a) => Err(ApiFailure::invalid_field(
            field,
            format!(
                "'{}' is not a supported signing algorithm; use RS256 or ES256 (or null for the default)",
                a.escape_default()
            ),
        )),
    }
}

/// An RFC 3986 §3.1 scheme: a letter, then letters, digits, `+`, `-` or `.`.
pub fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// The host of an authority (`[userinfo@]host[:port]`) that starts `after` and ends
/// at the first `/` or `?`, lowercased; `None` when it is empty or not a host.
pub fn authority_host(after: &str) -> Option<String> {
    let authority = after.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        let (addr, port) = v6.split_once(']')?;
        addr.parse::<std::net::Ipv6Addr>().ok()?;
        if !(port.is_empty() || port.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        format!("[{addr}]")
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        };
        if !is_host_name(host) || port.is_some_and(|p| !is_port(p)) {
            return None;
        }
        host.to_owned()
    };
    Some(host.to_ascii_lowercase())
}

/// Digits of a port, 0–65535 (empty is allowed, as RFC 3986 §3.2.3 does).
fn is_port(p: &str) -> bool {
    p.is_empty()
        || (p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
}

/// A DNS host name or dotted IPv4 address: labels of letters, digits and `-` (not at
/// either end), 1–63 characters each, joined by dots, 253 characters at most.
pub fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A loopback host (RFC 8252 §7.3, §8.3): `localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| a.is_loopback());
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|a| a.is_loopback())
}

/// HDP's host-only entry: `host[:port]`, optionally followed by a path or query.
fn is_host_only(s: &str) -> bool {
    let authority = s.split(['/', '?']).next().unwrap_or("");
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    is_host_name(host) && port.is_none_or(|p| !p.is_empty() && is_port(p))
}

/// How a client authenticates at the token endpoint (RFC 7591 §2
/// `token_endpoint_auth_method`). Applications registered through HDP's API get
/// `none` (public) or `client_secret_basic`; a secret client may use Basic or the
/// body (`client_secret_post`) whichever of the two it registered, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2: a JWT signed with a key from `jwks` or `jwks_uri`.
    PrivateKeyJwt,
}

impl TokenEndpointAuthMethod {
    pub const ALL: [TokenEndpointAuthMethod; 4] = [
        Self::None,
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
    /// What an HDP registration means: `none` for a public client, else Basic.
    pub fn for_public(public: bool) -> Self {
        if public {
            Self::None
        } else {
            Self::ClientSecretBasic
        }
    }
    /// Whether the client holds a shared secret.
    pub fn has_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

/// Who or what registered a client application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredBy {
    /// A user, through HDP's application API (`owner_id` names them).
    User,
    /// Dynamic registration (RFC 7591) with this initial access token.
    InitialAccessToken(i64),
    /// Dynamic registration in the open (a tenant whose policy is `open`).
    Open,
    /// A Client ID Metadata Document: the client id is the document's URL
    /// ([`crate::oauth::metadata_document`]).
    MetadataDocument,
}

impl RegisteredBy {
    /// The stored name (`registered_by`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::InitialAccessToken(_) => "initial_access_token",
            Self::Open => "open",
            Self::MetadataDocument => "metadata_document",
        }
    }
    /// From the stored name and initial access token id.
    pub fn from_parts(kind: &str, token: Option<i64>) -> Option<Self> {
        match (kind, token) {
            ("user", _) => Some(Self::User),
            ("open", _) => Some(Self::Open),
            ("metadata_document", _) => Some(Self::MetadataDocument),
            ("initial_access_token", Some(id)) => Some(Self::InitialAccessToken(id)),
            _ => None,
        }
    }
    pub fn initial_access_token(self) -> Option<i64> {
        match self {
            Self::InitialAccessToken(id) => Some(id),
            _ => None,
        }
    }
}

/// RFC 7591 §2 metadata beyond HDP's fields (all optional, none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientProfile {
    /// The JWK Set (RFC 7517) as JSON text, public keys only.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub contacts: Vec<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// RFC 9449 §5.2: the client always uses DPoP; its token requests without a
    /// proof are refused.
    pub dpop_bound_access_tokens: bool,
}

/// A client application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientApp {
    pub id: i64,
    pub tenant_id: i64,
    /// The user who registered it; `None` for clients that registered themselves
    /// (see [`ClientApp::registered_by`]).
    pub owner_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    /// The public OAuth `client_id`.
    pub client_id: String,
    /// Keyed verifier of the client secret; `None` for public clients.
    pub secret_verifier: Option<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    /// Where RP-Initiated Logout may send the browser afterwards (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// `RS256` or `ES256` (see [`parse_signing_alg`]); `None` means RS256.
    pub id_token_signed_response_alg: Option<String>,
    /// `RS256` or `ES256`; `None` means UserInfo answers unsigned JSON.
    pub userinfo_signed_response_alg: Option<String>,
    /// Whether its authorization requests must be pushed first (RFC 9126 §5).
    pub require_pushed_authorization_requests: bool,
    /// Tokens of this application issued before this instant are no longer valid
    /// (moved forward by secret reset).
    pub tokens_valid_after: UnixTime,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub profile: ClientProfile,
    pub registered_by: RegisteredBy,
    /// Keyed verifier of the RFC 7592 registration access token (dynamic clients).
    pub registration_verifier: Option<String>,
    /// When a token was first issued to it (`None`: never used).
    pub first_used_at: Option<UnixTime>,
}

/// What [`crate::store::ClientStore::create_client_app`] needs.
#[derive(Debug, Clone)]
pub struct NewClientApp {
    pub tenant_id: i64,
    pub owner_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub client_id: String,
    pub secret_verifier: Option<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub userinfo_signed_response_alg: Option<String>,
    pub require_pushed_authorization_requests: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub profile: ClientProfile,
    pub registered_by: RegisteredBy,
    pub registration_verifier: Option<String>,
    /// Token exchange's policy (RFC 8693); `None`: the default, delegation.
    pub token_exchange_policy: Option<crate::model::token_exchange::ExchangePolicy>,
    pub now: UnixTime,
}

/// The fields an update replaces.
#[derive(Debug, Clone)]
pub struct ClientAppChanges {
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub userinfo_signed_response_alg: Option<String>,
    pub require_pushed_authorization_requests: bool,
    /// RFC 7591 metadata; HDP's API passes the application's current one.
    pub profile: ClientProfile,
    /// Token exchange's policy (RFC 8693); `None`: unchanged.
    pub token_exchange_policy: Option<crate::model::token_exchange::ExchangePolicy>,
    pub now: UnixTime,
}

/// Parses requested grant types against the client kind.
pub fn parse_grant_types(
    list: Option<&[String]>,
    public: bool,
) -> Result<Vec<GrantType>, ApiFailure> {
    let Some(list) = list else {
        return Ok(GrantType::defaults(public));
    };
    if list.is_empty() {
        return Err(ApiFailure::invalid_field(
            "grantTypes",
            "at least one grant type is required",
        ));
    }
    let mut out = Vec::new();
    for s in list {
        let g = GrantType::parse(s).ok_or_else(|| {
            ApiFailure::invalid_field(
                "grantTypes",
                format!(
                    "'{s}' is not a grant type; use authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code or urn:ietf:params:oauth:grant-type:token-exchange"
                ),
            )
        })?;
        if public
            && matches!(
                g,
                GrantType::Password | GrantType::ClientCredentials | GrantType::TokenExchange
            )
        {
            return Err(ApiFailure::invalid_field(
                "grantTypes",
                format!("a public client (no secret) may not use '{g}'"),
            ));
        }
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out.sort();
    Ok(out)
}

/// Parses requested scopes to canonical names; none named means `api.access.odata`.
pub fn parse_scopes(list: Option<&[String]>) -> Result<Vec<String>, ApiFailure> {
    let Some(list) = list else {
        return Ok(vec![crate::model::scope::ODATA.to_owned()]);
    };
    if list.is_empty() {
        return Err(ApiFailure::invalid_field(
            "scopes",
            "at least one scope is required",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for s in list {
        let scope = Scope::parse(s).ok_or_else(|| {
            let known: Vec<&str> = crate::model::scope::KNOWN.iter().map(|(n, _)| *n).collect();
            ApiFailure::invalid_field(
                "scopes",
                format!("'{s}' is not a known scope; known: {}", known.join(", ")),
            )
        })?;
        if !out.iter().any(|o| o == scope.as_str()) {
            out.push(scope.as_str().to_owned());
        }
    }
    Ok(out)
}

/// Which client applications a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppListScope {
    /// Those registered by this user.
    Owner(i64),
    /// Every application of this tenant.
    Tenant(i64),
}

/// A consent: the user let the application act for them within these scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub user_id: i64,
    pub client_app_id: i64,
    /// The application's name, joined in for listings.
    pub app_name: String,
    pub scopes: Vec<String>,
    pub granted_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_limited_to_128_characters_counted_as_characters() {
        assert!(AppName::parse(&"é".repeat(128)).is_ok());
        let err = AppName::parse(&"a".repeat(129)).err().map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some("Invalid value for 'name': is 129 characters long; at most 128 are allowed")
        );
        assert!(AppName::parse("  ").is_err());
    }

    #[test]
    fn descriptions_are_limited_to_256_characters() {
        assert!(AppDescription::parse(Some(&"d".repeat(256))).is_ok());
        assert!(AppDescription::parse(Some(&"d".repeat(257))).is_err());
        assert_eq!(
            AppDescription::parse(None)
                .map(|d| d.into_inner())
                .ok()
                .as_deref(),
            Some("")
        );
    }

    const STRICT: RedirectPolicy = RedirectPolicy { allow_http: false };

    #[test]
    fn host_only_redirect_urls_from_hdp_samples_are_accepted() {
        assert!(RedirectUrl::parse_list(
            &[
                "bedford.progresstest.com".into(),
                "americas.progresstest.com".into()
            ],
            STRICT
        )
        .is_ok());
        assert_eq!(
            RedirectUrl::classify("bedford.progresstest.com", STRICT),
            Ok(RedirectKind::HostOnly)
        );
        assert!(!RedirectUrl::is_target("bedford.progresstest.com", STRICT));
    }

    #[test]
    fn unsafe_or_empty_redirect_url_lists_are_refused() {
        assert!(RedirectUrl::parse_list(&[], STRICT).is_err());
        assert!(RedirectUrl::parse_list(&["".into()], STRICT).is_err());
        assert!(RedirectUrl::parse_list(&["https://a.example/cb#x".into()], STRICT).is_err());
        assert!(RedirectUrl::parse_list(&["https://a.example/c b".into()], STRICT).is_err());
        assert!(
            RedirectUrl::parse_list(&["https://a/cb".into(), "https://a/cb".into()], STRICT)
                .is_err()
        );
    }

    #[test]
    fn redirect_urls_are_classified_by_scheme_and_host() {
        use RedirectKind::{HostOnly, Target};
        let cases: &[(&str, Option<RedirectKind>)] = &[
            ("https://app.example/cb", Some(Target)),
            ("HTTPS://App.Example:8443/cb?x=1", Some(Target)),
            ("http://127.0.0.1:9000/cb", Some(Target)),
            ("http://127.1.2.3/cb", Some(Target)),
            ("http://localhost/cb", Some(Target)),
            ("http://LOCALHOST:3000", Some(Target)),
            ("http://[::1]:8080/cb", Some(Target)),
            ("com.example.app:/callback", Some(Target)),
            ("myapp://cb", Some(Target)),
            ("bedford.progresstest.com", Some(HostOnly)),
            ("bedford.progresstest.com:8080", Some(HostOnly)),
            ("localhost:3000/cb", Some(HostOnly)),
            ("javascript:alert(1)", None),
            ("JavaScript://x/%0aalert(1)", None),
            ("data:text/html,<script>x</script>", None),
            ("file:///etc/passwd", None),
            ("vbscript:msgbox", None),
            ("blob:https://a/x", None),
            ("http://app.example/cb", None),
            ("http://127.0.0.1@evil.example/cb", None),
            ("http://[::2]/cb", None),
            ("https:///cb", None),
            ("https:app.example", None),
            ("https://a b", None),
            ("/cb", None),
            ("//evil.example/cb", None),
            ("mailto:a@b.example", None),
            ("https://app.example/cb#frag", None),
            ("-bad-.example", None),
            ("http://evil.example\\@127.0.0.1/cb", None),
            ("https://app.example/<script>", None),
        ];
        for (uri, want) in cases {
            assert_eq!(RedirectUrl::classify(uri, STRICT).ok(), *want, "{uri}");
        }
        let open = RedirectPolicy { allow_http: true };
        assert!(RedirectUrl::is_target("http://app.example/cb", open));
        assert!(RedirectUrl::classify("javascript:alert(1)", open).is_err());
    }

    #[test]
    fn refusals_name_the_uri_and_the_rule() {
        let msg = |u: &str| {
            RedirectUrl::parse(u, STRICT)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        let js = msg("javascript:alert(1)");
        assert!(
            js.contains("'javascript:alert(1)'") && js.contains("javascript: scheme"),
            "{js}"
        );
        let http = msg("http://app.example/cb");
        assert!(
            http.contains("'http://app.example/cb'") && http.contains("allow_http_redirect_uris"),
            "{http}"
        );
        let frag = msg("https://a.example/#x");
        assert!(frag.contains("fragment"), "{frag}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// What an accepted entry must be, checked independently of the parser.
        fn consistent(s: &str, kind: RedirectKind, policy: RedirectPolicy) -> Result<(), String> {
            if s.contains('#')
                || s.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || NOT_IN_URIS.contains(c))
            {
                return Err("fragment, whitespace, control or non-URI character".into());
            }
            let lower = s.to_ascii_lowercase();
            for bad in REFUSED_SCHEMES {
                if lower.starts_with(&format!("{bad}:")) {
                    return Err(format!("{bad}: accepted"));
                }
            }
            match kind {
                RedirectKind::Target => {
                    let (scheme, rest) = s.split_once(':').ok_or("no scheme")?;
                    if !is_scheme(scheme) || !rest.starts_with('/') {
                        return Err("not scheme:/…".into());
                    }
                    let scheme = scheme.to_ascii_lowercase();
                    if scheme == "http" || scheme == "https" {
                        let host = rest
                            .strip_prefix("//")
                            .and_then(authority_host)
                            .ok_or("no host")?;
                        if scheme == "http" && !policy.allow_http && !is_loopback(&host) {
                            return Err("http off loopback".into());
                        }
                    }
                }
                RedirectKind::HostOnly => {
                    let first = s.split(['/', '?', ':']).next().unwrap_or("");
                    if !is_host_name(first) {
                        return Err("host-only without a host name".into());
                    }
                    if s.starts_with("//") {
                        return Err("network-path reference".into());
                    }
                }
            }
            Ok(())
        }

        fn check(s: &str) -> Result<(), TestCaseError> {
            for policy in [STRICT, RedirectPolicy { allow_http: true }] {
                if let Ok(kind) = RedirectUrl::classify(s, policy) {
                    consistent(s, kind, policy).map_err(|why| {
                        TestCaseError::fail(format!("{s:?} accepted as {kind:?}: {why}"))
                    })?;
                    prop_assert_eq!(
                        RedirectUrl::is_target(s, policy),
                        kind == RedirectKind::Target
                    );
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            #[test]
            fn arbitrary_strings_never_panic_and_accepted_ones_are_safe(s in any::<String>()) {
                check(&s)?;
            }

            #[test]
            fn uri_shaped_strings_are_classified_safely(
                scheme in prop_oneof![
                    Just(""), Just("https:"), Just("http:"), Just("HTTP:"), Just("javascript:"),
                    Just("JavaScript:"), Just("data:"), Just("file:"), Just("vbscript:"),
                    Just("com.example.app:"), Just("a+b-c.d:")
                ],
                slashes in prop_oneof![Just(""), Just("/"), Just("//"), Just("///")],
                userinfo in prop_oneof![
                    Just(""), Just("u@"), Just("127.0.0.1@"), Just("u:p@"), Just("evil.example\\@")
                ],
                host in prop_oneof![
                    Just("127.0.0.1".to_owned()), Just("127.9.8.7".to_owned()),
                    Just("localhost".to_owned()), Just("[::1]".to_owned()), Just("[::2]".to_owned()),
                    Just("127.0.0.1.evil.example".to_owned()), "[a-zA-Z0-9.-]{0,20}"
                ],
                port in prop_oneof![Just(String::new()), (0u32..70000).prop_map(|p| format!(":{p}"))],
                tail in "[/?#a-z%=&.:@\\\\]{0,16}",
            ) {
                check(&format!("{scheme}{slashes}{userinfo}{host}{port}{tail}"))?;
            }
        }
    }

    #[test]
    fn post_logout_redirect_uris_follow_the_redirect_rules_and_must_be_targets() {
        let parse = |l: &[&str]| {
            parse_post_logout_redirect_uris(
                &l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
                STRICT,
            )
        };
        assert_eq!(parse(&[]).ok(), Some(vec![]));
        assert_eq!(
            parse(&["https://app.example/bye", "com.example.app:/bye"]).ok(),
            Some(vec![
                "https://app.example/bye".to_owned(),
                "com.example.app:/bye".to_owned()
            ])
        );
        let msg = |l: &[&str]| parse(l).err().map(|e| e.message).unwrap_or_default();
        assert!(msg(&["app.example"]).contains("'app.example' is a host name without a scheme"));
        assert!(msg(&["javascript:alert(1)"]).contains("javascript: scheme"));
        assert!(msg(&["http://app.example/bye"]).contains("allow_http_redirect_uris"));
        assert!(msg(&["https://a.example/x", "https://a.example/x"]).contains("listed twice"));
        assert!(msg(&["https://a.example/#x"])
            .starts_with("Invalid value for 'postLogoutRedirectUris': "));
        let many: Vec<String> = (0..33).map(|i| format!("https://a.example/{i}")).collect();
        assert!(parse_post_logout_redirect_uris(&many, STRICT)
            .err()
            .is_some_and(|e| e.message.contains("at most 32")));
    }

    #[test]
    fn signing_algorithms_are_rs256_or_es256_spelt_exactly() {
        assert_eq!(parse_signing_alg("f", None).ok(), Some(None));
        assert_eq!(
            parse_signing_alg("f", Some("RS256")).ok(),
            Some(Some("RS256".to_owned()))
        );
        assert_eq!(
            parse_signing_alg("f", Some("ES256")).ok(),
            Some(Some("ES256".to_owned()))
        );
        for bad in ["rs256", "HS256", "none", ""] {
            let m = parse_signing_alg("idTokenSignedResponseAlg", Some(bad))
                .err()
                .map(|e| e.message)
                .unwrap_or_default();
            assert_eq!(
                m,
                format!("Invalid value for 'idTokenSignedResponseAlg': '{bad}' is not a supported signing algorithm; use RS256 or ES256 (or null for the default)")
            );
        }
    }

    #[test]
    fn public_clients_may_not_use_password_or_client_credentials() {
        assert!(parse_grant_types(Some(&["password".into()]), true).is_err());
        assert!(parse_grant_types(Some(&["client_credentials".into()]), true).is_err());
        assert_eq!(
            parse_grant_types(None, true).ok(),
            Some(GrantType::defaults(true))
        );
        assert!(parse_grant_types(Some(&["implicit".into()]), false).is_err());
    }

    #[test]
    fn scopes_default_to_odata_and_aliases_are_canonicalised() {
        assert_eq!(
            parse_scopes(None).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert_eq!(
            parse_scopes(Some(&["odata".into(), "api.access.odata".into()])).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert!(parse_scopes(Some(&["email".into()])).is_err());
    }
}
