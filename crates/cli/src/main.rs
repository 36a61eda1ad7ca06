//! `attendance-sync`: fetch events, read device info and users, run the simulator or the demo.
//!
//! Exit codes: 0 ok, 2 usage, 3 authentication, 4 unreachable, timeout or TLS, 5 device or protocol error.

// Input from a device or a user must never panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod demo;
mod output;
mod relay;
mod simulate;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use attendance_sync::fetch::{check_window, fetch_events, FetchStop, TimeArg};
use attendance_sync::isapi::{system, IsapiClient};
use attendance_sync::{parse_host, parse_utc_offset, DeviceConfig, Error, HostPort, Password};
use chrono::{DateTime, NaiveDateTime};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{write_events, Format};

#[derive(Parser)]
#[command(
    name = "attendance-sync",
    version,
    about = "Pull attendance events from Hikvision ISAPI terminals"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch every event of a time window, one per line (JSON lines or CSV).
    Fetch {
        #[command(flatten)]
        device: DeviceArgs,
        /// Window start, ISO 8601; without an offset it means the device's own time zone.
        #[arg(long = "from")]
        from: String,
        /// Window end, ISO 8601; without an offset it means the device's own time zone.
        #[arg(long = "to")]
        to: String,
        /// Only events after this serial number (incremental search, where the device supports it).
        #[arg(long)]
        since_serial: Option<u64>,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Model, firmware, serial number, device clock and skew, search capabilities.
    Info {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// The users enrolled on the device.
    Users {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Run the ISAPI terminal simulator.
    Simulate(simulate::SimulateArgs),
    /// Pull LAN terminals and deliver their events to the site's push endpoint through a durable local queue
    /// (docs/push.md); runs until SIGINT or SIGTERM.
    Relay {
        /// The relay's configuration (site, queue, terminals; secrets by environment variable or file).
        #[arg(long)]
        config: PathBuf,
    },
    /// Fetch a week of events from a simulated fleet and print what it took.
    Demo {
        #[arg(long, default_value_t = 3)]
        devices: usize,
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[arg(long, default_value_t = 300)]
        events_per_day: u32,
        #[arg(long, default_value = "demo-out")]
        out_dir: PathBuf,
    },
}

#[derive(Args)]
struct DeviceArgs {
    /// HOST or HOST:PORT (IPv6 as [ADDR]:PORT).
    #[arg(long)]
    host: String,
    #[arg(long)]
    https: bool,
    /// Accept a self-signed certificate (terminals ship with one).
    #[arg(long)]
    insecure: bool,
    #[arg(long)]
    user: String,
    /// Read the password from this environment variable; without it, prompt for it.
    #[arg(long, value_name = "NAME")]
    password_env: Option<String>,
    /// Name used in messages (default: the host).
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value_t = 5)]
    major: u32,
    /// 0 = every minor of the major.
    #[arg(long, default_value_t = 0)]
    minor: u32,
    /// The device's UTC offset, e.g. +06:00 (default: read from the device).
    #[arg(long)]
    utc_offset: Option<String>,
    #[arg(long, default_value_t = 5.0)]
    connect_timeout: f64,
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

/// A usage problem: exit code 2.
struct Usage(String);

/// `--host` as HOST, HOST:PORT or [IPv6]:PORT (the core's address rule).
fn host_port(text: &str) -> Result<HostPort, Usage> {
    parse_host(text).map_err(|e| Usage(format!("--host {text:?}: {e}")))
}

fn seconds(what: &str, v: f64) -> Result<Duration, Usage> {
    if v.is_finite() && v > 0.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(Usage(format!(
            "--{what} must be a positive number of seconds"
        )))
    }
}

fn read_password(args: &DeviceArgs) -> Result<Password, Usage> {
    if let Some(var) = &args.password_env {
        return std::env::var(var).map(Password::new).map_err(|_| {
            Usage(format!(
                "environment variable {var} (--password-env) is not set"
            ))
        });
    }
    if !io::stdin().is_terminal() {
        return Err(Usage(
            "no terminal to prompt for the password: pass --password-env NAME".into(),
        ));
    }
    rpassword::prompt_password(format!("Password for {}@{}: ", args.user, args.host))
        .map(Password::new)
        .map_err(|e| Usage(format!("cannot read the password: {e}")))
}

fn configured_offset(args: &DeviceArgs) -> Result<Option<chrono::FixedOffset>, Usage> {
    match &args.utc_offset {
        Some(t) => parse_utc_offset(t)
            .map(Some)
            .map_err(|e| Usage(format!("--utc-offset: {e}"))),
        None => Ok(None),
    }
}

