//! The token vault's HTTP client for upstream token endpoints: core's
//! [`UpstreamClient`] over reqwest. Core builds the request and reads the answer
//! ([`TokenRequest::new`], [`read_answer`]); this module moves the bytes.
//!
//! The client is [`crate::outbound::client`] (rustls with the built-in roots plus any
//! from `outbound_ca_file`, no redirects, no proxy, the guarded resolver); it
//! connects within 5 s, gives up after [`TOTAL_TIMEOUT`] (15 s) in total and reads at
//! most 64 KiB of the answer. Tokens are never logged.
//!
//! SSRF: the endpoints are whatever an application object names. Before connecting,
//! every address is checked against core's [`OutboundPolicy`]: literal IP hosts
//! directly ([`OutboundPolicy::check_url`]), host names after DNS resolution by the
//! client's [`crate::outbound::GuardedResolver`]. Internal addresses are refused
//! unless the operator lists them in `outbound_allow`.

use crate::outbound;
use async_trait::async_trait;
use portcullis_core::upstream::outbound::OutboundPolicy;
use portcullis_core::upstream::{
    read_answer, ClientAuth, TokenGrant, TokenRequest, Tokens, UpstreamClient, UpstreamError,
    TOTAL_TIMEOUT,
};
use std::sync::Arc;
use std::time::Duration;

/// Largest upstream answer read.
pub const MAX_RESPONSE: usize = 64 * 1024;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client for upstream token endpoints (cheap to clone).
#[derive(Debug, Clone)]
pub struct HttpUpstream {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

impl HttpUpstream {
    /// A client reaching public addresses and those `policy` allows, trusting the
    /// built-in roots and the certificates of `extra_roots_pem` (a PEM bundle, from
    /// `outbound_ca_file`). The error says what is wrong with the bundle.
    pub fn new(policy: OutboundPolicy, extra_roots_pem: Option<&[u8]>) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let http = outbound::client(
            policy.clone(),
            extra_roots_pem,
            CONNECT_TIMEOUT,
            TOTAL_TIMEOUT,
        )?;
        Ok(Self { http, policy })
    }
}

#[async_trait]
impl UpstreamClient for HttpUpstream {
    async fn token(
        &self,
        token_uri: &str,
        client: &ClientAuth<'_>,
        grant: TokenGrant<'_>,
    ) -> Result<Tokens, UpstreamError> {
        let url = reqwest::Url::parse(token_uri)
            .map_err(|_| UpstreamError::Unreachable("the token URI is not a URL".into()))?;
        if let Err(refused) = self.policy.check_url(&url) {
            tracing::warn!(host = %refused.host, "outbound call refused: internal address");
            return Err(UpstreamError::NotAllowed(refused));
        }
        let request = TokenRequest::new(client, &grant);
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(authorization) = request.authorization {
            req = req.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let res = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(request.body)
            .send()
            .await
            .map_err(|e| {
                if let Some(refused) = outbound::refused_in(&e) {
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
        let bytes = match outbound::read_limited(res, MAX_RESPONSE).await {
            Ok(bytes) => bytes,
            Err(outbound::ReadError::TooLarge) => {
                return Err(UpstreamError::Unreachable(format!(
                    "answer larger than {MAX_RESPONSE} bytes"
                )))
            }
            Err(outbound::ReadError::Failed(e)) => {
                tracing::warn!(error = %e.without_url(), "reading the upstream answer failed");
                return Err(UpstreamError::Unreachable(
                    "reading the answer failed".into(),
                ));
            }
        };
        read_answer(status, &bytes)
    }
}
