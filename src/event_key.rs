//! The per-device identity of an event: one rule for the site's Device Punch key
//! (`attendance_sync/logic/punches.py`, through `_core.event_key`) and the relay's queue key
//! (`crates/cli/src/relay`).
//!
//! - With a serial: `s:<serial>@<wall clock>`, the wall clock being the digits the terminal shows, to the
//!   second, without its offset (`2026-03-02T08:00:05`). A terminal stores the wall clock with the event, so
//!   the key is the same however the offset is read; a restarted counter reuses serials at other times.
//! - Without one (intercoms, some firmwares): `t:<time>|<major>|<minor>|<employee>|<occurrence>`, the time
//!   with its offset (`2026-03-02T08:00:05+06:00`), the employee number trimmed (empty when absent), and
//!   the occurrence index among identical events of one fetch.
//!
//! Times are written as Python's `datetime.isoformat(timespec="seconds")` writes them: fractions of a second
//! cut off, an offset as `+HH:MM`, with `:SS` only when it has seconds.

use std::fmt::Write;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Timelike};

use crate::event::Event;

/// What an event's key is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParts<'a> {
    pub serial_no: Option<u64>,
    /// The terminal's wall clock of the event.
    pub wall_clock: NaiveDateTime,
    /// The offset the time was reported with; `None` writes the time without one.
    pub offset: Option<FixedOffset>,
    pub major: u32,
    pub minor: u32,
    pub employee_no: Option<&'a str>,
}

impl<'a> KeyParts<'a> {
    /// The parts of a time with its offset.
    pub fn at(time: &DateTime<FixedOffset>) -> KeyParts<'static> {
        KeyParts {
            serial_no: None,
            wall_clock: time.naive_local(),
            offset: Some(*time.offset()),
            major: 0,
            minor: 0,
            employee_no: None,
        }
    }

    /// The key; `occurrence` counts identical serial-less events of one fetch (0 for the first) and is not
    /// part of a key with a serial.
    pub fn key(&self, occurrence: usize) -> String {
        let mut out = String::with_capacity(48);
        match self.serial_no {
            Some(serial) => {
                let _ = write!(out, "s:{serial}@");
                push_wall_clock(&mut out, &self.wall_clock);
            }
            None => {
                out.push_str("t:");
                push_wall_clock(&mut out, &self.wall_clock);
                if let Some(offset) = self.offset {
                    push_offset(&mut out, offset);
                }
                let employee = self.employee_no.map_or("", trim_like_python);
                let _ = write!(
                    out,
                    "|{}|{}|{employee}|{occurrence}",
                    self.major, self.minor
                );
            }
        }
        out
    }
}

impl<'a> From<&'a Event> for KeyParts<'a> {
    fn from(event: &'a Event) -> Self {
        KeyParts {
            serial_no: event.serial_no,
            employee_no: event.employee_no.as_deref(),
            major: event.major,
            minor: event.minor,
            ..KeyParts::at(&event.time)
        }
    }
}

/// The key of an event (see the module): `occurrence` counts identical serial-less events of one fetch.
pub fn event_key(event: &Event, occurrence: usize) -> String {
    KeyParts::from(event).key(occurrence)
}

/// The key of an event with a serial: the serial and the wall clock.
pub fn serial_event_key(serial_no: u64, wall_clock: &NaiveDateTime) -> String {
    KeyParts {
        serial_no: Some(serial_no),
        wall_clock: *wall_clock,
        offset: None,
        major: 0,
        minor: 0,
        employee_no: None,
    }
    .key(0)
}

/// `YYYY-MM-DDTHH:MM:SS`, fractions of a second cut off.
fn push_wall_clock(out: &mut String, t: &NaiveDateTime) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// `+HH:MM`, or `+HH:MM:SS` for an offset with seconds.
fn push_offset(out: &mut String, offset: FixedOffset) {
    let seconds = offset.local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}", s / 3600, s / 60 % 60);
    if s % 60 != 0 {
        let _ = write!(out, ":{:02}", s % 60);
    }
}

/// `text` without the leading and trailing characters Python's `str.strip()` removes: Unicode white space
/// and the separators U+001C to U+001F.
fn trim_like_python(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn event(serial: Option<u64>, time: &str, employee: Option<&str>) -> Event {
        Event {
            device: Arc::from("Gate"),
            serial_no: serial,
            employee_no: employee.map(str::to_owned),
            time: DateTime::parse_from_rfc3339(time).expect("time"),
            log_type: None,
            major: 5,
            minor: 38,
            verify_method: None,
            is_punch: true,
            card_no: None,
            name: None,
            door_no: None,
            reader_no: None,
        }
    }

    #[test]
    fn a_serial_and_the_wall_clock() {
        let e = event(Some(7), "2026-03-02T08:00:05.750+06:00", Some("42"));
        assert_eq!(event_key(&e, 0), "s:7@2026-03-02T08:00:05");
        // The offset is not part of it; the occurrence neither.
        let same = event(Some(7), "2026-03-02T08:00:05-03:00", None);
        assert_eq!(event_key(&same, 3), "s:7@2026-03-02T08:00:05");
        assert_eq!(
            serial_event_key(7, &e.time.naive_local()),
            "s:7@2026-03-02T08:00:05"
        );
        let early = event(Some(0), "0042-01-09T00:00:00Z", None);
        assert_eq!(event_key(&early, 0), "s:0@0042-01-09T00:00:00");
    }

    #[test]
    fn without_a_serial_the_content_and_occurrence() {
        let e = event(None, "2026-03-02T08:00:05+06:00", Some(" 00042\t"));
        assert_eq!(event_key(&e, 0), "t:2026-03-02T08:00:05+06:00|5|38|00042|0");
        assert_eq!(event_key(&e, 2), "t:2026-03-02T08:00:05+06:00|5|38|00042|2");
        let utc = event(None, "2026-03-02T08:00:05Z", None);
        assert_eq!(event_key(&utc, 0), "t:2026-03-02T08:00:05+00:00|5|38||0");
        let west = event(None, "2026-03-02T08:00:05-03:30", Some("\u{1f}x\u{3000}"));
        assert_eq!(event_key(&west, 1), "t:2026-03-02T08:00:05-03:30|5|38|x|1");
    }

    #[test]
    fn offsets_as_python_writes_them() {
        for (seconds, text) in [
            (0, "+00:00"),
            (6 * 3600, "+06:00"),
            (-(30 * 60), "-00:30"),
            (5 * 3600 + 45 * 60, "+05:45"),
            (3601, "+01:00:01"),
            (-3601, "-01:00:01"),
            (-(23 * 3600 + 59 * 60 + 59), "-23:59:59"),
        ] {
            let mut out = String::new();
            push_offset(&mut out, FixedOffset::east_opt(seconds).expect("offset"));
            assert_eq!(out, text, "{seconds}");
        }
        let naive = KeyParts {
            offset: None,
            ..KeyParts::at(&DateTime::parse_from_rfc3339("2026-03-02T08:00:05Z").expect("t"))
        };
        assert_eq!(naive.key(0), "t:2026-03-02T08:00:05|0|0||0");
    }
}
