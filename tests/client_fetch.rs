//! The ISAPI client against the simulator over loopback HTTP: paging, digest, faults, the fleet.

use std::ops::ControlFlow;
use std::time::Duration;

use attendance_sync::fetch::{fetch_events, FetchResult, FetchStop, TimeArg};
use attendance_sync::isapi::{system, IsapiClient};
use attendance_sync::sync::fetch_many;
use attendance_sync::{DeviceConfig, Error, Password};
use attendance_sync_sim::{
    self as sim, ClockStep, Faults, PageFault, PageFaultKind, RecordRequest, ResultOrder,
    RunningSim, SimConfig, SimDevice,
};
use chrono::{Duration as Span, FixedOffset, Utc};

fn config(devices: usize, days: u32, events_per_day: u32) -> SimConfig {
    SimConfig {
        devices,
        days,
        events_per_day,
        utc_offset: FixedOffset::east_opt(6 * 3600).expect("offset"),
        ..SimConfig::default()
    }
}

async fn start(cfg: SimConfig) -> RunningSim {
    sim::start(cfg).await.expect("simulator starts")
}

fn device(d: &SimDevice, password: &str) -> DeviceConfig {
    let mut cfg = DeviceConfig::new("127.0.0.1", "admin", Password::new(password));
    cfg.port = Some(d.addr.port());
    cfg.name = d.name.clone();
    cfg.timeout = Duration::from_secs(5);
    cfg.retry.first_backoff = Duration::from_millis(20);
    cfg
}

/// A client with the simulator's right password.
fn healthy_client(d: &SimDevice) -> IsapiClient {
    IsapiClient::new(device(d, &SimConfig::default().password)).expect("client")
}

fn window() -> (TimeArg, TimeArg) {
    let end = Utc::now() + Span::days(1);
    (
        TimeArg::Aware((end - Span::days(12)).fixed_offset()),
        TimeArg::Aware(end.fixed_offset()),
    )
}

async fn fetch(client: &IsapiClient) -> Result<FetchResult, FetchStop> {
    let (start, end) = window();
    fetch_events(client, start, end, None, &mut |_, _| {
        ControlFlow::Continue(())
    })
    .await
}

fn failure(stop: FetchStop) -> (Error, Option<FetchResult>) {
    match stop {
        FetchStop::Failed(f) => (f.error, f.partial),
        FetchStop::Cancelled => panic!("not cancelled"),
    }
}

fn assert_complete(result: &FetchResult, d: &SimDevice) {
    let mut serials: Vec<u64> = result.events.iter().filter_map(|e| e.serial_no).collect();
    assert_eq!(
        serials.len(),
        d.event_count,
        "every event has a serial and arrives"
    );
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), d.event_count, "no event arrives twice");
}

#[tokio::test]
async fn ten_thousand_events_one_exchange_per_page() {
    let sim = start(config(1, 10, 1000)).await;
    let d = &sim.devices[0];
    let client = healthy_client(d);
    let result = fetch(&client).await.expect("fetch");
    assert_complete(&result, d);
    let stats = d.stats();
    assert_eq!(stats.acs_event_pages, u64::from(result.stats.pages));
    assert_eq!(stats.events_served, 10_000);
    // The clock read and every page cost one exchange each; the only extra is the first challenge.
    assert_eq!(stats.requests, u64::from(result.stats.pages) + 2);
    assert_eq!(stats.unauthorized, 1);
    assert_eq!(stats.connections, 1, "one keep-alive connection");
    let per_page = (stats.requests - 2) as f64 / f64::from(result.stats.pages);
    println!("10,000 events: {} pages, {} exchanges, {per_page:.3} exchanges per page after the challenge", result.stats.pages, stats.requests);
    sim.shutdown().await;
}

