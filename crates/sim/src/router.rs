//! Request handling for one device: body intake, authentication, random faults, dispatch.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION};
use hyper::{Method, Request, StatusCode};

use super::acs;
use super::auth::Attempt;
use super::config::Faults;
use super::control;
use super::envelope::{Envelope, IsapiError};
use super::http::{json_error, xml_error, ConnectionAbort, Reply};
use super::http_hosts;
use super::state::DeviceState;
use super::stats::Counter;
use super::system;
use super::unauthorized;
use super::users;

/// Request bodies are small JSON conditions; anything bigger is refused.
const MAX_BODY: usize = 1 << 20;

/// The resources a device serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    AcsEvent,
    AcsEventTotalNum,
    AcsEventCapabilities,
    DeviceInfo,
    Time,
    UserSearch,
    UserCount,
}

impl Endpoint {
    fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "/ISAPI/AccessControl/AcsEvent" => Endpoint::AcsEvent,
            "/ISAPI/AccessControl/AcsEventTotalNum" => Endpoint::AcsEventTotalNum,
            "/ISAPI/AccessControl/AcsEvent/capabilities" => Endpoint::AcsEventCapabilities,
            "/ISAPI/System/deviceInfo" => Endpoint::DeviceInfo,
            "/ISAPI/System/time" => Endpoint::Time,
            "/ISAPI/AccessControl/UserInfo/Search" => Endpoint::UserSearch,
            "/ISAPI/AccessControl/UserInfo/Count" => Endpoint::UserCount,
            _ => return None,
        })
    }

    fn method(self) -> Method {
        match self {
            Endpoint::AcsEvent | Endpoint::AcsEventTotalNum | Endpoint::UserSearch => Method::POST,
            _ => Method::GET,
        }
    }
}

/// Entry point for every request on a device's connection.
pub async fn handle(dev: Arc<DeviceState>, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let url = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());
    // Read the whole body first so keep-alive survives early answers such as 401.
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            let envelope = Envelope::new(IsapiError::BadParameters, url, "request body too large");
            let mut response = json_error(&envelope);
            // The rest of the body is still on the wire: the connection cannot be reused.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
        Err(_) => return Err(ConnectionAbort("request body unreadable")),
    };
    if path == "/sim" || path.starts_with("/sim/") {
        return Ok(control::handle(&dev, &parts.method, path, &body));
    }
    if !(path == "/ISAPI" || path.starts_with("/ISAPI/")) {
        return Ok(not_found(url));
    }
    dev.counters.bump(Counter::Requests);
    let faults = dev.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let attempt = Attempt {
        authorization: parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        method: parts.method.as_str(),
        uri: url,
    };
    if let Err(denial) = dev.auth.check(&attempt, &faults) {
        return Ok(unauthorized::response(&dev, &faults, &denial));
    }
    if dev.roll(faults.drop_rate) {
        return Err(ConnectionAbort("random drop"));
    }
    if dev.roll(faults.error_5xx_rate) {
        return Ok(json_error(&Envelope::new(
            IsapiError::DeviceBusy,
            url,
            "deviceBusy",
        )));
    }
    if let Some(rest) = path.strip_prefix(http_hosts::PATH) {
        if rest.is_empty() || rest.starts_with('/') {
            return Ok(http_hosts::handle(
                &dev,
                &faults,
                &parts.method,
                rest,
                url,
                &body,
            ));
        }
    }
    dispatch(&dev, &faults, &parts.method, path, url, &body).await
}

async fn dispatch(
    dev: &DeviceState,
    faults: &Faults,
    method: &Method,
    path: &str,
    url: &str,
    body: &[u8],
) -> Reply {
    let Some(endpoint) = Endpoint::from_path(path) else {
        return Ok(not_found(url));
    };
    if *method != endpoint.method() {
        let envelope = Envelope::new(IsapiError::MethodNotAllowed, url, "methodNotAllowed");
        return Ok(if wants_json(url) {
            json_error(&envelope)
        } else {
            xml_error(StatusCode::METHOD_NOT_ALLOWED, &envelope)
        });
    }
    Ok(match endpoint {
        Endpoint::AcsEvent => return acs::search(dev, faults, url, body).await,
        Endpoint::AcsEventTotalNum => acs::total(dev, faults, url, body),
        Endpoint::AcsEventCapabilities => acs::capabilities(faults, url),
        Endpoint::DeviceInfo => system::device_info(dev),
        Endpoint::Time => system::time(dev, faults),
        Endpoint::UserSearch => users::search(dev, faults, url, body),
        Endpoint::UserCount => users::count(dev, url),
    })
}

fn wants_json(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|kv| kv.eq_ignore_ascii_case("format=json"))
    })
}

fn not_found(url: &str) -> hyper::Response<super::http::Body> {
    xml_error(
        StatusCode::NOT_FOUND,
        &Envelope::new(IsapiError::NotSupport, url, "notSupport"),
    )
}
