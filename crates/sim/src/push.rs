//! The push side of a terminal: HTTP listening (`httpHosts`; docs/push.md, Configuring the terminal). With a
//! URL configured (`PUT /sim/push`), every event the device records from then on is POSTed to it as one
//! notification (docs/push.md, Bodies accepted), heartbeats go out at an interval, stored events are sent again on request (`POST /sim/push/replay`, as a
//! reboot's back-fill with `currentEvent` false), and a seeded share of event pushes is lost on the way so that
//! the reconciling search has work to do.
//!
//! Body shapes (docs/push.md, Bodies accepted): `multipart/form-data; boundary=MIME_boundary` whose JSON part
//! is named `event_log` (older firmware) or `AccessControllerEvent` (newer), optionally followed by a binary `Picture` part; or a
//! bare `application/json` body (firmware that posts JSON). Plain HTTP only: the simulator has no TLS client.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::clock::device_now;
use super::config::Faults;
use super::log::{Event, EventLog};
use super::render::{info_item, RenderStyle};
use super::seed::mix;
use super::state::DeviceState;
use super::sync::lock;

/// How long one POST may take before it counts as failed.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between attempts of a push the receiver refused or did not answer.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// A JPEG-looking picture part (SOI, a JFIF header, EOI); real ones are 30-120 KB.
const PICTURE: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];
const BOUNDARY: &str = "MIME_boundary";

/// How a push body is shaped (docs/push.md, Bodies accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum PushFormat {
    /// multipart/form-data, JSON part named `event_log` (older and common firmware).
    #[default]
    EventLog,
    /// multipart/form-data, JSON part named `AccessControllerEvent` (newer firmware).
    AccessControllerEvent,
    /// A bare `application/json` body.
    Json,
}

/// The device's HTTP-listening setup, as `PUT /sim/push` sets it. Off while `url` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// `http://host[:port]/path?query` to POST to; `None` stops pushing.
    pub url: Option<String>,
    pub format: PushFormat,
    /// A binary `Picture` part after the JSON part (`pictureURLType` binary; multipart only).
    pub picture: bool,
    /// Seconds between heartbeats (`videoloss` / `inactive`); 0 = none.
    pub heartbeat_secs: u64,
    /// Share (0..1) of event pushes lost on the way (the event stays in the log, found by search).
    pub drop_share: f64,
    /// Seed of the losses: the same seed loses the same pushes.
    pub seed: u64,
    /// Attempts after a refused (non-2xx) or failed POST of one event before it is given up; 0 = none
    /// (whether terminals retry is not known: docs/push.md, What the site answers).
    pub retries: u32,
    /// The device records an event by itself every this many milliseconds (people punching); 0 = never.
    pub record_every_ms: u64,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            url: None,
            format: PushFormat::EventLog,
            picture: false,
            heartbeat_secs: 0,
            drop_share: 0.0,
            seed: 1,
            retries: 0,
            record_every_ms: 0,
        }
    }
}

/// Why a push setup is refused (`PUT /sim/push`, a listening host written over ISAPI), or a replay cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushSetupError {
    #[error("drop_share must be between 0 and 1, got {0}")]
    DropShare(f64),
    #[error("push url {url:?}: {source}")]
    NotAUrl {
        url: String,
        source: hyper::http::uri::InvalidUri,
    },
    #[error("push url {0:?}: only http:// is simulated (terminals also push over HTTPS)")]
    NotHttp(String),
    #[error("push url {0:?} has no host")]
    NoHost(String),
    #[error("push is not configured (PUT /sim/push with a url first)")]
    NotConfigured,
}

impl PushConfig {
    pub fn validate(&self) -> Result<(), PushSetupError> {
        if !(0.0..=1.0).contains(&self.drop_share) {
            return Err(PushSetupError::DropShare(self.drop_share));
        }
        if let Some(url) = &self.url {
            target(url)?;
        }
        Ok(())
    }
}

/// What the device's pusher did since push was configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushStats {
    /// Event notifications handed to the network (replays included, losses not).
    pub events_sent: u64,
    /// Event pushes lost on purpose (`drop_share`).
    pub events_dropped: u64,
    /// Event pushes answered 2xx.
    pub events_acknowledged: u64,
    /// Event pushes given up after refusals or failures.
    pub events_given_up: u64,
    /// Stored events queued again by `POST /sim/push/replay`.
    pub replayed: u64,
    pub heartbeats_sent: u64,
    /// POSTs answered with a status other than 2xx.
    pub refused: u64,
    /// POSTs without an answer (connection refused or reset, timeout).
    pub failed: u64,
    /// Serial numbers of the events acknowledged, in order.
    pub acknowledged_serials: Vec<u64>,
    /// Serial numbers of the events lost on purpose.
    pub dropped_serials: Vec<u64>,
    pub last_status: Option<u16>,
}

