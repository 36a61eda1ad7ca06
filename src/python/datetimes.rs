//! Python datetimes to the core's instants and wall-clock times, read from their fields.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDateAccess, PyDateTime, PyTimeAccess, PyTzInfoAccess};

use crate::fetch::{check_window, TimeArg};

/// The wall-clock part of a datetime to the second (the precision of ISAPI), read from its fields.
pub(crate) fn wall_clock(dt: &Bound<'_, PyDateTime>) -> PyResult<NaiveDateTime> {
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
pub(crate) fn window_args(
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
pub(crate) struct Timestamps {
    fixed_type: Py<PyAny>,
    fixed: Vec<(Py<PyAny>, i64)>,
}

impl Timestamps {
    pub(crate) fn new(py: Python<'_>) -> PyResult<Self> {
        Ok(Timestamps {
            fixed_type: py.import("datetime")?.getattr("timezone")?.unbind(),
            fixed: Vec::new(),
        })
    }

    pub(crate) fn of(&mut self, dt: &Bound<'_, PyDateTime>) -> PyResult<i64> {
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
