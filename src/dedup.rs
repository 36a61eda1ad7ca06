//! Order-preserving, O(n) removal of events seen before.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::event::Event;

/// Existing check-ins as (employee, Unix seconds): the keys of Employee Checkin's duplicate rule. Borrows the
/// employee strings, so building it allocates nothing per key.
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

    /// Sorted instants per employee, for the double-punch window.
    fn by_employee(&self) -> FxHashMap<&'a str, Vec<i64>> {
        let mut map: FxHashMap<&str, Vec<i64>> = FxHashMap::default();
        for (employee, t) in &self.keys {
            map.entry(employee).or_default().push(*t);
        }
        for times in map.values_mut() {
            times.sort_unstable();
        }
        map
    }
}

/// Whether one of the sorted `times` lies within `window` seconds of `t` (either side).
fn near(times: Option<&Vec<i64>>, t: i64, window: i64) -> bool {
    times.is_some_and(|times| {
        let i = times.partition_point(|x| *x <= t - window);
        times.get(i).is_some_and(|x| *x < t + window)
    })
}

/// Keeps the first of every group of duplicates, in input order:
/// - the same (device, serial) seen twice (overlapping windows, replays);
/// - the same employee in the same second (two devices, or equal-second bursts), or a key in `existing`;
/// - with `window_seconds > 0`, the same employee within that many seconds of a kept punch or an existing
///   key (double punches); input is expected in time order per employee, as fetches return it.
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
    let mut seen = Seen::with_capacity(events.len(), existing, window_seconds);
    events.map(|event| seen.keep(event)).collect()
}

/// What a pass of [`keep_mask`] has kept so far.
struct Seen<'a, 'k> {
    existing: &'k ExistingKeys<'k>,
    /// Existing instants per employee, only built for a double-punch window.
    existing_times: FxHashMap<&'k str, Vec<i64>>,
    window: i64,
    serials: FxHashSet<(&'a str, u64)>,
    keys: FxHashSet<(&'a str, i64)>,
    last_kept: FxHashMap<&'a str, i64>,
}

impl<'a, 'k> Seen<'a, 'k> {
    fn with_capacity(n: usize, existing: &'k ExistingKeys<'k>, window: i64) -> Self {
        let mut serials = FxHashSet::default();
        serials.reserve(n);
        let mut keys = FxHashSet::default();
        keys.reserve(n);
        Seen {
            existing,
            existing_times: if window > 0 {
                existing.by_employee()
            } else {
                FxHashMap::default()
            },
            window,
            serials,
            keys,
            last_kept: FxHashMap::default(),
        }
    }

    fn keep(&mut self, event: &'a Event) -> bool {
        if let Some(serial) = event.serial_no {
            if !self.serials.insert((&event.device, serial)) {
                return false;
            }
        }
        let Some(employee) = event.employee_no.as_deref() else {
            return true;
        };
        let t = event.time.timestamp();
        if self.existing.keys.contains(&(employee, t)) {
            return false;
        }
        if self.window > 0 {
            if self.keys.contains(&(employee, t)) {
                return false;
            }
            let recent = self
                .last_kept
                .get(employee)
                .is_some_and(|last| (t - last).abs() < self.window);
            if recent || near(self.existing_times.get(employee), t, self.window) {
                return false;
            }
            self.last_kept.insert(employee, t);
        }
        // `insert` is the membership test too: one hash lookup per punch.
        self.keys.insert((employee, t))
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
    fn double_punch_window() {
        let input = vec![
            ev("a", Some(1), Some("7"), "2024-03-01T08:00:00+06:00"),
            ev("a", Some(2), Some("7"), "2024-03-01T08:00:30+06:00"),
            ev("a", Some(3), Some("7"), "2024-03-01T08:01:00+06:00"),
            ev("a", Some(4), Some("8"), "2024-03-01T08:00:30+06:00"),
        ];
        assert_eq!(dedup(input.clone(), &ExistingKeys::default(), 0).len(), 4);
        let kept: Vec<_> = dedup(input.clone(), &ExistingKeys::default(), 60)
            .iter()
            .map(|e| e.serial_no)
            .collect();
        assert_eq!(kept, vec![Some(1), Some(3), Some(4)]);
        // An existing check-in 20 s before the first punch swallows it within a 60 s window.
        let existing = ExistingKeys::from_pairs([("7", input[0].time.timestamp() - 20)]);
        let kept: Vec<_> = dedup(input, &existing, 60)
            .iter()
            .map(|e| e.serial_no)
            .collect();
        assert_eq!(kept, vec![Some(3), Some(4)]);
    }
}
