//! `event_key` and `serial_event_key` of `attendance_sync_core._core`: the core's [`crate::event_key`] rule (the
//! site's Device Punch key, the relay's queue key) for the app, from an event's fields.

use chrono::FixedOffset;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDateTime;

use super::datetimes::wall_clock as read_wall_clock;
use crate::event_key::{serial_event_key as core_serial_key, KeyParts};

/// The offset `time.utcoffset()` gives (`None` for a naive datetime), to the second.
fn offset_of(time: &Bound<'_, PyDateTime>) -> PyResult<Option<FixedOffset>> {
    let delta: Option<chrono::TimeDelta> = time.call_method0("utcoffset")?.extract()?;
    delta
        .map(|d| {
            i32::try_from(d.num_seconds())
                .ok()
                .filter(|_| d.subsec_nanos() == 0)
                .and_then(FixedOffset::east_opt)
                .ok_or_else(|| {
                    PyValueError::new_err("an offset with a fraction of a second has no key")
                })
        })
        .transpose()
}

/// The per-device identity of an event: `s:<serial>@<wall clock>` with a serial, else
/// `t:<time with offset>|<major>|<minor>|<employee_no trimmed>|<occurrence>`.
#[pyfunction]
#[pyo3(signature = (serial_no, time, *, major, minor, employee_no, occurrence=0))]
pub(crate) fn event_key(
    serial_no: Option<u64>,
    time: &Bound<'_, PyDateTime>,
    major: u32,
    minor: u32,
    employee_no: Option<&str>,
    occurrence: usize,
) -> PyResult<String> {
    let offset = match serial_no {
        Some(_) => None,
        None => offset_of(time)?,
    };
    let parts = KeyParts {
        serial_no,
        wall_clock: read_wall_clock(time)?,
        offset,
        major,
        minor,
        employee_no,
    };
    Ok(parts.key(occurrence))
}

/// The key of an event with a serial: `s:<serial>@<wall clock>`, the offset of `wall_clock` ignored.
#[pyfunction]
pub(crate) fn serial_event_key(
    serial_no: u64,
    wall_clock: &Bound<'_, PyDateTime>,
) -> PyResult<String> {
    Ok(core_serial_key(serial_no, &read_wall_clock(wall_clock)?))
}
