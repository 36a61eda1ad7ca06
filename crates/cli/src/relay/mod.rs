//! `attendance-sync relay --config relay.toml`: pulls LAN terminals with the core and delivers their events to
//! the site's push endpoint through a durable local queue (docs/push.md#the-relay).
//!
//! Per terminal, two tasks: the puller searches after its serial cursor every `poll_secs` and queues what it
//! finds together with the new cursor (one transaction); the deliverer POSTs queued events oldest first and
//! removes each only on the site's 200. At least once: a relay killed between the site's 200 and recording it
//! sends that one event again, and the site's Device Punch key makes it a duplicate.

mod config;
mod queue;

use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use attendance_sync::fetch::{fetch_events, FetchResult, FetchStop, TimeArg};
use attendance_sync::isapi::IsapiClient;
use attendance_sync::{Direction, Error, Event};
use chrono::Utc;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{json, Map, Value};
use tokio::sync::Notify;

pub use config::RelayConfig;
use config::{RelayDevice, Token};
use queue::{Cursor, Item, Queue};

/// Events POSTed per look at the queue.
const BATCH: usize = 200;
/// The next search starts this long before the latest event queued (same-second events, late writes).
const OVERLAP: Duration = Duration::from_secs(600);

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

/// The site's key of an event (docs/push.md): its serial and device time; without a serial (intercoms), time,
/// codes, person and the occurrence among identical records.
fn event_key(event: &Event, occurrence: usize) -> String {
    let time = event.time.to_rfc3339();
    match event.serial_no {
        Some(serial) => format!("{serial}@{time}"),
        None => format!(
            "t:{time}|{}|{}|{}|#{occurrence}",
            event.major,
            event.minor,
            event.employee_no.as_deref().unwrap_or("")
        ),
    }
}

/// The push notification of one event, as a terminal would send it (reference §6.1), with `currentEvent`
/// false: a stored event, not a live one.
pub fn push_body(device: &str, event: &Event) -> String {
    let mut inner = Map::new();
    inner.insert("deviceName".into(), json!(device));
    inner.insert("majorEventType".into(), json!(event.major));
    inner.insert("subEventType".into(), json!(event.minor));
    if let Some(serial) = event.serial_no {
        inner.insert("serialNo".into(), json!(serial));
    }
    if let Some(e) = &event.employee_no {
        inner.insert("employeeNoString".into(), json!(e));
    }
    if let Some(n) = &event.name {
        inner.insert("name".into(), json!(n));
    }
    if let Some(c) = &event.card_no {
        inner.insert("cardNo".into(), json!(c));
    }
    if let Some(d) = event.door_no {
        inner.insert("doorNo".into(), json!(d));
    }
    if let Some(r) = event.reader_no {
        inner.insert("cardReaderNo".into(), json!(r));
    }
    if let Some(direction) = event.log_type {
        let status = match direction {
            Direction::In => "checkIn",
            Direction::Out => "checkOut",
        };
        inner.insert("attendanceStatus".into(), json!(status));
    }
    inner.insert("currentEvent".into(), json!(false));
    json!({
        "dateTime": event.time.to_rfc3339(),
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "eventDescription": "Access Controller Event (attendance-sync relay)",
        "AccessControllerEvent": Value::Object(inner),
    })
    .to_string()
}

/// Queues a fetch's events with the cursor it proves.
fn store(
    queue: &SharedQueue,
    dev: &RelayDevice,
    result: &FetchResult,
    before: &Cursor,
    complete: bool,
) -> queue::Result<usize> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
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

async fn pull(dev: Arc<RelayDevice>, queue: SharedQueue, cfg: Arc<RelayConfig>, wake: Arc<Notify>) {
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

/// What the site's answer means for one event (docs/push.md#what-the-site-answers).
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Acknowledged,
    /// 200 `unreadable`, or 413: kept in the queue as rejected, never sent again.
    Rejected(String),
    /// 401: the token is wrong; this device's delivery stops.
    Unauthorized,
    /// 429, with the seconds of `Retry-After` when given.
    RateLimited(Option<Duration>),
    /// Anything else: try again after the backoff.
    Retry(String),
}

fn classify(status: u16, retry_after: Option<&HeaderValue>, body: &str) -> Answer {
    match status {
        200..=299 => {
            let result = serde_json::from_str::<Value>(body).ok().and_then(|v| {
                let m = v.get("message").unwrap_or(&v);
                Some((
                    m.get("result")?.as_str()?.to_owned(),
                    m.get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            });
            match result {
                Some((r, reason)) if r == "unreadable" => {
                    Answer::Rejected(format!("the site could not read it ({reason})"))
                }
                _ => Answer::Acknowledged,
            }
        }
        401 => Answer::Unauthorized,
        413 => Answer::Rejected("the site refused it as too large (HTTP 413)".into()),
        429 => Answer::RateLimited(
            retry_after
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        ),
        other => Answer::Retry(format!("HTTP {other}")),
    }
}

async fn post(http: &reqwest::Client, url: &str, token: &Token, body: String) -> Answer {
    let request = http
        .post(url)
        .query(&[("token", token.expose())])
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            let text = response.text().await.unwrap_or_default();
            classify(status, retry_after.as_ref(), &text)
        }
        // reqwest's messages carry the URL, and with it the token: say what kind of failure only.
        Err(e) => Answer::Retry(
            if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "connection failed"
            }
            .to_owned(),
        ),
    }
}

