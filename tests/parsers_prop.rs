//! Property tests: arbitrary and mutated device output never panics a parser; each answer is either a value
//! or the typed error the client reports for it (the `Error` variant, its device, path and excerpt).
//!
//! `make test` runs a quick budget; `make fuzz` sets ATTENDANCE_SYNC_FUZZ_CASES (at least 100,000 in all)
//! and every test prints how many cases it ran.

use std::sync::Arc;

use attendance_sync::error::{excerpt, IsapiStatus, LockInfo};
use attendance_sync::event::{parse_device_time, time_in_range, Classifier, RawEvent, Rejected};
use attendance_sync::isapi::search::{parse_page, ACS_EVENT_PATH};
use attendance_sync::isapi::status::{parse_status, parse_user_check};
use attendance_sync::isapi::system::{parse_clock_answer, posix_tz_offset, TIME_PATH};
use attendance_sync::isapi::xml::{leaves, looks_like_xml};
use attendance_sync::Error;
use chrono::{FixedOffset, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PAGE: &str = r#"{"AcsEvent": {"searchID": "0b9f", "totalMatches": 277, "responseStatusStrg": "MORE", "numOfMatches": 2,
 "InfoList": [{"major": 5, "minor": 21, "time": "2026-09-01T17:27:53-04:00", "doorNo": 1, "serialNo": 19353},
  {"major": 5, "minor": 75, "time": "2026-09-01T17:27:53-04:00", "name": "CÁSSIA", "employeeNoString": "1042",
   "serialNo": 19354, "attendanceStatus": "checkIn", "FaceRect": {"height": 0.49}}]}}"#;
const TIME: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Time version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<timeMode>NTP</timeMode><localTime>2026-04-26T21:50:57-03:00</localTime><timeZone>CST+3:00:00</timeZone></Time>"#;
const USER_CHECK: &str = r#"<userCheck version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><statusValue>401</statusValue>
<retryLoginTime>3</retryLoginTime><lockStatus>unlock</lockStatus><unlockTime>0</unlockTime></userCheck>"#;
const STATUS_JSON: &str = r#"{"statusCode": 6, "statusString": "Invalid Content", "subStatusCode": "badJsonContent", "errorMsg": "endSerialNo"}"#;

