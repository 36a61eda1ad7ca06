//! Simulator configuration: what the fleet looks like (`SimConfig`) and how badly it behaves (`Faults`).

use super::zone::Zone;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Offset, Utc};
use serde::{Deserialize, Serialize};

/// Realm used when none is configured (a model name, as several terminals do).
pub const DEFAULT_REALM: &str = "DS-K1T341CMFW";
/// Password used when none is configured.
pub const DEFAULT_PASSWORD: &str = "Sim-Pass-1234";
/// Upper bound on generated events per device, to keep a typo from eating all memory.
pub const MAX_EVENTS_PER_DEVICE: usize = 20_000_000;

/// How InfoList items spell empty columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum FieldStyle {
    /// Omit zero/empty fields (DS-K1T342MWX).
    #[default]
    Sparse,
    /// Emit every column with `0` / `""` (DS-K1A340FWX).
    Full,
}

/// How `startTime`/`endTime` of a search are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum TimeHandling {
    /// Convert offsets to instants; naive times are device-local.
    #[default]
    #[serde(rename = "honour", alias = "honour-offset")]
    #[cfg_attr(feature = "clap", value(name = "honour"))]
    HonourOffset,
    /// Ignore any offset: the wall-clock digits are device-local time.
    DeviceLocal,
    /// Naive times are rejected with `badJsonContent` (DS-K1T320).
    RejectNaive,
}

/// In which order a search returns its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ResultOrder {
    /// By event time, equal times in stored order (most firmwares).
    #[default]
    Time,
    /// By record (serial number), whatever the event times: a face terminal whose clock was set back lists
    /// serial 25 at 15:01:58 before serials 26-30 at 13:03.
    Record,
}

/// The device clock was set back once while it recorded its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStep {
    /// Events recorded after this serial carry times this many seconds earlier.
    pub back_secs: i64,
    /// `None`: half way through the history.
    pub after_serial: Option<u64>,
}

/// What an injected page fault does to one AcsEvent search response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageFaultKind {
    /// HTTP 500 with a `Device Error` envelope.
    Status500,
    /// Close the connection without any response.
    Drop,
    /// Send headers with the full Content-Length and half the body, then close.
    DropMidBody,
    /// HTTP 200 with the JSON cut in half.
    Malformed,
    /// Sleep far beyond any client timeout before answering.
    Timeout,
    /// Serve the previous page's items again, marked `MORE`.
    RepeatPage,
    /// 401 with a fresh `stale="FALSE"` challenge although the credentials are fine.
    Unauthorized401,
}

/// A fault that fires on the `on_page`-th AcsEvent page since the faults were set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFault {
    pub kind: PageFaultKind,
    /// 1-based count of AcsEvent 200-pages served since the fault was set.
    #[serde(default = "one")]
    pub on_page: u32,
    /// How many times it fires before it stops; 0 = forever.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// Runtime-switchable misbehaviour of one device. Everything is off by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Delay before answering any /ISAPI request.
    pub latency_ms: u64,
    /// Share (0..1) of authenticated requests answered 503 `deviceBusy`.
    pub error_5xx_rate: f64,
    /// Share (0..1) of authenticated requests whose connection is closed without a response.
    pub drop_rate: f64,
    /// Never say `OK`: keep serving the final page with `MORE`.
    pub more_forever: bool,
    /// Mark the final page `MORE`, then answer `MORE` with zero items.
    pub empty_more: bool,
    /// `numOfMatches` reports the page size even when fewer items are sent.
    pub lie_num_of_matches: bool,
    /// `totalMatches` counts only the results up to the end of the page being served (a firmware reporting
    /// its scan so far) while the status still says `MORE`; event and user search alike (they share the
    /// paging contract).
    pub under_report_total: bool,
    /// Time order (default) or record (serial) order of search results.
    pub result_order: ResultOrder,
    /// Device clock = real clock + skew.
    pub clock_skew_secs: i64,
    /// AcsEvent resources answer 403 `notSupport`.
    pub acs_not_supported: bool,
    /// AcsEvent answers XML labelled `application/json`.
    pub xml_instead_of_json: bool,
    /// `Event/notification/httpHosts` answers 403 `notSupport`: firmware without HTTP listening.
    pub http_hosts_not_supported: bool,
    /// Listening-host slots (`hostNumber`; 2 on DS-K1T342MWX, 3 on cameras).
    pub http_host_slots: u32,
    /// Event times without offset (`2024-03-01 08:00:00`), like the DS-KV6124 intercom.
    pub naive_times: bool,
    /// Search results without `serialNo`, like the DS-KV6124 intercom's.
    pub no_serial_numbers: bool,
    /// Add events from outside the requested window to every first page.
    pub outside_window: bool,
    /// Whether `beginSerialNo`/`endSerialNo` are supported.
    pub serial_search: bool,
    /// Largest accepted `searchResultPosition`.
    pub position_cap: u64,
    /// Silent clamp applied to `maxResults`.
    pub max_results_cap: u32,
    /// Nonce lifetime; 0 = never expires.
    pub nonce_ttl_secs: u64,
    /// Uses allowed per nonce; 0 = unlimited.
    pub nonce_max_uses: u32,
    /// Over-used nonces get a 401 without `WWW-Authenticate` (DS-KV6124).
    pub no_challenge_on_reuse: bool,
    /// Challenge with `algorithm=SHA-256` instead of MD5.
    pub sha256: bool,
    /// Send two challenges, SHA-256 first and MD5 second (some Hikvision-OEM firmwares).
    pub dual_challenge: bool,
    /// Wrong logins before the account locks; 0 disables the lock.
    pub lock_after: u32,
    /// Lock duration.
    pub unlock_secs: u64,
    pub time_handling: TimeHandling,
    pub page_fault: Option<PageFault>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            error_5xx_rate: 0.0,
            drop_rate: 0.0,
            more_forever: false,
            empty_more: false,
            lie_num_of_matches: false,
            under_report_total: false,
            result_order: ResultOrder::Time,
            clock_skew_secs: 0,
            acs_not_supported: false,
            xml_instead_of_json: false,
            http_hosts_not_supported: false,
            http_host_slots: 2,
            naive_times: false,
            no_serial_numbers: false,
            outside_window: false,
            serial_search: true,
            position_cap: 150_000,
            max_results_cap: 30,
            nonce_ttl_secs: 0,
            nonce_max_uses: 0,
            no_challenge_on_reuse: false,
            sha256: false,
            dual_challenge: false,
            lock_after: 5,
            unlock_secs: 1800,
            time_handling: TimeHandling::HonourOffset,
            page_fault: None,
        }
    }
}

