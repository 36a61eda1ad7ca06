//! The functions of `attendance_sync_core._core`: each converts its arguments, runs the core with the GIL released,
//! and converts the result or the error.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::FixedOffset;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDateTime, PyDict, PyList, PyTuple, PyTzInfoAccess};

use super::datetimes::{window_args, Timestamps};
use super::errors::{failure_to_py, host_error, to_py_err, utc_offset_error};
use super::runtime::{run_detached, CallbackError};
use super::types::{device_config, PyDeviceInfo, PyDeviceUser, PyEvent, PyFetchResult};
use crate::dedup::{keep_mask_of, Candidate, ExistingKeys};
use crate::device::DeviceConfig;
use crate::event::PUNCH_MINORS;
use crate::fetch::{fetch_events as core_fetch, FetchStop};
use crate::isapi::system;
use crate::isapi::IsapiClient;
use crate::sync::{fetch_many as core_fetch_many, FleetProgress};

fn client_for(py: Python<'_>, cfg: DeviceConfig) -> PyResult<IsapiClient> {
    IsapiClient::new(cfg).map_err(|e| to_py_err(py, &e, None))
}

/// Fetches every event of one device in [start, end]; naive datetimes mean the device's own offset.
#[pyfunction]
#[pyo3(signature = (device, start, end, *, since_serial=None, on_progress=None))]
pub(crate) fn fetch_events(
    py: Python<'_>,
    device: &Bound<'_, PyAny>,
    start: &Bound<'_, PyDateTime>,
    end: &Bound<'_, PyDateTime>,
    since_serial: Option<u64>,
    on_progress: Option<Py<PyAny>>,
) -> PyResult<PyFetchResult> {
    let cfg = device_config(py, device)?;
    let (start, end) = window_args(start, end, cfg.utc_offset)?;
    let client = client_for(py, cfg)?;
    let callback_error = CallbackError::default();
    let mut hook = |pages: u32, events: usize| -> ControlFlow<()> {
        match &on_progress {
            Some(cb) => callback_error.guard(|py| cb.call1(py, (pages, events))),
            None => ControlFlow::Continue(()),
        }
    };
    let outcome = run_detached(
        py,
        false,
        core_fetch(&client, start, end, since_serial, &mut hook),
    )?;
    match outcome {
        Ok(result) => PyFetchResult::build(py, result),
        Err(FetchStop::Failed(f)) => Err(failure_to_py(py, *f)),
        Err(FetchStop::Cancelled) => Err(callback_error.take()),
    }
}

/// Fetches many devices concurrently. Each value is a FetchResult or the device's exception (not raised).
#[pyfunction]
#[pyo3(signature = (devices, start, end, *, concurrency=16, on_progress=None))]
pub(crate) fn fetch_many<'py>(
    py: Python<'py>,
    devices: &Bound<'py, PyAny>,
    start: &Bound<'py, PyDateTime>,
    end: &Bound<'py, PyDateTime>,
    concurrency: usize,
    on_progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut configs = Vec::new();
    let mut names = HashSet::new();
    for d in devices.try_iter()? {
        let cfg = device_config(py, &d?)?;
        if !names.insert(cfg.name.clone()) {
            return Err(PyValueError::new_err(format!(
                "two devices are named {:?}; names must be unique",
                cfg.name
            )));
        }
        configs.push(cfg);
    }
    if concurrency == 0 {
        return Err(PyValueError::new_err("concurrency must be at least 1"));
    }
    // Each device may have its own configured offset; a wall-clock end that is fine for one is fine for all
    // only if it is fine without knowing the offset, unless every device has the same one.
    let offsets: HashSet<Option<i32>> = configs
        .iter()
        .map(|c| c.utc_offset.map(|o| o.local_minus_utc()))
        .collect();
    let shared = match offsets.iter().next() {
        Some(Some(secs)) if offsets.len() == 1 => FixedOffset::east_opt(*secs),
        _ => None,
    };
    let (start, end) = window_args(start, end, shared)?;
    let callback_error = Arc::new(CallbackError::default());
    let progress: Option<FleetProgress> = on_progress.map(|cb| {
        let errors = Arc::clone(&callback_error);
        let hook: FleetProgress = Arc::new(move |name: &str, pages: u32, events: usize| {
            errors.guard(|py| cb.call1(py, (name, pages, events)))
        });
        hook
    });
    let outcome = run_detached(
        py,
        true,
        core_fetch_many(configs, start, end, concurrency, progress),
    )?;
    let results = outcome.map_err(|_| callback_error.take())?;
    let out = PyDict::new(py);
    for (name, result) in results {
        match result {
            Ok(r) => out.set_item(name, Bound::new(py, PyFetchResult::build(py, r)?)?)?,
            Err(f) => out.set_item(name, failure_to_py(py, *f).into_value(py))?,
        }
    }
    Ok(out)
}

/// Identity, clock, capabilities and user count of a device (what Test Connection shows).
#[pyfunction]
pub(crate) fn device_info(py: Python<'_>, device: &Bound<'_, PyAny>) -> PyResult<PyDeviceInfo> {
    let client = client_for(py, device_config(py, device)?)?;
    let info = run_detached(py, false, system::device_info(&client))?
        .map_err(|e| to_py_err(py, &e, None))?;
    Ok(PyDeviceInfo {
        device: info.device,
        model: info.model,
        firmware: info.firmware,
        serial_number: info.serial_number,
        mac_address: info.mac_address,
        device_name: info.device_name,
        device_type: info.device_type,
        device_time: info.clock.local_time,
        time_mode: info.clock.time_mode,
        time_zone: info.clock.time_zone,
        clock_skew_seconds: info.clock.skew_seconds,
        supports_event_search: info.supports_event_search,
        supports_serial_search: info.supports_serial_search,
        max_results: info.max_results,
        user_count: info.user_count,
    })
}

