//! Everything one simulated device knows and remembers between requests.

use std::sync::{Arc, Mutex, RwLock};

use chrono::FixedOffset;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::auth::{Account, AuthState};
use super::config::{Faults, FieldStyle, PageFaultKind};
use super::log::{EventLog, Filter, Selection};
use super::page_fault::PageFaultState;
use super::seed::mix;
use super::stats::{Counters, SimStats};
use super::sync::{lock, read, write};

pub const MODEL: &str = "DS-K1T341CMFW";
pub const FIRMWARE: &str = "V3.3.15";

/// Static identity reported by `System/deviceInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub index: usize,
    pub serial_number: String,
    pub mac: String,
}

impl Identity {
    /// Serial numbers and MACs stay unique within a fleet (up to a million devices).
    pub fn new(index: usize, seed: u64) -> Self {
        let base = mix(seed, 0, 0x6964) % 9_000_000;
        let mac_base = mix(seed, 0, 0x6d6163) & 0x7F_FFFF;
        let mac = (mac_base + index as u64) & 0xFF_FFFF;
        Identity {
            name: format!("dev{:03}", index + 1),
            index,
            serial_number: format!(
                "{MODEL}20230901V030315ENFH{:07}",
                base + (index as u64 % 1_000_000)
            ),
            mac: format!(
                "04:03:12:{:02x}:{:02x}:{:02x}",
                mac >> 16,
                (mac >> 8) & 0xFF,
                mac & 0xFF
            ),
        }
    }
}

/// The most recent search result set, reused while a client pages through it.
struct CachedSearch {
    filter: Filter,
    selection: Selection,
}

/// One device: its log, account, counters and current faults.
pub struct DeviceState {
    identity: Identity,
    offset: FixedOffset,
    style: FieldStyle,
    log: Arc<EventLog>,
    pub(super) counters: Counters,
    pub(super) auth: AuthState,
    faults: RwLock<Faults>,
    page_fault: Mutex<PageFaultState>,
    rng: Mutex<StdRng>,
    search_cache: Mutex<Option<CachedSearch>>,
    last_page: Mutex<Vec<usize>>,
}

/// Construction parameters of a device.
pub struct DeviceSetup {
    pub identity: Identity,
    pub offset: FixedOffset,
    pub style: FieldStyle,
    pub log: Arc<EventLog>,
    pub account: Account,
    pub faults: Faults,
    pub seed: u64,
}

impl DeviceState {
    pub(super) fn new(setup: DeviceSetup) -> Self {
        let index = setup.identity.index;
        DeviceState {
            identity: setup.identity,
            offset: setup.offset,
            style: setup.style,
            log: setup.log,
            counters: Counters::default(),
            auth: AuthState::new(setup.account, mix(setup.seed, index, 0x6175_7468)),
            faults: RwLock::new(setup.faults),
            page_fault: Mutex::new(PageFaultState::default()),
            rng: Mutex::new(StdRng::seed_from_u64(mix(setup.seed, index, 0x6661_756c))),
            search_cache: Mutex::new(None),
            last_page: Mutex::new(Vec::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.identity.name
    }

    pub(super) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// `serialNumber` of `System/deviceInfo`, unique within the fleet.
    pub fn serial_number(&self) -> &str {
        &self.identity.serial_number
    }

    /// `macAddress` of `System/deviceInfo`, unique within the fleet.
    pub fn mac_address(&self) -> &str {
        &self.identity.mac
    }

    pub fn utc_offset(&self) -> FixedOffset {
        self.offset
    }

    pub(super) fn field_style(&self) -> FieldStyle {
        self.style
    }

    pub(super) fn log(&self) -> &EventLog {
        &self.log
    }

    pub fn event_count(&self) -> usize {
        self.log.len()
    }

    pub fn stats(&self) -> SimStats {
        self.counters.snapshot()
    }

    /// Zeroes the counters and forgets failed logins and any lock.
    pub fn reset_stats(&self) {
        self.counters.reset();
        self.auth.reset_lockout();
    }

    pub fn faults(&self) -> Faults {
        read(&self.faults).clone()
    }

    /// Replaces the faults; a page fault starts counting pages from now.
    pub fn set_faults(&self, faults: Faults) {
        let mut current = write(&self.faults);
        *lock(&self.page_fault) = PageFaultState::default();
        *current = faults;
    }

    /// Seeded coin flip with probability `p`.
    pub(super) fn roll(&self, p: f64) -> bool {
        p > 0.0 && lock(&self.rng).random::<f64>() < p
    }

    /// The result set for `filter`, computed once per distinct search.
    pub(super) fn select(&self, filter: &Filter) -> Selection {
        let mut cache = lock(&self.search_cache);
        if let Some(hit) = cache.as_ref().filter(|c| &c.filter == filter) {
            return hit.selection.clone();
        }
        let selection = self.log.select(filter);
        *cache = Some(CachedSearch {
            filter: filter.clone(),
            selection: selection.clone(),
        });
        selection
    }

    /// Whether the configured page fault fires for the AcsEvent request answered now.
    pub(super) fn take_page_fault(&self, faults: &Faults) -> Option<PageFaultKind> {
        lock(&self.page_fault).take(faults.page_fault.as_ref())
    }

    /// Records a served AcsEvent page (for `RepeatPage` and the page-fault count).
    pub(super) fn page_served(&self, items: Vec<usize>) {
        lock(&self.page_fault).page_served();
        *lock(&self.last_page) = items;
    }

    /// Log indices of the previous AcsEvent page.
    pub(super) fn last_page(&self) -> Vec<usize> {
        lock(&self.last_page).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_unique() {
        let a = Identity::new(0, 5);
        let b = Identity::new(1, 5);
        assert_ne!(a.serial_number, b.serial_number);
        assert_ne!(a.mac, b.mac);
        assert!(a.serial_number.starts_with(MODEL));
        assert_eq!(a.mac.len(), 17);
    }
}
