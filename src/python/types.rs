//! The classes of `attendance_sync_core._core`: `Device` (connection settings in), `Event`, `FetchStats`,
//! `FetchResult`, `DeviceInfo`, `DeviceUser` (results out). They translate, and decide nothing.

use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyDict, PyList, PyTzInfo};

use super::errors::{host_error, utc_offset_error};
use crate::device::{DeviceConfig, Password};
use crate::device_zone::DeviceZone;
use crate::event::{Classifier, Event};
use crate::fetch::{FetchResult, FetchStats};
use crate::host::{parse_host, HostPort};
use crate::utc_offset::parse_utc_offset;

#[pyclass(module = "attendance_sync_core._core", name = "Device", frozen)]
#[derive(Clone)]
pub(crate) struct PyDevice {
    pub(crate) cfg: DeviceConfig,
}

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (host, user, password, *, port=None, https=false, verify_tls=true, name=None, major=5,
        minor=0, utc_offset=None, time_zone=None, connect_timeout=5.0, timeout=30.0, punch_codes=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: &str,
        user: String,
        password: String,
        port: Option<u16>,
        https: bool,
        verify_tls: bool,
        name: Option<String>,
        major: u32,
        minor: u32,
        utc_offset: Option<String>,
        time_zone: Option<String>,
        connect_timeout: f64,
        timeout: f64,
        punch_codes: Option<Vec<(u32, u32)>>,
    ) -> PyResult<Self> {
        // The address rule of the app and the CLI: `host` may carry the port, which must then agree with `port`.
        let HostPort {
            host,
            port: typed_port,
        } = parse_host(host).map_err(|e| host_error(py, &e))?;
        let port = match (typed_port, port) {
            (Some(a), Some(b)) if a != b => {
                return Err(PyValueError::new_err(format!(
                    "device host {host:?} has port {a}, and port={b} says otherwise"
                )))
            }
            (typed, given) => typed.or(given),
        };
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
            Some(text) => Some(parse_utc_offset(text).map_err(|e| utc_offset_error(py, &e))?),
            None => None,
        };
        cfg.time_zone = match time_zone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Some(DeviceZone::from_posix(text).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "not a POSIX time zone rule: {text:?} (expected e.g. CET-1CEST,M3.5.0,M10.5.0/3)"
                ))
            })?),
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
pub(crate) fn device_config(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<DeviceConfig> {
    if let Ok(d) = obj.cast::<PyDevice>() {
        return Ok(d.get().cfg.clone());
    }
    let kwargs = obj.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err("device must be a Device or a dict of Device's arguments")
    })?;
    let device = py.get_type::<PyDevice>().call((), Some(kwargs))?;
    Ok(device.cast::<PyDevice>()?.get().cfg.clone())
}

#[pyclass(module = "attendance_sync_core._core", name = "Event", frozen)]
pub(crate) struct PyEvent {
    pub(crate) event: Event,
    /// The tzinfo of `time`, shared by every event of a fetch with the same offset.
    tz: Py<PyTzInfo>,
}

impl PyEvent {
    /// One event on its own, with a tzinfo of its own offset (a fetch shares one per offset instead).
    pub(crate) fn new(py: Python<'_>, event: Event) -> PyResult<Self> {
        let tz = event.time.offset().into_pyobject(py)?.unbind();
        Ok(PyEvent { event, tz })
    }

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
    #[getter]
    fn reader_no(&self) -> Option<u32> {
        self.event.reader_no
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
        d.set_item("reader_no", e.reader_no)?;
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

#[pyclass(
    module = "attendance_sync_core._core",
    name = "FetchStats",
    frozen,
    get_all
)]
pub(crate) struct PyFetchStats {
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
    module = "attendance_sync_core._core",
    name = "FetchResult",
    frozen,
    get_all
)]
pub(crate) struct PyFetchResult {
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
    pub(crate) fn build(py: Python<'_>, r: FetchResult) -> PyResult<Self> {
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

#[pyclass(
    module = "attendance_sync_core._core",
    name = "DeviceInfo",
    frozen,
    get_all
)]
pub(crate) struct PyDeviceInfo {
    pub(crate) device: String,
    pub(crate) model: Option<String>,
    pub(crate) firmware: Option<String>,
    pub(crate) serial_number: Option<String>,
    pub(crate) mac_address: Option<String>,
    pub(crate) device_name: Option<String>,
    pub(crate) device_type: Option<String>,
    pub(crate) device_time: DateTime<FixedOffset>,
    pub(crate) time_mode: Option<String>,
    pub(crate) time_zone: Option<String>,
    pub(crate) clock_skew_seconds: f64,
    pub(crate) supports_event_search: bool,
    pub(crate) supports_serial_search: bool,
    pub(crate) max_results: Option<u32>,
    pub(crate) user_count: Option<u64>,
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

#[pyclass(
    module = "attendance_sync_core._core",
    name = "DeviceUser",
    frozen,
    get_all
)]
pub(crate) struct PyDeviceUser {
    pub(crate) employee_no: String,
    pub(crate) name: Option<String>,
    pub(crate) user_type: Option<String>,
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
