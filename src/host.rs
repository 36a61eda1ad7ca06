//! A terminal's address as a person types it (the app's Device IP, the CLI's `--host`, `Device(host=...)`): a
//! bare host (IPv4, IPv6 or host name), optionally with `:port`. One rule for every entry point.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A validated address: the host without brackets (IPv6 in its compressed form, host names in lower case),
/// and the port when one was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: Option<u16>,
}

/// Why a typed address is not a bare host. [`HostError::reason`] is a stable code (the app translates its own
/// messages from it); the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    #[error("no host given")]
    Empty,
    #[error("enter the host only, without http:// or https:// (HTTPS is a setting of its own)")]
    Scheme,
    #[error("enter the host only, without a path such as /ISAPI")]
    Path,
    #[error("enter the host only, without a user or password (they are settings of their own)")]
    Credentials,
    #[error("the host must not contain spaces")]
    Space,
    #[error("missing ] after the IPv6 address")]
    UnclosedBracket,
    #[error("unexpected text after the IPv6 address: {0}")]
    AfterBracket(String),
    #[error("{0} is not a valid IPv6 address")]
    Ipv6(String),
    #[error("{0} is not a valid IPv6 address; write [address]:port to add a port")]
    Ipv6NeedsBrackets(String),
    #[error("the port must be a number: {0}")]
    PortNotNumber(String),
    #[error("the port must be between 1 and 65535: {0}")]
    PortRange(String),
    #[error("{0} is not a valid IPv4 address")]
    Ipv4(String),
    #[error("{0} is not a valid IP address or host name")]
    HostName(String),
}

impl HostError {
    /// A stable code for the kind of mistake.
    pub fn reason(&self) -> &'static str {
        match self {
            HostError::Empty => "empty",
            HostError::Scheme => "scheme",
            HostError::Path => "path",
            HostError::Credentials => "credentials",
            HostError::Space => "space",
            HostError::UnclosedBracket => "unclosed_bracket",
            HostError::AfterBracket(_) => "after_bracket",
            HostError::Ipv6(_) => "ipv6",
            HostError::Ipv6NeedsBrackets(_) => "ipv6_needs_brackets",
            HostError::PortNotNumber(_) => "port_not_number",
            HostError::PortRange(_) => "port_range",
            HostError::Ipv4(_) => "ipv4",
            HostError::HostName(_) => "host_name",
        }
    }

    /// The part of the input the message names, if any.
    pub fn value(&self) -> Option<&str> {
        match self {
            HostError::AfterBracket(v)
            | HostError::Ipv6(v)
            | HostError::Ipv6NeedsBrackets(v)
            | HostError::PortNotNumber(v)
            | HostError::PortRange(v)
            | HostError::Ipv4(v)
            | HostError::HostName(v) => Some(v),
            _ => None,
        }
    }
}

/// Splits and validates `host[:port]`. `[IPv6]:port` takes a port, a bare IPv6 address does not. A scheme, a
/// path, credentials or spaces are refused with a message saying where that setting belongs instead.
pub fn parse_host(text: &str) -> Result<HostPort, HostError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(HostError::Empty);
    }
    let lower = text.to_ascii_lowercase();
    if text.contains("://") || lower.starts_with("http:") || lower.starts_with("https:") {
        return Err(HostError::Scheme);
    }
    if text.contains(['/', '?', '#']) {
        return Err(HostError::Path);
    }
    if text.contains('@') {
        return Err(HostError::Credentials);
    }
    if text.chars().any(char::is_whitespace) {
        return Err(HostError::Space);
    }
    if let Some(inner) = text.strip_prefix('[') {
        let (host, rest) = inner.split_once(']').ok_or(HostError::UnclosedBracket)?;
        let port = match rest {
            "" => None,
            _ => Some(
                rest.strip_prefix(':')
                    .ok_or_else(|| HostError::AfterBracket(rest.to_owned()))?,
            ),
        };
        let ip: Ipv6Addr = host.parse().map_err(|_| HostError::Ipv6(host.to_owned()))?;
        return Ok(HostPort {
            host: ip.to_string(),
            port: port.map(parse_port).transpose()?,
        });
    }
    if text.matches(':').count() > 1 {
        let ip: Ipv6Addr = text
            .parse()
            .map_err(|_| HostError::Ipv6NeedsBrackets(text.to_owned()))?;
        return Ok(HostPort {
            host: ip.to_string(),
            port: None,
        });
    }
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (text, None),
    };
    let host = match host.parse::<Ipv4Addr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host_name(host)?,
    };
    Ok(HostPort { host, port })
}

