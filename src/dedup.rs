//! Order-preserving removal of repeats: the one duplicate rule of the core and the Frappe app.
//!
//! A repeat is an event whose (device, serial) came before, or a punch of a person who already has a check-in
//! (an existing key, or an item kept earlier) at most `window_seconds` away; 0 means the same second. The CLI
//! and `_core.dedup(events)` key the person by the device user (employee number); the Frappe app keys it by
//! Employee and site time (`_core.dedup` of (Employee, time) pairs), as HRMS keys Employee Checkin.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::event::Event;

/// Existing check-ins as (person, seconds): the keys of the duplicate rule. Borrows the person strings, so
/// building it allocates nothing per key.
#[derive(Debug, Default, Clone)]
pub struct ExistingKeys<'a> {
    keys: FxHashSet<(&'a str, i64)>,
}

impl<'a> ExistingKeys<'a> {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let pairs = pairs.into_iter();
        let mut keys = FxHashSet::default();
        keys.reserve(pairs.size_hint().0);
        keys.extend(pairs);
        ExistingKeys { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Sorted instants per person, for the double-punch window.
    fn by_person(&self) -> FxHashMap<&'a str, Vec<i64>> {
        let mut map: FxHashMap<&str, Vec<i64>> = FxHashMap::default();
        for (person, t) in &self.keys {
            map.entry(person).or_default().push(*t);
        }
        for times in map.values_mut() {
            times.sort_unstable();
        }
        map
    }
}

/// One item to deduplicate: a device event's identity on its device (when it has a serial), and the person
/// and second it records. A device event's person is its employee number (the device user); the Frappe app
/// passes its check-ins' Employee and site time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub serial: Option<(&'a str, u64)>,
    pub person: Option<&'a str>,
    /// Seconds: Unix seconds of an instant, or of a wall-clock time read as UTC (one kind per call).
    pub time: i64,
}

impl<'a> From<&'a Event> for Candidate<'a> {
    fn from(event: &'a Event) -> Self {
        Candidate {
            serial: event.serial_no.map(|serial| (&*event.device, serial)),
            person: event.employee_no.as_deref(),
            time: event.time.timestamp(),
        }
    }
}

/// The first of the sorted `times` at most `window` seconds from `t` (either side), if any.
fn near(times: Option<&Vec<i64>>, t: i64, window: i64) -> Option<i64> {
    let times = times?;
    let i = times.partition_point(|x| *x < t - window);
    times.get(i).copied().filter(|x| *x <= t + window)
}

/// Keeps the first of every group of duplicates, in input order (the one rule, for events and check-ins):
/// - an item whose (device, serial) came before (overlapping windows, replays);
/// - an item whose person has an existing key, or an item kept before, at most `window_seconds` away (either
///   side; 0: the same second): two devices seeing one face, equal-second bursts, double punches.
///
/// Items without a person are kept (unless their serial repeats). Input in time order gives the natural
/// answer (the first punch of a double punch is the one kept); any order gives a deterministic one.
pub fn dedup(events: Vec<Event>, existing: &ExistingKeys<'_>, window_seconds: i64) -> Vec<Event> {
    let mask = keep_mask(events.iter(), existing, window_seconds);
    events
        .into_iter()
        .zip(mask)
        .filter_map(|(e, keep)| keep.then_some(e))
        .collect()
}

/// [`dedup`] as a mask over borrowed events: `true` for the ones to keep. Allocates no key per event.
pub fn keep_mask<'a>(
    events: impl ExactSizeIterator<Item = &'a Event>,
    existing: &ExistingKeys<'_>,
    window_seconds: i64,
) -> Vec<bool> {
    keep_mask_of(events.map(Candidate::from), existing, window_seconds)
}

/// The rule of [`dedup`] over any candidates: `true` for the ones to keep.
pub fn keep_mask_of<'a>(
    items: impl ExactSizeIterator<Item = Candidate<'a>>,
    existing: &ExistingKeys<'_>,
    window_seconds: i64,
) -> Vec<bool> {
    let mut seen = Seen::with_capacity(items.len(), existing, window_seconds);
    items.map(|item| seen.keep(item)).collect()
}

