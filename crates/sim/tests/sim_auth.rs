//! Digest authentication of the simulator: challenges, verification, lockout, nonce limits.

mod sim_support;

use std::time::Duration;

use attendance_sync_sim::Faults;
use reqwest::Method;
use sim_support::{config, start, Client};

const INFO: &str = "/ISAPI/System/deviceInfo";

#[tokio::test]
async fn challenge_has_the_device_shape_and_costs_no_failure() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    let reply = client.challenge().await;
    let challenges = reply.challenges();
    assert_eq!(challenges.len(), 1);
    let header = &challenges[0];
    assert!(
        header.starts_with("Digest qop=\"auth\", realm=\"DS-K1T341CMFW\", nonce=\""),
        "{header}"
    );
    assert!(
        header.contains("opaque=\"") && header.ends_with("stale=\"FALSE\""),
        "{header}"
    );
    assert!(
        !header.contains("algorithm"),
        "plain MD5 devices do not name it: {header}"
    );
    assert_eq!(reply.content_type(), "application/xml");
    assert_eq!(reply.xml("statusValue").as_deref(), Some("401"));
    assert_eq!(reply.xml("retryLoginTime").as_deref(), Some("5"));
    assert_eq!(reply.xml("lockStatus").as_deref(), Some("unlock"));
    let ok = client.call(Method::GET, INFO, None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let stats = client.stats().await;
    assert_eq!(
        (stats.requests, stats.unauthorized, stats.failed_logins),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn wrong_password_counts_down_then_locks_even_the_right_one() {
    let sim = start(config(1, 10)).await;
    let device = &sim.devices[0];
    let mut bad = Client::new(device).with_password("wrong");
    let mut left = Vec::new();
    for _ in 0..5 {
        let reply = bad.call(Method::GET, INFO, None).await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.challenges().len(),
            1,
            "a failed login still re-challenges"
        );
        left.push((
            reply.xml("retryLoginTime").unwrap_or_default(),
            reply.xml("lockStatus").unwrap_or_default(),
        ));
    }
    let expected: Vec<(String, String)> = [
        ("4", "unlock"),
        ("3", "unlock"),
        ("2", "unlock"),
        ("1", "unlock"),
        ("0", "lock"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(left, expected);
    let mut good = Client::new(device);
    let locked = good.call(Method::GET, INFO, None).await;
    assert_eq!(locked.status, 401);
    assert_eq!(locked.xml("lockStatus").as_deref(), Some("lock"));
    assert_eq!(locked.xml("retryLoginTime").as_deref(), Some("0"));
    let unlock: u64 = locked
        .xml("unlockTime")
        .and_then(|t| t.parse().ok())
        .expect("unlockTime");
    assert!((1790..=1800).contains(&unlock), "unlockTime {unlock}");
    let stats = device.stats();
    assert_eq!(stats.failed_logins, 5);
    assert_eq!(
        stats.unauthorized,
        1 + 5 + 2,
        "challenges, failures and the locked attempt"
    );

    // Resetting the counters also lifts the lock.
    let reset = good
        .send(Method::POST, "/sim/stats/reset", None, None)
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(good.call(Method::GET, INFO, None).await.status, 200);
    assert_eq!(device.stats().failed_logins, 0);
}

#[tokio::test]
async fn lock_expires_after_unlock_secs() {
    let sim = start(config(1, 10)).await;
    let device = &sim.devices[0];
    device.set_faults(Faults {
        lock_after: 1,
        unlock_secs: 1,
        ..Faults::default()
    });
    let mut bad = Client::new(device).with_password("wrong");
    let first = bad.call(Method::GET, INFO, None).await;
    assert_eq!(first.xml("lockStatus").as_deref(), Some("lock"));
    assert_eq!(first.xml("unlockTime").as_deref(), Some("1"));
    let mut good = Client::new(device);
    assert_eq!(good.call(Method::GET, INFO, None).await.status, 401);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = good.call(Method::GET, INFO, None).await;
    assert_eq!(after.status, 200, "{}", after.body);
}

#[tokio::test]
async fn expired_nonce_is_stale_and_not_a_failure() {
    let sim = start(config(1, 10)).await;
    let device = &sim.devices[0];
    device.set_faults(Faults {
        nonce_ttl_secs: 1,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = client.call(Method::GET, INFO, None).await;
    assert_eq!(stale.status, 401);
    let challenges = stale.challenges();
    assert!(challenges[0].contains("stale=\"TRUE\""), "{challenges:?}");
    assert_eq!(stale.xml("retryLoginTime").as_deref(), Some("5"));
    // The fresh nonce of the stale answer works right away.
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    let stats = device.stats();
    assert_eq!(
        (stats.stale, stats.failed_logins, stats.unauthorized),
        (1, 0, 2)
    );
}

#[tokio::test]
async fn nonce_reuse_limit_with_and_without_challenge() {
    let sim = start(config(1, 10)).await;
    let device = &sim.devices[0];
    device.set_faults(Faults {
        nonce_max_uses: 2,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    let third = client.call(Method::GET, INFO, None).await;
    assert_eq!(third.status, 401, "the third use of a nonce is refused");
    assert!(third.challenges()[0].contains("stale=\"TRUE\""));
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);

    device.set_faults(Faults {
        nonce_max_uses: 2,
        no_challenge_on_reuse: true,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    client.call(Method::GET, INFO, None).await;
    client.call(Method::GET, INFO, None).await;
    let silent = client.call(Method::GET, INFO, None).await;
    assert_eq!(silent.status, 401);
    assert!(
        silent.challenges().is_empty(),
        "DS-KV6124 answers without WWW-Authenticate"
    );
    assert_eq!(silent.xml("lockStatus").as_deref(), Some("unlock"));
    // The nonce is dead: a new unauthenticated request is the way out.
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 401);
    client.challenge().await;
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    let stats = device.stats();
    assert_eq!(stats.failed_logins, 0);
    assert_eq!(stats.stale, 3);
}

#[tokio::test]
async fn replayed_nc_and_foreign_uri_are_refused() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    client.challenge().await;
    let auth = client.sign(&Method::GET, INFO);
    assert_eq!(
        client
            .send(Method::GET, INFO, None, Some(&auth))
            .await
            .status,
        200
    );
    let replay = client.send(Method::GET, INFO, None, Some(&auth)).await;
    assert_eq!(replay.status, 401, "the same nc twice is a replay");

    // Signed for the path without its query string: the digest uri must be path + query.
    client.challenge().await;
    let auth = client.sign(&Method::GET, "/ISAPI/System/deviceInfo");
    let other = client
        .send(
            Method::GET,
            "/ISAPI/System/deviceInfo?format=json",
            None,
            Some(&auth),
        )
        .await;
    assert_eq!(other.status, 401);
    let stats = client.stats().await;
    assert_eq!(stats.failed_logins, 0, "neither is a wrong password");

    // Basic credentials and garbage are plain challenges too.
    for header in [
        "Basic YWRtaW46U2ltLVBhc3MtMTIzNA==",
        "Digest username=\"admin",
        "Digest ü=1",
    ] {
        let reply = client.send(Method::GET, INFO, None, Some(header)).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.challenges().len(), 1);
    }
    assert_eq!(client.stats().await.failed_logins, 0);
}

#[tokio::test]
async fn sha256_and_dual_challenges() {
    let sim = start(config(1, 10)).await;
    let device = &sim.devices[0];
    device.set_faults(Faults {
        sha256: true,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    let reply = client.challenge().await;
    assert_eq!(reply.challenges().len(), 1);
    assert!(reply.challenges()[0].ends_with("algorithm=SHA-256"));
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);

    device.set_faults(Faults {
        dual_challenge: true,
        ..Faults::default()
    });
    let mut client = Client::new(device);
    let reply = client.challenge().await;
    let challenges = reply.challenges();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].ends_with("algorithm=SHA-256"));
    assert!(challenges[1].ends_with("algorithm=MD5"));
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    // MD5 from the second header of a fresh challenge works as well.
    let fresh = client.challenge().await.challenges();
    client.prompt = Some(digest_auth::parse(&fresh[1]).expect("md5 challenge"));
    assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);

    // MD5 is refused once the device offers SHA-256 only.
    device.set_faults(Faults {
        sha256: true,
        ..Faults::default()
    });
    let refused = client.call(Method::GET, INFO, None).await;
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn stats_count_requests_connections_and_reset() {
    let sim = start(config(1, 40)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    for _ in 0..3 {
        assert_eq!(client.call(Method::GET, INFO, None).await.status, 200);
    }
    let page = client.search(sim_support::all(0, 30)).await;
    assert_eq!(page.status, 200);
    let stats = client.stats().await;
    assert_eq!(
        stats.requests, 5,
        "challenge + 3 + search; /sim is not counted"
    );
    assert_eq!(stats.unauthorized, 1);
    assert_eq!(stats.acs_event_pages, 1);
    assert_eq!(stats.events_served, 30);
    assert_eq!(stats.connections, 1, "keep-alive reuses one connection");
    assert_eq!(stats.tls_handshakes, 0);
    let reset = client
        .send(Method::POST, "/sim/stats/reset", None, None)
        .await;
    assert_eq!(reset.json()["requests"], 0);
    assert_eq!(device.stats().requests, 0);
    let wrong = client
        .send(Method::GET, "/sim/stats/reset", None, None)
        .await;
    assert_eq!(wrong.status, 405);
}
