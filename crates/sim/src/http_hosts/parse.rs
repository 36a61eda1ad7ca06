//! A written `HttpHostNotification` body read, and each slot in it checked the way a terminal checks it; a
//! refusal is a [`SlotError`] naming the field, answered as the terminal's `errorMsg`.

use std::net::IpAddr;

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

use super::slots::Slot;
use crate::envelope::IsapiError;

/// Why a terminal refuses a written slot. Its `errorMsg` ([`SlotError::error_msg`]) names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// The body is not well-formed XML (`badXmlFormat`).
    #[error("the body is not well-formed XML")]
    BadXml,
    /// A required element is missing (`MessageParametersLack`).
    #[error("{0} is missing")]
    Missing(&'static str),
    /// An element holds a value the terminal refuses (`badParameters`).
    #[error("{0} holds a value the terminal refuses")]
    Invalid(&'static str),
}

impl SlotError {
    /// The error class answered.
    pub fn kind(self) -> IsapiError {
        match self {
            SlotError::BadXml => IsapiError::BadXmlFormat,
            SlotError::Missing(_) => IsapiError::MessageParametersLack,
            SlotError::Invalid(_) => IsapiError::BadParameters,
        }
    }

    /// The answer's `errorMsg`: the field, or `badXmlFormat`.
    pub fn error_msg(self) -> &'static str {
        match self {
            SlotError::BadXml => "badXmlFormat",
            SlotError::Missing(field) | SlotError::Invalid(field) => field,
        }
    }
}

/// The direct children of every `HttpHostNotification` of a body, as `(local name, text)`.
pub(super) fn parse(body: &[u8]) -> Result<Vec<Vec<(String, String)>>, SlotError> {
    let bad = || SlotError::BadXml;
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
pub(super) fn slot_of(
    fields: &[(String, String)],
    path_id: Option<u32>,
    slots: u32,
) -> Result<Slot, SlotError> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let lack = SlotError::Missing;
    let bad = SlotError::Invalid;
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

    fn one(body: &str) -> Result<Slot, SlotError> {
        slot_of(&parse(body.as_bytes())?[0], Some(1), 2)
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
        assert_eq!(
            one("<HttpHostNotification><id>1</id>"),
            Err(SlotError::BadXml)
        );
        assert_eq!(
            one("<HttpHostNotification><id>2</id><protocolType>HTTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>80</portNo></HttpHostNotification>"),
            Err(SlotError::Invalid("id"))
        );
        assert_eq!(
            one("<HttpHostNotification><id>1</id><protocolType>FTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>80</portNo></HttpHostNotification>"),
            Err(SlotError::Invalid("protocolType"))
        );
        assert_eq!(
            one("<HttpHostNotification><id>1</id><protocolType>HTTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>0</portNo></HttpHostNotification>"),
            Err(SlotError::Invalid("portNo"))
        );
        assert_eq!(
            one("<HttpHostNotification><id>1</id><protocolType>HTTP</protocolType><ipAddress>1.2.3.4</ipAddress></HttpHostNotification>"),
            Err(SlotError::Missing("portNo"))
        );
    }

    #[test]
    fn a_refusal_is_answered_as_a_terminal_answers_it() {
        assert_eq!(
            (SlotError::BadXml.kind(), SlotError::BadXml.error_msg()),
            (IsapiError::BadXmlFormat, "badXmlFormat")
        );
        let missing = SlotError::Missing("portNo");
        assert_eq!(
            (missing.kind(), missing.error_msg()),
            (IsapiError::MessageParametersLack, "portNo")
        );
        let invalid = SlotError::Invalid("ipAddress");
        assert_eq!(
            (invalid.kind(), invalid.error_msg()),
            (IsapiError::BadParameters, "ipAddress")
        );
        assert_eq!(
            invalid.to_string(),
            "ipAddress holds a value the terminal refuses"
        );
    }
}