#[tokio::test]
async fn same_second_bursts_and_time_order_arrive_once() {
    let mut cfg = config(1, 3, 400);
    cfg.burst_share = 0.3;
    let sim = start(cfg).await;
    let d = &sim.devices[0];
    let client = healthy_client(d);
    let result = fetch(&client).await.expect("fetch");
    assert_complete(&result, d);
    let same_second = result
        .events
        .windows(2)
        .filter(|w| w[0].time == w[1].time)
        .count();
    assert!(same_second > 0, "the history has same-second events");
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_one_rejected_request_and_never_retried() {
    let sim = start(config(1, 1, 50)).await;
    let d = &sim.devices[0];
    let client = IsapiClient::new(device(d, "not-it")).expect("client");
    let (error, partial) = failure(fetch(&client).await.expect_err("rejected"));
    assert!(
        matches!(&error, Error::Auth { lock, .. } if lock.retries_left == Some(4)),
        "{error}"
    );
    assert!(partial.is_none());
    let again = fetch(&client).await.expect_err("still rejected");
    assert!(matches!(failure(again).0, Error::Auth { .. }));
    let stats = d.stats();
    assert_eq!(stats.failed_logins, 1);
    assert_eq!(
        stats.requests, 2,
        "the challenge and one rejected attempt, nothing after"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn lockout_reports_unlock_time_without_more_attempts() {
    let sim = start(config(1, 1, 50)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        lock_after: 2,
        unlock_secs: 1737,
        ..Faults::default()
    });
    for _ in 0..2 {
        let client = IsapiClient::new(device(d, "not-it")).expect("client");
        let _ = fetch(&client).await;
    }
    let client = healthy_client(d);
    let (error, _) = failure(fetch(&client).await.expect_err("locked"));
    match &error {
        Error::Auth { lock, .. } => {
            assert!(lock.locked);
            assert!(lock.unlock_seconds.is_some_and(|s| s > 1700 && s <= 1737));
            assert!(lock.locked_until.is_some());
        }
        other => panic!("expected a lockout, got {other}"),
    }
    assert!(error.to_string().contains("LOCKED"));
    sim.shutdown().await;
}

#[tokio::test]
async fn nonce_reuse_limit_costs_one_exchange_per_refresh() {
    let sim = start(config(1, 2, 300)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        nonce_max_uses: 5,
        ..Faults::default()
    });
    let client = healthy_client(d);
    let result = fetch(&client).await.expect("fetch");
    assert_complete(&result, d);
    let requests = u64::from(result.stats.pages) + 1;
    let refreshes = requests.div_ceil(5) - 1;
    let stats = d.stats();
    assert_eq!(stats.stale, refreshes);
    assert_eq!(stats.failed_logins, 0);
    assert_eq!(stats.requests, 1 + requests + refreshes);
    sim.shutdown().await;
}

#[tokio::test]
async fn reuse_limit_without_challenge_fetches_a_new_one() {
    let sim = start(config(1, 1, 200)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        nonce_max_uses: 3,
        no_challenge_on_reuse: true,
        ..Faults::default()
    });
    let client = healthy_client(d);
    let result = fetch(&client).await.expect("fetch");
    assert_complete(&result, d);
    assert_eq!(d.stats().failed_logins, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn sha256_and_dual_challenges() {
    let sim = start(config(1, 1, 100)).await;
    let d = &sim.devices[0];
    for faults in [
        Faults {
            sha256: true,
            ..Faults::default()
        },
        Faults {
            dual_challenge: true,
            ..Faults::default()
        },
    ] {
        d.set_faults(faults);
        let client = healthy_client(d);
        assert_complete(&fetch(&client).await.expect("fetch"), d);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn mid_paging_401_resumes_at_the_same_position() {
    let sim = start(config(1, 2, 200)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        page_fault: Some(PageFault {
            kind: PageFaultKind::Unauthorized401,
            on_page: 4,
            times: 1,
        }),
        ..Faults::default()
    });
    let client = healthy_client(d);
    let result = fetch(&client).await.expect("fetch");
    assert_complete(&result, d);
    assert_eq!(d.stats().failed_logins, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn transient_page_faults_are_retried_and_paging_resumes() {
    let sim = start(config(1, 2, 200)).await;
    let d = &sim.devices[0];
    for kind in [
        PageFaultKind::Status500,
        PageFaultKind::Drop,
        PageFaultKind::DropMidBody,
        PageFaultKind::Malformed,
    ] {
        d.set_faults(Faults {
            page_fault: Some(PageFault {
                kind,
                on_page: 3,
                times: 2,
            }),
            ..Faults::default()
        });
        let client = healthy_client(d);
        let result = fetch(&client)
            .await
            .unwrap_or_else(|stop| panic!("{kind:?} not recovered: {}", failure(stop).0));
        assert_complete(&result, d);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn read_timeout_on_a_page_is_retried() {
    let sim = start(config(1, 1, 150)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        page_fault: Some(PageFault {
            kind: PageFaultKind::Timeout,
            on_page: 2,
            times: 1,
        }),
        ..Faults::default()
    });
    let mut cfg = device(d, &SimConfig::default().password);
    cfg.timeout = Duration::from_millis(500);
    let client = IsapiClient::new(cfg).expect("client");
    assert_complete(&fetch(&client).await.expect("fetch"), d);
    sim.shutdown().await;
}

#[tokio::test]
async fn persistent_page_failure_keeps_what_arrived() {
    // A fixed history, so the two pages received hold the same events on every run: among them a burst (equal
    // seconds) stored out of serial order, which proves time order. With the history ending now, whether the
    // first 60 events held one depended on the time of day the test ran.
    let history_end =
        chrono::DateTime::parse_from_rfc3339("2024-03-01T18:00:00+06:00").expect("time");
    let sim = start(SimConfig {
        history_end: Some(history_end),
        burst_share: 0.3,
        ..config(1, 2, 200)
    })
    .await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        page_fault: Some(PageFault {
            kind: PageFaultKind::Status500,
            on_page: 3,
            times: 0,
        }),
        ..Faults::default()
    });
    let client = healthy_client(d);
    let window = (
        TimeArg::Aware(history_end - Span::days(12)),
        TimeArg::Aware(history_end + Span::days(1)),
    );
    let outcome = fetch_events(&client, window.0, window.1, None, &mut |_, _| {
        ControlFlow::Continue(())
    })
    .await;
    let (error, partial) = failure(outcome.expect_err("fails"));
    assert!(
        matches!(
            error,
            Error::Http {
                status: 503 | 500,
                ..
            }
        ),
        "{error}"
    );
    let partial = partial.expect("partial result");
    assert_eq!(partial.events.len(), 60, "two good pages kept");
    let last = partial.events.iter().map(|e| e.time).max().expect("events");
    assert_eq!(
        partial.complete_until, last,
        "the cursor stays before the gap"
    );
    sim.shutdown().await;
}

/// A connection that drops on every attempt (before the answer, or in the middle of its body) is retried,
/// then reported as dropped: transient, not a refused connection, a timeout or TLS.
#[tokio::test]
async fn a_connection_dropped_on_every_attempt_is_reported_as_dropped() {
    let sim = start(config(1, 2, 200)).await;
    let d = &sim.devices[0];
    for kind in [PageFaultKind::Drop, PageFaultKind::DropMidBody] {
        d.set_faults(Faults {
            page_fault: Some(PageFault {
                kind,
                on_page: 3,
                times: 0,
            }),
            ..Faults::default()
        });
        let client = healthy_client(d);
        let (error, partial) = failure(fetch(&client).await.expect_err("keeps dropping"));
        let transport = error.transport().expect("an exchange failure");
        assert!(transport.is_dropped(), "{kind:?}: {error}");
        assert!(
            error.is_transient() && !error.is_connect() && !error.is_timeout() && !error.is_tls(),
            "{kind:?}: {error}"
        );
        assert!(error.to_string().contains("connection dropped"), "{error}");
        assert_eq!(
            partial.map(|p| p.events.len()),
            Some(60),
            "{kind:?}: the two pages before are kept"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn more_forever_and_empty_more_are_device_faults() {
    let sim = start(config(1, 1, 100)).await;
    let d = &sim.devices[0];
    for faults in [
        Faults {
            more_forever: true,
            ..Faults::default()
        },
        Faults {
            empty_more: true,
            ..Faults::default()
        },
    ] {
        d.set_faults(faults);
        let client = healthy_client(d);
        let (error, partial) = failure(fetch(&client).await.expect_err("fault"));
        assert!(matches!(error, Error::Fault { .. }), "{error}");
        assert_eq!(
            partial.map(|p| p.events.len()),
            Some(100),
            "everything received is kept"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn position_cap_splits_the_window() {
    let sim = start(config(1, 3, 300)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        position_cap: 150,
        ..Faults::default()
    });
    let client = healthy_client(d);
    let result = fetch(&client).await.expect("fetch");
    assert_complete(&result, d);
    assert!(result.stats.windows > 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn lying_counts_outside_window_and_naive_times() {
    let sim = start(config(1, 2, 150)).await;
    let d = &sim.devices[0];
    for faults in [
        Faults {
            lie_num_of_matches: true,
            ..Faults::default()
        },
        Faults {
            naive_times: true,
            ..Faults::default()
        },
    ] {
        d.set_faults(faults);
        let client = healthy_client(d);
        let result = fetch(&client).await.expect("fetch");
        assert_complete(&result, d);
        assert!(result
            .events
            .iter()
            .all(|e| e.time.offset().local_minus_utc() == 6 * 3600));
    }
    // Events outside the asked window are dropped, not counted twice.
    d.set_faults(Faults {
        outside_window: true,
        ..Faults::default()
    });
    let client = healthy_client(d);
    let end = Utc::now();
    let start = end - Span::hours(30);
    let result = fetch_events(
        &client,
        TimeArg::Aware(start.fixed_offset()),
        TimeArg::Aware(end.fixed_offset()),
        None,
        &mut |_, _| ControlFlow::Continue(()),
    )
    .await
    .expect("fetch");
    assert!(result.stats.outside_window > 0);
    assert!(result
        .events
        .iter()
        .all(|e| e.time >= start && e.time <= end));
    sim.shutdown().await;
}

#[tokio::test]
async fn timeouts_and_unreachable_are_typed() {
    let sim = start(config(1, 1, 30)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        latency_ms: 800,
        ..Faults::default()
    });
    let mut cfg = device(d, &SimConfig::default().password);
    cfg.timeout = Duration::from_millis(200);
    cfg.retry.retries = 1;
    let client = IsapiClient::new(cfg).expect("client");
    let (error, _) = failure(fetch(&client).await.expect_err("slow"));
    assert!(error.is_timeout() && !error.is_connect(), "{error}");
    assert!(error.is_transient(), "a response timeout is retried");
    let port = d.addr.port();
    sim.shutdown().await;
    let mut cfg = DeviceConfig::new("127.0.0.1", "admin", Password::new("x"));
    cfg.port = Some(port);
    let client = IsapiClient::new(cfg).expect("client");
    let (error, _) = failure(fetch(&client).await.expect_err("down"));
    assert!(error.is_connect() && !error.is_timeout(), "{error}");
    assert!(!error.is_transient(), "a refused connection is not retried");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the HTTP client's error is kept as the source"
    );
}

/// TLS failures are told apart by the TLS library's error type, not by words in a message: HTTPS to a terminal
/// that serves plain HTTP on that port is a TLS failure (its message says to turn off 'Use HTTPS'), not an
/// unreachable device; a self-signed certificate with verification on is one too. Neither is retried.
#[tokio::test]
async fn tls_failures_are_classified_by_type_and_keep_their_source() {
    let password = SimConfig::default().password;
    let plain = start(config(1, 1, 10)).await;
    let mut cfg = device(&plain.devices[0], &password);
    cfg.https = true;
    let client = IsapiClient::new(cfg).expect("client");
    let (error, _) = failure(fetch(&client).await.expect_err("no TLS on that port"));
    assert!(
        error.is_tls() && !error.is_connect() && !error.is_timeout(),
        "{error}"
    );
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("Use HTTPS"), "{error}");
    assert_eq!(client.exchanges(), 1, "one attempt, no retry");
    plain.shutdown().await;

    let secure = start(SimConfig {
        https: true,
        ..config(1, 1, 10)
    })
    .await;
    let mut cfg = device(&secure.devices[0], &password);
    cfg.https = true;
    cfg.verify_tls = true;
    let client = IsapiClient::new(cfg).expect("client");
    let (error, _) = failure(fetch(&client).await.expect_err("self-signed"));
    assert!(error.is_tls(), "{error}");
    assert!(
        error.to_string().contains("Verify TLS Certificate"),
        "{error}"
    );
    let mut chain = Vec::new();
    let mut cause = std::error::Error::source(&error);
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    assert!(
        chain.iter().any(|c| c.contains("certificate")),
        "the source chain reaches the certificate error: {chain:?}"
    );

    let mut cfg = device(&secure.devices[0], &password);
    cfg.https = true;
    cfg.verify_tls = false;
    let client = IsapiClient::new(cfg).expect("client");
    let result = fetch(&client).await.expect("verification off");
    assert_complete(&result, &secure.devices[0]);
    secure.shutdown().await;
}

/// User search pages like event search (one paging loop): MORE means ask again even at an under-reported
/// totalMatches, and a device that never stops is a fault, not a loop.
#[tokio::test]
async fn user_search_shares_the_paging_rules_of_event_search() {
    let sim = start(config(1, 1, 10)).await;
    let d = &sim.devices[0];
    let client = healthy_client(d);
    let all = system::users(&client).await.expect("users");
    assert_eq!(all.len(), 50, "every enrolled person, over two pages");
    let distinct: std::collections::HashSet<&str> =
        all.iter().map(|u| u.employee_no.as_str()).collect();
    assert_eq!(distinct.len(), 50);

    d.set_faults(Faults {
        under_report_total: true,
        ..Faults::default()
    });
    let client = healthy_client(d);
    let under = system::users(&client).await.expect("users");
    assert_eq!(
        under, all,
        "the page past the under-reported total is asked for"
    );

    let mut cfg = device(d, &SimConfig::default().password);
    cfg.max_pages = 1;
    let client = IsapiClient::new(cfg).expect("client");
    let error = system::users(&client).await.expect_err("page guard");
    assert!(
        matches!(&error, Error::Fault { what, .. } if what.contains("page guard")),
        "{error}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn one_broken_device_leaves_the_fleet_complete() {
    let sim = start(config(5, 2, 100)).await;
    sim.devices[2].set_faults(Faults {
        more_forever: true,
        ..Faults::default()
    });
    let password = SimConfig::default().password;
    let mut configs: Vec<DeviceConfig> = sim.devices.iter().map(|d| device(d, &password)).collect();
    configs[4].password = Password::new("wrong");
    let (start, end) = window();
    let results = fetch_many(configs, start, end, 2, None)
        .await
        .expect("not cancelled");
    assert_eq!(results.len(), 5);
    for (i, (name, result)) in results.iter().enumerate() {
        assert_eq!(name, &sim.devices[i].name);
        match (i, result) {
            (2, Err(f)) => assert!(matches!(f.error, Error::Fault { .. })),
            (4, Err(f)) => assert!(matches!(f.error, Error::Auth { .. })),
            (_, Ok(r)) => assert_complete(r, &sim.devices[i]),
            (_, Err(f)) => panic!("device {i} failed: {}", f.error),
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn xml_answer_and_repeated_page_are_reported_not_looped() {
    let sim = start(config(1, 2, 200)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        xml_instead_of_json: true,
        ..Faults::default()
    });
    let client = healthy_client(d);
    let (error, _) = failure(fetch(&client).await.expect_err("xml"));
    assert!(
        matches!(&error, Error::Protocol { what, .. } if what.contains("XML")),
        "{error}"
    );

    d.set_faults(Faults {
        page_fault: Some(PageFault {
            kind: PageFaultKind::RepeatPage,
            on_page: 3,
            times: 0,
        }),
        ..Faults::default()
    });
    let client = healthy_client(d);
    let (error, partial) = failure(fetch(&client).await.expect_err("repeat"));
    assert!(
        matches!(&error, Error::Fault { what, .. } if what.contains("repeated")),
        "{error}"
    );
    assert_eq!(partial.map(|p| p.events.len()), Some(60));
    sim.shutdown().await;
}

#[tokio::test]
async fn unresolvable_host_is_unreachable() {
    let mut cfg = DeviceConfig::new("terminal.invalid", "admin", Password::new("x"));
    cfg.connect_timeout = Duration::from_secs(3);
    let client = IsapiClient::new(cfg).expect("client");
    let (error, _) = failure(fetch(&client).await.expect_err("no such host"));
    assert!(error.is_connect(), "{error}");
    assert!(error.to_string().contains("terminal.invalid"));
}

#[tokio::test]
async fn page_guard_stops_a_search_that_never_ends() {
    let sim = start(config(1, 2, 300)).await;
    let d = &sim.devices[0];
    let mut cfg = device(d, &SimConfig::default().password);
    cfg.max_pages = 5;
    let client = IsapiClient::new(cfg).expect("client");
    let (error, partial) = failure(fetch(&client).await.expect_err("guard"));
    assert!(
        matches!(&error, Error::Fault { what, .. } if what.contains("page guard")),
        "{error}"
    );
    assert_eq!(
        partial.map(|p| p.events.len()),
        Some(150),
        "the five pages received are kept"
    );
    assert_eq!(d.stats().acs_event_pages, 5);
    sim.shutdown().await;
}

/// One device, 400 events today, the clock set back two hours after `step_after`, answering in `order`.
fn stepped(order: ResultOrder, step_after: u64) -> SimConfig {
    let mut cfg = config(1, 1, 400);
    cfg.clock_step = Some(ClockStep {
        back_secs: 7200,
        after_serial: Some(step_after),
    });
    cfg.faults.result_order = order;
    cfg
}

/// Every event the device holds, from a fault-free fetch.
async fn everything(d: &SimDevice) -> FetchResult {
    let result = fetch(&healthy_client(d)).await.expect("healthy fetch");
    assert_complete(&result, d);
    result
}

/// `complete_until` never passes an event that did not arrive.
fn assert_claims_only_what_arrived(all: &FetchResult, partial: &FetchResult) -> usize {
    let got: std::collections::HashSet<u64> =
        partial.events.iter().filter_map(|e| e.serial_no).collect();
    let missing: Vec<_> = all
        .events
        .iter()
        .filter(|e| e.serial_no.is_some_and(|s| !got.contains(&s)))
        .collect();
    assert!(!missing.is_empty(), "the failure left events out");
    for e in &missing {
        assert!(
            e.time >= partial.complete_until,
            "complete until {} but serial {:?} at {} never arrived",
            partial.complete_until,
            e.serial_no,
            e.time
        );
    }
    missing.len()
}

#[tokio::test]
async fn clock_set_back_interrupted_fetch_claims_nothing_unreceived() {
    // The clock goes back after serial 90 or 100; the device fails for good on page 4 or 5. Record order
    // with the step before the failure (time went backwards in what arrived), record order with the step
    // right after the last page received (nothing told the orders apart), and the same records in time order.
    for (order, step_after, failing_page) in [
        (ResultOrder::Record, 100, 5),
        (ResultOrder::Record, 90, 4),
        (ResultOrder::Time, 100, 5),
        (ResultOrder::Time, 90, 4),
    ] {
        let sim = start(stepped(order, step_after)).await;
        let d = &sim.devices[0];
        let all = everything(d).await;
        d.set_faults(Faults {
            result_order: order,
            page_fault: Some(PageFault {
                kind: PageFaultKind::Status500,
                on_page: failing_page,
                times: 0,
            }),
            ..Faults::default()
        });
        let (error, partial) = failure(fetch(&healthy_client(d)).await.expect_err("fails"));
        assert!(matches!(error, Error::Http { .. }), "{error}");
        let partial = partial.expect("partial result");
        assert_eq!(partial.events.len(), (failing_page as usize - 1) * 30);
        assert_claims_only_what_arrived(&all, &partial);
        if order == ResultOrder::Record {
            let (start, _) = window();
            let TimeArg::Aware(start) = start else {
                unreachable!()
            };
            assert!(
                partial.complete_until <= start + Span::seconds(1),
                "{order:?}: nothing proves more than the window start"
            );
        } else {
            // Same-second events out of serial order prove time order: the cursor may move.
            let last = partial.events.iter().map(|e| e.time).max().expect("events");
            assert_eq!(partial.complete_until, last, "{order:?}");
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn interrupted_serial_fetch_keeps_an_unbroken_serial_cursor() {
    for order in [ResultOrder::Record, ResultOrder::Time] {
        let sim = start(stepped(order, 100)).await;
        let d = &sim.devices[0];
        let all = everything(d).await;
        d.set_faults(Faults {
            result_order: order,
            page_fault: Some(PageFault {
                kind: PageFaultKind::Status500,
                on_page: 4,
                times: 0,
            }),
            ..Faults::default()
        });
        let (start, end) = window();
        let since = 10;
        let stop = fetch_events(&healthy_client(d), start, end, Some(since), &mut |_, _| {
            ControlFlow::Continue(())
        })
        .await
        .expect_err("fails");
        let partial = failure(stop).1.expect("partial");
        assert!(partial.serial_mode);
        let cursor = partial.last_serial.expect("a serial cursor");
        assert!(cursor >= since);
        let got: std::collections::HashSet<u64> =
            partial.events.iter().filter_map(|e| e.serial_no).collect();
        for s in (since + 1)..=cursor {
            assert!(
                got.contains(&s),
                "{order:?}: serial {s} is below the cursor {cursor} but missing"
            );
        }
        if order == ResultOrder::Record {
            assert_eq!(cursor, since + 90, "three pages in serial order");
        }
        assert!(all.events.len() > got.len());
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn position_cap_after_a_clock_step_back_skips_nothing() {
    // 180 events arrive before the cap refuses position 180. The clock goes back two hours after serial 170
    // (seen before the cap) or after serial 180 (not seen): events recorded after it carry times before the
    // latest time received, so restarting from that time would skip them. With and without serial search.
    for order in [ResultOrder::Record, ResultOrder::Time] {
        for step_after in [170, 180] {
            for serial_search in [true, false] {
                let sim = start(stepped(order, step_after)).await;
                let d = &sim.devices[0];
                d.set_faults(Faults {
                    result_order: order,
                    position_cap: 150,
                    serial_search,
                    ..Faults::default()
                });
                let result = fetch(&healthy_client(d)).await.unwrap_or_else(|stop| {
                    panic!(
                        "{order:?} step {step_after} serial {serial_search}: {}",
                        failure(stop).0
                    )
                });
                assert_complete(&result, d);
                assert!(result.stats.windows > 1);
                sim.shutdown().await;
            }
        }
    }
}

#[tokio::test]
async fn under_reported_total_loses_nothing_and_more_forever_still_stops() {
    let sim = start(config(1, 2, 150)).await;
    let d = &sim.devices[0];
    d.set_faults(Faults {
        under_report_total: true,
        ..Faults::default()
    });
    let result = fetch(&healthy_client(d)).await.expect("fetch");
    assert_complete(&result, d);
    assert_eq!(result.stats.pages, 10);
    for faults in [
        Faults {
            under_report_total: true,
            more_forever: true,
            ..Faults::default()
        },
        Faults {
            under_report_total: true,
            empty_more: true,
            ..Faults::default()
        },
    ] {
        d.set_faults(faults);
        let (error, partial) = failure(fetch(&healthy_client(d)).await.expect_err("fault"));
        assert!(matches!(error, Error::Fault { .. }), "{error}");
        assert_eq!(partial.map(|p| p.events.len()), Some(300));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn position_cap_without_serial_numbers_gets_every_event_once() {
    // An intercom-like device: no serialNo on its records, no serial search. Nothing tells the order apart
    // and nothing drops a repeat but the content itself.
    for order in [ResultOrder::Time, ResultOrder::Record] {
        let sim = start(stepped(order, 170)).await;
        let d = &sim.devices[0];
        let content = |r: &FetchResult| {
            let mut v: Vec<_> = r
                .events
                .iter()
                .map(|e| (e.time, e.minor, e.employee_no.clone(), e.door_no))
                .collect();
            v.sort();
            v
        };
        let expected = content(&everything(d).await);
        d.set_faults(Faults {
            result_order: order,
            position_cap: 150,
            serial_search: false,
            no_serial_numbers: true,
            ..Faults::default()
        });
        let result = fetch(&healthy_client(d)).await.expect("fetch");
        assert!(result.events.iter().all(|e| e.serial_no.is_none()));
        assert!(result.stats.windows > 1);
        assert_eq!(content(&result), expected, "{order:?}: every event once");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_counter_reset_inside_the_window_keeps_both_records_of_a_serial() {
    let sim = start(config(1, 1, 50)).await;
    let d = &sim.devices[0];
    d.state.reset_serial_counter(false);
    let recorded = d
        .state
        .record(
            &RecordRequest {
                count: 3,
                ..RecordRequest::default()
            },
            &d.state.faults(),
        )
        .expect("recorded");
    assert_eq!(recorded[0].serial_no, 1);
    let result = fetch(&healthy_client(d)).await.expect("fetch");
    assert_eq!(
        result.events.len(),
        53,
        "the old serials 1-3 and the new ones"
    );
    let ones: Vec<_> = result
        .events
        .iter()
        .filter(|e| e.serial_no == Some(1))
        .map(|e| e.time)
        .collect();
    assert_eq!(ones.len(), 2);
    assert_ne!(ones[0], ones[1]);
    sim.shutdown().await;
}

/// Records `count` events now on the device's counter.
fn record_now(d: &SimDevice, count: u32) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    d.state
        .record(
            &RecordRequest {
                count,
                ..RecordRequest::default()
            },
            &d.state.faults(),
        )
        .expect("recorded")
        .iter()
        .map(|r| r.serial_no)
        .collect()
}

#[tokio::test]
async fn a_search_by_serial_finds_what_a_restarted_counter_numbers_below_it() {
    // The counter restarts while the terminal keeps its log (the anchor, serial 50, is still there), with and
    // without old events recorded after the anchor and before the restart.
    for old_after_anchor in [0, 2] {
        let sim = start(config(1, 1, 50)).await;
        let d = &sim.devices[0];
        record_now(d, old_after_anchor);
        d.state.reset_serial_counter(false);
        let new = record_now(d, 3);
        assert_eq!(new, vec![1, 2, 3]);
        let (start, end) = window();
        let result = fetch_events(&healthy_client(d), start, end, Some(49), &mut |_, _| {
            ControlFlow::Continue(())
        })
        .await
        .expect("fetch");
        assert!(result.serial_mode);
        let mut below: Vec<u64> = result
            .events
            .iter()
            .filter_map(|e| e.serial_no)
            .filter(|s| *s < 50)
            .collect();
        below.sort_unstable();
        assert_eq!(
            below,
            vec![1, 2, 3],
            "{old_after_anchor} old events after the anchor: the new events numbered below it arrive"
        );
        let above: Vec<u64> = result
            .events
            .iter()
            .filter_map(|e| e.serial_no)
            .filter(|s| *s >= 50)
            .collect();
        assert_eq!(above.len(), 1 + old_after_anchor as usize);
        sim.shutdown().await;
    }
}
