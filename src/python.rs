//! `attendance_sync._core`: the typed Python surface of the core (stubs in `attendance_sync/_core.pyi`).
//!
//! Network I/O runs with the GIL released on a runtime created per call, so the module works in threads and
//! in forked RQ workers alike. Python is re-entered only to report progress (once per page) and to check
//! for signals, which is how Ctrl-C cancels a fetch.

use std::collections::HashSet;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Timelike};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{
    PyDateAccess, PyDateTime, PyDict, PyList, PyTimeAccess, PyTuple, PyTzInfo, PyTzInfoAccess,
};

use crate::dedup::{keep_mask, ExistingKeys};
use crate::device::{DeviceConfig, Password};
use crate::error::Error;
use crate::event::{Classifier, Event, PUNCH_MINORS};
use crate::fetch::{
    check_window, fetch_events as core_fetch, FetchFailure, FetchResult, FetchStats, FetchStop,
    TimeArg,
};
use crate::isapi::system;
use crate::isapi::IsapiClient;
use crate::sync::{fetch_many as core_fetch_many, FleetProgress};
use crate::utc_offset::parse_utc_offset;

create_exception!(
    _core,
    AttendanceSyncError,
    PyException,
    "Base class of every device error."
);
create_exception!(
    _core,
    DeviceAuthError,
    AttendanceSyncError,
    "Credentials rejected or account locked."
);
create_exception!(
    _core,
    DeviceUnreachableError,
    AttendanceSyncError,
    "Cannot connect to the device."
);
create_exception!(
    _core,
    DeviceTimeoutError,
    AttendanceSyncError,
    "The device did not answer in time."
);
create_exception!(
    _core,
    DeviceTlsError,
    AttendanceSyncError,
    "TLS handshake or certificate failure."
);
create_exception!(
    _core,
    DeviceHttpError,
    AttendanceSyncError,
    "The device answered with an HTTP error."
);
create_exception!(
    _core,
    DeviceProtocolError,
    AttendanceSyncError,
    "The device's answer could not be read."
);
create_exception!(
    _core,
    DeviceFaultError,
    AttendanceSyncError,
    "The device misbehaved during a search."
);

