//! One stored event as an `InfoList` item, in the sparse or full field style (docs/isapi.md#answers).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use super::config::FieldStyle;
use super::log::{Card, Detail, Event, Generated};
use super::people::Roster;
use super::zone::Zone;

/// Columns a full-style firmware (DS-K1A340FWX) sends as `0`/`""` on terminals.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ZeroColumns {
    net_user: &'static str,
    remote_host_addr: &'static str,
    white_list_no: u8,
    report_channel: u8,
    card_reader_kind: u8,
    verify_no: u8,
    alarm_in_no: u8,
    alarm_out_no: u8,
    case_sensor_no: u8,
    #[serde(rename = "RS485No")]
    rs485_no: u8,
    multi_card_group_no: u8,
    access_channel: u8,
    device_no: u8,
    distract_control_no: u8,
    #[serde(rename = "localControllerID")]
    local_controller_id: u8,
    #[serde(rename = "InternetAccess")]
    internet_access: u8,
    #[serde(rename = "type")]
    kind: u8,
    #[serde(rename = "MACAddr")]
    mac_addr: &'static str,
    swipe_card_type: u8,
    pictures_number: u8,
}

const ZEROS: ZeroColumns = ZeroColumns {
    net_user: "",
    remote_host_addr: "",
    white_list_no: 0,
    report_channel: 0,
    card_reader_kind: 0,
    verify_no: 0,
    alarm_in_no: 0,
    alarm_out_no: 0,
    case_sensor_no: 0,
    rs485_no: 0,
    multi_card_group_no: 0,
    access_channel: 0,
    device_no: 0,
    distract_control_no: 0,
    local_controller_id: 0,
    internet_access: 0,
    kind: 0,
    mac_addr: "",
    swipe_card_type: 0,
    pictures_number: 0,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoItem<'a> {
    major: u32,
    minor: u32,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_no: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_reader_no: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    door_no: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_no_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_no: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_verify_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attendance_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_value: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mask: Option<&'a str>,
    #[serde(flatten)]
    zeros: Option<&'static ZeroColumns>,
    /// Pass-through fields of events-file lines.
    #[serde(flatten)]
    extra: Option<&'a Map<String, Value>>,
}

/// How items are rendered on this device right now.
#[derive(Debug, Clone, Copy)]
pub struct RenderStyle<'z> {
    pub zone: &'z Zone,
    pub naive_times: bool,
    pub fields: FieldStyle,
    /// `serialNo` on every item (the DS-KV6124 intercom's search records have none).
    pub serials: bool,
}

pub fn info_item<'a>(event: &'a Event, roster: &'a Roster, style: RenderStyle<'_>) -> InfoItem<'a> {
    let mut item = InfoItem {
        major: event.major,
        minor: event.minor,
        time: style.zone.format(event.ts, style.naive_times),
        card_no: None,
        card_type: None,
        name: None,
        card_reader_no: None,
        door_no: None,
        employee_no_string: None,
        serial_no: style.serials.then_some(event.serial),
        user_type: None,
        current_verify_mode: None,
        attendance_status: None,
        label: None,
        status_value: None,
        mask: None,
        zeros: None,
        extra: None,
    };
    match &event.detail {
        Detail::File(map) => item.extra = Some(map),
        Detail::Generated(gen) => {
            fill_generated(&mut item, event, gen, roster);
            if style.fields == FieldStyle::Full {
                fill_empty_columns(&mut item);
            }
        }
    }
    item
}