/// `--from`/`--to` as a window, refused before any request (and before the password prompt) when it is
/// empty or reversed.
fn window(device: &DeviceArgs, from: &str, to: &str) -> Result<(TimeArg, TimeArg), Usage> {
    let (start, end) = (parse_time("from", from)?, parse_time("to", to)?);
    check_window(start, end, configured_offset(device)?)
        .map_err(|e| Usage(format!("--from {from:?} --to {to:?}: {e}")))?;
    Ok((start, end))
}

fn device_config(args: &DeviceArgs) -> Result<DeviceConfig, Usage> {
    let HostPort { host, port } = host_port(&args.host)?;
    let mut cfg = DeviceConfig::new(host, args.user.clone(), read_password(args)?);
    cfg.name = args.name.clone().unwrap_or_else(|| args.host.clone());
    cfg.port = port;
    cfg.https = args.https;
    cfg.verify_tls = !args.insecure;
    cfg.major = args.major;
    cfg.minor = args.minor;
    cfg.utc_offset = configured_offset(args)?;
    cfg.connect_timeout = seconds("connect-timeout", args.connect_timeout)?;
    cfg.timeout = seconds("timeout", args.timeout)?;
    Ok(cfg)
}

fn parse_time(flag: &str, text: &str) -> Result<TimeArg, Usage> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(TimeArg::Aware(t));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(TimeArg::DeviceLocal(n));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let n = if flag == "to" {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        if let Some(n) = n {
            return Ok(TimeArg::DeviceLocal(n));
        }
    }
    Err(Usage(format!(
        "--{flag} {text:?}: expected ISO 8601, e.g. 2024-03-01T08:00:00+06:00 or 2024-03-01"
    )))
}

/// 3 authentication, 4 unreachable / timeout / TLS, 5 anything the device answered wrongly.
fn exit_for(error: &Error) -> ExitCode {
    ExitCode::from(match error {
        Error::Auth { .. } => 3,
        Error::Transport(_) => 4,
        _ => 5,
    })
}

/// Runs a future on a single-threaded runtime; a runtime that cannot start is exit code 1.
fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, ExitCode> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Ok(rt.block_on(fut)),
        Err(e) => {
            eprintln!("attendance-sync: cannot start the I/O runtime: {e}");
            Err(ExitCode::from(1))
        }
    }
}

fn client(args: &DeviceArgs) -> Result<IsapiClient, ExitCode> {
    let cfg = device_config(args).map_err(|Usage(m)| {
        eprintln!("attendance-sync: {m}");
        ExitCode::from(2)
    })?;
    IsapiClient::new(cfg).map_err(|e| {
        eprintln!("attendance-sync: {e}");
        exit_for(&e)
    })
}

fn run_fetch(
    device: &DeviceArgs,
    from: &str,
    to: &str,
    since_serial: Option<u64>,
    format: Format,
    out: Option<PathBuf>,
) -> ExitCode {
    let (start, end) = match window(device, from, to) {
        Ok(t) => t,
        Err(Usage(m)) => {
            eprintln!("attendance-sync: {m}");
            return ExitCode::from(2);
        }
    };
    let client = match client(device) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let bar = if io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut hook = |pages: u32, events: usize| {
        bar.set_message(format!("{pages} pages, {events} events"));
        bar.tick();
        ControlFlow::Continue(())
    };
    let outcome = match block_on(fetch_events(&client, start, end, since_serial, &mut hook)) {
        Ok(o) => o,
        Err(code) => return code,
    };
    bar.finish_and_clear();
    let (result, error) = match outcome {
        Ok(r) => (r, None),
        Err(FetchStop::Failed(f)) => match f.partial {
            Some(p) => (p, Some(f.error)),
            None => {
                eprintln!("attendance-sync: {}", f.error);
                return exit_for(&f.error);
            }
        },
        Err(FetchStop::Cancelled) => return ExitCode::from(1),
    };
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(BufWriter::new(f)),
            Err(e) => {
                eprintln!("attendance-sync: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        },
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    match write_events(&mut sink, &result.events, format) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attendance-sync: cannot write events: {e}");
            return ExitCode::from(1);
        }
        Ok(()) => {}
    }
    let punches = result.events.iter().filter(|e| e.is_punch).count();
    eprintln!(
        "{}: {} events ({punches} punches), {} pages, {} HTTP exchanges, {:.2} s{}",
        result.device,
        result.events.len(),
        result.stats.pages,
        result.stats.exchanges,
        result.stats.seconds,
        if error.is_some() { " (incomplete)" } else { "" }
    );
    if let (Some(since), false) = (since_serial, result.serial_mode) {
        eprintln!(
            "attendance-sync: searched by time, not after serial {since}{}",
            if result.serial_reset_suspected {
                ": events numbered at or below it were recorded after it (counter restarted or terminal replaced)"
            } else {
                ""
            }
        );
    }
    match error {
        Some(e) => {
            eprintln!("attendance-sync: {e}");
            eprintln!(
                "attendance-sync: the events above are complete up to {}",
                result.complete_until.to_rfc3339()
            );
            exit_for(&e)
        }
        None => ExitCode::SUCCESS,
    }
}

