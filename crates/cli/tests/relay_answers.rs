//! What takes an event off the relay's queue: only the site's documented answer (`{"message": {"ok": true,
//! "result": ...}}`, docs/push.md#what-the-site-answers). A maintenance page answering 200 HTML, an SSO gateway
//! redirecting to its login page and another JSON API answering 200 stand in for the site on loopback: every
//! event stays queued, the relay says what came back (never the token), and all of them arrive once the site
//! answers again.

mod support;

use std::time::Duration;

use support::relay::{
    pending, relay_log, setup, start_relay, stop, stored_set, terminal_events, terminals, token,
};
use support::{eventually, Imposter, Receiver};

/// How many answers the imposter gives before the site comes back.
const ATTEMPTS: usize = 3;

async fn events_stay_queued_until_the_site_answers(imposter: Imposter, test: &str) -> String {
    let fleet = terminals(1, 30).await;
    let receiver = Receiver::default();
    receiver.set_mode(|m| m.imposter = Some(imposter));
    let site = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let dir = setup(test, &fleet, site);
    let expected = terminal_events(&fleet);
    let total = expected.len() as u64;

    let relay = start_relay(&dir, &fleet, 1);
    let answered = |r: &support::Received| r.kind == "imposter";
    let tried = eventually(Duration::from_secs(30), || {
        receiver.received().iter().filter(|r| answered(r)).count() >= ATTEMPTS
    })
    .await;
    let queued_meanwhile = pending(&dir);
    receiver.set_mode(|m| m.imposter = None);
    let all = eventually(Duration::from_secs(30), || {
        stored_set(&receiver) == expected && pending(&dir) == 0
    })
    .await;
    stop(relay);
    let log = relay_log(&dir, 1);
    assert!(tried, "the relay never posted: {log}");
    assert_eq!(
        queued_meanwhile, total,
        "{imposter:?} took events off the queue: {log}"
    );
    assert!(
        all,
        "{} of {total} events arrived once the site answered; {} still pending",
        stored_set(&receiver).len(),
        pending(&dir)
    );
    assert!(
        log.contains(&fleet.devices[0].name),
        "the log does not say which device: {log}"
    );
    assert!(!log.contains(&token(0)), "the token was printed: {log}");
    assert!(
        !log.contains("redirect-to="),
        "a URL query was printed: {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_page_answering_200_html_acknowledges_nothing() {
    let log = events_stay_queued_until_the_site_answers(Imposter::Html, "html").await;
    assert!(
        log.contains("HTTP 200") && log.contains("text/html") && log.contains("Back soon"),
        "the log does not say what came back: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_login_page_is_not_followed_and_acknowledges_nothing() {
    let log = events_stay_queued_until_the_site_answers(Imposter::RedirectToLogin, "302").await;
    assert!(
        log.contains("HTTP 302") && log.contains("/login"),
        "the log does not say where the redirect led: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_without_ok_true_acknowledges_nothing() {
    let log = events_stay_queued_until_the_site_answers(Imposter::JsonWithoutOk, "json").await;
    assert!(
        log.contains("HTTP 200") && log.contains("application/json") && log.contains("accepted"),
        "the log does not say what came back: {log}"
    );
}
