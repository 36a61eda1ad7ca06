//! Fault injection of the simulator: page faults, paging lies, random failures, /sim/faults.

mod sim_support;

use std::time::{Duration, Instant};

use attendance_sync_sim::{Faults, PageFault, PageFaultKind};
use reqwest::Method;
use serde_json::{json, Value};
use sim_support::{all, config, start, Client, Reply, ACS};

fn page(reply: &Reply) -> Value {
    reply.json()["AcsEvent"].clone()
}

fn serials(reply: &Reply) -> Vec<u64> {
    page(reply)["InfoList"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["serialNo"].as_u64())
                .collect()
        })
        .unwrap_or_default()
}

fn fault(kind: PageFaultKind, on_page: u32, times: u32) -> Faults {
    Faults {
        page_fault: Some(PageFault {
            kind,
            on_page,
            times,
        }),
        ..Faults::default()
    }
}

/// Signs and sends a search without unwrapping the transport result.
async fn try_search(client: &mut Client, position: u64) -> reqwest::Result<Reply> {
    if client.prompt.is_none() {
        client.challenge().await;
    }
    let auth = client.sign(&Method::POST, ACS);
    let body = json!({ "AcsEventCond": all(position, 30) });
    client
        .try_send(Method::POST, ACS, Some(&body), Some(&auth))
        .await
}

#[tokio::test]
async fn status_500_fires_on_the_page_and_the_given_times() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(fault(PageFaultKind::Status500, 2, 2));
    let mut client = Client::new(device);
    assert_eq!(client.search(all(0, 30)).await.status, 200);
    for _ in 0..2 {
        let failed = client.search(all(30, 30)).await;
        assert_eq!(failed.status, 500);
        assert_eq!(failed.json()["statusCode"], 3);
    }
    let retried = client.search(all(30, 30)).await;
    assert_eq!(retried.status, 200);
    assert_eq!(serials(&retried).len(), 30);
    assert_eq!(device.stats().acs_event_pages, 2);
}

#[tokio::test]
async fn drop_and_drop_mid_body_break_the_connection() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    for kind in [PageFaultKind::Drop, PageFaultKind::DropMidBody] {
        device.set_faults(fault(kind, 1, 1));
        let mut client = Client::new(device);
        assert!(
            try_search(&mut client, 0).await.is_err(),
            "{kind:?} must fail the exchange"
        );
        let again = try_search(&mut client, 0)
            .await
            .expect("next request works");
        assert_eq!(again.status, 200);
        assert_eq!(serials(&again).len(), 30);
    }
}

#[tokio::test]
async fn drop_mid_body_sends_half_of_the_announced_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(fault(PageFaultKind::DropMidBody, 1, 1));
    let mut client = Client::new(device);
    client.challenge().await;
    let auth = client.sign(&Method::POST, ACS);
    let body = json!({ "AcsEventCond": all(0, 30) }).to_string();
    let mut stream = tokio::net::TcpStream::connect(device.addr)
        .await
        .expect("connect");
    let request = format!(
        "POST {ACS} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw)).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers arrive");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let rest = &raw[split + 4..];
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let announced: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_string)
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    assert_eq!(rest.len(), announced / 2, "half the body, then the close");
}

#[tokio::test]
async fn malformed_page_is_truncated_json() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(fault(PageFaultKind::Malformed, 1, 1));
    let mut client = Client::new(device);
    let broken = client.search(all(0, 30)).await;
    assert_eq!(broken.status, 200);
    assert!(serde_json::from_str::<Value>(&broken.body).is_err());
    assert!(broken.body.starts_with('{'));
    let fine = client.search(all(0, 30)).await;
    assert_eq!(serials(&fine).len(), 30);
    assert_eq!(
        device.stats().acs_event_pages,
        1,
        "the truncated page is not counted"
    );
}

