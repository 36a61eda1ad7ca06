//! AcsEvent search of the simulator: paging, filters, validation, time zones, field styles.

mod sim_support;

use std::collections::HashSet;

use attendance_sync_sim::{ClockStep, Faults, FieldStyle, ResultOrder, SimConfig, TimeHandling};
use chrono::DateTime;
use reqwest::Method;
use serde_json::{json, Value};
use sim_support::{all, config, page_through, start, Client, ACS};

fn items(reply: &sim_support::Reply) -> Vec<Value> {
    reply.json()["AcsEvent"]["InfoList"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn times(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|i| {
            DateTime::parse_from_rfc3339(i["time"].as_str().expect("time"))
                .expect("time with offset")
                .timestamp()
        })
        .collect()
}

#[tokio::test]
async fn pages_are_clamped_to_30_and_end_with_ok() {
    let sim = start(config(1, 100)).await;
    assert_eq!(sim.devices[0].event_count, 100);
    let mut client = Client::new(&sim.devices[0]);
    let first = client.search(all(0, 100)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let page = first.json()["AcsEvent"].clone();
    assert_eq!(page["searchID"], "t1");
    assert_eq!(page["responseStatusStrg"], "MORE");
    assert_eq!(
        page["numOfMatches"], 30,
        "maxResults 100 is silently clamped"
    );
    assert_eq!(page["totalMatches"], 100);
    assert_eq!(items(&first).len(), 30);

    let last = client.search(all(90, 100)).await;
    let page = last.json()["AcsEvent"].clone();
    assert_eq!(page["responseStatusStrg"], "OK");
    assert_eq!(page["numOfMatches"], 10);

    let (serials, pages) = page_through(&mut client, all(0, 100)).await;
    assert_eq!(pages, 4);
    let unique: HashSet<u64> = serials.iter().copied().collect();
    assert_eq!(unique, (1..=100).collect::<HashSet<u64>>());
    assert_eq!(client.stats().await.events_served, 30 + 10 + 100);
}

#[tokio::test]
async fn results_are_in_time_order_not_serial_order() {
    let sim = start(SimConfig {
        burst_share: 0.5,
        ..config(2, 300)
    })
    .await;
    let mut client = Client::new(&sim.devices[0]);
    let mut all_items = Vec::new();
    for position in (0..600).step_by(30) {
        all_items.extend(items(&client.search(all(position, 30)).await));
    }
    assert_eq!(all_items.len(), 600);
    let t = times(&all_items);
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "ascending time");
    let serial = |i: &Value| i["serialNo"].as_u64().expect("serial");
    let inverted = all_items
        .windows(2)
        .zip(t.windows(2))
        .filter(|(items, t)| t[0] == t[1] && serial(&items[0]) > serial(&items[1]))
        .count();
    assert!(
        inverted > 0,
        "equal-time events come in no reliable serial order"
    );

    let mut reverse = all(0, 30);
    reverse["timeReverseOrder"] = json!(true);
    let newest = items(&client.search(reverse).await);
    let nt = times(&newest);
    assert!(nt.windows(2).all(|w| w[0] >= w[1]), "descending time");
    assert_eq!(nt[0], *t.last().expect("last"));
}

#[tokio::test]
async fn no_match_omits_info_list() {
    let sim = start(config(1, 50)).await;
    let mut client = Client::new(&sim.devices[0]);
    let mut cond = all(0, 30);
    cond["startTime"] = json!("2020-01-01T00:00:00+06:00");
    cond["endTime"] = json!("2020-01-02T00:00:00+06:00");
    let reply = client.search(cond).await;
    assert_eq!(reply.status, 200);
    let page = reply.json()["AcsEvent"].clone();
    assert_eq!(page["responseStatusStrg"], "NO MATCH");
    assert_eq!(page["numOfMatches"], 0);
    assert_eq!(page["totalMatches"], 0);
    assert!(page.get("InfoList").is_none(), "{page}");
    // Tab-indented like the devices.
    assert!(
        reply.body.contains("\n\t\"AcsEvent\":\t{"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn times_carry_the_device_offset_or_none() {
    let sim = start(config(1, 40)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    let page = items(&client.search(all(0, 30)).await);
    for item in &page {
        let time = item["time"].as_str().expect("time");
        assert!(time.ends_with("+06:00"), "{time}");
        assert_eq!(time.len(), 25);
        assert!(time.as_bytes()[10] == b'T');
    }
    device.set_faults(Faults {
        naive_times: true,
        ..Faults::default()
    });
    let naive = items(&client.search(all(0, 30)).await);
    for (a, b) in page.iter().zip(&naive) {
        let (a, b) = (
            a["time"].as_str().expect("a"),
            b["time"].as_str().expect("b"),
        );
        assert_eq!(
            b,
            a[..19].replace('T', " "),
            "same wall time without offset"
        );
    }
}

fn window(start: &str, end: &str) -> Value {
    let mut cond = all(0, 30);
    cond["startTime"] = json!(start);
    cond["endTime"] = json!(end);
    cond
}

async fn total(client: &mut Client, cond: Value) -> (u16, Value) {
    let reply = client.search(cond).await;
    let body = reply.json();
    (reply.status, body)
}

#[tokio::test]
async fn time_windows_follow_the_time_handling() {
    let sim = start(config(1, 200)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    let local = window("2024-03-01T08:00:00+06:00", "2024-03-01T12:00:00+06:00");
    let (_, expected) = total(&mut client, local.clone()).await;
    let expected = expected["AcsEvent"]["totalMatches"]
        .as_u64()
        .expect("total");
    assert!(expected > 0 && expected < 200);
    let (_, utc) = total(
        &mut client,
        window("2024-03-01T02:00:00+00:00", "2024-03-01T06:00:00Z"),
    )
    .await;
    assert_eq!(
        utc["AcsEvent"]["totalMatches"], expected,
        "offsets are converted"
    );
    let (_, naive) = total(
        &mut client,
        window("2024-03-01T08:00:00", "2024-03-01 12:00:00"),
    )
    .await;
    assert_eq!(
        naive["AcsEvent"]["totalMatches"], expected,
        "naive = device-local"
    );

    device.set_faults(Faults {
        time_handling: TimeHandling::DeviceLocal,
        ..Faults::default()
    });
    let (_, ignored) = total(
        &mut client,
        window("2024-03-01T08:00:00Z", "2024-03-01T12:00:00-05:00"),
    )
    .await;
    assert_eq!(
        ignored["AcsEvent"]["totalMatches"], expected,
        "offsets ignored"
    );

    device.set_faults(Faults {
        time_handling: TimeHandling::RejectNaive,
        ..Faults::default()
    });
    let (status, error) = total(
        &mut client,
        window("2024-03-01T08:00:00", "2024-03-01T12:00:00+06:00"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["subStatusCode"], "badJsonContent");
    assert_eq!(error["errorMsg"], "startTime");
    let (status, _) = total(&mut client, local).await;
    assert_eq!(status, 200);
}

async fn rejected(client: &mut Client, body: Value) -> (u16, String, String) {
    let reply = client.call(Method::POST, ACS, Some(&body)).await;
    let json = reply.json();
    (
        reply.status,
        json["subStatusCode"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        json["errorMsg"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn bad_requests_get_isapi_envelopes() {
    let sim = start(config(1, 20)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    let cond = |extra: Value| {
        let mut c = all(0, 30);
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                c.as_object_mut().expect("cond").remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        json!({ "AcsEventCond": c })
    };
    let cases = [
        (
            cond(json!({"major": null})),
            "MessageParametersLack",
            "major",
        ),
        (
            cond(json!({"minor": null})),
            "MessageParametersLack",
            "minor",
        ),
        (
            cond(json!({"beginSerialNo": 5})),
            "badJsonContent",
            "endSerialNo",
        ),
        (
            cond(json!({"beginSerialNo": 5, "endSerialNo": 4_294_967_295u64})),
            "badJsonContent",
            "endSerialNo",
        ),
        (
            cond(json!({"beginSerialNo": 0, "endSerialNo": 10})),
            "badJsonContent",
            "beginSerialNo",
        ),
        (
            cond(json!({"maxResults": "30"})),
            "badJsonContent",
            "maxResults",
        ),
        (
            cond(json!({"searchResultPosition": -1})),
            "badJsonContent",
            "searchResultPosition",
        ),
        (
            cond(json!({"searchResultPosition": 150_001})),
            "badParameters",
            "searchResultPosition",
        ),
        (
            cond(json!({"startTime": "yesterday"})),
            "badJsonContent",
            "startTime",
        ),
        (
            cond(json!({"searchID": null})),
            "MessageParametersLack",
            "searchID",
        ),
        (
            json!({"AcsEventTotalNumCond": {}}),
            "MessageParametersLack",
            "AcsEventCond",
        ),
    ];
    for (body, sub, msg) in cases {
        let got = rejected(&mut client, body.clone()).await;
        assert_eq!(got, (400, sub.to_string(), msg.to_string()), "{body}");
    }
    // Broken JSON.
    let auth = client.sign(&Method::POST, ACS);
    let reply = client
        .http
        .post(format!("{}{ACS}", client.base))
        .header("Authorization", auth)
        .body("{\"AcsEventCond\": {")
        .send()
        .await
        .expect("response");
    assert_eq!(reply.status().as_u16(), 400);
    let body: Value =
        serde_json::from_str(&reply.text().await.expect("body")).expect("json envelope");
    assert_eq!(body["subStatusCode"], "badJsonFormat");
    assert_eq!(body["statusCode"], 5);

    // The position cap is configurable and inclusive.
    device.set_faults(Faults {
        position_cap: 10,
        ..Faults::default()
    });
    assert_eq!(client.search(all(10, 30)).await.status, 200);
    let over = rejected(&mut client, json!({ "AcsEventCond": all(11, 30) })).await;
    assert_eq!(
        over,
        (400, "badParameters".into(), "searchResultPosition".into())
    );

    // A device without serial search refuses the fields.
    device.set_faults(Faults {
        serial_search: false,
        ..Faults::default()
    });
    let refused = rejected(
        &mut client,
        cond(json!({"beginSerialNo": 1, "endSerialNo": 9})),
    )
    .await;
    assert_eq!(
        refused,
        (400, "badJsonContent".into(), "beginSerialNo".into())
    );
    assert_eq!(device.stats().acs_event_pages, 1);
}

#[tokio::test]
async fn serial_window_and_filters() {
    let sim = start(config(2, 150)).await;
    let mut client = Client::new(&sim.devices[0]);
    let mut cond = all(0, 30);
    cond["beginSerialNo"] = json!(10);
    cond["endSerialNo"] = json!(20);
    let (serials, _) = page_through(&mut client, cond).await;
    let got: HashSet<u64> = serials.into_iter().collect();
    assert_eq!(got, (10..=20).collect::<HashSet<u64>>());

    let mut open_end = all(0, 30);
    open_end["beginSerialNo"] = json!(291);
    open_end["endSerialNo"] = json!(999_999_999);
    let (serials, _) = page_through(&mut client, open_end).await;
    assert_eq!(serials.len(), 10);

    // major/minor filters.
    let mut faces = all(0, 30);
    faces["major"] = json!(5);
    faces["minor"] = json!(75);
    let reply = client.search(faces.clone()).await;
    let face_total = reply.json()["AcsEvent"]["totalMatches"]
        .as_u64()
        .expect("total");
    assert!(face_total > 50 && face_total < 300, "{face_total}");
    assert!(items(&reply)
        .iter()
        .all(|i| i["minor"] == 75 && i["major"] == 5));
    let mut other_major = all(0, 30);
    other_major["major"] = json!(3);
    let none = client.search(other_major).await;
    assert_eq!(none.json()["AcsEvent"]["responseStatusStrg"], "NO MATCH");

    // One person.
    let first = items(&client.search(faces).await);
    let who = first[0]["employeeNoString"]
        .as_str()
        .expect("employee")
        .to_string();
    let mut person = all(0, 30);
    person["employeeNoString"] = json!(who);
    let (serials, _) = page_through(&mut client, person.clone()).await;
    assert!(!serials.is_empty());
    let page = items(&client.search(person).await);
    assert!(page.iter().all(|i| i["employeeNoString"] == who.as_str()));

    // AcsEventTotalNum agrees with the search.
    let reply = client
        .call(
            Method::POST,
            "/ISAPI/AccessControl/AcsEventTotalNum?format=json",
            Some(&json!({"AcsEventTotalNumCond": {"major": 5, "minor": 75}})),
        )
        .await;
    assert_eq!(reply.json()["AcsEventTotalNum"]["totalNum"], face_total);
    let wrong_root = client
        .call(
            Method::POST,
            "/ISAPI/AccessControl/AcsEventTotalNum?format=json",
            Some(&json!({"AcsEventCond": {"major": 5, "minor": 75}})),
        )
        .await;
    assert_eq!(wrong_root.status, 400);
    assert_eq!(wrong_root.json()["subStatusCode"], "MessageParametersLack");
}

#[tokio::test]
async fn capabilities_follow_the_faults() {
    let sim = start(config(1, 10)).await;
    let device = &sim.devices[0];
    let mut client = Client::new(device);
    let path = "/ISAPI/AccessControl/AcsEvent/capabilities?format=json";
    let caps = client.call(Method::GET, path, None).await.json();
    let cond = &caps["AcsEvent"]["AcsEventCond"];
    assert_eq!(cond["searchResultPosition"]["@max"], 150_000);
    assert_eq!(cond["maxResults"]["@max"], 30);
    assert_eq!(cond["endSerialNo"]["@max"], 3_000_000_000u64);
    device.set_faults(Faults {
        serial_search: false,
        position_cap: 1000,
        max_results_cap: 10,
        ..Faults::default()
    });
    let caps = client.call(Method::GET, path, None).await.json();
    let cond = &caps["AcsEvent"]["AcsEventCond"];
    assert_eq!(cond["searchResultPosition"]["@max"], 1000);
    assert_eq!(cond["maxResults"]["@max"], 10);
    assert!(cond.get("beginSerialNo").is_none());
    let page = client.search(all(0, 30)).await.json();
    assert_eq!(page["AcsEvent"]["numOfMatches"], 10);
}

#[tokio::test]
async fn sparse_and_full_field_styles() {
    let sim = start(config(1, 300)).await;
    let mut client = Client::new(&sim.devices[0]);
    let mut door = all(0, 30);
    door["major"] = json!(5);
    door["minor"] = json!(21);
    let sparse = items(&client.search(door.clone()).await);
    assert!(!sparse.is_empty());
    for item in &sparse {
        let keys: HashSet<&str> = item
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: HashSet<&str> = [
            "major",
            "minor",
            "time",
            "doorNo",
            "serialNo",
            "currentVerifyMode",
            "mask",
        ]
        .into();
        assert_eq!(keys, expected);
    }
    let mut faces = all(0, 30);
    faces["minor"] = json!(75);
    faces["major"] = json!(5);
    let people = items(&client.search(faces).await);
    for item in &people {
        assert_eq!(item["userType"], "normal");
        assert!(item["employeeNoString"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
        assert!(item["attendanceStatus"].is_string());
        assert!(item["cardReaderNo"].is_u64() && item["doorNo"].is_u64());
    }

    let full_sim = start(SimConfig {
        field_style: FieldStyle::Full,
        ..config(1, 300)
    })
    .await;
    let mut client = Client::new(&full_sim.devices[0]);
    let full = items(&client.search(door).await);
    for item in &full {
        assert_eq!(item["employeeNoString"], "");
        assert_eq!(item["name"], "");
        assert_eq!(item["cardReaderKind"], 0);
        assert_eq!(item["RS485No"], 0);
        assert!(item.as_object().expect("object").len() > 30);
    }
}

#[tokio::test]
async fn generated_people_and_fleet_variety() {
    let sim = start(SimConfig {
        devices: 3,
        employees: 40,
        ..config(2, 200)
    })
    .await;
    let mut employees_per_device = Vec::new();
    let mut first_pages = Vec::new();
    let mut names = HashSet::new();
    for device in &sim.devices {
        assert_eq!(device.event_count, 400);
        let mut client = Client::new(device);
        let mut seen = HashSet::new();
        let mut first = None;
        for position in (0..400).step_by(30) {
            let page = items(&client.search(all(position, 30)).await);
            first.get_or_insert_with(|| times(&page));
            for item in page {
                if let Some(no) = item["employeeNoString"].as_str() {
                    seen.insert(no.to_string());
                    names.insert(item["name"].as_str().unwrap_or_default().to_string());
                }
            }
        }
        employees_per_device.push(seen);
        first_pages.push(first.unwrap_or_default());
    }
    assert_ne!(
        first_pages[0], first_pages[1],
        "devices have their own histories"
    );
    assert!(
        employees_per_device[0]
            .intersection(&employees_per_device[1])
            .count()
            > 10,
        "staff overlap"
    );
    assert!(
        employees_per_device
            .iter()
            .flatten()
            .any(|no| no.starts_with('0')),
        "leading zeros kept"
    );
    assert!(
        names.iter().any(|n| !n.is_ascii()),
        "UTF-8 names: {names:?}"
    );
}

#[tokio::test]
async fn events_file_replaces_generation() {
    let dir = std::env::temp_dir().join(format!("sim-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("events.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"major":5,"minor":75,"time":"2024-03-01T09:00:00+06:00","employeeNoString":"00042","name":"CÁSSIA","serialNo":500}"#,
            "\n",
            r#"{"major":5,"minor":21,"time":"2024-03-01T09:00:00+06:00","doorNo":1}"#,
            "\n",
            r#"{"major":5,"minor":38,"time":"2024-03-01 03:30:00","employeeNoString":"7"}"#,
            "\n"
        ),
    )
    .expect("write");
    let sim = start(SimConfig {
        events_file: Some(path.clone()),
        ..config(1, 100)
    })
    .await;
    assert_eq!(sim.devices[0].event_count, 3);
    let mut client = Client::new(&sim.devices[0]);
    let page = items(&client.search(all(0, 30)).await);
    let serials: Vec<u64> = page.iter().filter_map(|i| i["serialNo"].as_u64()).collect();
    assert_eq!(
        serials,
        vec![501, 500, 502],
        "time order; missing serials follow the largest"
    );
    assert_eq!(page[0]["time"], "2024-03-01T03:30:00+06:00");
    assert_eq!(page[1]["name"], "CÁSSIA");
    assert_eq!(page[2]["doorNo"], 1);
    let _ = std::fs::remove_dir_all(&dir);

    let broken = sim_support::config(1, 1);
    let missing = attendance_sync_sim::start(SimConfig {
        events_file: Some(dir.join("missing.jsonl")),
        ..broken
    })
    .await;
    assert!(missing.is_err());
}

/// The history of `config(1, 200)` with the clock set back two hours after serial 100.
fn stepped(order: ResultOrder) -> SimConfig {
    let mut cfg = config(1, 200);
    cfg.clock_step = Some(ClockStep {
        back_secs: 7200,
        after_serial: Some(100),
    });
    cfg.faults.result_order = order;
    cfg
}

#[tokio::test]
async fn record_order_lists_a_clock_step_back_as_recorded() {
    let sim = start(stepped(ResultOrder::Record)).await;
    let mut client = Client::new(&sim.devices[0]);
    let (serials, _) = page_through(&mut client, all(0, 30)).await;
    assert_eq!(serials, (1..=200).collect::<Vec<u64>>(), "by serial number");
    let first = items(&client.search(all(90, 30)).await);
    let at = |serial: u64| {
        let item = first
            .iter()
            .find(|i| i["serialNo"] == serial)
            .expect("on the page");
        times(std::slice::from_ref(item))[0]
    };
    // Serial 101 was recorded after serial 100, with the clock two hours back.
    assert!(
        at(101) < at(100),
        "serial 101 carries an earlier time than 100"
    );

    // The same records by time: the stepped ones come among the earlier ones.
    sim.devices[0].set_faults(Faults::default());
    let (by_time, _) = page_through(&mut client, all(0, 30)).await;
    let mut sorted = by_time.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, serials, "the same records");
    let pos = |s: u64| by_time.iter().position(|x| *x == s).expect("served");
    assert!(pos(101) < pos(100), "time order puts 101 before 100");
}

#[tokio::test]
async fn under_reported_total_still_says_more() {
    let sim = start(config(1, 100)).await;
    sim.devices[0].set_faults(Faults {
        under_report_total: true,
        ..Faults::default()
    });
    let mut client = Client::new(&sim.devices[0]);
    let first = client.search(all(0, 30)).await.json()["AcsEvent"].clone();
    assert_eq!(first["responseStatusStrg"], "MORE");
    assert_eq!(first["totalMatches"], 30, "only as far as this page");
    let third = client.search(all(60, 30)).await.json()["AcsEvent"].clone();
    assert_eq!(third["responseStatusStrg"], "MORE");
    assert_eq!(third["totalMatches"], 90);
    let (serials, pages) = page_through(&mut client, all(0, 30)).await;
    assert_eq!(
        (serials.len(), pages),
        (100, 4),
        "MORE leads to every event"
    );
}
