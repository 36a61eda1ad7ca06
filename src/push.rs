//! Events a terminal pushes (HTTP listening, `httpHosts`) or the relay delivers: the body of one POST to the
//! site, turned into the same normalised [`Event`] the search produces (docs/push.md).
//!
//! One job: read a push body. A terminal POSTs `multipart/form-data` whose JSON part is named `event_log` or
//! `AccessControllerEvent` (by firmware), possibly followed by a `Picture` JPEG part; some firmwares send a
//! bare `application/json` body, one sends XML. The notification envelope names its fields differently from
//! a search record (`majorEventType` for `major`, `subEventType` for `minor`, the envelope's `dateTime` for
//! `time`); they are renamed here and the record goes through [`RawEvent::normalise`], so classification,
//! employee numbers and time parsing are the search's own. Nothing here panics on input: every body is a
//! [`PushOutcome`] or a [`PushError`].

use std::sync::Arc;

use chrono::FixedOffset;
use serde_json::{Map, Value};

use crate::event::{parse_device_time, Classifier, Event, RawEvent, Rejected};
use crate::isapi::xml;

/// The names the JSON part of a terminal's multipart push carries: `event_log` (older and common firmware) or
/// `AccessControllerEvent` (newer).
pub const EVENT_PART_NAMES: [&str; 2] = ["event_log", "AccessControllerEvent"];

/// The `eventType` of an access-control notification.
pub const ACCESS_EVENT_TYPE: &str = "AccessControllerEvent";

/// `majorEventType` of access events (successful and failed authentications, door events).
const ACCESS_MAJOR: u32 = 5;

/// Keys of the notification envelope; every other leaf of an XML notification belongs to the event.
const ENVELOPE_KEYS: &[&str] = &[
    "ipAddress",
    "ipv6Address",
    "portNo",
    "protocol",
    "macAddress",
    "channelID",
    "dateTime",
    "activePostCount",
    "eventType",
    "eventState",
    "eventDescription",
    "deviceID",
    "uuid",
];

/// An access event as pushed: the normalised event and what only a push carries.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedEvent {
    pub event: Event,
    /// The serial of the previous event the terminal sent (normally `serialNo - 1`); a mismatch with the last
    /// serial stored means pushes were missed: reconcile by search.
    pub front_serial_no: Option<u64>,
    /// `true` for a live event, `false` for a stored one sent again (back-fill after enabling listening, a
    /// reboot or a reconnect).
    pub current_event: Option<bool>,
    /// The envelope's `macAddress`: which terminal sent it.
    pub mac_address: Option<String>,
}

/// What one push body is.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// An access event (major 5): a punch or not, as `event.is_punch` says.
    Event(Box<PushedEvent>),
    /// The keep-alive notification: `eventType` `videoloss` with `eventState` `inactive` and no event object.
    Heartbeat,
    /// A notification that is not an access event: another `eventType`, or a `majorEventType` other than 5
    /// (alarm, exception, operation). Acknowledged and dropped.
    NotAccess {
        event_type: Option<String>,
        major: Option<u32>,
    },
}

/// Why a push body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the body is empty")]
    Empty,
    #[error("a multipart body without a boundary in its Content-Type")]
    NoBoundary,
    #[error(
        "the multipart body has no part named event_log or AccessControllerEvent and no other JSON or XML part"
    )]
    NoEventPart,
    #[error("the body is not JSON: {0}")]
    Json(String),
    #[error("the body is not XML: {0}")]
    Xml(String),
    #[error("the notification is not a JSON object")]
    NotObject,
    #[error("an {ACCESS_EVENT_TYPE} notification without its {ACCESS_EVENT_TYPE} object")]
    NoEventObject,
    #[error("the event has no time (dateTime)")]
    NoTime,
    #[error("the event time {0:?} is not a time")]
    BadTime(String),
    #[error("the event time {0:?} has no UTC offset and the device's offset is not known")]
    NeedsOffset(String),
    #[error("the event time {0:?} is outside the years 1 to 9999 (a clock gone wrong)")]
    TimeOutOfRange(String),
}

