//! `attendance-sync simulate`: the simulator's flags, and serving a fleet until SIGINT or SIGTERM.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use attendance_sync::parse_utc_offset;
use attendance_sync_sim::{
    self as sim, ClockStep, Faults, FieldStyle, PushConfig, PushFormat, ResultOrder, SimConfig,
    SimDevice, TimeHandling, Zone, DEFAULT_PASSWORD, DEFAULT_REALM,
};
use chrono::DateTime;

/// Serve simulated Hikvision access terminals over ISAPI.
#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// First address to listen on; port 0 gives every device its own free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Number of devices.
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Account user name.
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// Account password.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Digest realm.
    #[arg(long, default_value = DEFAULT_REALM)]
    pub realm: String,
    /// Events per day per device (door and denied events included).
    #[arg(long, default_value_t = 200)]
    pub events_per_day: u32,
    /// Days of history.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Enrolled people, shared by all devices.
    #[arg(long, default_value_t = 50)]
    pub employees: usize,
    /// Seed of everything random.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Device time zone as a UTC offset, e.g. +06:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    pub utc_offset: String,
    /// Device time zone with daylight saving, as a POSIX TZ rule (e.g. `CET-1CEST,M3.5.0,M10.5.0/3`): events
    /// carry the offset of their instant and System/time reports the rule as terminals do. Overrides
    /// --utc-offset.
    #[arg(long)]
    pub time_zone: Option<String>,
    /// End of the generated history (RFC 3339); default: now on the device clock.
    #[arg(long)]
    pub history_end: Option<String>,
    /// Share of door events without a person.
    #[arg(long, default_value_t = 0.25)]
    pub door_event_share: f64,
    /// Share of denied authentications.
    #[arg(long, default_value_t = 0.03)]
    pub failed_auth_share: f64,
    /// Share of person events in the same second as the previous one.
    #[arg(long, default_value_t = 0.05)]
    pub burst_share: f64,
    /// Serve HTTPS with a self-signed certificate.
    #[arg(long)]
    pub https: bool,
    /// InfoList field style.
    #[arg(long, value_enum, default_value = "sparse")]
    pub field_style: FieldStyle,
    /// JSONL events file served instead of generated events.
    #[arg(long)]
    pub events_file: Option<PathBuf>,
    /// The device clock was set back by this many seconds part way through the history: events recorded
    /// after the step carry earlier times than events recorded before it.
    #[arg(long)]
    pub clock_step_back_secs: Option<i64>,
    /// The last serial recorded before the clock step (default: half way through the history).
    #[arg(long, requires = "clock_step_back_secs")]
    pub clock_step_after_serial: Option<u64>,
    /// Order of search results: by event time, or by record (serial number) like some face terminals.
    #[arg(long, value_enum, default_value = "time")]
    pub result_order: ResultOrder,
    /// Interpretation of search start/end times.
    #[arg(long, value_enum, default_value = "honour")]
    pub time_handling: TimeHandling,
    /// Delay before every /ISAPI answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Device clock skew against the real clock.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_skew_secs: i64,
    /// Share of requests answered 503 deviceBusy.
    #[arg(long, default_value_t = 0.0)]
    pub error_5xx_rate: f64,
    /// Share of requests whose connection is dropped.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Never finish a search: keep serving the final page with MORE.
    #[arg(long)]
    pub more_forever: bool,
    /// End searches with a MORE page without items.
    #[arg(long)]
    pub empty_more: bool,
    /// Report numOfMatches = page size even on short pages.
    #[arg(long)]
    pub lie_num_of_matches: bool,
    /// Report totalMatches only up to the end of the page served, while still saying MORE.
    #[arg(long)]
    pub under_report_total: bool,
    /// AcsEvent answers 403 notSupport.
    #[arg(long)]
    pub acs_not_supported: bool,
    /// AcsEvent answers XML labelled application/json.
    #[arg(long)]
    pub xml_instead_of_json: bool,
    /// Event times without UTC offset.
    #[arg(long)]
    pub naive_times: bool,
    /// Search results without serialNo (like an intercom's).
    #[arg(long)]
    pub no_serial_numbers: bool,
    /// Add events outside the requested window to first pages.
    #[arg(long)]
    pub outside_window: bool,
    /// Reject beginSerialNo/endSerialNo.
    #[arg(long)]
    pub no_serial_search: bool,
    /// Largest accepted searchResultPosition.
    #[arg(long, default_value_t = 150_000)]
    pub position_cap: u64,
    /// Silent maxResults clamp.
    #[arg(long, default_value_t = 30)]
    pub max_results_cap: u32,
    /// Nonce lifetime in seconds (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub nonce_ttl_secs: u64,
    /// Uses per nonce (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub nonce_max_uses: u32,
    /// Over-used nonces get a 401 without WWW-Authenticate.
    #[arg(long)]
    pub no_challenge_on_reuse: bool,
    /// Digest with SHA-256 instead of MD5.
    #[arg(long)]
    pub sha256: bool,
    /// Offer SHA-256 and MD5 as two challenges.
    #[arg(long)]
    pub dual_challenge: bool,
    /// Wrong logins before the lock (0 = never lock).
    #[arg(long, default_value_t = 5)]
    pub lock_after: u32,
    /// Lock duration in seconds.
    #[arg(long, default_value_t = 1800)]
    pub unlock_secs: u64,
    /// Firmware without HTTP listening: Event/notification/httpHosts answers 403 notSupport.
    #[arg(long)]
    pub no_http_listening: bool,
    /// Listening-host slots (hostNumber) of each device.
    #[arg(long, default_value_t = 2)]
    pub http_host_slots: u32,
    /// Every device pushes its new events to this http:// URL from the start (as `PUT /sim/push`).
    #[arg(long)]
    pub push_url: Option<String>,
    /// Push body shape (default: event-log with --push-url; for hosts written over ISAPI, json).
    #[arg(long, value_enum)]
    pub push_format: Option<PushFormat>,
    /// Share (0..1) of event pushes lost on the way (the events stay searchable).
    #[arg(long, default_value_t = 0.0)]
    pub push_drop_share: f64,
}

