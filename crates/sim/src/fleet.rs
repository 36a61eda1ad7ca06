//! Builds the device states of a fleet from a configuration.

use std::io;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread;

use super::auth::Account;
use super::clock::device_now;
use super::config::SimConfig;
use super::events_file;
use super::generate::{generate, GenParams};
use super::log::EventLog;
use super::people::{self, Roster};
use super::state::{DeviceSetup, DeviceState, Identity};
use super::zone::Zone;

/// What every device of the fleet shares.
struct Shared<'a> {
    config: &'a SimConfig,
    end: i64,
    file_log: Option<Arc<EventLog>>,
    roster: Arc<Roster>,
    account: Account,
}

/// One state per device. Generated logs differ per device (the index is mixed into the
/// seed) while the enrolled people are shared; an events file is shared as is.
pub fn build(config: &SimConfig) -> io::Result<Vec<Arc<DeviceState>>> {
    let shared = Shared {
        config,
        end: config.history_end.map_or_else(
            || device_now(config.faults.clock_skew_secs),
            |end| end.timestamp(),
        ),
        file_log: match &config.events_file {
            Some(path) => Some(Arc::new(with_step(
                events_file::load(path, config.utc_offset)?,
                config,
            ))),
            None => None,
        },
        roster: Arc::new(people::generate(config.employees, config.seed)),
        account: Account {
            user: config.user.clone(),
            password: config.password.clone(),
            realm: config.realm.clone(),
        },
    };
    // Generation is CPU-bound and per device independent: spread large fleets over the cores.
    let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let chunk = config.devices.div_ceil(threads).max(1);
    let indices: Vec<usize> = (0..config.devices).collect();
    let devices = thread::scope(|scope| {
        let workers: Vec<_> = indices
            .chunks(chunk)
            .map(|part| {
                let shared = &shared;
                scope.spawn(move || part.iter().map(|i| device(shared, *i)).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| io::Error::other("device generation panicked"))
            })
            .collect::<io::Result<Vec<_>>>()
    })?;
    Ok(devices.into_iter().flatten().collect())
}

fn device(shared: &Shared<'_>, index: usize) -> Arc<DeviceState> {
    let config = shared.config;
    let log = match &shared.file_log {
        Some(log) => log.clone(),
        None => Arc::new(with_step(
            generate(
                &GenParams {
                    count: config.events_per_device(),
                    days: config.days,
                    end: shared.end,
                    offset: config.utc_offset,
                    seed: config.seed,
                    device_index: index,
                    door_share: config.door_event_share,
                    failed_share: config.failed_auth_share,
                    burst_share: config.burst_share,
                },
                shared.roster.clone(),
            ),
            config,
        )),
    };
    Arc::new(DeviceState::new(DeviceSetup {
        identity: Identity::new(index, config.seed),
        zone: config
            .time_zone
            .clone()
            .unwrap_or_else(|| Zone::fixed(config.utc_offset)),
        style: config.field_style,
        log,
        account: shared.account.clone(),
        faults: config.faults.clone(),
        seed: config.seed,
    }))
}

/// The configured clock step back, if any (by default half way through the history).
fn with_step(log: EventLog, config: &SimConfig) -> EventLog {
    match config.clock_step {
        Some(step) => {
            let after = step.after_serial.unwrap_or(log.last_seq() / 2);
            log.with_clock_step(after, step.back_secs)
        }
        None => log,
    }
}
