//! Connection settings of one terminal.

use std::fmt;
use std::time::Duration;

use chrono::FixedOffset;

use crate::device_zone::DeviceZone;
use crate::event::Classifier;

/// A device password. It has no `Display`, and `Debug` prints a placeholder, so it cannot end up in a
/// message or a log line by accident.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// How a page that failed for a transient reason (timeout, 5xx, dropped connection, garbled body) is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Name used in every message (the Device Configuration name in Frappe).
    pub name: String,
    pub host: String,
    pub port: Option<u16>,
    pub https: bool,
    pub verify_tls: bool,
    pub user: String,
    pub password: Password,
    pub major: u32,
    /// 0 = every minor of `major`.
    pub minor: u32,
    /// The device's UTC offset; `None` = read it from `System/time`.
    pub utc_offset: Option<FixedOffset>,
    /// The device's zone with its daylight-saving rule, for request times at other instants than now; `None` =
    /// `utc_offset`, else the rule `System/time` reports.
    pub time_zone: Option<DeviceZone>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Page size asked for; terminals clamp it to 30 silently.
    pub max_results: u32,
    /// Guard against devices that never stop saying MORE.
    pub max_pages: u32,
    pub retry: RetryPolicy,
    pub classifier: Classifier,
}

impl DeviceConfig {
    pub fn new(host: impl Into<String>, user: impl Into<String>, password: Password) -> Self {
        let host = host.into();
        DeviceConfig {
            name: host.clone(),
            host,
            port: None,
            https: false,
            verify_tls: true,
            user: user.into(),
            password,
            major: 5,
            minor: 0,
            utc_offset: None,
            time_zone: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_results: 30,
            max_pages: 20_000,
            retry: RetryPolicy::default(),
            classifier: Classifier::default(),
        }
    }

    /// `http(s)://host[:port]`, with IPv6 literals bracketed.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_debug_is_redacted() {
        let mut cfg = DeviceConfig::new("10.0.0.5", "admin", Password::new("hunter2-secret"));
        cfg.name = "Gate".into();
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn base_url_forms() {
        let mut cfg = DeviceConfig::new("fe80::1", "u", Password::new("p"));
        cfg.port = Some(8080);
        assert_eq!(cfg.base_url(), "http://[fe80::1]:8080");
        cfg.https = true;
        cfg.port = None;
        cfg.host = "gate.local".into();
        assert_eq!(cfg.base_url(), "https://gate.local");
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(250));
        assert_eq!(p.backoff(1), Duration::from_millis(500));
        assert_eq!(p.backoff(40), Duration::from_secs(4));
    }
}