async fn deliver(
    dev: Arc<RelayDevice>,
    queue: SharedQueue,
    cfg: Arc<RelayConfig>,
    http: reqwest::Client,
    wake: Arc<Notify>,
) {
    let mut backoff = cfg.retry_first;
    loop {
        let batch = match with_queue(&queue, |q| q.pending(&dev.name, BATCH)) {
            Ok(b) => b,
            Err(e) => {
                say(&dev.name, format!("queue unreadable: {e}"));
                tokio::time::sleep(cfg.poll).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(cfg.poll) => {}
            }
            continue;
        }
        let mut delivered = 0usize;
        for (id, body) in batch {
            let answer = post(&http, &cfg.endpoint, &dev.token, body).await;
            let recorded = match &answer {
                Answer::Acknowledged => {
                    backoff = cfg.retry_first;
                    delivered += 1;
                    with_queue(&queue, |q| q.delivered(id))
                }
                Answer::Rejected(why) => {
                    say(
                        &dev.name,
                        format!(
                            "event {id} rejected by the site: {why}; kept in the queue as rejected"
                        ),
                    );
                    with_queue(&queue, |q| q.rejected(id, why))
                }
                Answer::Unauthorized => {
                    let pending =
                        with_queue(&queue, |q| q.counts(&dev.name)).map_or(0, |c| c.pending);
                    say(
                        &dev.name,
                        format!(
                            "the site refused this device's push token (HTTP 401): delivery for this device \
                             stopped and is not retried; {pending} events stay queued. Set the token shown by \
                             the site's Device Configuration and restart the relay"
                        ),
                    );
                    return;
                }
                Answer::RateLimited(after) => {
                    let wait = after
                        .unwrap_or(backoff)
                        .min(cfg.retry_max.max(Duration::from_secs(1)) * 4);
                    say(
                        &dev.name,
                        format!("rate limited by the site (HTTP 429); waiting {wait:?}"),
                    );
                    tokio::time::sleep(wait).await;
                    break;
                }
                Answer::Retry(why) => {
                    let _ = with_queue(&queue, |q| q.failed_attempt(id, why));
                    say(
                        &dev.name,
                        format!(
                            "delivery failed ({why}); retrying in {backoff:?}, events stay queued"
                        ),
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(cfg.retry_max);
                    break;
                }
            };
            if let Err(e) = recorded {
                say(
                    &dev.name,
                    format!("cannot record a delivery in the queue: {e}"),
                );
            }
        }
        if delivered > 0 {
            say(&dev.name, format!("{delivered} events delivered"));
        }
    }
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
        tasks.spawn(pull(dev.clone(), queue.clone(), cfg.clone(), wake.clone()));
        tasks.spawn(deliver(dev, queue.clone(), cfg.clone(), http.clone(), wake));
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

#[cfg(test)]
mod tests {
    use super::*;
    use attendance_sync::push::{parse_notification, PushOutcome};
    use attendance_sync::Classifier;

    fn event(serial: Option<u64>, log_type: Option<Direction>) -> Event {
        Event {
            device: Arc::from("Gate"),
            serial_no: serial,
            employee_no: Some("00042".into()),
            time: chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:05+06:00").expect("time"),
            log_type,
            major: 5,
            minor: 38,
            verify_method: Some("fingerprint"),
            is_punch: true,
            card_no: Some("991".into()),
            name: Some("Ana".into()),
            door_no: Some(1),
            reader_no: Some(2),
        }
    }

    #[test]
    fn the_relay_body_reads_back_as_the_same_event() {
        for e in [
            event(Some(7), Some(Direction::Out)),
            event(None, None),
            event(Some(8), Some(Direction::In)),
        ] {
            let body = push_body("Gate", &e);
            let device: Arc<str> = Arc::from("Gate");
            match parse_notification(body.as_bytes(), &device, None, &Classifier::default()) {
                Ok(PushOutcome::Event(p)) => {
                    assert_eq!(p.event, e);
                    assert_eq!(p.current_event, Some(false));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn keys_follow_the_sites_key() {
        assert_eq!(
            event_key(&event(Some(7), None), 0),
            "7@2026-03-02T08:00:05+06:00"
        );
        assert_ne!(
            event_key(&event(None, None), 0),
            event_key(&event(None, None), 1)
        );
    }

    #[test]
    fn answers() {
        assert_eq!(
            classify(
                200,
                None,
                r#"{"message": {"ok": true, "result": "stored"}}"#
            ),
            Answer::Acknowledged
        );
        assert_eq!(
            classify(200, None, r#"{"message": {"result": "duplicate"}}"#),
            Answer::Acknowledged
        );
        assert_eq!(classify(200, None, ""), Answer::Acknowledged);
        assert!(matches!(
            classify(
                200,
                None,
                r#"{"message": {"result": "unreadable", "reason": "json"}}"#
            ),
            Answer::Rejected(_)
        ));
        assert_eq!(classify(401, None, ""), Answer::Unauthorized);
        assert!(matches!(classify(413, None, ""), Answer::Rejected(_)));
        let after = HeaderValue::from_static("7");
        assert_eq!(
            classify(429, Some(&after), ""),
            Answer::RateLimited(Some(Duration::from_secs(7)))
        );
        assert_eq!(classify(429, None, ""), Answer::RateLimited(None));
        assert!(matches!(classify(503, None, ""), Answer::Retry(_)));
        assert!(matches!(classify(404, None, ""), Answer::Retry(_)));
    }
}