/// Builds the exception for a core error, with its attributes; `partial` holds events received before it.
fn to_py_err(py: Python<'_>, error: &Error, partial: Option<FetchResult>) -> PyErr {
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

fn failure_to_py(py: Python<'_>, failure: FetchFailure) -> PyErr {
    to_py_err(py, &failure.error, failure.partial)
}

/// Runs a future with the GIL released, checking for signals (Ctrl-C) every 50 ms.
fn run_detached<F>(py: Python<'_>, multi_thread: bool, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .min(4),
            )
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| PyException::new_err(format!("cannot start the I/O runtime: {e}")))?;
    py.detach(|| {
        runtime.block_on(async {
            tokio::pin!(fut);
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tokio::select! {
                    out = &mut fut => return Ok(out),
                    _ = tick.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}

#[pyclass(module = "attendance_sync._core", name = "Device", frozen)]
#[derive(Clone)]
struct PyDevice {
    cfg: DeviceConfig,
}

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (host, user, password, *, port=None, https=false, verify_tls=true, name=None, major=5,
        minor=0, utc_offset=None, connect_timeout=5.0, timeout=30.0, punch_codes=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        host: String,
        user: String,
        password: String,
        port: Option<u16>,
        https: bool,
        verify_tls: bool,
        name: Option<String>,
        major: u32,
        minor: u32,
        utc_offset: Option<String>,
        connect_timeout: f64,
        timeout: f64,
        punch_codes: Option<Vec<(u32, u32)>>,
    ) -> PyResult<Self> {
        let host = host.trim().to_owned();
        if host.is_empty() || host.contains('/') {
            return Err(PyValueError::new_err(format!(
                "device host {host:?} must be a host name or IP address, without scheme or path"
            )));
        }
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(PyValueError::new_err(format!(
                    "{what} must be a positive number of seconds"
                )))
            }
        };
        let mut cfg = DeviceConfig::new(host, user, Password::new(password));
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            cfg.name = n;
        }
        cfg.port = port;
        cfg.https = https;
        cfg.verify_tls = verify_tls;
        cfg.major = major;
        cfg.minor = minor;
        cfg.utc_offset = match utc_offset
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => Some(
                parse_utc_offset(text)
                    .map_err(|e| PyValueError::new_err(format!("utc_offset: {e}")))?,
            ),
            None => None,
        };
        cfg.connect_timeout = positive("connect_timeout", connect_timeout)?;
        cfg.timeout = positive("timeout", timeout)?;
        if let Some(pairs) = punch_codes {
            cfg.classifier = Classifier::new(pairs);
        }
        Ok(PyDevice { cfg })
    }

    #[getter]
    fn host(&self) -> &str {
        &self.cfg.host
    }
    #[getter]
    fn user(&self) -> &str {
        &self.cfg.user
    }
    #[getter]
    fn port(&self) -> Option<u16> {
        self.cfg.port
    }
    #[getter]
    fn https(&self) -> bool {
        self.cfg.https
    }
    #[getter]
    fn verify_tls(&self) -> bool {
        self.cfg.verify_tls
    }
    #[getter]
    fn name(&self) -> &str {
        &self.cfg.name
    }
    #[getter]
    fn major(&self) -> u32 {
        self.cfg.major
    }
    #[getter]
    fn minor(&self) -> u32 {
        self.cfg.minor
    }
    #[getter]
    fn utc_offset(&self) -> Option<String> {
        self.cfg.utc_offset.map(|o| o.to_string())
    }
    #[getter]
    fn connect_timeout(&self) -> f64 {
        self.cfg.connect_timeout.as_secs_f64()
    }
    #[getter]
    fn timeout(&self) -> f64 {
        self.cfg.timeout.as_secs_f64()
    }
    #[getter]
    fn punch_codes(&self) -> Vec<(u32, u32)> {
        self.cfg.classifier.pairs()
    }
    #[getter]
    fn base_url(&self) -> String {
        self.cfg.base_url()
    }

    fn __repr__(&self) -> String {
        format!(
            "Device(name={:?}, url={:?}, user={:?})",
            self.cfg.name,
            self.cfg.base_url(),
            self.cfg.user
        )
    }
}

/// A `Device`, or a mapping with the same keys.
fn device_config(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<DeviceConfig> {
    if let Ok(d) = obj.cast::<PyDevice>() {
        return Ok(d.get().cfg.clone());
    }
    let kwargs = obj.cast::<PyDict>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "device must be a Device or a dict of Device's arguments",
        )
    })?;
    let device = py.get_type::<PyDevice>().call((), Some(kwargs))?;
    Ok(device.cast::<PyDevice>()?.get().cfg.clone())
}

/// The wall-clock part of a datetime to the second (the precision of ISAPI), read from its fields.
fn wall_clock(dt: &Bound<'_, PyDateTime>) -> PyResult<NaiveDateTime> {
    chrono::NaiveDate::from_ymd_opt(
        dt.get_year(),
        u32::from(dt.get_month()),
        u32::from(dt.get_day()),
    )
    .and_then(|d| {
        d.and_hms_opt(
            u32::from(dt.get_hour()),
            u32::from(dt.get_minute()),
            u32::from(dt.get_second()),
        )
    })
    .ok_or_else(|| PyValueError::new_err("invalid datetime"))
}

/// An aware datetime as a fixed-offset instant; `utcoffset()` makes any tzinfo (zoneinfo included) work.
fn aware(dt: &Bound<'_, PyDateTime>) -> PyResult<DateTime<FixedOffset>> {
    let offset: chrono::Duration = dt.call_method0("utcoffset")?.extract()?;
    let offset = i32::try_from(offset.num_seconds())
        .ok()
        .and_then(FixedOffset::east_opt)
        .ok_or_else(|| PyValueError::new_err("unsupported UTC offset"))?;
    wall_clock(dt)?
        .and_local_timezone(offset)
        .single()
        .ok_or_else(|| PyValueError::new_err("datetime does not exist at its offset"))
}