impl SimulateArgs {
    /// Builds and validates the configuration.
    pub fn to_config(&self) -> Result<SimConfig, String> {
        let history_end = match &self.history_end {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| format!("invalid --history-end {text:?}: {e}"))?,
            ),
        };
        let faults = Faults {
            latency_ms: self.latency_ms,
            error_5xx_rate: self.error_5xx_rate,
            drop_rate: self.drop_rate,
            more_forever: self.more_forever,
            empty_more: self.empty_more,
            lie_num_of_matches: self.lie_num_of_matches,
            under_report_total: self.under_report_total,
            result_order: self.result_order,
            clock_skew_secs: self.clock_skew_secs,
            acs_not_supported: self.acs_not_supported,
            xml_instead_of_json: self.xml_instead_of_json,
            naive_times: self.naive_times,
            no_serial_numbers: self.no_serial_numbers,
            outside_window: self.outside_window,
            serial_search: !self.no_serial_search,
            position_cap: self.position_cap,
            max_results_cap: self.max_results_cap,
            nonce_ttl_secs: self.nonce_ttl_secs,
            nonce_max_uses: self.nonce_max_uses,
            no_challenge_on_reuse: self.no_challenge_on_reuse,
            sha256: self.sha256,
            dual_challenge: self.dual_challenge,
            lock_after: self.lock_after,
            unlock_secs: self.unlock_secs,
            time_handling: self.time_handling,
            http_hosts_not_supported: self.no_http_listening,
            http_host_slots: self.http_host_slots,
            page_fault: None,
        };
        let config = SimConfig {
            devices: self.devices,
            listen: self.listen,
            user: self.user.clone(),
            password: self.password.clone(),
            realm: self.realm.clone(),
            seed: self.seed,
            employees: self.employees,
            events_per_day: self.events_per_day,
            days: self.days,
            history_end,
            utc_offset: parse_utc_offset(&self.utc_offset)
                .map_err(|e| format!("--utc-offset: {e}"))?,
            time_zone: self
                .time_zone
                .as_deref()
                .map(Zone::with_rule)
                .transpose()
                .map_err(|e| format!("--time-zone: {e}"))?,
            door_event_share: self.door_event_share,
            failed_auth_share: self.failed_auth_share,
            burst_share: self.burst_share,
            field_style: self.field_style,
            events_file: self.events_file.clone(),
            clock_step: self.clock_step_back_secs.map(|back_secs| ClockStep {
                back_secs,
                after_serial: self.clock_step_after_serial,
            }),
            https: self.https,
            faults,
        };
        config.validate()?;
        Ok(config)
    }

    /// The push setup the flags ask for (`None`: none given, `PUT /sim/push` and ISAPI decide).
    pub fn to_push(&self) -> Result<Option<PushConfig>, String> {
        if self.push_url.is_none() && self.push_format.is_none() && self.push_drop_share == 0.0 {
            return Ok(None);
        }
        let format = self.push_format.unwrap_or(if self.push_url.is_some() {
            PushFormat::EventLog
        } else {
            PushFormat::Json
        });
        let push = PushConfig {
            url: self.push_url.clone(),
            format,
            drop_share: self.push_drop_share,
            seed: self.seed,
            ..PushConfig::default()
        };
        push.validate().map_err(|e| format!("--push-*: {e}"))?;
        Ok(Some(push))
    }
}

