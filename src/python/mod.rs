//! `attendance_sync_core._core` (the app imports it as `attendance_sync._core`): the typed Python surface of
//! the core (stubs in `python/attendance_sync_core/_core.pyi`),
//! registered in `lib.rs`.
//!
//! Split by concern, as pydantic-core does: [`types`] (the classes), [`errors`] (the exceptions),
//! [`functions`] (the module's functions), [`push`] (push bodies), [`http_hosts`] (a terminal's HTTP
//! listening slots) and [`event_key`] (an event's identity), with [`datetimes`] and [`runtime`] helping
//! them. They translate between Python and the core, and decide nothing the core decides.
//!
//! Network I/O runs with the GIL released on a runtime created per call, so the module works in threads and
//! in forked RQ workers alike. Python is re-entered only to report progress (once per page) and to check
//! for signals, which is how Ctrl-C cancels a fetch.

mod datetimes;
pub(crate) mod errors;
pub(crate) mod event_key;
pub(crate) mod functions;
pub(crate) mod http_hosts;
pub(crate) mod push;
mod runtime;
pub(crate) mod types;
