//! Turns an authentication refusal into the device's 401: challenge header(s) plus the
//! `userCheck` XML body (docs/isapi.md#lockout), and counts it.

use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use super::auth::{offered, Denial, Refusal};
use super::config::Faults;
use super::digest::{self, Algorithm};
use super::http::{respond, Body, XML};
use super::state::DeviceState;
use super::stats::Counter;
use super::xml::{XmlDoc, HIKVISION_NS};

pub fn response(dev: &DeviceState, faults: &Faults, denial: &Denial) -> Response<Body> {
    dev.counters.bump(Counter::Unauthorized);
    match denial.refusal {
        Refusal::WrongPassword => dev.counters.bump(Counter::FailedLogins),
        Refusal::Stale | Refusal::Reused => dev.counters.bump(Counter::Stale),
        Refusal::Challenge | Refusal::Locked => {}
    }
    let check = denial.user_check;
    let illegal = matches!(denial.refusal, Refusal::WrongPassword | Refusal::Locked);
    let body = XmlDoc::new("userCheck", HIKVISION_NS)
        .field("statusValue", 401)
        .field("statusString", "Unauthorized")
        .field("isIllegalLogin", illegal)
        .field("retryLoginTime", check.retry_login_time)
        .field("lockStatus", if check.locked { "lock" } else { "unlock" })
        .field("unlockTime", check.unlock_secs)
        .finish();
    let mut response = respond(StatusCode::UNAUTHORIZED, XML, body);
    if let Some(challenge) = &denial.challenge {
        let algorithms = offered(faults);
        // Plain MD5 devices do not name the algorithm; name it when there is a choice.
        let named = algorithms != [Algorithm::Md5];
        for algorithm in algorithms {
            let value = digest::challenge(
                dev.auth.realm(),
                &challenge.nonce,
                dev.auth.opaque(),
                challenge.stale,
                named.then_some(*algorithm),
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(WWW_AUTHENTICATE, value);
            }
        }
    }
    response
}