/// A port as typed: digits, 1 to 65535.
fn parse_port(text: &str) -> Result<u16, HostError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::PortNotNumber(text.to_owned()));
    }
    text.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| HostError::PortRange(text.to_owned()))
}

/// A DNS name (RFC 1123 labels, one trailing dot allowed), in lower case. Digits and dots only mean an IPv4
/// address, and an invalid one.
fn host_name(host: &str) -> Result<String, HostError> {
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(HostError::HostName(host.to_owned()));
    }
    if name
        .split('.')
        .all(|label| label.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(HostError::Ipv4(host.to_owned()));
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (String, Option<u16>) {
        let HostPort { host, port } = parse_host(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (host, port)
    }

    fn reason(text: &str) -> &'static str {
        match parse_host(text) {
            Ok(hp) => panic!("{text:?} was accepted as {hp:?}"),
            Err(e) => e.reason(),
        }
    }

    #[test]
    fn valid_hosts() {
        let cases: [(&str, &str, Option<u16>); 10] = [
            ("103.237.255.40", "103.237.255.40", None),
            (" 10.0.0.5:8080 ", "10.0.0.5", Some(8080)),
            ("Gate-1.Office.Example", "gate-1.office.example", None),
            ("terminal.local:443", "terminal.local", Some(443)),
            ("terminal.local.", "terminal.local", None),
            ("fe80::1", "fe80::1", None),
            ("FE80:0:0::1", "fe80::1", None),
            ("[2001:db8::5]:8443", "2001:db8::5", Some(8443)),
            ("[::1]", "::1", None),
            ("localhost", "localhost", None),
        ];
        for (text, host, port) in cases {
            assert_eq!(ok(text), (host.to_owned(), port), "{text:?}");
        }
    }

    #[test]
    fn invalid_hosts_say_why() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("http://10.0.0.5", "scheme"),
            ("https://gate.example", "scheme"),
            ("HTTP:10.0.0.5", "scheme"),
            ("10.0.0.5/ISAPI", "path"),
            ("gate.example?x=1", "path"),
            ("gate.example#x", "path"),
            ("admin@10.0.0.5", "credentials"),
            ("10.0.0 .5", "space"),
            ("10.0.0.256", "ipv4"),
            ("010.0.0.1", "ipv4"),
            ("10.0.0.5:0", "port_range"),
            ("10.0.0.5:99999", "port_range"),
            ("10.0.0.5:http", "port_not_number"),
            ("10.0.0.5:", "port_not_number"),
            ("10.0.0.5:+80", "port_not_number"),
            ("-gate.example", "host_name"),
            ("gate-.example", "host_name"),
            ("gate_1.example", "host_name"),
            ("gate..example", "host_name"),
            ("fe80::1::2", "ipv6_needs_brackets"),
            ("[fe80::1", "unclosed_bracket"),
            ("[fe80::1]x", "after_bracket"),
            ("[10.0.0.5]", "ipv6"),
            ("[fe80::1]:0", "port_range"),
        ];
        for (text, why) in cases {
            assert_eq!(reason(text), why, "{text:?}");
        }
        let long = format!("{}.example", "a".repeat(64));
        assert_eq!(reason(&long), "host_name");
    }

    #[test]
    fn messages_name_the_offending_part() {
        let e = parse_host("10.0.0.5:http").expect_err("port");
        assert_eq!(e.value(), Some("http"));
        assert!(e.to_string().contains("http"), "{e}");
        assert_eq!(
            parse_host("[fe80::1]x").map_err(|e| e.to_string()),
            Err("unexpected text after the IPv6 address: x".to_owned())
        );
        assert_eq!(parse_host("").expect_err("empty").value(), None);
    }
}
