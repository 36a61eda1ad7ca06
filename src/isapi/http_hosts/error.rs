//! What can go wrong reading or writing a terminal's listening hosts, with a terminal that has no HTTP
//! listening over ISAPI told apart from any other failure.

use super::redact::redact_url;
use super::target::PushUrlError;
use crate::error::Error;

/// What can go wrong reading or writing a terminal's listening hosts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpHostError {
    /// The terminal answered `notSupport` (or does not know the resource): its firmware has no HTTP listening
    /// over ISAPI.
    #[error(
        "{device}: the terminal does not offer HTTP listening over ISAPI ({path} answered HTTP {status}{sub}): \
         set the listening host on the terminal's web page if it has one (Event/Alarm > Alarm Server or HTTP \
         Listening), otherwise use `attendance-sync relay` or pull",
        sub = sub_status.as_deref().map(|s| format!(" {s}")).unwrap_or_default()
    )]
    NotSupported {
        device: String,
        path: String,
        status: u16,
        sub_status: Option<String>,
    },

    /// The slot posts to another system (a VMS, a cloud platform); overwriting it would cut that system off.
    #[error(
        "{device}: listening host slot {id} already posts to {shown} (not this site's push path {ours:?}); choose \
         another slot or clear that one first"
    )]
    SlotTaken {
        device: String,
        id: u32,
        /// What the slot holds, query redacted.
        shown: String,
        ours: String,
    },

    #[error(transparent)]
    Url(#[from] PushUrlError),

    /// Any other failure talking to the terminal (authentication, network, HTTP, an unreadable answer).
    #[error(transparent)]
    Device(#[from] Error),
}

impl HttpHostError {
    pub fn device(&self) -> Option<&str> {
        match self {
            HttpHostError::NotSupported { device, .. }
            | HttpHostError::SlotTaken { device, .. } => Some(device),
            HttpHostError::Url(_) => None,
            HttpHostError::Device(e) => Some(e.device()),
        }
    }
}

/// A device error, with `notSupport`, `methodNotAllowed` and an unknown resource told apart as no listening,
/// and a protocol error's text redacted (an unreadable answer may quote the token).
pub(super) fn classify(error: Error) -> HttpHostError {
    match error {
        Error::Http {
            device,
            status,
            path,
            isapi,
        } if status == 404
            || matches!(
                isapi.sub_status.as_deref(),
                Some("notSupport" | "methodNotAllowed")
            ) =>
        {
            HttpHostError::NotSupported {
                device,
                path,
                status,
                sub_status: isapi.sub_status,
            }
        }
        Error::Protocol {
            device,
            path,
            what,
            excerpt,
        } => HttpHostError::Device(Error::Protocol {
            device,
            path,
            what: redact_url(&what),
            excerpt: redact_url(&excerpt),
        }),
        other => HttpHostError::Device(other),
    }
}