impl Faults {
    /// Rejects values the simulator cannot act on.
    pub fn validate(&self) -> Result<(), String> {
        check_share("error_5xx_rate", self.error_5xx_rate)?;
        check_share("drop_rate", self.drop_rate)?;
        if !(1..=8).contains(&self.http_host_slots) {
            return Err("http_host_slots must be between 1 and 8".into());
        }
        if self.max_results_cap == 0 {
            return Err("max_results_cap must be at least 1".into());
        }
        Ok(())
    }
}

/// Everything needed to start a fleet of simulated devices.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub devices: usize,
    /// IP and first port; port 0 gives every device its own free port, otherwise ports are consecutive.
    pub listen: SocketAddr,
    pub user: String,
    pub password: String,
    pub realm: String,
    pub seed: u64,
    pub employees: usize,
    pub events_per_day: u32,
    pub days: u32,
    /// End of the generated history; `None` = now on the device clock.
    pub history_end: Option<DateTime<FixedOffset>>,
    pub utc_offset: FixedOffset,
    /// A time zone with daylight saving (`--time-zone`); `utc_offset` when none.
    pub time_zone: Option<Zone>,
    /// Share of events without a person (door relay/contact events).
    pub door_event_share: f64,
    /// Share of denied authentications.
    pub failed_auth_share: f64,
    /// Share of person events sharing the second of the previous one.
    pub burst_share: f64,
    pub field_style: FieldStyle,
    /// JSONL file of InfoList-style objects served instead of generated events.
    pub events_file: Option<PathBuf>,
    /// A clock set back part way through the history (events recorded after it carry earlier times).
    pub clock_step: Option<ClockStep>,
    pub https: bool,
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            devices: 1,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            user: "admin".into(),
            password: DEFAULT_PASSWORD.into(),
            realm: DEFAULT_REALM.into(),
            seed: 1,
            employees: 50,
            events_per_day: 200,
            days: 7,
            history_end: None,
            utc_offset: Utc.fix(),
            time_zone: None,
            door_event_share: 0.25,
            failed_auth_share: 0.03,
            burst_share: 0.05,
            field_style: FieldStyle::Sparse,
            events_file: None,
            clock_step: None,
            https: false,
            faults: Faults::default(),
        }
    }
}

impl SimConfig {
    /// Events generated per device (when no events file is given).
    pub fn events_per_device(&self) -> usize {
        (self.events_per_day as usize).saturating_mul(self.days as usize)
    }

    /// Checks the configuration before anything is bound or generated.
    pub fn validate(&self) -> Result<(), String> {
        if self.devices == 0 {
            return Err("at least one device is required".into());
        }
        if self.listen.port() != 0 && usize::from(self.listen.port()) + self.devices - 1 > 65535 {
            return Err(format!(
                "{} consecutive ports starting at {} exceed 65535",
                self.devices,
                self.listen.port()
            ));
        }
        if self.employees == 0 {
            return Err("at least one employee is required".into());
        }
        if self.user.is_empty() {
            return Err("user must not be empty".into());
        }
        let total = (self.events_per_day as usize)
            .checked_mul(self.days as usize)
            .ok_or("events-per-day × days overflows")?;
        if total > MAX_EVENTS_PER_DEVICE {
            return Err(format!(
                "{total} events per device exceed the limit of {MAX_EVENTS_PER_DEVICE}"
            ));
        }
        if self.clock_step.is_some_and(|step| step.back_secs <= 0) {
            return Err("a clock step back must be at least one second".into());
        }
        check_share("door_event_share", self.door_event_share)?;
        check_share("failed_auth_share", self.failed_auth_share)?;
        check_share("burst_share", self.burst_share)?;
        if self.door_event_share + self.failed_auth_share > 1.0 {
            return Err("door_event_share + failed_auth_share must not exceed 1".into());
        }
        self.faults.validate()
    }
}

fn check_share(name: &str, value: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be between 0 and 1, got {value}"))
    }
}
