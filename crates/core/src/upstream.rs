//! The outbound OAuth call, a service of core implemented by the server crate: the
//! token-endpoint POST of the vault's refresh (RFC 6749 §6) and of the connect flow's
//! code exchange (§4.1.3, with the RFC 7636 verifier), behind [`UpstreamClient`].
//!
//! Core decides what is sent and how the answer is read: [`TokenRequest::new`] builds
//! the form and the client authentication the upstream expects (§2.3.1: HTTP Basic with
//! form-encoded credentials, or the form body), [`read_answer`] turns the upstream's
//! status and body into [`Tokens`] or an [`UpstreamError`], and [`outbound`] says which
//! destinations may be called at all (SSRF defence). An implementation only moves the
//! bytes; the server's (`portcullis_server::upstream`) uses reqwest with rustls, a DNS
//! resolver filtered by the policy and the `outbound_ca_file` roots.
//!
//! Tokens are never logged: a failure is logged with the upstream's status and `error`
//! code only. The upstream's answer is quoted back only as its HTTP status and its
//! OAuth `error` code (when that is a well-formed RFC 6749 error token), never its body
//! or `error_description`.

pub mod fetch;
pub mod outbound;

use crate::model::time::UnixTime;
use crate::model::vault::{TokenAuthMethod, MAX_TEXT};
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use outbound::Refused;
use std::time::Duration;

/// Longest an upstream call may take in total. Implementations give up by then; the
/// vault's refresh lease ([`crate::vault::refresh::LEASE_SECS`]) is longer, so a lease
/// only runs out when its node died.
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

/// The grant a token request presents.
#[derive(Clone, Copy)]
pub enum TokenGrant<'a> {
    /// Exchanges a refresh token (RFC 6749 §6).
    RefreshToken { refresh_token: &'a str },
    /// Exchanges an authorization code with its PKCE verifier (RFC 6749 §4.1.3,
    /// RFC 7636 §4.5).
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        code_verifier: &'a str,
    },
}

impl std::fmt::Debug for TokenGrant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::RefreshToken { .. } => "RefreshToken(***)",
            Self::AuthorizationCode { .. } => "AuthorizationCode(***)",
        })
    }
}

impl<'a> TokenGrant<'a> {
    fn params(&self) -> Vec<(&'static str, &'a str)> {
        match *self {
            Self::RefreshToken { refresh_token } => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            Self::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ],
        }
    }
}

/// A token request as sent: POSTed as `application/x-www-form-urlencoded`, asking
/// for `application/json`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `Authorization` header (HTTP Basic), when the client authenticates so.
    pub authorization: Option<String>,
    /// The form body.
    pub body: String,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenRequest(***)")
    }
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl TokenRequest {
    /// The request presenting `grant`, with the client authenticated as its
    /// application says (RFC 6749 §2.3.1).
    pub fn new(client: &ClientAuth<'_>, grant: &TokenGrant<'_>) -> Self {
        let mut form = grant.params();
        let authorization = match client.method {
            TokenAuthMethod::ClientSecretBasic => {
                let pair = format!(
                    "{}:{}",
                    form_encode(client.client_id),
                    form_encode(client.client_secret)
                );
                Some(format!("Basic {}", STANDARD.encode(pair)))
            }
            TokenAuthMethod::ClientSecretPost => {
                form.push(("client_id", client.client_id));
                form.push(("client_secret", client.client_secret));
                None
            }
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        Self {
            authorization,
            body,
        }
    }
}

/// Whether `s` is an RFC 6749 §5.2 error code (`1*NQSCHAR`), without spaces and at
/// most 64 characters: only such a code is quoted back.
fn is_error_token(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

fn int_or_string(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Reads a token endpoint's answer (RFC 6749 §5.1, §5.2): its HTTP status and body.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Tokens, UpstreamError> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
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
    let token = |name: &str| {
        json.get(name)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.len() <= MAX_TEXT)
            .map(str::to_owned)
    };
    let access_token = token("access_token")
        .ok_or_else(|| UpstreamError::Unreachable("answer without an access_token".into()))?;
    Ok(Tokens {
        access_token,
        refresh_token: token("refresh_token"),
        expires_in: json.get("expires_in").and_then(int_or_string),
    })
}

/// Calls upstream token endpoints (cheap to share behind an `Arc`).
///
/// An implementation must refuse, without connecting, every destination the
/// [`outbound::OutboundPolicy`] refuses — literal addresses
/// ([`outbound::OutboundPolicy::check_url`]) and the addresses a host name resolves to
/// ([`outbound::OutboundPolicy::allows`]) — answering [`UpstreamError::NotAllowed`];
/// give up within [`TOTAL_TIMEOUT`]; follow no redirects; send
/// [`TokenRequest::new`]'s request and read the answer with [`read_answer`].
#[async_trait]
pub trait UpstreamClient: Send + Sync + std::fmt::Debug {
    /// POSTs `grant` to the token endpoint `token_uri`, authenticated as `client`.
    async fn token(
        &self,
        token_uri: &str,
        client: &ClientAuth<'_>,
        grant: TokenGrant<'_>,
    ) -> Result<Tokens, UpstreamError>;
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

    #[test]
    fn the_client_authenticates_by_form_encoded_basic_or_in_the_body() {
        let grant = TokenGrant::RefreshToken {
            refresh_token: "r t",
        };
        let basic = ClientAuth {
            client_id: "a:b",
            client_secret: "s&t",
            method: TokenAuthMethod::ClientSecretBasic,
        };
        let r = TokenRequest::new(&basic, &grant);
        assert_eq!(
            r.authorization,
            Some(format!("Basic {}", STANDARD.encode("a%3Ab:s%26t")))
        );
        assert_eq!(r.body, "grant_type=refresh_token&refresh_token=r+t");
        let post = ClientAuth {
            method: TokenAuthMethod::ClientSecretPost,
            ..basic
        };
        let code = TokenGrant::AuthorizationCode {
            code: "c",
            redirect_uri: "https://here/cb",
            code_verifier: "v",
        };
        let r = TokenRequest::new(&post, &code);
        assert_eq!(r.authorization, None);
        assert_eq!(
            r.body,
            "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fhere%2Fcb&code_verifier=v&client_id=a%3Ab&client_secret=s%26t"
        );
    }

    #[test]
    fn answers_give_tokens_or_the_upstreams_error_code_only() {
        let ok = read_answer(
            200,
            br#"{"access_token":"a","refresh_token":"r","expires_in":"3600"}"#,
        );
        assert_eq!(
            ok,
            Ok(Tokens {
                access_token: "a".into(),
                refresh_token: Some("r".into()),
                expires_in: Some(3600),
            })
        );
        assert_eq!(
            read_answer(
                400,
                br#"{"error":"invalid_grant","error_description":"secret"}"#
            ),
            Err(UpstreamError::Refused {
                status: 400,
                error: "invalid_grant".into()
            })
        );
        let unusable: [(u16, &[u8]); 5] = [
            (400, br#"{"error":"two words"}"#),
            (500, b"<html>"),
            (503, b"{}"),
            (200, br#"{"refresh_token":"r"}"#),
            (200, br#"{"access_token":""}"#),
        ];
        for (status, body) in unusable {
            assert!(
                matches!(
                    read_answer(status, body),
                    Err(UpstreamError::Unreachable(_))
                ),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
