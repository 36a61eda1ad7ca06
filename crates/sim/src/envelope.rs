//! ISAPI `ResponseStatus` error envelopes, in JSON (flat object) and XML (docs/isapi.md#error-envelope).

use hyper::StatusCode;
use serde::Serialize;

use super::xml::escape;

/// The error classes the simulator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsapiError {
    DeviceBusy,
    DeviceError,
    NotSupport,
    MethodNotAllowed,
    BadJsonFormat,
    BadXmlFormat,
    BadParameters,
    MessageParametersLack,
    BadJsonContent,
}

impl IsapiError {
    fn status_code(self) -> u32 {
        match self {
            IsapiError::DeviceBusy => 2,
            IsapiError::DeviceError => 3,
            IsapiError::NotSupport | IsapiError::MethodNotAllowed => 4,
            IsapiError::BadJsonFormat | IsapiError::BadXmlFormat => 5,
            IsapiError::BadParameters
            | IsapiError::MessageParametersLack
            | IsapiError::BadJsonContent => 6,
        }
    }

    fn status_string(self) -> &'static str {
        match self.status_code() {
            2 => "Device Busy",
            3 => "Device Error",
            4 => "Invalid Operation",
            5 => "Invalid Format",
            _ => "Invalid Content",
        }
    }

    fn sub_status(self) -> &'static str {
        match self {
            IsapiError::DeviceBusy => "deviceBusy",
            IsapiError::DeviceError => "deviceError",
            IsapiError::NotSupport => "notSupport",
            IsapiError::MethodNotAllowed => "methodNotAllowed",
            IsapiError::BadJsonFormat => "badJsonFormat",
            IsapiError::BadXmlFormat => "badXmlFormat",
            IsapiError::BadParameters => "badParameters",
            IsapiError::MessageParametersLack => "MessageParametersLack",
            IsapiError::BadJsonContent => "badJsonContent",
        }
    }

    fn error_code(self) -> u32 {
        match self {
            IsapiError::DeviceBusy => 0x2000_0004,
            IsapiError::DeviceError => 0x3000_0001,
            IsapiError::NotSupport => 0x4000_0001,
            IsapiError::MethodNotAllowed => 0x4000_0004,
            IsapiError::BadJsonFormat => 0x5000_0002,
            IsapiError::BadXmlFormat => 0x5000_0001,
            IsapiError::BadParameters => 0x6000_0001,
            IsapiError::MessageParametersLack => 0x6000_0019,
            IsapiError::BadJsonContent => 0x6000_0017,
        }
    }

    /// The HTTP status this class is answered with.
    pub fn http_status(self) -> StatusCode {
        match self {
            IsapiError::DeviceBusy => StatusCode::SERVICE_UNAVAILABLE,
            IsapiError::DeviceError => StatusCode::INTERNAL_SERVER_ERROR,
            IsapiError::NotSupport => StatusCode::FORBIDDEN,
            IsapiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// One error answer: class, the request URL it refers to and `errorMsg` (often a field name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub error: IsapiError,
    pub url: String,
    pub msg: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEnvelope<'a> {
    #[serde(rename = "requestURL")]
    request_url: &'a str,
    status_code: u32,
    status_string: &'a str,
    sub_status_code: &'a str,
    error_code: u32,
    error_msg: &'a str,
}

impl Envelope {
    pub fn new(error: IsapiError, url: &str, msg: &str) -> Self {
        Envelope {
            error,
            url: url.to_string(),
            msg: msg.to_string(),
        }
    }

    pub fn json(&self) -> Vec<u8> {
        let body = JsonEnvelope {
            request_url: &self.url,
            status_code: self.error.status_code(),
            status_string: self.error.status_string(),
            sub_status_code: self.error.sub_status(),
            error_code: self.error.error_code(),
            error_msg: &self.msg,
        };
        super::json::to_device_json(&body).unwrap_or_else(|_| b"{}".to_vec())
    }

    pub fn xml(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <ResponseStatus version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\">\n\
             <requestURL>{}</requestURL>\n\
             <statusCode>{}</statusCode>\n\
             <statusString>{}</statusString>\n\
             <subStatusCode>{}</subStatusCode>\n\
             <errorCode>{}</errorCode>\n\
             <errorMsg>{}</errorMsg>\n\
             </ResponseStatus>\n",
            escape(&self.url),
            self.error.status_code(),
            self.error.status_string(),
            self.error.sub_status(),
            self.error.error_code(),
            escape(&self.msg),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_envelope_fields() {
        let env = Envelope::new(IsapiError::BadJsonContent, "/x?format=json", "endSerialNo");
        let value: serde_json::Value = serde_json::from_slice(&env.json()).expect("json");
        assert_eq!(value["statusCode"], 6);
        assert_eq!(value["subStatusCode"], "badJsonContent");
        assert_eq!(value["errorCode"], 1_610_612_759u32);
        assert_eq!(value["errorMsg"], "endSerialNo");
        assert_eq!(value["requestURL"], "/x?format=json");
    }

    #[test]
    fn xml_envelope_escapes() {
        let env = Envelope::new(IsapiError::NotSupport, "/a?b=<c>&d", "notSupport");
        let xml = env.xml();
        assert!(
            xml.contains("<requestURL>/a?b=&lt;c&gt;&amp;d</requestURL>"),
            "{xml}"
        );
        assert!(xml.contains("<statusCode>4</statusCode>"));
    }
}
