//! HTTP listening hosts (`/ISAPI/Event/notification/httpHosts`, docs/push.md#configuring-the-terminal): the
//! slots a terminal POSTs its events to. Read them, write the site's push URL into one, clear one.
//!
//! A slot is written as one `HttpHostNotification` (`PUT .../httpHosts/<id>`, XML): the site's URL split into
//! `protocolType`, `addressingFormatType` with `ipAddress` / `ipv6Address` / `hostName`, `portNo`, and `url` (path
//! and query), `parameterFormatType` JSON, `httpAuthenticationMethod` none (the push carries no credentials; the
//! token in the query names the device). A slot is cleared by writing it empty (empty `url`, `0.0.0.0`), the way
//! terminals show an unused slot.
//!
//! The query carries the device's push token: nothing here shows it. [`HttpHost`]'s `Debug`, every error and
//! every excerpt of a terminal's answer show queries redacted ([`redact_url`]).

use std::fmt;
use std::net::IpAddr;

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;
use reqwest::Url;

use super::client::IsapiClient;
use super::xml;
use crate::error::{excerpt, Error};

pub const HTTP_HOSTS_PATH: &str = "/ISAPI/Event/notification/httpHosts";

/// What replaces every query value wherever a URL is shown.
const REDACTED: &str = "<redacted>";

/// One listening-host slot as the terminal reports it. An unused slot has an empty `path` and no host (or
/// `0.0.0.0`).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpHost {
    pub id: u32,
    /// `protocolType`: `HTTP`, `HTTPS`, or another transport (`EHome` for a cloud platform's slot).
    pub protocol: String,
    /// The address the terminal posts to (`ipAddress`, `ipv6Address` or `hostName`, as
    /// `addressingFormatType` says); `None` for an unused slot.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `url`: the path and query posted to (some firmwares hold a whole URL here).
    pub path: String,
    /// `parameterFormatType` (`JSON`, `XML`).
    pub format: Option<String>,
    /// `httpAuthenticationMethod` (`none`, `MD5digest`, `base64`).
    pub auth: Option<String>,
}

impl HttpHost {
    /// Whether the slot holds no host: nothing is pushed from it.
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.path.is_empty()
    }

    fn scheme(&self) -> Option<&'static str> {
        match self.protocol.to_ascii_uppercase().as_str() {
            "HTTP" => Some("http"),
            "HTTPS" => Some("https"),
            _ => None,
        }
    }

    /// The whole URL the terminal posts to, token included (the default port left out); `None` for an unused
    /// slot and for a transport that is not HTTP(S).
    pub fn url(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let lower = self.path.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Some(self.path.clone());
        }
        let scheme = self.scheme()?;
        let host = self.host.as_deref()?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let default = if scheme == "https" { 443 } else { 80 };
        let port = match self.port {
            Some(p) if p != default => format!(":{p}"),
            _ => String::new(),
        };
        let path = if self.path.starts_with('/') {
            self.path.clone()
        } else {
            format!("/{}", self.path)
        };
        Some(format!("{scheme}://{host}{port}{path}"))
    }

    /// The path without its query: what tells the site's own slot from another system's.
    pub fn route(&self) -> &str {
        let path = self.path.split(['?', '#']).next().unwrap_or_default();
        let lower = path.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let after_scheme = path.find("//").map_or(path, |i| &path[i + 2..]);
            return after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        }
        path
    }
}

impl fmt::Debug for HttpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpHost")
            .field("id", &self.id)
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &redact_url(&self.path))
            .field("format", &self.format)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Every query value of every URL in `text` replaced: `?token=abc&x=1` shows as
/// `?token=<redacted>&x=<redacted>`.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(q) = rest.find(['?', '#']) {
        let fragment = rest[q..].starts_with('#');
        out.push_str(&rest[..=q]);
        rest = &rest[q + 1..];
        let end = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '<' | '"' | '\'') || (c == '#' && !fragment)
            })
            .unwrap_or(rest.len());
        let query = &rest[..end];
        if fragment {
            out.push_str(REDACTED);
            rest = &rest[end..];
            continue;
        }
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}={REDACTED}"),
                None if pair.is_empty() => String::new(),
                None => REDACTED.to_owned(),
            })
            .collect();
        out.push_str(&redacted.join("&"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Why a push URL cannot be written into a slot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push URL {shown:?}: {what}")]
pub struct PushUrlError {
    /// The URL with its query redacted.
    shown: String,
    what: &'static str,
}

impl PushUrlError {
    fn new(url: &str, what: &'static str) -> Self {
        // Credentials before the host are hidden like the query.
        let shown = match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}{REDACTED}{}", &url[..s + 3], &url[at..]),
            _ => url.to_owned(),
        };
        PushUrlError {
            shown: redact_url(&shown),
            what,
        }
    }

    pub fn what(&self) -> &'static str {
        self.what
    }
}

