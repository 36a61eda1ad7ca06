//! HTTP listening configuration over ISAPI (`/ISAPI/Event/notification/httpHosts`, reference §6.3): the
//! device's listening-host slots, read and written as `HttpHostNotification` XML, and wired to its pusher
//! ([`super::push`]): a slot written with an HTTP host makes the device push its new events there.
//!
//! - `GET .../httpHosts`: every slot (`hostNumber` of them, 2 as on DS-K1T342MWX); unused ones show an empty
//!   `url` and `0.0.0.0`. `GET .../httpHosts/<id>`: one. `GET .../httpHosts/capabilities`: `hostNumber`.
//! - `PUT .../httpHosts/<id>` (one `HttpHostNotification`) or `PUT .../httpHosts` (a list): validated like a
//!   terminal does (400 `badXmlFormat` / `badParameters` naming the field). A slot written empty is unused.
//! - `DELETE .../httpHosts/<id>` or `.../httpHosts`: empties (one public client clears this way; others
//!   write the slot empty).
//! - With `http_hosts_not_supported` every one answers 403 `notSupport` (firmware without HTTP listening).
//!
//! Which slot the pusher follows: the last one written with an HTTP host; when that one is emptied, the
//! lowest-numbered HTTP slot left, else none. HTTPS hosts are stored and shown but not pushed to (the
//! simulator has no TLS client). The body shape and losses are the ones `PUT /sim/push` last set (JSON when it
//! never did): `parameterFormatType` is stored, and the device pushes JSON whatever it says, as firmware that
//! ignores it does (§6.3).

use std::net::IpAddr;

use hyper::{Method, Response, StatusCode};
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

use super::config::Faults;
use super::envelope::{Envelope, IsapiError};
use super::http::{respond, xml_error, Body, XML};
use super::state::DeviceState;
use super::sync::lock;
use super::xml::{escape, ISAPI_NS};

pub const PATH: &str = "/ISAPI/Event/notification/httpHosts";

/// One listening-host slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: u32,
    /// `url`: the path and query posted to.
    pub url: String,
    pub protocol: String,
    pub format: String,
    pub addressing: String,
    /// `ipAddress`, `ipv6Address` or `hostName`, by `addressing`.
    pub ip: String,
    pub ipv6: Option<String>,
    pub host_name: Option<String>,
    pub port: u16,
    pub auth: String,
}

impl Slot {
    fn empty(id: u32) -> Self {
        Slot {
            id,
            url: String::new(),
            protocol: "HTTP".into(),
            format: "XML".into(),
            addressing: "ipaddress".into(),
            ip: "0.0.0.0".into(),
            ipv6: None,
            host_name: None,
            port: 80,
            auth: "none".into(),
        }
    }

    fn address(&self) -> Option<String> {
        if self.addressing == "hostname" {
            return self.host_name.clone().filter(|h| !h.is_empty());
        }
        if let Some(v6) = self
            .ipv6
            .as_deref()
            .filter(|a| a.parse::<IpAddr>().is_ok_and(|ip| !ip.is_unspecified()))
        {
            return Some(format!("[{v6}]"));
        }
        self.ip
            .parse::<IpAddr>()
            .ok()
            .filter(|ip| !ip.is_unspecified())
            .map(|ip| ip.to_string())
    }

    pub fn is_empty(&self) -> bool {
        self.url.is_empty() && self.address().is_none()
    }

    /// Where the device posts, when this slot is an HTTP host it can reach.
    pub fn push_url(&self) -> Option<String> {
        if self.is_empty() || !self.protocol.eq_ignore_ascii_case("HTTP") {
            return None;
        }
        if self.url.to_ascii_lowercase().starts_with("http://") {
            return Some(self.url.clone());
        }
        let host = self.address()?;
        let path = if self.url.starts_with('/') {
            self.url.clone()
        } else {
            format!("/{}", self.url)
        };
        Some(format!("http://{host}:{}{path}", self.port))
    }

    fn xml(&self) -> String {
        let mut out = format!(
            "<HttpHostNotification>\n<id>{}</id>\n<url>{}</url>\n<protocolType>{}</protocolType>\n\
             <parameterFormatType>{}</parameterFormatType>\n<addressingFormatType>{}</addressingFormatType>\n",
            self.id,
            escape(&self.url),
            escape(&self.protocol),
            escape(&self.format),
            escape(&self.addressing),
        );
        match (&self.host_name, &self.ipv6) {
            (Some(h), _) if self.addressing == "hostname" => {
                out.push_str(&format!("<hostName>{}</hostName>\n", escape(h)));
            }
            (_, Some(v6)) => out.push_str(&format!("<ipv6Address>{}</ipv6Address>\n", escape(v6))),
            _ => out.push_str(&format!("<ipAddress>{}</ipAddress>\n", escape(&self.ip))),
        }
        out.push_str(&format!(
            "<portNo>{}</portNo>\n<httpAuthenticationMethod>{}</httpAuthenticationMethod>\n\
             </HttpHostNotification>\n",
            self.port,
            escape(&self.auth)
        ));
        out
    }
}

