//! Flat reading of the small XML documents terminals send (deviceInfo, time, userCheck, ResponseStatus).
//!
//! Matches on local names, so both the isapi.org and the hikvision.com namespaces work
//! (docs/isapi.md#transport).

use quick_xml::events::{BytesRef, Event as XmlEvent};
use quick_xml::Reader;

/// The text of every leaf element, as `(local name, text)` in document order.
pub fn leaves(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader::from_reader(body);
    let mut out = Vec::new();
    // The open element with no child yet, and its text so far (entity references arrive as separate events).
    let mut current: Option<(String, String)> = None;
    let mut buf = Vec::new();
    let mut seen_element = false;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(XmlEvent::Start(e)) => {
                seen_element = true;
                current = Some((
                    String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    String::new(),
                ));
            }
            Ok(XmlEvent::Empty(_)) => {
                seen_element = true;
                current = None;
            }
            Ok(XmlEvent::Text(t)) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Ok(XmlEvent::GeneralRef(r)) => {
                if let Some((_, text)) = current.as_mut() {
                    push_reference(text, &r)?;
                }
            }
            Ok(XmlEvent::End(_)) => {
                if let Some((name, text)) = current.take() {
                    let text = text.trim();
                    if !text.is_empty() {
                        out.push((name, text.to_owned()));
                    }
                }
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

/// Appends what a character or predefined entity reference (`&#233;`, `&amp;`) stands for to `text`.
pub(crate) fn push_reference(text: &mut String, r: &BytesRef<'_>) -> Result<(), String> {
    let name = r.decode().map_err(|e| e.to_string())?;
    match r.resolve_char_ref().map_err(|e| e.to_string())? {
        Some(c) => text.push(c),
        None => text.push_str(
            quick_xml::escape::resolve_predefined_entity(&name)
                .ok_or_else(|| format!("unknown entity &{name};"))?,
        ),
    }
    Ok(())
}

/// The first leaf with this local name.
pub fn find<'a>(leaves: &'a [(String, String)], name: &str) -> Option<&'a str> {
    leaves
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a body is XML (`<`) rather than JSON (`{`), by its first non-blank byte; devices mislabel the
/// content type (docs/isapi.md#transport).
pub fn looks_like_xml(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaced_leaves() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
  <deviceName>Main &amp; Side</deviceName><model>DS-K1T341CMFW</model><empty/>
</DeviceInfo>"#;
        let l = leaves(doc).unwrap();
        assert_eq!(find(&l, "deviceName"), Some("Main & Side"));
        assert_eq!(find(&l, "model"), Some("DS-K1T341CMFW"));
        assert_eq!(find(&l, "serialNumber"), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(leaves(b"").is_err());
        assert!(leaves(b"<a><b>1</c></a>").is_err());
        assert!(looks_like_xml(b"  \n<x/>"));
        assert!(!looks_like_xml(b"{\"a\":1}"));
    }
}
