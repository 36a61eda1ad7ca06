//! A terminal's answer about its slots read into [`HttpHost`]s: the `HttpHostNotification` elements of a list
//! (or of one slot's answer), XML or JSON, the elements matched by local name at any depth (subscriptions
//! nested in a slot are skipped).

use std::net::IpAddr;

use super::slot::HttpHost;
use crate::isapi::xml::{self, Node};

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
    // Open elements' local names.
    let mut stack: Vec<String> = Vec::new();
    // The depth of the open HttpHostNotification and its direct leaves so far.
    let mut current: Option<(usize, Vec<(String, String)>)> = None;
    let mut text = String::new();
    let mut out = Vec::new();
    xml::walk(body, |node| {
        match node {
            Node::Start(name) => {
                if name == "HttpHostNotification" && current.is_none() {
                    current = Some((stack.len() + 1, Vec::new()));
                }
                stack.push(name);
                text.clear();
            }
            Node::Empty(name) => {
                if let Some((depth, fields)) = current.as_mut() {
                    if stack.len() == *depth {
                        fields.push((name, String::new()));
                    }
                }
            }
            Node::Text(t) => text.push_str(&t),
            Node::End => {
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
        }
        Ok(())
    })?;
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

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
