//! `attendance-sync demo`: the main job against a simulated fleet, end to end over loopback HTTP.

use std::fs;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;

use attendance_sync::fetch::TimeArg;
use attendance_sync::sync::{fetch_many, DEFAULT_CONCURRENCY};
use attendance_sync::{DeviceConfig, Password};
use attendance_sync_sim::{self as sim, SimConfig};
use chrono::{Duration, Utc};

use crate::output::{write_events, Format};

pub async fn run(devices: usize, days: u32, events_per_day: u32, out_dir: &Path) -> ExitCode {
    let config = SimConfig {
        devices,
        days,
        events_per_day,
        ..SimConfig::default()
    };
    let (user, password) = (config.user.clone(), config.password.clone());
    let running = match sim::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("demo: cannot start the simulator: {e}");
            return ExitCode::from(1);
        }
    };
    let configs: Vec<DeviceConfig> = running
        .devices
        .iter()
        .map(|d| {
            let mut cfg = DeviceConfig::new(
                d.addr.ip().to_string(),
                user.clone(),
                Password::new(password.clone()),
            );
            cfg.port = Some(d.addr.port());
            cfg.name = d.name.clone();
            cfg
        })
        .collect();
    println!(
        "Simulated fleet ({} terminals, {days} days of events each):",
        running.devices.len()
    );
    for d in &running.devices {
        println!(
            "  {}  {}  events stored: {}",
            d.name,
            d.base_url(),
            d.event_count
        );
    }
    // A day of margin on both sides: the simulator's history ends at its own clock.
    let end = Utc::now() + Duration::days(1);
    let start = end - Duration::days(i64::from(days) + 2);
    let results = match fetch_many(
        configs,
        TimeArg::Aware(start.fixed_offset()),
        TimeArg::Aware(end.fixed_offset()),
        DEFAULT_CONCURRENCY,
        None,
    )
    .await
    {
        Ok(r) => r,
        Err(_) => {
            running.shutdown().await;
            return ExitCode::from(1);
        }
    };

    println!();
    println!("| device | events | check-in events | pages | HTTP exchanges | seconds |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut punches = Vec::new();
    let mut failed = false;
    for (name, result) in results {
        match result {
            Ok(r) => {
                let checkins = r.events.iter().filter(|e| e.is_punch).count();
                println!(
                    "| {name} | {} | {checkins} | {} | {} | {:.3} |",
                    r.events.len(),
                    r.stats.pages,
                    r.stats.exchanges,
                    r.stats.seconds
                );
                punches.extend(r.events.into_iter().filter(|e| e.is_punch));
            }
            Err(f) => {
                failed = true;
                println!("| {name} | failed: {} | | | | |", f.error);
            }
        }
    }
    running.shutdown().await;

    let path = out_dir.join("punches.jsonl");
    let written = fs::create_dir_all(out_dir)
        .and_then(|()| fs::File::create(&path))
        .and_then(|f| write_events(&mut BufWriter::new(f), &punches, Format::Jsonl));
    match written {
        Ok(()) => println!("\n{} punches written to {}", punches.len(), path.display()),
        Err(e) => {
            eprintln!("demo: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    if failed {
        ExitCode::from(5)
    } else {
        ExitCode::SUCCESS
    }
}
