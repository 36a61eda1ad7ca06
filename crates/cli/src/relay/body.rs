//! What the relay sends for an event: the push notification a terminal would send (docs/push.md#the-relay).
//! (An event's key in the queue is the site's key, the core's `attendance_sync::event_key`.)

use attendance_sync::{Direction, Event};
use serde_json::{json, Map, Value};

/// The push notification of one event, as a terminal would send it (docs/push.md, Bodies accepted), with
/// `currentEvent` false: a stored event, not a live one.
pub fn push_body(device: &str, event: &Event) -> String {
    let mut inner = Map::new();
    inner.insert("deviceName".into(), json!(device));
    inner.insert("majorEventType".into(), json!(event.major));
    inner.insert("subEventType".into(), json!(event.minor));
    if let Some(serial) = event.serial_no {
        inner.insert("serialNo".into(), json!(serial));
    }
    if let Some(e) = &event.employee_no {
        inner.insert("employeeNoString".into(), json!(e));
    }
    if let Some(n) = &event.name {
        inner.insert("name".into(), json!(n));
    }
    if let Some(c) = &event.card_no {
        inner.insert("cardNo".into(), json!(c));
    }
    if let Some(d) = event.door_no {
        inner.insert("doorNo".into(), json!(d));
    }
    if let Some(r) = event.reader_no {
        inner.insert("cardReaderNo".into(), json!(r));
    }
    if let Some(direction) = event.log_type {
        let status = match direction {
            Direction::In => "checkIn",
            Direction::Out => "checkOut",
        };
        inner.insert("attendanceStatus".into(), json!(status));
    }
    inner.insert("currentEvent".into(), json!(false));
    json!({
        "dateTime": event.time.to_rfc3339(),
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "eventDescription": "Access Controller Event (attendance-sync relay)",
        "AccessControllerEvent": Value::Object(inner),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use attendance_sync::push::{parse_notification, PushOutcome};
    use attendance_sync::{Classifier, Direction};

    use super::*;

    fn event(serial: Option<u64>, log_type: Option<Direction>) -> Event {
        Event {
            device: Arc::from("Gate"),
            serial_no: serial,
            employee_no: Some("00042".into()),
            time: chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:05+06:00").expect("time"),
            log_type,
            major: 5,
            minor: 38,
            verify_method: Some("fingerprint"),
            is_punch: true,
            card_no: Some("991".into()),
            name: Some("Ana".into()),
            door_no: Some(1),
            reader_no: Some(2),
        }
    }

    #[test]
    fn the_relay_body_reads_back_as_the_same_event() {
        for e in [
            event(Some(7), Some(Direction::Out)),
            event(None, None),
            event(Some(8), Some(Direction::In)),
        ] {
            let body = push_body("Gate", &e);
            let device: Arc<str> = Arc::from("Gate");
            match parse_notification(body.as_bytes(), &device, None, &Classifier::default()) {
                Ok(PushOutcome::Event(p)) => {
                    assert_eq!(p.event, e);
                    assert_eq!(p.current_event, Some(false));
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
