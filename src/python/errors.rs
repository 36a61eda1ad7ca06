//! The exceptions of `attendance_sync_core._core`, and the translation of core errors into them (with their
//! attributes: `device`, `partial`, `locked_until`, `retries_left`, `status`, `sub_status`, `reason`, `value`).

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

use super::types::PyFetchResult;
use crate::error::Error;
use crate::fetch::{FetchFailure, FetchResult};
use crate::host::HostError as CoreHostError;
use crate::utc_offset::UtcOffsetError as CoreUtcOffsetError;

create_exception!(
    attendance_sync_core._core,
    AttendanceSyncError,
    PyException,
    "Base class of every device error."
);
create_exception!(
    attendance_sync_core._core,
    DeviceAuthError,
    AttendanceSyncError,
    "Credentials rejected or account locked."
);
create_exception!(
    attendance_sync_core._core,
    DeviceUnreachableError,
    AttendanceSyncError,
    "Cannot connect to the device."
);
create_exception!(
    attendance_sync_core._core,
    DeviceTimeoutError,
    AttendanceSyncError,
    "The device did not answer in time."
);
create_exception!(
    attendance_sync_core._core,
    DeviceTlsError,
    AttendanceSyncError,
    "TLS handshake or certificate failure."
);
create_exception!(
    attendance_sync_core._core,
    DeviceHttpError,
    AttendanceSyncError,
    "The device answered with an HTTP error."
);
create_exception!(
    attendance_sync_core._core,
    DeviceProtocolError,
    AttendanceSyncError,
    "The device's answer could not be read."
);
create_exception!(
    attendance_sync_core._core,
    DeviceFaultError,
    AttendanceSyncError,
    "The device misbehaved during a search."
);
create_exception!(
    attendance_sync_core._core,
    HostError,
    PyValueError,
    "A device address that is not a bare host[:port]; `reason` says which mistake, `value` names the part."
);
create_exception!(
    attendance_sync_core._core,
    UtcOffsetError,
    PyValueError,
    "A text that is not a UTC offset; `reason` is 'format' or 'range', `value` is the text."
);

/// Builds the exception for a core error, with its attributes; `partial` holds events received before it.
pub(crate) fn to_py_err(py: Python<'_>, error: &Error, partial: Option<FetchResult>) -> PyErr {
    let message = error.to_string();
    let err = match error {
        Error::Auth { .. } => DeviceAuthError::new_err(message),
        Error::Transport(t) if t.is_tls() => DeviceTlsError::new_err(message),
        Error::Transport(t) if t.is_timeout() => DeviceTimeoutError::new_err(message),
        Error::Transport(_) => DeviceUnreachableError::new_err(message),
        Error::Http { .. } => DeviceHttpError::new_err(message),
        Error::Protocol { .. } => DeviceProtocolError::new_err(message),
        Error::Fault { .. } => DeviceFaultError::new_err(message),
    };
    let value = err.value(py);
    let set = |name: &str, v: Bound<'_, PyAny>| {
        // Setting attributes on a fresh exception instance cannot fail in practice; an error here would
        // only lose an attribute, never the exception.
        let _ = value.setattr(name, v);
    };
    let none = || py.None().into_bound(py);
    set(
        "device",
        error
            .device()
            .into_pyobject(py)
            .map(|v| v.into_any())
            .unwrap_or_else(|_| none()),
    );
    match error {
        Error::Auth { lock, .. } => {
            set(
                "locked_until",
                lock.locked_until
                    .and_then(|t| t.into_pyobject(py).ok())
                    .map_or_else(none, |v| v.into_any()),
            );
            set(
                "retries_left",
                lock.retries_left
                    .and_then(|n| n.into_pyobject(py).ok())
                    .map_or_else(none, |v| v.into_any()),
            );
        }
        Error::Http { status, isapi, .. } => {
            set(
                "status",
                status
                    .into_pyobject(py)
                    .map(|v| v.into_any())
                    .unwrap_or_else(|_| none()),
            );
            set(
                "sub_status",
                isapi
                    .sub_status
                    .as_deref()
                    .and_then(|s| s.into_pyobject(py).ok())
                    .map_or_else(none, |v| v.into_any()),
            );
        }
        _ => {}
    }
    let partial = partial
        .and_then(|p| PyFetchResult::build(py, p).ok())
        .and_then(|p| Bound::new(py, p).ok());
    set("partial", partial.map_or_else(none, |p| p.into_any()));
    err
}

pub(crate) fn failure_to_py(py: Python<'_>, failure: FetchFailure) -> PyErr {
    to_py_err(py, &failure.error, failure.partial)
}

/// `HostError` (a `ValueError`) with the stable `reason` and the offending `value`.
pub(crate) fn host_error(py: Python<'_>, error: &CoreHostError) -> PyErr {
    let err = HostError::new_err(error.to_string());
    let value = err.value(py);
    // Attributes on a fresh exception instance: a failure would only lose an attribute, never the exception.
    let _ = value.setattr("reason", error.reason());
    let _ = value.setattr("value", error.value());
    err
}

/// `UtcOffsetError` (a `ValueError`) with the stable `reason` and the refused `value`.
pub(crate) fn utc_offset_error(py: Python<'_>, error: &CoreUtcOffsetError) -> PyErr {
    let err = UtcOffsetError::new_err(error.to_string());
    let value = err.value(py);
    let _ = value.setattr("reason", error.reason());
    let _ = value.setattr("value", error.value());
    err
}
