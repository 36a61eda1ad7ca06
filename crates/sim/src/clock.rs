//! Device time: the device clock, and request times as clients write them (formatting is `Zone::format`).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::config::TimeHandling;
use super::zone::Zone;

/// Current device clock as unix seconds (real clock plus injected skew).
pub fn device_now(skew_secs: i64) -> i64 {
    Utc::now().timestamp().saturating_add(skew_secs)
}

/// A time as written by a client: with or without an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrittenTime {
    WithOffset(DateTime<FixedOffset>),
    Naive(NaiveDateTime),
}

/// Parses ISO 8601 with offset (`Z`, `+06:00`) or naive (`T` or space separator).
pub fn parse_written(text: &str) -> Option<WrittenTime> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(WrittenTime::WithOffset(dt));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(text, format) {
            return Some(WrittenTime::WithOffset(dt));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(WrittenTime::Naive(naive));
        }
    }
    None
}

/// Why a request time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRejection {
    Unparseable,
    NaiveRefused,
}

/// Turns a request time into unix seconds following the device's `TimeHandling`.
pub fn request_instant(
    text: &str,
    zone: &Zone,
    handling: TimeHandling,
) -> Result<i64, TimeRejection> {
    let written = parse_written(text).ok_or(TimeRejection::Unparseable)?;
    match (written, handling) {
        (WrittenTime::Naive(_), TimeHandling::RejectNaive) => Err(TimeRejection::NaiveRefused),
        (WrittenTime::Naive(naive), _) => Ok(zone.wall_to_instant(naive)),
        (WrittenTime::WithOffset(dt), TimeHandling::DeviceLocal) => {
            Ok(zone.wall_to_instant(dt.naive_local()))
        }
        (WrittenTime::WithOffset(dt), _) => Ok(dt.timestamp()),
    }
}

/// Wall-clock time in `offset` to unix seconds.
pub fn local_to_instant(naive: NaiveDateTime, offset: FixedOffset) -> i64 {
    naive.and_utc().timestamp() - i64::from(offset.local_minus_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(secs: i32) -> Zone {
        Zone::fixed(FixedOffset::east_opt(secs).expect("valid offset"))
    }

    #[test]
    fn request_time_handling() {
        let zone = off(6 * 3600);
        let dev = &zone;
        let with = "2024-03-01T08:00:00+00:00";
        let naive = "2024-03-01T08:00:00";
        let honour = request_instant(with, dev, TimeHandling::HonourOffset);
        let local = request_instant(with, dev, TimeHandling::DeviceLocal);
        assert_eq!(honour.map(|h| h - 6 * 3600), local);
        assert_eq!(
            request_instant(naive, dev, TimeHandling::HonourOffset),
            local
        );
        assert_eq!(
            request_instant(naive, dev, TimeHandling::RejectNaive),
            Err(TimeRejection::NaiveRefused)
        );
        assert_eq!(
            request_instant("yesterday", dev, TimeHandling::HonourOffset),
            Err(TimeRejection::Unparseable)
        );
    }

    #[test]
    fn formats_with_device_offset() {
        let ts = 1_709_258_400; // 2024-03-01T02:00:00Z
        assert_eq!(off(21600).format(ts, false), "2024-03-01T08:00:00+06:00");
        assert_eq!(off(21600).format(ts, true), "2024-03-01 08:00:00");
        assert_eq!(off(0).format(ts, false), "2024-03-01T02:00:00+00:00");
    }
}