/// The device's user list (employee number, name, user type).
#[pyfunction]
pub(crate) fn device_users(
    py: Python<'_>,
    device: &Bound<'_, PyAny>,
) -> PyResult<Vec<PyDeviceUser>> {
    let client = client_for(py, device_config(py, device)?)?;
    let users =
        run_detached(py, false, system::users(&client))?.map_err(|e| to_py_err(py, &e, None))?;
    Ok(users
        .into_iter()
        .map(|u| PyDeviceUser {
            employee_no: u.employee_no,
            name: u.name,
            user_type: u.user_type,
        })
        .collect())
}

/// One item given to `dedup`: an Event, or a (person, aware datetime) pair.
enum DedupItem<'py> {
    Event(Bound<'py, PyEvent>),
    Pair(PyBackedStr, i64),
}

/// A (person, aware datetime) pair as (person, Unix seconds); `what` names the argument in the error.
fn person_and_seconds(
    item: &Bound<'_, PyAny>,
    timestamps: &mut Timestamps,
    what: &str,
) -> PyResult<(PyBackedStr, i64)> {
    let pair = item
        .cast::<PyTuple>()
        .ok()
        .filter(|pair| pair.len() == 2)
        .ok_or_else(|| {
            PyValueError::new_err(format!("{what} are (person, aware datetime) pairs"))
        })?;
    let person: PyBackedStr = pair.get_item(0)?.extract()?;
    let when = pair.get_item(1)?.cast_into::<PyDateTime>()?;
    if when.get_tzinfo().is_none() {
        return Err(PyValueError::new_err(format!(
            "{what} need aware datetimes (with a time zone)"
        )));
    }
    Ok((person, timestamps.of(&when)?))
}

/// Removes repeats by the one rule of the Rust `dedup`, keeping input order and the original objects.
///
/// `items` are Events (person: the employee number) or (person, aware datetime) pairs (the Frappe app passes
/// (Employee, site time) with the site's wall clock read as UTC); both kinds may be mixed.
#[pyfunction]
#[pyo3(signature = (items, existing_keys=None, *, window_seconds=0))]
pub(crate) fn dedup<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    existing_keys: Option<&Bound<'py, PyAny>>,
    window_seconds: i64,
) -> PyResult<Bound<'py, PyList>> {
    if window_seconds < 0 {
        return Err(PyValueError::new_err("window_seconds must not be negative"));
    }
    let mut timestamps = Timestamps::new(py)?;
    let mut objects: Vec<Bound<'py, PyAny>> = Vec::new();
    let mut parsed: Vec<DedupItem<'py>> = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        parsed.push(match item.cast::<PyEvent>() {
            Ok(event) => DedupItem::Event(event.clone()),
            Err(_) => {
                let (person, t) = person_and_seconds(&item, &mut timestamps, "items")?;
                DedupItem::Pair(person, t)
            }
        });
        objects.push(item);
    }
    let mut pairs: Vec<(PyBackedStr, i64)> = Vec::new();
    if let Some(keys) = existing_keys {
        for item in keys.try_iter()? {
            pairs.push(person_and_seconds(
                &item?,
                &mut timestamps,
                "existing keys",
            )?);
        }
    }
    let candidates: Vec<Candidate<'_>> = parsed
        .iter()
        .map(|item| match item {
            DedupItem::Event(event) => Candidate::from(&event.get().event),
            DedupItem::Pair(person, t) => Candidate {
                serial: None,
                person: Some(&**person),
                time: *t,
            },
        })
        .collect();
    let mask = py.detach(|| {
        let existing = ExistingKeys::from_pairs(pairs.iter().map(|(e, t)| (&**e, *t)));
        keep_mask_of(candidates.into_iter(), &existing, window_seconds)
    });
    let kept: Vec<Bound<'py, PyAny>> = objects
        .into_iter()
        .zip(mask)
        .filter_map(|(object, keep)| keep.then_some(object))
        .collect();
    PyList::new(py, kept)
}

/// The (major, minor) pairs counted as punches by default: every successful authentication.
#[pyfunction]
pub(crate) fn punch_minors() -> Vec<(u32, u32)> {
    PUNCH_MINORS.iter().map(|m| (5, *m)).collect()
}

/// Splits and validates an address typed as `host[:port]` (the one rule of the app, the CLI and `Device`).
/// Returns the host (IPv6 without brackets, host names in lower case) and the port, or None.
#[pyfunction]
pub(crate) fn parse_host(py: Python<'_>, text: &str) -> PyResult<(String, Option<u16>)> {
    crate::host::parse_host(text)
        .map(|hp| (hp.host, hp.port))
        .map_err(|e| host_error(py, &e))
}

/// A typed UTC offset (`+06:00`, `-0330`, `UTC+5`, `Z`...) as seconds east of UTC.
#[pyfunction]
pub(crate) fn parse_utc_offset(py: Python<'_>, text: &str) -> PyResult<i32> {
    crate::utc_offset::parse_utc_offset(text)
        .map(|o| o.local_minus_utc())
        .map_err(|e| utc_offset_error(py, &e))
}
