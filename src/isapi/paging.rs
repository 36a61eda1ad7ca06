//! One search paged to its end: the paging contract that event search (`AcsEvent`) and user search
//! (`UserInfo/Search`) share (docs/isapi.md, "Paging").
//!
//! - one `searchID` per search, `searchResultPosition` from 0, advanced by the items actually received (never
//!   by `numOfMatches` or the page size asked for: terminals clamp it silently);
//! - `OK` and `NO MATCH` end the search, and so does an empty page that does not say `MORE`;
//! - `MORE` means ask again, even at or past `totalMatches` (firmwares under-report it), so `totalMatches` is
//!   not read at all;
//! - device faults, never reasons to loop: `MORE` with no items, a page whose items were all received before
//!   in this search, more pages than the budget (the page guard); any other `responseStatusStrg` is a protocol
//!   error.

use std::ops::ControlFlow;

use serde_json::Value;

use super::client::IsapiClient;
use crate::error::Error;

/// Progress hook, called once per page with (pages so far, items kept so far). `Break` cancels the search.
pub type ProgressHook<'a> = &'a mut (dyn FnMut(u32, usize) -> ControlFlow<()> + Send);

/// One answer page as the paging loop needs it.
pub(crate) struct Answer<T> {
    /// `responseStatusStrg`.
    pub status: Option<String>,
    pub items: Vec<T>,
}

/// What the caller made of one page's items.
pub(crate) struct Taken {
    /// Items recognised as received before in this search (by serial number, employee number...). A page made
    /// only of those is a repeat.
    pub repeated: usize,
    /// Items kept so far, over the whole fetch (for progress).
    pub kept: usize,
}

/// The page budget of a fetch, shared by the searches it makes (continuations of a capped search included).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pages {
    pub used: u32,
    pub max: u32,
}

/// Why a search stopped before its end.
#[derive(Debug)]
pub(crate) enum PageStop {
    /// The exchange or the answer failed at `position` (0: the search's first page).
    Failed {
        error: Error,
        position: u64,
    },
    Cancelled,
}

/// What one search asks for, and how its answers are read.
pub(crate) struct Search<'a, Q, R> {
    pub client: &'a IsapiClient,
    pub path: &'static str,
    /// The items' name in messages: "events", "users".
    pub noun: &'static str,
    /// The request body for (search ID, position).
    pub request: Q,
    /// Reads an answer body; an error is a protocol error, retried like a failed exchange.
    pub read: R,
}

/// A fresh `searchID`.
pub(crate) fn new_search_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Pages through one search, handing each page's items to `take`.
pub(crate) async fn page_through<T, Q, R>(
    search: Search<'_, Q, R>,
    pages: &mut Pages,
    mut take: impl FnMut(Vec<T>) -> Taken,
    progress: ProgressHook<'_>,
) -> Result<(), PageStop>
where
    Q: Fn(&str, u64) -> Value,
    R: Fn(&[u8]) -> Result<Answer<T>, Error>,
{
    let client = search.client;
    let fault = |what: String, position: u64| PageStop::Failed {
        error: Error::Fault {
            device: client.device().to_owned(),
            what,
        },
        position,
    };
    let search_id = new_search_id();
    let mut position: u64 = 0;
    loop {
        if pages.used >= pages.max {
            return Err(fault(
                format!("more than {} pages for one search (page guard)", pages.max),
                position,
            ));
        }
        let body = serde_json::to_vec(&(search.request)(&search_id, position)).unwrap_or_default();
        let answer = client
            .post_json_read(search.path, body, |b| (search.read)(&b))
            .await
            .map_err(|error| PageStop::Failed { error, position })?;
        pages.used += 1;
        let status = answer.status.unwrap_or_default();
        let received = answer.items.len();
        if received == 0 {
            if status == "MORE" {
                return Err(fault(
                    format!(
                        "the device said MORE but sent no {} at position {position}",
                        search.noun
                    ),
                    position,
                ));
            }
            return Ok(());
        }
        let taken = take(answer.items);
        if taken.repeated == received {
            return Err(fault(
                format!(
                    "a page repeated {} already received (position {position})",
                    search.noun
                ),
                position,
            ));
        }
        position += received as u64;
        if progress(pages.used, taken.kept).is_break() {
            return Err(PageStop::Cancelled);
        }
        match status.as_str() {
            "MORE" => {}
            "OK" | "NO MATCH" => return Ok(()),
            other => {
                return Err(PageStop::Failed {
                    error: Error::Protocol {
                        device: client.device().to_owned(),
                        path: search.path.to_owned(),
                        what: format!("unknown responseStatusStrg {other:?}"),
                        excerpt: String::new(),
                    },
                    position,
                })
            }
        }
    }
}
