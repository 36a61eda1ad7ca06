//! HTTP listening configuration over ISAPI (`/ISAPI/Event/notification/httpHosts`; docs/push.md,
//! Configuring the terminal): the device's listening-host slots, read and written as `HttpHostNotification`
//! XML, and wired to its pusher ([`super::push`]): a slot written with an HTTP host makes the device push its new events there.
//!
//! - `GET .../httpHosts`: every slot (`hostNumber` of them, 2 as on DS-K1T342MWX); unused ones show an empty
//!   `url` and `0.0.0.0`. `GET .../httpHosts/<id>`: one. `GET .../httpHosts/capabilities`: `hostNumber`.
//! - `PUT .../httpHosts/<id>` (one `HttpHostNotification`) or `PUT .../httpHosts` (a list): validated like a
//!   terminal does (400 `badXmlFormat` / `badParameters` naming the field). A slot written empty is unused.
//! - `DELETE .../httpHosts/<id>` or `.../httpHosts`: empties (one public client clears this way; others
//!   write the slot empty).
//! - With `http_hosts_not_supported` every one answers 403 `notSupport` (firmware without HTTP listening).
//!
//! Which slot the pusher follows: the last one written with an HTTP host; when that one is emptied, the
//! lowest-numbered HTTP slot left, else none. HTTPS hosts are stored and shown but not pushed to (the
//! simulator has no TLS client). The body shape and losses are the ones `PUT /sim/push` last set (JSON when it
//! never did): `parameterFormatType` is stored, and the device pushes JSON whatever it says, as firmware that
//! ignores it does (docs/push.md, Bodies accepted).
//!
//! This file routes the requests; `slots.rs` holds the slots (each device's [`Slots`], in its state) and which
//! one the pusher follows; `parse.rs` reads a written body, refusing it with a typed [`SlotError`].

mod parse;
mod slots;

use std::sync::Arc;

use hyper::{Method, Response, StatusCode};

pub use parse::SlotError;
pub use slots::{Slot, Slots};

use super::config::Faults;
use super::envelope::{Envelope, IsapiError};
use super::http::{respond, xml_error, Body, XML};
use super::push::PushSetupError;
use super::state::DeviceState;
use super::xml::{escape, ISAPI_NS};

pub const PATH: &str = "/ISAPI/Event/notification/httpHosts";

/// Why a `PUT` is refused: the body (as a terminal refuses it), or the pusher cannot follow the slot.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Slot(#[from] SlotError),
    #[error(transparent)]
    Push(#[from] PushSetupError),
}

impl WriteError {
    fn kind(&self) -> IsapiError {
        match self {
            WriteError::Slot(e) => e.kind(),
            WriteError::Push(_) => IsapiError::BadParameters,
        }
    }

    /// The `errorMsg` of the answer: the refused field, or why the pusher cannot follow.
    fn error_msg(&self) -> String {
        match self {
            WriteError::Slot(e) => e.error_msg().to_owned(),
            WriteError::Push(e) => e.to_string(),
        }
    }
}

fn ok_status(url: &str) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ResponseStatus version=\"2.0\" xmlns=\"{ISAPI_NS}\">\n<requestURL>{}</requestURL>\n\
         <statusCode>1</statusCode>\n<statusString>OK</statusString>\n<subStatusCode>ok</subStatusCode>\n\
         </ResponseStatus>\n",
        escape(url)
    );
    respond(StatusCode::OK, XML, body)
}

fn error(kind: IsapiError, url: &str, msg: &str) -> Response<Body> {
    xml_error(kind.http_status(), &Envelope::new(kind, url, msg))
}

fn not_found(url: &str) -> Response<Body> {
    xml_error(
        StatusCode::NOT_FOUND,
        &Envelope::new(IsapiError::NotSupport, url, "notSupport"),
    )
}

