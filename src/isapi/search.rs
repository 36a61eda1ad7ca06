//! `POST /ISAPI/AccessControl/AcsEvent?format=json`: one search, paged to the end (§4.1-4.3).

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::client::IsapiClient;
use super::xml::looks_like_xml;
use crate::error::{excerpt, Error};
use crate::event::{Event, RawEvent};

pub const ACS_EVENT_PATH: &str = "/ISAPI/AccessControl/AcsEvent?format=json";
/// `endSerialNo` for an open-ended serial search: accepted as "open end" where 4294967295 is not (§4.3).
pub const OPEN_END_SERIAL: u64 = 999_999_999;

/// What to search for. Times are sent in the device's own offset (§4.5).
#[derive(Debug, Clone, Copy)]
pub struct SearchWindow {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// Incremental search: only serials after this one (`beginSerialNo`/`endSerialNo`).
    pub after_serial: Option<u64>,
}

/// Progress hook, called once per page with (pages so far, events so far). `Break` cancels the search.
pub type ProgressHook<'a> = &'a mut (dyn FnMut(u32, usize) -> ControlFlow<()> + Send);

#[derive(Debug, Default)]
pub struct SearchOutcome {
    pub events: Vec<Event>,
    pub pages: u32,
    /// Searches issued: more than one when the device's position cap forced a continuation.
    pub windows: u32,
    /// Items without a usable time.
    pub rejected_items: u32,
    /// Items outside the requested window, dropped (the window they belong to fetches them).
    pub outside_window: u32,
}

impl SearchOutcome {
    /// Every event strictly before this instant has been received. Results come in time order, so after
    /// an interruption that is the time of the last event received.
    pub fn complete_until(&self, window: &SearchWindow) -> DateTime<FixedOffset> {
        self.events
            .iter()
            .map(|e| e.time)
            .max()
            .unwrap_or(window.start)
            .min(window.end)
    }
}

#[derive(Debug)]
pub enum SearchStop {
    /// The device failed; `partial` holds what arrived before (nothing is dropped).
    Failed {
        error: Error,
        partial: SearchOutcome,
    },
    Cancelled,
}

#[derive(Deserialize)]
struct PageEnvelope {
    #[serde(rename = "AcsEvent")]
    acs_event: Option<Page>,
}

/// One AcsEvent answer page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub response_status_strg: Option<String>,
    #[serde(default)]
    pub total_matches: Option<serde_json::Value>,
    #[serde(rename = "InfoList", default, deserialize_with = "one_or_many")]
    pub info_list: Vec<RawEvent>,
}

/// `InfoList` is an array, but XML-to-JSON converting firmwares send a lone object (§7.21). A visitor, not an
/// untagged enum: that would buffer every item into an intermediate tree before decoding it again.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawEvent>, D::Error> {
    struct Items;
    impl<'de> Visitor<'de> for Items {
        type Value = Vec<RawEvent>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of events or one event")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(30).min(1024));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(vec![RawEvent::deserialize(MapAccessDeserializer::new(
                map,
            ))?])
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(Items)
}

