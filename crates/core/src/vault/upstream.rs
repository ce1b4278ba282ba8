//! Calls to an upstream token endpoint (RFC 6749 §4.1.3 code exchange, §6 refresh),
//! with the client authentication the upstream expects (§2.3.1: HTTP Basic or the
//! form body).
//!
//! The client uses rustls (the built-in roots plus any from `outbound_ca_file`),
//! connects within 5 s, gives up after 15 s in total, follows no redirects, uses no
//! proxy from the environment and reads at most 64 KiB of the answer. Tokens are never
//! logged: a failure is logged with the upstream's status and `error` code only.
//!
//! SSRF: the endpoints are whatever an application object names. Before connecting,
//! every address is checked against the [`OutboundPolicy`] (after DNS resolution, by
//! the client's [`GuardedResolver`]; literal IP hosts directly): internal addresses
//! are refused unless the operator lists them in `outbound_allow`. The upstream's
//! answer is quoted back only as its HTTP status and its OAuth `error` code (when that
//! is a well-formed RFC 6749 error token), never its body or `error_description`.

use super::outbound::{GuardedResolver, OutboundPolicy, Refused};
use super::TokenAuthMethod;
use crate::model::time::UnixTime;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;

/// Largest upstream answer read.
pub const MAX_RESPONSE: usize = 64 * 1024;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an upstream call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with an OAuth error (RFC 6749 §5.2).
    #[error("the upstream refused (HTTP {status}, {error})")]
    Refused {
        status: u16,
        /// The upstream's `error` code, a well-formed RFC 6749 error token.
        error: String,
    },
    /// The token endpoint's host is an internal address not in `outbound_allow`; no
    /// connection was made.
    #[error("{0}")]
    NotAllowed(Refused),
    /// No usable answer (connection, timeout, not JSON, no access token …).
    #[error("the upstream token endpoint failed: {0}")]
    Unreachable(String),
}

/// What a token endpoint answered.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl Tokens {
    /// When the access token expires, if the upstream said.
    pub fn expires_at(&self, now: UnixTime) -> Option<UnixTime> {
        self.expires_in.map(|s| now.saturating_add(s.max(0)))
    }
}

/// The client's credentials at the upstream.
#[derive(Clone)]
pub struct ClientAuth<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub method: TokenAuthMethod,
}

impl std::fmt::Debug for ClientAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The HTTP client for upstream token endpoints (cheap to clone).
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Whether `s` is an RFC 6749 §5.2 error code (`1*NQSCHAR`), without spaces and at
/// most 64 characters: only such a code is quoted back.
fn is_error_token(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// Keeps printable ASCII of an upstream text, at most 200 characters.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(200)
        .collect()
}

