//! Small XML document builder for the few XML resources the simulator serves.

use std::borrow::Cow;
use std::fmt::Display;

/// Escapes text for element content.
pub fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// Builds `<root version="2.0" xmlns="…">` documents with one level of child elements.
pub struct XmlDoc {
    out: String,
    root: &'static str,
}

pub const ISAPI_NS: &str = "http://www.isapi.org/ver20/XMLSchema";
pub const HIKVISION_NS: &str = "http://www.hikvision.com/ver20/XMLSchema";

impl XmlDoc {
    pub fn new(root: &'static str, namespace: &str) -> Self {
        let out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} version=\"2.0\" xmlns=\"{namespace}\">\n"
        );
        XmlDoc { out, root }
    }

    /// Appends `<name>value</name>` with the value escaped.
    pub fn field(mut self, name: &str, value: impl Display) -> Self {
        let text = value.to_string();
        self.out
            .push_str(&format!("<{name}>{}</{name}>\n", escape(&text)));
        self
    }

    pub fn finish(mut self) -> String {
        self.out.push_str(&format!("</{}>\n", self.root));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_escaped_document() {
        let doc = XmlDoc::new("Time", ISAPI_NS)
            .field("a", "x<y")
            .field("b", 3)
            .finish();
        assert!(doc.starts_with("<?xml"));
        assert!(
            doc.contains("<Time version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\">")
        );
        assert!(doc.contains("<a>x&lt;y</a>\n<b>3</b>\n</Time>\n"));
    }
}