fn format_time(t: DateTime<FixedOffset>, offset: FixedOffset) -> String {
    t.with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn new_search_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Whether a 400 says the position is past the device's cap (§4.1: split the window and continue).
fn is_position_cap(e: &Error) -> bool {
    matches!(e, Error::Http { status: 400, isapi, .. }
        if isapi.error_msg.as_deref() == Some("searchResultPosition")
            || matches!(isapi.sub_status.as_deref(), Some("beyondARGSRangeLimit")))
}

/// Whether a 400 says the device cannot search by serial number.
pub fn is_serial_unsupported(e: &Error) -> bool {
    matches!(e, Error::Http { status: 400, isapi, .. }
        if isapi.error_msg.as_deref().is_some_and(|m| m.ends_with("SerialNo")))
}

/// Reads an AcsEvent answer; the error says what was wrong with it.
pub fn read_page(body: &[u8]) -> Result<Page, String> {
    if looks_like_xml(body) {
        return Err("XML where JSON was asked for".to_owned());
    }
    let envelope: PageEnvelope =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON ({e})"))?;
    envelope
        .acs_event
        .ok_or_else(|| "no AcsEvent object in the answer".to_owned())
}

fn parse_page(client: &IsapiClient, body: &[u8]) -> Result<Page, Error> {
    read_page(body).map_err(|what| Error::Protocol {
        device: client.device().to_owned(),
        path: ACS_EVENT_PATH.to_owned(),
        what,
        excerpt: excerpt(body),
    })
}

/// Runs one search to its end, continuing past a position cap, with every device fault turned into an
/// error that keeps what was received.
pub async fn search(
    client: &IsapiClient,
    window: SearchWindow,
    device_offset: FixedOffset,
    progress: ProgressHook<'_>,
) -> Result<SearchOutcome, SearchStop> {
    let cfg = client.config();
    let device: Arc<str> = Arc::from(cfg.name.as_str());
    let mut out = SearchOutcome::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut from = window.start;
    let fault = |what: String| Error::Fault {
        device: cfg.name.clone(),
        what,
    };

    'windows: loop {
        out.windows += 1;
        let search_id = new_search_id();
        let mut position: u64 = 0;
        loop {
            if out.pages >= cfg.max_pages {
                let error = fault(format!(
                    "more than {} pages for one search (page guard)",
                    cfg.max_pages
                ));
                return Err(SearchStop::Failed {
                    error,
                    partial: out,
                });
            }
            let mut cond = json!({
                "searchID": search_id,
                "searchResultPosition": position,
                "maxResults": cfg.max_results,
                "major": cfg.major,
                "minor": cfg.minor,
                "startTime": format_time(from, device_offset),
                "endTime": format_time(window.end, device_offset),
                "timeReverseOrder": false,
            });
            if let Some(after) = window.after_serial {
                cond["beginSerialNo"] = json!(after + 1);
                cond["endSerialNo"] = json!(OPEN_END_SERIAL);
            }
            let body = serde_json::to_vec(&json!({ "AcsEventCond": cond })).unwrap_or_default();
            let page = match client
                .post_json_read(ACS_EVENT_PATH, body, |b| parse_page(client, &b))
                .await
            {
                Ok(p) => p,
                Err(e) if position > 0 && is_position_cap(&e) => {
                    // Continue with a new search from the last event time; serials dedupe the overlap.
                    let next = out.events.iter().map(|e| e.time).max().unwrap_or(from);
                    if next <= from {
                        let error = fault(format!(
                            "the position cap ({position}) is reached within one second of events"
                        ));
                        return Err(SearchStop::Failed {
                            error,
                            partial: out,
                        });
                    }
                    from = next;
                    continue 'windows;
                }
                Err(error) => {
                    return Err(SearchStop::Failed {
                        error,
                        partial: out,
                    })
                }
            };
            out.pages += 1;
            let status = page.response_status_strg.unwrap_or_default();
            let received = page.info_list.len() as u64;
            if received == 0 {
                if status == "MORE" {
                    let error = fault(format!(
                        "the device said MORE but sent no events at position {position}"
                    ));
                    return Err(SearchStop::Failed {
                        error,
                        partial: out,
                    });
                }
                break 'windows;
            }
            let mut new_items = 0usize;
            let mut with_serial = 0usize;
            for raw in page.info_list {
                if let Some(serial) = raw.serial_no {
                    with_serial += 1;
                    if !seen.insert(serial) {
                        continue;
                    }
                }
                new_items += 1;
                match raw.normalise(&device, device_offset, &cfg.classifier) {
                    Ok(event) => {
                        let in_window = event.time >= window.start && event.time <= window.end;
                        let in_serials = match (window.after_serial, event.serial_no) {
                            (Some(after), Some(s)) => s > after,
                            _ => true,
                        };
                        if in_window && in_serials {
                            out.events.push(event);
                        } else {
                            out.outside_window += 1;
                        }
                    }
                    Err(_) => out.rejected_items += 1,
                }
            }
            // The first page of a continuation legitimately starts with events already received.
            let continuation_start = out.windows > 1 && position == 0;
            if new_items == 0 && with_serial > 0 && !continuation_start {
                let error = fault(format!(
                    "a page repeated events already received (position {position})"
                ));
                return Err(SearchStop::Failed {
                    error,
                    partial: out,
                });
            }
            position += received;
            if progress(out.pages, out.events.len()).is_break() {
                return Err(SearchStop::Cancelled);
            }
            let total = page
                .total_matches
                .as_ref()
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
            match status.as_str() {
                "MORE" if total.is_none_or(|t| position < t) => continue,
                "MORE" | "OK" | "NO MATCH" => break 'windows,
                other => {
                    let error = Error::Protocol {
                        device: cfg.name.clone(),
                        path: ACS_EVENT_PATH.to_owned(),
                        what: format!("unknown responseStatusStrg {other:?}"),
                        excerpt: String::new(),
                    };
                    return Err(SearchStop::Failed {
                        error,
                        partial: out,
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_list_forms() {
        let page = |list: &str| {
            read_page(
                format!(r#"{{"AcsEvent": {{"responseStatusStrg": "OK", "InfoList": {list}}}}}"#)
                    .as_bytes(),
            )
            .map(|p| p.info_list.len())
        };
        assert_eq!(page(r#"[{"serialNo": 1}, {"serialNo": 2}]"#), Ok(2));
        assert_eq!(page(r#"{"serialNo": 1, "FaceRect": {"x": 0.1}}"#), Ok(1));
        assert_eq!(page("null"), Ok(0));
        assert!(page("7").is_err());
        let no_match = read_page(br#"{"AcsEvent":{"searchID":"x","responseStatusStrg":"NO MATCH","numOfMatches":0,"totalMatches":0}}"#);
        assert_eq!(no_match.map(|p| p.info_list.len()), Ok(0));
        assert!(read_page(b"<ResponseStatus/>").is_err_and(|e| e.contains("XML")));
        assert!(read_page(b"{}").is_err());
    }
}
