//! `attendance-sync relay --config relay.toml`: pulls LAN terminals with the core and delivers their events to
//! the site's push endpoint through a durable local queue (docs/push.md#the-relay).
//!
//! Per terminal, two tasks: the puller (pull.rs) reads the terminal's clock and searches after its serial and
//! time cursors every `poll_secs`, and queues what it finds together with the new cursors (one transaction);
//! the deliverer (deliver.rs) POSTs queued events oldest first and removes each only on the site's documented
//! answer (answer.rs). At least once: a relay killed between the site's answer and recording it sends that one
//! event again, and the site's Device Punch key makes it a duplicate.

mod answer;
mod body;
mod config;
mod cursor;
mod deliver;
mod pull;
mod queue;

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

pub use config::RelayConfig;
use config::RelayDevice;
use queue::Queue;

type SharedQueue = Arc<Mutex<Queue>>;

fn with_queue<T>(
    queue: &SharedQueue,
    f: impl FnOnce(&mut Queue) -> queue::Result<T>,
) -> queue::Result<T> {
    let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
    f(&mut q)
}

fn say(device: &str, message: impl std::fmt::Display) {
    eprintln!("relay: {device}: {message}");
}

async fn prune(queue: SharedQueue, keep: Duration) {
    loop {
        if let Err(e) = with_queue(&queue, |q| q.prune(keep)) {
            eprintln!("relay: cannot prune the queue: {e}");
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

async fn serve(cfg: RelayConfig, queue: Queue) -> ExitCode {
    let http = match reqwest::Client::builder()
        .timeout(cfg.site_timeout)
        .user_agent(concat!("attendance-sync-relay/", env!("CARGO_PKG_VERSION")))
        // A redirect is an answer that is not the site's (a login page, a moved site): never followed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("relay: cannot set up the HTTP client: {e}");
            return ExitCode::from(1);
        }
    };
    let queue: SharedQueue = Arc::new(Mutex::new(queue));
    let mut cfg = cfg;
    let devices: Vec<Arc<RelayDevice>> = std::mem::take(&mut cfg.devices)
        .into_iter()
        .map(Arc::new)
        .collect();
    let cfg = Arc::new(cfg);
    eprintln!(
        "relay: {} terminal(s), delivering to {} (queue {})",
        devices.len(),
        cfg.endpoint,
        cfg.queue.display()
    );
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(prune(queue.clone(), cfg.keep_delivered));
    for dev in devices {
        let wake = Arc::new(Notify::new());
        tasks.spawn(pull::pull(
            dev.clone(),
            queue.clone(),
            cfg.clone(),
            wake.clone(),
        ));
        tasks.spawn(deliver::deliver(
            dev,
            queue.clone(),
            cfg.clone(),
            http.clone(),
            wake,
        ));
    }
    crate::simulate::wait_for_signal().await;
    tasks.shutdown().await;
    eprintln!("relay: stopped");
    ExitCode::SUCCESS
}

/// Runs the relay until SIGINT or SIGTERM. Exit 2 for a configuration problem, 1 when the queue cannot open.
pub fn run(config_path: &Path) -> ExitCode {
    let cfg = match RelayConfig::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("relay: {e}");
            return ExitCode::from(2);
        }
    };
    let queue = match Queue::open(&cfg.queue) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("relay: cannot open the queue {}: {e}", cfg.queue.display());
            return ExitCode::from(1);
        }
    };
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(serve(cfg, queue)),
        Err(e) => {
            eprintln!("relay: cannot start the I/O runtime: {e}");
            ExitCode::from(1)
        }
    }
}
