//! Flat reading of the small XML documents terminals send (deviceInfo, time, userCheck, ResponseStatus).
//!
//! Matches on local names, so both the isapi.org and the hikvision.com namespaces work
//! (docs/isapi.md#transport).

use quick_xml::events::{BytesRef, Event as XmlEvent};
use quick_xml::Reader;

/// One step through an XML document, elements by their local name.
pub(crate) enum Node {
    Start(String),
    Empty(String),
    /// Text, or what an entity reference stands for (references arrive as steps of their own).
    Text(String),
    End,
}

/// Walks an XML document, handing each step to `visit`; an unreadable document is an error naming the byte,
/// and so is a body with no element at all.
pub(crate) fn walk(
    body: &[u8],
    mut visit: impl FnMut(Node) -> Result<(), String>,
) -> Result<(), String> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut seen_element = false;
    let local =
        |name: quick_xml::name::LocalName<'_>| String::from_utf8_lossy(name.as_ref()).into_owned();
    loop {
        let node = match reader.read_event_into(&mut buf) {
            Ok(XmlEvent::Start(e)) => Node::Start(local(e.local_name())),
            Ok(XmlEvent::Empty(e)) => Node::Empty(local(e.local_name())),
            Ok(XmlEvent::Text(t)) => {
                Node::Text(t.decode().map_err(|e| e.to_string())?.into_owned())
            }
            Ok(XmlEvent::GeneralRef(r)) => {
                let mut text = String::new();
                push_reference(&mut text, &r)?;
                Node::Text(text)
            }
            Ok(XmlEvent::End(_)) => Node::End,
            Ok(XmlEvent::Eof) => break,
            Ok(_) => {
                buf.clear();
                continue;
            }
            Err(e) => {
                return Err(format!(
                    "invalid XML at byte {}: {e}",
                    reader.error_position()
                ))
            }
        };
        seen_element |= matches!(node, Node::Start(_) | Node::Empty(_));
        visit(node)?;
        buf.clear();
    }
    if seen_element {
        Ok(())
    } else {
        Err("no XML element".to_owned())
    }
}

/// The text of every leaf element, as `(local name, text)` in document order.
pub fn leaves(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    // The open element with no child yet, and its text so far.
    let mut current: Option<(String, String)> = None;
    walk(body, |node| {
        match node {
            Node::Start(name) => current = Some((name, String::new())),
            Node::Empty(_) => current = None,
            Node::Text(t) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            Node::End => {
                if let Some((name, text)) = current.take() {
                    let text = text.trim();
                    if !text.is_empty() {
                        out.push((name, text.to_owned()));
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Appends what a character or predefined entity reference (`&#233;`, `&amp;`) stands for to `text`.
fn push_reference(text: &mut String, r: &BytesRef<'_>) -> Result<(), String> {
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
