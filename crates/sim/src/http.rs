//! Response construction shared by all handlers.

use std::time::Duration;

use bytes::Bytes;
use futures::{stream, StreamExt};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};

pub type Body = BoxBody<Bytes, std::io::Error>;
pub type Reply = Result<Response<Body>, ConnectionAbort>;

use super::envelope::{Envelope, IsapiError};
use super::json::to_device_json;

pub const JSON: &str = "application/json";
pub const XML: &str = "application/xml";

/// Returned instead of a response to make hyper drop the connection without answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionAbort(pub &'static str);

impl std::fmt::Display for ConnectionAbort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connection dropped on purpose: {}", self.0)
    }
}

impl std::error::Error for ConnectionAbort {}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A complete response with a body of the given content type.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Announces the whole body but sends only its first half, then breaks the connection.
pub fn truncated_stream(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let total = body.len();
    let half = body.slice(..total / 2);
    let frames = stream::iter([Ok(Frame::data(half))]).chain(stream::once(async {
        // Let hyper flush the first half before the error tears the connection down.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "body cut on purpose",
        ))
    }));
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(total));
    response
}

/// A JSON error envelope with its HTTP status.
pub fn json_error(envelope: &Envelope) -> Response<Body> {
    respond(envelope.error.http_status(), JSON, envelope.json())
}

/// An XML error envelope with an explicit HTTP status (404 for unknown resources).
pub fn xml_error(status: StatusCode, envelope: &Envelope) -> Response<Body> {
    respond(status, XML, envelope.xml())
}

/// A 200 with `value` in device JSON style.
pub fn json_ok<T: serde::Serialize>(value: &T, url: &str) -> Response<Body> {
    match to_device_json(value) {
        Ok(bytes) => respond(StatusCode::OK, JSON, bytes),
        Err(_) => json_error(&Envelope::new(IsapiError::DeviceError, url, "deviceError")),
    }
}
