//! Everything one simulated device knows and remembers between requests.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::auth::{Account, AuthState};
use super::clock::{device_now, parse_written, WrittenTime};
use super::config::{Faults, FieldStyle, PageFaultKind, ResultOrder};
use super::http_hosts::Slots;
use super::log::{Attendance, Card, Detail, Event, EventLog, Filter, Generated, Selection};
use super::page_fault::PageFaultState;
use super::push::Pusher;
use super::seed::mix;
use super::stats::{Counters, SimStats};
use super::sync::{lock, read, write};
use super::zone::Zone;

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
    log: Arc<EventLog>,
    filter: Filter,
    order: ResultOrder,
    selection: Selection,
}

/// Events to record now, as `POST /sim/events` asks (a person punching at the terminal).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordRequest {
    /// How many events (1 to 10,000; default 1).
    pub count: u32,
    /// Time of the first (RFC 3339, or naive = device time); default: so that the last is the device's now,
    /// and never before the latest event already stored.
    pub at: Option<String>,
    /// Seconds between consecutive events; default 60.
    pub step_secs: Option<i64>,
    /// An enrolled employee number; default: the enrolled people in turn.
    pub employee_no: Option<String>,
    /// Minor code under major 5; default 75 (face).
    pub minor: Option<u32>,
    /// The door (`doorNo`); default 1.
    pub door: Option<u8>,
    /// The card reader of the door (`cardReaderNo`): 1 entry, 2 exit on a two-reader door; default 1.
    pub reader: Option<u8>,
    /// The attendance key pressed (`attendanceStatus`: undefined, checkIn, checkOut, breakIn, breakOut,
    /// overtimeIn, overtimeOut); default undefined.
    pub attendance_status: Option<String>,
}

impl Default for RecordRequest {
    fn default() -> Self {
        RecordRequest {
            count: 1,
            at: None,
            step_secs: None,
            employee_no: None,
            minor: None,
            door: None,
            reader: None,
            attendance_status: None,
        }
    }
}

/// One recorded event, as `POST /sim/events` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    pub serial_no: u64,
    pub time: String,
    pub employee_no: String,
    pub minor: u32,
}

/// What `GET /sim/device` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceSnapshot {
    pub name: String,
    pub serial_number: String,
    /// Serial number the next recorded event gets.
    pub next_serial: u64,
    pub events: usize,
}

/// One device: its log, account, counters and current faults.
pub struct DeviceState {
    identity: Identity,
    zone: Zone,
    style: FieldStyle,
    log: RwLock<Arc<EventLog>>,
    /// `serialNumber` of deviceInfo: a swapped terminal reports another one.
    serial_number: RwLock<String>,
    /// Serial number of the next recorded event; a counter reset sets it back to 1.
    next_serial: Mutex<u64>,
    pub(super) counters: Counters,
    pub(super) auth: AuthState,
    faults: RwLock<Faults>,
    page_fault: Mutex<PageFaultState>,
    rng: Mutex<StdRng>,
    search_cache: Mutex<Option<CachedSearch>>,
    last_page: Mutex<Vec<usize>>,
    /// HTTP listening: where recorded events are pushed (`/sim/push`).
    push: Pusher,
    /// The listening-host slots written over ISAPI (`httpHosts`); the pusher follows one of them.
    http_hosts: Mutex<Slots>,
}

/// Construction parameters of a device.
pub struct DeviceSetup {
    pub identity: Identity,
    pub zone: Zone,
    pub style: FieldStyle,
    pub log: Arc<EventLog>,
    pub account: Account,
    pub faults: Faults,
    pub seed: u64,
}

impl DeviceState {
    pub(super) fn new(setup: DeviceSetup) -> Self {
        let index = setup.identity.index;
        let next_serial = setup.log.max_serial() + 1;
        DeviceState {
            serial_number: RwLock::new(setup.identity.serial_number.clone()),
            identity: setup.identity,
            zone: setup.zone,
            style: setup.style,
            log: RwLock::new(setup.log),
            next_serial: Mutex::new(next_serial),
            counters: Counters::default(),
            auth: AuthState::new(setup.account, mix(setup.seed, index, 0x6175_7468)),
            faults: RwLock::new(setup.faults),
            page_fault: Mutex::new(PageFaultState::default()),
            rng: Mutex::new(StdRng::seed_from_u64(mix(setup.seed, index, 0x6661_756c))),
            search_cache: Mutex::new(None),
            last_page: Mutex::new(Vec::new()),
            push: Pusher::default(),
            http_hosts: Mutex::new(Slots::default()),
        }
    }

    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// The push side (HTTP listening).
    pub fn pusher(&self) -> &Pusher {
        &self.push
    }

