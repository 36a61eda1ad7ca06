//! The event model: what a terminal reports (every field optional, docs/isapi.md#transport) and the
//! normalised event.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// One `InfoList` item as a terminal sends it. Unknown fields are ignored; known ones may be absent, and
/// numbers sometimes arrive as strings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEvent {
    #[serde(default, deserialize_with = "lenient_u32")]
    pub major: Option<u32>,
    #[serde(default, deserialize_with = "lenient_u32")]
    pub minor: Option<u32>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub serial_no: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub employee_no_string: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub employee_no: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub card_no: Option<String>,
    #[serde(default, deserialize_with = "lenient_u32")]
    pub door_no: Option<u32>,
    #[serde(default, deserialize_with = "lenient_u32")]
    pub card_reader_no: Option<u32>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub attendance_status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "IN")]
    In,
    #[serde(rename = "OUT")]
    Out,
}

impl Direction {
    /// From `attendanceStatus`; `undefined` and anything unknown give no direction.
    pub fn from_attendance_status(status: &str) -> Option<Direction> {
        match status {
            "checkIn" | "breakIn" | "overtimeIn" => Some(Direction::In),
            "checkOut" | "breakOut" | "overtimeOut" => Some(Direction::Out),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "IN",
            Direction::Out => "OUT",
        }
    }
}

/// A normalised event. The instant keeps the offset the device reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub device: Arc<str>,
    pub serial_no: Option<u64>,
    pub employee_no: Option<String>,
    pub time: DateTime<FixedOffset>,
    pub log_type: Option<Direction>,
    pub major: u32,
    pub minor: u32,
    pub verify_method: Option<&'static str>,
    pub is_punch: bool,
    pub card_no: Option<String>,
    pub name: Option<String>,
    pub door_no: Option<u32>,
    pub reader_no: Option<u32>,
}

/// Successful authentications under major 5 (docs/isapi.md#punch-codes): what attendance counts. Face,
/// fingerprint, card, PIN and combined modes alike; querying minor 75 alone loses fingerprint and card punches.
pub const PUNCH_MINORS: &[u32] = &[
    1, 2, 16, 34, 38, 40, 43, 46, 54, 57, 60, 63, 66, 69, 72, 75, 77, 101, 105, 153, 156, 159, 179,
    181,
];

/// How a person authenticated, from the minor code (never from `currentVerifyMode`, which is the reader's
/// configured mode; docs/isapi.md#answers).
pub fn verify_method(major: u32, minor: u32) -> Option<&'static str> {
    if major != 5 {
        return None;
    }
    Some(match minor {
        1 => "card",
        2 => "card+password",
        16 | 153 => "multi-factor",
        34 => "super password",
        38 => "fingerprint",
        40 => "card+fingerprint",
        43 => "card+fingerprint+password",
        46 => "fingerprint+password",
        54 => "face+fingerprint",
        57 => "face+password",
        60 => "face+card",
        63 => "face+password+fingerprint",
        66 => "face+card+fingerprint",
        69 => "employee no+fingerprint",
        72 => "employee no+fingerprint+password",
        75 => "face",
        77 => "employee no+face",
        101 => "employee no+password",
        105 => "person+id card",
        156 => "qr code",
        159 => "bluetooth",
        179 => "dynamic code",
        181 => "password",
        _ => return None,
    })
}

/// Which (major, minor) pairs are a person clocking. Data, so the caller can widen or narrow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifier {
    pairs: HashSet<(u32, u32)>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier {
            pairs: PUNCH_MINORS.iter().map(|m| (5, *m)).collect(),
        }
    }
}

impl Classifier {
    pub fn new(pairs: impl IntoIterator<Item = (u32, u32)>) -> Self {
        Classifier {
            pairs: pairs.into_iter().collect(),
        }
    }

    pub fn pairs(&self) -> Vec<(u32, u32)> {
        let mut v: Vec<_> = self.pairs.iter().copied().collect();
        v.sort_unstable();
        v
    }

    pub fn is_punch(&self, major: u32, minor: u32, employee_no: Option<&str>) -> bool {
        employee_no.is_some_and(|e| !e.is_empty()) && self.pairs.contains(&(major, minor))
    }
}

/// Why an item could not become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    NoTime,
    BadTime(String),
    /// A time that parses but lies outside [`time_in_range`] (year 0000, 9999 near its end, a clock gone wrong).
    OutOfRange(String),
}

