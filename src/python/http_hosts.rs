//! `http_hosts`, `set_http_host`, `clear_http_host`, `HttpHost` and their exceptions of
//! `attendance_sync_core._core`: a terminal's HTTP listening slots read and written by the core's
//! [`crate::isapi::http_hosts`] (docs/push.md#configuring-the-terminal).
//!
//! The push URL carries the device's token: `HttpHost`'s repr and every exception message show queries
//! redacted.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::{to_py_err, AttendanceSyncError};
use super::runtime::run_detached;
use super::types::device_config;
use crate::isapi::http_hosts::{
    clear_http_host as core_clear, http_hosts as core_hosts, redact_url, set_http_host as core_set,
    HttpHost, HttpHostError,
};
use crate::isapi::IsapiClient;

create_exception!(
    attendance_sync_core._core,
    HttpListeningUnsupportedError,
    AttendanceSyncError,
    "The terminal does not offer HTTP listening over ISAPI (it answered notSupport, or does not know the \
     resource): the listening host has to be typed on its web page, or the relay used."
);
create_exception!(
    attendance_sync_core._core,
    HttpHostSlotTakenError,
    AttendanceSyncError,
    "The listening-host slot posts to another system's path; `host_id` is the slot, `url` what it holds \
     (query redacted)."
);

fn http_host_error(py: Python<'_>, error: HttpHostError) -> PyErr {
    let message = error.to_string();
    let err = match &error {
        HttpHostError::NotSupported { .. } => HttpListeningUnsupportedError::new_err(message),
        HttpHostError::SlotTaken { .. } => HttpHostSlotTakenError::new_err(message),
        HttpHostError::Url(_) => return PyValueError::new_err(message),
        HttpHostError::Device(e) => return to_py_err(py, e, None),
    };
    let value = err.value(py);
    // Attributes on a fresh exception instance: a failure would only lose an attribute, never the exception.
    let _ = value.setattr("device", error.device());
    match &error {
        HttpHostError::NotSupported {
            status, sub_status, ..
        } => {
            let _ = value.setattr("status", *status);
            let _ = value.setattr("sub_status", sub_status.as_deref());
        }
        HttpHostError::SlotTaken { id, shown, .. } => {
            let _ = value.setattr("host_id", *id);
            let _ = value.setattr("url", shown.as_str());
        }
        _ => {}
    }
    let _ = value.setattr("partial", py.None());
    err
}

/// One listening-host slot of a terminal. `url` is the whole URL it posts to (token included; `None` for an
/// unused slot or a transport other than HTTP/HTTPS); `repr` shows it with the query redacted.
#[pyclass(
    module = "attendance_sync_core._core",
    name = "HttpHost",
    frozen,
    get_all
)]
pub(crate) struct PyHttpHost {
    id: u32,
    url: Option<String>,
    protocol: String,
    host: Option<String>,
    port: Option<u16>,
    path: String,
    format: Option<String>,
    auth: Option<String>,
    is_empty: bool,
}

impl From<HttpHost> for PyHttpHost {
    fn from(h: HttpHost) -> Self {
        PyHttpHost {
            url: h.url(),
            is_empty: h.is_empty(),
            id: h.id,
            protocol: h.protocol,
            host: h.host,
            port: h.port,
            path: h.path,
            format: h.format,
            auth: h.auth,
        }
    }
}

#[pymethods]
impl PyHttpHost {
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", self.id)?;
        d.set_item("url", &self.url)?;
        d.set_item("protocol", &self.protocol)?;
        d.set_item("host", &self.host)?;
        d.set_item("port", self.port)?;
        d.set_item("path", &self.path)?;
        d.set_item("format", &self.format)?;
        d.set_item("auth", &self.auth)?;
        d.set_item("is_empty", self.is_empty)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "HttpHost(id={}, url={:?}, protocol={:?}, host={:?}, port={:?})",
            self.id,
            self.url.as_deref().map(redact_url),
            self.protocol,
            self.host,
            self.port
        )
    }
}

fn client_for(py: Python<'_>, device: &Bound<'_, PyAny>) -> PyResult<IsapiClient> {
    IsapiClient::new(device_config(py, device)?).map_err(|e| to_py_err(py, &e, None))
}

fn slot(host_id: u32) -> PyResult<u32> {
    if host_id == 0 {
        Err(PyValueError::new_err("host_id starts at 1"))
    } else {
        Ok(host_id)
    }
}

/// The terminal's HTTP listening slots (`GET /ISAPI/Event/notification/httpHosts`), unused ones included.
#[pyfunction]
pub(crate) fn http_hosts(py: Python<'_>, device: &Bound<'_, PyAny>) -> PyResult<Vec<PyHttpHost>> {
    let client = client_for(py, device)?;
    let hosts =
        run_detached(py, false, core_hosts(&client))?.map_err(|e| http_host_error(py, e))?;
    Ok(hosts.into_iter().map(PyHttpHost::from).collect())
}

/// Makes slot `host_id` post the terminal's events to `url` (`http(s)://site[:port]/path?token=...`): the
/// URL is split into the slot's protocol, address, port and path; JSON, no authentication. A slot that posts
/// to another path is left alone (`HttpHostSlotTakenError`) unless `overwrite`.
#[pyfunction]
#[pyo3(signature = (device, url, *, host_id=1, overwrite=false))]
pub(crate) fn set_http_host(
    py: Python<'_>,
    device: &Bound<'_, PyAny>,
    url: &str,
    host_id: u32,
    overwrite: bool,
) -> PyResult<()> {
    let id = slot(host_id)?;
    let client = client_for(py, device)?;
    run_detached(py, false, core_set(&client, id, url, overwrite))?
        .map_err(|e| http_host_error(py, e))
}

/// Empties slot `host_id`: the terminal stops posting from it.
#[pyfunction]
#[pyo3(signature = (device, *, host_id=1))]
pub(crate) fn clear_http_host(
    py: Python<'_>,
    device: &Bound<'_, PyAny>,
    host_id: u32,
) -> PyResult<()> {
    let id = slot(host_id)?;
    let client = client_for(py, device)?;
    run_detached(py, false, core_clear(&client, id))?.map_err(|e| http_host_error(py, e))
}
