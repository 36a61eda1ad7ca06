"""`_core.parse_push`: a terminal's or the relay's push body read into the same Event a fetch gives."""

import datetime as dt
import json

import pytest
from conftest import week_window

from attendance_sync import _core

# The reference's DS-K1T344MBFWX V4.31 capture (isapi-acsevent.md §6.1).
CAPTURE = {
	"ipAddress": "192.168.18.202",
	"portNo": 443,
	"protocol": "HTTPS",
	"macAddress": "a4:d5:c2:75:fd:64",
	"channelID": 1,
	"dateTime": "2026-07-16T19:24:29-05:00",
	"activePostCount": 1,
	"eventType": "AccessControllerEvent",
	"eventState": "active",
	"eventDescription": "Access Controller Event",
	"AccessControllerEvent": {
		"deviceName": "Lobby Terminal",
		"majorEventType": 5,
		"subEventType": 75,
		"name": "DM",
		"cardReaderKind": 1,
		"cardReaderNo": 1,
		"employeeNoString": "9001",
		"serialNo": 201,
		"frontSerialNo": 200,
		"currentEvent": True,
		"userType": "normal",
		"currentVerifyMode": "faceOrFpOrCardOrPw",
		"attendanceStatus": "undefined",
		"label": "",
		"statusValue": 0,
		"mask": "no",
		"purePwdVerifyEnable": True,
		"picturesNumber": 1,
		"FaceRect": {"height": 0.389, "width": 0.22, "x": 0.412, "y": 0.458},
	},
}
HEARTBEAT = {
	"ipAddress": "192.168.18.202",
	"portNo": 80,
	"protocol": "HTTP",
	"macAddress": "a4:d5:c2:75:fd:64",
	"channelID": 1,
	"dateTime": "2026-07-16T19:24:54-05:00",
	"activePostCount": 1,
	"eventType": "videoloss",
	"eventState": "inactive",
	"eventDescription": "videoloss alarm",
}
FORM = "multipart/form-data; boundary=MIME_boundary"


def multipart(part: str, notification: dict, picture: bool = True) -> bytes:
	payload = json.dumps(notification).encode()
	body = (
		b"--MIME_boundary\r\n"
		+ f'Content-Disposition: form-data; name="{part}"\r\n'.encode()
		+ b'Content-Type: application/json; charset="UTF-8"\r\n'
		+ f"Content-Length: {len(payload)}\r\n\r\n".encode()
		+ payload
		+ b"\r\n"
	)
	if picture:
		body += (
			b'--MIME_boundary\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\n'
			b"Content-Type: image/jpeg\r\nContent-ID: pictureImage\r\n\r\n\xff\xd8{\xff\xd9\r\n"
		)
	return body + b"--MIME_boundary--\r\n"


