//! Attendance Sync core: pulls access-control events from Hikvision ISAPI terminals.
//!
//! - [`isapi`]: digest auth, one keep-alive session per device, event search, system resources;
//! - [`event`]: the event model, punch classification; [`event_key`]: an event's identity on a device (the site's
//!   Device Punch key and the relay's queue key); [`dedup`]: removal of repeats;
//! - [`fetch`]: one device and window; [`sync`]: many devices concurrently;
//! - [`push`]: a body a terminal (or the relay) pushes, read into the same events;
//! - [`host`], [`utc_offset`]: the rules for an address and an offset as a person types them.
//!
//! The simulator (`crates/sim`) and the `attendance-sync` command line (`crates/cli`) are crates of their own:
//! nothing here serves HTTP or parses a command line, so the Python extension built from this crate carries
//! neither.

// Input from a device or a user must never panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod dedup;
pub mod device;
pub mod device_zone;
pub mod error;
pub mod event;
pub mod event_key;
pub mod fetch;
pub mod host;
pub mod isapi;
pub mod push;
pub mod sync;
pub mod utc_offset;

pub use device::{DeviceConfig, Password, RetryPolicy};
pub use error::{Error, TransportError};
pub use event::{Classifier, Direction, Event};
pub use fetch::{fetch_events, FetchFailure, FetchResult, FetchStats, FetchStop, TimeArg};
pub use host::{parse_host, HostError, HostPort};
pub use utc_offset::{parse_utc_offset, UtcOffsetError};

#[cfg(feature = "python")]
mod python;

/// The Python extension `attendance_sync_core._core` (built by maturin from python/pyproject.toml): registration
/// only; the translation lives in `python/` (types, errors, functions).
#[cfg(feature = "python")]
#[pyo3::pymodule]
fn _core(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
    use pyo3::prelude::*;
    use python::{errors, event_key, functions, http_hosts, push, types};

    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<types::PyDevice>()?;
    m.add_class::<types::PyEvent>()?;
    m.add_class::<types::PyFetchStats>()?;
    m.add_class::<types::PyFetchResult>()?;
    m.add_class::<types::PyDeviceInfo>()?;
    m.add_class::<types::PyDeviceUser>()?;
    m.add(
        "AttendanceSyncError",
        py.get_type::<errors::AttendanceSyncError>(),
    )?;
    m.add("DeviceAuthError", py.get_type::<errors::DeviceAuthError>())?;
    m.add(
        "DeviceUnreachableError",
        py.get_type::<errors::DeviceUnreachableError>(),
    )?;
    m.add(
        "DeviceTimeoutError",
        py.get_type::<errors::DeviceTimeoutError>(),
    )?;
    m.add("DeviceTlsError", py.get_type::<errors::DeviceTlsError>())?;
    m.add("DeviceHttpError", py.get_type::<errors::DeviceHttpError>())?;
    m.add(
        "DeviceProtocolError",
        py.get_type::<errors::DeviceProtocolError>(),
    )?;
    m.add(
        "DeviceFaultError",
        py.get_type::<errors::DeviceFaultError>(),
    )?;
    m.add("HostError", py.get_type::<errors::HostError>())?;
    m.add("UtcOffsetError", py.get_type::<errors::UtcOffsetError>())?;
    m.add_class::<push::PyPushResult>()?;
    m.add("PushError", py.get_type::<push::PushError>())?;
    m.add_function(wrap_pyfunction!(push::parse_push, m)?)?;
    m.add_class::<http_hosts::PyHttpHost>()?;
    m.add(
        "HttpListeningUnsupportedError",
        py.get_type::<http_hosts::HttpListeningUnsupportedError>(),
    )?;
    m.add(
        "HttpHostSlotTakenError",
        py.get_type::<http_hosts::HttpHostSlotTakenError>(),
    )?;
    m.add_function(wrap_pyfunction!(http_hosts::http_hosts, m)?)?;
    m.add_function(wrap_pyfunction!(http_hosts::set_http_host, m)?)?;
    m.add_function(wrap_pyfunction!(http_hosts::clear_http_host, m)?)?;
    m.add_function(wrap_pyfunction!(functions::fetch_events, m)?)?;
    m.add_function(wrap_pyfunction!(functions::fetch_many, m)?)?;
    m.add_function(wrap_pyfunction!(functions::device_info, m)?)?;
    m.add_function(wrap_pyfunction!(functions::device_users, m)?)?;
    m.add_function(wrap_pyfunction!(functions::dedup, m)?)?;
    m.add_function(wrap_pyfunction!(functions::punch_minors, m)?)?;
    m.add_function(wrap_pyfunction!(functions::parse_host, m)?)?;
    m.add_function(wrap_pyfunction!(functions::parse_utc_offset, m)?)?;
    m.add_function(wrap_pyfunction!(event_key::event_key, m)?)?;
    m.add_function(wrap_pyfunction!(event_key::serial_event_key, m)?)?;
    Ok(())
}
