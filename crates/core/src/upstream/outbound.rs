//! Which destinations the vault's outbound calls may reach (SSRF defence, issue 11).
//!
//! An application object's `tokenURI` is called with the client secret and a refresh
//! token, so it must not point the server at itself or its network: loopback, private
//! (RFC 1918, `fc00::/7`), link-local (`169.254/16`, `fe80::/10`, which hold the cloud
//! metadata services `169.254.169.254` and `fd00:ec2::254`), shared CGNAT space
//! (`100.64/10`), unspecified, broadcast, multicast and reserved addresses are refused,
//! as are IPv4-mapped, -compatible and NAT64 IPv6 forms of those.
//!
//! The check is made on the addresses actually connected to, after DNS resolution and
//! at call time ([`OutboundPolicy::allows`], which the [`super::UpstreamClient`]
//! implementation applies to what its resolver returns, so a name that resolves to an
//! internal address, or is rebound to one later, is never connected to), and on
//! literal IP hosts, which bypass the resolver ([`OutboundPolicy::check_url`]). This
//! module is the pure policy; the resolver is the server's (`portcullis_server::upstream`).
//!
//! Operators reach internal token endpoints by listing them in `outbound_allow`: host
//! names (matched exactly, ignoring case), addresses, or CIDR blocks.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The setting that allows a refused destination.
pub const SETTING: &str = "outbound_allow";

/// One `outbound_allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// A host name, lowercased, without a trailing dot.
    Host(String),
    /// An address block (a single address is a full-length prefix).
    Net(IpNet),
}

/// The destinations outbound calls may reach beyond public addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allow: Vec<Allowed>,
}

/// A destination the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the host '{host}' is an internal address (loopback, private, link-local or similar), which Portcullis does not call unless the {SETTING} setting lists it")]
pub struct Refused {
    pub host: String,
    /// The refused address, for the log (not for API answers).
    pub addr: Option<IpAddr>,
}

impl OutboundPolicy {
    /// Parses `outbound_allow` entries: `host.example`, `10.1.2.3`, `fd00::1`,
    /// `10.0.0.0/8`, `fd00::/8`. An error names the entry and what is expected.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let allow = entries
            .iter()
            .map(|e| parse_entry(e.as_ref().trim()))
            .collect::<Result<_, _>>()?;
        Ok(Self { allow })
    }

    /// Whether `host` (as in a URL, brackets around IPv6 allowed) is listed by name.
    fn host_listed(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.allow
            .iter()
            .any(|a| matches!(a, Allowed::Host(h) if *h == host))
    }

    fn addr_listed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|a| match a {
            Allowed::Net(net) => in_block(net, ip),
            Allowed::Host(_) => false,
        })
    }

    /// Whether a connection to `ip`, reached through `host`, is allowed.
    pub fn allows(&self, host: &str, ip: IpAddr) -> bool {
        is_public(ip) || self.host_listed(host) || self.addr_listed(ip)
    }

    /// Checks a URL whose host is a literal address (which no resolver sees). Host
    /// names pass here; the resolver checks what they resolve to.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        // The URL parser has normalised every IPv4 spelling (0x7f000001, 2130706433 …)
        // to dotted decimal, and brackets IPv6.
        let host = normalize_host(url.host_str().unwrap_or_default());
        let Ok(ip) = host.parse::<IpAddr>() else {
            return Ok(());
        };
        if self.allows(&host, ip) {
            Ok(())
        } else {
            Err(Refused {
                host,
                addr: Some(ip),
            })
        }
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn parse_entry(e: &str) -> Result<Allowed, String> {
    let bad = |why: &str| {
        Err(format!(
            "{SETTING} entry '{e}' {why}; expected a host name (api.example.com), an address (10.1.2.3, fd00::1) or a CIDR block (10.0.0.0/8, fd00::/8)"
        ))
    };
    if e.is_empty() {
        return bad("is empty");
    }
    if let Some((addr, len)) = e.split_once('/') {
        let Ok(ip) = normalize_host(addr).parse::<IpAddr>() else {
            return bad("is not an address block");
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return match len.parse::<u8>().ok().and_then(|n| IpNet::new(ip, n).ok()) {
            Some(net) => Ok(Allowed::Net(net)),
            None => bad(&format!("has a prefix length that is not 0–{max}")),
        };
    }
    let host = normalize_host(e);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Allowed::Net(IpNet::from(ip)));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() <= 253 && host.split('.').all(label_ok) {
        Ok(Allowed::Host(host))
    } else {
        bad("is not a host name")
    }
}