fn time_arg(dt: &Bound<'_, PyDateTime>) -> PyResult<TimeArg> {
    if dt.get_tzinfo().is_none() {
        return Ok(TimeArg::DeviceLocal(wall_clock(dt)?));
    }
    Ok(TimeArg::Aware(aware(dt)?))
}

/// A fetch window, refused (ValueError, before any request) when it is empty or reversed.
fn window_args(
    start: &Bound<'_, PyDateTime>,
    end: &Bound<'_, PyDateTime>,
    device_offset: Option<FixedOffset>,
) -> PyResult<(TimeArg, TimeArg)> {
    let (start, end) = (time_arg(start)?, time_arg(end)?);
    check_window(start, end, device_offset)
        .map_err(|e| PyValueError::new_err(format!("start={start}, end={end}: {e}")))?;
    Ok((start, end))
}

/// Unix seconds of aware datetimes, read from their fields. `utcoffset()` is called once per
/// `datetime.timezone` object (a fixed offset; the cache holds it, so its address cannot be reused) and for
/// every datetime with another tzinfo (zoneinfo and the like, whose offset depends on the date).
struct Timestamps {
    fixed_type: Py<PyAny>,
    fixed: Vec<(Py<PyAny>, i64)>,
}

impl Timestamps {
    fn new(py: Python<'_>) -> PyResult<Self> {
        Ok(Timestamps {
            fixed_type: py.import("datetime")?.getattr("timezone")?.unbind(),
            fixed: Vec::new(),
        })
    }

    fn of(&mut self, dt: &Bound<'_, PyDateTime>) -> PyResult<i64> {
        let tz = dt.get_tzinfo().ok_or_else(|| {
            PyValueError::new_err("existing keys need aware datetimes (with a time zone)")
        })?;
        let offset = match self.fixed.iter().find(|(cached, _)| cached.is(&tz)) {
            Some((_, offset)) => *offset,
            None => {
                let delta: chrono::Duration = dt.call_method0("utcoffset")?.extract()?;
                let offset = delta.num_seconds();
                // A handful of fixed zones is the norm; a stream of fresh ones is not worth remembering.
                if self.fixed.len() < 16 && tz.get_type().is(self.fixed_type.bind(dt.py())) {
                    self.fixed.push((tz.into_any().unbind(), offset));
                }
                offset
            }
        };
        let wall = wall_clock(dt)?;
        Ok(wall.and_utc().timestamp() - offset)
    }
}

#[pyclass(module = "attendance_sync._core", name = "Event", frozen)]
struct PyEvent {
    event: Event,
    /// The tzinfo of `time`, shared by every event of a fetch with the same offset.
    tz: Py<PyTzInfo>,
}

impl PyEvent {
    fn time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDateTime>> {
        let t = self.event.time;
        let to_u8 =
            |v: u32| u8::try_from(v).map_err(|_| PyValueError::new_err("time out of range"));
        PyDateTime::new(
            py,
            t.year(),
            to_u8(t.month())?,
            to_u8(t.day())?,
            to_u8(t.hour())?,
            to_u8(t.minute())?,
            to_u8(t.second())?,
            0,
            Some(self.tz.bind(py)),
        )
    }
}

