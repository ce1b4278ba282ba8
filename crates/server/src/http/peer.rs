//! The caller's address, for the failure rate limits: the TCP peer's, or — only when
//! the peer is one of the configured `trusted_proxies` — the address the proxies
//! forwarded (`Forwarded: for=…`, RFC 7239, else `X-Forwarded-For`). The forwarded
//! chain is read from the right, skipping trusted proxies, so a client cannot name
//! its own address by sending the header itself.

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Addresses and networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`… (one entry each); the error
    /// names the entry that is neither an address nor a CIDR network.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "trusted_proxies entry '{e}' is neither an IP address nor a network such as 10.0.0.0/8"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a connection from `peer` carrying `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain = match forwarded_for(headers) {
            Some(chain) => chain,
            None => x_forwarded_for(headers),
        };
        let mut client = peer;
        for hop in chain.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match hop {
                Some(ip) => client = *ip,
                // An obfuscated or garbled hop: the last trusted proxy is all we know.
                None => break,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so `10.0.0.0/8` covers `::ffff:10.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address of one hop: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]:80`, `2001:db8::1`.
fn hop_address(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = raw.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    raw.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(canonical)
}

/// Every value of a header, in order, split at commas.
fn list(headers: &HeaderMap, name: HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `for=` hops of `Forwarded` (RFC 7239), or `None` without the header.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let elements = list(headers, axum::http::header::FORWARDED);
    if elements.is_empty() {
        return None;
    }
    Some(
        elements
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| hop_address(v))
            })
            .collect(),
    )
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    list(headers, HeaderName::from_static("x-forwarded-for"))
        .iter()
        .map(|h| hop_address(h))
        .collect()
}

/// The caller's address for a request: its TCP peer's, or what trusted proxies
/// forwarded. `None` only when the server was started without peer addresses.
pub fn client_ip(
    proxies: &TrustedProxies,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let ConnectInfo(peer) = extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(proxies.client_ip(peer.ip(), headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "::1"]).expect("parse");
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(proxies.client_ip(ip("192.0.2.1"), &h), ip("192.0.2.1"));
        assert_eq!(proxies.client_ip(ip("10.1.2.3"), &h), ip("203.0.113.9"));
        assert_eq!(proxies.client_ip(ip("::1"), &h), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.1.2.3"), &h), ip("10.1.2.3"));
    }

    #[test]
    fn a_spoofed_leftmost_entry_is_not_believed() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).expect("parse");
        // The client sent "1.1.1.1" itself; the proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_takes_precedence_and_understands_ports_and_brackets() {
        let proxies = TrustedProxies::parse(&["10.0.0.1"]).expect("parse");
        let h = headers(&[
            ("forwarded", "for=\"[2001:db8::7]:4711\";proto=https"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("2001:db8::7"));
        let h = headers(&[("forwarded", "for=_hidden, for=192.0.2.60:80")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("192.0.2.60"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn entries_must_be_addresses_or_networks() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.1", "fd00::/8"]).is_ok());
        let e = TrustedProxies::parse(&["proxy.example"]).expect_err("a name");
        assert!(e.contains("proxy.example"), "{e}");
    }
}