#[tokio::test]
async fn timeout_blocks_only_its_own_connection() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(fault(PageFaultKind::Timeout, 1, 1));
    let mut slow = Client::new(device);
    slow.challenge().await;
    let auth = slow.sign(&Method::POST, ACS);
    let body = json!({ "AcsEventCond": all(0, 30) });
    let request = slow
        .http
        .post(format!("{}{ACS}", slow.base))
        .header("Authorization", auth)
        .body(body.to_string())
        .timeout(Duration::from_millis(300))
        .send();
    let started = Instant::now();
    let (hung, fast) = tokio::join!(request, async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut other = Client::new(device);
        let reply = other.search(all(0, 30)).await;
        (reply.status, started.elapsed())
    });
    let err = hung.expect_err("the hung page times out");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(fast.0, 200, "another connection is served meanwhile");
    assert!(fast.1 < Duration::from_millis(300));
}

#[tokio::test]
async fn repeat_page_serves_the_previous_items_with_more() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(fault(PageFaultKind::RepeatPage, 2, 1));
    let mut client = Client::new(device);
    let first = client.search(all(0, 30)).await;
    let repeated = client.search(all(30, 30)).await;
    assert_eq!(serials(&repeated), serials(&first));
    assert_eq!(page(&repeated)["responseStatusStrg"], "MORE");
    let second = client.search(all(30, 30)).await;
    assert_ne!(serials(&second), serials(&first));
}

#[tokio::test]
async fn unauthorized_mid_paging_is_a_fresh_challenge() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(fault(PageFaultKind::Unauthorized401, 2, 1));
    let mut client = Client::new(device);
    let first = client.search(all(0, 30)).await;
    assert_eq!(first.status, 200);
    let refused = client.search(all(30, 30)).await;
    assert_eq!(refused.status, 401);
    let challenges = refused.challenges();
    assert_eq!(challenges.len(), 1);
    assert!(challenges[0].contains("stale=\"FALSE\""));
    assert_eq!(refused.xml("retryLoginTime").as_deref(), Some("5"));
    let resumed = client.search(all(30, 30)).await;
    assert_eq!(resumed.status, 200);
    let stats = device.stats();
    assert_eq!(stats.failed_logins, 0);
    assert_eq!(stats.unauthorized, 2);
}

