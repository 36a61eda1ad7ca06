//! A terminal's time zone: a fixed UTC offset, or a POSIX rule with daylight saving (`--time-zone`).
//!
//! With a rule, every instant has the offset the rule gives it: events are stamped with it, `System/time`
//! shows the offset of now and the rule in Hikvision's notation (docs/isapi.md#system-resources), and wall-clock
//! times (naive request times, a firmware that reads only the digits) are read in it. The rule is evaluated by
//! `tz-rs`, not by the client's code: the simulator is a second opinion.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use tz::timezone::TransitionRule;
use tz::TimeZone;

/// Where a device's wall clock stands against UTC.
#[derive(Debug, Clone)]
pub struct Zone {
    fixed: FixedOffset,
    rule: Option<Arc<Rule>>,
}

#[derive(Debug)]
struct Rule {
    zone: TimeZone,
    /// What `System/time` reports as `timeZone`.
    hikvision: String,
}

impl Zone {
    pub fn fixed(offset: FixedOffset) -> Zone {
        Zone {
            fixed: offset,
            rule: None,
        }
    }

    /// A POSIX TZ rule with daylight saving, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`.
    pub fn with_rule(posix: &str) -> Result<Zone, String> {
        let zone = TimeZone::from_posix_tz(posix)
            .map_err(|e| format!("not a POSIX TZ rule {posix:?}: {e}"))?;
        let (std, dst) = match zone.as_ref().extra_rule() {
            Some(TransitionRule::Alternate(alt)) => (alt.std().ut_offset(), alt.dst().ut_offset()),
            _ => return Err(format!("{posix:?} has no daylight-saving rule")),
        };
        let fixed = FixedOffset::east_opt(std).ok_or_else(|| format!("offset of {posix:?}"))?;
        let rules = posix
            .split_once(',')
            .map(|(_, rules)| rules)
            .ok_or_else(|| format!("{posix:?} has no transition dates"))?;
        let hikvision = format!(
            "{}DST{},{}",
            posix_offset(std),
            hms(dst - std),
            rules
                .split(',')
                .map(with_full_time)
                .collect::<Vec<_>>()
                .join(",")
        );
        Ok(Zone {
            fixed,
            rule: Some(Arc::new(Rule { zone, hikvision })),
        })
    }

    /// The offset of the wall clock at unix second `ts`.
    pub fn offset_at(&self, ts: i64) -> FixedOffset {
        self.rule
            .as_ref()
            .and_then(|r| r.zone.find_local_time_type(ts).ok())
            .and_then(|t| FixedOffset::east_opt(t.ut_offset()))
            .unwrap_or(self.fixed)
    }

    /// Unix seconds of a wall-clock time: the first of two in the hour repeated when clocks go back; a time in
    /// the hour skipped when they go forward reads with the offset before the step (so it lands after it).
    pub fn wall_to_instant(&self, wall: NaiveDateTime) -> i64 {
        let as_utc = wall.and_utc().timestamp();
        let before = self.offset_at(as_utc - 86_400);
        let after = self.offset_at(as_utc + 86_400);
        [before, after]
            .into_iter()
            .map(|o| as_utc - i64::from(o.local_minus_utc()))
            .filter(|&ts| i64::from(self.offset_at(ts).local_minus_utc()) == as_utc - ts)
            .min()
            .unwrap_or(as_utc - i64::from(before.local_minus_utc()))
    }

