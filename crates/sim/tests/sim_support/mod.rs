//! Shared helpers of the simulator tests: start a fleet, talk Digest over plain HTTP.
#![allow(dead_code)]

use attendance_sync_sim::{self as sim, RunningSim, SimConfig, SimDevice, SimStats};
use chrono::{DateTime, FixedOffset};
use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::{json, Value};

pub const PASSWORD: &str = "Sim-Pass-1234";
pub const ACS: &str = "/ISAPI/AccessControl/AcsEvent?format=json";

/// A fixed history end so event times are predictable: 2024-03-01T18:00:00+06:00.
pub fn history_end() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-03-01T18:00:00+06:00").expect("date")
}

/// One device, `days` × `per_day` events ending at `history_end()`, device zone UTC+6.
pub fn config(days: u32, per_day: u32) -> SimConfig {
    SimConfig {
        days,
        events_per_day: per_day,
        history_end: Some(history_end()),
        utc_offset: FixedOffset::east_opt(6 * 3600).expect("offset"),
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> RunningSim {
    sim::start(config).await.expect("simulator starts")
}

/// A reply with its body read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn challenges(&self) -> Vec<String> {
        self.headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Text of `<name>` in an XML body.
    pub fn xml(&self, name: &str) -> Option<String> {
        let open = format!("<{name}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{name}>"))? + start;
        Some(self.body[start..end].to_string())
    }
}

/// A Digest client of one device over one keep-alive connection.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub user: String,
    pub password: String,
    pub prompt: Option<WwwAuthenticateHeader>,
}

impl Client {
    pub fn new(device: &SimDevice) -> Self {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .pool_max_idle_per_host(1)
            .build()
            .expect("http client");
        Client {
            base: device.base_url(),
            http,
            user: "admin".into(),
            password: PASSWORD.into(),
            prompt: None,
        }
    }

    pub fn with_password(mut self, password: &str) -> Self {
        self.password = password.into();
        self
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        auth: Option<&str>,
    ) -> Reply {
        self.try_send(method, path, body, auth)
            .await
            .expect("response")
    }

    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        auth: Option<&str>,
    ) -> reqwest::Result<Reply> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// An unauthenticated request; keeps the (first) challenge it gets.
    pub async fn challenge(&mut self) -> Reply {
        let reply = self
            .send(Method::GET, "/ISAPI/System/deviceInfo", None, None)
            .await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        self.adopt(&reply);
        reply
    }

    /// Takes the first challenge of a reply, if it has one.
    pub fn adopt(&mut self, reply: &Reply) {
        if let Some(header) = reply.challenges().first() {
            self.prompt = Some(digest_auth::parse(header).expect("challenge parses"));
        }
    }

    /// The Authorization value for the next request (increments nc).
    pub fn sign(&mut self, method: &Method, uri: &str) -> String {
        let prompt = self.prompt.as_mut().expect("challenge first");
        let context = AuthContext::new_with_method(
            self.user.as_str(),
            self.password.as_str(),
            uri,
            Option::<&[u8]>::None,
            HttpMethod::from(method.as_str()),
        );
        prompt.respond(&context).expect("respond").to_string()
    }

    /// One signed request (challenging first if needed); a 401 challenge is adopted for next time.
    pub async fn call(&mut self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        if self.prompt.is_none() {
            self.challenge().await;
        }
        let auth = self.sign(&method, path);
        let reply = self.send(method, path, body, Some(&auth)).await;
        if reply.status == 401 {
            self.adopt(&reply);
        }
        reply
    }

    /// One signed request with an XML body (challenging first if needed).
    pub async fn call_xml(&mut self, method: Method, path: &str, xml: &str) -> Reply {
        if self.prompt.is_none() {
            self.challenge().await;
        }
        let auth = self.sign(&method, path);
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Content-Type", "application/xml")
            .header(AUTHORIZATION, auth)
            .body(xml.to_owned())
            .send()
            .await
            .expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        let reply = Reply {
            status,
            headers,
            body,
        };
        if reply.status == 401 {
            self.adopt(&reply);
        }
        reply
    }

    pub async fn search(&mut self, cond: Value) -> Reply {
        self.call(Method::POST, ACS, Some(&json!({ "AcsEventCond": cond })))
            .await
    }

    pub async fn stats(&self) -> SimStats {
        let reply = self.send(Method::GET, "/sim/stats", None, None).await;
        serde_json::from_str(&reply.body).expect("stats")
    }
}

/// A search condition for everything, at `position`.
pub fn all(position: u64, max_results: u64) -> Value {
    json!({
        "searchID": "t1",
        "searchResultPosition": position,
        "maxResults": max_results,
        "major": 0,
        "minor": 0
    })
}

/// Pages through a search condition; returns the serials in arrival order and the page count.
pub async fn page_through(client: &mut Client, mut cond: Value) -> (Vec<u64>, usize) {
    let mut serials = Vec::new();
    let mut pages = 0;
    loop {
        cond["searchResultPosition"] = json!(serials.len());
        let reply = client.search(cond.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        pages += 1;
        let page = reply.json()["AcsEvent"].clone();
        let items = page["InfoList"].as_array().cloned().unwrap_or_default();
        serials.extend(items.iter().filter_map(|i| i["serialNo"].as_u64()));
        if page["responseStatusStrg"] != "MORE" || items.is_empty() {
            return (serials, pages);
        }
        assert!(pages < 10_000, "runaway paging");
    }
}