impl PushError {
    /// A stable code for the kind of error (what the Python `PushError.reason` carries).
    pub fn reason(&self) -> &'static str {
        match self {
            PushError::Empty => "empty",
            PushError::NoBoundary => "no_boundary",
            PushError::NoEventPart => "no_event_part",
            PushError::Json(_) => "json",
            PushError::Xml(_) => "xml",
            PushError::NotObject => "not_object",
            PushError::NoEventObject => "no_event_object",
            PushError::NoTime => "no_time",
            PushError::BadTime(_) => "bad_time",
            PushError::NeedsOffset(_) => "needs_offset",
            PushError::TimeOutOfRange(_) => "time_out_of_range",
        }
    }
}

/// The parameter `name` of a header value such as `multipart/form-data; boundary="MIME_boundary"`.
fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|param| {
        let (key, v) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Splits one part into headers and content at the first blank line (CRLF or bare LF).
fn split_part(part: &[u8]) -> (&[u8], &[u8]) {
    let crlf = find(part, b"\r\n\r\n", 0).map(|i| (i, 4));
    let lf = find(part, b"\n\n", 0).map(|i| (i, 2));
    let split = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match split {
        Some((at, len)) => (&part[..at], &part[at + len..]),
        None => (&[], part),
    }
}

/// The value of header `name` among a part's header lines.
fn part_header<'a>(headers: &'a [u8], name: &str) -> Option<&'a str> {
    headers.split(|b| *b == b'\n').find_map(|line| {
        let line = std::str::from_utf8(line).ok()?.trim();
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// The JSON (or XML) notification inside a terminal's `multipart/form-data` (or `multipart/mixed`) body:
/// the part named `event_log` or `AccessControllerEvent`; failing that, the first part that is not a
/// picture and holds JSON or XML (firmwares without `Content-Disposition`). Picture parts are skipped. Parts
/// are framed by the boundary; CRLF or bare LF line ends and stray blank lines are accepted.
pub fn event_part<'a>(content_type: &str, body: &'a [u8]) -> Result<&'a [u8], PushError> {
    let boundary = header_param(content_type, "boundary")
        .filter(|b| !b.is_empty())
        .ok_or(PushError::NoBoundary)?;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut at = find(body, delimiter, 0).ok_or(PushError::NoEventPart)?;
    loop {
        let start = at + delimiter.len();
        if body[start..].starts_with(b"--") {
            break;
        }
        match find(body, delimiter, start) {
            Some(next) => {
                parts.push(&body[start..next]);
                at = next;
            }
            None => {
                // A body cut short after its last part's content: keep what is there.
                parts.push(&body[start..]);
                break;
            }
        }
    }
    let mut fallback: Option<&[u8]> = None;
    for part in parts {
        // The delimiter line ends with CRLF or LF; the content ends before the CRLF / LF of the next one.
        let part = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"))
            .unwrap_or(part);
        let (headers, content) = split_part(part);
        let content = content
            .strip_suffix(b"\r\n")
            .or_else(|| content.strip_suffix(b"\n"))
            .unwrap_or(content);
        let name =
            part_header(headers, "content-disposition").and_then(|d| header_param(d, "name"));
        if name.is_some_and(|n| EVENT_PART_NAMES.contains(&n)) {
            return Ok(content);
        }
        let picture = part_header(headers, "content-type")
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
        if fallback.is_none() && !picture && matches!(first_byte(content), Some(b'{' | b'<')) {
            fallback = Some(content);
        }
    }
    fallback.ok_or(PushError::NoEventPart)
}

/// A push body as it arrived: multipart (by its Content-Type) or a bare notification (JSON, or XML from
/// firmware that ignores `parameterFormatType`).
pub fn parse_push_body(
    content_type: Option<&str>,
    body: &[u8],
    device: &Arc<str>,
    device_offset: Option<FixedOffset>,
    classifier: &Classifier,
) -> Result<PushOutcome, PushError> {
    let multipart = content_type.is_some_and(|t| {
        t.trim_start()
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"))
    });
    let notification = match content_type {
        Some(t) if multipart => event_part(t, body)?,
        _ => body,
    };
    parse_notification(notification, device, device_offset, classifier)
}

