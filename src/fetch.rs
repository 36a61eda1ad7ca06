//! One device, one window: read the clock, search, fall back from serial to time windows.

use std::ops::ControlFlow;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use serde::Serialize;

use crate::error::Error;
use crate::event::Event;
use crate::isapi::search::{
    is_serial_unsupported, search, SearchOutcome, SearchStop, SearchWindow,
};
use crate::isapi::system::read_clock;
use crate::isapi::IsapiClient;

/// A window boundary: an instant, or a wall-clock time meaning the device's own offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    Aware(DateTime<FixedOffset>),
    DeviceLocal(NaiveDateTime),
}

impl TimeArg {
    pub fn resolve(self, device_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
        match self {
            TimeArg::Aware(t) => Some(t),
            TimeArg::DeviceLocal(n) => device_offset.from_local_datetime(&n).single(),
        }
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
    /// The highest serial received, or the one the search started after.
    pub last_serial: Option<u64>,
    /// The device clock when the fetch started.
    pub device_time: DateTime<FixedOffset>,
    pub serial_mode: bool,
    /// Every event strictly before this instant was received: the window end on success, the last
    /// event time when the fetch was interrupted.
    pub complete_until: DateTime<FixedOffset>,
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
    let bad_time = |what: &str| Error::Protocol {
        device: cfg.name.clone(),
        path: String::new(),
        what: format!("the {what} of the window does not exist in the device's time zone"),
        excerpt: String::new(),
    };
    let start = start
        .resolve(offset)
        .ok_or_else(|| failed(bad_time("start"), None))?;
    let end = end
        .resolve(offset)
        .ok_or_else(|| failed(bad_time("end"), None))?;
    let mut window = SearchWindow {
        start,
        end,
        after_serial: since_serial,
    };

    let mut outcome = search(client, window, offset, progress).await;
    if let Err(SearchStop::Failed { error, partial }) = &outcome {
        if window.after_serial.is_some()
            && partial.events.is_empty()
            && is_serial_unsupported(error)
        {
            window.after_serial = None;
            outcome = search(client, window, offset, progress).await;
        }
    }
    let finish = |mut o: SearchOutcome, complete_until: DateTime<FixedOffset>| {
        o.events.sort_by_key(|e| (e.time, e.serial_no));
        let last_serial = o
            .events
            .iter()
            .filter_map(|e| e.serial_no)
            .max()
            .max(since_serial);
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
            events: o.events,
            last_serial,
            device_time: clock.local_time,
            serial_mode: window.after_serial.is_some(),
            complete_until,
        }
    };
    match outcome {
        Ok(o) => Ok(finish(o, window.end)),
        Err(SearchStop::Cancelled) => Err(FetchStop::Cancelled),
        Err(SearchStop::Failed { error, partial }) => {
            let until = partial.complete_until(&window);
            Err(failed(error, Some(finish(partial, until))))
        }
    }
}