/// What a pass of [`keep_mask_of`] has kept so far.
struct Seen<'a, 'k> {
    existing: &'k ExistingKeys<'k>,
    /// Existing instants per person, only built for a double-punch window.
    existing_times: FxHashMap<&'k str, Vec<i64>>,
    window: i64,
    serials: FxHashSet<(&'a str, u64)>,
    /// Window 0: the kept (person, second) keys.
    keys: FxHashSet<(&'a str, i64)>,
    /// Window > 0: the kept instants per person, sorted.
    kept: FxHashMap<&'a str, Vec<i64>>,
}

impl<'a, 'k> Seen<'a, 'k> {
    fn with_capacity(n: usize, existing: &'k ExistingKeys<'k>, window: i64) -> Self {
        let window = window.max(0);
        let mut serials = FxHashSet::default();
        serials.reserve(n);
        let mut keys = FxHashSet::default();
        if window == 0 {
            keys.reserve(n);
        }
        Seen {
            existing,
            existing_times: if window > 0 {
                existing.by_person()
            } else {
                FxHashMap::default()
            },
            window,
            serials,
            keys,
            kept: FxHashMap::default(),
        }
    }

    fn keep(&mut self, item: Candidate<'a>) -> bool {
        if let Some(serial) = item.serial {
            if !self.serials.insert(serial) {
                return false;
            }
        }
        let Some(person) = item.person else {
            return true;
        };
        let t = item.time;
        if self.window == 0 {
            // `insert` is the membership test too: one hash lookup per punch.
            return !self.existing.keys.contains(&(person, t)) && self.keys.insert((person, t));
        }
        if near(self.existing_times.get(person), t, self.window).is_some()
            || near(self.kept.get(person), t, self.window).is_some()
        {
            return false;
        }
        let times = self.kept.entry(person).or_default();
        // Time order appends; any other order still keeps the list sorted.
        let at = times.partition_point(|x| *x < t);
        times.insert(at, t);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, FixedOffset};

    use super::*;

    fn ev(device: &str, serial: Option<u64>, employee: Option<&str>, time: &str) -> Event {
        Event {
            device: Arc::from(device),
            serial_no: serial,
            employee_no: employee.map(str::to_owned),
            time: DateTime::<FixedOffset>::parse_from_rfc3339(time).unwrap(),
            log_type: None,
            major: 5,
            minor: 75,
            verify_method: Some("face"),
            is_punch: employee.is_some(),
            card_no: None,
            name: None,
            door_no: None,
            reader_no: None,
        }
    }

    #[test]
    fn by_serial_per_device_and_order_kept() {
        let input = vec![
            ev("a", Some(1), None, "2024-03-01T08:00:00+06:00"),
            ev("a", Some(2), Some("7"), "2024-03-01T08:00:01+06:00"),
            ev("a", Some(1), None, "2024-03-01T08:00:00+06:00"),
            ev("b", Some(1), None, "2024-03-01T08:00:00+06:00"),
        ];
        let out = dedup(input, &ExistingKeys::default(), 0);
        let got: Vec<_> = out
            .iter()
            .map(|e| (e.device.to_string(), e.serial_no))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), Some(1)),
                ("a".into(), Some(2)),
                ("b".into(), Some(1))
            ]
        );
    }

    #[test]
    fn same_employee_same_second_across_offsets_and_devices() {
        let input = vec![
            ev("a", Some(1), Some("7"), "2024-03-01T08:00:00+06:00"),
            ev("b", Some(9), Some("7"), "2024-03-01T02:00:00+00:00"),
            ev("b", Some(10), Some("8"), "2024-03-01T02:00:00+00:00"),
        ];
        let out = dedup(input, &ExistingKeys::default(), 0);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].employee_no.as_deref(), Some("8"));
    }

    #[test]
    fn against_existing_keys() {
        let e = ev("a", Some(1), Some("7"), "2024-03-01T08:00:00+06:00");
        let existing = ExistingKeys::from_pairs([("7", e.time.timestamp())]);
        assert!(dedup(vec![e.clone()], &existing, 0).is_empty());
        let other = ExistingKeys::from_pairs([("8", e.time.timestamp())]);
        assert_eq!(dedup(vec![e], &other, 0).len(), 1);
    }

    #[test]
    fn double_punch_window_is_inclusive() {
        let input = vec![
            ev("a", Some(1), Some("7"), "2024-03-01T08:00:00+06:00"),
            ev("a", Some(2), Some("7"), "2024-03-01T08:00:30+06:00"),
            ev("a", Some(3), Some("7"), "2024-03-01T08:01:00+06:00"),
            ev("a", Some(4), Some("7"), "2024-03-01T08:01:01+06:00"),
            ev("a", Some(5), Some("8"), "2024-03-01T08:00:30+06:00"),
        ];
        assert_eq!(dedup(input.clone(), &ExistingKeys::default(), 0).len(), 5);
        let serials = |out: Vec<Event>| out.iter().map(|e| e.serial_no).collect::<Vec<_>>();
        // 08:01:00 is 60 s after the kept 08:00:00: within the window; 08:01:01 is not.
        assert_eq!(
            serials(dedup(input.clone(), &ExistingKeys::default(), 60)),
            vec![Some(1), Some(4), Some(5)]
        );
        // An existing check-in 20 s before the first punch swallows the first two within a 60 s window; the
        // third (80 s after it) is kept and swallows the fourth.
        let existing = ExistingKeys::from_pairs([("7", input[0].time.timestamp() - 20)]);
        assert_eq!(
            serials(dedup(input.clone(), &existing, 60)),
            vec![Some(3), Some(5)]
        );
        // An existing check-in after a punch counts too (either side): 08:01:00 swallows all four of "7".
        let later = ExistingKeys::from_pairs([("7", input[0].time.timestamp() + 60)]);
        assert_eq!(serials(dedup(input, &later, 60)), vec![Some(5)]);
    }

    #[test]
    fn window_one_second_is_not_window_zero() {
        let input = vec![
            ev("a", Some(1), Some("7"), "2024-03-01T08:00:00+06:00"),
            ev("a", Some(2), Some("7"), "2024-03-01T08:00:01+06:00"),
        ];
        assert_eq!(dedup(input.clone(), &ExistingKeys::default(), 0).len(), 2);
        assert_eq!(dedup(input, &ExistingKeys::default(), 1).len(), 1);
    }

    fn candidate(person: &str, time: i64) -> Candidate<'_> {
        Candidate {
            serial: None,
            person: Some(person),
            time,
        }
    }

    #[test]
    fn candidates_by_person_and_second() {
        // What the app passes: (Employee, seconds) pairs, no serials.
        let items = [
            candidate("EMP-1", 100),
            candidate("EMP-1", 100),
            candidate("EMP-2", 100),
            candidate("EMP-1", 101),
            Candidate {
                serial: None,
                person: None,
                time: 100,
            },
        ];
        let existing = ExistingKeys::from_pairs([("EMP-2", 100)]);
        assert_eq!(
            keep_mask_of(items.iter().copied(), &existing, 0),
            vec![true, false, false, true, true]
        );
        assert_eq!(
            keep_mask_of(items.iter().copied(), &ExistingKeys::default(), 1),
            vec![true, false, true, false, true]
        );
    }

    #[test]
    fn any_order_compares_with_every_kept_item() {
        // Out of time order, a punch between two kept ones is near either of them.
        let items = [
            candidate("EMP-1", 0),
            candidate("EMP-1", 200),
            candidate("EMP-1", 150),
            candidate("EMP-1", 40),
            candidate("EMP-1", 100),
        ];
        assert_eq!(
            keep_mask_of(items.iter().copied(), &ExistingKeys::default(), 50),
            vec![true, true, false, false, true]
        );
    }
}
