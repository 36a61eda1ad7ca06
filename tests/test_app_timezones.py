"""Time-zone conversion from device instants to the site's naive time, and the Device Time Zone setting."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attendance_sync import _core
from attendance_sync.logic.timezones import (
	REINTERPRET,
	TIME_ZONE_HANDLING,
	TRUST_OFFSETS,
	device_time_zone_rule,
	device_utc_offset,
	format_utc_offset,
	normalize_device_time_zone,
	parse_utc_offset,
	reinterpret_in_zone,
	site_naive_to_aware,
	to_site_naive,
	validate_time_zone_handling,
)

DEVICE_JSON = (
	Path(__file__).resolve().parent.parent
	/ "attendance_sync/attendance_sync/doctype/device_configuration/device_configuration.json"
)


def tz(hours: float) -> timezone:
	return timezone(timedelta(hours=hours))


def test_device_offset_converted_to_site_zone():
	# 08:00 at +06:00 (Dhaka) is 07:45 in Kathmandu (+05:45).
	event = datetime(2024, 3, 1, 8, 0, 0, tzinfo=tz(6))
	assert to_site_naive(event, "Asia/Kathmandu") == datetime(2024, 3, 1, 7, 45, 0)


def test_negative_offset_crosses_midnight():
	event = datetime(2026, 9, 1, 22, 30, 0, tzinfo=tz(-4))
	assert to_site_naive(event, "Asia/Kolkata") == datetime(2026, 9, 2, 8, 0, 0)


def test_site_daylight_saving_is_followed():
	summer = datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc)
	winter = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
	assert to_site_naive(summer, "Europe/Berlin") == datetime(2024, 7, 1, 14, 0)
	assert to_site_naive(winter, "Europe/Berlin") == datetime(2024, 1, 1, 13, 0)


def test_result_is_naive_and_to_the_second():
	value = to_site_naive(datetime(2024, 3, 1, 8, 0, 0, 999_999, tzinfo=timezone.utc), "UTC")
	assert value.tzinfo is None
	assert value.microsecond == 0


def test_naive_device_time_is_refused():
	with pytest.raises(ValueError):
		to_site_naive(datetime(2024, 3, 1, 8, 0), "UTC")


def test_unknown_site_zone_is_a_value_error():
	with pytest.raises(ValueError):
		to_site_naive(datetime(2024, 3, 1, tzinfo=timezone.utc), "Mars/Olympus")


def test_round_trip_site_naive_to_aware():
	naive = datetime(2024, 3, 1, 9, 15)
	aware = site_naive_to_aware(naive, "Asia/Dhaka")
	assert aware.utcoffset() == timedelta(hours=6)
	assert to_site_naive(aware, "Asia/Dhaka") == naive


@pytest.mark.parametrize(
	"text,expected",
	[
		("+06:00", timedelta(hours=6)),
		("-03:30", -timedelta(hours=3, minutes=30)),
		("+0545", timedelta(hours=5, minutes=45)),
		("UTC+5", timedelta(hours=5)),
		("Z", timedelta(0)),
		("utc", timedelta(0)),
	],
)
def test_parse_utc_offset(text, expected):
	assert parse_utc_offset(text) == expected


@pytest.mark.parametrize("text", ["+15:00", "+05:75", "six", "06:00", ""])
def test_parse_utc_offset_rejects(text):
	with pytest.raises(ValueError):
		parse_utc_offset(text)


def test_format_utc_offset():
	assert format_utc_offset(timedelta(hours=5, minutes=45)) == "+05:45"
	assert format_utc_offset(-timedelta(hours=3, minutes=30)) == "-03:30"
	assert format_utc_offset(timedelta(0)) == "+00:00"


def test_normalize_device_time_zone():
	assert normalize_device_time_zone("") is None
	assert normalize_device_time_zone(None) is None
	assert normalize_device_time_zone(" +6 ") == "+06:00"
	assert normalize_device_time_zone("Asia/Dhaka") == "Asia/Dhaka"
	with pytest.raises(ValueError):
		normalize_device_time_zone("Dhaka")
	with pytest.raises(ValueError):
		normalize_device_time_zone("Asia/Nowhere")


def test_device_utc_offset_follows_dst_of_a_zone_name():
	assert device_utc_offset(None, datetime(2024, 1, 1, tzinfo=timezone.utc)) is None
	assert device_utc_offset("+06:00", datetime(2024, 1, 1, tzinfo=timezone.utc)) == "+06:00"
	assert device_utc_offset("America/Sao_Paulo", datetime(2024, 1, 1, tzinfo=timezone.utc)) == "-03:00"
	assert device_utc_offset("Europe/London", datetime(2024, 7, 1, tzinfo=timezone.utc)) == "+01:00"
	assert device_utc_offset("Europe/London", datetime(2024, 1, 1, tzinfo=timezone.utc)) == "+00:00"


def test_time_zone_handling_field_matches_the_module():
	doc = json.loads(DEVICE_JSON.read_text())
	field = next(f for f in doc["fields"] if f["fieldname"] == "time_zone_handling")
	assert field["fieldtype"] == "Select"
	assert tuple(field["options"].split("\n")) == TIME_ZONE_HANDLING
	assert field["default"] == TRUST_OFFSETS
	order = doc["field_order"]
	assert order.index("time_zone_handling") == order.index("device_time_zone") + 1
	assert "Device Time Zone" in field["description"]


def test_time_zone_handling_validation():
	assert validate_time_zone_handling(None, None) == TRUST_OFFSETS
	assert validate_time_zone_handling("", "") == TRUST_OFFSETS
	assert validate_time_zone_handling(TRUST_OFFSETS, None) == TRUST_OFFSETS
	assert validate_time_zone_handling(REINTERPRET, "Europe/Berlin") == REINTERPRET
	assert validate_time_zone_handling(REINTERPRET, "+06:00") == REINTERPRET
	for zone in (None, "", "   "):
		with pytest.raises(ValueError, match="needs a Device Time Zone"):
			validate_time_zone_handling(REINTERPRET, zone)
	with pytest.raises(ValueError):
		validate_time_zone_handling(REINTERPRET, "Berlin")
	with pytest.raises(ValueError):
		validate_time_zone_handling("Guess", "Europe/Berlin")


def test_reinterpret_drops_the_devices_offset_and_keeps_its_wall_clock():
	# A terminal in Dhaka set to UTC: it shows 09:00 local time and claims +00:00.
	sent = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
	fixed = reinterpret_in_zone(sent, "Asia/Dhaka")
	assert fixed.utcoffset() == timedelta(hours=6)
	assert to_site_naive(fixed, "Asia/Dhaka") == datetime(2024, 3, 1, 9, 0)
	assert to_site_naive(reinterpret_in_zone(sent, "+06:00"), "UTC") == datetime(2024, 3, 1, 3, 0)
	# A naive time is read the same way.
	assert reinterpret_in_zone(datetime(2024, 3, 1, 9, 0), "Asia/Dhaka") == fixed


def test_reinterpret_applies_a_zone_per_instant_across_daylight_saving():
	# Berlin moves from +01:00 to +02:00 at 02:00 on 2024-03-31; one window holds punches on both sides, all sent
	# by a terminal that claims +01:00 for every one of them.
	claimed = timezone(timedelta(hours=1))
	before = reinterpret_in_zone(datetime(2024, 3, 31, 1, 30, tzinfo=claimed), "Europe/Berlin")
	after = reinterpret_in_zone(datetime(2024, 3, 31, 9, 0, tzinfo=claimed), "Europe/Berlin")
	assert before.utcoffset() == timedelta(hours=1)
	assert after.utcoffset() == timedelta(hours=2)
	assert to_site_naive(after, "UTC") == datetime(2024, 3, 31, 7, 0)
	assert to_site_naive(before, "UTC") == datetime(2024, 3, 31, 0, 30)
	# Autumn: 02:30 happens twice; the first occurrence (summer time) is taken.
	repeated = reinterpret_in_zone(datetime(2024, 10, 27, 2, 30, tzinfo=claimed), "Europe/Berlin")
	assert to_site_naive(repeated, "UTC") == datetime(2024, 10, 27, 0, 30)


def test_reinterpret_needs_a_zone():
	with pytest.raises(ValueError):
		reinterpret_in_zone(datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc), "")


def test_a_zone_names_its_daylight_saving_rule_for_the_core():
	assert device_time_zone_rule("Europe/Berlin") == "CET-1CEST,M3.5.0,M10.5.0/3"
	assert device_time_zone_rule(" America/New_York ") == "EST5EDT,M3.2.0,M11.1.0"
	# Offsets, zones that never change and an empty setting have none: today's offset is every day's.
	for setting in ("+06:00", "Asia/Dhaka", "UTC", "", None):
		assert device_time_zone_rule(setting) is None, setting
	with pytest.raises(ValueError):
		device_time_zone_rule("Mars/Olympus_Mons")
	# The core reads every rule it is given (a rule it cannot read is a ValueError).
	for name in (
		"Europe/Berlin",
		"Europe/Dublin",
		"America/Santiago",
		"Australia/Lord_Howe",
		"Pacific/Chatham",
	):
		rule = device_time_zone_rule(name)
		assert rule, name
		_core.Device("10.0.0.5", "u", "p", time_zone=rule)
	with pytest.raises(ValueError, match="POSIX time zone rule"):
		_core.Device("10.0.0.5", "u", "p", time_zone="CET-1CEST,M13.1.0,M10.5.0")
