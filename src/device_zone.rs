//! The time zone a terminal reports in `System/time` (`timeZone`), daylight-saving rule included, and the
//! offset it gives each instant (docs/isapi.md#system-resources).
//!
//! Terminals write POSIX TZ strings with the sign inverted against ISO (`CST-8:00:00` is UTC+8) and, with
//! daylight saving, how far clocks go forward after `DST` rather than a POSIX offset:
//! `CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00` is Central Europe
//! ([`DeviceZone::from_terminal`]). A configured zone is standard POSIX (`CET-1CEST,M3.5.0,M10.5.0/3`, the
//! footer of a zone file; [`DeviceZone::from_posix`]), negative daylight saving (Dublin) and two-hour shifts
//! (Troll) included. A search's request times are written with the offset of their own instant: a firmware
//! that reads only the wall-clock digits otherwise searches an hour beside a window in the other half of the
//! year.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc, Weekday};

/// How far clocks may go forward for daylight saving (30 minutes on Lord Howe Island, an hour elsewhere).
const SHIFTS: std::ops::RangeInclusive<i32> = 1800..=3600;

/// A terminal's zone: its standard offset and, when it has one, its daylight-saving rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceZone {
    standard: FixedOffset,
    daylight: Option<Daylight>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Daylight {
    offset: FixedOffset,
    /// When clocks go forward, in standard local time; when they go back, in daylight local time.
    start: Transition,
    end: Transition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    day: RuleDay,
    /// Seconds after local midnight (POSIX allows -167 to 167 hours).
    time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleDay {
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = the last) of month `m`.
    MonthWeekDay { month: u32, week: u32, weekday: u32 },
    /// `Jn`: day 1 to 365, 29 February never counted.
    JulianNoLeap(u32),
    /// `n`: day 0 to 365, 29 February counted.
    Julian(u32),
}

impl DeviceZone {
    /// A zone without daylight saving.
    pub fn fixed(offset: FixedOffset) -> DeviceZone {
        DeviceZone {
            standard: offset,
            daylight: None,
        }
    }

    /// A POSIX TZ string, strictly: the value after the daylight name is its offset (inverted sign).
    pub fn from_posix(text: &str) -> Option<DeviceZone> {
        DeviceZone::parse(text, false)
    }

    /// A terminal's `timeZone`: the value after the daylight name is how far clocks go forward
    /// (`DST01:00:00`), unless read as a POSIX offset it gives a forward shift of 30 to 60 minutes.
    pub fn from_terminal(text: &str) -> Option<DeviceZone> {
        DeviceZone::parse(text, true)
    }

    fn parse(text: &str, terminal: bool) -> Option<DeviceZone> {
        let mut rest = text.trim();
        rest = skip_name(rest)?;
        let (standard_posix, after) = posix_offset(rest)?;
        let standard = FixedOffset::east_opt(-standard_posix)?;
        if standard.local_minus_utc().abs() > 14 * 3600 {
            return None;
        }
        rest = after;
        if rest.is_empty() {
            return Some(DeviceZone::fixed(standard));
        }
        rest = skip_name(rest)?;
        let (daylight_seconds, after) = match posix_offset(rest) {
            Some((written, after)) => {
                let shift = -written - standard.local_minus_utc();
                // A POSIX offset, or (terminals) how far clocks go forward.
                let seconds = if !terminal || SHIFTS.contains(&shift) {
                    -written
                } else {
                    standard.local_minus_utc() + written
                };
                (seconds, after)
            }
            None => (standard.local_minus_utc() + 3600, rest),
        };
        let offset = FixedOffset::east_opt(daylight_seconds)?;
        let (start, end) = after.strip_prefix(',')?.split_once(',')?;
        Some(DeviceZone {
            standard,
            daylight: Some(Daylight {
                offset,
                start: transition(start)?,
                end: transition(end)?,
            }),
        })
    }