@pytest.mark.parametrize("part", ["event_log", "AccessControllerEvent"])
def test_both_part_names_give_the_event(part):
	result = _core.parse_push(multipart(part, CAPTURE), FORM, device="Lobby")
	assert result.kind == "event"
	event = result.event
	assert isinstance(event, _core.Event)
	assert (event.device, event.serial_no, event.employee_no) == ("Lobby", 201, "9001")
	assert (event.major, event.minor, event.is_punch, event.verify_method) == (5, 75, True, "face")
	assert (event.door_no, event.reader_no, event.log_type) == (None, 1, None)
	assert event.time == dt.datetime(2026, 7, 16, 19, 24, 29, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
	assert event.time.utcoffset() == dt.timedelta(hours=-5)
	assert (result.front_serial_no, result.current_event) == (200, True)
	assert result.mac_address == "a4:d5:c2:75:fd:64"
	assert result.as_dict()["kind"] == "event"


def test_plain_json_body_and_the_relay_shape():
	result = _core.parse_push(json.dumps(CAPTURE).encode(), "application/json", device="Lobby")
	assert result.kind == "event" and result.event.serial_no == 201
	# No Content-Type at all: the body is the notification.
	assert _core.parse_push(json.dumps(CAPTURE).encode(), device="Lobby").event.serial_no == 201


def test_pushed_event_equals_the_fetched_one(device):
	"""A simulated terminal's record, searched and pushed in the relay's shape, is one and the same Event."""
	start, end = week_window()
	fetched = _core.fetch_events(device.connection(), start, end).events
	punch = next(e for e in fetched if e.is_punch)
	notification = {
		"dateTime": punch.time.isoformat(),
		"eventType": "AccessControllerEvent",
		"eventState": "active",
		"AccessControllerEvent": {
			"majorEventType": punch.major,
			"subEventType": punch.minor,
			"serialNo": punch.serial_no,
			"employeeNoString": punch.employee_no,
			"name": punch.name,
			"cardNo": punch.card_no,
			"doorNo": punch.door_no,
			"cardReaderNo": punch.reader_no,
			"currentEvent": False,
		},
	}
	pushed = _core.parse_push(json.dumps(notification).encode(), device=punch.device).event
	assert pushed.as_dict() == punch.as_dict()
	# The same key for the one duplicate rule: the pushed copy of a fetched event is dropped.
	assert _core.dedup([punch, pushed]) == [punch]


def test_heartbeat_and_non_access_are_acknowledged_outcomes():
	assert _core.parse_push(json.dumps(HEARTBEAT).encode(), device="Lobby").kind == "heartbeat"
	assert (
		_core.parse_push(multipart("event_log", HEARTBEAT, False), FORM, device="Lobby").kind == "heartbeat"
	)
	operation = json.loads(json.dumps(CAPTURE))
	operation["AccessControllerEvent"]["majorEventType"] = 3
	result = _core.parse_push(json.dumps(operation).encode(), device="Lobby")
	assert (result.kind, result.major, result.event) == ("not_access", 3, None)


def test_naive_times_need_the_device_offset():
	naive = json.loads(json.dumps(CAPTURE))
	naive["dateTime"] = "2026-07-16 19:24:29"
	body = json.dumps(naive).encode()
	with pytest.raises(_core.PushError) as caught:
		_core.parse_push(body, device="Lobby")
	assert caught.value.reason == "needs_offset"
	event = _core.parse_push(body, device="Lobby", utc_offset="+06:00").event
	assert event.time.utcoffset() == dt.timedelta(hours=6)
	with pytest.raises(_core.UtcOffsetError):
		_core.parse_push(body, device="Lobby", utc_offset="+25:00")


@pytest.mark.parametrize(
	("body", "content_type", "reason"),
	[
		(b"", None, "empty"),
		(json.dumps(CAPTURE).encode()[:120], "application/json", "json"),
		(b"[1, 2]", None, "not_object"),
		(b"--x\r\n", "multipart/form-data", "no_boundary"),
		(
			b'--MIME_boundary\r\nContent-Disposition: form-data; name="Picture"\r\nContent-Type: image/jpeg\r\n\r\n'
			b"\xff\xd8\xff\xd9\r\n--MIME_boundary--\r\n",
			FORM,
			"no_event_part",
		),
		(json.dumps({**CAPTURE, "dateTime": "yesterday"}).encode(), None, "bad_time"),
		(json.dumps({k: v for k, v in CAPTURE.items() if k != "dateTime"}).encode(), None, "no_time"),
		(
			json.dumps({"eventType": "AccessControllerEvent", "eventState": "active"}).encode(),
			None,
			"no_event_object",
		),
	],
)
def test_unreadable_bodies_raise_push_error_with_a_reason(body, content_type, reason):
	with pytest.raises(_core.PushError) as caught:
		_core.parse_push(body, content_type, device="Lobby")
	assert caught.value.reason == reason
	assert isinstance(caught.value, ValueError)


def test_punch_codes_apply_as_for_a_device():
	body = json.dumps(CAPTURE).encode()
	assert _core.parse_push(body, device="Lobby", punch_codes=[(5, 38)]).event.is_punch is False
