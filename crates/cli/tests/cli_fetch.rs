//! `attendance-sync fetch` as a person runs it: the binary against the simulator over loopback HTTP.

use std::process::{Command, Output};

use attendance_sync_sim::{self as sim, RecordRequest, SimConfig, SimDevice};
use chrono::FixedOffset;

const PASSWORD_VAR: &str = "ATTENDANCE_SYNC_TEST_PASSWORD";

fn fetch(d: &SimDevice, from: &str, to: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attendance-sync"))
        .args(["fetch", "--host", &format!("127.0.0.1:{}", d.addr.port())])
        .args(["--user", "admin", "--password-env", PASSWORD_VAR])
        .args(["--from", from, "--to", to])
        .args(extra)
        .env(PASSWORD_VAR, SimConfig::default().password)
        .output()
        .expect("the binary runs")
}

// The binary blocks this thread while the simulator answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversed_or_empty_window_is_a_usage_error_before_any_request() {
    let sim = sim::start(SimConfig {
        days: 2,
        events_per_day: 50,
        utc_offset: FixedOffset::east_opt(6 * 3600).expect("offset"),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let d = &sim.devices[0];
    for (from, to, extra) in [
        (
            "2026-03-02T10:00:00+06:00",
            "2026-03-01T10:00:00+06:00",
            &[][..],
        ),
        (
            "2026-03-02T10:00:00+06:00",
            "2026-03-02T10:00:00+06:00",
            &[],
        ),
        ("2026-03-02T10:00:00+06:00", "2026-03-02T04:00:00Z", &[]),
        ("2026-03-02 10:00:00", "2026-03-02 09:59:59", &[]),
        ("2026-03-02", "2026-03-01", &[]),
        // A wall-clock end read in the configured offset: 10:00 at +06:00 is 04:00Z.
        (
            "2026-03-02 10:00:00",
            "2026-03-02T03:00:00Z",
            &["--utc-offset", "+06:00"],
        ),
        // Without an offset nothing tells which of these two comes first.
        ("2026-03-02 10:00:00", "2026-03-02T03:00:00Z", &[]),
    ] {
        let out = fetch(d, from, to, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--from {from} --to {to}: {stderr}"
        );
        assert!(stderr.contains("--from"), "{stderr}");
        assert!(out.stdout.is_empty());
        let stats = d.stats();
        assert_eq!(
            (stats.connections, stats.requests),
            (0, 0),
            "--from {from} --to {to}: nothing reached the terminal"
        );
    }
    // The same command with the window the right way round talks to the terminal and exits 0.
    let ok = fetch(d, "2000-01-01", "2100-01-01", &[]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).lines().count(),
        d.event_count
    );
    assert!(d.stats().requests > 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_serial_after_a_counter_reset_says_so_and_writes_the_new_events() {
    let sim = sim::start(SimConfig {
        days: 1,
        events_per_day: 40,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let d = &sim.devices[0];
    d.state.reset_serial_counter(false);
    d.state
        .record(
            &RecordRequest {
                count: 2,
                ..RecordRequest::default()
            },
            &d.state.faults(),
        )
        .expect("recorded");
    let out = fetch(d, "2000-01-01", "2100-01-01", &["--since-serial", "40"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("counter restarted"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 42);
    sim.shutdown().await;
}