fn cases() -> u32 {
    std::env::var("ATTENDANCE_SYNC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A valid document with some bytes replaced, removed or duplicated.
fn mutated(seed: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len();
    prop::collection::vec((0..len, any::<u8>(), 0u8..3), 0..8).prop_map(move |edits| {
        let mut bytes = seed.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match op {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
        }
        bytes
    })
}

fn documents(seed: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![mutated(seed), prop::collection::vec(any::<u8>(), 0..512)]
}

fn run(name: &str, seed: &'static str, check: impl Fn(&[u8])) {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&documents(seed), |doc| {
            check(&doc);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    println!(
        "parser property {name}: {} cases, no panic, typed errors",
        cases()
    );
}

/// A malformed answer is `Error::Protocol` naming the device, the resource and the body's first bytes.
fn assert_protocol_error(error: &Error, path: &str, doc: &[u8]) {
    match error {
        Error::Protocol {
            device,
            path: p,
            what,
            excerpt: e,
        } => {
            assert_eq!(device, "fuzz");
            assert_eq!(p, path);
            assert!(!what.is_empty());
            assert_eq!(e, &excerpt(doc));
            assert!(error.is_transient(), "a garbled answer is retried");
        }
        other => panic!("expected Error::Protocol for {path}, got {other:?}"),
    }
}

/// An item becomes an event, or is rejected for exactly the reason its `time` gives.
fn assert_normalised(
    raw: RawEvent,
    device: &Arc<str>,
    offset: FixedOffset,
    classifier: &Classifier,
) {
    let time = raw.time.clone();
    let serial = raw.serial_no;
    match (raw.normalise(device, offset, classifier), time) {
        (Ok(event), Some(text)) => {
            assert_eq!(parse_device_time(&text, offset), Some(event.time));
            assert!(time_in_range(&event.time), "{text}");
            assert_eq!(event.serial_no, serial);
            assert_eq!(&*event.device, "fuzz");
        }
        (Err(Rejected::NoTime), None) => {}
        (Err(Rejected::BadTime(bad)), Some(text)) => {
            assert_eq!(bad, text);
            assert_eq!(parse_device_time(&text, offset), None);
        }
        (Err(Rejected::OutOfRange(bad)), Some(text)) => {
            assert_eq!(bad, text);
            let time = parse_device_time(&text, offset).expect("an out-of-range time parses");
            assert!(!time_in_range(&time), "{text}");
        }
        (outcome, time) => panic!("{outcome:?} for time {time:?}"),
    }
}

#[test]
fn acs_event_pages() {
    let device: Arc<str> = Arc::from("fuzz");
    let offset = FixedOffset::east_opt(3600).expect("offset");
    let classifier = Classifier::default();
    run("AcsEvent page", PAGE, |doc| match parse_page("fuzz", doc) {
        Ok(page) => {
            assert!(!looks_like_xml(doc), "XML is never read as a page");
            for raw in page.info_list {
                assert_normalised(raw, &device, offset, &classifier);
            }
        }
        Err(error) => assert_protocol_error(&error, ACS_EVENT_PATH, doc),
    });
}

#[test]
fn single_events() {
    let device: Arc<str> = Arc::from("fuzz");
    let classifier = Classifier::default();
    let seed = r#"{"major": 5, "minor": 38, "time": "2024-03-01 08:00:00", "employeeNo": 42, "serialNo": "7", "cardNo": 12}"#;
    run("InfoList item", seed, |doc| {
        if let Ok(raw) = serde_json::from_slice::<RawEvent>(doc) {
            assert_normalised(
                raw,
                &device,
                FixedOffset::east_opt(0).expect("offset"),
                &classifier,
            );
        }
    });
}

#[test]
fn system_time() {
    run("System/time", TIME, |doc| {
        let configured = FixedOffset::east_opt(2 * 3600);
        for offset in [None, configured] {
            match parse_clock_answer("fuzz", doc, offset, Utc::now()) {
                // A configured offset is the one every reading is given in.
                Ok(clock) => assert!(offset.is_none_or(|o| clock.offset() == o)),
                Err(error) => assert_protocol_error(&error, TIME_PATH, doc),
            }
        }
        if let Ok(text) = std::str::from_utf8(doc) {
            if let Some(offset) = posix_tz_offset(text) {
                assert!(offset.local_minus_utc().abs() <= 14 * 3600 + 59 * 60);
            }
            let _ = parse_device_time(text, FixedOffset::east_opt(0).expect("offset"));
        }
    });
}

#[test]
fn xml_documents() {
    run(
        "userCheck / ResponseStatus / deviceInfo XML",
        USER_CHECK,
        |doc| {
            let lock = parse_user_check(doc);
            if leaves(doc).is_err() {
                // Unreadable XML is no lock information, not an error that could stop a login.
                assert_eq!(lock, LockInfo::default());
                if looks_like_xml(doc) {
                    assert_eq!(parse_status(doc), IsapiStatus::default());
                }
            }
            assert!(lock.unlock_seconds.is_none() || lock.locked, "{lock:?}");
            assert_eq!(lock.locked_until.is_some(), lock.unlock_seconds.is_some());
        },
    );
}

#[test]
fn json_error_envelopes() {
    run("ResponseStatus JSON", STATUS_JSON, |doc| {
        let status = parse_status(doc);
        let object = serde_json::from_slice::<serde_json::Value>(doc).is_ok_and(|v| v.is_object());
        if !object && !looks_like_xml(doc) {
            assert_eq!(status, IsapiStatus::default(), "nothing is made up");
        }
    });
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    /// Any offset and wall time round-trips through the device time format.
    #[test]
    fn device_times_round_trip(secs in 0i64..4_000_000_000, offset_min in -720i32..=840) {
        let offset = FixedOffset::east_opt(offset_min * 60).expect("offset in range");
        let t = chrono::DateTime::from_timestamp(secs, 0).expect("timestamp").with_timezone(&offset);
        let text = t.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
        prop_assert_eq!(parse_device_time(&text, FixedOffset::east_opt(0).expect("utc")), Some(t));
        let naive = t.format("%Y-%m-%d %H:%M:%S").to_string();
        prop_assert_eq!(parse_device_time(&naive, offset), Some(t));
    }
}
