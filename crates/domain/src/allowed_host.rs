//! `network.allowedHosts` entries: what a block may call, as `scheme://host[:port]`.
//!
//! The grammar follows Spin's `allowed_outbound_hosts`, narrowed to HTTP:
//! - scheme `http` or `https`, required (a block that may call `http://x` may not call
//!   `https://x`, and the reverse);
//! - host: an exact DNS name (`api.stripe.com`), a `*.` suffix matching any subdomain but not the
//!   apex (`*.slack.com` matches `hooks.slack.com`, not `slack.com`), or an IP literal
//!   (`127.0.0.1`, `[::1]`);
//! - port: optional; absent means the scheme's default (80, 443), `*` means any.
//!
//! Nothing else: no path, query or user info, so an entry cannot look narrower than it is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The scheme of an allowed host or a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `http` or `https`; anything else is not a scheme a block may use.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// This host exactly (a lowercase DNS name, or an IP literal; IPv6 without brackets).
    Exact(String),
    /// Any subdomain of this (lowercase) name, at any depth; not the name itself.
    Subdomains(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Exact(u16),
    Any,
}

/// One parsed `allowedHosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Scheme,
    host: HostPattern,
    port: PortPattern,
    /// The entry as given, for error messages and round trips.
    text: String,
}

/// Why an `allowedHosts` entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowedHosts entry {entry:?}: {reason}")]
pub struct AllowedHostError {
    entry: String,
    reason: &'static str,
}

impl FromStr for AllowedHost {
    type Err = AllowedHostError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| AllowedHostError { entry: text.to_owned(), reason };
        let (scheme, rest) = text.split_once("://").ok_or(fail("must start with http:// or https://"))?;
        let scheme = Scheme::parse(scheme).ok_or(fail("the scheme must be http or https"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(fail("only scheme, host and port are allowed (no path or query)"));
        }
        if authority.contains('@') {
            return Err(fail("user info is not allowed"));
        }
        let (host, port) = split_port(authority).ok_or(fail("the port must be a number from 1 to 65535, or *"))?;
        let port = port.unwrap_or(PortPattern::Exact(scheme.default_port()));
        let host = parse_host(host)
            .ok_or(fail("the host must be a DNS name, `*.` followed by a DNS name, or an IP address ([…] for IPv6)"))?;
        Ok(Self { scheme, host, port, text: text.to_owned() })
    }
}

/// Splits `host[:port]`, minding IPv6 brackets. `None` when the port is not a port.
fn split_port(authority: &str) -> Option<(&str, Option<PortPattern>)> {
    let port_at = if authority.starts_with('[') {
        authority.find(']').map(|end| end + 1).filter(|&end| end < authority.len())
    } else {
        authority.rfind(':')
    };
    let Some(at) = port_at else { return Some((authority, None)) };
    if authority.as_bytes().get(at) != Some(&b':') {
        return None;
    }
    let port = match &authority[at + 1..] {
        "*" => PortPattern::Any,
        digits => PortPattern::Exact(digits.parse::<u16>().ok().filter(|&p| p != 0)?),
    };
    Some((&authority[..at], Some(port)))
}

fn parse_host(host: &str) -> Option<HostPattern> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: std::net::Ipv6Addr = inner.parse().ok()?;
        return Some(HostPattern::Exact(ip.to_string()));
    }
    let host = host.to_ascii_lowercase();
    if let Some(suffix) = host.strip_prefix("*.") {
        return is_dns_name(suffix).then(|| HostPattern::Subdomains(suffix.to_owned()));
    }
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return Some(HostPattern::Exact(ip.to_string()));
    }
    is_dns_name(&host).then_some(HostPattern::Exact(host))
}

/// Letters, digits, `-` and `_` in dot-separated labels of 1–63 characters.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The parts of a request's target that the allowlist looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Scheme.
    pub scheme: Scheme,
    /// Lowercase host without a trailing dot; IPv6 without brackets.
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

impl Target {
    /// The target of a request URI; `None` when it has no usable scheme or host.
    pub fn of(uri: &http::Uri) -> Option<Self> {
        let scheme = Scheme::parse(uri.scheme_str()?)?;
        let host = uri.host()?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(Self { scheme, host, port: uri.port_u16().unwrap_or(scheme.default_port()) })
    }
}

impl AllowedHost {
    /// Whether a request to `target` is allowed by this entry.
    pub fn allows(&self, target: &Target) -> bool {
        let port = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(port) => port == target.port,
        };
        let host = match &self.host {
            HostPattern::Exact(host) => *host == target.host,
            HostPattern::Subdomains(suffix) => target
                .host
                .strip_suffix(suffix.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        };
        self.scheme == target.scheme && port && host
    }

    /// The entry as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.scheme.as_str(), self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port)
        }
    }
}

impl Serialize for AllowedHost {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for AllowedHost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::of(&url.parse().expect("uri")).expect("target")
    }

    fn allows(entry: &str, url: &str) -> bool {
        entry.parse::<AllowedHost>().expect("entry").allows(&target(url))
    }

    #[test]
    fn scheme_host_and_port_must_all_match() {
        assert!(allows("https://api.stripe.com", "https://api.stripe.com/v1/charges?x=1"));
        assert!(allows("https://api.stripe.com", "https://API.Stripe.com.:443/"));
        assert!(!allows("https://api.stripe.com", "http://api.stripe.com/"));
        assert!(!allows("https://api.stripe.com", "https://api.stripe.com:8443/"));
        assert!(!allows("https://api.stripe.com", "https://api.stripe.com.evil.io/"));
        assert!(!allows("https://api.stripe.com", "https://evilapi.stripe.com/"));
        assert!(allows("http://127.0.0.1:8099", "http://127.0.0.1:8099/x"));
        assert!(!allows("http://127.0.0.1:8099", "http://127.0.0.1:8098/x"));
        assert!(allows("http://127.0.0.1:*", "http://127.0.0.1:1234/x"));
        assert!(allows("http://[::1]:80", "http://[::1]/"));
    }

    #[test]
    fn a_wildcard_matches_subdomains_only() {
        assert!(allows("https://*.slack.com", "https://hooks.slack.com/services/x"));
        assert!(allows("https://*.slack.com", "https://a.b.slack.com/"));
        assert!(!allows("https://*.slack.com", "https://slack.com/"));
        assert!(!allows("https://*.slack.com", "https://evilslack.com/"));
        assert!(!allows("https://*.slack.com", "https://slack.com.evil.io/"));
    }

    #[test]
    fn entries_that_say_more_or_less_than_scheme_host_port_are_refused() {
        for bad in [
            "api.stripe.com",
            "ftp://x.com",
            "https://x.com/path",
            "https://x.com?q",
            "https://user@x.com",
            "https://x.com:0",
            "https://x.com:99999",
            "https://*",
            "https://*.com.*",
            "https://exa mple.com",
            "https://[::1",
            "https://",
        ] {
            assert!(bad.parse::<AllowedHost>().is_err(), "{bad} was accepted");
        }
        assert!("https://x.com/".parse::<AllowedHost>().is_ok());
    }
}
