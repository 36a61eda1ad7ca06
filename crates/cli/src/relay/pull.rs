//! The puller of one terminal: every `poll_secs` it searches after the terminal's serial cursor with the core,
//! and queues what it finds together with the new cursor, in one transaction.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use attendance_sync::fetch::{fetch_events, FetchResult, FetchStop, TimeArg};
use attendance_sync::isapi::IsapiClient;
use attendance_sync::Error;
use chrono::Utc;
use tokio::sync::Notify;

use super::body::{event_key, push_body};
use super::config::{RelayConfig, RelayDevice};
use super::queue::{self, Cursor, Item};
use super::{say, with_queue, SharedQueue};

/// The next search starts this long before the latest event queued (same-second events, late writes).
const OVERLAP: Duration = Duration::from_secs(600);

/// Queues a fetch's events with the cursor it proves.
fn store(
    queue: &SharedQueue,
    dev: &RelayDevice,
    result: &FetchResult,
    before: &Cursor,
    complete: bool,
) -> queue::Result<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let items: Vec<Item> = result
        .events
        .iter()
        .map(|e| {
            let base = event_key(e, 0);
            let n = seen.entry(base).or_insert(0);
            *n += 1;
            Item {
                key: event_key(e, *n - 1),
                body: push_body(&dev.name, e),
            }
        })
        .collect();
    let latest = result.events.iter().map(|e| e.time).max();
    let cursor = Cursor {
        last_serial: result.last_serial.or(before.last_serial),
        // After an interruption only what the answers prove: not past `complete_until`.
        last_time: match (latest, complete) {
            (Some(t), true) => Some(before.last_time.map_or(t, |b| b.max(t))),
            (Some(t), false) => {
                let proven = t.min(result.complete_until);
                Some(before.last_time.map_or(proven, |b| b.max(proven)))
            }
            (None, _) => before.last_time,
        },
    };
    with_queue(queue, |q| q.enqueue(&dev.name, &items, &cursor))
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
    let backfill = chrono::Duration::from_std(cfg.backfill).unwrap_or(chrono::Duration::days(1));
    let overlap = chrono::Duration::from_std(OVERLAP).unwrap_or(chrono::Duration::minutes(10));
    loop {
        let before = match with_queue(&queue, |q| q.cursor(&dev.name)) {
            Ok(c) => c,
            Err(e) => {
                say(&dev.name, format!("queue unreadable: {e}"));
                tokio::time::sleep(cfg.poll).await;
                continue;
            }
        };
        let now = Utc::now().fixed_offset();
        let start = before.last_time.map_or(now - backfill, |t| t - overlap);
        // Past the relay's clock: a terminal whose clock runs ahead still has its newest events in the window.
        let end = now + chrono::Duration::days(1);
        let mut quiet = |_: u32, _: usize| ControlFlow::Continue(());
        let outcome = fetch_events(
            &client,
            TimeArg::Aware(start),
            TimeArg::Aware(end),
            before.last_serial,
            &mut quiet,
        )
        .await;
        match outcome {
            Ok(result) => match store(&queue, &dev, &result, &before, true) {
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
                    match store(&queue, &dev, partial, &before, false) {
                        Ok(added) if added > 0 => wake.notify_one(),
                        Ok(_) => {}
                        Err(e) => say(&dev.name, format!("cannot queue events: {e}")),
                    }
                }
                if matches!(failure.error, Error::Auth { .. }) {
                    say(
                        &dev.name,
                        format!(
                            "{}; this terminal is not tried again until the relay is restarted (terminals lock \
                             the account after a few failed logins)",
                            failure.error
                        ),
                    );
                    return;
                }
                say(
                    &dev.name,
                    format!(
                        "pull failed: {}; trying again in {:?}",
                        failure.error, cfg.poll
                    ),
                );
            }
            Err(FetchStop::Cancelled) => return,
        }
        tokio::time::sleep(cfg.poll).await;
    }
}