/// Starts the fleet, prints one `device NAME URL events=N` line per device (what
/// `attendance_sync/simulator.py` reads), and serves until SIGINT or SIGTERM.
pub fn run(args: &SimulateArgs) -> ExitCode {
    let config = match args.to_config().and_then(|c| Ok((c, args.to_push()?))) {
        Ok(config) => config,
        Err(msg) => {
            eprintln!("simulate: {msg}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("simulate: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (config, push) = config;
    runtime.block_on(async {
        let fleet = match sim::start(config).await {
            Ok(fleet) => fleet,
            Err(e) => {
                eprintln!("simulate: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(push) = push {
            for device in &fleet.devices {
                if let Err(e) = device.set_push(push.clone()) {
                    eprintln!("simulate: {}: {e}", device.name);
                    return ExitCode::from(2);
                }
            }
        }
        announce(&fleet.devices);
        wait_for_signal().await;
        fleet.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Prints the device lines; a closed stdout must not stop the fleet.
fn announce(devices: &[SimDevice]) {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for device in devices {
        let _ = writeln!(
            out,
            "device {} {} events={}",
            device.name,
            device.base_url(),
            device.event_count
        );
    }
    let _ = out.flush();
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn parse(args: &[&str]) -> Result<SimConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("simulate").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.args.to_config()
    }

    #[test]
    fn defaults_match_sim_config() {
        let config = parse(&[]).expect("defaults");
        let default = SimConfig::default();
        assert_eq!(config.faults, default.faults);
        assert_eq!(config.listen, default.listen);
        assert_eq!(config.password, default.password);
        assert_eq!(config.events_per_device(), 1400);
    }

    #[test]
    fn push_flags() {
        let cli = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("simulate").chain(args.iter().copied()))
                .map_err(|e| e.to_string())
                .and_then(|c| c.args.to_push())
        };
        assert_eq!(cli(&[]).expect("none"), None);
        let push = cli(&[
            "--push-url",
            "http://127.0.0.1:8000/x?token=t",
            "--push-drop-share",
            "0.1",
        ])
        .expect("push")
        .expect("some");
        assert_eq!(push.format, PushFormat::EventLog);
        assert_eq!(push.drop_share, 0.1);
        let shape = cli(&["--push-format", "access-controller-event"])
            .expect("shape")
            .expect("some");
        assert_eq!(shape.url, None);
        assert_eq!(shape.format, PushFormat::AccessControllerEvent);
        assert_eq!(
            cli(&["--push-drop-share", "0.2"])
                .expect("json")
                .map(|p| p.format),
            Some(PushFormat::Json)
        );
        assert!(cli(&["--push-drop-share", "2"]).is_err());
        assert!(cli(&["--push-url", "https://site/x"]).is_err());
        let config = parse(&["--no-http-listening", "--http-host-slots", "3"]).expect("flags");
        assert!(config.faults.http_hosts_not_supported);
        assert_eq!(config.faults.http_host_slots, 3);
    }

    #[test]
    fn flags_reach_the_config() {
        let config = parse(&[
            "--utc-offset",
            "-03:00",
            "--no-serial-search",
            "--time-handling",
            "reject-naive",
            "--field-style",
            "full",
            "--clock-skew-secs",
            "-90",
            "--devices",
            "3",
            "--result-order",
            "record",
            "--under-report-total",
            "--clock-step-back-secs",
            "7200",
            "--clock-step-after-serial",
            "25",
        ])
        .expect("parse");
        assert_eq!(config.utc_offset.local_minus_utc(), -3 * 3600);
        assert!(!config.faults.serial_search);
        assert_eq!(config.faults.time_handling, TimeHandling::RejectNaive);
        assert_eq!(config.field_style, FieldStyle::Full);
        assert_eq!(config.faults.clock_skew_secs, -90);
        assert_eq!(config.devices, 3);
        assert_eq!(config.faults.result_order, ResultOrder::Record);
        assert!(config.faults.under_report_total);
        assert_eq!(
            config.clock_step,
            Some(ClockStep {
                back_secs: 7200,
                after_serial: Some(25)
            })
        );
    }

    #[test]
    fn invalid_values_are_reported() {
        assert!(parse(&["--utc-offset", "6"]).is_err());
        assert!(parse(&["--drop-rate", "1.5"]).is_err());
        assert!(parse(&["--devices", "0"]).is_err());
        assert!(parse(&["--listen", "127.0.0.1:65535", "--devices", "2"]).is_err());
        assert!(parse(&["--clock-step-back-secs", "0"]).is_err());
        assert!(parse(&["--clock-step-after-serial", "5"]).is_err());
    }
}
