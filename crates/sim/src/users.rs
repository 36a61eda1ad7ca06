//! `UserInfo/Search` and `UserInfo/Count` (docs/isapi.md#users).

use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

use super::config::Faults;
use super::envelope::{Envelope, IsapiError};
use super::fields::Fields;
use super::http::{json_error, json_ok, respond, Body, JSON};
use super::json::to_device_json;
use super::people::Person;
use super::state::DeviceState;
use super::stats::Counter;

#[derive(Serialize)]
struct SearchResponse<'a> {
    #[serde(rename = "UserInfoSearch")]
    search: SearchBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody<'a> {
    #[serde(rename = "searchID")]
    search_id: &'a str,
    response_status_strg: &'static str,
    num_of_matches: usize,
    total_matches: usize,
    #[serde(rename = "UserInfo", skip_serializing_if = "Option::is_none")]
    user_info: Option<Vec<UserInfo<'a>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserInfo<'a> {
    employee_no: &'a str,
    name: &'a str,
    user_type: &'static str,
    #[serde(rename = "Valid")]
    valid: Value,
    door_right: &'static str,
    #[serde(rename = "RightPlan")]
    right_plan: Value,
    gender: &'static str,
    num_of_card: u8,
    num_of_face: u8,
    #[serde(rename = "numOfFP")]
    num_of_fp: u8,
}

fn user_info(person: &Person) -> UserInfo<'_> {
    UserInfo {
        employee_no: &person.employee_no,
        name: &person.name,
        user_type: "normal",
        valid: json!({"enable": true, "beginTime": "2023-01-01T00:00:00",
                      "endTime": "2037-12-31T23:59:59", "timeType": "local"}),
        door_right: "1",
        right_plan: json!([{"doorNo": 1, "planTemplateNo": "1"}]),
        gender: "unknown",
        num_of_card: u8::from(!person.card_no.is_empty()),
        num_of_face: 1,
        num_of_fp: 0,
    }
}

/// `POST /ISAPI/AccessControl/UserInfo/Search?format=json`.
pub fn search(dev: &DeviceState, faults: &Faults, url: &str, body: &[u8]) -> Response<Body> {
    match search_page(dev, faults, url, body) {
        Ok(bytes) => {
            dev.counters.bump(Counter::UserPages);
            respond(StatusCode::OK, JSON, bytes)
        }
        Err(envelope) => json_error(&envelope),
    }
}

fn search_page(
    dev: &DeviceState,
    faults: &Faults,
    url: &str,
    body: &[u8],
) -> Result<Vec<u8>, Envelope> {
    let fields = Fields::parse(body, "UserInfoSearchCond", url)?;
    let search_id = fields.req_str("searchID")?;
    if search_id.is_empty() || search_id.chars().count() > 64 {
        return Err(fields.error(IsapiError::BadParameters, "searchID"));
    }
    let position = fields.req_u64("searchResultPosition")?;
    let max_results = fields.req_u64("maxResults")?;
    if max_results == 0 {
        return Err(fields.error(IsapiError::BadParameters, "maxResults"));
    }
    let mut wanted = Vec::new();
    for entry in fields.opt_array("EmployeeNoList")? {
        match entry.get("employeeNo") {
            Some(Value::String(no)) => wanted.push(no.as_str()),
            _ => return Err(fields.error(IsapiError::BadJsonContent, "employeeNo")),
        }
    }
    let log = dev.log();
    let roster = log.roster();
    let matches: Vec<&Person> = if wanted.is_empty() {
        roster.people().iter().collect()
    } else {
        wanted
            .iter()
            .filter_map(|no| roster.find(no).and_then(|idx| roster.get(idx)))
            .collect()
    };
    let cap = max_results.min(u64::from(faults.max_results_cap.max(1))) as usize;
    let start = usize::try_from(position)
        .unwrap_or(usize::MAX)
        .min(matches.len());
    let page: Vec<UserInfo<'_>> = matches[start..]
        .iter()
        .take(cap)
        .map(|p| user_info(p))
        .collect();
    let status = if matches.is_empty() || page.is_empty() {
        "NO MATCH"
    } else if start + page.len() < matches.len() {
        "MORE"
    } else {
        "OK"
    };
    let response = SearchResponse {
        search: SearchBody {
            search_id,
            response_status_strg: status,
            num_of_matches: page.len(),
            // Under-reporting firmwares count only what their scan has reached: this page's end.
            total_matches: if faults.under_report_total && status == "MORE" {
                start + page.len()
            } else {
                matches.len()
            },
            user_info: (!page.is_empty()).then_some(page),
        },
    };
    to_device_json(&response)
        .map_err(|_| Envelope::new(IsapiError::DeviceError, url, "deviceError"))
}

/// `GET /ISAPI/AccessControl/UserInfo/Count?format=json`.
pub fn count(dev: &DeviceState, url: &str) -> Response<Body> {
    let log = dev.log();
    let people = log.roster().people();
    let cards = people.iter().filter(|p| !p.card_no.is_empty()).count();
    let value = json!({"UserInfoCount": {
        "userNumber": people.len(),
        "bindFaceUserNumber": people.len(),
        "bindFingerprintUserNumber": 0,
        "bindCardUserNumber": cards
    }});
    json_ok(&value, url)
}