    /// The instant of a wall-clock time: the first of two in the hour repeated when clocks go back; a time in
    /// the hour skipped when they go forward reads with the offset in force before the step (so it lands after
    /// it).
    pub fn from_local(&self, wall: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        let offsets = match self.daylight {
            Some(d) => vec![self.standard, d.offset],
            None => vec![self.standard],
        };
        let at = |offset: FixedOffset| {
            wall.and_utc()
                .checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
        };
        let instant = offsets
            .iter()
            .filter_map(|&o| at(o).filter(|t| self.offset_at(*t) == o))
            .min()
            .or_else(|| {
                let earliest = offsets.iter().filter_map(|&o| at(o)).min()?;
                at(self.offset_at(earliest - Duration::hours(3)))
            })?;
        Some(instant.with_timezone(&self.offset_at(instant)))
    }

    /// The standard (winter) offset.
    pub fn standard(&self) -> FixedOffset {
        self.standard
    }

    /// The offset of the terminal's wall clock at `instant`.
    pub fn offset_at(&self, instant: DateTime<Utc>) -> FixedOffset {
        let Some(daylight) = self.daylight else {
            return self.standard;
        };
        let year = instant.with_timezone(&self.standard).year();
        let begins = daylight.start.instant(year, self.standard);
        let ends = daylight.end.instant(year, daylight.offset);
        let in_daylight = match (begins, ends) {
            (Some(b), Some(e)) if b <= e => instant >= b && instant < e,
            // Southern hemisphere: daylight saving spans the new year.
            (Some(b), Some(e)) => instant >= b || instant < e,
            _ => false,
        };
        if in_daylight {
            daylight.offset
        } else {
            self.standard
        }
    }
}

impl Transition {
    /// The instant of this transition in `year`, its local time read at `offset`.
    fn instant(&self, year: i32, offset: FixedOffset) -> Option<DateTime<Utc>> {
        let date = self.day.date(year)?;
        let local = date.and_hms_opt(0, 0, 0)? + Duration::seconds(self.time);
        Some(local.and_utc() - Duration::seconds(i64::from(offset.local_minus_utc())))
    }
}

impl RuleDay {
    fn date(&self, year: i32) -> Option<NaiveDate> {
        match *self {
            RuleDay::MonthWeekDay {
                month,
                week,
                weekday,
            } => {
                let weekday = Weekday::try_from(u8::try_from((weekday + 6) % 7).ok()?).ok()?;
                if week == 5 {
                    let next = if month == 12 {
                        NaiveDate::from_ymd_opt(year + 1, 1, 1)
                    } else {
                        NaiveDate::from_ymd_opt(year, month + 1, 1)
                    }?;
                    let last = next.pred_opt()?;
                    let back = (7 + last.weekday().num_days_from_monday()
                        - weekday.num_days_from_monday())
                        % 7;
                    last.checked_sub_signed(Duration::days(i64::from(back)))
                } else {
                    NaiveDate::from_weekday_of_month_opt(
                        year,
                        month,
                        weekday,
                        u8::try_from(week).ok()?,
                    )
                }
            }
            RuleDay::JulianNoLeap(day) => {
                let ordinal = NaiveDate::from_yo_opt(year, 1)?;
                let leap_day_passed = ordinal.leap_year() && day >= 60;
                ordinal.checked_add_signed(Duration::days(
                    i64::from(day) - 1 + i64::from(leap_day_passed),
                ))
            }
            // Day 365 exists in leap years only: elsewhere it is the year's last day.
            RuleDay::Julian(day) => {
                NaiveDate::from_yo_opt(year, day + 1).or_else(|| NaiveDate::from_yo_opt(year, day))
            }
        }
    }
}

/// Past a zone name: letters, or `<...>` (POSIX quoting for names with digits and signs).
fn skip_name(text: &str) -> Option<&str> {
    if let Some(quoted) = text.strip_prefix('<') {
        return quoted.split_once('>').map(|(_, rest)| rest);
    }
    let rest = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    (rest.len() < text.len()).then_some(rest)
}

/// A POSIX offset `[+-]hh[:mm[:ss]]` as written (seconds west of UTC), and what follows it.
fn posix_offset(text: &str) -> Option<(i32, &str)> {
    let (sign, body) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        b'0'..=b'9' => (1, text),
        _ => return None,
    };
    let (seconds, rest) = hms(body)?;
    Some((sign * i32::try_from(seconds).ok()?, rest))
}

