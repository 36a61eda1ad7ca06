//! A UTC offset as a person types it (the app's Device Time Zone, the CLI's `--utc-offset`,
//! `Device(utc_offset=...)`, the simulator's `--utc-offset`). One rule for every entry point.
//!
//! Device answers are read elsewhere: ISO 8601 times with chrono, the POSIX `timeZone` of `System/time` (whose
//! sign is inverted) by [`crate::isapi::system::posix_tz_offset`].

use chrono::FixedOffset;

/// The largest offset in use anywhere (UTC+14:00, Line Islands); the same bound applies west of UTC.
const MAX_SECONDS: i32 = 14 * 3600;

/// Why a typed UTC offset was refused. [`UtcOffsetError::reason`] is a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UtcOffsetError {
    #[error("not a UTC offset: {0:?} (expected e.g. +06:00, -0330, UTC+5 or Z)")]
    Format(String),
    #[error("UTC offset out of range: {0} (from -14:00 to +14:00)")]
    Range(String),
}

impl UtcOffsetError {
    /// `format` or `range`.
    pub fn reason(&self) -> &'static str {
        match self {
            UtcOffsetError::Format(_) => "format",
            UtcOffsetError::Range(_) => "range",
        }
    }

    /// The text that was refused.
    pub fn value(&self) -> &str {
        match self {
            UtcOffsetError::Format(v) | UtcOffsetError::Range(v) => v,
        }
    }
}

/// Parses `+06:00`, `-03:30`, `+0545`, `+5`, `+545`, `UTC+05:45`, `GMT-3`, `Z`, `UTC` or `GMT` (case and
/// surrounding blanks ignored): a sign is required, hours are one or two digits, minutes two digits after an
/// optional colon.
pub fn parse_utc_offset(text: &str) -> Result<FixedOffset, UtcOffsetError> {
    let value = text.trim();
    let format = || UtcOffsetError::Format(value.to_owned());
    if ["Z", "UTC", "GMT"]
        .iter()
        .any(|zero| value.eq_ignore_ascii_case(zero))
    {
        return FixedOffset::east_opt(0).ok_or_else(format);
    }
    let rest = ["UTC", "GMT"]
        .iter()
        .find_map(|prefix| {
            value
                .get(..prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(prefix))
                .map(|_| value[prefix.len()..].trim_start())
        })
        .unwrap_or(value);
    let (sign, body) = match rest.as_bytes().first() {
        Some(b'+') => (1, &rest[1..]),
        Some(b'-') => (-1, &rest[1..]),
        _ => return Err(format()),
    };
    let digits = |s: &str, lengths: &[usize]| {
        (lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i32>().ok())
            .flatten()
    };
    let (hours, minutes) = match body.split_once(':') {
        Some((h, m)) => (digits(h, &[1, 2]), digits(m, &[2])),
        None if !body.bytes().all(|b| b.is_ascii_digit()) => (None, None),
        None => match body.len() {
            1 | 2 => (digits(body, &[1, 2]), Some(0)),
            3 | 4 => {
                let (h, m) = body.split_at(body.len() - 2);
                (digits(h, &[1, 2]), digits(m, &[2]))
            }
            _ => (None, None),
        },
    };
    let (Some(hours), Some(minutes)) = (hours, minutes) else {
        return Err(format());
    };
    let seconds = hours * 3600 + minutes * 60;
    if minutes > 59 || seconds > MAX_SECONDS {
        return Err(UtcOffsetError::Range(value.to_owned()));
    }
    FixedOffset::east_opt(sign * seconds).ok_or_else(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Result<i32, &'static str> {
        parse_utc_offset(text)
            .map(|o| o.local_minus_utc())
            .map_err(|e| e.reason())
    }

    #[test]
    fn accepted_forms() {
        let h = 3600;
        let cases = [
            ("+06:00", 6 * h),
            ("-03:30", -(3 * h + 1800)),
            ("+05:45", 5 * h + 2700),
            ("-0330", -(3 * h + 1800)),
            ("+0545", 5 * h + 2700),
            ("-0300", -3 * h),
            ("+545", 5 * h + 2700),
            ("+5", 5 * h),
            ("+05", 5 * h),
            ("+6:30", 6 * h + 1800),
            ("UTC+5", 5 * h),
            ("utc+05:45", 5 * h + 2700),
            ("GMT -3", -3 * h),
            (" +14:00 ", 14 * h),
            ("-14:00", -14 * h),
            ("-00:00", 0),
            ("Z", 0),
            ("z", 0),
            ("UTC", 0),
            ("gmt", 0),
        ];
        for (text, expected) in cases {
            assert_eq!(secs(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn refused_forms_say_why() {
        let cases = [
            ("", "format"),
            ("six", "format"),
            ("6", "format"),
            ("06:00", "format"),
            ("+", "format"),
            ("+ü6:00", "format"),
            ("+ü6", "format"),
            ("+6ü", "format"),
            ("+06:0", "format"),
            ("+006:00", "format"),
            ("+06:00:00", "format"),
            ("+12345", "format"),
            ("++6", "format"),
            ("UTC+", "format"),
            ("EST+5", "format"),
            ("+15:00", "range"),
            ("+14:30", "range"),
            ("+05:75", "range"),
            ("-25", "range"),
            ("+25:00", "range"),
        ];
        for (text, why) in cases {
            assert_eq!(secs(text), Err(why), "{text:?}");
        }
        let e = parse_utc_offset(" +15:00 ").expect_err("range");
        assert_eq!(e.value(), "+15:00");
        assert!(e.to_string().contains("+15:00"), "{e}");
    }
}