    /// The listening-host slots written over ISAPI, locked.
    pub(super) fn http_hosts(&self) -> MutexGuard<'_, Slots> {
        lock(&self.http_hosts)
    }

    pub(super) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// `serialNumber` of `System/deviceInfo`: unique within the fleet until a test swaps it.
    pub fn serial_number(&self) -> String {
        read(&self.serial_number).clone()
    }

    /// Presents another hardware serial number, as a terminal swapped under the same address would.
    pub fn set_serial_number(&self, serial_number: &str) -> Result<(), String> {
        let valid = !serial_number.is_empty()
            && serial_number.len() <= 64
            && serial_number.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err("serial_number must be 1 to 64 ASCII letters and digits".into());
        }
        *write(&self.serial_number) = serial_number.to_owned();
        Ok(())
    }

    /// `macAddress` of `System/deviceInfo`, unique within the fleet.
    pub fn mac_address(&self) -> &str {
        &self.identity.mac
    }

    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    pub(super) fn field_style(&self) -> FieldStyle {
        self.style
    }

    /// The log as it is now; a request works on one such snapshot from start to end.
    pub(super) fn log(&self) -> Arc<EventLog> {
        read(&self.log).clone()
    }

    pub fn event_count(&self) -> usize {
        read(&self.log).len()
    }

    pub fn snapshot(&self) -> DeviceSnapshot {
        // The log lock first, as everywhere else.
        let log = read(&self.log);
        let next_serial = *lock(&self.next_serial);
        DeviceSnapshot {
            name: self.identity.name.clone(),
            serial_number: self.serial_number(),
            next_serial,
            events: log.len(),
        }
    }

    /// Restarts the event counter at 1, as a factory reset or some firmware upgrades do; `clear_log` also
    /// erases the stored events (a factory reset), keeping the enrolled people.
    pub fn reset_serial_counter(&self, clear_log: bool) {
        let mut log = write(&self.log);
        *lock(&self.next_serial) = 1;
        if clear_log {
            *log = Arc::new(log.cleared());
            self.forget_pages();
        }
    }

    /// Records events now, numbered by the device's counter.
    pub fn record(
        &self,
        request: &RecordRequest,
        faults: &Faults,
    ) -> Result<Vec<Recorded>, String> {
        if request.count == 0 || request.count > 10_000 {
            return Err("count must be between 1 and 10000".into());
        }
        let step = request.step_secs.unwrap_or(60);
        if step < 0 {
            return Err("step_secs must not be negative".into());
        }
        let minor = request.minor.unwrap_or(75);
        let attendance = match request.attendance_status.as_deref() {
            None => Attendance::Undefined,
            Some(status) => Attendance::from_status(status)
                .ok_or_else(|| format!("attendance_status {status:?} is not a terminal's value"))?,
        };
        let mut log = write(&self.log);
        let roster = log.roster();
        let people = u32::try_from(roster.people().len()).unwrap_or(u32::MAX);
        let person = match &request.employee_no {
            Some(no) => Some(
                roster
                    .find(no)
                    .ok_or_else(|| format!("employee {no:?} is not enrolled on this device"))?,
            ),
            None if people == 0 => return Err("no people are enrolled on this device".into()),
            None => None,
        };
        let count = i64::from(request.count);
        let first = match &request.at {
            Some(text) => match parse_written(text) {
                Some(WrittenTime::WithOffset(t)) => t.timestamp(),
                Some(WrittenTime::Naive(n)) => self.zone.wall_to_instant(n),
                None => return Err(format!("at {text:?} is not an ISO 8601 time")),
            },
            None => {
                let now = device_now(faults.clock_skew_secs);
                let latest = log.last_ts().map_or(i64::MIN, |t| t.saturating_add(1));
                (now - (count - 1) * step).max(latest)
            }
        };
        let mut next_serial = lock(&self.next_serial);
        let mut events = Vec::with_capacity(request.count as usize);
        let mut recorded = Vec::with_capacity(request.count as usize);
        for (seq, i) in (log.last_seq() + 1..).zip(0..count) {
            let who = person.unwrap_or_else(|| u32::try_from(i).unwrap_or(0) % people.max(1));
            let ts = first + i * step;
            let event = Event {
                seq,
                serial: *next_serial,
                ts,
                major: 5,
                minor,
                person: Some(who),
                detail: Detail::Generated(Generated {
                    reader: request.reader.unwrap_or(1),
                    door: request.door.unwrap_or(1),
                    verify_mode: "cardOrFace",
                    attendance: Some(attendance),
                    mask: "no",
                    card: if minor == 1 {
                        Card::Enrolled
                    } else {
                        Card::None
                    },
                }),
            };
            recorded.push(Recorded {
                serial_no: event.serial,
                time: self.zone.format(ts, false),
                employee_no: roster
                    .get(who)
                    .map(|p| p.employee_no.clone())
                    .unwrap_or_default(),
                minor,
            });
            *next_serial += 1;
            events.push(event);
        }
        let appended = Arc::new(log.with_appended(events.clone()));
        *log = appended.clone();
        self.forget_pages();
        // Pushed while the log lock is held, so pushes leave in recording order.
        self.push.recorded(self, &appended, &events, faults);
        Ok(recorded)
    }

    /// Cached result sets and the last page refer to a log that changed.
    fn forget_pages(&self) {
        *lock(&self.search_cache) = None;
        lock(&self.last_page).clear();
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

    /// The result set for `filter` in `log`, computed once per distinct search.
    pub(super) fn select(
        &self,
        log: &Arc<EventLog>,
        filter: &Filter,
        order: ResultOrder,
    ) -> Selection {
        let mut cache = lock(&self.search_cache);
        let hit = cache
            .as_ref()
            .filter(|c| Arc::ptr_eq(&c.log, log) && &c.filter == filter && c.order == order);
        if let Some(hit) = hit {
            return hit.selection.clone();
        }
        let selection = log.select(filter, order);
        *cache = Some(CachedSearch {
            log: log.clone(),
            filter: filter.clone(),
            order,
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