#[tokio::test]
async fn more_forever_and_empty_more() {
    let sim = start(config(1, 50)).await;
    let device = &sim.devices[0];
    device.set_faults(Faults {
        more_forever: true,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    let last = client.search(all(30, 30)).await;
    assert_eq!(page(&last)["responseStatusStrg"], "MORE");
    assert_eq!(
        page(&last)["totalMatches"],
        50,
        "the count stays honest: only the status lies"
    );
    let beyond = client.search(all(50, 30)).await;
    assert_eq!(page(&beyond)["responseStatusStrg"], "MORE");
    assert_eq!(serials(&beyond), serials(&last), "the final page again");

    device.set_faults(Faults {
        empty_more: true,
        ..Faults::default()
    });
    let last = client.search(all(30, 30)).await;
    assert_eq!(page(&last)["responseStatusStrg"], "MORE");
    assert_eq!(serials(&last).len(), 20);
    let empty = client.search(all(50, 30)).await;
    let body = page(&empty);
    assert_eq!(body["responseStatusStrg"], "MORE");
    assert_eq!(body["numOfMatches"], 0);
    assert_eq!(body["InfoList"], json!([]));
    assert_eq!(body["totalMatches"], 50);

    device.set_faults(Faults::default());
    let past_end = client.search(all(50, 30)).await;
    assert_eq!(page(&past_end)["responseStatusStrg"], "NO MATCH");
}

#[tokio::test]
async fn lying_counts_and_outside_window() {
    let sim = start(config(1, 100)).await;
    let device = &sim.devices[0];
    device.set_faults(Faults {
        lie_num_of_matches: true,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    let short = client.search(all(90, 30)).await;
    assert_eq!(page(&short)["numOfMatches"], 30);
    assert_eq!(serials(&short).len(), 10);

    device.set_faults(Faults::default());
    let mut cond = all(0, 30);
    cond["startTime"] = json!("2024-03-01T10:00:00+06:00");
    cond["endTime"] = json!("2024-03-01T14:00:00+06:00");
    let honest = client.search(cond.clone()).await;
    device.set_faults(Faults {
        outside_window: true,
        ..Faults::default()
    });
    let leaky = client.search(cond.clone()).await;
    let (honest_serials, leaky_serials) = (serials(&honest), serials(&leaky));
    assert_eq!(leaky_serials.len(), honest_serials.len() + 2);
    assert_eq!(
        &leaky_serials[1..leaky_serials.len() - 1],
        honest_serials.as_slice()
    );
    let outside = &page(&leaky)["InfoList"];
    let first_time = outside[0]["time"].as_str().expect("time");
    assert!(first_time < "2024-03-01T10:00:00+06:00", "{first_time}");
    cond["searchResultPosition"] = json!(1);
    let later = client.search(cond.clone()).await;
    device.set_faults(Faults::default());
    let honest_later = client.search(cond).await;
    assert_eq!(
        serials(&later),
        serials(&honest_later),
        "only first pages leak"
    );
}

#[tokio::test]
async fn not_supported_xml_busy_and_drops() {
    let sim = start(config(1, 30)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    device.set_faults(Faults {
        acs_not_supported: true,
        ..Faults::default()
    });
    let refused = client.search(all(0, 30)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["subStatusCode"], "notSupport");
    assert_eq!(refused.json()["statusCode"], 4);

    device.set_faults(Faults {
        xml_instead_of_json: true,
        ..Faults::default()
    });
    let xml = client.search(all(0, 30)).await;
    assert_eq!(xml.content_type(), "application/json");
    assert!(xml.body.starts_with("<?xml"), "{}", xml.body);

    device.set_faults(Faults {
        error_5xx_rate: 1.0,
        ..Faults::default()
    });
    let busy = client.search(all(0, 30)).await;
    assert_eq!(busy.status, 503);
    assert_eq!(busy.json()["subStatusCode"], "deviceBusy");
    assert_eq!(busy.json()["statusCode"], 2);

    device.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    assert!(try_search(&mut client, 0).await.is_err());

    device.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(try_search(&mut client, 0).await.expect("slow").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn random_faults_are_seeded() {
    async fn outcomes() -> Vec<u16> {
        let sim = start(config(1, 30)).await;
        let device = &sim.devices[0];
        device.set_faults(Faults {
            error_5xx_rate: 0.5,
            ..Faults::default()
        });
        let mut client = Client::new(device);
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(client.search(all(0, 30)).await.status);
        }
        statuses
    }
    let (a, b) = (outcomes().await, outcomes().await);
    assert_eq!(a, b);
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn faults_endpoint_reads_and_replaces() {
    let sim = start(config(1, 30)).await;
    let device = &sim.devices[0];
    let client = Client::new(device);
    let current = client
        .send(Method::GET, "/sim/faults", None, None)
        .await
        .json();
    assert_eq!(current["serial_search"], true);
    assert_eq!(current["position_cap"], 150_000);
    assert_eq!(current["max_results_cap"], 30);
    assert_eq!(current["lock_after"], 5);
    assert_eq!(current["time_handling"], "honour");
    let new = json!({
        "nonce_max_uses": 3,
        "time_handling": "reject-naive",
        "page_fault": {"kind": "drop_mid_body", "on_page": 2}
    });
    let reply = client
        .send(Method::PUT, "/sim/faults", Some(&new), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let faults = device.state.faults();
    assert_eq!(faults.nonce_max_uses, 3);
    assert_eq!(faults.lock_after, 5, "omitted fields keep their defaults");
    assert_eq!(
        faults.page_fault,
        Some(PageFault {
            kind: PageFaultKind::DropMidBody,
            on_page: 2,
            times: 1
        })
    );
    for bad in [
        json!({"drop_rate": 2.0}),
        json!({"page_fault": {"kind": "nope"}}),
        json!([1]),
    ] {
        let reply = client
            .send(Method::PUT, "/sim/faults", Some(&bad), None)
            .await;
        assert_eq!(reply.status, 400, "{bad}");
    }
    assert_eq!(
        device.state.faults().nonce_max_uses,
        3,
        "a rejected PUT changes nothing"
    );
}
