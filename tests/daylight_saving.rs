//! A terminal whose zone has daylight saving, searched for a window in the other half of the year: every
//! request time must carry the offset of its own instant, or a firmware that reads only the wall-clock digits
//! searches an hour beside the window and its edge is lost (docs/isapi.md#system-resources).

use std::ops::ControlFlow;
use std::time::Duration;

use attendance_sync::fetch::{fetch_events, TimeArg};
use attendance_sync::isapi::IsapiClient;
use attendance_sync::{DeviceConfig, Password};
use attendance_sync_sim::{self as sim, Faults, RecordRequest, SimConfig, TimeHandling, Zone};
use chrono::{DateTime, Duration as Span, Utc};

const CENTRAL_EUROPE: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

/// An instant of the last year whose offset differs from now's, with three hours of the same offset around it.
fn other_half_of_the_year(zone: &Zone, now: DateTime<Utc>) -> DateTime<Utc> {
    let offset = |t: DateTime<Utc>| zone.offset_at(t.timestamp());
    (8..52)
        .map(|weeks| now - Span::weeks(weeks))
        .find(|&t| {
            offset(t) != offset(now)
                && offset(t - Span::hours(3)) == offset(t)
                && offset(t + Span::hours(3)) == offset(t)
        })
        .expect("a rule with daylight saving has another offset within the year")
}

async fn wall_clock_firmware_in(zone: Zone) -> sim::RunningSim {
    sim::start(SimConfig {
        days: 1,
        events_per_day: 4,
        time_zone: Some(zone),
        faults: Faults {
            time_handling: TimeHandling::DeviceLocal,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The serials of a window of 19 events, ten minutes apart, in the other half of the year, fetched with the
/// window `as_given` makes of its first and last instants; and the serials recorded.
async fn other_half_of_the_year_window(
    as_given: impl Fn(&Zone, DateTime<Utc>) -> TimeArg,
) -> (Vec<u64>, Vec<u64>, i32, i32) {
    let zone = Zone::with_rule(CENTRAL_EUROPE).expect("rule");
    let centre = other_half_of_the_year(&zone, Utc::now());
    let sim = wall_clock_firmware_in(zone.clone()).await;
    let d = &sim.devices[0];
    let first = centre - Span::minutes(90);
    let recorded = d
        .state
        .record(
            &RecordRequest {
                count: 19,
                at: Some(first.to_rfc3339()),
                step_secs: Some(600),
                ..RecordRequest::default()
            },
            &d.state.faults(),
        )
        .expect("recorded");
    let mut cfg = DeviceConfig::new(
        "127.0.0.1",
        "admin",
        Password::new(&SimConfig::default().password),
    );
    cfg.port = Some(d.addr.port());
    cfg.name = d.name.clone();
    cfg.timeout = Duration::from_secs(5);
    let client = IsapiClient::new(cfg).expect("client");
    let result = fetch_events(
        &client,
        as_given(&zone, first - Span::minutes(1)),
        as_given(&zone, centre + Span::minutes(91)),
        None,
        &mut |_, _| ControlFlow::Continue(()),
    )
    .await
    .expect("fetched");
    let mut got: Vec<u64> = result.events.iter().filter_map(|e| e.serial_no).collect();
    got.sort_unstable();
    let event_offset = result
        .events
        .first()
        .map_or(0, |e| e.time.offset().local_minus_utc());
    (
        got,
        recorded.iter().map(|r| r.serial_no).collect(),
        event_offset,
        zone.offset_at(centre.timestamp()).local_minus_utc(),
    )
}

#[tokio::test]
async fn a_window_in_the_other_half_of_the_year_is_searched_in_its_own_offset() {
    let (got, wanted, event_offset, offset_then) =
        other_half_of_the_year_window(|_, t| TimeArg::Aware(t.fixed_offset())).await;
    assert_eq!(got, wanted, "every event of the window, none beside it");
    // Each event carries the offset of its instant, not the device's offset of today.
    assert_eq!(event_offset, offset_then);
}

#[tokio::test]
async fn a_wall_clock_window_in_the_other_half_of_the_year_is_read_at_its_own_offset() {
    // The window as the terminal's clock showed it then (`--from 2026-07-01T08:00` on the command line, the
    // app re-interpreting): read with today's offset it would lie an hour beside the events.
    let (got, wanted, _, _) = other_half_of_the_year_window(|zone, t| {
        TimeArg::DeviceLocal(
            t.with_timezone(&zone.offset_at(t.timestamp()))
                .naive_local(),
        )
    })
    .await;
    assert_eq!(got, wanted, "every event of the window, none beside it");
}
