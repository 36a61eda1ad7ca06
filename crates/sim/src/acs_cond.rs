//! Validation of `AcsEventCond` / `AcsEventTotalNumCond` with the errors devices give
//! (docs/isapi.md#error-envelope, docs/isapi.md#event-search).

use super::clock::{request_instant, TimeRejection};
use super::config::Faults;
use super::envelope::{Envelope, IsapiError};
use super::fields::Fields;
use super::log::Filter;
use super::zone::Zone;

/// Largest serial a search may name (capabilities `@max`).
pub const MAX_SERIAL: u64 = 3_000_000_000;

/// A validated AcsEvent search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCond {
    pub search_id: String,
    pub position: u64,
    pub max_results: u64,
    pub reverse: bool,
    pub filter: Filter,
}

/// Parses an AcsEvent search body.
pub fn parse_search(
    body: &[u8],
    url: &str,
    zone: &Zone,
    faults: &Faults,
) -> Result<SearchCond, Envelope> {
    let fields = Fields::parse(body, "AcsEventCond", url)?;
    let search_id = fields.req_str("searchID")?;
    if search_id.is_empty() || search_id.chars().count() > 64 {
        return Err(fields.error(IsapiError::BadParameters, "searchID"));
    }
    let position = fields.req_u64("searchResultPosition")?;
    if position > faults.position_cap {
        return Err(fields.error(IsapiError::BadParameters, "searchResultPosition"));
    }
    let max_results = fields.req_u64("maxResults")?;
    if max_results == 0 {
        return Err(fields.error(IsapiError::BadParameters, "maxResults"));
    }
    let filter = parse_filter(&fields, zone, faults, true)?;
    let reverse = fields.opt_bool("timeReverseOrder")?.unwrap_or(false);
    Ok(SearchCond {
        search_id: search_id.to_string(),
        position,
        max_results,
        reverse,
        filter,
    })
}

/// Parses an AcsEventTotalNum body (`major`/`minor` default to 0 there).
pub fn parse_total(
    body: &[u8],
    url: &str,
    zone: &Zone,
    faults: &Faults,
) -> Result<Filter, Envelope> {
    let fields = Fields::parse(body, "AcsEventTotalNumCond", url)?;
    parse_filter(&fields, zone, faults, false)
}

fn parse_filter(
    fields: &Fields<'_>,
    zone: &Zone,
    faults: &Faults,
    require_major_minor: bool,
) -> Result<Filter, Envelope> {
    let code = |key: &str| -> Result<u32, Envelope> {
        let value = if require_major_minor {
            Some(fields.req_u64(key)?)
        } else {
            fields.opt_u64(key)?
        };
        u32::try_from(value.unwrap_or(0)).map_err(|_| fields.error(IsapiError::BadParameters, key))
    };
    let major = code("major")?;
    let minor = code("minor")?;
    let time = |key: &str| -> Result<Option<i64>, Envelope> {
        let Some(text) = fields.opt_str(key)? else {
            return Ok(None);
        };
        request_instant(text, zone, faults.time_handling)
            .map(Some)
            .map_err(|rejection| match rejection {
                TimeRejection::Unparseable | TimeRejection::NaiveRefused => {
                    fields.error(IsapiError::BadJsonContent, key)
                }
            })
    };
    let start = time("startTime")?;
    let end = time("endTime")?;
    let serials = serial_window(fields, faults)?;
    let employee = fields
        .opt_str("employeeNoString")?
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    Ok(Filter {
        start,
        end,
        major,
        minor,
        serials,
        employee,
    })
}

/// `beginSerialNo`/`endSerialNo`: both or neither, each within 1..=3e9, only where supported.
fn serial_window(fields: &Fields<'_>, faults: &Faults) -> Result<Option<(u64, u64)>, Envelope> {
    let (has_begin, has_end) = (fields.has("beginSerialNo"), fields.has("endSerialNo"));
    if !has_begin && !has_end {
        return Ok(None);
    }
    if !faults.serial_search {
        return Err(fields.error(IsapiError::BadJsonContent, "beginSerialNo"));
    }
    if !(has_begin && has_end) {
        return Err(fields.error(IsapiError::BadJsonContent, "endSerialNo"));
    }
    let bounded = |key: &str| -> Result<u64, Envelope> {
        fields
            .opt_u64(key)?
            .filter(|v| (1..=MAX_SERIAL).contains(v))
            .ok_or_else(|| fields.error(IsapiError::BadJsonContent, key))
    };
    Ok(Some((bounded("beginSerialNo")?, bounded("endSerialNo")?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn utc() -> Zone {
        Zone::fixed(FixedOffset::east_opt(0).expect("offset"))
    }

    fn err(body: &str, faults: &Faults) -> Option<(IsapiError, String)> {
        parse_search(body.as_bytes(), "/a", &utc(), faults)
            .err()
            .map(|e| (e.error, e.msg))
    }

    const BASE: &str = r#""searchID":"1","searchResultPosition":0,"maxResults":30"#;

    #[test]
    fn missing_major_and_minor() {
        let f = Faults::default();
        assert_eq!(
            err(&format!("{{\"AcsEventCond\":{{{BASE}}}}}"), &f),
            Some((IsapiError::MessageParametersLack, "major".into()))
        );
        assert_eq!(
            err(&format!("{{\"AcsEventCond\":{{{BASE},\"major\":5}}}}"), &f),
            Some((IsapiError::MessageParametersLack, "minor".into()))
        );
    }

    #[test]
    fn serial_rules() {
        let f = Faults::default();
        let with = |extra: &str| {
            format!("{{\"AcsEventCond\":{{{BASE},\"major\":0,\"minor\":0,{extra}}}}}")
        };
        assert_eq!(
            err(&with("\"beginSerialNo\":5"), &f),
            Some((IsapiError::BadJsonContent, "endSerialNo".into()))
        );
        assert_eq!(
            err(&with("\"beginSerialNo\":5,\"endSerialNo\":4294967295"), &f),
            Some((IsapiError::BadJsonContent, "endSerialNo".into()))
        );
        let ok = parse_search(
            with("\"beginSerialNo\":5,\"endSerialNo\":999999999").as_bytes(),
            "/a",
            &utc(),
            &f,
        );
        assert_eq!(ok.map(|c| c.filter.serials), Ok(Some((5, 999_999_999))));
        let no_serial = Faults {
            serial_search: false,
            ..Faults::default()
        };
        assert_eq!(
            err(&with("\"beginSerialNo\":5,\"endSerialNo\":9"), &no_serial),
            Some((IsapiError::BadJsonContent, "beginSerialNo".into()))
        );
    }

    #[test]
    fn naive_time_rejection_is_switchable() {
        let body = format!(
            "{{\"AcsEventCond\":{{{BASE},\"major\":5,\"minor\":0,\"startTime\":\"2024-03-01T00:00:00\"}}}}"
        );
        assert!(err(&body, &Faults::default()).is_none());
        let strict = Faults {
            time_handling: crate::config::TimeHandling::RejectNaive,
            ..Faults::default()
        };
        assert_eq!(
            err(&body, &strict),
            Some((IsapiError::BadJsonContent, "startTime".into()))
        );
    }
}