/// One notification (the JSON part's bytes, or XML): an access event, a heartbeat, or something else.
///
/// `device` names the event (as the search's events are named); `device_offset` reads a `dateTime` without an
/// offset (some firmwares); without it such a time is [`PushError::NeedsOffset`]. `classifier` says which
/// (major, minor) pairs are punches, as for the search.
pub fn parse_notification(
    body: &[u8],
    device: &Arc<str>,
    device_offset: Option<FixedOffset>,
    classifier: &Classifier,
) -> Result<PushOutcome, PushError> {
    let envelope = match first_byte(body) {
        None => return Err(PushError::Empty),
        Some(b'<') => xml_envelope(body)?,
        Some(_) => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(PushError::NotObject),
            Err(e) => return Err(PushError::Json(e.to_string())),
        },
    };
    from_envelope(envelope, device, device_offset, classifier)
}

/// An XML `EventNotificationAlert` as the JSON envelope: its envelope leaves at the top, the others in the
/// event object (leaf names do not collide between the two).
fn xml_envelope(body: &[u8]) -> Result<Map<String, Value>, PushError> {
    let leaves = xml::leaves(body).map_err(PushError::Xml)?;
    let mut envelope = Map::new();
    let mut inner = Map::new();
    for (name, text) in leaves {
        let target = if ENVELOPE_KEYS.contains(&name.as_str()) {
            &mut envelope
        } else {
            &mut inner
        };
        target.entry(name).or_insert(Value::String(text));
    }
    let is_access = envelope
        .get("eventType")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_EVENT_TYPE));
    if is_access || inner.contains_key("majorEventType") {
        envelope.insert(ACCESS_EVENT_TYPE.to_owned(), Value::Object(inner));
    }
    Ok(envelope)
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        _ => None,
    }
}

