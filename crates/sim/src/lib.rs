//! Simulated Hikvision access terminals speaking ISAPI over HTTP(S): Digest auth with
//! lockout, AcsEvent search with its paging quirks, System/time, deviceInfo, UserInfo, and
//! runtime-switchable faults. The behaviour reproduced is listed in `docs/isapi.md` (Simulator).
//!
//! A library for tests, the demo and the benchmarks; `attendance-sync simulate` (crates/cli) serves it from
//! the command line. It shares no code with the client core, so the two check each other.

// Input from a device or a user must never panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod acs;
mod acs_cond;
mod auth;
mod clock;
mod config;
mod control;
mod digest;
mod envelope;
mod events_file;
mod fields;
mod fleet;
mod generate;
mod http;
mod http_hosts;
mod json;
mod log;
mod page_fault;
mod people;
mod push;
mod render;
mod router;
mod seed;
mod server;
mod state;
mod stats;
mod sync;
mod system;
mod tls;
mod unauthorized;
mod users;
mod xml;
mod zone;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    ClockStep, Faults, FieldStyle, PageFault, PageFaultKind, ResultOrder, SimConfig, TimeHandling,
    DEFAULT_PASSWORD, DEFAULT_REALM,
};
pub use push::{PushConfig, PushFormat, PushSetupError, PushStats};
pub use state::{DeviceSnapshot, DeviceState, RecordRequest, Recorded};
pub use stats::SimStats;
pub use zone::Zone;

/// One running device.
#[derive(Clone)]
pub struct SimDevice {
    pub name: String,
    pub addr: SocketAddr,
    pub https: bool,
    pub event_count: usize,
    pub state: Arc<DeviceState>,
}

impl std::fmt::Debug for SimDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDevice")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("https", &self.https)
            .field("event_count", &self.event_count)
            .finish_non_exhaustive()
    }
}

impl SimDevice {
    /// `http(s)://127.0.0.1:PORT` (a wildcard listen address is shown as loopback).
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        format!("{scheme}://{addr}")
    }

    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// Replaces the device's faults (a page fault counts pages from now on).
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// Sets up HTTP listening (pushing recorded events to `config.url`); needs a Tokio runtime. The body
    /// shape, losses and heartbeats set here stay for hosts later written over ISAPI (`httpHosts`).
    pub fn set_push(&self, config: PushConfig) -> Result<(), PushSetupError> {
        self.state.pusher().configure(&self.state, config)
    }

    pub fn push_stats(&self) -> PushStats {
        self.state.pusher().stats()
    }
}

/// A started fleet. Dropping it stops the devices too; `shutdown` also waits for the listeners.
pub struct RunningSim {
    pub devices: Vec<SimDevice>,
    /// PEM of the self-signed certificate when serving HTTPS, for clients that pin.
    pub cert_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningSim {
    /// Stops accepting, closes open connections and waits for the accept loops to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Start all devices; returns once every listener is bound.
pub async fn start(config: SimConfig) -> io::Result<RunningSim> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let tls = if config.https {
        Some(tls::self_signed()?)
    } else {
        None
    };
    let build_config = config.clone();
    let states = tokio::task::spawn_blocking(move || fleet::build(&build_config))
        .await
        .map_err(io::Error::other)??;
    let mut listeners = Vec::with_capacity(states.len());
    for index in 0..states.len() {
        listeners.push(TcpListener::bind(device_addr(config.listen, index)?).await?);
    }
    let (shutdown, stop) = watch::channel(false);
    let mut devices = Vec::with_capacity(states.len());
    let mut tasks = Vec::with_capacity(states.len());
    for (listener, state) in listeners.into_iter().zip(states) {
        state.pusher().set_listen(listener.local_addr()?);
        devices.push(SimDevice {
            name: state.name().to_string(),
            addr: listener.local_addr()?,
            https: config.https,
            event_count: state.event_count(),
            state: state.clone(),
        });
        let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
        tasks.push(server::spawn_device(
            listener,
            state,
            acceptor,
            stop.clone(),
        ));
    }
    Ok(RunningSim {
        devices,
        cert_pem: tls.map(|t| t.cert_pem),
        shutdown,
        tasks,
    })
}

/// Port 0 lets every device pick a free port; otherwise ports are consecutive.
fn device_addr(listen: SocketAddr, index: usize) -> io::Result<SocketAddr> {
    if listen.port() == 0 {
        return Ok(listen);
    }
    let port = u16::try_from(usize::from(listen.port()) + index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "port range exceeds 65535"))?;
    Ok(SocketAddr::new(listen.ip(), port))
}
