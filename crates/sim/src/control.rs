//! Unauthenticated `/sim/...` endpoints tests use to observe and steer a device.

use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::config::Faults;
use super::http::{respond, Body, JSON};
use std::sync::Arc;

use super::push::PushConfig;
use super::state::{DeviceState, RecordRequest};

fn plain_json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => respond(status, JSON, bytes),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, msg: &str) -> Response<Body> {
    let body = json!({ "error": msg }).to_string();
    respond(status, JSON, body)
}

/// `PUT /sim/device` body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceChange {
    serial_number: String,
}

/// `POST /sim/push/replay` body (optional).
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Replay {
    /// Only events numbered from this serial on (default: every stored event).
    from_serial: Option<u64>,
}

/// `POST /sim/serial-reset` body (optional).
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SerialReset {
    clear_log: bool,
}

/// A JSON object body; an empty body means `{}`.
fn object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())?
    };
    if !value.is_object() {
        return Err("the body must be a JSON object".into());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// `GET /sim/stats`, `POST /sim/stats/reset`, `GET|PUT /sim/faults`, and the device's life:
/// `GET|PUT /sim/device` (identity; `serial_number` swaps the hardware serial number),
/// `POST /sim/events` (record events now) and `POST /sim/serial-reset` (the event counter restarts at 1);
/// HTTP listening: `GET|PUT /sim/push` (setup and counters) and `POST /sim/push/replay` (send stored events
/// again, `currentEvent` false).
pub fn handle(dev: &Arc<DeviceState>, method: &Method, path: &str, body: &[u8]) -> Response<Body> {
    match (path, method) {
        ("/sim/push", &Method::GET) => plain_json(
            StatusCode::OK,
            &json!({"config": dev.pusher().config(), "stats": dev.pusher().stats()}),
        ),
        ("/sim/push", &Method::PUT) => {
            let configured = object::<PushConfig>(body)
                .and_then(|c| dev.pusher().configure(dev, c).map_err(|e| e.to_string()));
            match configured {
                Ok(()) => plain_json(StatusCode::OK, &json!({"config": dev.pusher().config()})),
                Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
            }
        }
        ("/sim/push/replay", &Method::POST) => {
            let faults = dev.faults();
            let log = dev.log();
            let queued = object::<Replay>(body).and_then(|r| {
                dev.pusher()
                    .replay(dev, &log, r.from_serial, &faults)
                    .map_err(|e| e.to_string())
            });
            match queued {
                Ok(queued) => plain_json(StatusCode::OK, &json!({"queued": queued})),
                Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
            }
        }
        ("/sim/stats", &Method::GET) => plain_json(StatusCode::OK, &dev.stats()),
        ("/sim/stats/reset", &Method::POST) => {
            dev.reset_stats();
            plain_json(StatusCode::OK, &dev.stats())
        }
        ("/sim/faults", &Method::GET) => plain_json(StatusCode::OK, &dev.faults()),
        ("/sim/faults", &Method::PUT) => match parse_faults(body) {
            Ok(faults) => {
                dev.set_faults(faults);
                plain_json(StatusCode::OK, &dev.faults())
            }
            Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
        },
        ("/sim/device", &Method::GET) => plain_json(StatusCode::OK, &dev.snapshot()),
        ("/sim/device", &Method::PUT) => {
            match object::<DeviceChange>(body).and_then(|c| dev.set_serial_number(&c.serial_number))
            {
                Ok(()) => plain_json(StatusCode::OK, &dev.snapshot()),
                Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
            }
        }
        ("/sim/events", &Method::POST) => {
            let faults = dev.faults();
            match object::<RecordRequest>(body).and_then(|r| dev.record(&r, &faults)) {
                Ok(events) => plain_json(
                    StatusCode::OK,
                    &json!({"events": events, "device": dev.snapshot()}),
                ),
                Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
            }
        }
        ("/sim/serial-reset", &Method::POST) => match object::<SerialReset>(body) {
            Ok(reset) => {
                dev.reset_serial_counter(reset.clear_log);
                plain_json(StatusCode::OK, &dev.snapshot())
            }
            Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
        },
        (
            "/sim/stats" | "/sim/stats/reset" | "/sim/faults" | "/sim/device" | "/sim/events"
            | "/sim/serial-reset" | "/sim/push" | "/sim/push/replay",
            _,
        ) => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => error(StatusCode::NOT_FOUND, "unknown simulator path"),
    }
}

/// A JSON object (serde would also accept a positional array) of valid faults.
fn parse_faults(body: &[u8]) -> Result<Faults, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("faults must be a JSON object".into());
    }
    let faults: Faults = serde_json::from_value(value).map_err(|e| e.to_string())?;
    faults.validate()?;
    Ok(faults)
}
