//! `attendance-sync relay` as it runs on an office LAN: the binary pulling simulated terminals over loopback and
//! delivering to a real HTTP receiver written here (reading each body with the core's push parser, answering as
//! docs/push.md says the site answers). Killed mid-delivery, a site that is down, a token the site refuses.

mod support;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use attendance_sync_sim::{RecordRequest, SimConfig};
use support::relay::{
    relay_command, relay_log, setup, start_relay, stop, stored, stored_set, terminal_events,
    terminals, token,
};
use support::{eventually, Receiver};

// The relay runs as a child process; the simulator and the receiver answer on this runtime's threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_delivery_and_restarted_every_event_arrives_and_only_unacked_ones_twice() {
    let fleet = terminals(2, 300).await;
    let receiver = Receiver::default();
    receiver.set_mode(|m| m.delay = Duration::from_millis(3));
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let dir = setup("kill", &fleet, site);
    let total = terminal_events(&fleet).len();

    let relay = start_relay(&dir, &fleet, 1);
    let some = eventually(Duration::from_secs(60), || {
        stored_set(&receiver).len() >= total / 4
    })
    .await;
    stop(relay);
    assert!(some, "the relay delivered nothing within a minute");
    let at_kill = stored_set(&receiver).len();
    assert!(
        at_kill < total,
        "killed after the last delivery, not in the middle: {at_kill} of {total}"
    );

    // People keep punching while the relay is down.
    for d in &fleet.devices {
        let request = RecordRequest {
            count: 5,
            ..RecordRequest::default()
        };
        d.state
            .record(&request, &d.state.faults())
            .expect("recorded");
    }
    let expected = terminal_events(&fleet);
    assert_eq!(expected.len(), total + 10);

    let relay = start_relay(&dir, &fleet, 2);
    let all = eventually(Duration::from_secs(90), || {
        stored_set(&receiver) == expected
    })
    .await;
    // A little longer: nothing more may arrive once everything has.
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop(relay);
    let received = receiver.received();
    let got = stored(&received);
    let distinct: HashSet<_> = got.iter().cloned().collect();
    assert!(
        all,
        "missing after the restart: {:?}",
        expected.difference(&distinct).take(10).collect::<Vec<_>>()
    );
    assert_eq!(
        distinct, expected,
        "events the terminals never recorded arrived"
    );
    // At least once: each device had at most one POST in flight when the relay was killed, whose 200 the relay
    // did not record; that one may come again, nothing else.
    let mut counts: HashMap<&(String, u64), usize> = HashMap::new();
    for key in &got {
        *counts.entry(key).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= fleet.devices.len(),
        "more than the in-flight events came twice: {repeated:?}"
    );
    assert!(
        repeated.iter().all(|(_, n)| **n == 2),
        "an event came more than twice: {repeated:?}"
    );
    // Every body read as a stored (not live) access event with the terminal's time and person.
    assert!(received
        .iter()
        .filter(|r| r.kind == "event")
        .all(|r| r.current_event == Some(false)
            && r.time.is_some()
            && r.content_type == "application/json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_unreachable_then_failing_then_up_loses_nothing() {
    let fleet = terminals(1, 200).await;
    // A port with nothing listening: the site is unreachable at first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let dir = setup("down", &fleet, port);
    let relay = start_relay(&dir, &fleet, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Then it answers 503 for a while.
    let receiver = Receiver::default();
    receiver.set_mode(|m| m.down = true);
    receiver.serve(port).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let while_down = receiver.received();
    assert!(
        !while_down.is_empty(),
        "the relay did not try again once the site answered"
    );
    assert!(while_down.iter().all(|r| r.status == 503));
    // Backoff (0.1 s doubling to 0.5 s): a handful of attempts, not a storm.
    assert!(
        while_down.len() <= 8,
        "{} attempts in 2 s while the site was down",
        while_down.len()
    );

    receiver.set_mode(|m| m.down = false);
    let expected = terminal_events(&fleet);
    let all = eventually(Duration::from_secs(60), || {
        stored_set(&receiver) == expected
    })
    .await;
    stop(relay);
    assert!(
        all,
        "{} of {} events after the site came back",
        stored_set(&receiver).len(),
        expected.len()
    );
    let got = stored(&receiver.received());
    assert_eq!(
        got.len(),
        expected.len(),
        "an acknowledged event was sent again"
    );
    let log = relay_log(&dir, 1);
    assert!(
        log.contains("cannot connect") && log.contains("HTTP 503"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_that_device_once_and_the_other_goes_on() {
    let fleet = terminals(2, 100).await;
    let receiver = Receiver::default();
    receiver.set_mode(|m| {
        m.refused_tokens.insert(token(1));
    });
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let dir = setup("401", &fleet, site);
    let mut relay = start_relay(&dir, &fleet, 1);
    let first: HashSet<_> = terminal_events(&fleet)
        .into_iter()
        .filter(|(t, _)| *t == token(0))
        .collect();
    let delivered = eventually(Duration::from_secs(60), || stored_set(&receiver) == first).await;
    // Several poll and backoff periods more: a retry would show.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let still_running = relay.try_wait().expect("relay status").is_none();
    stop(relay);
    assert!(delivered, "the other device's events did not all arrive");
    assert!(
        still_running,
        "the relay exited instead of serving the other device"
    );
    let refused: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.token == token(1))
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "the refused token was tried again: {} requests",
        refused.len()
    );
    assert_eq!(refused[0].status, 401);
    let log = relay_log(&dir, 1);
    assert!(
        log.contains("HTTP 401") && log.contains("not retried"),
        "{log}"
    );
    assert!(
        !log.contains(&token(1)) && !log.contains(&token(0)),
        "a token was printed: {log}"
    );
    assert!(
        !log.contains(&SimConfig::default().password),
        "the password was printed: {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_on_two_devices_is_a_configuration_error_naming_both() {
    let fleet = terminals(2, 1).await;
    let dir = setup("same-token", &fleet, "127.0.0.1:9".parse().expect("addr"));
    let log = File::create(dir.join("stderr-1.log")).expect("log file");
    let mut relay = relay_command(&dir, fleet.devices.len())
        .env("RELAY_TEST_TOKEN_1", token(0))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the relay starts");
    let exited = eventually(Duration::from_secs(10), || {
        relay.try_wait().expect("relay status").is_some()
    })
    .await;
    let code = relay
        .try_wait()
        .expect("relay status")
        .and_then(|s| s.code());
    stop(relay);
    let err = relay_log(&dir, 1);
    assert!(
        exited,
        "the relay started with one token on two devices: {err}"
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&fleet.devices[0].name) && err.contains(&fleet.devices[1].name),
        "the error does not name both devices: {err}"
    );
    assert!(!err.contains(&token(0)), "the token was printed: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
