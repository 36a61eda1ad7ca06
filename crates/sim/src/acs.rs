//! `AccessControl/AcsEvent` search, `AcsEventTotalNum` and the search capabilities
//! (docs/isapi.md#event-search).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::acs_cond::{parse_search, parse_total, SearchCond, MAX_SERIAL};
use super::config::{Faults, PageFaultKind, ResultOrder};
use super::envelope::{Envelope, IsapiError};
use super::http::{
    json_error, json_ok, respond, truncated_stream, Body, ConnectionAbort, Reply, JSON,
};
use super::json::to_device_json;
use super::log::EventLog;
use super::render::{info_item, InfoItem, RenderStyle};
use super::state::DeviceState;
use super::stats::Counter;
use super::unauthorized;

/// The `Timeout` page fault: far beyond any sensible client timeout.
const TIMEOUT_FAULT: Duration = Duration::from_secs(600);

const OK: &str = "OK";
const MORE: &str = "MORE";
const NO_MATCH: &str = "NO MATCH";

fn device_error(url: &str) -> Response<Body> {
    json_error(&Envelope::new(IsapiError::DeviceError, url, "deviceError"))
}

fn not_supported(url: &str) -> Response<Body> {
    json_error(&Envelope::new(IsapiError::NotSupport, url, "notSupport"))
}

/// What one search response contains.
struct Page {
    status: &'static str,
    total: usize,
    num_of_matches: usize,
    /// Log indices; `None` omits `InfoList` (NO MATCH).
    items: Option<Vec<usize>>,
}

#[derive(Serialize)]
struct SearchResponse<'a> {
    #[serde(rename = "AcsEvent")]
    acs_event: SearchBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody<'a> {
    #[serde(rename = "searchID")]
    search_id: &'a str,
    total_matches: usize,
    response_status_strg: &'static str,
    num_of_matches: usize,
    #[serde(rename = "InfoList", skip_serializing_if = "Option::is_none")]
    info_list: Option<Vec<InfoItem<'a>>>,
}

/// `POST /ISAPI/AccessControl/AcsEvent?format=json`.
pub async fn search(dev: &DeviceState, faults: &Faults, url: &str, body: &[u8]) -> Reply {
    if faults.acs_not_supported {
        return Ok(not_supported(url));
    }
    if faults.xml_instead_of_json {
        let xml = Envelope::new(IsapiError::NotSupport, url, "notSupport").xml();
        return Ok(respond(StatusCode::OK, JSON, xml));
    }
    let cond = match parse_search(body, url, dev.zone(), faults) {
        Ok(cond) => cond,
        Err(envelope) => return Ok(json_error(&envelope)),
    };
    let fault = dev.take_page_fault(faults);
    match fault {
        Some(PageFaultKind::Drop) => return Err(ConnectionAbort("page fault: drop")),
        Some(PageFaultKind::Status500) => {
            return Ok(device_error(url));
        }
        Some(PageFaultKind::Unauthorized401) => {
            let denial = dev.auth.fresh_challenge(faults);
            return Ok(unauthorized::response(dev, faults, &denial));
        }
        Some(PageFaultKind::Timeout) => tokio::time::sleep(TIMEOUT_FAULT).await,
        _ => {}
    }
    let log = dev.log();
    let page = plan_page(
        dev,
        faults,
        &log,
        &cond,
        fault == Some(PageFaultKind::RepeatPage),
    );
    let bytes = match render_page(dev, faults, &log, &cond, &page) {
        Ok(bytes) => Bytes::from(bytes),
        Err(_) => return Ok(device_error(url)),
    };
    match fault {
        Some(PageFaultKind::DropMidBody) => Ok(truncated_stream(StatusCode::OK, JSON, bytes)),
        Some(PageFaultKind::Malformed) => {
            let cut = bytes.slice(..bytes.len() / 2);
            Ok(respond(StatusCode::OK, JSON, cut))
        }
        _ => {
            let items = page.items.unwrap_or_default();
            dev.counters.bump(Counter::AcsEventPages);
            dev.counters.add(Counter::EventsServed, items.len() as u64);
            dev.page_served(items);
            Ok(respond(StatusCode::OK, JSON, bytes))
        }
    }
}