    /// `2024-03-01T08:00:00+06:00` with the offset of that instant, or naive `2024-03-01 08:00:00`.
    pub fn format(&self, ts: i64, naive: bool) -> String {
        let utc = DateTime::<Utc>::from_timestamp(ts, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let local = utc.with_timezone(&self.offset_at(ts));
        if naive {
            local.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            local.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
        }
    }

    /// `timeZone` as the terminal reports it: `CST-6:00:00`, or with daylight saving
    /// `CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00` (the value after `DST` is how far clocks go
    /// forward, not a POSIX offset).
    pub fn posix(&self) -> String {
        match &self.rule {
            Some(rule) => rule.hikvision.clone(),
            None => posix_offset(self.fixed.local_minus_utc()),
        }
    }
}

/// `CST-6:00:00` for UTC+6: the POSIX sign is inverted.
fn posix_offset(seconds_east: i32) -> String {
    let posix = -seconds_east;
    let sign = if posix < 0 { '-' } else { '+' };
    let abs = posix.unsigned_abs();
    format!(
        "CST{sign}{}:{:02}:{:02}",
        abs / 3600,
        abs % 3600 / 60,
        abs % 60
    )
}

fn hms(seconds: i32) -> String {
    let abs = seconds.unsigned_abs();
    format!("{:02}:{:02}:{:02}", abs / 3600, abs % 3600 / 60, abs % 60)
}

/// A transition date with its time written out as terminals write it: `M10.5.0/3` → `M10.5.0/03:00:00`,
/// `M3.5.0` → `M3.5.0/02:00:00` (POSIX's default).
fn with_full_time(rule: &str) -> String {
    let (date, time) = rule.split_once('/').unwrap_or((rule, "2"));
    let (sign, time) = match time.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", time.strip_prefix('+').unwrap_or(time)),
    };
    let mut parts = time.split(':').map(|p| p.parse::<u32>().unwrap_or(0));
    let (h, m, s) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    format!("{date}/{sign}{h:02}:{m:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn wall(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .expect("date")
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        wall(y, mo, d, h, mi).and_utc().timestamp()
    }

    #[test]
    fn a_rule_gives_each_instant_its_offset_and_reports_hikvisions_notation() {
        let zone = Zone::with_rule("CET-1CEST,M3.5.0,M10.5.0/3").expect("rule");
        // Europe, 2026: forward on 29 March at 01:00 UTC, back on 25 October at 01:00 UTC.
        assert_eq!(
            zone.offset_at(utc(2026, 3, 29, 0, 59)).local_minus_utc(),
            3600
        );
        assert_eq!(
            zone.offset_at(utc(2026, 3, 29, 1, 0)).local_minus_utc(),
            7200
        );
        assert_eq!(
            zone.offset_at(utc(2026, 10, 25, 0, 59)).local_minus_utc(),
            7200
        );
        assert_eq!(
            zone.offset_at(utc(2026, 10, 25, 1, 0)).local_minus_utc(),
            3600
        );
        assert_eq!(
            zone.posix(),
            "CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00"
        );
        assert_eq!(
            zone.format(utc(2026, 7, 1, 6, 0), false),
            "2026-07-01T08:00:00+02:00"
        );
        let new_york = Zone::with_rule("EST5EDT,M3.2.0,M11.1.0").expect("rule");
        assert_eq!(
            new_york.posix(),
            "CST+5:00:00DST01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00"
        );
        // Greenland changes at -01:00 local time (Saturday night), written as such.
        assert_eq!(with_full_time("M3.5.0/-1"), "M3.5.0/-01:00:00");
        assert_eq!(with_full_time("M10.5.0/0"), "M10.5.0/00:00:00");
        assert!(Zone::with_rule("CET-1").is_err(), "no daylight saving");
        assert!(Zone::with_rule("nonsense,").is_err());
    }

    #[test]
    fn wall_clock_times_around_the_steps() {
        let zone = Zone::with_rule("CET-1CEST,M3.5.0,M10.5.0/3").expect("rule");
        assert_eq!(
            zone.wall_to_instant(wall(2026, 1, 10, 9, 0)),
            utc(2026, 1, 10, 8, 0)
        );
        assert_eq!(
            zone.wall_to_instant(wall(2026, 7, 10, 9, 0)),
            utc(2026, 7, 10, 7, 0)
        );
        // 02:30 on 29 March does not exist: read at +01:00, it is 03:30 CEST.
        assert_eq!(
            zone.wall_to_instant(wall(2026, 3, 29, 2, 30)),
            utc(2026, 3, 29, 1, 30)
        );
        // 02:30 on 25 October happens twice: the first, at +02:00.
        assert_eq!(
            zone.wall_to_instant(wall(2026, 10, 25, 2, 30)),
            utc(2026, 10, 25, 0, 30)
        );
        let fixed = Zone::fixed(FixedOffset::east_opt(6 * 3600).expect("offset"));
        assert_eq!(
            fixed.wall_to_instant(wall(2026, 3, 29, 2, 30)),
            utc(2026, 3, 28, 20, 30)
        );
        assert_eq!(fixed.posix(), "CST-6:00:00");
    }
}
