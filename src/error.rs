//! One error type for everything that can go wrong talking to a terminal.
//!
//! Every message names the device and says what to check. None of them can contain the password: the
//! password lives only in [`crate::device::Password`], which has no `Display` and a redacted `Debug`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};

/// Lockout details parsed from the `userCheck` body of a 401 (docs/isapi.md#lockout).
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

/// ISAPI `ResponseStatus` fields carried by an HTTP error (docs/isapi.md#error-envelope).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsapiStatus {
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

/// Everything that can go wrong talking to a terminal. Callers ask rather than parse: [`Error::device`],
/// [`Error::is_transient`], [`Error::is_timeout`], [`Error::is_connect`], [`Error::is_tls`], [`Error::status`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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

    /// The HTTP exchange itself failed: no connection, TLS refused, no answer in time, or the connection
    /// dropped. Its source is the HTTP client's own error.
    #[error(transparent)]
    Transport(Box<TransportError>),

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

    #[error("{device}: the terminal misbehaved during a search: {what}. Nothing after the last complete page was used; restart the terminal or update its firmware if this repeats")]
    Fault { device: String, what: String },
}

impl Error {
    pub fn device(&self) -> &str {
        match self {
            Error::Transport(t) => &t.device,
            Error::Auth { device, .. }
            | Error::Http { device, .. }
            | Error::Protocol { device, .. }
            | Error::Fault { device, .. } => device,
        }
    }

    /// Whether retrying the same request may succeed. Authentication, 4xx and device faults never are:
    /// a retried 401 feeds the terminal's lockout counter.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(t) => t.is_transient(),
            Error::Http { status, .. } => *status >= 500,
            Error::Protocol { .. } => true,
            Error::Auth { .. } | Error::Fault { .. } => false,
        }
    }

    /// The exchange failure, when the request did not get a complete answer.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Error::Transport(t) => Some(t),
            _ => None,
        }
    }

    /// No answer in time (connecting, or waiting for the response).
    pub fn is_timeout(&self) -> bool {
        self.transport().is_some_and(TransportError::is_timeout)
    }

    /// No connection could be made (refused, unreachable, unresolved name, or a connect timeout).
    pub fn is_connect(&self) -> bool {
        self.transport().is_some_and(TransportError::is_connect)
    }

    /// The TLS handshake failed (certificate refused, or the terminal does not speak TLS on that port).
    pub fn is_tls(&self) -> bool {
        self.transport().is_some_and(TransportError::is_tls)
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What kind of exchange failure, decided once where it happened.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TransportKind {
    /// No connection: refused, unreachable, a name that does not resolve, an unusable URL.
    Connect,
    /// Connecting (TCP and TLS) took longer than the connect timeout.
    ConnectTimeout(Duration),
    /// The TLS handshake failed.
    Tls,
    /// No complete answer within the request timeout.
    ResponseTimeout(Duration),
    /// The request went out and the connection closed before the answer was complete.
    Dropped,
}

/// An HTTP exchange with a terminal that did not complete. Classified when it is made, from the HTTP client's
/// own predicates (`is_timeout`, `is_connect`) and the TLS library's error type in its source chain; the
/// original error stays its [`source`](std::error::Error::source), so a log can show the whole chain.
#[derive(Debug)]
pub struct TransportError {
    device: String,
    url: String,
    kind: TransportKind,
    source: reqwest::Error,
}

impl TransportError {
    /// Classifies `source`; the timeouts are the ones the client was configured with.
    pub(crate) fn new(
        device: &str,
        url: &str,
        source: reqwest::Error,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Self {
        let kind = if source.is_timeout() {
            if source.is_connect() {
                TransportKind::ConnectTimeout(connect_timeout)
            } else {
                TransportKind::ResponseTimeout(timeout)
            }
        } else if caused_by_tls(&source) {
            TransportKind::Tls
        } else if source.is_connect() || source.is_builder() {
            TransportKind::Connect
        } else {
            TransportKind::Dropped
        };
        TransportError {
            device: device.to_owned(),
            url: url.to_owned(),
            kind,
            source,
        }
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// No answer in time, while connecting or waiting for the response.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.kind,
            TransportKind::ConnectTimeout(_) | TransportKind::ResponseTimeout(_)
        )
    }

    /// No connection could be made, the connect timeout included.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.kind,
            TransportKind::Connect | TransportKind::ConnectTimeout(_)
        )
    }

    /// The TLS handshake failed.
    pub fn is_tls(&self) -> bool {
        self.kind == TransportKind::Tls
    }

    /// The connection closed after the request went out, before the answer was complete.
    pub fn is_dropped(&self) -> bool {
        self.kind == TransportKind::Dropped
    }

    /// The timeout that ran out, when [`is_timeout`](Self::is_timeout).
    pub fn timeout(&self) -> Option<Duration> {
        match self.kind {
            TransportKind::ConnectTimeout(d) | TransportKind::ResponseTimeout(d) => Some(d),
            _ => None,
        }
    }

    /// Whether the same request may succeed if sent again: a response timeout or a dropped connection. A
    /// connection that cannot be made, or TLS that fails, fails again the same way (the scheduler's next run
    /// is the retry).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            TransportKind::ResponseTimeout(_) | TransportKind::Dropped
        )
    }

    /// The causes on one line, without the HTTP client's wrappers that repeat the URL, e.g. "tcp connect
    /// error: Connection refused (os error 111)".
    fn cause(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut current = std::error::Error::source(&self.source);
        while let Some(err) = current {
            if !err.is::<hyper_util::client::legacy::Error>() {
                let text = err.to_string();
                if !parts.iter().any(|p| p.contains(&text)) {
                    parts.push(text);
                }
            }
            current = err.source();
        }
        if parts.is_empty() {
            self.source.to_string()
        } else {
            parts.join(": ")
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (device, url) = (&self.device, &self.url);
        match self.kind {
            TransportKind::Connect => write!(
                f,
                "{device}: cannot connect to {url}: {}. Check the Device IP and Port, that the terminal is \
                 powered on, and that this server can reach it",
                self.cause()
            ),
            TransportKind::Dropped => write!(
                f,
                "{device}: cannot connect to {url}: connection dropped before the response was complete ({}). \
                 Check the Device IP and Port, that the terminal is powered on, and that this server can reach it",
                self.cause()
            ),
            TransportKind::ConnectTimeout(limit) | TransportKind::ResponseTimeout(limit) => {
                let phase = if self.is_connect() {
                    "connect"
                } else {
                    "waiting for the response"
                };
                write!(
                    f,
                    "{device}: no answer from {url} within {:.1} s ({phase}). Check the network path to the \
                     terminal, or raise the timeout for slow links",
                    limit.as_secs_f64()
                )
            }
            TransportKind::Tls => write!(
                f,
                "{device}: TLS with {url} failed: {}. Terminals use self-signed certificates: turn off 'Verify \
                 TLS Certificate' for this device, or turn off 'Use HTTPS' if it serves plain HTTP",
                self.cause()
            ),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Whether the TLS library failed somewhere in the chain. Its error reaches the HTTP client wrapped in
/// `io::Error`s, whose `source()` skips the error they wrap, so those are descended through `get_ref`.
fn caused_by_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

/// A short, printable prefix of a response body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    text.chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .collect()
}
