//! System resources, users, routing, HTTPS and fleet start-up of the simulator.

mod sim_support;

use std::collections::HashSet;
use std::net::SocketAddr;

use attendance_sync_sim::{self as sim, Faults, SimConfig};
use chrono::{DateTime, FixedOffset, Utc};
use reqwest::Method;
use serde_json::json;
use sim_support::{config, start, Client};

#[tokio::test]
async fn system_time_has_inverted_posix_sign_and_skew() {
    for (offset, zone, suffix) in [
        (6 * 3600, "CST-6:00:00", "+06:00"),
        (-3 * 3600, "CST+3:00:00", "-03:00"),
        (5 * 3600 + 45 * 60, "CST-5:45:00", "+05:45"),
        (0, "CST+0:00:00", "+00:00"),
    ] {
        let sim = start(SimConfig {
            utc_offset: FixedOffset::east_opt(offset).expect("offset"),
            ..config(1, 10)
        })
        .await;
        let mut client = Client::new(&sim.devices[0]);
        let reply = client.call(Method::GET, "/ISAPI/System/time", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type(), "application/xml");
        assert!(reply
            .body
            .contains("xmlns=\"http://www.isapi.org/ver20/XMLSchema\""));
        assert_eq!(reply.xml("timeZone").as_deref(), Some(zone));
        assert_eq!(reply.xml("timeMode").as_deref(), Some("NTP"));
        let local = reply.xml("localTime").expect("localTime");
        assert!(local.ends_with(suffix), "{local}");
        let parsed = DateTime::parse_from_rfc3339(&local).expect("localTime parses");
        assert!((parsed.timestamp() - Utc::now().timestamp()).abs() <= 2);
    }
    let sim = start(config(1, 10)).await;
    sim.devices[0].set_faults(Faults {
        clock_skew_secs: -3600,
        ..Faults::default()
    });
    let mut client = Client::new(&sim.devices[0]);
    let reply = client.call(Method::GET, "/ISAPI/System/time", None).await;
    let local =
        DateTime::parse_from_rfc3339(&reply.xml("localTime").expect("time")).expect("parse");
    let skew = local.timestamp() - Utc::now().timestamp();
    assert!((-3602..=-3598).contains(&skew), "skew {skew}");
}

#[tokio::test]
async fn default_history_ends_at_the_skewed_device_clock() {
    let sim = start(SimConfig {
        history_end: None,
        faults: Faults {
            clock_skew_secs: -2 * 86_400,
            ..Faults::default()
        },
        ..config(1, 50)
    })
    .await;
    let mut client = Client::new(&sim.devices[0]);
    let mut cond = sim_support::all(0, 1);
    cond["timeReverseOrder"] = json!(true);
    let reply = client.search(cond).await;
    let newest = reply.json()["AcsEvent"]["InfoList"][0]["time"]
        .as_str()
        .map(|t| DateTime::parse_from_rfc3339(t).expect("time").timestamp())
        .expect("newest event");
    let device_now = Utc::now().timestamp() - 2 * 86_400;
    assert!(newest <= device_now + 1, "no events after the device clock");
    assert!(
        newest > device_now - 86_400,
        "the history reaches up to the device clock"
    );
}

#[tokio::test]
async fn device_info_is_xml_and_unique_per_device() {
    let sim = start(SimConfig {
        devices: 3,
        ..config(1, 10)
    })
    .await;
    let mut serials = HashSet::new();
    let mut macs = HashSet::new();
    for device in &sim.devices {
        let mut client = Client::new(device);
        let reply = client
            .call(Method::GET, "/ISAPI/System/deviceInfo?format=json", None)
            .await;
        assert_eq!(reply.status, 200);
        assert!(reply.body.starts_with("<?xml"), "format=json is ignored");
        assert_eq!(reply.xml("model").as_deref(), Some("DS-K1T341CMFW"));
        assert_eq!(reply.xml("deviceType").as_deref(), Some("ACS"));
        assert_eq!(
            reply.xml("deviceName").as_deref(),
            Some(device.name.as_str())
        );
        assert!(reply.xml("firmwareVersion").is_some());
        serials.insert(reply.xml("serialNumber").expect("serial"));
        macs.insert(reply.xml("macAddress").expect("mac"));
    }
    assert_eq!(serials.len(), 3);
    assert_eq!(macs.len(), 3);
}

