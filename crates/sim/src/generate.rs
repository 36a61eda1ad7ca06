//! Deterministic synthetic event history for one device.

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::log::{Attendance, Card, Detail, Event, EventLog, Generated};
use super::people::Roster;
use super::seed::mix;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenParams {
    /// Exact number of events (door and denied events included).
    pub count: usize,
    pub days: u32,
    /// End of the history, unix seconds.
    pub end: i64,
    pub offset: FixedOffset,
    pub seed: u64,
    pub device_index: usize,
    pub door_share: f64,
    pub failed_share: f64,
    pub burst_share: f64,
}

const WORK_START_HOUR: u32 = 7;
const WORK_END_HOUR: u32 = 19;
/// Chance that a door event follows the previous person event in the same second.
const DOOR_FOLLOWS_PERSON: f64 = 0.7;
/// Chance that equal-time events are stored out of serial order.
const SHUFFLE_TIES: f64 = 0.5;

/// Successful-authentication minors (docs/isapi.md#punch-codes) with weights: face, fingerprint, card
/// dominate.
const SUCCESS_MINORS: &[(u32, u32)] = &[
    (75, 60),
    (38, 20),
    (1, 12),
    (2, 1),
    (16, 1),
    (34, 1),
    (40, 1),
    (60, 1),
    (77, 1),
    (101, 1),
    (181, 1),
];
/// Minors that involve the enrolled card.
const CARD_MINORS: &[u32] = &[1, 2, 40, 43, 60, 66];
const DENIED_MINORS: &[u32] = &[76, 76, 9, 39, 6];
const DOOR_MINORS: &[u32] = &[21, 22, 25, 26, 23, 24];
const VERIFY_MODES: &[&str] = &["cardOrFace", "faceOrFpOrCardOrPw", "cardOrFaceOrFp"];

/// Working-hour intervals `[start, end)` in unix seconds, clipped to the history window.
fn working_intervals(params: &GenParams) -> Vec<(i64, i64)> {
    let window_start = params.end - i64::from(params.days) * 86_400;
    let to_local = |ts: i64| {
        DateTime::<Utc>::from_timestamp(ts, 0)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
            .with_timezone(&params.offset)
            .date_naive()
    };
    let (first_day, last_day) = (to_local(window_start), to_local(params.end));
    let offset = i64::from(params.offset.local_minus_utc());
    let mut intervals = Vec::new();
    let mut day = first_day;
    while day <= last_day {
        let at = |hour| {
            day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default())
                .and_utc()
                .timestamp()
                - offset
        };
        let (start, end) = (
            at(WORK_START_HOUR).max(window_start),
            at(WORK_END_HOUR).min(params.end + 1),
        );
        if start < end {
            intervals.push((start, end));
        }
        day += Duration::days(1);
    }
    intervals
}

/// Uniform sampler over the working-hour seconds of the window.
struct TimeSampler {
    intervals: Vec<(i64, i64)>,
    cumulative: Vec<i64>,
}

impl TimeSampler {
    fn new(intervals: Vec<(i64, i64)>) -> Self {
        let mut total = 0;
        let cumulative = intervals
            .iter()
            .map(|(s, e)| {
                total += e - s;
                total
            })
            .collect();
        TimeSampler {
            intervals,
            cumulative,
        }
    }

    fn sample(&self, rng: &mut StdRng) -> Option<i64> {
        let total = *self.cumulative.last()?;
        let pick = rng.random_range(0..total);
        let idx = self.cumulative.partition_point(|c| *c <= pick);
        let (start, end) = *self.intervals.get(idx)?;
        let before = idx.checked_sub(1).map_or(0, |i| self.cumulative[i]);
        Some((start + pick - before).min(end - 1))
    }
}

struct Generator<'a> {
    rng: StdRng,
    params: &'a GenParams,
    people: u32,
    verify_mode: &'static str,
    drafts: Vec<Event>,
}