fn capabilities(slots: u32) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <HttpHostNotificationCap version=\"2.0\" xmlns=\"{ISAPI_NS}\">\n<hostNumber>{slots}</hostNumber>\n\
         <urlLen max=\"128\"/>\n<protocolType opt=\"HTTP,HTTPS\"/>\n\
         <parameterFormatType opt=\"XML,JSON\"/>\n<addressingFormatType opt=\"ipaddress,hostname\"/>\n\
         <httpAuthenticationMethod opt=\"none\"/>\n</HttpHostNotificationCap>\n"
    );
    respond(StatusCode::OK, XML, body)
}

/// Stores the slots of a written body (slot `one` when the path names one), then points the pusher at the
/// slot it follows now.
fn write(
    dev: &Arc<DeviceState>,
    body: &[u8],
    one: Option<u32>,
    slots: u32,
) -> Result<(), WriteError> {
    let parsed = parse::parse(body)?;
    if parsed.is_empty() {
        return Err(SlotError::Missing("HttpHostNotification").into());
    }
    let checked = parsed
        .iter()
        .map(|fields| parse::slot_of(fields, one, slots))
        .collect::<Result<Vec<Slot>, SlotError>>()?;
    if one.is_some() && checked.len() != 1 {
        return Err(SlotError::Invalid("HttpHostNotification").into());
    }
    for slot in checked {
        let follow = dev.http_hosts().store(slot);
        dev.pusher().follow(dev, follow)?;
    }
    Ok(())
}

/// Empties slot `one`, or every slot.
fn clear(dev: &Arc<DeviceState>, one: Option<u32>, slots: u32) -> Result<(), PushSetupError> {
    let ids: Vec<u32> = one.map_or_else(|| (1..=slots).collect(), |id| vec![id]);
    for id in ids {
        let follow = dev.http_hosts().store(Slot::empty(id));
        dev.pusher().follow(dev, follow)?;
    }
    Ok(())
}

/// Every request under `/ISAPI/Event/notification/httpHosts`; `rest` is what follows that path.
pub fn handle(
    dev: &Arc<DeviceState>,
    faults: &Faults,
    method: &Method,
    rest: &str,
    url: &str,
    body: &[u8],
) -> Response<Body> {
    if faults.http_hosts_not_supported {
        return error(IsapiError::NotSupport, url, "notSupport");
    }
    let slots = faults.http_host_slots;
    let rest = rest.trim_end_matches('/');
    if rest == "/capabilities" {
        if *method != Method::GET {
            return error(IsapiError::MethodNotAllowed, url, "methodNotAllowed");
        }
        return capabilities(slots);
    }
    let one = match rest.strip_prefix('/') {
        None if rest.is_empty() => None,
        Some(id) => match id.parse::<u32>() {
            Ok(id) if (1..=slots).contains(&id) => Some(id),
            Ok(_) => return error(IsapiError::BadParameters, url, "id"),
            Err(_) => return not_found(url),
        },
        None => return not_found(url),
    };
    match (method, one) {
        (&Method::GET, None) => {
            let held = dev.http_hosts();
            let mut out = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <HttpHostNotificationList version=\"2.0\" xmlns=\"{ISAPI_NS}\">\n"
            );
            for id in 1..=slots {
                out.push_str(&held.get(id).xml());
            }
            out.push_str("</HttpHostNotificationList>\n");
            respond(StatusCode::OK, XML, out)
        }
        (&Method::GET, Some(id)) => {
            let slot = dev.http_hosts().get(id).xml();
            let doc = slot.replacen(
                "<HttpHostNotification>",
                &format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                     <HttpHostNotification version=\"2.0\" xmlns=\"{ISAPI_NS}\">"
                ),
                1,
            );
            respond(StatusCode::OK, XML, doc)
        }
        (&Method::PUT, _) => match write(dev, body, one, slots) {
            Ok(()) => ok_status(url),
            Err(e) => error(e.kind(), url, &e.error_msg()),
        },
        (&Method::DELETE, _) => match clear(dev, one, slots) {
            Ok(()) => ok_status(url),
            Err(e) => error(IsapiError::DeviceError, url, &e.to_string()),
        },
        _ => error(IsapiError::MethodNotAllowed, url, "methodNotAllowed"),
    }
}
