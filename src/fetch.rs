//! One device, one window: read the clock, search, fall back from serial to time windows.

use std::ops::ControlFlow;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::Serialize;

use crate::device::DeviceConfig;
use crate::device_zone::DeviceZone;
use crate::error::Error;
use crate::event::Event;
use crate::isapi::search::{
    is_serial_unsupported, search, SearchOutcome, SearchStop, SearchWindow,
};
use crate::isapi::system::{read_clock, DeviceClock};
use crate::isapi::IsapiClient;

/// A window boundary: an instant, or a wall-clock time meaning the device's own offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    Aware(DateTime<FixedOffset>),
    DeviceLocal(NaiveDateTime),
}

impl TimeArg {
    /// The instant: a wall-clock time is read in `zone` (at the offset of its own instant).
    pub fn resolve(self, zone: &DeviceZone) -> Option<DateTime<FixedOffset>> {
        match self {
            TimeArg::Aware(t) => Some(t),
            TimeArg::DeviceLocal(n) => zone.from_local(n),
        }
    }

    /// The earliest and latest instant this can be, over every UTC offset in use (-12:00 to +14:00).
    fn span(self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            TimeArg::Aware(t) => (t.to_utc(), t.to_utc()),
            TimeArg::DeviceLocal(n) => (
                n.and_utc() - chrono::Duration::hours(14),
                n.and_utc() + chrono::Duration::hours(12),
            ),
        }
    }
}

impl std::fmt::Display for TimeArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeArg::Aware(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%:z")),
            TimeArg::DeviceLocal(n) => write!(f, "{} (device time)", n.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

/// Why a window cannot be fetched; found before any request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("the window is empty or reversed: its start must be before its end")]
    NotBefore,
    #[error(
        "one end of the window has a UTC offset and the other has none, and they are too close to tell which \
         comes first: give both with an offset, or both without (device time)"
    )]
    NeedsOffset,
}

