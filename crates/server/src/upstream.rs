//! The token vault's HTTP client for upstream token endpoints: core's
//! [`UpstreamClient`] over reqwest. Core builds the request and reads the answer
//! ([`TokenRequest::new`], [`read_answer`]); this module moves the bytes.
//!
//! The client uses rustls (the built-in roots plus any from `outbound_ca_file`),
//! connects within 5 s, gives up after [`TOTAL_TIMEOUT`] (15 s) in total, follows no
//! redirects, uses no proxy from the environment and reads at most 64 KiB of the
//! answer. Tokens are never logged.
//!
//! SSRF: the endpoints are whatever an application object names. Before connecting,
//! every address is checked against core's [`OutboundPolicy`]: literal IP hosts
//! directly ([`OutboundPolicy::check_url`]), host names after DNS resolution by the
//! client's [`GuardedResolver`]. Internal addresses are refused unless the operator
//! lists them in `outbound_allow`.

use async_trait::async_trait;
use portcullis_core::upstream::outbound::{OutboundPolicy, Refused};
use portcullis_core::upstream::{
    read_answer, ClientAuth, TokenGrant, TokenRequest, Tokens, UpstreamClient, UpstreamError,
    TOTAL_TIMEOUT,
};
use std::net::SocketAddr;
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
        read_answer(status, &bytes)
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

/// A DNS resolver that resolves with the system's (`getaddrinfo`, as reqwest does by
/// default) and keeps only the addresses the policy allows; when none is left, the
/// lookup fails with [`Refused`], so the connection is never attempted.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<OutboundPolicy>) -> Self {
        Self { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|a| policy.allows(&host, a.ip()));
            if allowed.is_empty() {
                let addr = refused.first().map(|a| a.ip());
                if addr.is_none() {
                    return Err(format!("{host} has no address").into());
                }
                return Err(Refused { host, addr }.into());
            }
            if !refused.is_empty() {
                tracing::warn!(host = %host, refused = ?refused, "outbound call: internal addresses of the host were skipped");
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_resolver_refuses_names_of_internal_addresses() {
        use reqwest::dns::Resolve as _;
        let guarded = GuardedResolver::new(Arc::new(OutboundPolicy::default()));
        let name: reqwest::dns::Name = "localhost".parse().expect("name");
        let e = match guarded.resolve(name).await {
            Ok(a) => panic!("resolved to {:?}", a.collect::<Vec<_>>()),
            Err(e) => e,
        };
        let refused = e.downcast_ref::<Refused>().expect("Refused");
        assert_eq!(refused.host, "localhost");
        let open = GuardedResolver::new(Arc::new(
            OutboundPolicy::parse(&["localhost"]).expect("parse"),
        ));
        let name: reqwest::dns::Name = "localhost".parse().expect("name");
        assert!(open.resolve(name).await.is_ok());
    }
}
