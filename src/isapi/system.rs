//! Device identity, clock, capabilities and users (docs/isapi.md#system-resources).

use std::ops::ControlFlow;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::IsapiClient;
use super::paging::{page_through, Answer, PageStop, Pages, Search, Taken};
use super::xml;
use crate::device_zone::DeviceZone;
use crate::error::{excerpt, Error};
use crate::event::parse_device_time;

pub const DEVICE_INFO_PATH: &str = "/ISAPI/System/deviceInfo";
pub const TIME_PATH: &str = "/ISAPI/System/time";
pub const CAPABILITIES_PATH: &str = "/ISAPI/AccessControl/AcsEvent/capabilities?format=json";
pub const USER_SEARCH_PATH: &str = "/ISAPI/AccessControl/UserInfo/Search?format=json";
pub const USER_COUNT_PATH: &str = "/ISAPI/AccessControl/UserInfo/Count?format=json";

/// The device clock as read from `System/time`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceClock {
    pub local_time: DateTime<FixedOffset>,
    /// Device clock minus server clock, in seconds.
    pub skew_seconds: f64,
    pub time_mode: Option<String>,
    pub time_zone: Option<String>,
}

impl DeviceClock {
    pub fn offset(&self) -> FixedOffset {
        *self.local_time.offset()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    pub device: String,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub serial_number: Option<String>,
    pub mac_address: Option<String>,
    pub device_name: Option<String>,
    pub device_type: Option<String>,
    pub clock: DeviceClock,
    pub supports_event_search: bool,
    pub supports_serial_search: bool,
    pub max_results: Option<u32>,
    pub user_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceUser {
    pub employee_no: String,
    pub name: Option<String>,
    pub user_type: Option<String>,
}

fn protocol(client: &IsapiClient, path: &str, what: impl Into<String>, body: &[u8]) -> Error {
    Error::Protocol {
        device: client.device().to_owned(),
        path: path.to_owned(),
        what: what.into(),
        excerpt: excerpt(body),
    }
}

/// POSIX `timeZone` to its standard offset: the sign is inverted relative to ISO (`CST-8:00:00` is UTC+8;
/// docs/isapi.md#system-resources). The daylight-saving rule that may follow is read by
/// [`DeviceZone::from_terminal`].
pub fn posix_tz_offset(tz: &str) -> Option<FixedOffset> {
    DeviceZone::from_terminal(tz).map(|zone| zone.standard())
}

/// Reads a `System/time` document. `configured` overrides the device's offset for naive clocks;
/// `server_now` is when the answer arrived, for the skew.
pub fn parse_clock(
    body: &[u8],
    configured: Option<FixedOffset>,
    server_now: DateTime<Utc>,
) -> Result<DeviceClock, String> {
    let leaves = xml::leaves(body).map_err(|e| format!("System/time is not XML: {e}"))?;
    let time_zone = xml::find(&leaves, "timeZone").map(str::to_owned);
    let zone_offset = configured
        .or_else(|| time_zone.as_deref().and_then(posix_tz_offset))
        .or_else(|| FixedOffset::east_opt(0));
    let text = xml::find(&leaves, "localTime").ok_or("System/time has no localTime")?;
    let mut local_time = zone_offset
        .and_then(|o| parse_device_time(text, o))
        .ok_or_else(|| format!("unreadable localTime {text:?}"))?;
    // A localTime without an offset is read at the offset the zone's rule gives it (summer time included).
    if let (None, Some(zone)) = (
        configured,
        time_zone.as_deref().and_then(DeviceZone::from_terminal),
    ) {
        if let Some(t) = parse_device_time(text, zone.offset_at(local_time.to_utc())) {
            local_time = t;
        }
    }
    let local_time = match configured {
        Some(o) => local_time.with_timezone(&o),
        None => local_time,
    };
    let skew_seconds =
        (local_time.with_timezone(&Utc) - server_now).num_milliseconds() as f64 / 1000.0;
    Ok(DeviceClock {
        local_time,
        skew_seconds,
        time_mode: xml::find(&leaves, "timeMode").map(str::to_owned),
        time_zone,
    })
}

/// Reads `System/time` from the device.
pub async fn read_clock(
    client: &IsapiClient,
    configured: Option<FixedOffset>,
) -> Result<DeviceClock, Error> {
    let body = client.get(TIME_PATH).await?;
    parse_clock_answer(client.device(), &body, configured, Utc::now())
}

/// A `System/time` answer of `device`, or the protocol error the client reports for it.
pub fn parse_clock_answer(
    device: &str,
    body: &[u8],
    configured: Option<FixedOffset>,
    server_now: DateTime<Utc>,
) -> Result<DeviceClock, Error> {
    parse_clock(body, configured, server_now).map_err(|what| Error::Protocol {
        device: device.to_owned(),
        path: TIME_PATH.to_owned(),
        what,
        excerpt: excerpt(body),
    })
}

struct Capabilities {
    supports_event_search: bool,
    supports_serial_search: bool,
    max_results: Option<u32>,
}

async fn capabilities(client: &IsapiClient) -> Result<Capabilities, Error> {
    let body = match client.get(CAPABILITIES_PATH).await {
        Ok(b) => b,
        Err(Error::Http {
            status: 403 | 404, ..
        }) => {
            return Ok(Capabilities {
                supports_event_search: false,
                supports_serial_search: false,
                max_results: None,
            })
        }
        Err(e) => return Err(e),
    };
    // Some firmwares answer XML labelled JSON (docs/isapi.md#transport); the serial fields are named the same
    // in both.
    let supports_serial_search = body
        .windows(b"beginSerialNo".len())
        .any(|w| w == b"beginSerialNo");
    let max_results = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.pointer("/AcsEvent/AcsEventCond/maxResults/@max")?
                .as_u64()
        })
        .and_then(|v| u32::try_from(v).ok());
    Ok(Capabilities {
        supports_event_search: true,
        supports_serial_search,
        max_results,
    })
}