/// One notification to send.
struct Job {
    serial: Option<u64>,
    notification: Value,
}

struct Running {
    config: PushConfig,
    tx: mpsc::UnboundedSender<Job>,
    task: tokio::task::AbortHandle,
    rng: StdRng,
    /// Serial of the last event the device recorded (`frontSerialNo` of the next).
    front: Option<u64>,
}

/// The push side of one device.
#[derive(Default)]
pub struct Pusher {
    running: Mutex<Option<Running>>,
    stats: Arc<Mutex<PushStats>>,
    listen: OnceLock<SocketAddr>,
    /// The setup `PUT /sim/push` last gave: a host written over ISAPI pushes with its shape and losses.
    template: Mutex<Option<PushConfig>>,
}

impl Drop for Pusher {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            running.task.abort();
        }
    }
}

/// Scheme-checked `(authority, host header, path and query)` of a push URL.
fn target(url: &str) -> Result<(String, String, String), PushSetupError> {
    let uri: Uri = url.parse().map_err(|source| PushSetupError::NotAUrl {
        url: url.to_owned(),
        source,
    })?;
    if uri.scheme_str() != Some("http") {
        return Err(PushSetupError::NotHttp(url.to_owned()));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| PushSetupError::NoHost(url.to_owned()))?;
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let connect = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    Ok((connect, authority.as_str().to_owned(), path))
}

impl Pusher {
    /// The address the device listens on (reported as `ipAddress` / `portNo`).
    pub fn set_listen(&self, addr: SocketAddr) {
        let _ = self.listen.set(addr);
    }

    pub fn config(&self) -> PushConfig {
        lock(&self.running)
            .as_ref()
            .map(|r| r.config.clone())
            .unwrap_or_default()
    }

    pub fn stats(&self) -> PushStats {
        lock(&self.stats).clone()
    }

    fn envelope(&self, dev: &DeviceState, ts: i64, faults: &Faults) -> Map<String, Value> {
        let (ip, port) = self.listen.get().map_or(("0.0.0.0".to_owned(), 80), |a| {
            (a.ip().to_string(), a.port())
        });
        let mut m = Map::new();
        m.insert("ipAddress".into(), json!(ip));
        m.insert("portNo".into(), json!(port));
        m.insert("protocol".into(), json!("HTTP"));
        m.insert("macAddress".into(), json!(dev.mac_address()));
        m.insert("channelID".into(), json!(1));
        m.insert(
            "dateTime".into(),
            json!(dev.zone().format(ts, faults.naive_times)),
        );
        m.insert("activePostCount".into(), json!(1));
        m
    }

    /// The notification of one stored event (docs/push.md, Fields the site takes): the search record's fields
    /// under their push names.
    fn notification(
        &self,
        dev: &DeviceState,
        log: &EventLog,
        event: &Event,
        front: Option<u64>,
        current: bool,
        faults: &Faults,
    ) -> Value {
        let style = RenderStyle {
            zone: dev.zone(),
            naive_times: faults.naive_times,
            fields: dev.field_style(),
            serials: true,
        };
        let mut inner = match serde_json::to_value(info_item(event, log.roster(), style)) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        inner.remove("time");
        // The captured notifications (DS-K1T344MBFWX V4.31) name the reader but not the door.
        inner.remove("doorNo");
        for (search, push) in [("major", "majorEventType"), ("minor", "subEventType")] {
            if let Some(v) = inner.remove(search) {
                inner.insert(push.into(), v);
            }
        }
        inner.insert("deviceName".into(), json!(dev.name()));
        if let Some(front) = front {
            inner.insert("frontSerialNo".into(), json!(front));
        }
        inner.insert("currentEvent".into(), json!(current));
        let mut envelope = self.envelope(dev, event.ts, faults);
        envelope.insert("eventType".into(), json!("AccessControllerEvent"));
        envelope.insert("eventState".into(), json!("active"));
        envelope.insert("eventDescription".into(), json!("Access Controller Event"));
        envelope.insert("AccessControllerEvent".into(), Value::Object(inner));
        Value::Object(envelope)
    }

    /// Events the device just recorded, in recording order: pushed live (or lost, by `drop_share`).
    pub(super) fn recorded(
        &self,
        dev: &DeviceState,
        log: &EventLog,
        events: &[Event],
        faults: &Faults,
    ) {
        let mut guard = lock(&self.running);
        let Some(running) = guard.as_mut() else {
            return;
        };
        for event in events {
            let front = running.front.replace(event.serial);
            let lost = running.config.drop_share > 0.0
                && running.rng.random::<f64>() < running.config.drop_share;
            if lost {
                let mut stats = lock(&self.stats);
                stats.events_dropped += 1;
                stats.dropped_serials.push(event.serial);
                continue;
            }
            let notification = self.notification(dev, log, event, front, true, faults);
            let _ = running.tx.send(Job {
                serial: Some(event.serial),
                notification,
            });
        }
    }

