//! The deliverer of one terminal: POSTs its queued events oldest first, one each, and takes an event off the
//! queue only on the site's documented answer (answer.rs). Redirects are never followed (the client is built
//! so in mod.rs): a 3xx is an answer like any other that is not the site's.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio::sync::Notify;

use super::answer::{classify, Answer, Reply};
use super::config::{RelayConfig, RelayDevice, Token};
use super::{say, with_queue, SharedQueue};

/// Events POSTed per look at the queue.
const BATCH: usize = 200;

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn post(http: &reqwest::Client, url: &str, token: &Token, body: String) -> Answer {
    let request = http
        .post(url)
        .query(&[("token", token.expose())])
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    match request.send().await {
        Ok(response) => {
            let mut reply = Reply {
                status: response.status().as_u16(),
                content_type: header(&response, CONTENT_TYPE),
                location: header(&response, LOCATION),
                retry_after: header(&response, RETRY_AFTER),
                body: Vec::new(),
            };
            reply.body = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            classify(&reply, token.expose())
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
                    let pending =
                        with_queue(&queue, |q| q.counts(&dev.name)).map_or(0, |c| c.pending);
                    say(
                        &dev.name,
                        format!(
                            "delivery of event {id} failed ({why}); retrying in {backoff:?}, {pending} events \
                             stay queued"
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
