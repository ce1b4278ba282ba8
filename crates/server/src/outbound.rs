//! What every outbound HTTP call of the server shares (the vault's upstream token
//! calls, [`crate::upstream`], and the document fetcher, [`crate::fetch`]): one way to
//! build the reqwest client and to read a bounded answer, so the SSRF guards are
//! written once.
//!
//! [`client`] uses rustls with the built-in roots plus those of `outbound_ca_file`,
//! follows no redirects, ignores proxies from the environment and resolves names with
//! the [`GuardedResolver`], which drops the addresses core's [`OutboundPolicy`]
//! refuses (loopback, private, link-local … unless `outbound_allow` lists them) before
//! any connection is made. Literal-address URLs bypass resolvers: callers check them
//! with [`OutboundPolicy::check_url`] first.

use portcullis_core::upstream::outbound::{OutboundPolicy, Refused};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A reqwest client whose connections go only where `policy` allows, trusting the
/// built-in roots and the certificates of `extra_roots_pem` (a PEM bundle, from
/// `outbound_ca_file`), connecting within `connect` and giving up after `total`. The
/// error says what is wrong with the bundle.
pub fn client(
    policy: Arc<OutboundPolicy>,
    extra_roots_pem: Option<&[u8]>,
    connect: Duration,
    total: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect.min(total))
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(policy)))
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
    builder.build().map_err(|e| format!("HTTP client: {e}"))
}

/// Why an answer's body was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Longer than the limit (announced by `Content-Length`, or read so far); the rest
    /// was not read.
    TooLarge,
    /// The connection failed or timed out while reading.
    Failed(reqwest::Error),
}

/// Reads at most `limit` bytes of the answer: one announcing a longer
/// `Content-Length` is refused before its body is read, and reading stops as soon as
/// the limit is passed.
pub async fn read_limited(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if res
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(ReadError::TooLarge);
    }
    let mut out = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > limit {
                    return Err(ReadError::TooLarge);
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(ReadError::Failed(e)),
        }
    }
}

/// The policy's refusal inside a request error (the resolver's error, wrapped by the
/// connector and the client).
pub fn refused_in(e: &reqwest::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
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
