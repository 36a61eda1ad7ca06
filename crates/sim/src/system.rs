//! `System/deviceInfo` and `System/time` (XML, docs/isapi.md#system-resources).

use hyper::{Response, StatusCode};

use super::clock::device_now;
use super::config::Faults;
use super::http::{respond, Body, XML};
use super::state::{DeviceState, FIRMWARE, MODEL};
use super::xml::{XmlDoc, ISAPI_NS};

/// `GET /ISAPI/System/deviceInfo`; `?format=json` is ignored, as on DS-K1T344.
pub fn device_info(dev: &DeviceState) -> Response<Body> {
    let id = dev.identity();
    let body = XmlDoc::new("DeviceInfo", ISAPI_NS)
        .field("deviceName", &id.name)
        .field("deviceID", id.index + 1)
        .field("model", MODEL)
        .field("serialNumber", dev.serial_number())
        .field("macAddress", &id.mac)
        .field("firmwareVersion", FIRMWARE)
        .field("firmwareReleasedDate", "build 230901")
        .field("deviceType", "ACS")
        .field("subDeviceType", "accessControlTerminal")
        .field("electroLockNum", 1)
        .field("manufacturer", "hikvision")
        .finish();
    respond(StatusCode::OK, XML, body)
}

/// `GET /ISAPI/System/time`: the skewed device clock and the inverted-sign POSIX zone.
pub fn time(dev: &DeviceState, faults: &Faults) -> Response<Body> {
    let zone = dev.zone();
    let body = XmlDoc::new("Time", ISAPI_NS)
        .field("timeMode", "NTP")
        .field(
            "localTime",
            zone.format(device_now(faults.clock_skew_secs), false),
        )
        .field("timeZone", zone.posix())
        .finish();
    respond(StatusCode::OK, XML, body)
}
