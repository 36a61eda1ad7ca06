//! Many devices at once: bounded concurrency, one device's failure never touches another's result.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use crate::device::DeviceConfig;
use crate::fetch::{fetch_events, FetchFailure, FetchResult, FetchStop, TimeArg};
use crate::isapi::IsapiClient;

pub const DEFAULT_CONCURRENCY: usize = 16;

/// Fleet progress: (device, pages, events). `Break` cancels the whole fleet fetch.
pub type FleetProgress = Arc<dyn Fn(&str, u32, usize) -> ControlFlow<()> + Send + Sync>;

/// The fleet fetch was cancelled by its progress hook.
#[derive(Debug, PartialEq, Eq)]
pub struct Cancelled;

/// Fetches every device's window; results come back in the order of `devices`.
pub async fn fetch_many(
    devices: Vec<DeviceConfig>,
    start: TimeArg,
    end: TimeArg,
    concurrency: usize,
    progress: Option<FleetProgress>,
) -> Result<Vec<(String, Result<FetchResult, Box<FetchFailure>>)>, Cancelled> {
    let cancelled = Arc::new(AtomicBool::new(false));
    let jobs = devices.into_iter().enumerate().map(|(index, cfg)| {
        let cancelled = Arc::clone(&cancelled);
        let progress = progress.clone();
        async move {
            let name = cfg.name.clone();
            let client = match IsapiClient::new(cfg) {
                Ok(c) => c,
                Err(error) => {
                    return (
                        index,
                        name,
                        Some(Err(Box::new(FetchFailure {
                            error,
                            partial: None,
                        }))),
                    )
                }
            };
            if cancelled.load(Ordering::Relaxed) {
                return (index, name, None);
            }
            let mut hook = |pages: u32, events: usize| {
                if cancelled.load(Ordering::Relaxed) {
                    return ControlFlow::Break(());
                }
                let flow = progress
                    .as_ref()
                    .map_or(ControlFlow::Continue(()), |p| p(&name, pages, events));
                if flow.is_break() {
                    cancelled.store(true, Ordering::Relaxed);
                }
                flow
            };
            let result = match fetch_events(&client, start, end, None, &mut hook).await {
                Ok(r) => Some(Ok(r)),
                Err(FetchStop::Failed(f)) => Some(Err(f)),
                Err(FetchStop::Cancelled) => None,
            };
            (index, name, result)
        }
    });
    let mut done: Vec<_> = stream::iter(jobs)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    if cancelled.load(Ordering::Relaxed) {
        return Err(Cancelled);
    }
    done.sort_by_key(|(index, _, _)| *index);
    // Nothing was cancelled, so every job produced a result.
    Ok(done
        .into_iter()
        .filter_map(|(_, name, r)| r.map(|r| (name, r)))
        .collect())
}
