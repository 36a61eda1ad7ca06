//! The listening-host slots of one device (held in its state, [`crate::state::DeviceState::http_hosts`]): each
//! slot as written, how it reads back, and which one the pusher follows.

use std::net::IpAddr;

use crate::xml::escape;

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
    /// An unused slot, as a terminal shows one: empty `url`, `0.0.0.0`.
    pub fn empty(id: u32) -> Self {
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

    /// The slot as an `HttpHostNotification` element (no XML declaration).
    pub fn xml(&self) -> String {
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
    /// Slot `id` as it reads back (unused when never written).
    pub fn get(&self, id: u32) -> Slot {
        self.written
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .unwrap_or_else(|| Slot::empty(id))
    }

    /// Stores `slot`; returns the URL the pusher should follow now (`None`: stop).
    pub fn store(&mut self, slot: Slot) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