    /// Queues stored events again with `currentEvent` false, in recording order: all of them, or those from
    /// serial `from_serial` on. Returns how many.
    pub(super) fn replay(
        &self,
        dev: &DeviceState,
        log: &EventLog,
        from_serial: Option<u64>,
        faults: &Faults,
    ) -> Result<usize, PushSetupError> {
        let mut guard = lock(&self.running);
        let running = guard.as_mut().ok_or(PushSetupError::NotConfigured)?;
        let mut events: Vec<&Event> = (0..log.len())
            .filter_map(|i| log.get(i))
            .filter(|e| from_serial.is_none_or(|s| e.serial >= s))
            .collect();
        events.sort_by_key(|e| e.seq);
        let mut previous: Option<u64> = None;
        for event in &events {
            let notification = self.notification(dev, log, event, previous, false, faults);
            previous = Some(event.serial);
            let _ = running.tx.send(Job {
                serial: Some(event.serial),
                notification,
            });
        }
        lock(&self.stats).replayed += events.len() as u64;
        Ok(events.len())
    }

    /// Applies a new setup (`PUT /sim/push`), kept as the shape of hosts later written over ISAPI.
    pub(super) fn configure(
        &self,
        dev: &Arc<DeviceState>,
        config: PushConfig,
    ) -> Result<(), PushSetupError> {
        config.validate()?;
        *lock(&self.template) = Some(config.clone());
        self.start(dev, config)
    }

    /// Pushes to `url` (a listening host written over ISAPI), or stops (`None`), with the shape `PUT
    /// /sim/push` last set, or bare JSON when it never did.
    pub(super) fn follow(
        &self,
        dev: &Arc<DeviceState>,
        url: Option<String>,
    ) -> Result<(), PushSetupError> {
        let template = lock(&self.template).clone();
        let config = PushConfig {
            url,
            ..template.unwrap_or(PushConfig {
                format: PushFormat::Json,
                ..PushConfig::default()
            })
        };
        config.validate()?;
        self.start(dev, config)
    }

    /// The old sender stops (what it had queued is lost, as on a terminal whose listening host is
    /// rewritten), a new one starts when `url` is set.
    fn start(&self, dev: &Arc<DeviceState>, config: PushConfig) -> Result<(), PushSetupError> {
        let mut guard = lock(&self.running);
        if let Some(old) = guard.take() {
            old.task.abort();
        }
        *lock(&self.stats) = PushStats::default();
        let Some(url) = config.url.clone() else {
            return Ok(());
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(send_loop(Arc::downgrade(dev), url, config.clone(), rx));
        let log = dev.log();
        let front = (0..log.len())
            .filter_map(|i| log.get(i))
            .max_by_key(|e| e.seq)
            .map(|e| e.serial);
        *guard = Some(Running {
            rng: StdRng::seed_from_u64(mix(config.seed, dev.identity().index, 0x7075_7368)),
            config,
            tx,
            task: task.abort_handle(),
            front,
        });
        Ok(())
    }
}

/// The request body and its Content-Type.
fn body_of(notification: &Value, config: &PushConfig) -> (Bytes, String) {
    let json = notification.to_string();
    let part = match config.format {
        PushFormat::Json => return (Bytes::from(json), "application/json".to_owned()),
        PushFormat::EventLog => "event_log",
        PushFormat::AccessControllerEvent => "AccessControllerEvent",
    };
    let mut body = Vec::with_capacity(json.len() + 512);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{part}\"\r\n\
             Content-Type: application/json; charset=\"UTF-8\"\r\nContent-Length: {}\r\n\r\n",
            json.len()
        )
        .as_bytes(),
    );
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(b"\r\n");
    let is_event = notification.get("AccessControllerEvent").is_some();
    if config.picture && is_event {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"Picture\"; filename=\"Picture.jpg\"\r\n\
                 Content-Type: image/jpeg\r\nContent-Length: {}\r\nContent-ID: pictureImage\r\n\r\n",
                PICTURE.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(PICTURE);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (
        Bytes::from(body),
        format!("multipart/form-data; boundary={BOUNDARY}"),
    )
}

