//! `POST /ISAPI/AccessControl/AcsEvent?format=json`: one search, paged to the end
//! (docs/isapi.md#event-search).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::client::IsapiClient;
pub use super::paging::ProgressHook;
use super::paging::{page_through, Answer, PageStop, Pages, Search, Taken};
use super::xml::looks_like_xml;
use crate::device_zone::DeviceZone;
use crate::error::{excerpt, Error};
use crate::event::{Event, RawEvent};

pub const ACS_EVENT_PATH: &str = "/ISAPI/AccessControl/AcsEvent?format=json";
/// `endSerialNo` for an open-ended serial search: accepted as "open end" where 4294967295 is not
/// (docs/isapi.md#event-search).
pub const OPEN_END_SERIAL: u64 = 999_999_999;

/// What to search for. Times are sent in the device's own offset (docs/isapi.md#time).
#[derive(Debug, Clone, Copy)]
pub struct SearchWindow {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// Incremental search: only serials after this one (`beginSerialNo`/`endSerialNo`).
    pub after_serial: Option<u64>,
    /// Only serials up to this one (`endSerialNo`): what a restarted counter numbered below a search by serial.
    pub through_serial: Option<u64>,
}

#[derive(Debug)]
pub struct SearchOutcome {
    /// In arrival order.
    pub events: Vec<Event>,
    pub pages: u32,
    /// Searches issued: more than one when the device's position cap forced continuations.
    pub windows: u32,
    /// Items without a usable time.
    pub rejected_items: u32,
    /// Items outside the requested window, dropped (the window they belong to fetches them).
    pub outside_window: u32,
    /// Every matching event strictly before this instant has been received: the window end after a complete
    /// search; after an interruption, only what the order of the answers proves (see [`OrderEvidence`]).
    pub complete_until: DateTime<FixedOffset>,
    /// Whether the answers showed the device returning results by record (serial) rather than by time.
    pub evidence: OrderEvidence,
}

impl SearchOutcome {
    fn new(window: &SearchWindow) -> Self {
        SearchOutcome {
            events: Vec::new(),
            pages: 0,
            windows: 0,
            rejected_items: 0,
            outside_window: 0,
            complete_until: window.start,
            evidence: OrderEvidence::default(),
        }
    }
}

/// What the answers of a search showed about the order the device returns results in
/// (docs/isapi.md#result-order).
///
/// Terminals return a search either in time order or in record (serial) order; the two differ only when the
/// device clock was set back, and then record order lists serial 25 at 15:01:58 before serials 26-30 at
/// 13:03. After an interruption, the time of the last event received bounds what is missing only in time
/// order; in record order, events not yet received may have any earlier time. An event arriving with a
/// smaller serial than one before it rules record order out; one arriving with an earlier time rules time
/// order out; until one of them is seen, the order is unknown and nothing is assumed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OrderEvidence {
    /// An event arrived with an earlier time than one before it in the same search: not time order.
    pub time_backstep: bool,
    /// An event arrived with a smaller serial than one before it in the same search: not record order.
    pub serial_inversion: bool,
}

impl OrderEvidence {
    /// Proven time order: later answers cannot hold an event before the latest time received.
    pub fn time_ordered(&self) -> bool {
        self.serial_inversion && !self.time_backstep
    }