#[tokio::test]
async fn user_search_pages_and_count() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    let path = "/ISAPI/AccessControl/UserInfo/Search?format=json";
    let search = |position: u64, max: u64| json!({"UserInfoSearchCond": {"searchID": "u", "searchResultPosition": position, "maxResults": max}});
    let first = client
        .call(Method::POST, path, Some(&search(0, 100)))
        .await
        .json();
    let body = &first["UserInfoSearch"];
    assert_eq!(body["responseStatusStrg"], "MORE");
    assert_eq!(body["numOfMatches"], 30);
    assert_eq!(body["totalMatches"], 50);
    assert_eq!(body["UserInfo"][2]["employeeNo"], "00042");
    assert_eq!(body["UserInfo"][0]["userType"], "normal");
    let last = client
        .call(Method::POST, path, Some(&search(30, 30)))
        .await
        .json();
    assert_eq!(last["UserInfoSearch"]["responseStatusStrg"], "OK");
    assert_eq!(last["UserInfoSearch"]["numOfMatches"], 20);
    let none = client
        .call(Method::POST, path, Some(&search(50, 30)))
        .await
        .json();
    assert_eq!(none["UserInfoSearch"]["responseStatusStrg"], "NO MATCH");
    assert!(none["UserInfoSearch"].get("UserInfo").is_none());
    let one = json!({"UserInfoSearchCond": {"searchID": "u", "searchResultPosition": 0, "maxResults": 30,
                     "EmployeeNoList": [{"employeeNo": "00042"}, {"employeeNo": "42"}]}});
    let one = client.call(Method::POST, path, Some(&one)).await.json();
    assert_eq!(one["UserInfoSearch"]["totalMatches"], 1);
    let bad = client
        .call(
            Method::POST,
            path,
            Some(&json!({"UserInfoSearchCond": {"searchID": "u"}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errorMsg"], "searchResultPosition");
    let count = client
        .call(
            Method::GET,
            "/ISAPI/AccessControl/UserInfo/Count?format=json",
            None,
        )
        .await
        .json();
    assert_eq!(count["UserInfoCount"]["userNumber"], 50);
    assert_eq!(client.stats().await.user_pages, 4);
    sim.devices[0].set_faults(Faults {
        under_report_total: true,
        ..Faults::default()
    });
    let under = client
        .call(Method::POST, path, Some(&search(0, 30)))
        .await
        .json();
    assert_eq!(under["UserInfoSearch"]["responseStatusStrg"], "MORE");
    assert_eq!(
        under["UserInfoSearch"]["totalMatches"], 30,
        "under-reported: the scan so far"
    );
    let rest = client
        .call(Method::POST, path, Some(&search(30, 30)))
        .await
        .json();
    assert_eq!(rest["UserInfoSearch"]["responseStatusStrg"], "OK");
    assert_eq!(rest["UserInfoSearch"]["totalMatches"], 50);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    let missing = client.call(Method::GET, "/ISAPI/Nope/thing", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.xml("subStatusCode").as_deref(), Some("notSupport"));
    assert_eq!(missing.xml("statusCode").as_deref(), Some("4"));
    let wrong = client
        .call(
            Method::GET,
            "/ISAPI/AccessControl/AcsEvent?format=json",
            None,
        )
        .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.json()["subStatusCode"], "methodNotAllowed");
    let wrong_xml = client.call(Method::POST, "/ISAPI/System/time", None).await;
    assert_eq!(wrong_xml.status, 405);
    assert_eq!(
        wrong_xml.xml("subStatusCode").as_deref(),
        Some("methodNotAllowed")
    );
    let before = client.stats().await.requests;
    let outside = client.send(Method::GET, "/index.html", None, None).await;
    assert_eq!(outside.status, 404);
    assert_eq!(
        client.stats().await.requests,
        before,
        "only /ISAPI requests are counted"
    );
    let sim_missing = client.send(Method::GET, "/sim/nothing", None, None).await;
    assert_eq!(sim_missing.status, 404);
}

#[tokio::test]
async fn garbage_bodies_never_break_the_device() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    let paths = [
        "/ISAPI/AccessControl/AcsEvent?format=json",
        "/ISAPI/AccessControl/AcsEventTotalNum?format=json",
        "/ISAPI/AccessControl/UserInfo/Search?format=json",
    ];
    let bodies = [
        "",
        "null",
        "[]",
        "\"x\"",
        "{\"AcsEventCond\": 5}",
        "{\"AcsEventCond\": {\"searchID\": 1}}",
        "{\"AcsEventCond\": {\"searchID\": \"x\", \"searchResultPosition\": 1e30, \"maxResults\": 30, \"major\": 0, \"minor\": 0}}",
        "{\"AcsEventCond\": {\"searchID\": \"x\", \"searchResultPosition\": 0, \"maxResults\": 30, \"major\": 99999999999, \"minor\": 0}}",
        "{\"AcsEventTotalNumCond\": {\"startTime\": 7}}",
        "{\"UserInfoSearchCond\": {\"searchID\": \"u\", \"searchResultPosition\": 0, \"maxResults\": 5, \"EmployeeNoList\": [1]}}",
        "\u{0}\u{1}\u{ff}",
    ];
    for path in paths {
        for body in bodies {
            if client.prompt.is_none() {
                client.challenge().await;
            }
            let auth = client.sign(&Method::POST, path);
            let reply = client
                .http
                .post(format!("{}{path}", client.base))
                .header("Authorization", auth)
                .body(body)
                .send()
                .await
                .expect("the device answers");
            assert_eq!(reply.status().as_u16(), 400, "{path} {body:?}");
        }
    }
    assert_eq!(
        client
            .call(Method::GET, "/ISAPI/System/time", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let sim = start(SimConfig {
        https: true,
        ..config(1, 40)
    })
    .await;
    let device = &sim.devices[0];
    assert!(device.base_url().starts_with("https://127.0.0.1:"));
    assert!(sim
        .cert_pem
        .as_deref()
        .is_some_and(|p| p.contains("BEGIN CERTIFICATE")));
    let mut client = Client::new(device);
    let page = client.search(sim_support::all(0, 30)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["AcsEvent"]["numOfMatches"], 30);
    let stats = device.stats();
    assert_eq!(stats.tls_handshakes, 1);
    assert_eq!(stats.connections, 1);

    // Pinning the generated certificate works as well.
    let cert =
        reqwest::Certificate::from_pem(sim.cert_pem.as_deref().unwrap_or_default().as_bytes())
            .expect("pem");
    let pinned = reqwest::Client::builder()
        .add_root_certificate(cert)
        .build()
        .expect("client");
    let reply = pinned
        .get(format!("{}/sim/stats", device.base_url()))
        .send()
        .await
        .expect("verified TLS");
    assert_eq!(reply.status().as_u16(), 200);
}

#[tokio::test]
async fn consecutive_ports_and_free_ports() {
    let sim = start(SimConfig {
        devices: 4,
        ..config(1, 5)
    })
    .await;
    let ports: HashSet<u16> = sim.devices.iter().map(|d| d.addr.port()).collect();
    assert_eq!(ports.len(), 4, "port 0 gives every device its own port");
    drop(sim);

    let mut started = None;
    for _ in 0..10 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base > 65_000 {
            continue;
        }
        let listen: SocketAddr = format!("127.0.0.1:{base}").parse().expect("addr");
        if let Ok(sim) = sim::start(SimConfig {
            devices: 3,
            listen,
            ..config(1, 5)
        })
        .await
        {
            started = Some((base, sim));
            break;
        }
    }
    let (base, sim) = started.expect("three consecutive free ports");
    let ports: Vec<u16> = sim.devices.iter().map(|d| d.addr.port()).collect();
    assert_eq!(ports, vec![base, base + 1, base + 2]);
    let names: Vec<&str> = sim.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["dev001", "dev002", "dev003"]);
}

#[tokio::test]
async fn a_thousand_devices_start_and_shut_down() {
    let sim = start(SimConfig {
        devices: 1000,
        ..config(1, 20)
    })
    .await;
    assert_eq!(sim.devices.len(), 1000);
    let ports: HashSet<u16> = sim.devices.iter().map(|d| d.addr.port()).collect();
    assert_eq!(ports.len(), 1000);
    assert!(sim.devices.iter().all(|d| d.event_count == 20));
    let last = &sim.devices[999];
    let mut client = Client::new(last);
    assert_eq!(
        client.search(sim_support::all(0, 30)).await.json()["AcsEvent"]["totalMatches"],
        20
    );
    let addr = last.addr;
    sim.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listeners are closed"
    );
}

