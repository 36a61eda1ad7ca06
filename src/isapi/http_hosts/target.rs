//! The site's push URL split into what a slot holds: scheme, address (IPv4, IPv6 or host name), port, and path
//! with the query (the token). URLs a terminal cannot post to are refused here, before any request.

use std::fmt;

use reqwest::Url;

use super::redact::{redact_url, REDACTED};

/// Why a push URL cannot be written into a slot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push URL {shown:?}: {what}")]
pub struct PushUrlError {
    /// The URL with its query redacted.
    shown: String,
    what: &'static str,
}

impl PushUrlError {
    fn new(url: &str, what: &'static str) -> Self {
        // Credentials before the host are hidden like the query.
        let shown = match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}{REDACTED}{}", &url[..s + 3], &url[at..]),
            _ => url.to_owned(),
        };
        PushUrlError {
            shown: redact_url(&shown),
            what,
        }
    }

    pub fn what(&self) -> &'static str {
        self.what
    }
}

/// How the terminal addresses the site: `addressingFormatType` and the element holding the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAddress {
    Ipv4(String),
    Ipv6(String),
    Hostname(String),
}

/// The site's push URL split into the fields of an `HttpHostNotification`.
#[derive(Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub https: bool,
    pub address: PushAddress,
    pub port: u16,
    /// Path and query (the token).
    pub path: String,
}

impl fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushTarget")
            .field("https", &self.https)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("path", &redact_url(&self.path))
            .finish()
    }
}

impl PushTarget {
    /// Splits `http(s)://host[:port]/path?query`. Refused: another scheme, credentials in the URL (a terminal
    /// has nowhere to put them), a fragment, no host.
    pub fn parse(url: &str) -> Result<Self, PushUrlError> {
        let text = url.trim();
        let parsed = Url::parse(text).map_err(|_| PushUrlError::new(url, "not a URL"))?;
        let https = match parsed.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(PushUrlError::new(url, "the scheme must be http or https")),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(PushUrlError::new(
                url,
                "a terminal cannot send credentials in the URL; the token goes in the query",
            ));
        }
        if parsed.fragment().is_some() {
            return Err(PushUrlError::new(
                url,
                "a fragment (#...) is never sent; put the token in the query",
            ));
        }
        let address = match parsed.host_str().filter(|h| !h.is_empty()) {
            Some(h) if h.starts_with('[') => {
                PushAddress::Ipv6(h.trim_start_matches('[').trim_end_matches(']').to_owned())
            }
            Some(h) if h.parse::<std::net::Ipv4Addr>().is_ok() => PushAddress::Ipv4(h.to_owned()),
            Some(h) => PushAddress::Hostname(h.to_owned()),
            None => return Err(PushUrlError::new(url, "it has no host")),
        };
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| PushUrlError::new(url, "it has no port"))?;
        let mut path = parsed.path().to_owned();
        if let Some(q) = parsed.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(PushTarget {
            https,
            address,
            port,
            path,
        })
    }

    /// The path without its query: compared with a slot's [`route`](super::HttpHost::route) to tell the
    /// site's own slot from another system's.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_URL: &str =
        "https://erp.example.com/api/method/attendance_sync.api.push?token=s3cr3t-T0ken_x";

    #[test]
    fn splits_a_site_url() {
        let t = PushTarget::parse(TOKEN_URL).expect("url");
        assert!(t.https);
        assert_eq!(t.address, PushAddress::Hostname("erp.example.com".into()));
        assert_eq!(t.port, 443);
        assert_eq!(
            t.path,
            "/api/method/attendance_sync.api.push?token=s3cr3t-T0ken_x"
        );
        assert_eq!(t.route(), "/api/method/attendance_sync.api.push");
        assert!(!format!("{t:?}").contains("s3cr3t"));

        let t = PushTarget::parse("http://10.0.0.20:8080/p?token=a&b=c").expect("url");
        assert_eq!(t.address, PushAddress::Ipv4("10.0.0.20".into()));
        assert_eq!(t.port, 8080);
        let t = PushTarget::parse("http://[fd00::5]/p").expect("url");
        assert_eq!(t.address, PushAddress::Ipv6("fd00::5".into()));
    }

    #[test]
    fn refuses_what_a_terminal_cannot_post_to() {
        for (url, what) in [
            ("ftp://site/x", "scheme"),
            ("https://user:pw@site/x?token=abc", "credentials"),
            ("https://site/x#token=abc", "fragment"),
            ("site/x", "not a URL"),
            ("", "not a URL"),
        ] {
            let err = PushTarget::parse(url).expect_err(url);
            assert!(
                err.to_string().contains(what) || err.what().contains(what),
                "{err}"
            );
            assert!(!err.to_string().contains("abc"), "{err}");
            assert!(!err.to_string().contains(":pw"), "{err}");
        }
    }
}
