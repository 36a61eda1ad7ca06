//! HTTP listening hosts (`/ISAPI/Event/notification/httpHosts`, docs/push.md#configuring-the-terminal): the
//! slots a terminal POSTs its events to. Read them, write the site's push URL into one, clear one.
//!
//! A slot is written as one `HttpHostNotification` (`PUT .../httpHosts/<id>`, XML): the site's URL split into
//! `protocolType`, `addressingFormatType` with `ipAddress` / `ipv6Address` / `hostName`, `portNo`, and `url` (path
//! and query), `parameterFormatType` JSON, `httpAuthenticationMethod` none (the push carries no credentials; the
//! token in the query names the device). A slot is cleared by writing it empty (empty `url`, `0.0.0.0`), the way
//! terminals show an unused slot.
//!
//! The query carries the device's push token: nothing here shows it. [`HttpHost`]'s `Debug`, every error and
//! every excerpt of a terminal's answer show queries redacted ([`redact_url`]).
//!
//! One job per file:
//! - `read.rs`: `GET` the slots; `write.rs`: `PUT` the site's URL into one (after the slot choice) or empty it;
//! - `slot.rs`: one slot as the terminal reports it, and whether it is free for the site (the slot choice);
//! - `parse.rs`: a terminal's answer (XML or JSON) read into slots; `document.rs`: the XML document written;
//! - `target.rs`: the site's push URL split into a slot's fields; `redact.rs`: queries hidden wherever shown;
//! - `error.rs`: what can go wrong, with a terminal that has no HTTP listening told apart.

mod document;
mod error;
mod parse;
mod read;
mod redact;
mod slot;
mod target;
mod write;

pub use document::empty_document;
pub use error::HttpHostError;
pub use parse::parse_http_hosts;
pub use read::http_hosts;
pub use redact::redact_url;
pub use slot::HttpHost;
pub use target::{PushAddress, PushTarget, PushUrlError};
pub use write::{clear_http_host, set_http_host};

pub const HTTP_HOSTS_PATH: &str = "/ISAPI/Event/notification/httpHosts";

/// The path of slot `id`.
fn slot_path(id: u32) -> String {
    format!("{HTTP_HOSTS_PATH}/{id}")
}
