//! Loads a JSONL file of InfoList-style objects as a device's event log.

use std::io;
use std::path::Path;
use std::sync::Arc;

use chrono::FixedOffset;
use serde_json::{Map, Value};

use super::clock::{local_to_instant, parse_written, WrittenTime};
use super::log::{Detail, Event, EventLog};
use super::people::{Person, Roster};

/// Reads `path`; naive times are taken as local time in `offset`.
pub fn load(path: &Path, offset: FixedOffset) -> io::Result<EventLog> {
    let text = std::fs::read_to_string(path)?;
    parse(&text, offset).map_err(|msg| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {msg}", path.display()),
        )
    })
}

/// Parses JSONL text. Events without `serialNo` get serials after the largest given one,
/// in time order.
pub fn parse(text: &str, offset: FixedOffset) -> Result<EventLog, String> {
    let mut roster = Roster::default();
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event =
            parse_line(line, offset, &mut roster).map_err(|e| format!("line {}: {e}", n + 1))?;
        events.push(event);
    }
    events.sort_by_key(|e| e.ts);
    let first_free = events.iter().map(|e| e.serial).max().unwrap_or(0) + 1;
    for (serial, event) in (first_free..).zip(events.iter_mut().filter(|e| e.serial == 0)) {
        event.serial = serial;
    }
    // The file does not say in which order the device recorded its events: by serial number.
    for event in &mut events {
        event.seq = event.serial;
    }
    Ok(EventLog::new(events, Arc::new(roster)))
}

fn parse_line(line: &str, offset: FixedOffset, roster: &mut Roster) -> Result<Event, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("expected a JSON object".into());
    };
    let major = take_u32(&mut map, "major")?;
    let minor = take_u32(&mut map, "minor")?;
    let time = match map.remove("time") {
        Some(Value::String(s)) => s,
        _ => return Err("\"time\" must be a string".into()),
    };
    let ts = match parse_written(&time) {
        Some(WrittenTime::WithOffset(dt)) => dt.timestamp(),
        Some(WrittenTime::Naive(naive)) => local_to_instant(naive, offset),
        None => return Err(format!("unparseable time {time:?}")),
    };
    let serial = match map.remove("serialNo") {
        None => 0,
        Some(v) => v
            .as_u64()
            .filter(|s| *s > 0)
            .ok_or("\"serialNo\" must be a positive integer")?,
    };
    let person = employee_no(&map).map(|employee_no| {
        roster.intern(Person {
            employee_no,
            name: text_field(&map, "name"),
            card_no: text_field(&map, "cardNo"),
        })
    });
    Ok(Event {
        seq: 0,
        serial,
        ts,
        major,
        minor,
        person,
        detail: Detail::File(Box::new(map)),
    })
}

fn take_u32(map: &mut Map<String, Value>, key: &str) -> Result<u32, String> {
    map.remove(key)
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("\"{key}\" must be a non-negative integer"))
}

/// `employeeNoString`, or the integer `employeeNo` of older firmware.
fn employee_no(map: &Map<String, Value>) -> Option<String> {
    match map
        .get("employeeNoString")
        .or_else(|| map.get("employeeNo"))
    {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn text_field(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigns_missing_serials_in_time_order() {
        let text = r#"{"major":5,"minor":75,"time":"2024-03-01T09:00:00+06:00","employeeNoString":"00042","name":"CÁSSIA"}
{"major":5,"minor":21,"time":"2024-03-01T08:00:00+06:00","serialNo":7}

{"major":5,"minor":38,"time":"2024-03-01 10:00:00","employeeNo":42}"#;
        let log = parse(text, FixedOffset::east_opt(6 * 3600).expect("offset")).expect("parse");
        assert_eq!(log.len(), 3);
        let serials: Vec<u64> = (0..3)
            .filter_map(|i| log.get(i))
            .map(|e| e.serial)
            .collect();
        assert_eq!(serials, vec![7, 8, 9]);
        assert_eq!(log.roster().find("00042"), Some(0));
        assert_eq!(log.roster().find("42"), Some(1));
        assert_eq!(log.get(2).map(|e| e.ts), log.get(1).map(|e| e.ts + 3600));
    }

    #[test]
    fn reports_line_numbers() {
        let err = parse("{\"major\":5}\n", FixedOffset::east_opt(0).expect("offset"))
            .expect_err("must fail");
        assert!(err.starts_with("line 1:"), "{err}");
    }
}
