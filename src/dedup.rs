//! Order-preserving, O(n) removal of events seen before.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::event::Event;

/// Instants (Unix seconds) of existing check-ins, per employee: the keys of Employee Checkin's duplicate rule.
#[derive(Debug, Default, Clone)]
pub struct ExistingKeys {
    by_employee: FxHashMap<String, Vec<i64>>,
}

impl ExistingKeys {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut by_employee: FxHashMap<String, Vec<i64>> = FxHashMap::default();
        for (employee, t) in pairs {
            match by_employee.get_mut(employee) {
                Some(times) => times.push(t),
                None => {
                    by_employee.insert(employee.to_owned(), vec![t]);
                }
            }
        }
        for times in by_employee.values_mut() {
            times.sort_unstable();
            times.dedup();
        }
        ExistingKeys { by_employee }
    }

    pub fn len(&self) -> usize {
        self.by_employee.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_employee.is_empty()
    }

    fn contains(&self, employee: &str, t: i64) -> bool {
        self.by_employee
            .get(employee)
            .is_some_and(|times| times.binary_search(&t).is_ok())
    }

    /// Whether an existing instant lies within `window` seconds of `t` (either side).
    fn near(&self, employee: &str, t: i64, window: i64) -> bool {
        self.by_employee.get(employee).is_some_and(|times| {
            let i = times.partition_point(|x| *x <= t - window);
            times.get(i).is_some_and(|x| *x < t + window)
        })
    }
}

/// Keeps the first of every group of duplicates, in input order:
/// - the same (device, serial) seen twice (overlapping windows, replays);
/// - the same employee in the same second (two devices, or equal-second bursts), or a key in `existing`;
/// - with `window_seconds > 0`, the same employee within that many seconds of a kept punch or an existing
///   key (double punches); input is expected in time order per employee, as fetches return it.
pub fn dedup(events: Vec<Event>, existing: &ExistingKeys, window_seconds: i64) -> Vec<Event> {
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
    existing: &ExistingKeys,
    window_seconds: i64,
) -> Vec<bool> {
    let n = events.len();
    let mut serials: FxHashSet<(&str, u64)> = FxHashSet::default();
    serials.reserve(n);
    let mut keys: FxHashSet<(&str, i64)> = FxHashSet::default();
    keys.reserve(n);
    let mut last_kept: FxHashMap<&str, i64> = FxHashMap::default();
    let mut mask = Vec::with_capacity(n);
    for event in events {
        mask.push(keep(
            event,
            existing,
            window_seconds,
            &mut serials,
            &mut keys,
            &mut last_kept,
        ));
    }
    mask
}

fn keep<'a>(
    event: &'a Event,
    existing: &ExistingKeys,
    window: i64,
    serials: &mut FxHashSet<(&'a str, u64)>,
    keys: &mut FxHashSet<(&'a str, i64)>,
    last_kept: &mut FxHashMap<&'a str, i64>,
) -> bool {
    if let Some(serial) = event.serial_no {
        if !serials.insert((&event.device, serial)) {
            return false;
        }
    }
    let Some(employee) = event.employee_no.as_deref() else {
        return true;
    };
    let t = event.time.timestamp();
    if keys.contains(&(employee, t)) || existing.contains(employee, t) {
        return false;
    }
    if window > 0 {
        let recent = last_kept
            .get(employee)
            .is_some_and(|last| (t - last).abs() < window);
        if recent || existing.near(employee, t, window) {
            return false;
        }
        last_kept.insert(employee, t);
    }
    keys.insert((employee, t));
    true
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