/// How the terminal addresses the site: `addressingFormatType` and the element holding the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAddress {
    Ipv4(String),
    Ipv6(String),
    Hostname(String),
}

/// The site's push URL split into the fields of an `HttpHostNotification`.
#[derive(Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub https: bool,
    pub address: PushAddress,
    pub port: u16,
    /// Path and query (the token).
    pub path: String,
}

impl fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushTarget")
            .field("https", &self.https)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("path", &redact_url(&self.path))
            .finish()
    }
}

impl PushTarget {
    /// Splits `http(s)://host[:port]/path?query`. Refused: another scheme, credentials in the URL (a terminal
    /// has nowhere to put them), a fragment, no host.
    pub fn parse(url: &str) -> Result<Self, PushUrlError> {
        let text = url.trim();
        let parsed = Url::parse(text).map_err(|_| PushUrlError::new(url, "not a URL"))?;
        let https = match parsed.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(PushUrlError::new(url, "the scheme must be http or https")),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(PushUrlError::new(
                url,
                "a terminal cannot send credentials in the URL; the token goes in the query",
            ));
        }
        if parsed.fragment().is_some() {
            return Err(PushUrlError::new(
                url,
                "a fragment (#...) is never sent; put the token in the query",
            ));
        }
        let address = match parsed.host_str().filter(|h| !h.is_empty()) {
            Some(h) if h.starts_with('[') => {
                PushAddress::Ipv6(h.trim_start_matches('[').trim_end_matches(']').to_owned())
            }
            Some(h) if h.parse::<std::net::Ipv4Addr>().is_ok() => PushAddress::Ipv4(h.to_owned()),
            Some(h) => PushAddress::Hostname(h.to_owned()),
            None => return Err(PushUrlError::new(url, "it has no host")),
        };
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| PushUrlError::new(url, "it has no port"))?;
        let mut path = parsed.path().to_owned();
        if let Some(q) = parsed.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(PushTarget {
            https,
            address,
            port,
            path,
        })
    }

    /// The `HttpHostNotification` document that makes slot `id` post here.
    pub fn document(&self, id: u32) -> String {
        let (format, element, value) = match &self.address {
            PushAddress::Ipv4(a) => ("ipaddress", "ipAddress", a.as_str()),
            PushAddress::Ipv6(a) => ("ipaddress", "ipv6Address", a.as_str()),
            PushAddress::Hostname(h) => ("hostname", "hostName", h.as_str()),
        };
        notification(
            id,
            &self.path,
            if self.https { "HTTPS" } else { "HTTP" },
            format,
            element,
            value,
            self.port,
        )
    }
}

/// An unused slot, as terminals show one: empty `url`, `0.0.0.0`.
pub fn empty_document(id: u32) -> String {
    notification(id, "", "HTTP", "ipaddress", "ipAddress", "0.0.0.0", 80)
}

fn notification(
    id: u32,
    path: &str,
    protocol: &str,
    addressing: &str,
    element: &str,
    address: &str,
    port: u16,
) -> String {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <HttpHostNotification version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\">\n\
         <id>{id}</id>\n<url>{}</url>\n<protocolType>{protocol}</protocolType>\n\
         <parameterFormatType>JSON</parameterFormatType>\n\
         <addressingFormatType>{addressing}</addressingFormatType>\n<{element}>{}</{element}>\n\
         <portNo>{port}</portNo>\n<httpAuthenticationMethod>none</httpAuthenticationMethod>\n\
         </HttpHostNotification>\n",
        esc(path),
        esc(address),
    )
}