/// One POST on its own connection; the status, or `None` without an answer.
async fn post(url: &str, body: Bytes, content_type: &str) -> Option<u16> {
    let (connect, host, path) = target(url).ok()?;
    let exchange = async {
        let stream = TcpStream::connect(&connect).await.ok()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(conn);
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = path.parse().ok()?;
        let headers = request.headers_mut();
        headers.insert(HOST, HeaderValue::from_str(&host).ok()?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).ok()?);
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers.insert(USER_AGENT, HeaderValue::from_static("ISAPI-sim"));
        let response = sender.send_request(request).await.ok()?;
        let status = response.status().as_u16();
        // Read the answer to its end before the connection goes.
        let _ = response.into_body().collect().await;
        Some(status)
    };
    tokio::time::timeout(POST_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
}

async fn send_loop(
    dev: Weak<DeviceState>,
    url: String,
    config: PushConfig,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let period = |secs_or_ms: u64, ms: bool| {
        (secs_or_ms > 0).then(|| {
            if ms {
                Duration::from_millis(secs_or_ms)
            } else {
                Duration::from_secs(secs_or_ms)
            }
        })
    };
    let mut heartbeat = period(config.heartbeat_secs, false).map(tokio::time::interval);
    let mut recorder = period(config.record_every_ms, true).map(tokio::time::interval);
    loop {
        let job = tokio::select! {
            job = rx.recv() => match job {
                Some(job) => job,
                None => return,
            },
            _ = tick(&mut heartbeat) => {
                let Some(dev) = dev.upgrade() else { return };
                let faults = dev.faults();
                let mut envelope = dev.pusher().envelope(&dev, device_now(faults.clock_skew_secs), &faults);
                envelope.insert("eventType".into(), json!("videoloss"));
                envelope.insert("eventState".into(), json!("inactive"));
                envelope.insert("eventDescription".into(), json!("videoloss alarm"));
                Job { serial: None, notification: Value::Object(envelope) }
            }
            _ = tick(&mut recorder) => {
                let Some(dev) = dev.upgrade() else { return };
                let faults = dev.faults();
                let _ = dev.record(&super::state::RecordRequest::default(), &faults);
                continue;
            }
        };
        let Some(stats) = dev.upgrade().map(|d| d.pusher().stats.clone()) else {
            return;
        };
        let (body, content_type) = body_of(&job.notification, &config);
        let mut attempt = 0;
        loop {
            if job.serial.is_some() && attempt == 0 {
                lock(&stats).events_sent += 1;
            }
            let status = post(&url, body.clone(), &content_type).await;
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            {
                let mut s = lock(&stats);
                s.last_status = status.or(s.last_status);
                match (status, ok, job.serial) {
                    (None, _, _) => s.failed += 1,
                    (Some(_), false, _) => s.refused += 1,
                    (Some(_), true, Some(serial)) => {
                        s.events_acknowledged += 1;
                        s.acknowledged_serials.push(serial);
                    }
                    (Some(_), true, None) => s.heartbeats_sent += 1,
                }
            }
            if ok || job.serial.is_none() {
                break;
            }
            if attempt >= config.retries {
                lock(&stats).events_given_up += 1;
                break;
            }
            attempt += 1;
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

/// The next tick of an optional interval; never resolves without one.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            target("http://127.0.0.1:8000/api/method/x?token=abc").expect("url"),
            (
                "127.0.0.1:8000".into(),
                "127.0.0.1:8000".into(),
                "/api/method/x?token=abc".into()
            )
        );
        assert_eq!(target("http://site.local").expect("url").0, "site.local:80");
        assert!(matches!(
            target("https://site.local/x"),
            Err(PushSetupError::NotHttp(_))
        ));
        let not_a_url = target("not a url").expect_err("not a url");
        assert!(matches!(not_a_url, PushSetupError::NotAUrl { .. }));
        assert!(
            not_a_url
                .to_string()
                .starts_with("push url \"not a url\": "),
            "{not_a_url}"
        );
    }

    #[test]
    fn multipart_shapes() {
        let n =
            json!({"eventType": "AccessControllerEvent", "AccessControllerEvent": {"serialNo": 1}});
        let mut config = PushConfig {
            picture: true,
            ..PushConfig::default()
        };
        let (body, ct) = body_of(&n, &config);
        let text = String::from_utf8_lossy(&body);
        assert_eq!(ct, "multipart/form-data; boundary=MIME_boundary");
        assert!(text.contains("name=\"event_log\""));
        assert!(text.contains("name=\"Picture\""));
        assert!(text.ends_with("--MIME_boundary--\r\n"));
        config.format = PushFormat::AccessControllerEvent;
        config.picture = false;
        let (body, _) = body_of(&n, &config);
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("name=\"AccessControllerEvent\"") && !text.contains("Picture"));
        config.format = PushFormat::Json;
        let (body, ct) = body_of(&n, &config);
        assert_eq!(ct, "application/json");
        assert_eq!(serde_json::from_slice::<Value>(&body).expect("json"), n);
    }
}
