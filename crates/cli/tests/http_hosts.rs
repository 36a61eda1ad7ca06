//! Enable Push over ISAPI (issue 12): the core writes, reads and clears a terminal's HTTP listening slot
//! (`/ISAPI/Event/notification/httpHosts`) on the simulator over loopback, and the simulated terminal then
//! pushes its new events to the written URL, where a receiver reads them with the core's push parser.

mod support;

use std::time::Duration;

use attendance_sync::isapi::http_hosts::{
    clear_http_host, http_hosts, set_http_host, HttpHostError,
};
use attendance_sync::isapi::IsapiClient;
use attendance_sync::{DeviceConfig, Error, Password};
use attendance_sync_sim::{self as sim, Faults, PushConfig, PushFormat, SimConfig, SimDevice};
use support::{eventually, record, Receiver};

const PUSH_PATH: &str = "/api/method/attendance_sync.api.push";

async fn one_terminal(faults: Faults) -> sim::RunningSim {
    sim::start(SimConfig {
        days: 1,
        events_per_day: 20,
        faults,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn client(d: &SimDevice, password: &str) -> IsapiClient {
    let mut cfg = DeviceConfig::new("127.0.0.1", "admin", Password::new(password));
    cfg.port = Some(d.addr.port());
    cfg.name = d.name.clone();
    cfg.timeout = Duration::from_secs(5);
    cfg.retry.first_backoff = Duration::from_millis(20);
    IsapiClient::new(cfg).expect("client")
}

fn healthy(d: &SimDevice) -> IsapiClient {
    client(d, &SimConfig::default().password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_push_writes_the_slot_and_the_terminal_pushes_there() {
    let fleet = one_terminal(Faults::default()).await;
    let d = &fleet.devices[0];
    let c = healthy(d);
    let receiver = Receiver::default();
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let url = format!("http://{site}{PUSH_PATH}?token=tok-1");

    let before = http_hosts(&c).await.expect("slots");
    assert_eq!(before.len(), 2, "hostNumber 2, unused slots listed");
    assert!(before.iter().all(|h| h.is_empty() && h.url().is_none()));

    set_http_host(&c, 1, &url, false).await.expect("written");
    let hosts = http_hosts(&c).await.expect("slots");
    let slot = &hosts[0];
    assert_eq!(
        (slot.id, slot.protocol.as_str(), slot.port),
        (1, "HTTP", Some(site.port()))
    );
    assert_eq!(slot.host.as_deref(), Some("127.0.0.1"));
    assert_eq!(slot.path, format!("{PUSH_PATH}?token=tok-1"));
    assert_eq!(slot.format.as_deref(), Some("JSON"));
    assert_eq!(slot.auth.as_deref(), Some("none"));
    assert_eq!(slot.url().as_deref(), Some(url.as_str()));
    assert!(hosts[1].is_empty());

    // The terminal now pushes what it records to the written URL, as bare JSON (no /sim/push shape set).
    let serials = record(d, 3);
    assert!(
        eventually(Duration::from_secs(10), || receiver.received().len() >= 3).await,
        "pushes did not arrive"
    );
    let received = receiver.received();
    assert_eq!(
        received
            .iter()
            .map(|r| (r.token.as_str(), r.kind, r.serial))
            .collect::<Vec<_>>(),
        serials
            .iter()
            .map(|s| ("tok-1", "event", Some(*s)))
            .collect::<Vec<_>>()
    );
    assert!(received
        .iter()
        .all(|r| r.content_type == "application/json"));

    // Disable Push: the slot is empty again and nothing more is pushed.
    clear_http_host(&c, 1).await.expect("cleared");
    assert!(http_hosts(&c).await.expect("slots")[0].is_empty());
    record(d, 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        3,
        "a cleared slot pushes nothing"
    );
    assert_eq!(d.push_stats().events_sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_written_over_isapi_keeps_the_sim_push_shape() {
    let fleet = one_terminal(Faults::default()).await;
    let d = &fleet.devices[0];
    // The part name and losses are the firmware's: set through the control endpoint, no URL yet.
    d.set_push(PushConfig {
        format: PushFormat::AccessControllerEvent,
        ..PushConfig::default()
    })
    .expect("shape");
    let receiver = Receiver::default();
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    set_http_host(
        &healthy(d),
        2,
        &format!("http://{site}{PUSH_PATH}?token=tok-2"),
        false,
    )
    .await
    .expect("written");
    record(d, 2);
    assert!(eventually(Duration::from_secs(10), || receiver.received().len() >= 2).await);
    for r in receiver.received() {
        assert_eq!((r.token.as_str(), r.kind), ("tok-2", "event"));
        assert!(r.content_type.starts_with("multipart/form-data"), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_site_is_split_into_the_slot_fields() {
    let fleet = one_terminal(Faults::default()).await;
    let d = &fleet.devices[0];
    let c = healthy(d);
    let url = format!("https://erp.example.com{PUSH_PATH}?token=abc");
    set_http_host(&c, 1, &url, false).await.expect("written");
    let slot = http_hosts(&c).await.expect("slots").remove(0);
    assert_eq!(slot.protocol, "HTTPS");
    assert_eq!(slot.host.as_deref(), Some("erp.example.com"));
    assert_eq!(slot.port, Some(443));
    assert_eq!(slot.url().as_deref(), Some(url.as_str()));
    // Another port and an IPv4 address.
    let url = format!("https://10.1.2.3:8443{PUSH_PATH}?token=abc");
    set_http_host(&c, 1, &url, false).await.expect("rewritten");
    let slot = http_hosts(&c).await.expect("slots").remove(0);
    assert_eq!(
        (slot.host.as_deref(), slot.port),
        (Some("10.1.2.3"), Some(8443))
    );
    assert_eq!(slot.url().as_deref(), Some(url.as_str()));
}

#[tokio::test]
async fn another_systems_slot_is_left_alone_unless_overwritten() {
    let fleet = one_terminal(Faults::default()).await;
    let d = &fleet.devices[0];
    let c = healthy(d);
    // A VMS holds slot 1.
    set_http_host(&c, 1, "http://10.0.0.7:7660/vms/alarm?key=vms-secret", true)
        .await
        .expect("vms slot");
    let err = set_http_host(
        &c,
        1,
        &format!("https://erp.example.com{PUSH_PATH}?token=t"),
        false,
    )
    .await
    .expect_err("slot taken");
    let text = err.to_string();
    assert!(
        matches!(&err, HttpHostError::SlotTaken { id: 1, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("/vms/alarm") && !text.contains("vms-secret"),
        "{text}"
    );
    assert_eq!(
        http_hosts(&c).await.expect("slots")[0].route(),
        "/vms/alarm"
    );
    // Slot 2 is free; then a new token (rotation) rewrites the site's own slot without overwrite.
    set_http_host(
        &c,
        2,
        &format!("https://erp.example.com{PUSH_PATH}?token=t1"),
        false,
    )
    .await
    .expect("free slot");
    set_http_host(
        &c,
        2,
        &format!("https://erp.example.com{PUSH_PATH}?token=t2"),
        false,
    )
    .await
    .expect("own slot rewritten");
    assert!(http_hosts(&c).await.expect("slots")[1]
        .path
        .ends_with("token=t2"));
    // Asked to, it overwrites.
    set_http_host(
        &c,
        1,
        &format!("https://erp.example.com{PUSH_PATH}?token=t"),
        true,
    )
    .await
    .expect("overwritten");
}

#[tokio::test]
async fn firmware_without_http_listening_is_a_typed_error() {
    let fleet = one_terminal(Faults {
        http_hosts_not_supported: true,
        ..Faults::default()
    })
    .await;
    let d = &fleet.devices[0];
    let c = healthy(d);
    let url = format!("https://erp.example.com{PUSH_PATH}?token=secret-token");
    let errors = [
        http_hosts(&c).await.expect_err("read"),
        set_http_host(&c, 1, &url, false).await.expect_err("write"),
        set_http_host(&c, 1, &url, true)
            .await
            .expect_err("overwrite"),
        clear_http_host(&c, 1).await.expect_err("clear"),
    ];
    for err in &errors {
        match err {
            HttpHostError::NotSupported {
                status, sub_status, ..
            } => {
                assert_eq!((*status, sub_status.as_deref()), (403, Some("notSupport")));
            }
            other => panic!("expected NotSupported, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("does not offer HTTP listening"), "{text}");
        assert!(!text.contains("secret-token"), "{text}");
    }
    // A 403 is an answer, not a transient failure: one exchange per call after the challenge.
    assert_eq!(d.stats().failed_logins, 0);
}

#[tokio::test]
async fn a_wrong_password_is_not_retried() {
    let fleet = one_terminal(Faults::default()).await;
    let d = &fleet.devices[0];
    let c = client(d, "wrong-password");
    let err = set_http_host(
        &c,
        1,
        &format!("https://erp.example.com{PUSH_PATH}?token=t"),
        true,
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(err, HttpHostError::Device(Error::Auth { .. })),
        "{err:?}"
    );
    assert_eq!(
        d.stats().failed_logins,
        1,
        "one rejected attempt, never retried"
    );
    // The client stays stopped: a second call sends nothing.
    let again = clear_http_host(&c, 1).await.expect_err("still refused");
    assert!(matches!(again, HttpHostError::Device(Error::Auth { .. })));
    assert_eq!(d.stats().failed_logins, 1);
}

#[tokio::test]
async fn a_url_a_terminal_cannot_post_to_is_refused_before_any_request() {
    let fleet = one_terminal(Faults::default()).await;
    let d = &fleet.devices[0];
    let c = healthy(d);
    for url in [
        "ftp://erp.example.com/x",
        "https://admin:pw@erp.example.com/x?token=t",
        "erp.example.com/x",
    ] {
        let err = set_http_host(&c, 1, url, true).await.expect_err(url);
        assert!(matches!(err, HttpHostError::Url(_)), "{err:?}");
    }
    assert_eq!(c.exchanges(), 0);
}