#[pymethods]
impl PyEvent {
    #[getter]
    fn device(&self) -> &str {
        &self.event.device
    }
    #[getter]
    fn serial_no(&self) -> Option<u64> {
        self.event.serial_no
    }
    #[getter]
    fn employee_no(&self) -> Option<&str> {
        self.event.employee_no.as_deref()
    }
    #[getter]
    #[pyo3(name = "time")]
    fn time_getter<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDateTime>> {
        self.time(py)
    }
    #[getter]
    fn log_type(&self) -> Option<&'static str> {
        self.event.log_type.map(|d| d.as_str())
    }
    #[getter]
    fn major(&self) -> u32 {
        self.event.major
    }
    #[getter]
    fn minor(&self) -> u32 {
        self.event.minor
    }
    #[getter]
    fn verify_method(&self) -> Option<&'static str> {
        self.event.verify_method
    }
    #[getter]
    fn is_punch(&self) -> bool {
        self.event.is_punch
    }
    #[getter]
    fn card_no(&self) -> Option<&str> {
        self.event.card_no.as_deref()
    }
    #[getter]
    fn name(&self) -> Option<&str> {
        self.event.name.as_deref()
    }
    #[getter]
    fn door_no(&self) -> Option<u32> {
        self.event.door_no
    }

    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = &self.event;
        let d = PyDict::new(py);
        d.set_item("device", &*e.device)?;
        d.set_item("serial_no", e.serial_no)?;
        d.set_item("employee_no", e.employee_no.as_deref())?;
        d.set_item("time", self.time(py)?)?;
        d.set_item("log_type", e.log_type.map(|l| l.as_str()))?;
        d.set_item("major", e.major)?;
        d.set_item("minor", e.minor)?;
        d.set_item("verify_method", e.verify_method)?;
        d.set_item("is_punch", e.is_punch)?;
        d.set_item("card_no", e.card_no.as_deref())?;
        d.set_item("name", e.name.as_deref())?;
        d.set_item("door_no", e.door_no)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let e = &self.event;
        format!(
            "Event(device={:?}, serial_no={:?}, employee_no={:?}, time='{}', log_type={:?}, minor={}, is_punch={})",
            &*e.device,
            e.serial_no,
            e.employee_no,
            e.time.to_rfc3339(),
            e.log_type.map(|l| l.as_str()),
            e.minor,
            e.is_punch
        )
    }
}

#[pyclass(module = "attendance_sync._core", name = "FetchStats", frozen, get_all)]
struct PyFetchStats {
    pages: u32,
    exchanges: u64,
    bytes: u64,
    seconds: f64,
    windows: u32,
    rejected_items: u32,
    outside_window: u32,
}

impl From<&FetchStats> for PyFetchStats {
    fn from(s: &FetchStats) -> Self {
        PyFetchStats {
            pages: s.pages,
            exchanges: s.exchanges,
            bytes: s.bytes,
            seconds: s.seconds,
            windows: s.windows,
            rejected_items: s.rejected_items,
            outside_window: s.outside_window,
        }
    }
}

#[pymethods]
impl PyFetchStats {
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("pages", self.pages)?;
        d.set_item("exchanges", self.exchanges)?;
        d.set_item("bytes", self.bytes)?;
        d.set_item("seconds", self.seconds)?;
        d.set_item("windows", self.windows)?;
        d.set_item("rejected_items", self.rejected_items)?;
        d.set_item("outside_window", self.outside_window)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "FetchStats(pages={}, exchanges={}, bytes={}, seconds={:.3})",
            self.pages, self.exchanges, self.bytes, self.seconds
        )
    }
}

#[pyclass(
    module = "attendance_sync._core",
    name = "FetchResult",
    frozen,
    get_all
)]
struct PyFetchResult {
    device: String,
    events: Py<PyList>,
    stats: Py<PyFetchStats>,
    last_serial: Option<u64>,
    device_time: DateTime<FixedOffset>,
    serial_mode: bool,
    complete_until: DateTime<FixedOffset>,
    serial_reset_suspected: bool,
}