/// Whether `net` holds `ip`; an IPv4-mapped IPv6 address matches IPv4 blocks, and an
/// IPv4 address matches blocks of mapped IPv6 addresses.
fn in_block(net: &IpNet, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpNet::V4(n), IpAddr::V6(a)) => a.to_ipv4_mapped().is_some_and(|v4| n.contains(&v4)),
        (IpNet::V6(n), IpAddr::V4(a)) => n.contains(&a.to_ipv6_mapped()),
        (n, ip) => n.contains(&ip),
    }
}

/// Whether `ip` is an ordinary public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const fn net(a: u8, b: u8, len: u8) -> Ipv4Net {
        Ipv4Net::new_assert(Ipv4Addr::new(a, b, 0, 0), len)
    }
    const REFUSED: &[Ipv4Net] = &[
        net(0, 0, 8),      // "this network", unspecified
        net(10, 0, 8),     // RFC 1918
        net(100, 64, 10),  // shared address space (CGNAT)
        net(127, 0, 8),    // loopback
        net(169, 254, 16), // link-local, cloud metadata
        net(172, 16, 12),  // RFC 1918
        net(192, 0, 24),   // IETF protocol assignments (192.0.0.0/24)
        net(192, 168, 16), // RFC 1918
        net(198, 18, 15),  // benchmarking
        net(224, 0, 4),    // multicast
        net(240, 0, 4),    // reserved, broadcast
    ];
    !REFUSED.iter().any(|n| n.contains(&ip))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d, which also
    // covers :: and ::1) and NAT64 (64:ff9b::a.b.c.d) are judged by their IPv4 address.
    let bits = u128::from(ip);
    if bits >> 32 == 0xffff || bits >> 32 == 0 || bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        let v4 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
        return is_public_v4(v4);
    }
    const fn net(a: u16, b: u16, len: u8) -> Ipv6Net {
        Ipv6Net::new_assert(Ipv6Addr::new(a, b, 0, 0, 0, 0, 0, 0), len)
    }
    const REFUSED: &[Ipv6Net] = &[
        net(0xfc00, 0, 7),       // unique local (fd00:ec2::254 is AWS's metadata)
        net(0xfe80, 0, 10),      // link-local
        net(0xfec0, 0, 10),      // site-local (deprecated)
        net(0xff00, 0, 8),       // multicast
        net(0x2001, 0x0db8, 32), // documentation
    ];
    !REFUSED.iter().any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn internal_addresses_of_every_kind_are_refused_and_public_ones_allowed() {
        for refused in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip(refused)), "{refused} is internal");
        }
        for allowed in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.255.255",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(allowed)), "{allowed} is public");
        }
    }

    #[test]
    fn the_allow_list_takes_host_names_addresses_and_cidr_blocks() {
        let p = OutboundPolicy::parse(&["Token.Internal.", "127.0.0.1", "10.0.0.0/8", "fd00::/8"])
            .expect("parse");
        assert!(p.allows("token.internal", ip("192.168.9.9")), "by name");
        assert!(p.allows("other", ip("127.0.0.1")));
        assert!(!p.allows("other", ip("127.0.0.2")));
        assert!(p.allows("other", ip("10.200.1.1")));
        assert!(p.allows("other", ip("::ffff:10.200.1.1")), "mapped form");
        assert!(p.allows("other", ip("fd12::1")));
        assert!(!p.allows("other", ip("169.254.169.254")));
        assert!(!OutboundPolicy::default().allows("localhost", ip("127.0.0.1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "x/8",
            "bad host",
            "-a.example",
            "a..b",
        ] {
            let e = OutboundPolicy::parse(&[bad]).expect_err(bad);
            assert!(e.contains(SETTING) && e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn literal_address_urls_are_checked_without_a_resolver() {
        let p = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:8080/token",
            "http://[::1]/token",
            "http://[::ffff:7f00:1]/token",
            "https://169.254.169.254/latest/meta-data",
            "http://0x7f000001/token",
            "http://2130706433/token",
        ] {
            let u = url::Url::parse(url).expect("url");
            let e = p.check_url(&u).expect_err(url);
            assert!(e.to_string().contains(SETTING), "{e}");
        }
        let named = url::Url::parse("https://login.example.com/token").expect("url");
        assert!(p.check_url(&named).is_ok(), "names are for the resolver");
        let allowed = OutboundPolicy::parse(&["127.0.0.1"]).expect("parse");
        let u = url::Url::parse("http://127.0.0.1:8080/token").expect("url");
        assert!(allowed.check_url(&u).is_ok());
    }
}