fn run_info(device: &DeviceArgs) -> ExitCode {
    let client = match client(device) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let info = match block_on(system::device_info(&client)) {
        Ok(info) => info,
        Err(code) => return code,
    };
    match info {
        Ok(i) => {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            println!("device          {}", i.device);
            println!("model           {}", show(&i.model));
            println!("firmware        {}", show(&i.firmware));
            println!("serial number   {}", show(&i.serial_number));
            println!("MAC address     {}", show(&i.mac_address));
            println!(
                "device clock    {} ({})",
                i.clock.local_time.to_rfc3339(),
                show(&i.clock.time_mode)
            );
            println!(
                "clock skew      {:+.1} s against this machine",
                i.clock.skew_seconds
            );
            println!(
                "event search    {}",
                if i.supports_event_search {
                    "yes"
                } else {
                    "no (push mode only)"
                }
            );
            println!(
                "serial search   {}",
                if i.supports_serial_search {
                    "yes"
                } else {
                    "no"
                }
            );
            println!(
                "users           {}",
                i.user_count.map_or("-".into(), |n| n.to_string())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("attendance-sync: {e}");
            exit_for(&e)
        }
    }
}

fn run_users(device: &DeviceArgs) -> ExitCode {
    let client = match client(device) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let users = match block_on(system::users(&client)) {
        Ok(users) => users,
        Err(code) => return code,
    };
    match users {
        Ok(list) => {
            let mut out = BufWriter::new(io::stdout().lock());
            for u in &list {
                let line = serde_json::to_writer(&mut out, u)
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                if line.is_err() {
                    return ExitCode::from(1);
                }
            }
            let _ = out.flush();
            eprintln!("{} users", list.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("attendance-sync: {e}");
            exit_for(&e)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Fetch {
            device,
            from,
            to,
            since_serial,
            format,
            out,
        } => run_fetch(&device, &from, &to, since_serial, format, out),
        Command::Info { device } => run_info(&device),
        Command::Users { device } => run_users(&device),
        Command::Simulate(args) => simulate::run(&args),
        Command::Relay { config } => relay::run(&config),
        Command::Demo {
            devices,
            days,
            events_per_day,
            out_dir,
        } => {
            block_on(demo::run(devices, days, events_per_day, &out_dir)).unwrap_or_else(|code| code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        let ok = |t: &str| host_port(t).ok().map(|hp| (hp.host, hp.port));
        assert_eq!(ok("10.0.0.5"), Some(("10.0.0.5".into(), None)));
        assert_eq!(ok("10.0.0.5:8080"), Some(("10.0.0.5".into(), Some(8080))));
        assert_eq!(ok("[::1]:80"), Some(("::1".into(), Some(80))));
        assert_eq!(ok("fe80::1"), Some(("fe80::1".into(), None)));
        assert!(ok("http://10.0.0.5").is_none());
        assert!(ok("10.0.0.5:port").is_none());
        match host_port("gate_1.example") {
            Err(Usage(m)) => assert!(m.contains("gate_1.example") && m.contains("--host"), "{m}"),
            Ok(_) => panic!("an invalid host name was accepted"),
        }
    }

    #[test]
    fn window_times() {
        assert!(matches!(
            parse_time("from", "2024-03-01T08:00:00+06:00"),
            Ok(TimeArg::Aware(_))
        ));
        assert!(matches!(
            parse_time("from", "2024-03-01 08:00:00"),
            Ok(TimeArg::DeviceLocal(_))
        ));
        match parse_time("to", "2024-03-01") {
            Ok(TimeArg::DeviceLocal(n)) => assert_eq!(n.to_string(), "2024-03-01 23:59:59"),
            _ => panic!("date-only --to"),
        }
        assert!(parse_time("from", "yesterday").is_err());
    }
}