fn int_or_string(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

impl Upstream {
    /// A client reaching public addresses and those `policy` allows, trusting the
    /// built-in roots and the certificates of `extra_roots_pem` (a PEM bundle, from
    /// `outbound_ca_file`). The error says what is wrong with the bundle.
    pub fn new(policy: OutboundPolicy, extra_roots_pem: Option<&[u8]>) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
            if certs.is_empty() {
                return Err("no PEM certificate in it".to_owned());
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { http, policy })
    }

    /// Exchanges a refresh token (RFC 6749 §6).
    pub async fn refresh(
        &self,
        token_uri: &str,
        client: &ClientAuth<'_>,
        refresh_token: &str,
    ) -> Result<Tokens, UpstreamError> {
        self.token(
            token_uri,
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Exchanges an authorization code with its PKCE verifier (RFC 6749 §4.1.3,
    /// RFC 7636 §4.5).
    pub async fn exchange_code(
        &self,
        token_uri: &str,
        client: &ClientAuth<'_>,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Tokens, UpstreamError> {
        self.token(
            token_uri,
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ],
        )
        .await
    }

    async fn token(
        &self,
        token_uri: &str,
        client: &ClientAuth<'_>,
        params: &[(&str, &str)],
    ) -> Result<Tokens, UpstreamError> {
        let url = reqwest::Url::parse(token_uri)
            .map_err(|_| UpstreamError::Unreachable("the token URI is not a URL".into()))?;
        if let Err(refused) = self.policy.check_url(&url) {
            tracing::warn!(host = %refused.host, "outbound call refused: internal address");
            return Err(UpstreamError::NotAllowed(refused));
        }
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json");
        match client.method {
            TokenAuthMethod::ClientSecretBasic => {
                let pair = format!(
                    "{}:{}",
                    form_encode(client.client_id),
                    form_encode(client.client_secret)
                );
                req = req.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(pair)),
                );
            }
            TokenAuthMethod::ClientSecretPost => {
                form.push(("client_id", client.client_id));
                form.push(("client_secret", client.client_secret));
            }
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let res = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if let Some(refused) = refused_in(&e) {
                    tracing::warn!(host = %refused.host, addr = ?refused.addr, "outbound call refused: the host resolves to internal addresses");
                    return UpstreamError::NotAllowed(refused);
                }
                let why = if e.is_timeout() {
                    "timed out".to_owned()
                } else if e.is_connect() {
                    "could not connect".to_owned()
                } else {
                    "request failed".to_owned()
                };
                tracing::warn!(error = %e.without_url(), "upstream token endpoint unreachable");
                UpstreamError::Unreachable(why)
            })?;
        let status = res.status().as_u16();
        let bytes = read_limited(res).await?;
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let Some(json) = json.filter(|j| j.is_object()) else {
            tracing::warn!(
                status,
                "upstream token endpoint answered without a JSON object"
            );
            return Err(UpstreamError::Unreachable(format!(
                "HTTP {status} without a JSON object"
            )));
        };
        if let Some(error) = json.get("error") {
            let code = error.as_str().filter(|e| is_error_token(e));
            let Some(code) = code else {
                tracing::warn!(
                    status,
                    "upstream token endpoint refused with a malformed error code"
                );
                return Err(UpstreamError::Unreachable(format!(
                    "HTTP {status} with a malformed OAuth error code"
                )));
            };
            tracing::warn!(status, error = %code, "upstream token endpoint refused");
            return Err(UpstreamError::Refused {
                status,
                error: code.to_owned(),
            });
        }
        if !(200..300).contains(&status) {
            tracing::warn!(
                status,
                "upstream token endpoint failed without an OAuth error"
            );
            return Err(UpstreamError::Unreachable(format!("HTTP {status}")));
        }
        let access_token = json
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.len() <= super::MAX_TEXT)
            .ok_or_else(|| UpstreamError::Unreachable("answer without an access_token".into()))?;
        let refresh_token = json
            .get("refresh_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.len() <= super::MAX_TEXT)
            .map(str::to_owned);
        Ok(Tokens {
            access_token: access_token.to_owned(),
            refresh_token,
            expires_in: json.get("expires_in").and_then(int_or_string),
        })
    }
}

/// The policy's refusal inside a request error (the resolver's error, wrapped by the
/// connector and the client).
fn refused_in(e: &reqwest::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

async fn read_limited(mut res: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    let mut out = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_RESPONSE {
                    return Err(UpstreamError::Unreachable(format!(
                        "answer larger than {MAX_RESPONSE} bytes"
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "reading the upstream answer failed");
                return Err(UpstreamError::Unreachable(
                    "reading the answer failed".into(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_oauth_error_codes_are_quoted() {
        for ok in ["invalid_grant", "invalid_client", "x", "slow_down", "a.b-c"] {
            assert!(is_error_token(ok), "{ok}");
        }
        let long = "e".repeat(65);
        for bad in [
            "",
            "two words",
            "quote\"d",
            "back\\slash",
            "é",
            "line\nbreak",
            &long,
        ] {
            assert!(!is_error_token(bad), "{bad:?}");
        }
    }
}