    /// Proven record order: later answers cannot hold a serial below the highest received.
    pub fn record_ordered(&self) -> bool {
        self.time_backstep && !self.serial_inversion
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

/// One AcsEvent answer page (`totalMatches` is not read: see [`super::paging`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub response_status_strg: Option<String>,
    #[serde(rename = "InfoList", default, deserialize_with = "one_or_many")]
    pub info_list: Vec<RawEvent>,
}

/// `InfoList` is an array, but XML-to-JSON converting firmwares send a lone object (docs/isapi.md#answers).
/// A visitor, not an untagged enum: that would buffer every item into an intermediate tree before decoding it
/// again.
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

/// A request time in the offset the device's zone gives that instant (daylight saving included).
fn format_time(t: DateTime<FixedOffset>, zone: &DeviceZone) -> String {
    t.with_timezone(&zone.offset_at(t.to_utc()))
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Whether a 400 says the position is past the device's cap (docs/isapi.md#position-cap).
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

/// An AcsEvent answer of `device`, or the protocol error the client reports for it.
pub fn parse_page(device: &str, body: &[u8]) -> Result<Page, Error> {
    read_page(body).map_err(|what| Error::Protocol {
        device: device.to_owned(),
        path: ACS_EVENT_PATH.to_owned(),
        what,
        excerpt: excerpt(body),
    })
}

/// A record as the device numbers and dates it: after a counter reset (factory reset, firmware upgrade) one
/// search can hold two records with the same serial, at different times.
type Record = (u64, Option<String>);

/// One search request series: a time range and a serial floor, paged from position 0.
#[derive(Debug, Clone, Copy)]
struct Span {
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
    after_serial: Option<u64>,
    /// Set on the continuations of a capped search: the group they were planned in, and whether this one
    /// added a serial floor of its own (if the device refuses serial search, the group is planned again).
    plan: Option<(u32, bool)>,
}

/// The continuations of a capped span, with what is needed to plan them again without serial search.
#[derive(Debug, Clone)]
struct Plan {
    group: u32,
    parent: Span,
    /// The serial-less events the capped span received (nothing but their content tells them apart).
    serial_less: Vec<Event>,
    /// Those at or after this time are expected again from the continuations.
    replay_from: Option<DateTime<FixedOffset>>,
}

/// What one span received, for the order evidence and for planning continuations.
#[derive(Debug, Default)]
struct SpanSeen {
    records: HashSet<Record>,
    max_time: Option<DateTime<FixedOffset>>,
    max_serial: Option<u64>,
}

impl SpanSeen {
    fn add(&mut self, time: DateTime<FixedOffset>, serial: Option<u64>, order: &mut OrderEvidence) {
        if self.max_time.is_some_and(|max| time < max) {
            order.time_backstep = true;
        }
        if let (Some(s), Some(max)) = (serial, self.max_serial) {
            if s < max {
                order.serial_inversion = true;
            }
        }
        self.max_time = Some(self.max_time.map_or(time, |t| t.max(time)));
        if let Some(s) = serial {
            self.max_serial = Some(self.max_serial.map_or(s, |m| m.max(s)));
        }
    }
}

/// Runs one search to its end, continuing past a position cap without skipping anything, with every device
/// fault turned into an error that keeps what was received. Request times are written in `zone`'s offset of
/// their instant; `device_offset` reads event times that carry none.
///
/// A position cap (a 400 refusing `searchResultPosition`) is continued by new searches chosen from the order
/// evidence (the records not received so far are those after the last one received in the device's order):
/// - time order proven: from the latest time received (the overlap is dropped by serial number);
/// - record order proven: the same time range after the highest serial received (`beginSerialNo`);
/// - order unknown: both the records after the highest serial that are not later than the latest time
///   received, and everything from that time on: together they hold whatever follows in either order;
/// - without serial numbers or serial search: the time range in two halves, each searched from its start (no
///   time after which nothing can be missing is known, since record order may hold any earlier time).
pub async fn search(
    client: &IsapiClient,
    window: SearchWindow,
    zone: &DeviceZone,
    device_offset: FixedOffset,
    progress: ProgressHook<'_>,
) -> Result<SearchOutcome, SearchStop> {
    let cfg = client.config();
    let device: Arc<str> = Arc::from(cfg.name.as_str());
    let mut out = SearchOutcome::new(&window);
    let mut seen: HashSet<Record> = HashSet::new();
    // Serial-less events received by a capped span that its continuations will send again.
    let mut replay: Vec<Event> = Vec::new();
    let mut plans: Vec<Plan> = Vec::new();
    // Whether the device accepts beginSerialNo/endSerialNo; unknown until a continuation needs it.
    let mut serial_search =
        (window.after_serial.is_some() || window.through_serial.is_some()).then_some(true);
    let mut queue: VecDeque<Span> = VecDeque::from([Span {
        from: window.start,
        to: window.end,
        after_serial: window.after_serial,
        plan: None,
    }]);
    let fault = |what: String| Error::Fault {
        device: cfg.name.clone(),
        what,
    };
    // The bound on what is missing when the search stops at `span` with `queue` still to do.
    let proven = |out: &SearchOutcome, span: &Span, got: &SpanSeen, queue: &VecDeque<Span>| {
        let mut bound = match got.max_time {
            Some(t) if out.evidence.time_ordered() => t,
            _ => span.from,
        };
        for pending in queue {
            bound = bound.min(pending.from);
        }
        bound.clamp(window.start, window.end)
    };

    let mut pages = Pages {
        used: 0,
        max: cfg.max_pages,
    };
    while let Some(span) = queue.pop_front() {
        out.windows += 1;
        let mut got = SpanSeen::default();
        let mut serial_less: Vec<Event> = Vec::new();
        let pages_before = pages.used;
        let request = |search_id: &str, position: u64| {
            let mut cond = json!({
                "searchID": search_id,
                "searchResultPosition": position,
                "maxResults": cfg.max_results,
                "major": cfg.major,
                "minor": cfg.minor,
                "startTime": format_time(span.from, zone),
                "endTime": format_time(span.to, zone),
                "timeReverseOrder": false,
            });
            if span.after_serial.is_some() || window.through_serial.is_some() {
                cond["beginSerialNo"] = json!(span.after_serial.map_or(1, |after| after + 1));
                cond["endSerialNo"] = json!(window.through_serial.unwrap_or(OPEN_END_SERIAL));
            }
            json!({ "AcsEventCond": cond })
        };
        let read = |body: &[u8]| {
            parse_page(client.device(), body).map(|page| Answer {
                status: page.response_status_strg,
                items: page.info_list,
            })
        };
        let take = |items: Vec<RawEvent>| {
            let mut repeated = 0;
            for raw in items {
                let serial = raw.serial_no;
                let record = serial.map(|s| (s, raw.time.clone()));
                let again_in_span = record
                    .as_ref()
                    .is_some_and(|r| !got.records.insert(r.clone()));
                if again_in_span {
                    repeated += 1;
                }
                let known = record.as_ref().is_some_and(|r| seen.contains(r));
                let event = match raw.normalise(&device, device_offset, &cfg.classifier) {
                    Ok(event) => event,
                    Err(_) => {
                        if !known && !again_in_span {
                            out.rejected_items += 1;
                            seen.extend(record);
                        }
                        continue;
                    }
                };
                let in_span = event.time >= span.from
                    && event.time <= span.to
                    && within(span.after_serial, window.through_serial, serial);
                if in_span && !again_in_span {
                    got.add(event.time, serial, &mut out.evidence);
                }
                if known || again_in_span {
                    continue;
                }
                if serial.is_none() {
                    serial_less.push(event.clone());
                    if let Some(i) = replay.iter().position(|e| *e == event) {
                        replay.swap_remove(i);
                        continue;
                    }
                }
                seen.extend(record);
                let in_window = event.time >= window.start && event.time <= window.end;
                if in_window && within(window.after_serial, window.through_serial, serial) {
                    out.events.push(event);
                } else {
                    out.outside_window += 1;
                }
            }
            Taken {
                repeated,
                kept: out.events.len(),
            }
        };
        let search = Search {
            client,
            path: ACS_EVENT_PATH,
            noun: "events",
            request,
            read,
        };
        let paged = page_through(search, &mut pages, take, &mut *progress).await;
        out.pages = pages.used;
        if (span.after_serial.is_some() || window.through_serial.is_some())
            && pages.used > pages_before
        {
            serial_search = Some(true);
        }
        let (error, position) = match paged {
            Ok(()) => continue,
            Err(PageStop::Cancelled) => return Err(SearchStop::Cancelled),
            Err(PageStop::Failed { error, position }) => (error, position),
        };
        if position > 0 && is_position_cap(&error) {
            let capped = Plan {
                group: plans.len() as u32,
                parent: span,
                serial_less,
                replay_from: None,
            };
            match continuations(capped, &got, out.evidence, serial_search) {
                Ok((children, plan)) => {
                    expect_again(&mut replay, &plan, None);
                    plans.push(plan);
                    for child in children.into_iter().rev() {
                        queue.push_front(child);
                    }
                    continue;
                }
                Err(what) => {
                    let error = fault(format!("the position cap ({position}) is reached {what}"));
                    out.complete_until = proven(&out, &span, &got, &queue);
                    return Err(SearchStop::Failed {
                        error,
                        partial: out,
                    });
                }
            }
        }
        if position == 0 && is_serial_unsupported(&error) && span.plan.is_some_and(|(_, own)| own) {
            // A continuation by serial on a device without serial search: plan its group again.
            serial_search = Some(false);
            let group = span.plan.map(|(g, _)| g);
            queue.retain(|s| s.plan.map(|(g, _)| g) != group);
            let Some(old) = plans.iter().find(|p| Some(p.group) == group).cloned() else {
                return Err(SearchStop::Failed {
                    error,
                    partial: out,
                });
            };
            let again = Plan {
                group: plans.len() as u32,
                ..old.clone()
            };
            match halves(again) {
                Ok((children, plan)) => {
                    expect_again(&mut replay, &plan, old.replay_from);
                    plans.push(plan);
                    for child in children.into_iter().rev() {
                        queue.push_front(child);
                    }
                    continue;
                }
                Err(what) => {
                    let error = fault(format!("the position cap is reached {what}"));
                    out.complete_until = proven(&out, &old.parent, &SpanSeen::default(), &queue);
                    return Err(SearchStop::Failed {
                        error,
                        partial: out,
                    });
                }
            }
        }
        out.complete_until = proven(&out, &span, &got, &queue);
        return Err(SearchStop::Failed {
            error,
            partial: out,
        });
    }
    out.complete_until = window.end;
    Ok(out)
}

/// Whether `serial` is after the floor and not after the ceiling. Events without a serial pass, except under a
/// ceiling: the search that has one follows a search by serial, which kept them already.
fn within(floor: Option<u64>, ceiling: Option<u64>, serial: Option<u64>) -> bool {
    let Some(s) = serial else {
        return ceiling.is_none();
    };
    floor.is_none_or(|f| s > f) && ceiling.is_none_or(|c| s <= c)
}

/// The searches that continue a capped span without skipping a record (see [`search`]), or why none can.
fn continuations(
    capped: Plan,
    got: &SpanSeen,
    evidence: OrderEvidence,
    serial_search: Option<bool>,
) -> Result<(Vec<Span>, Plan), String> {
    let span = capped.parent;
    let group = capped.group;
    let Some(latest) = got.max_time else {
        return halves(capped);
    };
    let by_serial = serial_search != Some(false);
    let floor = got
        .max_serial
        .filter(|_| by_serial)
        .map(|s| s.max(span.after_serial.unwrap_or(0)));
    let child = |from, to, after_serial, own| Span {
        from,
        to,
        after_serial,
        plan: Some((group, own)),
    };
    if evidence.time_ordered() {
        if latest <= span.from {
            return Err("within one second of events".into());
        }
        let plan = Plan {
            replay_from: Some(latest),
            ..capped
        };
        return Ok((vec![child(latest, span.to, span.after_serial, false)], plan));
    }
    match floor {
        Some(floor) if evidence.record_ordered() => {
            Ok((vec![child(span.from, span.to, Some(floor), true)], capped))
        }
        Some(floor) if !evidence.time_backstep && latest > span.from => {
            let plan = Plan {
                replay_from: Some(latest),
                ..capped
            };
            Ok((
                vec![
                    child(span.from, latest, Some(floor), true),
                    child(latest, span.to, span.after_serial, false),
                ],
                plan,
            ))
        }
        _ => halves(capped),
    }
}

/// The span's time range in two halves, each searched from its start.
fn halves(capped: Plan) -> Result<(Vec<Span>, Plan), String> {
    let span = capped.parent;
    let seconds = (span.to - span.from).num_seconds();
    if seconds < 1 {
        return Err("within one second of events".into());
    }
    let mid = span.from + chrono::Duration::seconds(seconds / 2);
    let half = |from, to| Span {
        from,
        to,
        after_serial: span.after_serial,
        plan: Some((capped.group, false)),
    };
    let plan = Plan {
        replay_from: Some(span.from),
        ..capped
    };
    Ok((
        vec![
            half(span.from, mid),
            half(mid + chrono::Duration::seconds(1), span.to),
        ],
        plan,
    ))
}

/// Serial-less events of a capped span that its continuations will send again (matched by content, since
/// nothing else tells them apart). `already` is the time from which they were expected before.
fn expect_again(replay: &mut Vec<Event>, plan: &Plan, already: Option<DateTime<FixedOffset>>) {
    let Some(from) = plan.replay_from else {
        return;
    };
    replay.extend(
        plan.serial_less
            .iter()
            .filter(|e| e.time >= from)
            .filter(|e| already.is_none_or(|a| e.time < a))
            .cloned(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_bounds_keep_serial_less_events_once() {
        assert!(
            within(Some(10), None, None),
            "a search by serial keeps an event without one"
        );
        assert!(
            !within(None, Some(10), None),
            "the search under a ceiling does not keep it again"
        );
        assert!(within(Some(10), Some(20), Some(20)) && !within(Some(10), Some(20), Some(10)));
        assert!(!within(None, Some(10), Some(11)));
    }

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