impl Generator<'_> {
    fn push(&mut self, ts: i64, minor: u32, person: Option<u32>, detail: Generated) {
        self.drafts.push(Event {
            seq: 0,
            serial: 0,
            ts: ts.min(self.params.end),
            major: 5,
            minor,
            person,
            detail: Detail::Generated(detail),
        });
    }

    fn weighted_success_minor(&mut self) -> u32 {
        let total: u32 = SUCCESS_MINORS.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.random_range(0..total);
        for (minor, weight) in SUCCESS_MINORS {
            if pick < *weight {
                return *minor;
            }
            pick -= weight;
        }
        75
    }

    fn attendance(&mut self, ts: i64) -> Attendance {
        if self.rng.random::<f64>() < 0.8 {
            return Attendance::Undefined;
        }
        let local_hour =
            (ts + i64::from(self.params.offset.local_minus_utc())).rem_euclid(86_400) / 3600;
        match local_hour {
            0..=9 => {
                if self.rng.random::<f64>() < 0.1 {
                    Attendance::OvertimeIn
                } else {
                    Attendance::CheckIn
                }
            }
            12 => Attendance::BreakOut,
            13 => Attendance::BreakIn,
            17.. => {
                if self.rng.random::<f64>() < 0.1 {
                    Attendance::OvertimeOut
                } else {
                    Attendance::CheckOut
                }
            }
            _ => [
                Attendance::CheckIn,
                Attendance::BreakIn,
                Attendance::BreakOut,
            ][self.rng.random_range(0..3)],
        }
    }

    fn person_event(&mut self, ts: i64) {
        let person = self.rng.random_range(0..self.people);
        let minor = self.weighted_success_minor();
        let attendance = self.attendance(ts);
        let face = matches!(minor, 75 | 77 | 60);
        let mask = match (face, self.rng.random_range(0..20)) {
            (false, _) => "unknown",
            (true, 0) => "yes",
            (true, 1 | 2) => "unknown",
            (true, _) => "no",
        };
        let detail = Generated {
            reader: if self.rng.random::<f64>() < 0.8 { 1 } else { 2 },
            door: 1,
            verify_mode: self.verify_mode,
            attendance: Some(attendance),
            mask,
            card: if CARD_MINORS.contains(&minor) {
                Card::Enrolled
            } else {
                Card::None
            },
        };
        self.push(ts, minor, Some(person), detail);
    }

    fn denied_event(&mut self, ts: i64) {
        let minor = DENIED_MINORS[self.rng.random_range(0..DENIED_MINORS.len())];
        // "No permission" knows the person; the others failed to identify anyone.
        let person = (minor == 6).then(|| self.rng.random_range(0..self.people));
        let card = match minor {
            9 => Card::Unknown(self.rng.random_range(100_000_000..999_999_999)),
            6 => Card::Enrolled,
            _ => Card::None,
        };
        let detail = Generated {
            reader: 1,
            door: 1,
            verify_mode: self.verify_mode,
            attendance: person.map(|_| Attendance::Undefined),
            mask: if minor == 76 { "no" } else { "unknown" },
            card,
        };
        self.push(ts, minor, person, detail);
    }

    fn door_event(&mut self, ts: i64, minor: u32) {
        let detail = Generated {
            reader: 0,
            door: 1,
            verify_mode: "invalid",
            attendance: None,
            mask: "unknown",
            card: Card::None,
        };
        self.push(ts, minor, None, detail);
    }
}