#[tokio::test]
async fn invalid_configs_are_refused() {
    for bad in [
        SimConfig {
            devices: 0,
            ..SimConfig::default()
        },
        SimConfig {
            door_event_share: 0.8,
            failed_auth_share: 0.5,
            ..SimConfig::default()
        },
        SimConfig {
            faults: Faults {
                max_results_cap: 0,
                ..Faults::default()
            },
            ..SimConfig::default()
        },
    ] {
        let err = sim::start(bad).await.err().expect("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}

/// `serialNumber` of deviceInfo.
async fn hardware_serial(device: &sim::SimDevice) -> String {
    Client::new(device)
        .call(Method::GET, "/ISAPI/System/deviceInfo", None)
        .await
        .xml("serialNumber")
        .expect("serialNumber")
}

#[tokio::test]
async fn counter_reset_new_events_and_a_swapped_serial_number_at_runtime() {
    let sim = start(config(1, 50)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    let original = hardware_serial(device).await;
    let state = client
        .send(Method::GET, "/sim/device", None, None)
        .await
        .json();
    assert_eq!(state["serial_number"], original.as_str());
    assert_eq!(state["next_serial"], 51);
    assert_eq!(state["events"], 50);

    // Two punches now continue the counter.
    let body = json!({"count": 2, "step_secs": 30});
    let recorded = client
        .send(Method::POST, "/sim/events", Some(&body), None)
        .await
        .json();
    let serials: Vec<u64> = recorded["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["serial_no"].as_u64())
        .collect();
    assert_eq!(serials, vec![51, 52]);

    // A counter reset keeps the log (a firmware upgrade) or clears it (a factory reset).
    let reset = client
        .send(Method::POST, "/sim/serial-reset", None, None)
        .await
        .json();
    assert_eq!(
        (reset["next_serial"].as_u64(), reset["events"].as_u64()),
        (Some(1), Some(52))
    );
    let body = json!({"count": 3, "employee_no": recorded["events"][0]["employee_no"]});
    let after = client
        .send(Method::POST, "/sim/events", Some(&body), None)
        .await
        .json();
    let times: Vec<&str> = after["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["time"].as_str())
        .collect();
    assert_eq!(after["events"][0]["serial_no"], 1);
    assert_eq!(after["events"][2]["serial_no"], 3);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert!(
        times[0] > recorded["events"][1]["time"].as_str().expect("time"),
        "new times"
    );
    let (served, _) = sim_support::page_through(&mut client, sim_support::all(0, 30)).await;
    assert_eq!(served.len(), 55, "old and new events, serials 1-3 twice");
    let cleared = json!({"clear_log": true});
    let wiped = client
        .send(Method::POST, "/sim/serial-reset", Some(&cleared), None)
        .await
        .json();
    assert_eq!(wiped["events"], 0);

    // A swapped terminal: another hardware serial number.
    let body = json!({"serial_number": "DSK1T341CMFW20250101SWAPPED1"});
    let swapped = client
        .send(Method::PUT, "/sim/device", Some(&body), None)
        .await;
    assert_eq!(swapped.status, 200, "{}", swapped.body);
    assert_eq!(
        hardware_serial(device).await,
        "DSK1T341CMFW20250101SWAPPED1"
    );
    for bad in [
        json!({"serial_number": ""}),
        json!({"serial": "x"}),
        json!([1]),
    ] {
        let refused = client
            .send(Method::PUT, "/sim/device", Some(&bad), None)
            .await;
        assert_eq!(refused.status, 400, "{bad}");
    }
    let bad = json!({"count": 1, "employee_no": "no-such-person"});
    let refused = client
        .send(Method::POST, "/sim/events", Some(&bad), None)
        .await;
    assert_eq!(refused.status, 400);
}
