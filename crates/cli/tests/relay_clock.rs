//! The relay's search cursor against terminal clocks that lie: events stamped ahead of the present, and a
//! clock set forward and then back (the simulator's clock skew). Punches recorded afterwards at the real time
//! still reach the site, with serial search and without it.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use attendance_sync_sim::{Faults, RecordRequest, RunningSim, SimDevice};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use support::relay::{
    relay_log, setup, start_relay, stop, stored_set, terminal_events, terminals, token,
};
use support::{eventually, record_request, Receiver};

/// The fleet's offset (support::relay::terminals).
fn offset() -> FixedOffset {
    FixedOffset::east_opt(6 * 3600).expect("offset")
}

/// The terminal's clock now: the real clock plus its skew, in its offset.
fn device_now(d: &SimDevice) -> DateTime<FixedOffset> {
    (Utc::now() + TimeDelta::seconds(d.state.faults().clock_skew_secs)).with_timezone(&offset())
}

/// Records `count` events a minute apart, the first at `at` (as a terminal stamps them with its clock).
fn record_at(d: &SimDevice, count: u32, at: DateTime<FixedOffset>) -> Vec<u64> {
    record_request(
        d,
        RecordRequest {
            count,
            at: Some(at.to_rfc3339()),
            ..RecordRequest::default()
        },
    )
}

/// `count` events ending at the terminal's clock now.
fn record_now(d: &SimDevice, count: u32) -> Vec<u64> {
    let first = device_now(d) - TimeDelta::minutes(i64::from(count) - 1);
    record_at(d, count, first)
}

fn set_skew(d: &SimDevice, secs: i64) {
    d.state.set_faults(Faults {
        clock_skew_secs: secs,
        ..d.state.faults()
    });
}

/// Every event of the fleet except `not`, as (token, serial).
fn expected_without(fleet: &RunningSim, not: &[(String, u64)]) -> HashSet<(String, u64)> {
    let mut all = terminal_events(fleet);
    for key in not {
        all.remove(key);
    }
    all
}

/// A terminal holding events stamped ahead of the present among its normal ones (a clock that ran fast and
/// was corrected): the events recorded at the real time afterwards are delivered.
async fn stamps_ahead_do_not_hide_later_events(ahead: TimeDelta, test: &str) {
    let fleet = terminals(1, 30).await;
    let d = &fleet.devices[0];
    let stray = record_at(d, 1, device_now(d) + ahead);
    record_now(d, 2);
    let receiver = Receiver::default();
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let dir = setup(test, &fleet, site);
    // Beyond the search's reach until the terminal's clock comes within a day of it.
    let unreachable: Vec<(String, u64)> = if ahead > TimeDelta::days(1) {
        stray.iter().map(|s| (token(0), *s)).collect()
    } else {
        Vec::new()
    };

    let relay = start_relay(&dir, &fleet, 1);
    let first = expected_without(&fleet, &unreachable);
    let history = eventually(Duration::from_secs(30), || stored_set(&receiver) == first).await;
    // People punch on, at the real time.
    record_now(d, 3);
    let expected = expected_without(&fleet, &unreachable);
    let later = eventually(Duration::from_secs(20), || {
        stored_set(&receiver) == expected
    })
    .await;
    stop(relay);
    let got = stored_set(&receiver);
    assert!(
        history,
        "the history did not arrive: missing {:?}",
        first.difference(&got).collect::<Vec<_>>()
    );
    assert!(
        later,
        "events recorded after the stamp ahead did not arrive: missing {:?}",
        expected.difference(&got).collect::<Vec<_>>()
    );
    let log = relay_log(&dir, 1);
    assert!(!log.contains(&token(0)), "the token was printed: {log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stamped_in_2037_does_not_hide_later_events() {
    let to_2037 = DateTime::parse_from_rfc3339("2037-03-02T08:00:00+06:00").expect("time")
        - Utc::now().with_timezone(&offset());
    stamps_ahead_do_not_hide_later_events(to_2037, "2037").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stamped_hours_ahead_does_not_hide_later_events() {
    stamps_ahead_do_not_hide_later_events(TimeDelta::hours(5), "ahead").await;
}

/// Two terminals, the second without serial search (time windows only): each clock is set six hours forward,
/// punches are recorded (and delivered), then the clock is set back to the real time and more punches come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_forward_then_back_keeps_delivering() {
    let fleet = terminals(2, 30).await;
    fleet.devices[1].state.set_faults(Faults {
        serial_search: false,
        ..fleet.devices[1].state.faults()
    });
    let receiver = Receiver::default();
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let dir = setup("clock", &fleet, site);
    let relay = start_relay(&dir, &fleet, 1);

    let history = terminal_events(&fleet);
    let got_history =
        eventually(Duration::from_secs(30), || stored_set(&receiver) == history).await;
    for d in &fleet.devices {
        set_skew(d, 6 * 3600);
        record_now(d, 2);
    }
    let ahead = terminal_events(&fleet);
    let got_ahead = eventually(Duration::from_secs(20), || stored_set(&receiver) == ahead).await;
    for d in &fleet.devices {
        set_skew(d, 0);
        record_now(d, 3);
    }
    let after = terminal_events(&fleet);
    let got_after = eventually(Duration::from_secs(20), || stored_set(&receiver) == after).await;
    stop(relay);
    let got = stored_set(&receiver);
    assert!(got_history, "the history did not arrive");
    assert!(
        got_ahead,
        "events stamped by the fast clock did not arrive: missing {:?}",
        ahead.difference(&got).collect::<Vec<_>>()
    );
    assert!(
        got_after,
        "events after the clock was set back did not arrive: missing {:?}",
        after.difference(&got).collect::<Vec<_>>()
    );
    let log = relay_log(&dir, 1);
    assert!(
        log.contains("set back"),
        "the relay did not say it saw the clock set back: {log}"
    );
    assert!(
        !log.contains(&token(0)) && !log.contains(&token(1)),
        "a token was printed: {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
