//! A device's stored event log, indexed by time, and the search over it.

use std::ops::Range;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::config::ResultOrder;
use super::people::Roster;

/// Attendance key state recorded with a person event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attendance {
    Undefined,
    CheckIn,
    CheckOut,
    BreakOut,
    BreakIn,
    OvertimeIn,
    OvertimeOut,
}

impl Attendance {
    pub const ALL: [Attendance; 7] = [
        Attendance::Undefined,
        Attendance::CheckIn,
        Attendance::CheckOut,
        Attendance::BreakOut,
        Attendance::BreakIn,
        Attendance::OvertimeIn,
        Attendance::OvertimeOut,
    ];

    /// From the terminal's `attendanceStatus` value.
    pub fn from_status(status: &str) -> Option<Attendance> {
        Attendance::ALL.into_iter().find(|a| a.status() == status)
    }

    pub fn status(self) -> &'static str {
        match self {
            Attendance::Undefined => "undefined",
            Attendance::CheckIn => "checkIn",
            Attendance::CheckOut => "checkOut",
            Attendance::BreakOut => "breakOut",
            Attendance::BreakIn => "breakIn",
            Attendance::OvertimeIn => "overtimeIn",
            Attendance::OvertimeOut => "overtimeOut",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Attendance::Undefined => "",
            Attendance::CheckIn => "Check In",
            Attendance::CheckOut => "Check Out",
            Attendance::BreakOut => "Break Out",
            Attendance::BreakIn => "Break In",
            Attendance::OvertimeIn => "Overtime In",
            Attendance::OvertimeOut => "Overtime Out",
        }
    }

    pub fn value(self) -> u8 {
        match self {
            Attendance::Undefined | Attendance::CheckIn => 0,
            Attendance::CheckOut => 1,
            Attendance::BreakOut => 2,
            Attendance::BreakIn => 3,
            Attendance::OvertimeIn => 4,
            Attendance::OvertimeOut => 5,
        }
    }
}

/// Which card number an event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Card {
    None,
    /// The person's enrolled card.
    Enrolled,
    /// An unknown card (denied events).
    Unknown(u32),
}

/// Compact fields of a generated event; rendered per page, never stored as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub reader: u8,
    pub door: u8,
    pub verify_mode: &'static str,
    pub attendance: Option<Attendance>,
    pub mask: &'static str,
    pub card: Card,
}

/// Event payload: generated columns, or the extra fields of an events-file line.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Generated(Generated),
    File(Box<Map<String, Value>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the order the device recorded its events; unlike `serial`, it survives a counter reset.
    pub seq: u64,
    pub serial: u64,
    /// Unix seconds.
    pub ts: i64,
    pub major: u32,
    pub minor: u32,
    /// Index into the log's roster.
    pub person: Option<u32>,
    pub detail: Detail,
}

/// Search conditions that select a result set (paging fields excluded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub major: u32,
    pub minor: u32,
    /// Inclusive serial window.
    pub serials: Option<(u64, u64)>,
    pub employee: Option<String>,
}

impl Filter {
    fn needs_scan(&self) -> bool {
        self.major != 0 || self.minor != 0 || self.serials.is_some() || self.employee.is_some()
    }
}

/// A result set in the order the search returns it: a plain slice of the log or an index list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Range(Range<usize>),
    List(Arc<[u32]>),
}

