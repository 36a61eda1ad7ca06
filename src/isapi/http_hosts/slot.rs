//! One listening-host slot as the terminal reports it, and the slot choice: whether the site may write its
//! push URL into a slot without cutting another system off.

use std::fmt;

use super::redact::redact_url;

/// One listening-host slot as the terminal reports it. An unused slot has an empty `path` and no host (or
/// `0.0.0.0`).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpHost {
    pub id: u32,
    /// `protocolType`: `HTTP`, `HTTPS`, or another transport (`EHome` for a cloud platform's slot).
    pub protocol: String,
    /// The address the terminal posts to (`ipAddress`, `ipv6Address` or `hostName`, as
    /// `addressingFormatType` says); `None` for an unused slot.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `url`: the path and query posted to (some firmwares hold a whole URL here).
    pub path: String,
    /// `parameterFormatType` (`JSON`, `XML`).
    pub format: Option<String>,
    /// `httpAuthenticationMethod` (`none`, `MD5digest`, `base64`).
    pub auth: Option<String>,
}

impl HttpHost {
    /// Whether the slot holds no host: nothing is pushed from it.
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.path.is_empty()
    }

    fn scheme(&self) -> Option<&'static str> {
        match self.protocol.to_ascii_uppercase().as_str() {
            "HTTP" => Some("http"),
            "HTTPS" => Some("https"),
            _ => None,
        }
    }

    /// The whole URL the terminal posts to, token included (the default port left out); `None` for an unused
    /// slot and for a transport that is not HTTP(S).
    pub fn url(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let lower = self.path.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Some(self.path.clone());
        }
        let scheme = self.scheme()?;
        let host = self.host.as_deref()?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let default = if scheme == "https" { 443 } else { 80 };
        let port = match self.port {
            Some(p) if p != default => format!(":{p}"),
            _ => String::new(),
        };
        let path = if self.path.starts_with('/') {
            self.path.clone()
        } else {
            format!("/{}", self.path)
        };
        Some(format!("{scheme}://{host}{port}{path}"))
    }

    /// The path without its query: what tells the site's own slot from another system's.
    pub fn route(&self) -> &str {
        let path = self.path.split(['?', '#']).next().unwrap_or_default();
        let lower = path.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let after_scheme = path.find("//").map_or(path, |i| &path[i + 2..]);
            return after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        }
        path
    }

    /// The slot choice: whether the slot posts to another system (in use, and to a path other than the site's
    /// `route`), which writing the site's URL into it would cut off. An unused slot, or one that posts to the
    /// site's path (an older token, another site address), is free.
    pub fn posts_elsewhere(&self, route: &str) -> bool {
        !self.is_empty() && self.route() != route
    }

    /// What the slot holds, for a message: its URL, or its protocol, host and path; query redacted.
    pub fn shown(&self) -> String {
        redact_url(&self.url().unwrap_or_else(|| {
            format!(
                "{} {}{}",
                self.protocol,
                self.host.as_deref().unwrap_or(""),
                self.path
            )
        }))
    }
}

impl fmt::Debug for HttpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpHost")
            .field("id", &self.id)
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &redact_url(&self.path))
            .field("format", &self.format)
            .field("auth", &self.auth)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(protocol: &str, host: Option<&str>, port: Option<u16>, path: &str) -> HttpHost {
        HttpHost {
            id: 1,
            protocol: protocol.into(),
            host: host.map(str::to_owned),
            port,
            path: path.into(),
            format: None,
            auth: None,
        }
    }

    #[test]
    fn a_slot_is_free_when_unused_or_the_sites_own() {
        let route = "/api/method/attendance_sync.api.push";
        let empty = slot("HTTP", None, Some(80), "");
        assert!(!empty.posts_elsewhere(route));
        let ours = slot(
            "HTTPS",
            Some("old.example.com"),
            Some(443),
            "/api/method/attendance_sync.api.push?token=old",
        );
        assert!(!ours.posts_elsewhere(route));
        let vms = slot("HTTP", Some("10.0.0.9"), Some(8080), "/vms/events?k=1");
        assert!(vms.posts_elsewhere(route));
        assert_eq!(vms.shown(), "http://10.0.0.9:8080/vms/events?k=<redacted>");
        let cloud = slot("EHome", Some("cloud.example.com"), None, "/e?t=1");
        assert!(cloud.posts_elsewhere(route));
        assert_eq!(cloud.shown(), "EHome cloud.example.com/e?t=<redacted>");
    }

    #[test]
    fn urls_and_routes() {
        let v6 = slot("HTTP", Some("fd00::5"), Some(80), "p?token=a");
        assert_eq!(v6.url().as_deref(), Some("http://[fd00::5]/p?token=a"));
        assert_eq!(v6.route(), "p");
        let whole = slot("HTTP", Some("10.0.0.9"), Some(8080), "HTTP://h/x/y?z=1");
        assert_eq!(whole.url().as_deref(), Some("HTTP://h/x/y?z=1"));
        assert_eq!(whole.route(), "/x/y");
        assert!(!format!("{v6:?}").contains("token=a"));
    }
}
