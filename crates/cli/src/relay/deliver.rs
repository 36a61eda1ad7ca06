//! The deliverer of one terminal: POSTs its queued events oldest first, one each, and takes an event off the
//! queue on the site's answer.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::Notify;

use super::config::{RelayConfig, RelayDevice, Token};
use super::{say, with_queue, SharedQueue};

/// Events POSTed per look at the queue.
const BATCH: usize = 200;

/// What the site's answer means for one event (docs/push.md#what-the-site-answers).
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Acknowledged,
    /// 200 `unreadable`, or 413: kept in the queue as rejected, never sent again.
    Rejected(String),
    /// 401: the token is wrong; this device's delivery stops.
    Unauthorized,
    /// 429, with the seconds of `Retry-After` when given.
    RateLimited(Option<Duration>),
    /// Anything else: try again after the backoff.
    Retry(String),
}

fn classify(status: u16, retry_after: Option<&HeaderValue>, body: &str) -> Answer {
    match status {
        200..=299 => {
            let result = serde_json::from_str::<Value>(body).ok().and_then(|v| {
                let m = v.get("message").unwrap_or(&v);
                Some((
                    m.get("result")?.as_str()?.to_owned(),
                    m.get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            });
            match result {
                Some((r, reason)) if r == "unreadable" => {
                    Answer::Rejected(format!("the site could not read it ({reason})"))
                }
                _ => Answer::Acknowledged,
            }
        }
        401 => Answer::Unauthorized,
        413 => Answer::Rejected("the site refused it as too large (HTTP 413)".into()),
        429 => Answer::RateLimited(
            retry_after
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        ),
        other => Answer::Retry(format!("HTTP {other}")),
    }
}

async fn post(http: &reqwest::Client, url: &str, token: &Token, body: String) -> Answer {
    let request = http
        .post(url)
        .query(&[("token", token.expose())])
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            let text = response.text().await.unwrap_or_default();
            classify(status, retry_after.as_ref(), &text)
        }
        // reqwest's messages carry the URL, and with it the token: say what kind of failure only.
        Err(e) => Answer::Retry(
            if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "connection failed"
            }
            .to_owned(),
        ),
    }
}

pub async fn deliver(
    dev: Arc<RelayDevice>,
    queue: SharedQueue,
    cfg: Arc<RelayConfig>,
    http: reqwest::Client,
    wake: Arc<Notify>,
) {
    let mut backoff = cfg.retry_first;
    loop {
        let batch = match with_queue(&queue, |q| q.pending(&dev.name, BATCH)) {
            Ok(b) => b,
            Err(e) => {
                say(&dev.name, format!("queue unreadable: {e}"));
                tokio::time::sleep(cfg.poll).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(cfg.poll) => {}
            }
            continue;
        }
        let mut delivered = 0usize;
        for (id, body) in batch {
            let answer = post(&http, &cfg.endpoint, &dev.token, body).await;
            let recorded = match &answer {
                Answer::Acknowledged => {
                    backoff = cfg.retry_first;
                    delivered += 1;
                    with_queue(&queue, |q| q.delivered(id))
                }
                Answer::Rejected(why) => {
                    say(
                        &dev.name,
                        format!(
                            "event {id} rejected by the site: {why}; kept in the queue as rejected"
                        ),
                    );
                    with_queue(&queue, |q| q.rejected(id, why))
                }
                Answer::Unauthorized => {
                    let pending =
                        with_queue(&queue, |q| q.counts(&dev.name)).map_or(0, |c| c.pending);
                    say(
                        &dev.name,
                        format!(
                            "the site refused this device's push token (HTTP 401): delivery for this device \
                             stopped and is not retried; {pending} events stay queued. Set the token shown by \
                             the site's Device Configuration and restart the relay"
                        ),
                    );
                    return;
                }
                Answer::RateLimited(after) => {
                    let wait = after
                        .unwrap_or(backoff)
                        .min(cfg.retry_max.max(Duration::from_secs(1)) * 4);
                    say(
                        &dev.name,
                        format!("rate limited by the site (HTTP 429); waiting {wait:?}"),
                    );
                    tokio::time::sleep(wait).await;
                    break;
                }
                Answer::Retry(why) => {
                    let _ = with_queue(&queue, |q| q.failed_attempt(id, why));
                    say(
                        &dev.name,
                        format!(
                            "delivery failed ({why}); retrying in {backoff:?}, events stay queued"
                        ),
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(cfg.retry_max);
                    break;
                }
            };
            if let Err(e) = recorded {
                say(
                    &dev.name,
                    format!("cannot record a delivery in the queue: {e}"),
                );
            }
        }
        if delivered > 0 {
            say(&dev.name, format!("{delivered} events delivered"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            classify(
                200,
                None,
                r#"{"message": {"ok": true, "result": "stored"}}"#
            ),
            Answer::Acknowledged
        );
        assert_eq!(
            classify(200, None, r#"{"message": {"result": "duplicate"}}"#),
            Answer::Acknowledged
        );
        assert_eq!(classify(200, None, ""), Answer::Acknowledged);
        assert!(matches!(
            classify(
                200,
                None,
                r#"{"message": {"result": "unreadable", "reason": "json"}}"#
            ),
            Answer::Rejected(_)
        ));
        assert_eq!(classify(401, None, ""), Answer::Unauthorized);
        assert!(matches!(classify(413, None, ""), Answer::Rejected(_)));
        let after = HeaderValue::from_static("7");
        assert_eq!(
            classify(429, Some(&after), ""),
            Answer::RateLimited(Some(Duration::from_secs(7)))
        );
        assert_eq!(classify(429, None, ""), Answer::RateLimited(None));
        assert!(matches!(classify(503, None, ""), Answer::Retry(_)));
        assert!(matches!(classify(404, None, ""), Answer::Retry(_)));
    }
}
