//! The simulator's push side (HTTP listening) against a real loopback receiver that reads every body with the
//! core's push parser: both part names, bare JSON, pictures, heartbeats, replay, seeded losses.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use attendance_sync_sim::{self as sim, PushConfig, PushFormat, SimConfig, SimDevice};
use chrono::FixedOffset;
use support::{eventually, record, Receiver};

async fn one_terminal() -> sim::RunningSim {
    sim::start(SimConfig {
        days: 1,
        events_per_day: 20,
        utc_offset: FixedOffset::east_opt(-5 * 3600).expect("offset"),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_reads_as_the_recorded_events() {
    let fleet = one_terminal().await;
    let d = &fleet.devices[0];
    let receiver = Receiver::default();
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let mut expected = Vec::new();
    for (format, picture, token) in [
        (PushFormat::EventLog, true, "t-event-log"),
        (PushFormat::AccessControllerEvent, false, "t-ace"),
        (PushFormat::Json, false, "t-json"),
    ] {
        d.set_push(PushConfig {
            url: Some(format!(
                "http://{site}/api/method/attendance_sync.api.push?token={token}"
            )),
            format,
            picture,
            ..PushConfig::default()
        })
        .expect("push configured");
        let serials = record(d, 3);
        expected.extend(serials.iter().map(|s| (token.to_owned(), *s)));
        let want = expected.len();
        assert!(
            eventually(Duration::from_secs(10), || receiver.received().len()
                >= want)
            .await,
            "{format:?}: pushes did not arrive"
        );
    }
    let received = receiver.received();
    let got: Vec<(String, u64)> = received
        .iter()
        .map(|r| (r.token.clone(), r.serial.unwrap_or(0)))
        .collect();
    assert_eq!(got, expected);
    for r in &received {
        assert_eq!(
            (r.status, r.kind, r.current_event),
            (200, "event", Some(true)),
            "{r:?}"
        );
        assert!(
            r.time.as_deref().is_some_and(|t| t.ends_with("-05:00")),
            "{r:?}"
        );
        assert!(r.employee.is_some(), "{r:?}");
        // frontSerialNo is the serial of the event recorded before (the history's last, then each other).
        assert_eq!(r.front_serial.map(|f| f + 1), r.serial, "{r:?}");
    }
    assert!(received[0].content_type.starts_with("multipart/form-data"));
    assert_eq!(received[8].content_type, "application/json");
    assert_eq!(d.push_stats().events_acknowledged, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_replay_and_seeded_losses() {
    let fleet = one_terminal().await;
    let d = &fleet.devices[0];
    let receiver = Receiver::default();
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let url = format!("http://{site}/push?token=t1");
    let lossy = PushConfig {
        url: Some(url.clone()),
        drop_share: 0.3,
        seed: 7,
        heartbeat_secs: 1,
        ..PushConfig::default()
    };
    d.set_push(lossy.clone()).expect("push configured");
    let serials = record(d, 40);
    let stats = d.push_stats();
    assert!(
        stats.events_dropped > 0 && stats.events_dropped < 40,
        "{stats:?}"
    );
    let delivered = 40 - stats.events_dropped;
    assert!(
        eventually(Duration::from_secs(10), || d
            .push_stats()
            .events_acknowledged
            == delivered)
        .await,
        "{:?}",
        d.push_stats()
    );
    let arrived: HashSet<u64> = receiver
        .received()
        .iter()
        .filter_map(|r| r.serial)
        .collect();
    let lost: HashSet<u64> = d.push_stats().dropped_serials.into_iter().collect();
    // Every recorded event either arrived or was lost on purpose (and stays searchable).
    assert_eq!(
        arrived.union(&lost).copied().collect::<HashSet<_>>(),
        serials.iter().copied().collect()
    );
    assert!(arrived.is_disjoint(&lost));
    // The same seed loses the same pushes.
    let first_losses = d.push_stats().dropped_serials;
    assert!(
        eventually(Duration::from_secs(5), || receiver
            .received()
            .iter()
            .any(|r| r.kind == "heartbeat"))
        .await
    );

    // Replay: every stored event again, as back-fill (currentEvent false).
    d.set_push(PushConfig {
        url: Some(url.clone()),
        ..PushConfig::default()
    })
    .expect("reconfigured");
    let stored = d.state.snapshot().events;
    let reply = replay_over_http(d).await;
    assert_eq!(reply, stored);
    assert!(
        eventually(Duration::from_secs(20), || {
            receiver
                .received()
                .iter()
                .filter(|r| r.current_event == Some(false))
                .count()
                == stored
        })
        .await
    );
    let replayed: HashSet<u64> = receiver
        .received()
        .iter()
        .filter(|r| r.current_event == Some(false))
        .filter_map(|r| r.serial)
        .collect();
    assert_eq!(replayed, (1..d.state.snapshot().next_serial).collect());

    // A second terminal run with the same seed and history loses the same serials.
    let again = one_terminal().await;
    let d2 = &again.devices[0];
    d2.set_push(lossy).expect("push configured");
    record(d2, 40);
    assert_eq!(d2.push_stats().dropped_serials, first_losses);
}

/// `POST /sim/push/replay` over the control endpoint, with a bare HTTP/1.1 request.
async fn replay_over_http(d: &SimDevice) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(d.addr)
        .await
        .expect("connect");
    stream
        .write_all(b"POST /sim/push/replay HTTP/1.1\r\nHost: sim\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        .await
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("answer");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    value["queued"].as_u64().expect("queued") as usize
}
