//! Where a terminal's next search starts and ends, and where its time cursor stands after it
//! (docs/push.md#the-relay). The time cursor means: every event stamped before it is in the queue. It follows
//! the site's rules for its own searches: it never passes the terminal's clock, and a clock set back brings it
//! back. The serial cursor (the core's `since_serial`) narrows each search where the terminal supports it.

use chrono::{DateTime, FixedOffset, TimeDelta};

/// The next search starts this long before the time cursor (same-second events, records written late).
pub const OVERLAP: TimeDelta = TimeDelta::minutes(10);
/// How far past the terminal's clock a search reaches: events recorded while it runs, and stamps of a clock
/// that ran fast and was corrected since (still delivered, as a pushing terminal would send them).
pub const AHEAD: TimeDelta = TimeDelta::days(1);

type Time = DateTime<FixedOffset>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Time,
    pub end: Time,
    /// How far the terminal's clock is behind the cursor: its clock was set back by at least this much.
    pub set_back: Option<TimeDelta>,
}

/// The search for a terminal whose clock reads `device_now`: from shortly before the cursor, or, on the first
/// search or after the clock was set back (new events may then carry any earlier time), from `backfill`
/// before the clock; to a day past the clock (or past the cursor, for events stamped before it was set back).
pub fn window(cursor: Option<Time>, device_now: Time, backfill: TimeDelta) -> Window {
    let set_back = cursor.filter(|c| *c > device_now).map(|c| c - device_now);
    let start = match cursor {
        Some(c) if set_back.is_none() => c - OVERLAP,
        _ => device_now - backfill,
    };
    let end = cursor.map_or(device_now, |c| c.max(device_now)) + AHEAD;
    Window {
        start,
        end,
        set_back,
    }
}

/// The time cursor after a search that received every event of its window stamped before `proven` (the
/// window's end after a complete search, the core's `complete_until` after an interrupted one): the later of
/// that and the cursor before (unless the clock was set back, which voids what it proved), never past the
/// terminal's clock `device_now` read before the search.
pub fn next(before: Option<Time>, device_now: Time, proven: Time) -> Time {
    before
        .filter(|c| *c <= device_now)
        .map_or(proven, |c| c.max(proven))
        .min(device_now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Time {
        DateTime::parse_from_rfc3339(text).expect("time")
    }

    const DAY: TimeDelta = TimeDelta::days(1);

    #[test]
    fn the_first_search_backfills_up_to_a_day_past_the_clock() {
        let now = t("2026-03-02T10:00:00+06:00");
        let w = window(None, now, DAY);
        assert_eq!(w.start, t("2026-03-01T10:00:00+06:00"));
        assert_eq!(w.end, t("2026-03-03T10:00:00+06:00"));
        assert_eq!(w.set_back, None);
        assert_eq!(next(None, now, w.end), now);
    }

    #[test]
    fn the_cursor_follows_the_clock_not_the_stamps() {
        let now = t("2026-03-02T10:00:00+06:00");
        let at = t("2026-03-02T09:59:30+06:00");
        let cursor = Some(at);
        let w = window(cursor, now, DAY);
        assert_eq!(w.start, t("2026-03-02T09:49:30+06:00"));
        assert_eq!(w.set_back, None);
        // A complete search: the clock, whatever the events said (one stamped in 2037 included).
        assert_eq!(next(cursor, now, w.end), now);
        // Interrupted: what the answers prove, never back past the cursor before.
        assert_eq!(
            next(cursor, now, t("2026-03-02T09:59:50+06:00")),
            t("2026-03-02T09:59:50+06:00")
        );
        assert_eq!(next(cursor, now, w.start), at);
    }

    #[test]
    fn a_clock_set_back_brings_the_cursor_back() {
        // The cursor was set while the clock ran six hours fast; the clock is right again.
        let cursor = Some(t("2026-03-02T16:00:00+06:00"));
        let now = t("2026-03-02T10:00:00+06:00");
        let w = window(cursor, now, DAY);
        assert_eq!(w.set_back, Some(TimeDelta::hours(6)));
        assert_eq!(w.start, t("2026-03-01T10:00:00+06:00"));
        // Events stamped before the clock went back are still in reach.
        assert_eq!(w.end, t("2026-03-03T16:00:00+06:00"));
        assert_eq!(next(cursor, now, w.end), now);
        // Interrupted: only what this search proves.
        assert_eq!(
            next(cursor, now, t("2026-03-01T12:00:00+06:00")),
            t("2026-03-01T12:00:00+06:00")
        );
    }
}
