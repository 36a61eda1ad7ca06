//! Running `attendance-sync relay` in a test: a relay.toml for a simulated fleet, the binary as a child process
//! with its stderr in a file, what the terminals hold, what the receiver stored and what the queue holds.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use attendance_sync_sim::{self as sim, RunningSim, SimConfig};
use chrono::FixedOffset;

use super::{Received, Receiver};

pub const PASSWORD_VAR: &str = "ATTENDANCE_SYNC_RELAY_TEST_PASSWORD";

/// A simulated fleet at UTC+6 with a day of history ending at the device clock.
pub async fn terminals(devices: usize, events_per_day: u32) -> RunningSim {
    sim::start(SimConfig {
        devices,
        days: 1,
        events_per_day,
        utc_offset: FixedOffset::east_opt(6 * 3600).expect("offset"),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The push token of the `index`-th device.
pub fn token(index: usize) -> String {
    format!("tok-{index}-a1b2c3d4e5f6")
}

/// A fresh directory with relay.toml for `fleet`, delivering to `site`.
pub fn setup(test: &str, fleet: &RunningSim, site: SocketAddr) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "attendance-sync-relay-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut toml = format!(
        "site = \"http://{site}\"\nqueue = \"{}\"\npoll_secs = 0.3\nbackfill_hours = 48\nsite_timeout_secs = 5\n\
         retry_first_secs = 0.1\nretry_max_secs = 0.5\n",
        queue_path(&dir).display()
    );
    for (i, d) in fleet.devices.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[device]]\nname = \"{}\"\nhost = \"127.0.0.1:{}\"\nuser = \"admin\"\npassword_env = \"{PASSWORD_VAR}\"\n\
             token_env = \"RELAY_TEST_TOKEN_{i}\"\n",
            d.name,
            d.addr.port()
        ));
    }
    std::fs::write(dir.join("relay.toml"), toml).expect("config written");
    dir
}

pub fn queue_path(dir: &Path) -> PathBuf {
    dir.join("queue.sqlite3")
}

/// The relay command for `dir`, with the password and the fleet's tokens in its environment.
pub fn relay_command(dir: &Path, devices: usize) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attendance-sync"));
    cmd.args(["relay", "--config"])
        .arg(dir.join("relay.toml"))
        .env(PASSWORD_VAR, SimConfig::default().password);
    for i in 0..devices {
        cmd.env(format!("RELAY_TEST_TOKEN_{i}"), token(i));
    }
    cmd
}

/// Starts the relay binary; its stderr goes to `dir/stderr-N.log`.
pub fn start_relay(dir: &Path, fleet: &RunningSim, run: usize) -> Child {
    let log = File::create(dir.join(format!("stderr-{run}.log"))).expect("log file");
    relay_command(dir, fleet.devices.len())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the relay starts")
}

/// What the relay of run `run` wrote to stderr so far.
pub fn relay_log(dir: &Path, run: usize) -> String {
    std::fs::read_to_string(dir.join(format!("stderr-{run}.log"))).expect("relay log")
}

pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Every (token, serial) the terminals hold: serials 1 to next_serial - 1 (no counter reset in these tests).
pub fn terminal_events(fleet: &RunningSim) -> HashSet<(String, u64)> {
    fleet
        .devices
        .iter()
        .enumerate()
        .flat_map(|(i, d)| (1..d.state.snapshot().next_serial).map(move |s| (token(i), s)))
        .collect()
}

/// (token, serial) of every event the receiver stored, in arrival order.
pub fn stored(received: &[Received]) -> Vec<(String, u64)> {
    received
        .iter()
        .filter(|r| r.status == 200 && r.kind == "event")
        .filter_map(|r| Some((r.token.clone(), r.serial?)))
        .collect()
}

pub fn stored_set(receiver: &Receiver) -> HashSet<(String, u64)> {
    stored(&receiver.received()).into_iter().collect()
}

/// Events per state (`pending`, `delivered`, `rejected`) in the relay's queue, read while the relay runs.
pub fn queue_counts(dir: &Path) -> HashMap<String, u64> {
    let db = rusqlite::Connection::open_with_flags(
        queue_path(dir),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("queue opens");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let mut stmt = db
        .prepare("SELECT state, COUNT(*) FROM events GROUP BY state")
        .expect("query");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("rows");
    rows.map(|r| {
        let (state, n) = r.expect("row");
        (state, u64::try_from(n).expect("count"))
    })
    .collect()
}

/// Pending events in the relay's queue (0 before the queue exists).
pub fn pending(dir: &Path) -> u64 {
    if !queue_path(dir).exists() {
        return 0;
    }
    queue_counts(dir).get("pending").copied().unwrap_or(0)
}