/// The slots of one device and the one its pusher follows.
#[derive(Debug, Default)]
pub struct Slots {
    written: Vec<Slot>,
    active: Option<u32>,
}

impl Slots {
    fn get(&self, id: u32) -> Slot {
        self.written
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .unwrap_or_else(|| Slot::empty(id))
    }

    /// Stores `slot`; returns the URL the pusher should follow now (`None`: stop).
    fn store(&mut self, slot: Slot) -> Option<String> {
        let id = slot.id;
        let pushes = slot.push_url().is_some();
        self.written.retain(|s| s.id != id);
        if !slot.is_empty() {
            self.written.push(slot);
            self.written.sort_by_key(|s| s.id);
        }
        if pushes {
            self.active = Some(id);
        } else if self.active == Some(id) || self.active.is_none() {
            self.active = self
                .written
                .iter()
                .find(|s| s.push_url().is_some())
                .map(|s| s.id);
        }
        self.active.map(|a| self.get(a)).and_then(|s| s.push_url())
    }
}

fn ok_status(url: &str) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ResponseStatus version=\"2.0\" xmlns=\"{ISAPI_NS}\">\n<requestURL>{}</requestURL>\n\
         <statusCode>1</statusCode>\n<statusString>OK</statusString>\n<subStatusCode>ok</subStatusCode>\n\
         </ResponseStatus>\n",
        escape(url)
    );
    respond(StatusCode::OK, XML, body)
}

fn error(kind: IsapiError, url: &str, msg: &str) -> Response<Body> {
    xml_error(kind.http_status(), &Envelope::new(kind, url, msg))
}

/// Every request under `/ISAPI/Event/notification/httpHosts`; `rest` is what follows that path.
pub fn handle(
    dev: &std::sync::Arc<DeviceState>,
    faults: &Faults,
    method: &Method,
    rest: &str,
    url: &str,
    body: &[u8],
) -> Response<Body> {
    if faults.http_hosts_not_supported {
        return error(IsapiError::NotSupport, url, "notSupport");
    }
    let slots = faults.http_host_slots;
    let rest = rest.trim_end_matches('/');
    if rest == "/capabilities" {
        if *method != Method::GET {
            return error(IsapiError::MethodNotAllowed, url, "methodNotAllowed");
        }
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <HttpHostNotificationCap version=\"2.0\" xmlns=\"{ISAPI_NS}\">\n<hostNumber>{slots}</hostNumber>\n\
             <urlLen max=\"128\"/>\n<protocolType opt=\"HTTP,HTTPS\"/>\n\
             <parameterFormatType opt=\"XML,JSON\"/>\n<addressingFormatType opt=\"ipaddress,hostname\"/>\n\
             <httpAuthenticationMethod opt=\"none\"/>\n</HttpHostNotificationCap>\n"
        );
        return respond(StatusCode::OK, XML, body);
    }
    let one = match rest.strip_prefix('/') {
        None if rest.is_empty() => None,
        Some(id) => match id.parse::<u32>() {
            Ok(id) if (1..=slots).contains(&id) => Some(id),
            Ok(_) => return error(IsapiError::BadParameters, url, "id"),
            Err(_) => {
                return xml_error(
                    StatusCode::NOT_FOUND,
                    &Envelope::new(IsapiError::NotSupport, url, "notSupport"),
                )
            }
        },
        None => {
            return xml_error(
                StatusCode::NOT_FOUND,
                &Envelope::new(IsapiError::NotSupport, url, "notSupport"),
            )
        }
    };
    let pusher = dev.pusher();
    match (method, one) {
        (&Method::GET, None) => {
            let guard = lock(&pusher.slots);
            let mut out = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <HttpHostNotificationList version=\"2.0\" xmlns=\"{ISAPI_NS}\">\n"
            );
            for id in 1..=slots {
                out.push_str(&guard.get(id).xml());
            }
            out.push_str("</HttpHostNotificationList>\n");
            respond(StatusCode::OK, XML, out)
        }
        (&Method::GET, Some(id)) => {
            let slot = lock(&pusher.slots).get(id).xml();
            let doc = slot.replacen(
                "<HttpHostNotification>",
                &format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                     <HttpHostNotification version=\"2.0\" xmlns=\"{ISAPI_NS}\">"
                ),
                1,
            );
            respond(StatusCode::OK, XML, doc)
        }
        (&Method::PUT, _) => {
            let parsed = match parse(body) {
                Ok(p) => p,
                Err(Refusal(kind, msg)) => return error(kind, url, msg),
            };
            if parsed.is_empty() {
                return error(
                    IsapiError::MessageParametersLack,
                    url,
                    "HttpHostNotification",
                );
            }
            let mut checked = Vec::with_capacity(parsed.len());
            for fields in &parsed {
                match slot_of(fields, one, slots) {
                    Ok(slot) => checked.push(slot),
                    Err(Refusal(kind, msg)) => return error(kind, url, msg),
                }
            }
            if one.is_some() && checked.len() != 1 {
                return error(IsapiError::BadParameters, url, "HttpHostNotification");
            }
            for slot in checked {
                let follow = lock(&pusher.slots).store(slot);
                if let Err(msg) = pusher.follow(dev, follow) {
                    return error(IsapiError::BadParameters, url, &msg);
                }
            }
            ok_status(url)
        }
        (&Method::DELETE, _) => {
            let ids: Vec<u32> = one.map_or_else(|| (1..=slots).collect(), |id| vec![id]);
            for id in ids {
                let follow = lock(&pusher.slots).store(Slot::empty(id));
                if let Err(msg) = pusher.follow(dev, follow) {
                    return error(IsapiError::DeviceError, url, &msg);
                }
            }
            ok_status(url)
        }
        _ => error(IsapiError::MethodNotAllowed, url, "methodNotAllowed"),
    }
}