/// What can go wrong reading or writing a terminal's listening hosts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpHostError {
    /// The terminal answered `notSupport` (or does not know the resource): its firmware has no HTTP listening
    /// over ISAPI.
    #[error(
        "{device}: the terminal does not offer HTTP listening over ISAPI ({path} answered HTTP {status}{sub}): \
         set the listening host on the terminal's web page if it has one (Event/Alarm > Alarm Server or HTTP \
         Listening), otherwise use `attendance-sync relay` or pull",
        sub = sub_status.as_deref().map(|s| format!(" {s}")).unwrap_or_default()
    )]
    NotSupported {
        device: String,
        path: String,
        status: u16,
        sub_status: Option<String>,
    },

    /// The slot posts to another system (a VMS, a cloud platform); overwriting it would cut that system off.
    #[error(
        "{device}: listening host slot {id} already posts to {shown} (not this site's push path {ours:?}); choose \
         another slot or clear that one first"
    )]
    SlotTaken {
        device: String,
        id: u32,
        /// What the slot holds, query redacted.
        shown: String,
        ours: String,
    },

    #[error(transparent)]
    Url(#[from] PushUrlError),

    /// Any other failure talking to the terminal (authentication, network, HTTP, an unreadable answer).
    #[error(transparent)]
    Device(#[from] Error),
}

impl HttpHostError {
    pub fn device(&self) -> Option<&str> {
        match self {
            HttpHostError::NotSupported { device, .. }
            | HttpHostError::SlotTaken { device, .. } => Some(device),
            HttpHostError::Url(_) => None,
            HttpHostError::Device(e) => Some(e.device()),
        }
    }
}

/// A device error, with `notSupport`, `methodNotAllowed` and an unknown resource told apart as no listening.
fn classify(error: Error) -> HttpHostError {
    match error {
        Error::Http {
            device,
            status,
            path,
            isapi,
        } if status == 404
            || matches!(
                isapi.sub_status.as_deref(),
                Some("notSupport" | "methodNotAllowed")
            ) =>
        {
            HttpHostError::NotSupported {
                device,
                path,
                status,
                sub_status: isapi.sub_status,
            }
        }
        Error::Protocol {
            device,
            path,
            what,
            excerpt,
        } => HttpHostError::Device(Error::Protocol {
            device,
            path,
            what: redact_url(&what),
            excerpt: redact_url(&excerpt),
        }),
        other => HttpHostError::Device(other),
    }
}

/// The `HttpHostNotification` elements of a list (or of one slot's answer), XML or JSON.
pub fn parse_http_hosts(body: &[u8]) -> Result<Vec<HttpHost>, String> {
    if xml::looks_like_xml(body) {
        parse_xml(body)
    } else {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("neither XML nor JSON: {e}"))?;
        let mut out = Vec::new();
        collect_json(&value, &mut out)?;
        Ok(out)
    }
}

/// One slot from its leaves (`(name, text)` of the `HttpHostNotification`'s own children).
fn host_of(fields: &[(String, String)]) -> Result<HttpHost, String> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let id = get("id")
        .ok_or("an HttpHostNotification without id")?
        .parse::<u32>()
        .map_err(|_| "an HttpHostNotification id that is not a number")?;
    let addressing = get("addressingFormatType").map(str::to_ascii_lowercase);
    let ip = get("ipAddress")
        .filter(|a| a.parse::<IpAddr>().map_or(true, |ip| !ip.is_unspecified()))
        .or_else(|| {
            get("ipv6Address")
                .filter(|a| a.parse::<IpAddr>().map_or(true, |ip| !ip.is_unspecified()))
        });
    let host = match addressing.as_deref() {
        Some("hostname") => get("hostName").or(ip),
        _ => ip.or_else(|| get("hostName")),
    };
    Ok(HttpHost {
        id,
        protocol: get("protocolType").unwrap_or("HTTP").to_owned(),
        host: host.map(str::to_owned),
        port: get("portNo").and_then(|p| p.parse().ok()),
        path: get("url").unwrap_or_default().to_owned(),
        format: get("parameterFormatType").map(str::to_owned),
        auth: get("httpAuthenticationMethod").map(str::to_owned),
    })
}

fn parse_xml(body: &[u8]) -> Result<Vec<HttpHost>, String> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    // Open elements' local names.
    let mut stack: Vec<String> = Vec::new();
    // The depth of the open HttpHostNotification and its direct leaves so far.
    let mut current: Option<(usize, Vec<(String, String)>)> = None;
    let mut text = String::new();
    let mut out = Vec::new();
    let mut seen_element = false;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(XmlEvent::Start(e)) => {
                seen_element = true;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "HttpHostNotification" && current.is_none() {
                    current = Some((stack.len() + 1, Vec::new()));
                }
                stack.push(name);
                text.clear();
            }
            Ok(XmlEvent::Empty(e)) => {
                seen_element = true;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some((depth, fields)) = current.as_mut() {
                    if stack.len() == *depth {
                        fields.push((name, String::new()));
                    }
                }
            }
            Ok(XmlEvent::Text(t)) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Ok(XmlEvent::GeneralRef(r)) => xml::push_reference(&mut text, &r)?,
            Ok(XmlEvent::End(_)) => {
                let depth = stack.len();
                let name = stack.pop().unwrap_or_default();
                if let Some((host_depth, fields)) = current.as_mut() {
                    if depth == *host_depth + 1 {
                        fields.push((name, std::mem::take(&mut text)));
                    } else if depth == *host_depth {
                        if let Some((_, fields)) = current.take() {
                            out.push(host_of(&fields)?);
                        }
                    }
                }
                text.clear();
            }
            Ok(XmlEvent::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "invalid XML at byte {}: {e}",
                    reader.error_position()
                ))
            }
        }
        buf.clear();
    }
    if seen_element {
        Ok(out)
    } else {
        Err("no XML element".to_owned())
    }
}

