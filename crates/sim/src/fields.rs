//! Typed access to a JSON request object, turning every problem into an ISAPI error envelope.

use serde_json::{Map, Value};

use super::envelope::{Envelope, IsapiError};

/// The condition object of a JSON request (`{"AcsEventCond": {...}}` → the inner object).
pub struct Fields<'a> {
    obj: Map<String, Value>,
    url: &'a str,
}

impl<'a> Fields<'a> {
    /// Parses `body` and takes the object under `root`. Broken JSON is `badJsonFormat`; a missing
    /// or wrong root is `MessageParametersLack` (as devices answer `AcsEventCond` sent to TotalNum).
    pub fn parse(body: &[u8], root: &str, url: &'a str) -> Result<Self, Envelope> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| Envelope::new(IsapiError::BadJsonFormat, url, "badJsonFormat"))?;
        match value {
            Value::Object(mut top) => match top.remove(root) {
                Some(Value::Object(obj)) => Ok(Fields { obj, url }),
                Some(_) => Err(Envelope::new(IsapiError::BadJsonContent, url, root)),
                None => Err(Envelope::new(IsapiError::MessageParametersLack, url, root)),
            },
            _ => Err(Envelope::new(
                IsapiError::BadJsonFormat,
                url,
                "badJsonFormat",
            )),
        }
    }

    pub fn error(&self, error: IsapiError, field: &str) -> Envelope {
        Envelope::new(error, self.url, field)
    }

    fn present(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.present(key).is_some()
    }

    fn require(&self, key: &str) -> Result<&Value, Envelope> {
        self.present(key)
            .ok_or_else(|| self.error(IsapiError::MessageParametersLack, key))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, Envelope> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.error(IsapiError::BadJsonContent, key)),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&str, Envelope> {
        self.require(key)?;
        self.opt_str(key)?
            .ok_or_else(|| self.error(IsapiError::MessageParametersLack, key))
    }

    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, Envelope> {
        match self.present(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.error(IsapiError::BadJsonContent, key)),
        }
    }

    pub fn req_u64(&self, key: &str) -> Result<u64, Envelope> {
        self.require(key)?;
        self.opt_u64(key)?
            .ok_or_else(|| self.error(IsapiError::MessageParametersLack, key))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, Envelope> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(IsapiError::BadJsonContent, key)),
        }
    }

    /// An array under `key` (absent = empty).
    pub fn opt_array(&self, key: &str) -> Result<&[Value], Envelope> {
        match self.present(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.error(IsapiError::BadJsonContent, key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let url = "/u";
        assert_eq!(
            Fields::parse(b"{", "A", url).err().map(|e| e.error),
            Some(IsapiError::BadJsonFormat)
        );
        assert_eq!(
            Fields::parse(b"[1]", "A", url).err().map(|e| e.error),
            Some(IsapiError::BadJsonFormat)
        );
        let wrong_root = Fields::parse(br#"{"B":{}}"#, "A", url).err();
        assert_eq!(
            wrong_root.map(|e| (e.error, e.msg)),
            Some((IsapiError::MessageParametersLack, "A".into()))
        );
        let f = Fields::parse(br#"{"A":{"n":"3","s":"x","b":true,"z":null}}"#, "A", url)
            .expect("parse");
        assert_eq!(
            f.req_u64("n").err().map(|e| e.error),
            Some(IsapiError::BadJsonContent)
        );
        assert_eq!(f.req_u64("m").err().map(|e| e.msg), Some("m".into()));
        assert_eq!(f.req_str("s").ok(), Some("x"));
        assert_eq!(f.opt_bool("b").ok(), Some(Some(true)));
        assert_eq!(f.opt_u64("z").ok(), Some(None));
    }
}
