//! A small push receiver for the tests: a real HTTP/1.1 server on loopback that reads each POST with the core's
//! push parser (as the site does), records it, and answers as docs/push.md says the site answers.
#![allow(dead_code)]

pub mod relay;

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attendance_sync::push::{parse_push_body, PushOutcome};
use attendance_sync::Classifier;
use attendance_sync_sim::{RecordRequest, SimDevice};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One POST as the receiver saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub token: String,
    pub status: u16,
    /// `event`, `heartbeat`, `not_access` or `unreadable`.
    pub kind: &'static str,
    pub serial: Option<u64>,
    pub front_serial: Option<u64>,
    pub current_event: Option<bool>,
    pub time: Option<String>,
    pub employee: Option<String>,
    pub content_type: String,
}

/// How the receiver answers right now.
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// Answer 503 to everything.
    pub down: bool,
    /// Tokens answered 401.
    pub refused_tokens: HashSet<String>,
    /// Delay before each answer.
    pub delay: Duration,
    /// Something other than the site answers pushes (nothing is stored).
    pub imposter: Option<Imposter>,
}

/// What may stand between a relay and the site and answer in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imposter {
    /// A proxy or maintenance page: 200 `text/html` echoing the URL asked for, token included.
    Html,
    /// An SSO gateway: 302 to `/login?redirect-to=<the URL asked for>`, whose page answers 200 HTML.
    RedirectToLogin,
    /// Some other JSON API: 200 `application/json` without `ok: true`.
    JsonWithoutOk,
}

/// The login page an SSO redirect leads to (its form carries the original URL, token included).
pub const LOGIN_PATH: &str = "/login";

#[derive(Clone, Default)]
pub struct Receiver {
    pub log: Arc<Mutex<Vec<Received>>>,
    pub mode: Arc<Mutex<Mode>>,
}

fn token_of(query: Option<&str>) -> String {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .unwrap_or("")
        .to_owned()
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    pub fn set_mode(&self, f: impl FnOnce(&mut Mode)) {
        f(&mut self.mode.lock().expect("mode"));
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let token = token_of(req.uri().query());
        let asked = req.uri().to_string();
        if req.uri().path() == LOGIN_PATH {
            return login_page(&asked);
        }
        let content_type = req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mode = self.mode.lock().expect("mode").clone();
        if !mode.delay.is_zero() {
            tokio::time::sleep(mode.delay).await;
        }
        let mut seen = Received {
            token: token.clone(),
            status: 200,
            kind: "unreadable",
            serial: None,
            front_serial: None,
            current_event: None,
            time: None,
            employee: None,
            content_type: content_type.clone(),
        };
        if let Some(imposter) = mode.imposter {
            let (response, status) = imposter_answer(imposter, &asked);
            seen.status = status;
            seen.kind = "imposter";
            self.log.lock().expect("log").push(seen);
            return response;
        }
        let (status, result) = if mode.down {
            (503, "down")
        } else if token.is_empty() || mode.refused_tokens.contains(&token) {
            (401, "refused")
        } else {
            let device: Arc<str> = Arc::from(token.as_str());
            match parse_push_body(
                Some(&content_type),
                &body,
                &device,
                None,
                &Classifier::default(),
            ) {
                Ok(PushOutcome::Event(p)) => {
                    seen.kind = "event";
                    seen.serial = p.event.serial_no;
                    seen.front_serial = p.front_serial_no;
                    seen.current_event = p.current_event;
                    seen.time = Some(p.event.time.to_rfc3339());
                    seen.employee = p.event.employee_no.clone();
                    (200, "stored")
                }
                Ok(PushOutcome::Heartbeat) => {
                    seen.kind = "heartbeat";
                    (200, "heartbeat")
                }
                Ok(PushOutcome::NotAccess { .. }) => {
                    seen.kind = "not_access";
                    (200, "ignored")
                }
                Err(_) => (200, "unreadable"),
            }
        };
        seen.status = status;
        self.log.lock().expect("log").push(seen);
        let body = format!(
            r#"{{"message": {{"ok": {}, "result": "{result}"}}}}"#,
            status == 200
        );
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        response
    }

    /// Serves on `addr` (port 0 for any) until the test ends; returns the bound address.
    pub async fn serve(&self, addr: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind(addr).await.expect("receiver binds");
        let local = listener.local_addr().expect("address");
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let me = me.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let me = me.clone();
                        async move { Ok::<_, Infallible>(me.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        local
    }
}

fn html(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn login_page(asked: &str) -> Response<Full<Bytes>> {
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method=\"post\">\
             <input type=\"hidden\" name=\"redirect-to\" value=\"{asked}\"><input name=\"user\">\
             </form></body></html>"
        ),
    )
}

/// The imposter's answer to a push to `asked` (path and query), and its status.
fn imposter_answer(imposter: Imposter, asked: &str) -> (Response<Full<Bytes>>, u16) {
    match imposter {
        Imposter::Html => (
            html(
                StatusCode::OK,
                format!(
                    "<html><head><title>Maintenance</title></head><body><h1>Back soon</h1>\
                     <p>{asked} is not available right now.</p></body></html>"
                ),
            ),
            200,
        ),
        Imposter::RedirectToLogin => {
            let mut response = html(StatusCode::FOUND, "<a href=\"/login\">Sign in</a>".into());
            let location = format!("{LOGIN_PATH}?redirect-to={asked}");
            response.headers_mut().insert(
                hyper::header::LOCATION,
                hyper::header::HeaderValue::from_str(&location).expect("location"),
            );
            (response, 302)
        }
        Imposter::JsonWithoutOk => {
            let mut response = Response::new(Full::new(Bytes::from(
                r#"{"message": {"status": "queued", "result": "accepted"}}"#,
            )));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            (response, 200)
        }
    }
}

/// Polls `check` every 50 ms until it holds or `limit` passes; whether it held.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

/// Records `count` new events on a simulated terminal (its pusher sends them on); their serial numbers.
pub fn record(d: &SimDevice, count: u32) -> Vec<u64> {
    record_request(
        d,
        RecordRequest {
            count,
            ..RecordRequest::default()
        },
    )
}

/// Records what `request` says on a simulated terminal; the serial numbers of the events recorded.
pub fn record_request(d: &SimDevice, request: RecordRequest) -> Vec<u64> {
    d.state
        .record(&request, &d.state.faults())
        .expect("recorded")
        .into_iter()
        .map(|r| r.serial_no)
        .collect()
}
