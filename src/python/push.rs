//! `parse_push`, `PushResult` and `PushError` of `attendance_sync_core._core`: a pushed body (a terminal's or the
//! relay's, docs/push.md) read by the core's [`crate::push`] into the same `Event` a fetch gives.

use std::sync::Arc;

use chrono::FixedOffset;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::event::Classifier;
use crate::push::{parse_push_body, PushError as CorePushError, PushOutcome};
use crate::python::errors::utc_offset_error;
use crate::python::types::PyEvent;
use crate::utc_offset::parse_utc_offset;

create_exception!(
    attendance_sync_core._core,
    PushError,
    PyValueError,
    "A push body that cannot be read; `reason` is a stable code, the message says what is wrong."
);

fn push_error(py: Python<'_>, error: &CorePushError) -> PyErr {
    let err = PushError::new_err(error.to_string());
    // An attribute on a fresh exception instance: a failure would only lose the attribute, never the exception.
    let _ = err.value(py).setattr("reason", error.reason());
    err
}

/// What one push body is: `kind` "event" (with `event`), "heartbeat", or "not_access" (another event type or
/// major; acknowledged and dropped).
#[pyclass(
    module = "attendance_sync_core._core",
    name = "PushResult",
    frozen,
    get_all
)]
pub(crate) struct PyPushResult {
    kind: &'static str,
    event: Option<Py<PyEvent>>,
    front_serial_no: Option<u64>,
    current_event: Option<bool>,
    mac_address: Option<String>,
    event_type: Option<String>,
    major: Option<u32>,
}

#[pymethods]
impl PyPushResult {
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("kind", self.kind)?;
        d.set_item("event", self.event.as_ref().map(|e| e.clone_ref(py)))?;
        d.set_item("front_serial_no", self.front_serial_no)?;
        d.set_item("current_event", self.current_event)?;
        d.set_item("mac_address", &self.mac_address)?;
        d.set_item("event_type", &self.event_type)?;
        d.set_item("major", self.major)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let event = match &self.event {
            Some(e) => e.bind(py).repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "PushResult(kind={:?}, event={event}, front_serial_no={:?})",
            self.kind, self.front_serial_no
        ))
    }
}

/// Reads one push body: `content_type` is the request's Content-Type (multipart bodies are split by its
/// boundary; the JSON part is `event_log` or `AccessControllerEvent`; pictures are ignored); without it, or
/// with any other type, the body is the notification itself (JSON, or XML from some firmwares).
///
/// `device` names the event; `utc_offset` reads a `dateTime` without an offset (without it such a time is a
/// `PushError`); `punch_codes` as for `Device`. Raises `PushError` (a `ValueError`) for an unreadable body.
#[pyfunction]
#[pyo3(signature = (body, content_type=None, *, device, utc_offset=None, punch_codes=None))]
pub(crate) fn parse_push(
    py: Python<'_>,
    body: &[u8],
    content_type: Option<&str>,
    device: &str,
    utc_offset: Option<&str>,
    punch_codes: Option<Vec<(u32, u32)>>,
) -> PyResult<PyPushResult> {
    let offset: Option<FixedOffset> = match utc_offset.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => Some(parse_utc_offset(text).map_err(|e| utc_offset_error(py, &e))?),
        None => None,
    };
    let classifier = punch_codes.map_or_else(Classifier::default, Classifier::new);
    let device: Arc<str> = Arc::from(device);
    let outcome = parse_push_body(content_type, body, &device, offset, &classifier)
        .map_err(|e| push_error(py, &e))?;
    Ok(match outcome {
        PushOutcome::Event(pushed) => PyPushResult {
            kind: "event",
            event_type: Some(crate::push::ACCESS_EVENT_TYPE.to_owned()),
            major: Some(pushed.event.major),
            front_serial_no: pushed.front_serial_no,
            current_event: pushed.current_event,
            mac_address: pushed.mac_address,
            event: Some(Py::new(py, PyEvent::new(py, pushed.event)?)?),
        },
        PushOutcome::Heartbeat => PyPushResult {
            kind: "heartbeat",
            event: None,
            front_serial_no: None,
            current_event: None,
            mac_address: None,
            event_type: Some("videoloss".to_owned()),
            major: None,
        },
        PushOutcome::NotAccess { event_type, major } => PyPushResult {
            kind: "not_access",
            event: None,
            front_serial_no: None,
            current_event: None,
            mac_address: None,
            event_type,
            major,
        },
    })
}