/// Checks that `start` is before `end` (a window of one instant or less is empty), without asking the device:
/// a wall-clock end is read in `device_offset` when it is known, otherwise compared over every possible
/// offset.
pub fn check_window(
    start: TimeArg,
    end: TimeArg,
    device_offset: Option<FixedOffset>,
) -> Result<(), WindowError> {
    let before = match (start, end, device_offset) {
        (TimeArg::DeviceLocal(a), TimeArg::DeviceLocal(b), _) => a < b,
        (TimeArg::Aware(a), TimeArg::Aware(b), _) => a < b,
        (a, b, Some(offset)) => match (
            a.resolve(&DeviceZone::fixed(offset)),
            b.resolve(&DeviceZone::fixed(offset)),
        ) {
            (Some(a), Some(b)) => a < b,
            _ => false,
        },
        (a, b, None) => {
            let ((_, a_latest), (b_earliest, _)) = (a.span(), b.span());
            let ((a_earliest, _), (_, b_latest)) = (a.span(), b.span());
            if a_latest < b_earliest {
                true
            } else if a_earliest >= b_latest {
                false
            } else {
                return Err(WindowError::NeedsOffset);
            }
        }
    };
    if before {
        Ok(())
    } else {
        Err(WindowError::NotBefore)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FetchStats {
    pub pages: u32,
    /// HTTP exchanges, digest challenges and the clock read included.
    pub exchanges: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub windows: u32,
    pub rejected_items: u32,
    pub outside_window: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct FetchResult {
    pub device: String,
    /// Sorted by (time, serial).
    pub events: Vec<Event>,
    pub stats: FetchStats,
    /// A serial cursor. After a complete fetch: the highest serial received, or `since_serial` when none was
    /// higher. After an interruption in serial mode: `since_serial` extended over the unbroken run of serials
    /// received after it (every serial up to it has arrived, whatever order the device answered in); `None`
    /// after an interruption in time mode. When `serial_reset_suspected`, the highest serial among the events
    /// that look newer than the reset.
    pub last_serial: Option<u64>,
    /// The device clock when the fetch started.
    pub device_time: DateTime<FixedOffset>,
    /// The events come from a search after `since_serial`, and a search of the events numbered at or below it
    /// recorded from the earliest event that search returned on (see [`restart_probe`]).
    pub serial_mode: bool,
    /// Every event of the window strictly before this instant was received. The window end after a complete
    /// fetch. After an interruption, only what can be proven: terminals answer in time order or in record
    /// (serial) order, which differ once the device clock was set back, so the time of the last event
    /// received bounds what is missing only once the answers showed time order (a smaller serial after a
    /// larger one); otherwise it is the start of the window (or of the first part not searched yet).
    pub complete_until: DateTime<FixedOffset>,
    /// The search after `since_serial` found nothing, a search of the window by time (whose events this
    /// result holds, `serial_mode` false) found events numbered at or below `since_serial` that are newer than
    /// it: the device's counter restarted (factory reset, firmware upgrade) or the terminal was swapped.
    pub serial_reset_suspected: bool,
}

#[derive(Debug)]
pub struct FetchFailure {
    pub error: Error,
    /// What arrived before the failure; `None` when it failed before the search began.
    pub partial: Option<FetchResult>,
}

#[derive(Debug)]
pub enum FetchStop {
    Failed(Box<FetchFailure>),
    Cancelled,
}

fn failed(error: Error, partial: Option<FetchResult>) -> FetchStop {
    FetchStop::Failed(Box::new(FetchFailure { error, partial }))
}

/// Whether events numbered at or below `since` were recorded after it: with the event numbered `since`
/// present, an event with a lower serial and a later time; without it, any event with a lower serial (a
/// window reaching the device's present holds the latest event, which had the highest serial).
fn counter_restarted(since: u64, events: &[Event]) -> Option<u64> {
    let anchor = events
        .iter()
        .filter(|e| e.serial_no == Some(since))
        .map(|e| e.time)
        .max();
    events
        .iter()
        .filter_map(|e| Some((e.serial_no?, e.time)))
        .filter(|(s, t)| *s < since && anchor.is_none_or(|a| *t > a))
        .map(|(s, _)| s)
        .max()
}

/// The search that completes a search by serial after `since`: the events numbered at or below `since`
/// recorded from the earliest event it returned on. A counter that restarted while the terminal kept its log
/// numbers new events below the serials already there, where a search by serial never looks; nothing else
/// numbered that low is that recent, except the events recorded before a clock was set back, which the caller
/// already holds. `None` when there is nothing to ask: no event came back, or no serial is that low.
fn restart_probe(window: SearchWindow, since: u64, by_serial: &[Event]) -> Option<SearchWindow> {
    let earliest = by_serial.iter().map(|e| e.time).min()?;
    (since > 0).then_some(SearchWindow {
        start: earliest.max(window.start),
        end: window.end,
        after_serial: None,
        through_serial: Some(since),
    })
}

/// Adds what the restart probe received to the search by serial's outcome.
fn absorb_probe(by_serial: &mut SearchOutcome, found: SearchOutcome) {
    by_serial.events.extend(found.events);
    by_serial.pages += found.pages;
    by_serial.windows += found.windows;
    by_serial.rejected_items += found.rejected_items;
    by_serial.outside_window += found.outside_window;
}

/// `since` extended over the unbroken run of serials after it among `events`.
fn contiguous_serial(since: u64, events: &[Event]) -> u64 {
    let mut serials: Vec<u64> = events
        .iter()
        .filter_map(|e| e.serial_no)
        .filter(|s| *s > since)
        .collect();
    serials.sort_unstable();
    serials.dedup();
    let mut cursor = since;
    for s in serials {
        if s != cursor + 1 {
            break;
        }
        cursor = s;
    }
    cursor
}

/// The zone request times are written in: a configured zone; else a configured offset as it is; else the
/// device's `timeZone` with its daylight-saving rule, when the rule gives the offset its clock shows now (a
/// rule read otherwise than the device reads it is not used: its clock's offset is).
fn search_zone(cfg: &DeviceConfig, clock: &DeviceClock) -> DeviceZone {
    let shown = clock.offset();
    // A configured zone that disagrees with the configured offset of now is not the terminal's.
    if let Some(zone) = cfg.time_zone.filter(|z| {
        cfg.utc_offset
            .is_none_or(|o| z.offset_at(clock.local_time.to_utc()) == o)
    }) {
        return zone;
    }
    cfg.utc_offset.map_or_else(
        || {
            clock
                .time_zone
                .as_deref()
                .and_then(DeviceZone::from_terminal)
                .filter(|zone| zone.offset_at(clock.local_time.to_utc()) == shown)
                .unwrap_or_else(|| DeviceZone::fixed(shown))
        },
        DeviceZone::fixed,
    )
}

pub async fn fetch_events(
    client: &IsapiClient,
    start: TimeArg,
    end: TimeArg,
    since_serial: Option<u64>,
    progress: &mut (dyn FnMut(u32, usize) -> ControlFlow<()> + Send),
) -> Result<FetchResult, FetchStop> {
    let began = Instant::now();
    let cfg = client.config();
    let clock = read_clock(client, cfg.utc_offset)
        .await
        .map_err(|e| failed(e, None))?;
    let offset = clock.offset();
    let zone = search_zone(cfg, &clock);
    let bad_time = |what: &str| Error::Protocol {
        device: cfg.name.clone(),
        path: String::new(),
        what: format!("the {what} of the window does not exist in the device's time zone"),
        excerpt: String::new(),
    };
    let start = start
        .resolve(&zone)
        .ok_or_else(|| failed(bad_time("start"), None))?;
    let end = end
        .resolve(&zone)
        .ok_or_else(|| failed(bad_time("end"), None))?;
    let mut window = SearchWindow {
        start,
        end,
        after_serial: since_serial,
        through_serial: None,
    };

    let mut outcome = search(client, window, &zone, offset, progress).await;
    if let Err(SearchStop::Failed { error, partial }) = &outcome {
        if window.after_serial.is_some()
            && partial.events.is_empty()
            && is_serial_unsupported(error)
        {
            window.after_serial = None;
            outcome = search(client, window, &zone, offset, progress).await;
        }
    }
    // Nothing after since_serial is also what a device whose counter restarted answers: search the window by
    // time, so new events numbered below the cursor are not silently missed.
    let mut restarted: Option<u64> = None;
    if let (Some(since), Ok(by_serial)) = (window.after_serial, &outcome) {
        if by_serial.events.is_empty() {
            let (pages, windows) = (by_serial.pages, by_serial.windows);
            window.after_serial = None;
            let mut continued = |p: u32, n: usize| progress(pages + p, n);
            outcome = search(client, window, &zone, offset, &mut continued).await;
            let merge = |o: &mut SearchOutcome| {
                o.pages += pages;
                o.windows += windows;
                counter_restarted(since, &o.events)
            };
            restarted = match &mut outcome {
                Ok(o) => merge(o),
                Err(SearchStop::Failed { partial, .. }) => merge(partial),
                Err(SearchStop::Cancelled) => None,
            };
        }
    }
    let probe = match (window.after_serial, &outcome) {
        (Some(since), Ok(by_serial)) => restart_probe(window, since, &by_serial.events),
        _ => None,
    };
    if let Some(probe) = probe {
        if let Ok(mut by_serial) = outcome {
            let pages = by_serial.pages;
            let mut continued = |p: u32, n: usize| progress(pages + p, n);
            // The probe's failure fails the fetch; what is proven is bounded by what the probe received.
            outcome = match search(client, probe, &zone, offset, &mut continued).await {
                Ok(found) => {
                    absorb_probe(&mut by_serial, found);
                    Ok(by_serial)
                }
                Err(SearchStop::Cancelled) => Err(SearchStop::Cancelled),
                Err(SearchStop::Failed { error, partial }) => {
                    by_serial.complete_until = by_serial.complete_until.min(partial.complete_until);
                    absorb_probe(&mut by_serial, partial);
                    Err(SearchStop::Failed {
                        error,
                        partial: by_serial,
                    })
                }
            };
        }
    }
    let serial_mode = window.after_serial.is_some();
    let finish = |mut o: SearchOutcome, complete: bool| {
        o.events.sort_by_key(|e| (e.time, e.serial_no));
        let highest = o.events.iter().filter_map(|e| e.serial_no).max();
        let last_serial = match (restarted, complete, since_serial) {
            (Some(newest), _, _) => Some(newest),
            (None, true, _) => highest.max(since_serial),
            (None, false, Some(since)) if serial_mode => Some(contiguous_serial(since, &o.events)),
            (None, false, _) => None,
        };
        FetchResult {
            device: cfg.name.clone(),
            stats: FetchStats {
                pages: o.pages,
                exchanges: client.exchanges(),
                bytes: client.bytes(),
                seconds: began.elapsed().as_secs_f64(),
                windows: o.windows,
                rejected_items: o.rejected_items,
                outside_window: o.outside_window,
            },
            complete_until: o.complete_until,
            events: o.events,
            last_serial,
            device_time: clock.local_time,
            serial_mode,
            serial_reset_suspected: restarted.is_some(),
        }
    };
    match outcome {
        Ok(o) => Ok(finish(o, true)),
        Err(SearchStop::Cancelled) => Err(FetchStop::Cancelled),
        Err(SearchStop::Failed { error, partial }) => {
            Err(failed(error, Some(finish(partial, false))))
        }
    }
}
