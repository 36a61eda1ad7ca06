"""`_core.event_key` and `_core.serial_event_key`, the core's one rule of an event's identity on a device (the
relay's queue key, crates/cli/src/relay), give exactly the site's Device Punch keys: those `logic/punches.py`
computes (`event_key`, `serial_event_key`, `migrated_event_key`) and those of the rule written out in Python
below, which stays the reference when punches.py calls the core. Over a grid of awkward values, thousands of
seeded random events, and the real Events of a fetch and of push bodies."""

import itertools
import json
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import week_window
from event_values import Ev

from attendance_sync import _core
from attendance_sync.logic import punches as P


def python_key(event, occurrence: int = 0) -> str:
	"""The site's key as written in Python: `s:<serial>@<wall clock>`, else
	`t:<isoformat with offset>|<major>|<minor>|<employee stripped>|<occurrence>`."""
	if event.serial_no is not None:
		return f"s:{int(event.serial_no)}@{event.time.replace(tzinfo=None).isoformat(timespec='seconds')}"
	employee = str(event.employee_no).strip() if event.employee_no is not None else ""
	return f"t:{event.time.isoformat(timespec='seconds')}|{event.major}|{event.minor}|{employee}|{occurrence}"


def site_key(event, occurrence: int = 0) -> str:
	"""The site's key, checked to be the same both ways it is written."""
	key = P.event_key(event, occurrence)
	assert key == python_key(event, occurrence)
	return key


def core_key(event, occurrence: int = 0) -> str:
	"""The core's key of an event, from the fields `punches.event_key` reads."""
	return _core.event_key(
		event.serial_no,
		event.time,
		major=event.major,
		minor=event.minor,
		employee_no=event.employee_no,
		occurrence=occurrence,
	)


ZONES = [
	None,
	timezone.utc,
	timezone(timedelta(hours=6)),
	timezone(timedelta(hours=-3, minutes=-30)),
	timezone(timedelta(hours=5, minutes=45)),
	timezone(timedelta(minutes=-30)),
	timezone(timedelta(hours=14)),
	timezone(timedelta(hours=-12)),
	timezone(timedelta(seconds=3601)),
	timezone(timedelta(seconds=-3601)),
	timezone(timedelta(hours=23, minutes=59, seconds=59)),
	ZoneInfo("Asia/Dhaka"),
	ZoneInfo("America/New_York"),
	ZoneInfo("Australia/Lord_Howe"),
]
WALL_CLOCKS = [
	datetime(2026, 3, 2, 8, 0, 5),
	datetime(2026, 3, 2, 8, 0, 5, 999_999),
	datetime(2026, 11, 1, 1, 30, 0),  # New York's repeated hour
	datetime(2026, 3, 8, 2, 30, 0),  # New York's skipped hour
	datetime(1, 1, 1, 0, 0, 0),
	datetime(42, 7, 4, 12, 0, 0),
	datetime(999, 12, 31, 23, 59, 59),
	datetime(9999, 12, 31, 23, 59, 59, 1),
	datetime(2024, 2, 29, 23, 59, 59),
]
SERIALS = [None, 0, 1, 201, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1]
EMPLOYEES = [
	None,
	"",
	" ",
	"00042",
	" 42 ",
	"9001\n",
	"\x1f42\x1c",
	"\u300042\u2028",
	"\x85x\xa0",
	"a b",
	"\u200b42",
	"Ana María",
	"\t\r\n\x0b\x0c",
]
CODES = [(5, 75), (5, 38), (0, 0), (3, 112), (2**32 - 1, 2**32 - 1)]
OCCURRENCES = [0, 1, 17]


def times():
	for wall, zone in itertools.product(WALL_CLOCKS, ZONES):
		yield wall if zone is None else wall.replace(tzinfo=zone)
	yield datetime(2026, 11, 1, 1, 30, 0, fold=1, tzinfo=ZoneInfo("America/New_York"))


def test_the_grid_gives_the_sites_keys():
	checked = 0
	for t in times():
		for serial, employee, (major, minor), occurrence in itertools.product(
			SERIALS, EMPLOYEES, CODES, OCCURRENCES
		):
			ev = Ev(serial_no=serial, employee_no=employee, time=t, major=major, minor=minor)
			assert core_key(ev, occurrence) == site_key(ev, occurrence), ev
			checked += 1
	assert checked == 198_120