fn collect_json(value: &serde_json::Value, out: &mut Vec<HttpHost>) -> Result<(), String> {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if key == "HttpHostNotification" {
                    let items: Vec<&serde_json::Value> = match inner {
                        serde_json::Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for item in items {
                        let Some(fields) = item.as_object() else {
                            continue;
                        };
                        let leaves: Vec<(String, String)> = fields
                            .iter()
                            .filter_map(|(k, v)| match v {
                                serde_json::Value::String(s) => Some((k.clone(), s.clone())),
                                serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
                                _ => None,
                            })
                            .collect();
                        out.push(host_of(&leaves)?);
                    }
                } else {
                    collect_json(inner, out)?;
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_json(item, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn slot_path(id: u32) -> String {
    format!("{HTTP_HOSTS_PATH}/{id}")
}

/// The terminal's listening-host slots, in its order.
pub async fn http_hosts(client: &IsapiClient) -> Result<Vec<HttpHost>, HttpHostError> {
    let body = client.get(HTTP_HOSTS_PATH).await.map_err(classify)?;
    parse_http_hosts(&body).map_err(|what| {
        classify(Error::Protocol {
            device: client.device().to_owned(),
            path: HTTP_HOSTS_PATH.to_owned(),
            what: format!("unreadable HttpHostNotificationList: {what}"),
            excerpt: excerpt(&body),
        })
    })
}

/// Makes slot `id` post to `url` (the site's push URL, token in the query). A slot that posts to another path
/// (another system's) is left alone with [`HttpHostError::SlotTaken`] unless `overwrite`; one that already
/// posts to this path (an older token, another site address) is rewritten. Written again even when equal:
/// some terminals forget the host after a reboot (reference §6.3).
pub async fn set_http_host(
    client: &IsapiClient,
    id: u32,
    url: &str,
    overwrite: bool,
) -> Result<(), HttpHostError> {
    let target = PushTarget::parse(url)?;
    let ours = target.path.split('?').next().unwrap_or_default().to_owned();
    if !overwrite {
        let hosts = http_hosts(client).await?;
        if let Some(slot) = hosts.iter().find(|h| h.id == id) {
            if !slot.is_empty() && slot.route() != ours {
                return Err(HttpHostError::SlotTaken {
                    device: client.device().to_owned(),
                    id,
                    shown: redact_url(&slot.url().unwrap_or_else(|| {
                        format!(
                            "{} {}{}",
                            slot.protocol,
                            slot.host.as_deref().unwrap_or(""),
                            slot.path
                        )
                    })),
                    ours,
                });
            }
        }
    }
    client
        .put(&slot_path(id), target.document(id).into_bytes())
        .await
        .map_err(classify)?;
    Ok(())
}

/// Empties slot `id`: the terminal stops posting from it.
pub async fn clear_http_host(client: &IsapiClient, id: u32) -> Result<(), HttpHostError> {
    client
        .put(&slot_path(id), empty_document(id).into_bytes())
        .await
        .map_err(classify)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_URL: &str =
        "https://erp.example.com/api/method/attendance_sync.api.push?token=s3cr3t-T0ken_x";

    #[test]
    fn splits_a_site_url() {
        let t = PushTarget::parse(TOKEN_URL).expect("url");
        assert!(t.https);
        assert_eq!(t.address, PushAddress::Hostname("erp.example.com".into()));
        assert_eq!(t.port, 443);
        assert_eq!(
            t.path,
            "/api/method/attendance_sync.api.push?token=s3cr3t-T0ken_x"
        );
        let doc = t.document(2);
        assert!(doc.contains("<id>2</id>"));
        assert!(doc.contains("<protocolType>HTTPS</protocolType>"));
        assert!(doc.contains("<addressingFormatType>hostname</addressingFormatType>"));
        assert!(doc.contains("<hostName>erp.example.com</hostName>"));
        assert!(doc.contains("<portNo>443</portNo>"));
        assert!(doc.contains("<parameterFormatType>JSON</parameterFormatType>"));
        assert!(doc.contains("<httpAuthenticationMethod>none</httpAuthenticationMethod>"));

        let t = PushTarget::parse("http://10.0.0.20:8080/p?token=a&b=c").expect("url");
        assert_eq!(t.address, PushAddress::Ipv4("10.0.0.20".into()));
        assert_eq!(t.port, 8080);
        assert!(t.document(1).contains("<url>/p?token=a&amp;b=c</url>"));
        let t = PushTarget::parse("http://[fd00::5]/p").expect("url");
        assert_eq!(t.address, PushAddress::Ipv6("fd00::5".into()));
        assert!(t.document(1).contains("<ipv6Address>fd00::5</ipv6Address>"));
    }

    #[test]
    fn refuses_what_a_terminal_cannot_post_to() {
        for (url, what) in [
            ("ftp://site/x", "scheme"),
            ("https://user:pw@site/x?token=abc", "credentials"),
            ("https://site/x#token=abc", "fragment"),
            ("site/x", "not a URL"),
            ("", "not a URL"),
        ] {
            let err = PushTarget::parse(url).expect_err(url);
            assert!(
                err.to_string().contains(what) || err.what().contains(what),
                "{err}"
            );
            assert!(!err.to_string().contains("abc"), "{err}");
            assert!(!err.to_string().contains(":pw"), "{err}");
        }
    }

    #[test]
    fn redacts_queries() {
        assert_eq!(
            redact_url("https://s/p?token=abc&x=1"),
            "https://s/p?token=<redacted>&x=<redacted>"
        );
        assert_eq!(redact_url("<url>/p?abc</url>"), "<url>/p?<redacted></url>");
        assert_eq!(redact_url("no query"), "no query");
        assert_eq!(redact_url("/p?a=1#tok"), "/p?a=<redacted>#<redacted>");
        let t = PushTarget::parse(TOKEN_URL).expect("url");
        assert!(!format!("{t:?}").contains("s3cr3t"));
    }

    #[test]
    fn reads_a_list_with_nested_subscriptions() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<HttpHostNotificationList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
  <HttpHostNotification>
    <id>1</id><url>/api/method/attendance_sync.api.push?token=abc&amp;v=1</url>
    <protocolType>HTTPS</protocolType><parameterFormatType>JSON</parameterFormatType>
    <addressingFormatType>hostname</addressingFormatType><hostName>erp.example.com</hostName>
    <portNo>443</portNo><httpAuthenticationMethod>none</httpAuthenticationMethod>
    <SubscribeEvent><heartbeat>30</heartbeat><eventMode>all</eventMode>
      <EventList><Event><id>9</id><type>AccessControllerEvent</type></Event></EventList></SubscribeEvent>
  </HttpHostNotification>
  <HttpHostNotification>
    <id>2</id><url></url><protocolType>HTTP</protocolType>
    <addressingFormatType>ipaddress</addressingFormatType><ipAddress>0.0.0.0</ipAddress><portNo>80</portNo>
  </HttpHostNotification>
</HttpHostNotificationList>"#;
        let hosts = parse_http_hosts(body).expect("list");
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].id, 1);
        assert_eq!(hosts[0].host.as_deref(), Some("erp.example.com"));
        assert_eq!(
            hosts[0].url().as_deref(),
            Some("https://erp.example.com/api/method/attendance_sync.api.push?token=abc&v=1")
        );
        assert_eq!(hosts[0].route(), "/api/method/attendance_sync.api.push");
        assert!(!format!("{:?}", hosts[0]).contains("abc"));
        assert!(hosts[1].is_empty());
        assert_eq!(hosts[1].url(), None);
    }

    #[test]
    fn reads_a_whole_url_and_json() {
        let body = br#"{"HttpHostNotificationList": [{"HttpHostNotification": {"id": 1,
            "url": "http://10.0.0.9:8080/hik/push?k=1", "protocolType": "HTTP",
            "addressingFormatType": "ipaddress", "ipAddress": "10.0.0.9", "portNo": 8080}}]}"#;
        let hosts = parse_http_hosts(body).expect("json");
        assert_eq!(hosts.len(), 1);
        assert_eq!(
            hosts[0].url().as_deref(),
            Some("http://10.0.0.9:8080/hik/push?k=1")
        );
        assert_eq!(hosts[0].route(), "/hik/push");
        assert!(parse_http_hosts(b"garbage").is_err());
    }
}