/// Decides status and items of a page, applying the paging faults.
fn plan_page(
    dev: &DeviceState,
    faults: &Faults,
    log: &Arc<EventLog>,
    cond: &SearchCond,
    repeat: bool,
) -> Page {
    let selection = dev.select(log, &cond.filter, faults.result_order);
    let total = selection.len();
    let cap = cond
        .max_results
        .min(u64::from(faults.max_results_cap.max(1))) as usize;
    let position = usize::try_from(cond.position).unwrap_or(usize::MAX);
    let page = |status, items: Vec<usize>| Page {
        status,
        // A firmware that under-reports counts only what its scan has reached: this page's end.
        total: if faults.under_report_total && status == MORE {
            position.saturating_add(items.len()).min(total)
        } else {
            total
        },
        num_of_matches: if faults.lie_num_of_matches {
            cap
        } else {
            items.len()
        },
        items: Some(items),
    };
    if repeat {
        let previous = dev.last_page();
        if !previous.is_empty() {
            return page(MORE, previous);
        }
    }
    let no_match = Page {
        status: NO_MATCH,
        total,
        num_of_matches: 0,
        items: None,
    };
    if selection.is_empty() {
        return no_match;
    }
    let (range, status) = if position < total {
        let end = position.saturating_add(cap).min(total);
        let last = end == total;
        let status = if !last || faults.more_forever || faults.empty_more {
            MORE
        } else {
            OK
        };
        (position..end, status)
    } else if faults.more_forever {
        // The final page as a client stepping by the page size saw it.
        ((total - 1) / cap * cap..total, MORE)
    } else if faults.empty_more {
        (total..total, MORE)
    } else {
        return no_match;
    };
    let mut items: Vec<usize> = range
        .filter_map(|pos| selection.at(pos, cond.reverse))
        .collect();
    if faults.outside_window && cond.position == 0 {
        add_outside_window(log, cond, &mut items);
    }
    page(status, items)
}

/// Adds the nearest events just outside the requested window (a broken firmware's filter).
fn add_outside_window(log: &EventLog, cond: &SearchCond, items: &mut Vec<usize>) {
    if let Some(before) = cond.filter.start.and_then(|s| log.last_before(s)) {
        items.insert(0, before);
    }
    if let Some(after) = cond.filter.end.and_then(|e| log.first_after(e)) {
        items.push(after);
    }
}

fn render_page(
    dev: &DeviceState,
    faults: &Faults,
    log: &EventLog,
    cond: &SearchCond,
    page: &Page,
) -> serde_json::Result<Vec<u8>> {
    let style = RenderStyle {
        zone: dev.zone(),
        naive_times: faults.naive_times,
        fields: dev.field_style(),
        serials: !faults.no_serial_numbers,
    };
    let info_list = page.items.as_ref().map(|items| {
        items
            .iter()
            .filter_map(|idx| log.get(*idx))
            .map(|event| info_item(event, log.roster(), style))
            .collect()
    });
    to_device_json(&SearchResponse {
        acs_event: SearchBody {
            search_id: &cond.search_id,
            total_matches: page.total,
            response_status_strg: page.status,
            num_of_matches: page.num_of_matches,
            info_list,
        },
    })
}

/// `POST /ISAPI/AccessControl/AcsEventTotalNum?format=json`.
pub fn total(dev: &DeviceState, faults: &Faults, url: &str, body: &[u8]) -> Response<Body> {
    if faults.acs_not_supported {
        return not_supported(url);
    }
    match parse_total(body, url, dev.zone(), faults) {
        // Straight from the log: a count must not evict the cached search being paged.
        Ok(filter) => json_ok(
            &json!({"AcsEventTotalNum": {"totalNum": dev.log().select(&filter, ResultOrder::Time).len()}}),
            url,
        ),
        Err(envelope) => json_error(&envelope),
    }
}

/// `GET /ISAPI/AccessControl/AcsEvent/capabilities?format=json`.
pub fn capabilities(faults: &Faults, url: &str) -> Response<Body> {
    if faults.acs_not_supported {
        return not_supported(url);
    }
    let mut cond = json!({
        "searchID": {"@min": 1, "@max": 64},
        "searchResultPosition": {"@min": 0, "@max": faults.position_cap},
        "maxResults": {"@min": 1, "@max": faults.max_results_cap},
        "major": {"@opt": "0,1,2,3,5"},
        "minorEvent": {"@opt": "1,2,6,9,16,21,22,23,24,25,26,34,38,39,40,60,75,76,77,101,181"},
        "startTime": {"@min": 1, "@max": 32},
        "endTime": {"@min": 1, "@max": 32},
        "employeeNoString": {"@min": 1, "@max": 32},
        "timeReverseOrder": "true"
    });
    if faults.serial_search {
        cond["beginSerialNo"] = json!({"@min": 1, "@max": MAX_SERIAL});
        cond["endSerialNo"] = json!({"@min": 1, "@max": MAX_SERIAL});
    }
    let caps = json!({"AcsEvent": {
        "AcsEventCond": cond,
        "InfoList": {
            "maxSize": faults.max_results_cap,
            "userType": {"@opt": "normal,visitor,blackList,administrators"},
            "mask": {"@opt": ["unknown", "yes", "no"]},
            "attendanceStatus": {"@opt": "undefined,checkIn,checkOut,breakOut,breakIn,overtimeIn,overtimeOut"}
        }
    }});
    json_ok(&caps, url)
}