def test_random_events_give_the_sites_keys():
	rng = random.Random(18)
	whitespace = [" ", "\t", "\n", "\x1c", "\x1f", "\x85", "\xa0", "\u2000", "\u3000", "\u200b", "\ufeff"]
	for _ in range(20_000):
		stamp = rng.randrange(-62_135_596_800 + 86_400, 253_402_300_799 - 86_400)
		wall = datetime(1970, 1, 1) + timedelta(seconds=stamp, microseconds=rng.randrange(1_000_000))
		offset = rng.choice([None, rng.randrange(-86_399, 86_400), 60 * rng.randrange(-1439, 1440)])
		t = wall if offset is None else wall.replace(tzinfo=timezone(timedelta(seconds=offset)))
		employee = rng.choice(
			[
				None,
				"".join(rng.choice(["0", "4", "2", "x", *whitespace]) for _ in range(rng.randrange(6))),
			]
		)
		serial = rng.choice([None, rng.randrange(2**64)])
		ev = Ev(
			serial_no=serial,
			employee_no=employee,
			time=t,
			major=rng.randrange(2**32),
			minor=rng.randrange(2**32),
		)
		occurrence = rng.randrange(1000)
		assert core_key(ev, occurrence) == site_key(ev, occurrence), ev


def test_the_default_occurrence_is_the_first():
	t = datetime(2026, 3, 2, 8, 0, 5, tzinfo=timezone(timedelta(hours=6)))
	ev = Ev(serial_no=None, employee_no="42", time=t)
	assert _core.event_key(None, t, major=5, minor=75, employee_no="42") == site_key(ev)


def test_serial_keys_and_migrated_rows_give_the_sites_keys():
	for t, serial in itertools.product(times(), SERIALS[1:]):
		assert _core.serial_event_key(serial, t) == P.serial_event_key(serial, t)
		assert _core.serial_event_key(serial, t) == python_key(Ev(serial_no=serial, employee_no=None, time=t))
		stored = t.isoformat(timespec="seconds")
		assert _core.serial_event_key(serial, datetime.fromisoformat(stored)) == P.migrated_event_key(
			serial, stored
		)


def test_the_events_of_a_fetch_give_the_sites_keys(device):
	start, end = week_window()
	events = _core.fetch_events(device.connection(), start, end).events
	assert len(events) == device.events
	for occurrence, event in enumerate(events):
		assert core_key(event, occurrence % 3) == site_key(event, occurrence % 3)
	keys = {core_key(e) for e in events}
	assert len(keys) == len(events), "every event of a fetch has its own key"


def test_pushed_events_with_and_without_a_serial_give_the_sites_keys():
	inner = {"majorEventType": 5, "subEventType": 75, "employeeNoString": "9001"}
	for serial, when in itertools.product([None, 201], ["2026-07-16T19:24:29-05:00", "2026-07-16T19:24:29"]):
		body = {"dateTime": when, "eventType": "AccessControllerEvent", "AccessControllerEvent": dict(inner)}
		if serial is not None:
			body["AccessControllerEvent"]["serialNo"] = serial
		event = _core.parse_push(json.dumps(body).encode(), device="Lobby", utc_offset="+05:45").event
		assert event.serial_no == serial
		for occurrence in (0, 1):
			assert core_key(event, occurrence) == site_key(event, occurrence)
	assert (
		_core.event_key(None, event.time, major=5, minor=75, employee_no="9001")
		== "t:2026-07-16T19:24:29+05:45|5|75|9001|0"
	)


def test_what_has_no_key_is_refused():
	sub_second = datetime(2026, 3, 2, 8, 0, 5, tzinfo=timezone(timedelta(seconds=1, microseconds=5)))
	with pytest.raises(ValueError, match="fraction of a second"):
		_core.event_key(None, sub_second, major=5, minor=75, employee_no=None)
	# With a serial the offset is not read.
	assert _core.event_key(7, sub_second, major=5, minor=75, employee_no=None) == "s:7@2026-03-02T08:00:05"
	with pytest.raises(OverflowError):
		_core.event_key(-1, sub_second, major=5, minor=75, employee_no=None)
	with pytest.raises(OverflowError):
		_core.event_key(
			None, sub_second.replace(tzinfo=None), major=5, minor=75, employee_no=None, occurrence=-1
		)
	with pytest.raises(TypeError):
		_core.event_key(None, "2026-03-02T08:00:05", major=5, minor=75, employee_no=None)  # type: ignore[arg-type]
