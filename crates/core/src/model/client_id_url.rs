//! Client Identifier URLs (IETF `draft-ietf-oauth-client-id-metadata-document`, §3): a
//! `client_id` that is an `https` URL names a JSON document, the Client ID Metadata
//! Document, which the authorization server fetches for the client's metadata instead of
//! a prior registration.
//!
//! The draft's grammar: the `https` scheme, no userinfo, a port allowed, a path, no `.`
//! or `..` segments, no fragment, and a query discouraged. Portcullis also refuses
//! a query and a bare `/` path (the MCP SDK refuses both too), and asks for the URL's
//! normal form (lower-case host, no default port, no dot segments the parser would
//! remove): identifiers are compared as strings (RFC 3986 §6.2.1), so two spellings of
//! one address would otherwise be two clients, and the document's `client_id` must equal
//! the URL that was fetched. Identifiers Portcullis generates never start with
//! `https://` (they are random alphanumerics), so the prefix alone tells the two apart.

use std::fmt;

/// Longest client identifier URL accepted.
pub const MAX_LEN: usize = 512;

/// Whether `client_id` is meant as a Client Identifier URL: it starts with `https://`.
/// Such an id is never looked up as a registered client's generated id.
pub fn is_url_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// A valid Client Identifier URL. It is in its normal form, so the parsed URL's text
/// is exactly what the client wrote.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdUrl(url::Url);

impl ClientIdUrl {
    /// Parses `s`, saying what is wrong with it in words fit for an error description.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > MAX_LEN {
            return Err(format!(
                "a client_id URL is at most {MAX_LEN} characters long"
            ));
        }
        if !is_url_client_id(s) {
            return Err("a client_id URL must start with https://".to_owned());
        }
        let url = url::Url::parse(s).map_err(|e| {
            use url::ParseError as E;
            let why = match e {
                E::EmptyHost => "it names no host",
                E::InvalidPort => "its port is not a number from 0 to 65535",
                E::InvalidIpv4Address | E::InvalidIpv6Address => "its IP address is not valid",
                E::InvalidDomainCharacter | E::IdnaError => {
                    "its host name has characters a host name cannot have"
                }
                _ => "it cannot be read as a URL",
            };
            format!("the client_id is not a valid URL: {why}")
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("a client_id URL must not contain a user name or password".to_owned());
        }
        if s.contains('#') {
            return Err("a client_id URL must not contain a fragment".to_owned());
        }
        if s.contains('?') {
            return Err("a client_id URL must not contain a query".to_owned());
        }
        let authority_end = s["https://".len()..]
            .find('/')
            .map(|i| i + "https://".len());
        let Some(path_start) = authority_end else {
            return Err(
                "a client_id URL must have a path, e.g. https://app.example/client.json".to_owned(),
            );
        };
        if path_start == "https://".len() {
            return Err("a client_id URL must name a host".to_owned());
        }
        let path = &s[path_start..];
        if path == "/" {
            return Err("a client_id URL must have a path other than /, e.g. https://app.example/client.json".to_owned());
        }
        let dotted = path.split('/').any(|seg| {
            let seg = seg.to_ascii_lowercase().replace("%2e", ".");
            seg == "." || seg == ".."
        });
        if dotted {
            return Err("a client_id URL must not contain . or .. path segments".to_owned());
        }
        if url.as_str() != s {
            return Err(format!(
                "the client_id URL is not in its normal form; write it as {}",
                url.as_str()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("a client_id URL must name a host".to_owned());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL, for fetching the document.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host the document is served from: what the consent page shows the user
    /// (the draft's §9.3, "display the hostname of the client_id"), since the
    /// document's own name is whatever its author chose.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

impl fmt::Debug for ClientIdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientIdUrl").field(&self.as_str()).finish()
    }
}

impl fmt::Display for ClientIdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_drafts_examples_and_keeps_them_as_written() {
        for ok in [
            "https://app.example/client.json",
            "https://app.example:8443/oauth/client",
            "https://127.0.0.1:4433/client.json",
            "https://[::1]:4433/c",
            "https://xn--bcher-kva.example/client",
        ] {
            let u = ClientIdUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(u.as_str(), ok);
        }
        assert_eq!(
            ClientIdUrl::parse("https://app.example:8443/c")
                .expect("valid")
                .host(),
            "app.example"
        );
        assert_eq!(
            ClientIdUrl::parse("https://[::1]:4433/c")
                .expect("valid")
                .host(),
            "[::1]"
        );
    }

    #[test]
    fn refuses_what_the_draft_and_we_refuse_saying_why() {
        for (bad, why) in [
            ("http://app.example/client", "https://"),
            ("HTTPS://app.example/client", "https://"),
            ("https://app.example", "path"),
            ("https://app.example/", "other than /"),
            ("https://user:pw@app.example/client", "user name"),
            ("https://app.example/client#x", "fragment"),
            ("https://app.example/client?v=1", "query"),
            ("https://app.example/a/../client", ". or .."),
            ("https://app.example/./client", ". or .."),
            ("https://app.example/a/%2E%2E/client", ". or .."),
            ("https://APP.example/client", "normal form"),
            ("https://app.example:443/client", "normal form"),
            ("https://app.example/cl ient", "normal form"),
            ("https:///client", "name a host"),
            ("https://app.example:99999/client", "port is not a number"),
        ] {
            let e = ClientIdUrl::parse(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("https://app.example/{}", "a".repeat(MAX_LEN));
        assert!(ClientIdUrl::parse(&long)
            .expect_err("too long")
            .contains("at most"));
    }

    #[test]
    fn only_https_prefixed_ids_are_urls() {
        assert!(is_url_client_id("https://app.example/c"));
        assert!(!is_url_client_id("a1B2c3"));
        assert!(!is_url_client_id("http://app.example/c"));
    }
}
