//! What the site's answer to one POST means for the event (docs/push.md#what-the-site-answers). Only the
//! documented answer acknowledges: 200 with `{"message": {"ok": true, "result": ...}}`. A proxy, an SSO login
//! page, a maintenance page or another application answering in the site's place leaves the event queued,
//! and the log says what came back: status, content type, where a redirect leads (without its query) and the
//! first characters of the body, with the token masked wherever it shows.

use std::time::Duration;

use serde_json::Value;

/// Characters of a body shown in the log.
const EXCERPT: usize = 120;

/// One HTTP answer, as far as the relay reads it.
#[derive(Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Acknowledged,
    /// 200 `unreadable`, or 413: kept in the queue as rejected, never sent again.
    Rejected(String),
    /// 401: the token is wrong; this device's delivery stops.
    Unauthorized,
    /// 429, with the seconds of `Retry-After` when given.
    RateLimited(Option<Duration>),
    /// Anything else: the event stays queued and is tried again after the backoff.
    Retry(String),
}

/// The `result` (and `reason`) of the site's answer; `None` for anything else.
fn site_result(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let message = value.get("message")?;
    if message.get("ok")?.as_bool() != Some(true) {
        return None;
    }
    let result = message.get("result")?.as_str()?.to_owned();
    let reason = message
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Some((result, reason))
}

/// What the answer means; `token` is masked in every description.
pub fn classify(reply: &Reply, token: &str) -> Answer {
    match reply.status {
        200 => match site_result(&reply.body) {
            Some((result, reason)) if result == "unreadable" => {
                Answer::Rejected(format!("the site could not read it ({reason})"))
            }
            Some(_) => Answer::Acknowledged,
            None => Answer::Retry(format!(
                "{}: not the site's answer (a proxy, login or maintenance page?)",
                describe(reply, token)
            )),
        },
        401 => Answer::Unauthorized,
        413 => Answer::Rejected("the site refused it as too large (HTTP 413)".into()),
        429 => Answer::RateLimited(
            reply
                .retry_after
                .as_deref()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        ),
        300..=399 => Answer::Retry(format!(
            "{}: a redirect, not followed (a login page or a moved site?)",
            describe(reply, token)
        )),
        _ => Answer::Retry(describe(reply, token)),
    }
}

/// `HTTP 302, text/html, to https://sso.example.com/login, body "..."`.
fn describe(reply: &Reply, token: &str) -> String {
    let mut text = format!("HTTP {}", reply.status);
    text.push_str(", ");
    text.push_str(reply.content_type.as_deref().unwrap_or("no content type"));
    if let Some(location) = &reply.location {
        text.push_str(", to ");
        text.push_str(&mask(&without_query(location), token));
    }
    text.push_str(", ");
    text.push_str(&excerpt(&reply.body, token));
    text
}

/// A URL or path without its query and fragment.
fn without_query(location: &str) -> String {
    let end = location.find(['?', '#']).unwrap_or(location.len());
    location[..end].to_owned()
}

fn mask(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "***")
    }
}

/// The body's first characters on one line, the token masked.
fn excerpt(body: &[u8], token: &str) -> String {
    let text = String::from_utf8_lossy(body);
    // Control characters become spaces: that can split a token, never join one.
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let masked = mask(&flat, token);
    if masked.is_empty() {
        return "empty body".into();
    }
    let shown: String = masked.chars().take(EXCERPT).collect();
    let more = if shown.len() < masked.len() {
        "..."
    } else {
        ""
    };
    format!("body {shown:?}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-9-secret";

    fn reply(status: u16, content_type: &str, body: &str) -> Reply {
        Reply {
            status,
            content_type: Some(content_type.into()),
            body: body.as_bytes().to_vec(),
            ..Reply::default()
        }
    }

    fn json(status: u16, body: &str) -> Answer {
        classify(&reply(status, "application/json", body), TOKEN)
    }

    #[test]
    fn only_the_documented_answer_acknowledges() {
        for result in ["stored", "duplicate", "heartbeat", "ignored"] {
            let body = format!(r#"{{"message": {{"ok": true, "result": "{result}"}}}}"#);
            assert_eq!(json(200, &body), Answer::Acknowledged, "{result}");
        }
        assert!(matches!(
            json(
                200,
                r#"{"message": {"ok": true, "result": "unreadable", "reason": "json"}}"#
            ),
            Answer::Rejected(_)
        ));
        for body in [
            r#"{"message": {"result": "duplicate"}}"#,
            r#"{"message": {"ok": false, "result": "stored"}}"#,
            r#"{"message": {"ok": "true", "result": "stored"}}"#,
            r#"{"message": {"ok": true}}"#,
            r#"{"ok": true, "result": "stored"}"#,
            "",
        ] {
            assert!(matches!(json(200, body), Answer::Retry(_)), "{body}");
        }
        // Another 2xx is not the site's answer either.
        assert!(matches!(
            json(201, r#"{"message": {"ok": true, "result": "stored"}}"#),
            Answer::Retry(_)
        ));
    }

    #[test]
    fn the_other_statuses() {
        assert_eq!(json(401, ""), Answer::Unauthorized);
        assert!(matches!(json(413, ""), Answer::Rejected(_)));
        let limited = Reply {
            status: 429,
            retry_after: Some("7".into()),
            ..Reply::default()
        };
        assert_eq!(
            classify(&limited, TOKEN),
            Answer::RateLimited(Some(Duration::from_secs(7)))
        );
        assert_eq!(json(429, ""), Answer::RateLimited(None));
        assert!(matches!(json(503, ""), Answer::Retry(_)));
        assert!(matches!(json(404, ""), Answer::Retry(_)));
    }

    #[test]
    fn what_came_back_is_described_without_the_token_or_a_query() {
        let page = format!(
            "<html>\n<body>\t<p>/api/method/attendance_sync.api.push?token={TOKEN} is not here</p></body></html>"
        );
        let Answer::Retry(why) = classify(&reply(200, "text/html", &page), TOKEN) else {
            panic!("acknowledged a page");
        };
        assert!(
            why.starts_with("HTTP 200, text/html, body \"<html> <body> <p>/api/method/"),
            "{why}"
        );
        assert!(!why.contains(TOKEN), "{why}");
        let mut redirect = reply(302, "text/html", "");
        redirect.location = Some(format!(
            "https://sso.example.com/login?next=/api/method/attendance_sync.api.push%3Ftoken%3D{TOKEN}"
        ));
        let Answer::Retry(why) = classify(&redirect, TOKEN) else {
            panic!("acknowledged a redirect");
        };
        assert!(
            why.starts_with("HTTP 302, text/html, to https://sso.example.com/login, empty body"),
            "{why}"
        );
        assert!(!why.contains("next=") && !why.contains(TOKEN), "{why}");
        let long = "x".repeat(500);
        let Answer::Retry(why) = classify(&reply(502, "text/plain", &long), TOKEN) else {
            panic!("acknowledged a 502");
        };
        assert!(why.ends_with("\"...") && why.len() < 200, "{why}");
    }
}
