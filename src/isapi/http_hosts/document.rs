//! The `HttpHostNotification` document written into a slot (`PUT .../httpHosts/<id>`): the site's push
//! target, JSON, no authentication; or an unused slot, as terminals show one.

use super::target::{PushAddress, PushTarget};

impl PushTarget {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_slot_for_the_site() {
        let t = PushTarget::parse(
            "https://erp.example.com/api/method/attendance_sync.api.push?token=s3cr3t-T0ken_x",
        )
        .expect("url");
        let doc = t.document(2);
        assert!(doc.contains("<id>2</id>"));
        assert!(doc.contains("<protocolType>HTTPS</protocolType>"));
        assert!(doc.contains("<addressingFormatType>hostname</addressingFormatType>"));
        assert!(doc.contains("<hostName>erp.example.com</hostName>"));
        assert!(doc.contains("<portNo>443</portNo>"));
        assert!(doc.contains("<parameterFormatType>JSON</parameterFormatType>"));
        assert!(doc.contains("<httpAuthenticationMethod>none</httpAuthenticationMethod>"));

        let t = PushTarget::parse("http://10.0.0.20:8080/p?token=a&b=c").expect("url");
        assert!(t.document(1).contains("<url>/p?token=a&amp;b=c</url>"));
        let t = PushTarget::parse("http://[fd00::5]/p").expect("url");
        assert!(t.document(1).contains("<ipv6Address>fd00::5</ipv6Address>"));
    }

    #[test]
    fn an_empty_slot_reads_back_as_unused() {
        let hosts = super::super::parse_http_hosts(empty_document(3).as_bytes()).expect("doc");
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].id, 3);
        assert!(hosts[0].is_empty());
    }
}