fn lenient_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lenient_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn from_envelope(
    mut envelope: Map<String, Value>,
    device: &Arc<str>,
    device_offset: Option<FixedOffset>,
    classifier: &Classifier,
) -> Result<PushOutcome, PushError> {
    let event_type = text_of(envelope.get("eventType"));
    let inner = match envelope.remove(ACCESS_EVENT_TYPE) {
        Some(Value::Object(inner)) => Some(inner),
        Some(_) => return Err(PushError::NoEventObject),
        None => None,
    };
    let Some(mut inner) = inner else {
        let state = text_of(envelope.get("eventState"));
        return match event_type.as_deref() {
            Some(t)
                if t.eq_ignore_ascii_case("videoloss")
                    && state
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("inactive")) =>
            {
                Ok(PushOutcome::Heartbeat)
            }
            Some(t) if t.eq_ignore_ascii_case(ACCESS_EVENT_TYPE) => Err(PushError::NoEventObject),
            _ => Ok(PushOutcome::NotAccess {
                event_type,
                major: None,
            }),
        };
    };
    // Push names to search names (docs/push.md, Fields the site takes: major↔majorEventType,
    // minor↔subEventType, time↔dateTime), then the search's own reading of a record.
    for (push, search) in [("majorEventType", "major"), ("subEventType", "minor")] {
        if let Some(v) = inner.remove(push) {
            inner.entry(search).or_insert(v);
        }
    }
    let time = envelope
        .get("dateTime")
        .or_else(|| inner.get("dateTime"))
        .or_else(|| inner.get("time"))
        .cloned();
    let front_serial_no = lenient_u64(inner.get("frontSerialNo"));
    let current_event = lenient_bool(inner.get("currentEvent"));
    match time {
        Some(t) => inner.insert("time".to_owned(), t),
        None => inner.remove("time"),
    };
    let raw: RawEvent =
        serde_json::from_value(Value::Object(inner)).map_err(|e| PushError::Json(e.to_string()))?;
    if raw.major != Some(ACCESS_MAJOR) {
        return Ok(PushOutcome::NotAccess {
            event_type,
            major: raw.major,
        });
    }
    // A time without an offset is the device's wall clock; refuse it when the offset is unknown rather than
    // guess (it would shift the punch by hours).
    let offset = match (device_offset, raw.time.as_deref()) {
        (Some(o), _) => o,
        (None, Some(text)) => {
            let utc = FixedOffset::east_opt(0);
            let east = FixedOffset::east_opt(3600);
            match (utc, east) {
                (Some(utc), Some(east)) => {
                    let a = parse_device_time(text, utc);
                    if a.is_some() && a != parse_device_time(text, east) {
                        return Err(PushError::NeedsOffset(text.to_owned()));
                    }
                    utc
                }
                _ => return Err(PushError::NeedsOffset(text.to_owned())),
            }
        }
        (None, None) => return Err(PushError::NoTime),
    };
    let event = raw
        .normalise(device, offset, classifier)
        .map_err(|r| match r {
            Rejected::NoTime => PushError::NoTime,
            Rejected::BadTime(t) => PushError::BadTime(t),
            Rejected::OutOfRange(t) => PushError::TimeOutOfRange(t),
        })?;
    Ok(PushOutcome::Event(Box::new(PushedEvent {
        event,
        front_serial_no,
        current_event,
        mac_address: text_of(envelope.get("macAddress")),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Direction;

    fn dev() -> Arc<str> {
        Arc::from("Lobby")
    }

    fn off(h: i32) -> Option<FixedOffset> {
        FixedOffset::east_opt(h * 3600)
    }

    /// The reference's DS-K1T344MBFWX V4.31 capture (docs/push.md, Bodies accepted), whole.
    const CAPTURE: &str = r#"{
  "ipAddress": "192.168.18.202", "portNo": 443, "protocol": "HTTPS",
  "macAddress": "a4:d5:c2:75:fd:64", "channelID": 1,
  "dateTime": "2026-07-16T19:24:29-05:00", "activePostCount": 1,
  "eventType": "AccessControllerEvent", "eventState": "active",
  "eventDescription": "Access Controller Event",
  "AccessControllerEvent": {
    "deviceName": "Lobby Terminal", "majorEventType": 5, "subEventType": 75,
    "name": "DM", "cardReaderKind": 1, "cardReaderNo": 1, "employeeNoString": "9001",
    "serialNo": 201, "frontSerialNo": 200, "currentEvent": true,
    "userType": "normal", "currentVerifyMode": "faceOrFpOrCardOrPw",
    "attendanceStatus": "undefined", "label": "", "statusValue": 0, "mask": "no",
    "purePwdVerifyEnable": true, "picturesNumber": 1,
    "FaceRect": {"height": 0.389, "width": 0.22, "x": 0.412, "y": 0.458}
  }
}"#;

    const HEARTBEAT: &str = r#"{"ipAddress": "192.168.18.202", "portNo": 80, "protocol": "HTTP",
        "macAddress": "a4:d5:c2:75:fd:64", "channelID": 1, "dateTime": "2026-07-16T19:24:54-05:00",
        "activePostCount": 1, "eventType": "videoloss", "eventState": "inactive",
        "eventDescription": "videoloss alarm"}"#;

    fn multipart(part_name: Option<&str>, json: &str, picture: bool, eol: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(format!("--MIME_boundary{eol}").as_bytes());
        if let Some(name) = part_name {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{eol}").as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "Content-Type: application/json; charset=\"UTF-8\"{eol}Content-Length: {}{eol}{eol}",
                json.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(json.as_bytes());
        body.extend_from_slice(eol.as_bytes());
        if picture {
            body.extend_from_slice(
                format!(
                    "--MIME_boundary{eol}Content-Disposition: form-data; name=\"Picture\"; filename=\"Picture.jpg\"{eol}\
                     Content-Type: image/jpeg{eol}Content-Length: 8{eol}Content-ID: pictureImage{eol}{eol}"
                )
                .as_bytes(),
            );
            // JPEG bytes, including a brace and a fake delimiter prefix that are not a boundary.
            body.extend_from_slice(&[0xFF, 0xD8, b'{', b'-', b'-', b'M', 0xFF, 0xD9]);
            body.extend_from_slice(eol.as_bytes());
        }
        body.extend_from_slice(format!("--MIME_boundary--{eol}").as_bytes());
        body
    }

    const FORM: &str = "multipart/form-data; boundary=MIME_boundary";

    fn parse(ct: Option<&str>, body: &[u8]) -> Result<PushOutcome, PushError> {
        parse_push_body(ct, body, &dev(), off(-5), &Classifier::default())
    }

    fn event_of(outcome: Result<PushOutcome, PushError>) -> PushedEvent {
        match outcome {
            Ok(PushOutcome::Event(e)) => *e,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn capture_is_the_search_event_with_push_extras() {
        let pushed = event_of(parse(Some("application/json"), CAPTURE.as_bytes()));
        let e = &pushed.event;
        assert_eq!(&*e.device, "Lobby");
        assert_eq!((e.major, e.minor), (5, 75));
        assert!(e.is_punch);
        assert_eq!(e.serial_no, Some(201));
        assert_eq!(e.employee_no.as_deref(), Some("9001"));
        assert_eq!(e.name.as_deref(), Some("DM"));
        assert_eq!(e.reader_no, Some(1));
        assert_eq!(e.time.to_rfc3339(), "2026-07-16T19:24:29-05:00");
        assert_eq!(e.log_type, None);
        assert_eq!(e.verify_method, Some("face"));
        assert_eq!(pushed.front_serial_no, Some(200));
        assert_eq!(pushed.current_event, Some(true));
        assert_eq!(pushed.mac_address.as_deref(), Some("a4:d5:c2:75:fd:64"));
        // The very event a search record with the same fields normalises to.
        let search: RawEvent = serde_json::from_str(
            r#"{"major": 5, "minor": 75, "time": "2026-07-16T19:24:29-05:00", "name": "DM",
                "cardReaderNo": 1, "employeeNoString": "9001", "serialNo": 201,
                "currentVerifyMode": "faceOrFpOrCardOrPw", "attendanceStatus": "undefined"}"#,
        )
        .expect("search record");
        let searched = search
            .normalise(
                &dev(),
                FixedOffset::east_opt(0).expect("utc"),
                &Classifier::default(),
            )
            .expect("normalised");
        assert_eq!(&searched, e);
    }

    #[test]
    fn both_part_names_with_and_without_picture_crlf_or_lf() {
        for name in EVENT_PART_NAMES {
            for picture in [false, true] {
                for eol in ["\r\n", "\n"] {
                    let body = multipart(Some(name), CAPTURE, picture, eol);
                    let pushed = event_of(parse(Some(FORM), &body));
                    assert_eq!(
                        pushed.event.serial_no,
                        Some(201),
                        "{name} {picture} {eol:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn picture_first_and_part_without_disposition() {
        // The picture part before the event part, and a quoted boundary.
        let mut body = Vec::new();
        body.extend_from_slice(
            b"--b1\r\nContent-Disposition: form-data; name=\"Picture\"; filename=\"Picture.jpg\"\r\n\
              Content-Type: image/jpeg\r\n\r\n{\xFF\xD8\xFF\xD9\r\n",
        );
        body.extend_from_slice(b"--b1\r\nContent-Type: application/json\r\n\r\n");
        body.extend_from_slice(CAPTURE.as_bytes());
        body.extend_from_slice(b"\r\n--b1--\r\n");
        let pushed = event_of(parse(Some("multipart/form-data; boundary=\"b1\""), &body));
        assert_eq!(pushed.event.employee_no.as_deref(), Some("9001"));
    }

    #[test]
    fn heartbeat_bare_and_in_multipart() {
        assert_eq!(
            parse(Some("application/json"), HEARTBEAT.as_bytes()),
            Ok(PushOutcome::Heartbeat)
        );
        let body = multipart(Some("event_log"), HEARTBEAT, false, "\r\n");
        assert_eq!(parse(Some(FORM), &body), Ok(PushOutcome::Heartbeat));
        // Without a Content-Type the body is read as it is.
        assert_eq!(
            parse(None, HEARTBEAT.as_bytes()),
            Ok(PushOutcome::Heartbeat)
        );
    }

    #[test]
    fn non_access_majors_and_event_types_are_not_access() {
        let op = CAPTURE
            .replace("\"majorEventType\": 5", "\"majorEventType\": 3")
            .replace("\"subEventType\": 75", "\"subEventType\": 1024");
        assert_eq!(
            parse(None, op.as_bytes()),
            Ok(PushOutcome::NotAccess {
                event_type: Some("AccessControllerEvent".into()),
                major: Some(3)
            })
        );
        let motion = r#"{"dateTime": "2026-07-16T19:24:29-05:00", "eventType": "VMD", "eventState": "active"}"#;
        assert_eq!(
            parse(None, motion.as_bytes()),
            Ok(PushOutcome::NotAccess {
                event_type: Some("VMD".into()),
                major: None
            })
        );
        // A door event is an access event that is not a punch, as in the search.
        let door = CAPTURE
            .replace("\"subEventType\": 75", "\"subEventType\": 21")
            .replace("\"employeeNoString\": \"9001\",", "");
        let e = event_of(parse(None, door.as_bytes())).event;
        assert!(!e.is_punch);
        assert_eq!(e.minor, 21);
    }

    #[test]
    fn old_firmware_shapes_read_like_the_search() {
        // Integer employeeNo, numbers as strings, a naive time in the device's offset, currentEvent false.
        let body = r#"{"dateTime": "2026-07-16 19:24:29", "eventType": "AccessControllerEvent",
            "AccessControllerEvent": {"majorEventType": "5", "subEventType": "38", "employeeNo": 42,
            "serialNo": "7", "frontSerialNo": "6", "currentEvent": "false", "attendanceStatus": "checkOut"}}"#;
        let pushed = event_of(parse(None, body.as_bytes()));
        assert_eq!(pushed.event.employee_no.as_deref(), Some("42"));
        assert_eq!(pushed.event.time.to_rfc3339(), "2026-07-16T19:24:29-05:00");
        assert_eq!(pushed.event.log_type, Some(Direction::Out));
        assert_eq!(pushed.event.verify_method, Some("fingerprint"));
        assert_eq!(pushed.front_serial_no, Some(6));
        assert_eq!(pushed.current_event, Some(false));
        // Without the device's offset a naive time is refused, not guessed.
        assert_eq!(
            parse_notification(body.as_bytes(), &dev(), None, &Classifier::default()),
            Err(PushError::NeedsOffset("2026-07-16 19:24:29".into()))
        );
        // With an offset in the time, the device's is not needed.
        assert!(matches!(
            parse_notification(CAPTURE.as_bytes(), &dev(), None, &Classifier::default()),
            Ok(PushOutcome::Event(_))
        ));
    }

    #[test]
    fn xml_notification_inside_event_log() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.0.0.5</ipAddress><macAddress>a4:d5:c2:75:fd:64</macAddress>
<dateTime>2026-07-16T19:24:29-05:00</dateTime><eventType>AccessControllerEvent</eventType>
<eventState>active</eventState>
<AccessControllerEvent><majorEventType>5</majorEventType><subEventType>1</subEventType>
<employeeNoString>00042</employeeNoString><cardNo>12345</cardNo><serialNo>88</serialNo>
<frontSerialNo>87</frontSerialNo></AccessControllerEvent></EventNotificationAlert>"#;
        let body = multipart(Some("event_log"), xml, false, "\r\n");
        let pushed = event_of(parse(Some(FORM), &body));
        assert_eq!(pushed.event.employee_no.as_deref(), Some("00042"));
        assert_eq!(pushed.event.card_no.as_deref(), Some("12345"));
        assert_eq!(pushed.event.verify_method, Some("card"));
        assert_eq!(pushed.front_serial_no, Some(87));
        let hb = r#"<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>"#;
        assert_eq!(parse(None, hb.as_bytes()), Ok(PushOutcome::Heartbeat));
        assert!(matches!(
            parse(None, b"<a><b>1</c></a>"),
            Err(PushError::Xml(_))
        ));
    }

    #[test]
    fn malformed_bodies_are_typed_errors() {
        assert_eq!(parse(None, b""), Err(PushError::Empty));
        assert_eq!(parse(None, b"  \r\n"), Err(PushError::Empty));
        assert!(matches!(
            parse(None, &CAPTURE.as_bytes()[..200]),
            Err(PushError::Json(_))
        ));
        assert_eq!(parse(None, b"[1, 2]"), Err(PushError::NotObject));
        assert!(matches!(parse(None, b"\xFF\xFE{"), Err(PushError::Json(_))));
        assert_eq!(
            parse(Some("multipart/form-data"), b"--x\r\n"),
            Err(PushError::NoBoundary)
        );
        assert_eq!(
            parse(Some(FORM), b"no delimiter at all"),
            Err(PushError::NoEventPart)
        );
        // Only a picture part.
        let only_picture =
            b"--MIME_boundary\r\nContent-Disposition: form-data; name=\"Picture\"\r\n\
            Content-Type: image/jpeg\r\n\r\n\xFF\xD8\xFF\xD9\r\n--MIME_boundary--\r\n";
        assert_eq!(parse(Some(FORM), only_picture), Err(PushError::NoEventPart));
        // A body cut in the middle of its JSON part.
        let whole = multipart(Some("event_log"), CAPTURE, false, "\r\n");
        assert!(matches!(
            parse(Some(FORM), &whole[..300]),
            Err(PushError::Json(_))
        ));
        // Every prefix of a realistic body is a value or a typed error, never a panic.
        let full = multipart(Some("AccessControllerEvent"), CAPTURE, true, "\r\n");
        for cut in 0..full.len() {
            let _ = parse(Some(FORM), &full[..cut]);
        }
    }

    #[test]
    fn missing_fields_are_typed_errors() {
        let no_time = CAPTURE.replace("\"dateTime\": \"2026-07-16T19:24:29-05:00\",", "");
        assert_eq!(parse(None, no_time.as_bytes()), Err(PushError::NoTime));
        let bad_time = CAPTURE.replace("2026-07-16T19:24:29-05:00", "yesterday");
        assert_eq!(
            parse(None, bad_time.as_bytes()),
            Err(PushError::BadTime("yesterday".into()))
        );
        let no_object = r#"{"dateTime": "2026-07-16T19:24:29-05:00", "eventType": "AccessControllerEvent", "eventState": "active"}"#;
        assert_eq!(
            parse(None, no_object.as_bytes()),
            Err(PushError::NoEventObject)
        );
        let not_object = r#"{"eventType": "AccessControllerEvent", "AccessControllerEvent": "x"}"#;
        assert_eq!(
            parse(None, not_object.as_bytes()),
            Err(PushError::NoEventObject)
        );
        // No major at all: not an access event (there is nothing to classify).
        let no_major = CAPTURE.replace("\"majorEventType\": 5,", "");
        assert_eq!(
            parse(None, no_major.as_bytes()),
            Ok(PushOutcome::NotAccess {
                event_type: Some("AccessControllerEvent".into()),
                major: None
            })
        );
        // No serial and no employee: an event all the same, not a punch.
        let bare = r#"{"dateTime": "2026-07-16T19:24:29-05:00", "AccessControllerEvent": {"majorEventType": 5, "subEventType": 75}}"#;
        let e = event_of(parse(None, bare.as_bytes())).event;
        assert_eq!((e.serial_no, e.is_punch), (None, false));
    }

    #[test]
    fn times_outside_years_1_to_9999_are_typed_errors() {
        // A terminal whose clock reads year 0000, or year 1 / 9999 with an offset that takes it out of them.
        for time in [
            "0000-06-01T10:00:00-05:00",
            "0001-01-01T03:00:00+06:00",
            "9999-12-31T20:00:00-05:00",
        ] {
            let body = CAPTURE.replace("2026-07-16T19:24:29-05:00", time);
            assert_eq!(
                parse(None, body.as_bytes()),
                Err(PushError::TimeOutOfRange(time.into())),
                "{time}"
            );
            // The same wall clock without an offset, read in the device's (-05:00).
            let naive = time.get(..19).unwrap_or(time);
            let body = CAPTURE.replace("2026-07-16T19:24:29-05:00", naive);
            assert_eq!(
                parse_push_body(
                    None,
                    body.as_bytes(),
                    &dev(),
                    off(-5),
                    &Classifier::default()
                ),
                Err(PushError::TimeOutOfRange(naive.into())),
                "{naive}"
            );
        }
        assert_eq!(
            PushError::TimeOutOfRange(String::new()).reason(),
            "time_out_of_range"
        );
    }

    #[test]
    fn reasons_are_stable() {
        assert_eq!(PushError::NoBoundary.reason(), "no_boundary");
        assert_eq!(
            PushError::NeedsOffset(String::new()).reason(),
            "needs_offset"
        );
    }
}
