//! Attendance Sync core: pulls access-control events from Hikvision ISAPI terminals.
//!
//! - [`isapi`]: digest auth, one keep-alive session per device, event search, system resources;
//! - [`event`]: the event model, punch classification; [`dedup`]: removal of repeats;
//! - [`fetch`]: one device and window; [`sync`]: many devices concurrently;
//! - [`host`], [`utc_offset`]: the rules for an address and an offset as a person types them.
//!
//! The simulator (`crates/sim`) and the `attendance-sync` command line (`crates/cli`) are crates of their own:
//! nothing here serves HTTP or parses a command line, so the Python extension built from this crate carries
//! neither.

pub mod dedup;
pub mod device;
pub mod error;
pub mod event;
pub mod fetch;
pub mod host;
pub mod isapi;
pub mod sync;
pub mod utc_offset;

#[cfg(feature = "python")]
mod python;

pub use device::{DeviceConfig, Password, RetryPolicy};
pub use error::Error;
pub use event::{Classifier, Direction, Event};
pub use fetch::{fetch_events, FetchFailure, FetchResult, FetchStats, FetchStop, TimeArg};
pub use host::{parse_host, HostError, HostPort};
pub use utc_offset::{parse_utc_offset, UtcOffsetError};
