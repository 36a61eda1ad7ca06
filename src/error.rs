//! One error type for everything that can go wrong talking to a terminal.
//!
//! Every message names the device and says what to check. None of them can contain the password: the
//! password lives only in [`crate::device::Password`], which has no `Display` and a redacted `Debug`.

use chrono::{DateTime, FixedOffset};

/// Lockout details parsed from the `userCheck` body of a 401 (§2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockInfo {
    /// `lockStatus` was `lock`.
    pub locked: bool,
    /// `retryLoginTime`: attempts left before the terminal locks the account.
    pub retries_left: Option<u32>,
    /// `unlockTime` in seconds, when locked.
    pub unlock_seconds: Option<u64>,
    /// Server time at which the lock ends (now + `unlock_seconds`).
    pub locked_until: Option<DateTime<FixedOffset>>,
}

impl LockInfo {
    fn describe(&self) -> String {
        if self.locked {
            match (self.unlock_seconds, self.locked_until) {
                (Some(secs), Some(until)) => format!(
                    "; the terminal has LOCKED this account for {secs} s more (until {}): no request will be sent before then",
                    until.format("%Y-%m-%d %H:%M:%S%:z")
                ),
                _ => "; the terminal has LOCKED this account".to_owned(),
            }
        } else {
            match self.retries_left {
                Some(n) => format!("; {n} attempt(s) left before the terminal locks the account"),
                None => String::new(),
            }
        }
    }
}

/// ISAPI `ResponseStatus` fields carried by an HTTP error (§3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsapiStatus {
    pub status_code: Option<i64>,
    pub status_string: Option<String>,
    pub sub_status: Option<String>,
    pub error_msg: Option<String>,
}

impl IsapiStatus {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.status_string {
            parts.push(s.clone());
        }
        if let Some(s) = &self.sub_status {
            parts.push(format!("subStatusCode={s}"));
        }
        if let Some(s) = &self.error_msg {
            parts.push(format!("errorMsg={s}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

fn http_hint(status: u16, isapi: &IsapiStatus) -> &'static str {
    match (status, isapi.sub_status.as_deref()) {
        (403, Some("notSupport")) | (404, _) => {
            "this terminal does not offer this ISAPI resource; event search needs access-control firmware \
             (a terminal that cannot be searched has to push its events instead)"
        }
        (403, Some("lowPrivilege")) => "the device user lacks the privilege; use an administrator account",
        (403, _) => "the device refused the request; check the device user's privileges",
        (400, _) => "the terminal rejected the request parameters; check Major/Minor and the firmware version",
        (500..=599, _) => "the terminal reported an internal error or is busy; try again later or restart it",
        _ => "check the device's ISAPI settings and firmware",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The terminal rejected freshly challenged credentials, or reports the account locked.
    #[error(
        "{device}: authentication failed for device user '{user}'{lock}. Check the Device User and Device User \
         Password; this was not retried, because terminals lock the account after a few failed logins",
        lock = lock.describe()
    )]
    Auth {
        device: String,
        user: String,
        lock: LockInfo,
    },

    #[error("{device}: cannot connect to {url}: {reason}. Check the Device IP and Port, that the terminal is powered on, and that this server can reach it")]
    Unreachable {
        device: String,
        url: String,
        reason: String,
    },

    #[error("{device}: no answer from {url} within {seconds:.1} s ({phase}). Check the network path to the terminal, or raise the timeout for slow links")]
    Timeout {
        device: String,
        url: String,
        phase: &'static str,
        seconds: f64,
    },

    #[error("{device}: TLS with {url} failed: {reason}. Terminals use self-signed certificates: turn off 'Verify TLS Certificate' for this device, or turn off 'Use HTTPS' if it serves plain HTTP")]
    Tls {
        device: String,
        url: String,
        reason: String,
    },

    #[error("{device}: HTTP {status} from {path}{isapi}: {hint}", isapi = isapi.describe(), hint = http_hint(*status, isapi))]
    Http {
        device: String,
        status: u16,
        path: String,
        isapi: Box<IsapiStatus>,
    },

    #[error("{device}: malformed response from {path}: {what} (body starts with: {excerpt:?}). Check that the address points at a Hikvision ISAPI terminal; a firmware upgrade may help")]
    Protocol {
        device: String,
        path: String,
        what: String,
        excerpt: String,
    },

    #[error("{device}: the terminal misbehaved during event search: {what}. Nothing after the last complete page was used; restart the terminal or update its firmware if this repeats")]
    Fault { device: String, what: String },
}

impl Error {
    pub fn device(&self) -> &str {
        match self {
            Error::Auth { device, .. }
            | Error::Unreachable { device, .. }
            | Error::Timeout { device, .. }
            | Error::Tls { device, .. }
            | Error::Http { device, .. }
            | Error::Protocol { device, .. }
            | Error::Fault { device, .. } => device,
        }
    }

    /// Whether retrying the same request may succeed. Authentication, 4xx and device faults never are:
    /// a retried 401 feeds the terminal's lockout counter.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { phase, .. } => *phase != "connect",
            Error::Http { status, .. } => *status >= 500,
            Error::Protocol { .. } => true,
            Error::Unreachable { reason, .. } => reason.starts_with("connection dropped"),
            _ => false,
        }
    }
}

/// A short, printable prefix of a response body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    text.chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .collect()
}