async fn user_count(client: &IsapiClient) -> Result<Option<u64>, Error> {
    match client.get(USER_COUNT_PATH).await {
        Ok(body) => Ok(serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.pointer("/UserInfoCount/userNumber")?.as_u64())),
        Err(Error::Http {
            status: 403 | 404, ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything Test Connection shows: identity, clock and skew, what event search supports, user count.
pub async fn device_info(client: &IsapiClient) -> Result<DeviceInfo, Error> {
    let body = client.get(DEVICE_INFO_PATH).await?;
    let leaves = xml::leaves(&body).map_err(|e| {
        protocol(
            client,
            DEVICE_INFO_PATH,
            format!("deviceInfo is not XML: {e}"),
            &body,
        )
    })?;
    let get = |k: &str| xml::find(&leaves, k).map(str::to_owned);
    let clock = read_clock(client, client.config().utc_offset).await?;
    let caps = capabilities(client).await?;
    let user_count = user_count(client).await?;
    Ok(DeviceInfo {
        device: client.device().to_owned(),
        model: get("model"),
        firmware: get("firmwareVersion"),
        serial_number: get("serialNumber"),
        mac_address: get("macAddress"),
        device_name: get("deviceName"),
        device_type: get("deviceType"),
        clock,
        supports_event_search: caps.supports_event_search,
        supports_serial_search: caps.supports_serial_search,
        max_results: caps.max_results,
        user_count,
    })
}

#[derive(Deserialize)]
struct UserEnvelope {
    #[serde(rename = "UserInfoSearch")]
    search: Option<UserPage>,
}

/// One `UserInfo/Search` answer page (`totalMatches` is not read: see [`super::paging`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserPage {
    response_status_strg: Option<String>,
    #[serde(rename = "UserInfo", default)]
    users: Vec<serde_json::Value>,
}

/// The user list, paged like event search (docs/isapi.md, "Users").
pub async fn users(client: &IsapiClient) -> Result<Vec<DeviceUser>, Error> {
    let cfg = client.config();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let take = |users: Vec<serde_json::Value>| {
        let mut repeated = 0;
        for u in users {
            let text = |k: &str| {
                u.get(k).and_then(|v| match v {
                    serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let Some(employee_no) = text("employeeNo") else {
                continue;
            };
            if seen.insert(employee_no.clone()) {
                out.push(DeviceUser {
                    employee_no,
                    name: text("name"),
                    user_type: text("userType"),
                });
            } else {
                repeated += 1;
            }
        }
        Taken {
            repeated,
            kept: out.len(),
        }
    };
    let search = Search {
        client,
        path: USER_SEARCH_PATH,
        noun: "users",
        request: |search_id: &str, position: u64| {
            json!({"UserInfoSearchCond": {
                "searchID": search_id, "searchResultPosition": position, "maxResults": cfg.max_results}})
        },
        read: |body: &[u8]| {
            serde_json::from_slice::<UserEnvelope>(body)
                .ok()
                .and_then(|e| e.search)
                .map(|page| Answer {
                    status: page.response_status_strg,
                    items: page.users,
                })
                .ok_or_else(|| protocol(client, USER_SEARCH_PATH, "no UserInfoSearch object", body))
        },
    };
    let mut pages = Pages {
        used: 0,
        max: cfg.max_pages,
    };
    let mut quiet = |_: u32, _: usize| ControlFlow::Continue(());
    match page_through(search, &mut pages, take, &mut quiet).await {
        Ok(()) => Ok(out),
        Err(PageStop::Failed { error, .. }) => Err(error),
        // The hook above never cancels.
        Err(PageStop::Cancelled) => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_sign_is_inverted() {
        let secs = |s| posix_tz_offset(s).map(|o| o.local_minus_utc());
        assert_eq!(secs("CST-8:00:00"), Some(8 * 3600));
        assert_eq!(secs("CST+3:00:00"), Some(-3 * 3600));
        assert_eq!(secs("CST-5:45:00"), Some(5 * 3600 + 45 * 60));
        assert_eq!(
            secs("CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00"),
            Some(3600)
        );
        assert_eq!(secs("CST+0:00:00"), Some(0));
        assert_eq!(secs("nonsense"), None);
        assert_eq!(secs(""), None);
    }

    #[test]
    fn a_naive_local_time_is_read_at_the_offset_the_rule_gives_it() {
        let answer = |local: &str| {
            format!(
                "<Time><timeMode>NTP</timeMode><localTime>{local}</localTime>\
                 <timeZone>CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00</timeZone></Time>"
            )
        };
        let offset = |local: &str| {
            parse_clock(answer(local).as_bytes(), None, Utc::now())
                .map(|c| c.offset().local_minus_utc())
        };
        assert_eq!(offset("2026-07-01T08:00:00"), Ok(7200));
        assert_eq!(offset("2026-01-15T08:00:00"), Ok(3600));
        // An offset the terminal writes is its own.
        assert_eq!(offset("2026-07-01T08:00:00+02:00"), Ok(7200));
        // A configured offset is every reading's.
        let configured = FixedOffset::east_opt(3 * 3600);
        let clock = parse_clock(
            answer("2026-07-01T08:00:00").as_bytes(),
            configured,
            Utc::now(),
        );
        assert_eq!(clock.map(|c| c.offset().local_minus_utc()), Ok(3 * 3600));
    }
}