impl Selection {
    pub fn len(&self) -> usize {
        match self {
            Selection::Range(range) => range.len(),
            Selection::List(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Log index of the item at `pos` of the result set, newest first when `reverse`.
    pub fn at(&self, pos: usize, reverse: bool) -> Option<usize> {
        let len = self.len();
        if pos >= len {
            return None;
        }
        let pos = if reverse { len - 1 - pos } else { pos };
        match self {
            Selection::Range(range) => Some(range.start + pos),
            Selection::List(list) => list.get(pos).map(|idx| *idx as usize),
        }
    }
}

/// Events sorted by time; equal times keep their stored order, which need not follow serials.
#[derive(Debug)]
pub struct EventLog {
    events: Vec<Event>,
    roster: Arc<Roster>,
}

impl EventLog {
    /// `events` must already be in stored (time) order.
    pub fn new(events: Vec<Event>, roster: Arc<Roster>) -> Self {
        debug_assert!(events.windows(2).all(|w| w[0].ts <= w[1].ts));
        EventLog { events, roster }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn get(&self, idx: usize) -> Option<&Event> {
        self.events.get(idx)
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// Indices of the events inside the (inclusive) time window, by binary search.
    fn window(&self, start: Option<i64>, end: Option<i64>) -> Range<usize> {
        let lo = start.map_or(0, |s| self.events.partition_point(|e| e.ts < s));
        let hi = end.map_or(self.events.len(), |e| {
            self.events.partition_point(|ev| ev.ts <= e)
        });
        lo..hi.max(lo)
    }

    /// The result set of a search, in ascending time order or in record order.
    pub fn select(&self, filter: &Filter, order: ResultOrder) -> Selection {
        let window = self.window(filter.start, filter.end);
        if order == ResultOrder::Record {
            let mut list = self.scan(filter, window);
            list.sort_by_key(|idx| self.events[*idx as usize].seq);
            return Selection::List(Arc::from(list));
        }
        if !filter.needs_scan() {
            return Selection::Range(window);
        }
        Selection::List(Arc::from(self.scan(filter, window)))
    }

    /// Indices of the events of `window` that pass the filter, in time order.
    fn scan(&self, filter: &Filter, window: Range<usize>) -> Vec<u32> {
        let person = filter.employee.as_ref().and_then(|no| self.roster.find(no));
        if filter.employee.is_some() && person.is_none() {
            return Vec::new();
        }
        window
            .filter(|idx| {
                let e = &self.events[*idx];
                (filter.major == 0 || e.major == filter.major)
                    && (filter.minor == 0 || e.minor == filter.minor)
                    && filter
                        .serials
                        .is_none_or(|(lo, hi)| (lo..=hi).contains(&e.serial))
                    && (person.is_none() || e.person == person)
            })
            .map(|idx| u32::try_from(idx).unwrap_or(u32::MAX))
            .collect()
    }

    /// The latest event strictly before `ts`.
    pub fn last_before(&self, ts: i64) -> Option<usize> {
        self.events.partition_point(|e| e.ts < ts).checked_sub(1)
    }

    /// The highest recording sequence number (0 for an empty log).
    pub fn last_seq(&self) -> u64 {
        self.events.iter().map(|e| e.seq).max().unwrap_or(0)
    }

    /// The highest serial number (0 for an empty log).
    pub fn max_serial(&self) -> u64 {
        self.events.iter().map(|e| e.serial).max().unwrap_or(0)
    }

    /// The latest event time.
    pub fn last_ts(&self) -> Option<i64> {
        self.events.last().map(|e| e.ts)
    }

    /// The clock was set back by `back_secs` after the event recorded as `after_seq`: every later event
    /// carries a time that much earlier.
    pub fn with_clock_step(self, after_seq: u64, back_secs: i64) -> EventLog {
        let EventLog { mut events, roster } = self;
        for event in events.iter_mut().filter(|e| e.seq > after_seq) {
            event.ts -= back_secs;
        }
        events.sort_by_key(|e| e.ts);
        EventLog::new(events, roster)
    }

    /// This log with `more` events recorded (a copy: the log is shared read-only while it is searched).
    pub fn with_appended(&self, more: Vec<Event>) -> EventLog {
        let mut events = Vec::with_capacity(self.events.len() + more.len());
        events.extend_from_slice(&self.events);
        events.extend(more);
        events.sort_by_key(|e| e.ts);
        EventLog::new(events, self.roster.clone())
    }

    /// An empty log with the same enrolled people (a factory reset clears the records, not the users).
    pub fn cleared(&self) -> EventLog {
        EventLog::new(Vec::new(), self.roster.clone())
    }

    /// The earliest event strictly after `ts`.
    pub fn first_after(&self, ts: i64) -> Option<usize> {
        let idx = self.events.partition_point(|e| e.ts <= ts);
        (idx < self.events.len()).then_some(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Person;

    fn event(serial: u64, ts: i64, minor: u32, person: Option<u32>) -> Event {
        Event {
            seq: serial,
            serial,
            ts,
            major: 5,
            minor,
            person,
            detail: Detail::File(Box::default()),
        }
    }

    fn log() -> EventLog {
        let mut roster = Roster::default();
        roster.intern(Person {
            employee_no: "007".into(),
            name: "Bond".into(),
            card_no: String::new(),
        });
        EventLog::new(
            vec![
                event(1, 10, 75, Some(0)),
                event(3, 20, 21, None),
                event(2, 20, 75, Some(0)),
                event(4, 30, 38, None),
            ],
            Arc::new(roster),
        )
    }

    #[test]
    fn window_is_inclusive_and_sliced() {
        let log = log();
        let sel = log.select(
            &Filter {
                start: Some(20),
                end: Some(30),
                ..Filter::default()
            },
            ResultOrder::Time,
        );
        assert_eq!(sel, Selection::Range(1..4));
        assert_eq!(sel.at(0, true), Some(3));
    }

    #[test]
    fn filters_scan() {
        let log = log();
        let time = ResultOrder::Time;
        let by_minor = log.select(
            &Filter {
                major: 5,
                minor: 75,
                ..Filter::default()
            },
            time,
        );
        assert_eq!(by_minor, Selection::List(Arc::from(vec![0, 2])));
        let by_serial = log.select(
            &Filter {
                serials: Some((2, 3)),
                ..Filter::default()
            },
            time,
        );
        assert_eq!(by_serial, Selection::List(Arc::from(vec![1, 2])));
        let unknown = log.select(
            &Filter {
                employee: Some("7".into()),
                ..Filter::default()
            },
            time,
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn record_order_and_a_clock_step_back() {
        // Serials 1-4 at 10, 20, 20, 30; the clock goes back 25 s after serial 2.
        let log = log().with_clock_step(2, 25);
        let times: Vec<(u64, i64)> = (0..log.len())
            .filter_map(|i| log.get(i))
            .map(|e| (e.serial, e.ts))
            .collect();
        assert_eq!(times, vec![(3, -5), (4, 5), (1, 10), (2, 20)]);
        let all = Filter::default();
        let serials = |sel: &Selection| -> Vec<u64> {
            (0..sel.len())
                .filter_map(|pos| sel.at(pos, false))
                .filter_map(|idx| log.get(idx))
                .map(|e| e.serial)
                .collect()
        };
        assert_eq!(
            serials(&log.select(&all, ResultOrder::Time)),
            vec![3, 4, 1, 2]
        );
        assert_eq!(
            serials(&log.select(&all, ResultOrder::Record)),
            vec![1, 2, 3, 4]
        );
        let from_zero = Filter {
            start: Some(0),
            ..Filter::default()
        };
        assert_eq!(
            serials(&log.select(&from_zero, ResultOrder::Record)),
            vec![1, 2, 4]
        );
    }

    #[test]
    fn neighbours_outside_window() {
        let log = log();
        assert_eq!(log.last_before(20), Some(0));
        assert_eq!(log.first_after(20), Some(3));
        assert_eq!(log.last_before(10), None);
        assert_eq!(log.first_after(30), None);
    }
}