/// Generates `params.count` events spread over working hours and returns them as a log.
pub fn generate(params: &GenParams, roster: Arc<Roster>) -> EventLog {
    let sampler = TimeSampler::new(working_intervals(params));
    let people = u32::try_from(roster.people().len()).unwrap_or(u32::MAX);
    let mut gen = Generator {
        rng: StdRng::seed_from_u64(mix(params.seed, params.device_index, 0x6576_656e)),
        params,
        people,
        verify_mode: VERIFY_MODES[params.device_index % VERIFY_MODES.len()],
        drafts: Vec::with_capacity(params.count),
    };
    let mut last_person: Option<i64> = None;
    while gen.drafts.len() < params.count && people > 0 {
        let Some(random_ts) = sampler.sample(&mut gen.rng) else {
            break;
        };
        let roll: f64 = gen.rng.random();
        if roll < params.door_share {
            match last_person.take() {
                Some(ts) if gen.rng.random::<f64>() < DOOR_FOLLOWS_PERSON => {
                    // Lock relay opens in the same second as the pass, closes seconds later.
                    gen.door_event(ts, 21);
                    if gen.drafts.len() < params.count && gen.rng.random::<f64>() < 0.5 {
                        let later = ts + gen.rng.random_range(3..8);
                        gen.door_event(later, 22);
                    }
                }
                _ => {
                    let minor = DOOR_MINORS[gen.rng.random_range(0..DOOR_MINORS.len())];
                    gen.door_event(random_ts, minor);
                }
            }
        } else if roll < params.door_share + params.failed_share {
            gen.denied_event(random_ts);
            last_person = None;
        } else {
            let ts = match last_person {
                Some(prev) if gen.rng.random::<f64>() < params.burst_share => prev,
                _ => random_ts,
            };
            gen.person_event(ts);
            last_person = Some(ts);
        }
    }
    let Generator {
        mut rng,
        mut drafts,
        ..
    } = gen;
    drafts.sort_by_key(|e| e.ts);
    for (i, event) in drafts.iter_mut().enumerate() {
        event.serial = i as u64 + 1;
        event.seq = event.serial;
    }
    shuffle_ties(&mut drafts, &mut rng);
    EventLog::new(drafts, roster)
}

/// Devices store same-second events in no reliable serial order (docs/isapi.md#result-order); reproduce that.
fn shuffle_ties(events: &mut [Event], rng: &mut StdRng) {
    let mut start = 0;
    while start < events.len() {
        let ts = events[start].ts;
        let end = start + events[start..].partition_point(|e| e.ts == ts);
        if end - start > 1 && rng.random::<f64>() < SHUFFLE_TIES {
            events[start..end].shuffle(rng);
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people;

    fn params(count: usize, device_index: usize) -> GenParams {
        GenParams {
            count,
            days: 3,
            end: 1_709_280_000, // 2024-03-01T08:00:00Z
            offset: FixedOffset::east_opt(6 * 3600).expect("offset"),
            seed: 9,
            device_index,
            door_share: 0.25,
            failed_share: 0.03,
            burst_share: 0.2,
        }
    }

    #[test]
    fn exact_count_serials_and_working_hours() {
        let roster = Arc::new(people::generate(20, 9));
        let p = params(600, 0);
        let log = generate(&p, roster);
        assert_eq!(log.len(), 600);
        let mut serials: Vec<u64> = (0..log.len())
            .filter_map(|i| log.get(i))
            .map(|e| e.serial)
            .collect();
        let mut ties_out_of_order = false;
        for i in 1..log.len() {
            let (a, b) = (log.get(i - 1).expect("a"), log.get(i).expect("b"));
            assert!(a.ts <= b.ts);
            ties_out_of_order |= a.ts == b.ts && a.serial > b.serial;
        }
        assert!(
            ties_out_of_order,
            "some equal-time events should be stored out of serial order"
        );
        serials.sort_unstable();
        assert_eq!(serials, (1..=600).collect::<Vec<u64>>());
        for i in 0..log.len() {
            let e = log.get(i).expect("event");
            assert!(e.ts <= p.end && e.ts >= p.end - 3 * 86_400);
            let hour = (e.ts + 6 * 3600).rem_euclid(86_400) / 3600;
            // Door "closed" events may trail a pass by a few seconds past 19:00.
            assert!((7..=19).contains(&hour), "hour {hour}");
        }
    }

    #[test]
    fn devices_differ_but_are_reproducible() {
        let roster = Arc::new(people::generate(20, 9));
        let a = generate(&params(100, 0), roster.clone());
        let b = generate(&params(100, 1), roster.clone());
        let a2 = generate(&params(100, 0), roster);
        let times = |log: &EventLog| {
            (0..log.len())
                .map(|i| log.get(i).map(|e| e.ts))
                .collect::<Vec<_>>()
        };
        assert_eq!(times(&a), times(&a2));
        assert_ne!(times(&a), times(&b));
    }
}