impl PyFetchResult {
    fn build(py: Python<'_>, r: FetchResult) -> PyResult<Self> {
        let stats = Py::new(py, PyFetchStats::from(&r.stats))?;
        let events = PyList::empty(py);
        let mut zones: Vec<(i32, Py<PyTzInfo>)> = Vec::new();
        for event in r.events {
            let offset = event.time.offset().local_minus_utc();
            let tz = match zones.iter().find(|(o, _)| *o == offset) {
                Some((_, tz)) => tz.clone_ref(py),
                None => {
                    let tz = event.time.offset().into_pyobject(py)?.unbind();
                    zones.push((offset, tz.clone_ref(py)));
                    tz
                }
            };
            events.append(Py::new(py, PyEvent { event, tz })?)?;
        }
        Ok(PyFetchResult {
            device: r.device,
            events: events.unbind(),
            stats,
            last_serial: r.last_serial,
            device_time: r.device_time,
            serial_mode: r.serial_mode,
            complete_until: r.complete_until,
            serial_reset_suspected: r.serial_reset_suspected,
        })
    }
}

#[pymethods]
impl PyFetchResult {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "FetchResult(device={:?}, events={}, last_serial={:?})",
            self.device,
            self.events.bind(py).len(),
            self.last_serial
        )
    }
}

#[pyclass(module = "attendance_sync._core", name = "DeviceInfo", frozen, get_all)]
struct PyDeviceInfo {
    device: String,
    model: Option<String>,
    firmware: Option<String>,
    serial_number: Option<String>,
    mac_address: Option<String>,
    device_name: Option<String>,
    device_type: Option<String>,
    device_time: DateTime<FixedOffset>,
    time_mode: Option<String>,
    time_zone: Option<String>,
    clock_skew_seconds: f64,
    supports_event_search: bool,
    supports_serial_search: bool,
    max_results: Option<u32>,
    user_count: Option<u64>,
}

#[pymethods]
impl PyDeviceInfo {
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("device", &self.device)?;
        d.set_item("model", &self.model)?;
        d.set_item("firmware", &self.firmware)?;
        d.set_item("serial_number", &self.serial_number)?;
        d.set_item("mac_address", &self.mac_address)?;
        d.set_item("device_name", &self.device_name)?;
        d.set_item("device_type", &self.device_type)?;
        d.set_item("device_time", self.device_time)?;
        d.set_item("time_mode", &self.time_mode)?;
        d.set_item("time_zone", &self.time_zone)?;
        d.set_item("clock_skew_seconds", self.clock_skew_seconds)?;
        d.set_item("supports_event_search", self.supports_event_search)?;
        d.set_item("supports_serial_search", self.supports_serial_search)?;
        d.set_item("max_results", self.max_results)?;
        d.set_item("user_count", self.user_count)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "DeviceInfo(device={:?}, model={:?}, firmware={:?})",
            self.device, self.model, self.firmware
        )
    }
}

#[pyclass(module = "attendance_sync._core", name = "DeviceUser", frozen, get_all)]
struct PyDeviceUser {
    employee_no: String,
    name: Option<String>,
    user_type: Option<String>,
}

#[pymethods]
impl PyDeviceUser {
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("employee_no", &self.employee_no)?;
        d.set_item("name", &self.name)?;
        d.set_item("user_type", &self.user_type)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "DeviceUser(employee_no={:?}, name={:?})",
            self.employee_no, self.name
        )
    }
}

fn client_for(py: Python<'_>, cfg: DeviceConfig) -> PyResult<IsapiClient> {
    IsapiClient::new(cfg).map_err(|e| to_py_err(py, &e, None))
}

/// The first exception raised by a progress callback: it cancels the fetch and is raised in its place.
#[derive(Default)]
struct CallbackError(Mutex<Option<PyErr>>);

impl CallbackError {
    /// Runs one callback invocation with the GIL; an exception is kept and asks the fetch to stop.
    fn guard(&self, call: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) -> ControlFlow<()> {
        Python::attach(|py| match call(py) {
            Ok(_) => ControlFlow::Continue(()),
            Err(e) => {
                if let Ok(mut slot) = self.0.lock() {
                    *slot = Some(e);
                }
                ControlFlow::Break(())
            }
        })
    }

    fn take(&self) -> PyErr {
        self.0
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| PyException::new_err("fetch cancelled"))
    }
}