/// Whether an event time lies at least a day inside the years 1 to 9999 (UTC): 0001-01-02 to 9999-12-30.
///
/// Python's `datetime` holds exactly the years 1 to 9999, and so do the databases the app stores punches in
/// (or fewer). A time a day inside them stays inside them in its own offset and in any zone it is converted
/// to (UTC offsets are less than a day), so every event the core hands out can be placed in a site's time
/// zone. Year 0000, or the first hours of year 1 and the last of 9999 with an offset, cannot: such an item is
/// [`Rejected::OutOfRange`], read by nobody, never half stored.
pub fn time_in_range(time: &DateTime<FixedOffset>) -> bool {
    let day = time.naive_utc().date();
    match (
        NaiveDate::from_ymd_opt(1, 1, 2),
        NaiveDate::from_ymd_opt(9999, 12, 30),
    ) {
        (Some(first), Some(last)) => first <= day && day <= last,
        _ => false,
    }
}

/// Parses a device time: ISO 8601 with offset, or naive (`T` or space separated), which means the
/// device's own offset (docs/isapi.md#time).
pub fn parse_device_time(text: &str, device_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt);
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Some(dt);
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return device_offset.from_local_datetime(&naive).single();
        }
    }
    None
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl RawEvent {
    pub fn normalise(
        self,
        device: &Arc<str>,
        device_offset: FixedOffset,
        classifier: &Classifier,
    ) -> Result<Event, Rejected> {
        let text = self.time.as_deref().ok_or(Rejected::NoTime)?;
        let time = parse_device_time(text, device_offset)
            .ok_or_else(|| Rejected::BadTime(text.to_owned()))?;
        if !time_in_range(&time) {
            return Err(Rejected::OutOfRange(text.to_owned()));
        }
        let major = self.major.unwrap_or(0);
        let minor = self.minor.unwrap_or(0);
        // Keep leading zeros: "00042" and "42" are different people (docs/isapi.md#answers).
        let employee_no =
            non_empty(self.employee_no_string).or_else(|| non_empty(self.employee_no));
        let is_punch = classifier.is_punch(major, minor, employee_no.as_deref());
        Ok(Event {
            device: Arc::clone(device),
            serial_no: self.serial_no,
            log_type: self
                .attendance_status
                .as_deref()
                .and_then(Direction::from_attendance_status),
            verify_method: verify_method(major, minor),
            major,
            minor,
            is_punch,
            employee_no,
            time,
            card_no: non_empty(self.card_no),
            name: non_empty(self.name),
            door_no: self.door_no,
            reader_no: self.card_reader_no,
        })
    }
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(lenient_u64(d)?.and_then(|v| u32::try_from(v).ok()))
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(h: i32) -> FixedOffset {
        FixedOffset::east_opt(h * 3600).unwrap()
    }

    fn norm(json: &str) -> Event {
        let raw: RawEvent = serde_json::from_str(json).unwrap();
        raw.normalise(&Arc::from("Gate"), off(6), &Classifier::default())
            .unwrap()
    }

    #[test]
    fn sparse_door_event_is_not_a_punch() {
        let e = norm(
            r#"{"major": 5, "minor": 21, "time": "2026-09-01T17:27:53-04:00", "doorNo": 1,
            "serialNo": 19353, "currentVerifyMode": "invalid", "mask": "unknown"}"#,
        );
        assert!(!e.is_punch);
        assert_eq!(e.employee_no, None);
        assert_eq!(e.time.offset().local_minus_utc(), -4 * 3600);
        assert_eq!(e.serial_no, Some(19353));
    }

    #[test]
    fn full_style_face_punch() {
        let e = norm(
            r#"{"major":	5, "minor":	75, "time":	"2026-09-01T17:27:53-04:00", "cardType":	1,
            "name":	"CÁSSIA", "cardNo": "", "cardReaderNo":	1, "doorNo":	1, "employeeNoString":	"00042",
            "serialNo":	19354, "userType":	"normal", "attendanceStatus":	"checkOut", "label": "Check Out"}"#,
        );
        assert!(e.is_punch);
        assert_eq!(e.employee_no.as_deref(), Some("00042"));
        assert_eq!(e.name.as_deref(), Some("CÁSSIA"));
        assert_eq!(e.card_no, None);
        assert_eq!(e.log_type, Some(Direction::Out));
        assert_eq!(e.verify_method, Some("face"));
    }

    #[test]
    fn integer_employee_no_and_naive_time() {
        let e = norm(
            r#"{"major": "5", "minor": 38, "time": "2024-03-01 08:00:00", "employeeNo": 42, "serialNo": "7"}"#,
        );
        assert!(e.is_punch);
        assert_eq!(e.employee_no.as_deref(), Some("42"));
        assert_eq!(e.serial_no, Some(7));
        assert_eq!(e.time.to_rfc3339(), "2024-03-01T08:00:00+06:00");
        assert_eq!(e.verify_method, Some("fingerprint"));
    }

    #[test]
    fn failed_auth_and_other_majors_are_not_punches() {
        assert!(
            !norm(r#"{"major":5,"minor":76,"time":"2024-03-01T08:00:00Z","employeeNoString":"1"}"#)
                .is_punch
        );
        assert!(
            !norm(r#"{"major":3,"minor":75,"time":"2024-03-01T08:00:00Z","employeeNoString":"1"}"#)
                .is_punch
        );
        assert!(
            !norm(r#"{"major":5,"minor":75,"time":"2024-03-01T08:00:00Z","employeeNoString":" "}"#)
                .is_punch
        );
    }

    #[test]
    fn missing_or_bad_time_is_rejected() {
        let c = Classifier::default();
        let dev: Arc<str> = Arc::from("d");
        let raw: RawEvent = serde_json::from_str(r#"{"major":5,"minor":75}"#).unwrap();
        assert_eq!(raw.normalise(&dev, off(0), &c), Err(Rejected::NoTime));
        let raw: RawEvent = serde_json::from_str(r#"{"time":"yesterday"}"#).unwrap();
        assert!(matches!(
            raw.normalise(&dev, off(0), &c),
            Err(Rejected::BadTime(_))
        ));
    }

    #[test]
    fn times_outside_years_1_to_9999_in_any_zone_are_out_of_range() {
        let c = Classifier::default();
        let dev: Arc<str> = Arc::from("d");
        let item = |time: &str| {
            let raw: RawEvent = serde_json::from_value(serde_json::json!(
                {"major": 5, "minor": 75, "employeeNoString": "1", "serialNo": 9, "time": time}
            ))
            .unwrap();
            raw.normalise(&dev, off(6), &c)
        };
        for text in [
            "0000-06-01T10:00:00+00:00",
            "0000-12-31T23:59:59Z",
            // Year 1 and 9999 on the wall clock, outside them in UTC or a day's conversion away.
            "0001-01-01T03:00:00+06:00",
            "0001-01-01T20:00:00-02:00",
            "9999-12-31T20:00:00-05:00",
            "9999-12-31T10:00:00+06:00",
            "9999-12-31 10:00:00",
        ] {
            assert_eq!(
                item(text),
                Err(Rejected::OutOfRange(text.to_owned())),
                "{text}"
            );
        }
        for text in [
            "0001-01-02T00:00:00Z",
            "0001-06-01T10:00:00+06:00",
            "9999-06-01T10:00:00+06:00",
            "9999-12-30T23:59:59Z",
            "2026-07-16T19:24:29-05:00",
        ] {
            assert!(item(text).is_ok(), "{text}");
        }
        // The edge is the UTC day, whatever the offset says.
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        assert!(time_in_range(&t("9999-12-31T05:00:00+06:00")));
        assert!(!time_in_range(&t("9999-12-31T00:00:00Z")));
        assert!(!time_in_range(&t("0001-01-02T05:00:00+06:00")));
    }

    #[test]
    fn direction_table() {
        for (s, d) in [
            ("checkIn", Some(Direction::In)),
            ("breakIn", Some(Direction::In)),
            ("overtimeIn", Some(Direction::In)),
            ("checkOut", Some(Direction::Out)),
            ("breakOut", Some(Direction::Out)),
            ("overtimeOut", Some(Direction::Out)),
            ("undefined", None),
        ] {
            assert_eq!(Direction::from_attendance_status(s), d, "{s}");
        }
    }

    #[test]
    fn classifier_is_configurable() {
        let c = Classifier::new([(5, 75)]);
        assert!(c.is_punch(5, 75, Some("1")));
        assert!(!c.is_punch(5, 38, Some("1")));
        assert!(Classifier::default().is_punch(5, 38, Some("1")));
        assert!(Classifier::default().is_punch(5, 181, Some("1")));
    }

    #[test]
    fn time_zones() {
        let p = |s| parse_device_time(s, off(0)).map(|t| t.timestamp());
        assert_eq!(p("2024-03-01T08:00:00+05:45"), p("2024-03-01T02:15:00Z"));
        assert_eq!(
            p("2024-03-01T08:00:00-03:00"),
            p("2024-03-01T11:00:00+00:00")
        );
        assert_eq!(p("2024-03-01T08:00:00+0600"), p("2024-03-01T02:00:00Z"));
        assert_eq!(p("2024-13-01T08:00:00Z"), None);
    }

    #[test]
    fn dst_change_keeps_each_events_own_offset() {
        // Europe at the end of March: 01:59:59 in winter time, then 03:00:00 in summer time, one second apart.
        let before = parse_device_time("2024-03-31T01:59:59+01:00", off(0)).unwrap();
        let after = parse_device_time("2024-03-31T03:00:00+02:00", off(0)).unwrap();
        assert_eq!((after - before).num_seconds(), 1);
        assert_eq!(before.offset().local_minus_utc(), 3600);
        assert_eq!(after.offset().local_minus_utc(), 7200);
    }
}
