//! Per-device request counters, readable over `/sim/stats`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of a device's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// Every HTTP request to /ISAPI, 401s included.
    pub requests: u64,
    /// All 401 responses.
    pub unauthorized: u64,
    /// Wrong-password 401s.
    pub failed_logins: u64,
    /// 401s for expired, unknown or over-used nonces.
    pub stale: u64,
    /// AcsEvent search pages answered with 200.
    pub acs_event_pages: u64,
    /// InfoList items served.
    pub events_served: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// Completed TLS handshakes.
    pub tls_handshakes: u64,
    /// UserInfo search pages answered with 200.
    pub user_pages: u64,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Requests,
    Unauthorized,
    FailedLogins,
    Stale,
    AcsEventPages,
    EventsServed,
    Connections,
    TlsHandshakes,
    UserPages,
}

const COUNTERS: usize = 9;

#[derive(Debug, Default)]
pub struct Counters {
    values: [AtomicU64; COUNTERS],
}

impl Counters {
    pub fn add(&self, counter: Counter, n: u64) {
        self.values[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn bump(&self, counter: Counter) {
        self.add(counter, 1);
    }

    pub fn reset(&self) {
        for value in &self.values {
            value.store(0, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> SimStats {
        let get = |c: Counter| self.values[c as usize].load(Ordering::Relaxed);
        SimStats {
            requests: get(Counter::Requests),
            unauthorized: get(Counter::Unauthorized),
            failed_logins: get(Counter::FailedLogins),
            stale: get(Counter::Stale),
            acs_event_pages: get(Counter::AcsEventPages),
            events_served: get(Counter::EventsServed),
            connections: get(Counter::Connections),
            tls_handshakes: get(Counter::TlsHandshakes),
            user_pages: get(Counter::UserPages),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let c = Counters::default();
        c.bump(Counter::Requests);
        c.add(Counter::EventsServed, 30);
        c.bump(Counter::UserPages);
        let s = c.snapshot();
        assert_eq!(
            (s.requests, s.events_served, s.user_pages, s.stale),
            (1, 30, 1, 0)
        );
        c.reset();
        assert_eq!(c.snapshot(), SimStats::default());
    }
}