/// Fetches every event of one device in [start, end]; naive datetimes mean the device's own offset.
#[pyfunction]
#[pyo3(signature = (device, start, end, *, since_serial=None, on_progress=None))]
fn fetch_events(
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
fn fetch_many<'py>(
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
fn device_info(py: Python<'_>, device: &Bound<'_, PyAny>) -> PyResult<PyDeviceInfo> {
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
fn device_users(py: Python<'_>, device: &Bound<'_, PyAny>) -> PyResult<Vec<PyDeviceUser>> {
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

/// Removes repeats, keeping input order and the original Event objects (see the Rust `dedup`).
#[pyfunction]
#[pyo3(signature = (events, existing_keys=None, *, window_seconds=0))]
fn dedup<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    existing_keys: Option<&Bound<'py, PyAny>>,
    window_seconds: i64,
) -> PyResult<Bound<'py, PyList>> {
    if window_seconds < 0 {
        return Err(PyValueError::new_err("window_seconds must not be negative"));
    }
    let events: Vec<Bound<'py, PyEvent>> = events
        .try_iter()?
        .map(|e| Ok(e?.cast_into::<PyEvent>()?))
        .collect::<PyResult<_>>()?;
    let mut pairs: Vec<(PyBackedStr, i64)> = Vec::new();
    if let Some(keys) = existing_keys {
        let mut timestamps = Timestamps::new(py)?;
        for item in keys.try_iter()? {
            let item = item?;
            let pair = item.cast::<PyTuple>()?;
            if pair.len() != 2 {
                return Err(PyValueError::new_err(
                    "existing keys are (employee, aware datetime) pairs",
                ));
            }
            let employee: PyBackedStr = pair.get_item(0)?.extract()?;
            let when = pair.get_item(1)?.cast_into::<PyDateTime>()?;
            pairs.push((employee, timestamps.of(&when)?));
        }
    }
    let refs: Vec<&Event> = events.iter().map(|e| &e.get().event).collect();
    let mask = py.detach(|| {
        let existing = ExistingKeys::from_pairs(pairs.iter().map(|(e, t)| (&**e, *t)));
        keep_mask(refs.into_iter(), &existing, window_seconds)
    });
    let kept: Vec<Bound<'py, PyEvent>> = events
        .into_iter()
        .zip(mask)
        .filter_map(|(event, keep)| keep.then_some(event))
        .collect();
    PyList::new(py, kept)
}

/// The (major, minor) pairs counted as punches by default: every successful authentication.
#[pyfunction]
fn punch_minors() -> Vec<(u32, u32)> {
    PUNCH_MINORS.iter().map(|m| (5, *m)).collect()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyDevice>()?;
    m.add_class::<PyEvent>()?;
    m.add_class::<PyFetchStats>()?;
    m.add_class::<PyFetchResult>()?;
    m.add_class::<PyDeviceInfo>()?;
    m.add_class::<PyDeviceUser>()?;
    m.add("AttendanceSyncError", py.get_type::<AttendanceSyncError>())?;
    m.add("DeviceError", py.get_type::<AttendanceSyncError>())?;
    m.add("DeviceAuthError", py.get_type::<DeviceAuthError>())?;
    m.add(
        "DeviceUnreachableError",
        py.get_type::<DeviceUnreachableError>(),
    )?;
    m.add("DeviceTimeoutError", py.get_type::<DeviceTimeoutError>())?;
    m.add("DeviceTlsError", py.get_type::<DeviceTlsError>())?;
    m.add("DeviceHttpError", py.get_type::<DeviceHttpError>())?;
    m.add("DeviceProtocolError", py.get_type::<DeviceProtocolError>())?;
    m.add("DeviceFaultError", py.get_type::<DeviceFaultError>())?;
    m.add_function(wrap_pyfunction!(fetch_events, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_many, m)?)?;
    m.add_function(wrap_pyfunction!(device_info, m)?)?;
    m.add_function(wrap_pyfunction!(device_users, m)?)?;
    m.add_function(wrap_pyfunction!(dedup, m)?)?;
    m.add_function(wrap_pyfunction!(punch_minors, m)?)?;
    Ok(())
}
