//! The ISAPI client: digest auth, one keep-alive session per device, event search, system resources.

pub mod auth;
pub mod client;
pub mod http_hosts;
mod paging;
pub mod search;
pub mod status;
pub mod system;
pub mod xml;

pub use client::IsapiClient;
pub use search::{SearchOutcome, SearchStop, SearchWindow};
pub use system::{DeviceClock, DeviceInfo, DeviceUser};