/// Sparse style: only the fields that carry something.
fn fill_generated<'a>(
    item: &mut InfoItem<'a>,
    event: &Event,
    gen: &'a Generated,
    roster: &'a Roster,
) {
    let person = event.person.and_then(|idx| roster.get(idx));
    item.card_no = match gen.card {
        Card::None => None,
        Card::Enrolled => person.map(|p| Cow::Borrowed(p.card_no.as_str())),
        Card::Unknown(no) => Some(Cow::Owned(no.to_string())),
    };
    // Terminals report card type 1 ("normal") on person events even without a card.
    item.card_type = (item.card_no.is_some() || person.is_some()).then_some(1);
    item.name = person.map(|p| p.name.as_str());
    item.card_reader_no = (gen.reader > 0).then_some(gen.reader);
    item.door_no = (gen.door > 0).then_some(gen.door);
    item.employee_no_string = person.map(|p| p.employee_no.as_str());
    item.user_type = person.map(|_| "normal");
    item.current_verify_mode = Some(gen.verify_mode);
    if let Some(attendance) = gen.attendance {
        item.attendance_status = Some(attendance.status());
        item.label = Some(attendance.label()).filter(|l| !l.is_empty());
        item.status_value = Some(attendance.value()).filter(|v| *v > 0);
    }
    item.mask = Some(gen.mask);
}

/// Full style: every column present, `0`/`""` where empty.
fn fill_empty_columns(item: &mut InfoItem<'_>) {
    item.card_no.get_or_insert(Cow::Borrowed(""));
    item.card_type.get_or_insert(0);
    item.name.get_or_insert("");
    item.card_reader_no.get_or_insert(0);
    item.door_no.get_or_insert(0);
    item.employee_no_string.get_or_insert("");
    item.user_type.get_or_insert("normal");
    item.current_verify_mode.get_or_insert("invalid");
    item.attendance_status.get_or_insert("undefined");
    item.label.get_or_insert("");
    item.status_value.get_or_insert(0);
    item.mask.get_or_insert("unknown");
    item.zeros = Some(&ZEROS);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Attendance;
    use crate::people::Person;
    use chrono::FixedOffset;

    fn roster() -> Roster {
        let mut r = Roster::default();
        r.intern(Person {
            employee_no: "00042".into(),
            name: "CÁSSIA".into(),
            card_no: "123".into(),
        });
        r
    }

    fn event(person: Option<u32>, attendance: Option<Attendance>) -> Event {
        Event {
            seq: 9,
            serial: 9,
            ts: 1_709_280_000,
            major: 5,
            minor: if person.is_some() { 75 } else { 21 },
            person,
            detail: Detail::Generated(Generated {
                reader: u8::from(person.is_some()),
                door: 1,
                verify_mode: if person.is_some() {
                    "cardOrFace"
                } else {
                    "invalid"
                },
                attendance,
                mask: "unknown",
                card: Card::None,
            }),
        }
    }

    fn render(e: &Event, fields: FieldStyle) -> Value {
        let r = roster();
        let style = RenderStyle {
            zone: &Zone::fixed(FixedOffset::east_opt(-3 * 3600).expect("offset")),
            naive_times: false,
            fields,
            serials: true,
        };
        serde_json::to_value(info_item(e, &r, style)).expect("json")
    }

    #[test]
    fn sparse_door_event_has_few_fields() {
        let v = render(&event(None, None), FieldStyle::Sparse);
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert_eq!(v["time"], "2024-03-01T05:00:00-03:00");
        assert!(v.get("employeeNoString").is_none());
    }

    #[test]
    fn sparse_person_and_full_style() {
        let e = event(Some(0), Some(Attendance::CheckOut));
        let sparse = render(&e, FieldStyle::Sparse);
        assert_eq!(sparse["employeeNoString"], "00042");
        assert_eq!(sparse["name"], "CÁSSIA");
        assert_eq!(sparse["attendanceStatus"], "checkOut");
        assert_eq!(sparse["label"], "Check Out");
        assert_eq!(sparse["cardType"], 1);
        let full = render(&event(None, None), FieldStyle::Full);
        assert_eq!(full["employeeNoString"], "");
        assert_eq!(full["RS485No"], 0);
        assert_eq!(full["cardNo"], "");
        assert_eq!(full["serialNo"], 9);
    }
}
