//! The ISAPI error envelope (`ResponseStatus`, docs/isapi.md#error-envelope) and the `userCheck` body of a
//! 401 (docs/isapi.md#lockout).

use chrono::{Duration, Local};

use super::xml;
use crate::error::{IsapiStatus, LockInfo};

/// Reads a `ResponseStatus` from an XML or JSON body; fields that are absent stay `None`.
pub fn parse_status(body: &[u8]) -> IsapiStatus {
    if xml::looks_like_xml(body) {
        let Ok(l) = xml::leaves(body) else {
            return IsapiStatus::default();
        };
        return IsapiStatus {
            status_string: xml::find(&l, "statusString").map(str::to_owned),
            sub_status: xml::find(&l, "subStatusCode").map(str::to_owned),
            error_msg: xml::find(&l, "errorMsg").map(str::to_owned),
        };
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return IsapiStatus::default();
    };
    // Flat on most firmwares; some wrap it in a ResponseStatus object.
    let obj = match map.get("ResponseStatus") {
        Some(serde_json::Value::Object(inner)) => inner,
        _ => &map,
    };
    let text = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    IsapiStatus {
        status_string: text("statusString"),
        sub_status: text("subStatusCode"),
        error_msg: text("errorMsg"),
    }
}

/// Reads lockout details from a 401's `userCheck` body. `lockStatus` is compared whole: `unlock`
/// contains `lock`.
pub fn parse_user_check(body: &[u8]) -> LockInfo {
    let Ok(l) = xml::leaves(body) else {
        return LockInfo::default();
    };
    let locked = xml::find(&l, "lockStatus").is_some_and(|s| s.trim().eq_ignore_ascii_case("lock"));
    let retries_left = xml::find(&l, "retryLoginTime").and_then(|v| v.trim().parse().ok());
    let unlock_seconds: Option<u64> = xml::find(&l, "unlockTime")
        .and_then(|v| v.trim().parse().ok())
        .filter(|s| locked && *s > 0);
    let locked_until = unlock_seconds
        .and_then(|s| i64::try_from(s).ok())
        .map(|s| (Local::now() + Duration::seconds(s)).fixed_offset());
    LockInfo {
        locked,
        retries_left,
        unlock_seconds,
        locked_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_check_unlock_is_not_lock() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<userCheck version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<statusValue>401</statusValue><statusString>Unauthorized</statusString>
<isIllegalLogin>true</isIllegalLogin><retryLoginTime>3</retryLoginTime>
<lockStatus>unlock</lockStatus><unlockTime>0</unlockTime></userCheck>"#;
        let info = parse_user_check(body);
        assert!(!info.locked);
        assert_eq!(info.retries_left, Some(3));
        assert_eq!(info.locked_until, None);
    }

    #[test]
    fn user_check_locked() {
        let body = b"<userCheck><retryLoginTime>0</retryLoginTime><lockStatus>lock</lockStatus><unlockTime>1737</unlockTime></userCheck>";
        let info = parse_user_check(body);
        assert!(info.locked);
        assert_eq!(info.unlock_seconds, Some(1737));
        assert!(info.locked_until.is_some());
    }

    #[test]
    fn status_both_forms() {
        let x = br#"<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><requestURL>/x</requestURL><statusCode>4</statusCode><statusString>Invalid Operation</statusString><subStatusCode>notSupport</subStatusCode></ResponseStatus>"#;
        let s = parse_status(x);
        assert_eq!(s.status_string.as_deref(), Some("Invalid Operation"));
        assert_eq!(s.sub_status.as_deref(), Some("notSupport"));
        let j = br#"{"requestURL": "/ISAPI/AccessControl/AcsEvent?format=json", "statusCode": 6,
 "statusString": "Invalid Content", "subStatusCode": "badJsonContent", "errorCode": 1610612759, "errorMsg": "endSerialNo"}"#;
        let s = parse_status(j);
        assert_eq!(s.status_string.as_deref(), Some("Invalid Content"));
        assert_eq!(s.error_msg.as_deref(), Some("endSerialNo"));
        assert_eq!(parse_status(b"garbage"), IsapiStatus::default());
    }
}