struct Refusal(IsapiError, &'static str);

/// The direct children of every `HttpHostNotification` of a body.
fn parse(body: &[u8]) -> Result<Vec<Vec<(String, String)>>, Refusal> {
    let bad = || Refusal(IsapiError::BadXmlFormat, "badXmlFormat");
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<(usize, Vec<(String, String)>)> = None;
    let mut text = String::new();
    let mut out = Vec::new();
    let mut seen = false;
    loop {
        match reader.read_event_into(&mut buf).map_err(|_| bad())? {
            XmlEvent::Start(e) => {
                seen = true;
                depth += 1;
                if e.local_name().as_ref() == b"HttpHostNotification" && current.is_none() {
                    current = Some((depth, Vec::new()));
                }
                text.clear();
            }
            XmlEvent::Empty(e) => {
                seen = true;
                if let Some((d, fields)) = current.as_mut() {
                    if depth == *d {
                        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                        fields.push((name, String::new()));
                    }
                }
            }
            XmlEvent::Text(t) => text.push_str(&t.decode().map_err(|_| bad())?),
            XmlEvent::GeneralRef(r) => {
                let name = r.decode().map_err(|_| bad())?;
                match r.resolve_char_ref().map_err(|_| bad())? {
                    Some(c) => text.push(c),
                    None => text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name).ok_or_else(bad)?,
                    ),
                }
            }
            XmlEvent::End(e) => {
                if let Some((d, fields)) = current.as_mut() {
                    if depth == *d + 1 {
                        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                        fields.push((name, text.trim().to_owned()));
                    } else if depth == *d {
                        if let Some((_, fields)) = current.take() {
                            out.push(fields);
                        }
                    }
                }
                text.clear();
                depth = depth.saturating_sub(1);
            }
            XmlEvent::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if seen && depth == 0 {
        Ok(out)
    } else {
        Err(bad())
    }
}

/// A slot from a written `HttpHostNotification`, refused the way a terminal refuses it.
fn slot_of(fields: &[(String, String)], path_id: Option<u32>, slots: u32) -> Result<Slot, Refusal> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let lack = |field: &'static str| Refusal(IsapiError::MessageParametersLack, field);
    let bad = |field: &'static str| Refusal(IsapiError::BadParameters, field);
    let id = match (get("id").filter(|v| !v.is_empty()), path_id) {
        (Some(v), path) => {
            let id = v.parse::<u32>().map_err(|_| bad("id"))?;
            if path.is_some_and(|p| p != id) || !(1..=slots).contains(&id) {
                return Err(bad("id"));
            }
            id
        }
        (None, Some(p)) => p,
        (None, None) => return Err(lack("id")),
    };
    let mut slot = Slot::empty(id);
    slot.url = get("url").unwrap_or_default().to_owned();
    slot.protocol = match get("protocolType").ok_or(lack("protocolType"))? {
        p if p.eq_ignore_ascii_case("HTTP") => "HTTP".into(),
        p if p.eq_ignore_ascii_case("HTTPS") => "HTTPS".into(),
        p if p.eq_ignore_ascii_case("EHome") => "EHome".into(),
        _ => return Err(bad("protocolType")),
    };
    if let Some(f) = get("parameterFormatType") {
        if !(f.eq_ignore_ascii_case("XML") || f.eq_ignore_ascii_case("JSON")) {
            return Err(bad("parameterFormatType"));
        }
        slot.format = f.to_owned();
    }
    if let Some(a) = get("httpAuthenticationMethod") {
        if !["none", "MD5digest", "base64"].contains(&a) {
            return Err(bad("httpAuthenticationMethod"));
        }
        slot.auth = a.to_owned();
    }
    slot.addressing = match get("addressingFormatType").unwrap_or("ipaddress") {
        "ipaddress" => "ipaddress".into(),
        "hostname" => "hostname".into(),
        _ => return Err(bad("addressingFormatType")),
    };
    if slot.addressing == "hostname" {
        let name = get("hostName").filter(|h| !h.is_empty());
        if name.is_none() && !slot.url.is_empty() {
            return Err(lack("hostName"));
        }
        slot.host_name = name.map(str::to_owned);
    } else {
        match (get("ipAddress"), get("ipv6Address")) {
            (_, Some(v6)) if !v6.is_empty() => {
                if !v6.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()) {
                    return Err(bad("ipv6Address"));
                }
                slot.ipv6 = Some(v6.to_owned());
            }
            (Some(v4), _) => {
                if !v4.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv4()) {
                    return Err(bad("ipAddress"));
                }
                slot.ip = v4.to_owned();
            }
            (None, _) => return Err(lack("ipAddress")),
        }
    }
    slot.port = get("portNo")
        .ok_or(lack("portNo"))?
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or(bad("portNo"))?;
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> Result<Slot, &'static str> {
        let parsed = parse(body.as_bytes()).map_err(|r| r.1)?;
        slot_of(&parsed[0], Some(1), 2).map_err(|r| r.1)
    }

    #[test]
    fn reads_and_checks_a_written_host() {
        let slot = one(
            "<HttpHostNotification><id>1</id><url>/p?token=a&amp;b=1</url><protocolType>HTTP</protocolType>\
             <parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType>\
             <ipAddress>127.0.0.1</ipAddress><portNo>8000</portNo>\
             <httpAuthenticationMethod>none</httpAuthenticationMethod></HttpHostNotification>",
        )
        .expect("slot");
        assert_eq!(
            slot.push_url().as_deref(),
            Some("http://127.0.0.1:8000/p?token=a&b=1")
        );
        let https = one(
            "<HttpHostNotification><id>1</id><url>/p</url><protocolType>HTTPS</protocolType>\
             <addressingFormatType>hostname</addressingFormatType><hostName>erp.example.com</hostName>\
             <portNo>443</portNo></HttpHostNotification>",
        )
        .expect("slot");
        assert!(!https.is_empty());
        assert_eq!(https.push_url(), None);
        assert_eq!(one("<HttpHostNotification><id>1</id>"), Err("badXmlFormat"));
        assert_eq!(
            one("<HttpHostNotification><id>2</id><protocolType>HTTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>80</portNo></HttpHostNotification>"),
            Err("id")
        );
        assert_eq!(
            one("<HttpHostNotification><id>1</id><protocolType>FTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>80</portNo></HttpHostNotification>"),
            Err("protocolType")
        );
        assert_eq!(
            one("<HttpHostNotification><id>1</id><protocolType>HTTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>0</portNo></HttpHostNotification>"),
            Err("portNo")
        );
    }

    #[test]
    fn the_pusher_follows_the_last_http_slot() {
        let mut slots = Slots::default();
        let host = |id, port| Slot {
            url: "/p".into(),
            ip: "127.0.0.1".into(),
            port,
            ..Slot::empty(id)
        };
        assert_eq!(
            slots.store(host(1, 81)).as_deref(),
            Some("http://127.0.0.1:81/p")
        );
        assert_eq!(
            slots.store(host(2, 82)).as_deref(),
            Some("http://127.0.0.1:82/p")
        );
        assert_eq!(
            slots.store(Slot::empty(2)).as_deref(),
            Some("http://127.0.0.1:81/p")
        );
        assert_eq!(slots.store(Slot::empty(1)), None);
        assert!(slots.get(1).is_empty());
    }
}
