//! Order-preserving, O(n) removal of events seen before.

use std::collections::{HashMap, HashSet};

use crate::event::Event;

/// An (employee, instant to the second) key, as used by Employee Checkin's duplicate rule.
pub type PunchKey = (String, i64);

pub fn punch_key(event: &Event) -> Option<PunchKey> {
    event
        .employee_no
        .as_ref()
        .map(|e| (e.clone(), event.time.timestamp()))
}

/// Keeps the first of every group of duplicates, in input order:
/// - the same (device, serial) seen twice (overlapping windows, replays);
/// - the same employee in the same second (two devices, or equal-second bursts), or a key in `existing`;
/// - with `window_seconds > 0`, the same employee within that many seconds of a kept punch or an existing
///   key (double punches); input is expected in time order per employee, as fetches return it.
pub fn dedup(events: Vec<Event>, existing: &HashSet<PunchKey>, window_seconds: i64) -> Vec<Event> {
    let mask = keep_mask(events.iter(), existing, window_seconds);
    events
        .into_iter()
        .zip(mask)
        .filter_map(|(e, keep)| keep.then_some(e))
        .collect()
}

/// [`dedup`] as a mask over borrowed events: `true` for the ones to keep.
pub fn keep_mask<'a>(
    events: impl ExactSizeIterator<Item = &'a Event>,
    existing: &HashSet<PunchKey>,
    window_seconds: i64,
) -> Vec<bool> {
    let mut serials: HashSet<(&str, u64)> = HashSet::with_capacity(events.len());
    let mut keys: HashSet<PunchKey> = HashSet::with_capacity(events.len());
    // Per employee: sorted existing instants (for the window) and the last kept instant.
    let mut existing_times: HashMap<&str, Vec<i64>> = HashMap::new();
    if window_seconds > 0 {
        for (employee, t) in existing {
            existing_times
                .entry(employee.as_str())
                .or_default()
                .push(*t);
        }
        for times in existing_times.values_mut() {
            times.sort_unstable();
        }
    }
    let mut last_kept: HashMap<String, i64> = HashMap::new();
    let near_existing = |employee: &str, t: i64| {
        existing_times.get(employee).is_some_and(|times| {
            let i = times.partition_point(|x| *x < t - window_seconds + 1);
            times.get(i).is_some_and(|x| *x < t + window_seconds)
        })
    };

    let mut mask = Vec::with_capacity(events.len());
    for event in events {
        let keep = (|| {
            if let Some(serial) = event.serial_no {
                if !serials.insert((&*event.device, serial)) {
                    return false;
                }
            }
            if let Some(key) = punch_key(event) {
                if existing.contains(&key) || keys.contains(&key) {
                    return false;
                }
                if window_seconds > 0 {
                    let t = key.1;
                    let recent = last_kept
                        .get(&key.0)
                        .is_some_and(|last| (t - last).abs() < window_seconds);
                    if recent || near_existing(&key.0, t) {
                        return false;
                    }
                    last_kept.insert(key.0.clone(), t);
                }
                keys.insert(key);
            }
            true
        })();
        mask.push(keep);
    }
    mask
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
        let out = dedup(input, &HashSet::new(), 0);
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
        let out = dedup(input, &HashSet::new(), 0);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].employee_no.as_deref(), Some("8"));
    }

    #[test]
    fn against_existing_keys() {
        let e = ev("a", Some(1), Some("7"), "2024-03-01T08:00:00+06:00");
        let existing: HashSet<PunchKey> = [("7".to_owned(), e.time.timestamp())].into();
        assert!(dedup(vec![e.clone()], &existing, 0).is_empty());
        let other: HashSet<PunchKey> = [("8".to_owned(), e.time.timestamp())].into();
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
        assert_eq!(dedup(input.clone(), &HashSet::new(), 0).len(), 4);
        let kept: Vec<_> = dedup(input.clone(), &HashSet::new(), 60)
            .iter()
            .map(|e| e.serial_no)
            .collect();
        assert_eq!(kept, vec![Some(1), Some(3), Some(4)]);
        // An existing check-in 20 s before the first punch swallows it within a 60 s window.
        let existing: HashSet<PunchKey> = [("7".to_owned(), input[0].time.timestamp() - 20)].into();
        let kept: Vec<_> = dedup(input, &existing, 60)
            .iter()
            .map(|e| e.serial_no)
            .collect();
        assert_eq!(kept, vec![Some(3), Some(4)]);
    }
}