/// `hh[:mm[:ss]]` as seconds, and what follows it.
fn hms(text: &str) -> Option<(i64, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(text.len());
    let mut parts = text[..end].split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    let seconds: i64 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    if parts.next().is_some() || hours > 167 || minutes >= 60 || seconds >= 60 {
        return None;
    }
    Some((hours * 3600 + minutes * 60 + seconds, &text[end..]))
}

/// `M3.5.0/02:00:00`, `J60`, `59/3`: a transition day and its local time (02:00 when not written).
fn transition(text: &str) -> Option<Transition> {
    let (day, time) = match text.split_once('/') {
        Some((day, time)) => {
            let (negative, body) = match time.strip_prefix('-') {
                Some(body) => (true, body),
                None => (false, time.strip_prefix('+').unwrap_or(time)),
            };
            let (seconds, rest) = hms(body)?;
            if !rest.is_empty() {
                return None;
            }
            (day, if negative { -seconds } else { seconds })
        }
        None => (text, 7200),
    };
    let day = if let Some(mwd) = day.strip_prefix('M') {
        let mut parts = mwd.split('.').map(|p| p.parse::<u32>().ok());
        let (month, week, weekday) = (parts.next()??, parts.next()??, parts.next()??);
        if parts.next().is_some()
            || !(1..=12).contains(&month)
            || !(1..=5).contains(&week)
            || weekday > 6
        {
            return None;
        }
        RuleDay::MonthWeekDay {
            month,
            week,
            weekday,
        }
    } else if let Some(julian) = day.strip_prefix('J') {
        let n: u32 = julian.parse().ok()?;
        (1..=365).contains(&n).then_some(RuleDay::JulianNoLeap(n))?
    } else {
        let n: u32 = day.parse().ok()?;
        (n <= 365).then_some(RuleDay::Julian(n))?
    };
    Some(Transition { day, time })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("time")
    }

    fn hours(zone: &DeviceZone, t: DateTime<Utc>) -> f64 {
        f64::from(zone.offset_at(t).local_minus_utc()) / 3600.0
    }

    #[test]
    fn terminals_notation_and_posix_give_the_same_rule() {
        let terminal =
            DeviceZone::from_terminal("CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00")
                .expect("zone");
        let posix = DeviceZone::from_posix("CET-1CEST-2,M3.5.0,M10.5.0/3").expect("zone");
        let implied = DeviceZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("zone");
        assert_eq!(terminal, posix);
        assert_eq!(terminal, implied);
        // Europe 2026: forward on 29 March at 01:00 UTC, back on 25 October at 01:00 UTC.
        for (t, expected) in [
            (at(2026, 3, 29, 0, 59), 1.0),
            (at(2026, 3, 29, 1, 0), 2.0),
            (at(2026, 10, 25, 0, 59), 2.0),
            (at(2026, 10, 25, 1, 0), 1.0),
            (at(2027, 1, 1, 0, 0), 1.0),
        ] {
            assert_eq!(hours(&terminal, t), expected, "{t}");
        }
        assert_eq!(terminal.standard().local_minus_utc(), 3600);
    }

    #[test]
    fn western_and_southern_rules() {
        // New York as a terminal writes it, and in POSIX: 8 March and 1 November 2026 at 02:00 local.
        let new_york =
            DeviceZone::from_terminal("CST+5:00:00DST01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00")
                .expect("zone");
        assert_eq!(
            new_york,
            DeviceZone::from_posix("EST5EDT,M3.2.0,M11.1.0").expect("zone")
        );
        assert_eq!(hours(&new_york, at(2026, 3, 8, 6, 59)), -5.0);
        assert_eq!(hours(&new_york, at(2026, 3, 8, 7, 0)), -4.0);
        assert_eq!(hours(&new_york, at(2026, 11, 1, 5, 59)), -4.0);
        assert_eq!(hours(&new_york, at(2026, 11, 1, 6, 0)), -5.0);
        // Sydney: daylight saving from October to April, across the new year.
        let sydney = DeviceZone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3").expect("zone");
        assert_eq!(hours(&sydney, at(2026, 1, 15, 0, 0)), 11.0);
        assert_eq!(hours(&sydney, at(2026, 7, 15, 0, 0)), 10.0);
        assert_eq!(hours(&sydney, at(2026, 12, 15, 0, 0)), 11.0);
        // Lord Howe Island goes forward by half an hour.
        let lord_howe =
            DeviceZone::from_posix("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0").expect("zone");
        assert_eq!(hours(&lord_howe, at(2026, 1, 15, 0, 0)), 11.0);
        // Julian days: 1 March (J60) to 1 November (J305), 2028 being a leap year.
        let julian = DeviceZone::from_posix("XST-2XDT,J60/0,J305/0").expect("zone");
        assert_eq!(hours(&julian, at(2028, 2, 29, 12, 0)), 2.0);
        assert_eq!(hours(&julian, at(2028, 3, 1, 12, 0)), 3.0);
    }

    #[test]
    fn negative_and_two_hour_daylight_saving_in_posix() {
        // Dublin: standard time is summer time (IST, +01:00), "daylight saving" the winter's GMT.
        let dublin = DeviceZone::from_posix("IST-1GMT0,M10.5.0,M3.5.0/1").expect("zone");
        assert_eq!(hours(&dublin, at(2026, 1, 15, 12, 0)), 0.0);
        assert_eq!(hours(&dublin, at(2026, 7, 15, 12, 0)), 1.0);
        assert_eq!(hours(&dublin, at(2026, 3, 29, 0, 59)), 0.0);
        assert_eq!(hours(&dublin, at(2026, 3, 29, 1, 0)), 1.0);
        assert_eq!(hours(&dublin, at(2026, 10, 25, 0, 59)), 1.0);
        assert_eq!(hours(&dublin, at(2026, 10, 25, 1, 0)), 0.0);
        // Troll station: UTC in winter, +02:00 in summer.
        let troll = DeviceZone::from_posix("<+00>0<+02>-2,M3.5.0/1,M10.5.0/3").expect("zone");
        assert_eq!(hours(&troll, at(2026, 1, 15, 12, 0)), 0.0);
        assert_eq!(hours(&troll, at(2026, 7, 15, 12, 0)), 2.0);
    }

    #[test]
    fn wall_clock_times_around_the_steps() {
        let zone = DeviceZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("zone");
        let wall = |y, mo, d, h, mi| at(y, mo, d, h, mi).naive_utc();
        let instant = |w| zone.from_local(w).expect("instant").to_utc();
        assert_eq!(instant(wall(2026, 1, 10, 9, 0)), at(2026, 1, 10, 8, 0));
        assert_eq!(instant(wall(2026, 7, 10, 9, 0)), at(2026, 7, 10, 7, 0));
        // 02:30 on 29 March does not exist: read at +01:00, it is 03:30 CEST.
        assert_eq!(instant(wall(2026, 3, 29, 2, 30)), at(2026, 3, 29, 1, 30));
        // 02:30 on 25 October happens twice: the first, at +02:00.
        assert_eq!(instant(wall(2026, 10, 25, 2, 30)), at(2026, 10, 25, 0, 30));
        assert_eq!(
            zone.from_local(wall(2026, 7, 10, 9, 0))
                .map(|t| t.offset().local_minus_utc()),
            Some(7200)
        );
    }

    #[test]
    fn a_zone_without_a_rule_and_what_is_not_a_zone() {
        let dhaka = DeviceZone::from_terminal("CST-6:00:00").expect("zone");
        assert_eq!(hours(&dhaka, at(2026, 7, 1, 0, 0)), 6.0);
        for text in [
            "",
            "nonsense",
            "CST",
            "CST-15",
            "CET-1CEST,M13.1.0,M10.5.0",
            "CET-1CEST,M3.5.0",
        ] {
            assert_eq!(DeviceZone::from_posix(text), None, "{text:?}");
            assert_eq!(DeviceZone::from_terminal(text), None, "{text:?}");
        }
    }
}
