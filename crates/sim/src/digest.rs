//! HTTP Digest (RFC 7616) primitives for the server side: parsing `Authorization`, hashing,
//! formatting `WWW-Authenticate`.

use std::collections::HashMap;
use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// `algorithm=` value of a client, absent meaning MD5 (RFC 7616 §3.3).
    pub fn from_param(value: Option<&str>) -> Option<Self> {
        match value {
            None => Some(Algorithm::Md5),
            Some(v) if v.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(v) if v.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    pub fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Parameters of a `Digest` Authorization header (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    params: HashMap<String, String>,
}

impl Credentials {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses `Digest k=v, k="quoted \" value", …`. Returns `None` for other schemes and for
/// malformed or ambiguous (duplicate-key) input.
pub fn parse_authorization(header: &str) -> Option<Credentials> {
    let header = header.trim_start();
    let scheme_end = header.find(|c: char| c.is_ascii_whitespace())?;
    if !header[..scheme_end].eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut chars = header[scheme_end..].chars().peekable();
    let mut params = HashMap::new();
    loop {
        while chars
            .next_if(|c| c.is_ascii_whitespace() || *c == ',')
            .is_some()
        {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_') {
            key.push(c.to_ascii_lowercase());
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if key.is_empty() || chars.next() != Some('=') {
            return None;
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_ascii_whitespace() && *c != ',') {
                value.push(c);
            }
        }
        if params.insert(key, value).is_some() {
            return None;
        }
    }
    Some(Credentials { params })
}

/// Inputs of the `qop=auth` response hash.
pub struct ResponseInput<'a> {
    pub algorithm: Algorithm,
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// Exactly as the client sent it: the hash covers the literal text.
    pub nc: &'a str,
    pub cnonce: &'a str,
}

/// `H(H(A1):nonce:nc:cnonce:auth:H(A2))` for `qop=auth`.
pub fn expected_response(input: &ResponseInput<'_>) -> String {
    let h = |s: &str| input.algorithm.hex(s);
    let ha1 = h(&format!(
        "{}:{}:{}",
        input.username, input.realm, input.password
    ));
    let ha2 = h(&format!("{}:{}", input.method, input.uri));
    h(&format!(
        "{ha1}:{}:{}:{}:auth:{ha2}",
        input.nonce, input.nc, input.cnonce
    ))
}

/// A `WWW-Authenticate` value.
pub fn challenge(
    realm: &str,
    nonce: &str,
    opaque: &str,
    stale: bool,
    algorithm: Option<Algorithm>,
) -> String {
    let stale = if stale { "TRUE" } else { "FALSE" };
    let mut out = format!(
        "Digest qop=\"auth\", realm=\"{}\", nonce=\"{nonce}\", opaque=\"{opaque}\", stale=\"{stale}\"",
        realm.replace('\\', "\\\\").replace('"', "\\\"")
    );
    if let Some(algorithm) = algorithm {
        let _ = write!(out, ", algorithm={}", algorithm.name());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_plain_values() {
        let creds = parse_authorization(
            r#"Digest username="ad\"min", realm="DS-1", nonce="abc", uri="/ISAPI/x?format=json", qop=auth, nc=00000001, cnonce="c", response="r", algorithm=MD5"#,
        )
        .expect("parse");
        assert_eq!(creds.get("username"), Some("ad\"min"));
        assert_eq!(creds.get("uri"), Some("/ISAPI/x?format=json"));
        assert_eq!(creds.get("nc"), Some("00000001"));
        assert_eq!(creds.get("algorithm"), Some("MD5"));
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse_authorization("Basic YWRtaW46eA==").is_none());
        assert!(parse_authorization("Digest username=\"unterminated").is_none());
        assert!(parse_authorization("Digest =x").is_none());
        assert!(parse_authorization("Digest a=1, a=2").is_none());
        assert!(parse_authorization("Digest ü=1").is_none());
        assert!(parse_authorization("Digest").is_none());
    }

    #[test]
    fn matches_rfc_7616_example() {
        // RFC 7616 §3.9.1 (MD5 and SHA-256 variants of the Mufasa example).
        let mut input = ResponseInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        };
        assert_eq!(
            expected_response(&input),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        input.algorithm = Algorithm::Sha256;
        assert_eq!(
            expected_response(&input),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }
}
