//! The puller of one terminal: every `poll_secs` it reads the terminal's clock, searches after the serial
//! cursor inside the time window (cursor.rs) with the core, and queues what it finds together with the new
//! cursors, in one transaction.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use attendance_sync::event_key::event_key;
use attendance_sync::fetch::{fetch_events, FetchResult, FetchStop, TimeArg};
use attendance_sync::isapi::system::read_clock;
use attendance_sync::isapi::IsapiClient;
use attendance_sync::{Error, Event};
use chrono::{DateTime, FixedOffset, TimeDelta};
use tokio::sync::Notify;

use super::body::push_body;
use super::config::{RelayConfig, RelayDevice};
use super::cursor;
use super::queue::{self, Cursor, Item};
use super::{say, with_queue, SharedQueue};

/// A clock set back by less than this is not worth a line in the log (the overlap covers it anyway).
const WORTH_SAYING: TimeDelta = TimeDelta::minutes(1);

/// `6h05m00s`.
fn hours(d: TimeDelta) -> String {
    let s = d.num_seconds();
    format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60)
}

/// A search's events as queue items: each with the site's key (the core's rule; identical serial-less
/// events of one search numbered by occurrence, as the site numbers them) and the body to POST.
fn items(device: &str, events: &[Event]) -> Vec<Item> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    events
        .iter()
        .map(|e| {
            let occurrence = match e.serial_no {
                Some(_) => 0,
                None => {
                    let n = seen.entry(event_key(e, 0)).or_insert(0);
                    *n += 1;
                    *n - 1
                }
            };
            Item {
                key: event_key(e, occurrence),
                body: push_body(device, e),
            }
        })
        .collect()
}

/// Queues a search's events with the cursors it proves: the serial cursor the core reports, and the time
/// cursor `cursor::next` gives for `proven`.
fn store(
    queue: &SharedQueue,
    dev: &RelayDevice,
    result: &FetchResult,
    before: &Cursor,
    device_now: DateTime<FixedOffset>,
    proven: DateTime<FixedOffset>,
) -> queue::Result<usize> {
    let items = items(&dev.name, &result.events);
    let cursor = Cursor {
        last_serial: result.last_serial.or(before.last_serial),
        last_time: Some(cursor::next(before.last_time, device_now, proven)),
    };
    with_queue(queue, |q| q.enqueue(&dev.name, &items, &cursor))
}

/// Says why a pull failed; `Break` when this terminal must not be tried again (a refused login: terminals
/// lock the account after a few).
fn failed(dev: &RelayDevice, error: &Error, poll: std::time::Duration) -> ControlFlow<()> {
    if matches!(error, Error::Auth { .. }) {
        say(
            &dev.name,
            format!(
                "{error}; this terminal is not tried again until the relay is restarted (terminals lock the \
                 account after a few failed logins)"
            ),
        );
        return ControlFlow::Break(());
    }
    say(
        &dev.name,
        format!("pull failed: {error}; trying again in {poll:?}"),
    );
    ControlFlow::Continue(())
}

pub async fn pull(
    dev: Arc<RelayDevice>,
    queue: SharedQueue,
    cfg: Arc<RelayConfig>,
    wake: Arc<Notify>,
) {
    let client = match IsapiClient::new(dev.device.clone()) {
        Ok(c) => c,
        Err(e) => {
            say(
                &dev.name,
                format!("cannot set up the terminal client: {e}; this terminal is not pulled"),
            );
            return;
        }
    };
    let backfill = TimeDelta::from_std(cfg.backfill).unwrap_or(TimeDelta::days(1));
    loop {
        if pull_once(&dev, &client, &queue, backfill, &wake, cfg.poll)
            .await
            .is_break()
        {
            return;
        }
        tokio::time::sleep(cfg.poll).await;
    }
}

async fn pull_once(
    dev: &RelayDevice,
    client: &IsapiClient,
    queue: &SharedQueue,
    backfill: TimeDelta,
    wake: &Notify,
    poll: std::time::Duration,
) -> ControlFlow<()> {
    let before = match with_queue(queue, |q| q.cursor(&dev.name)) {
        Ok(c) => c,
        Err(e) => {
            say(&dev.name, format!("queue unreadable: {e}"));
            return ControlFlow::Continue(());
        }
    };
    let device_now = match read_clock(client, dev.device.utc_offset).await {
        Ok(clock) => clock.local_time,
        Err(e) => return failed(dev, &e, poll),
    };
    let window = cursor::window(before.last_time, device_now, backfill);
    if let (Some(back), Some(cursor)) = (window.set_back, before.last_time) {
        if back >= WORTH_SAYING {
            say(
                &dev.name,
                format!(
                    "the terminal's clock ({device_now}) is {} behind the time cursor ({cursor}): it was set \
                     back; searching again from {}",
                    hours(back),
                    window.start
                ),
            );
        }
    }
    let mut quiet = |_: u32, _: usize| ControlFlow::Continue(());
    let outcome = fetch_events(
        client,
        TimeArg::Aware(window.start),
        TimeArg::Aware(window.end),
        before.last_serial,
        &mut quiet,
    )
    .await;
    match outcome {
        Ok(result) => match store(queue, dev, &result, &before, device_now, window.end) {
            Ok(added) if added > 0 => {
                say(&dev.name, format!("{added} new events queued"));
                wake.notify_one();
            }
            Ok(_) => {}
            Err(e) => say(
                &dev.name,
                format!("cannot queue events: {e}; the cursor did not move"),
            ),
        },
        Err(FetchStop::Failed(failure)) => {
            if let Some(partial) = &failure.partial {
                let proven = partial.complete_until;
                match store(queue, dev, partial, &before, device_now, proven) {
                    Ok(added) if added > 0 => wake.notify_one(),
                    Ok(_) => {}
                    Err(e) => say(&dev.name, format!("cannot queue events: {e}")),
                }
            }
            return failed(dev, &failure.error, poll);
        }
        Err(FetchStop::Cancelled) => return ControlFlow::Break(()),
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn event(serial: Option<u64>, time: &str) -> Event {
        Event {
            device: Arc::from("Gate"),
            serial_no: serial,
            employee_no: Some("00042".into()),
            time: DateTime::parse_from_rfc3339(time).expect("time"),
            log_type: None,
            major: 5,
            minor: 38,
            verify_method: None,
            is_punch: true,
            card_no: None,
            name: None,
            door_no: None,
            reader_no: None,
        }
    }

    #[test]
    fn queue_keys_are_the_sites_keys() {
        let events = [
            event(Some(7), "2026-03-02T08:00:05+06:00"),
            event(None, "2026-03-02T08:00:06+06:00"),
            event(Some(8), "2026-03-02T08:00:06+06:00"),
            event(None, "2026-03-02T08:00:06+06:00"),
        ];
        let keys: Vec<String> = items("Gate", &events).into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "s:7@2026-03-02T08:00:05",
                "t:2026-03-02T08:00:06+06:00|5|38|00042|0",
                "s:8@2026-03-02T08:00:06",
                "t:2026-03-02T08:00:06+06:00|5|38|00042|1",
            ]
        );
    }
}
