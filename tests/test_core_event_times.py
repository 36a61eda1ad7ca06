"""Event times outside the years 1 to 9999 (a terminal's clock gone wrong): the core rejects such a record, in a
push and in a search alike, so every `Event.time` it hands out converts to any time zone."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from conftest import week_window
from test_core_push import CAPTURE

from attendance_sync import _core

# Year 0000, and year 1 / 9999 on the wall clock with an offset that takes the instant out of them.
OUT_OF_RANGE = ["0000-06-01T10:00:00-05:00", "0001-01-01T03:00:00+06:00", "9999-12-31T20:00:00-05:00"]
# The zones furthest from UTC either way: a time the core accepts converts to both.
EXTREME_ZONES = [ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")]


@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_pushed_times_outside_years_1_to_9999_are_unreadable(time):
	body = json.dumps({**CAPTURE, "dateTime": time}).encode()
	with pytest.raises(_core.PushError) as caught:
		_core.parse_push(body, "application/json", device="Lobby")
	assert caught.value.reason == "time_out_of_range"
	assert time in str(caught.value)


@pytest.mark.parametrize("time", ["0001-06-01T10:00:00+06:00", "9999-06-01T10:00:00+06:00"])
def test_times_inside_the_range_convert_to_any_zone(time):
	body = json.dumps({**CAPTURE, "dateTime": time}).encode()
	event = _core.parse_push(body, device="Lobby").event
	assert event.time == dt.datetime.fromisoformat(time)
	for zone in EXTREME_ZONES:
		event.time.astimezone(zone)


def test_a_search_answer_holding_such_records_skips_and_counts_them(simulator):
	dev = simulator(1, "--days", "1", "--events-per-day", "8", "--utc-offset", "-05:00").devices[0]
	good = _core.fetch_events(_core.Device(**dev.connection()), *week_window())
	dev.add_events(1, at="0000-06-01T10:00:00-05:00")
	dev.add_events(1, at="9999-12-31T22:00:00-05:00")
	# A firmware whose filter lets the nearest records outside the window through: those two, on the first page.
	dev.set_faults(outside_window=True)
	result = _core.fetch_events(_core.Device(**dev.connection()), *week_window())
	assert result.stats.rejected_items == 2
	assert result.stats.outside_window == 0
	assert [e.as_dict() for e in result.events] == [e.as_dict() for e in good.events]
	for event in result.events:
		for zone in EXTREME_ZONES:
			event.time.astimezone(zone)
