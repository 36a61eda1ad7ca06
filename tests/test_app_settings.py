"""Attendance Sync Settings defaults and validation; progress throttling."""

import pytest

from attendance_sync.logic import progress
from attendance_sync.logic.progress import Throttle
from attendance_sync.logic.settings import DEFAULTS, SyncSettings, settings_from_values


def test_defaults_fill_empty_values():
	s = settings_from_values(
		{"overlap_minutes": None, "connect_timeout": 0, "request_timeout": "", "fetch_concurrency": 4}
	)
	assert s.overlap_minutes == DEFAULTS["overlap_minutes"]
	assert s.connect_timeout == DEFAULTS["connect_timeout"]
	assert s.request_timeout == DEFAULTS["request_timeout"]
	assert s.fetch_concurrency == 4
	assert s.punch_codes is None
	assert s.overlap.total_seconds() == 600
	s.validate()
	assert settings_from_values({"not_heard_from_minutes": 0}).not_heard_from_minutes == 60
	assert settings_from_values({"not_heard_from_minutes": "15"}).not_heard_from_minutes == 15


def test_punch_codes_from_rows():
	s = settings_from_values({}, [(5, 75), ("5", "38")])
	assert s.punch_codes == frozenset({(5, 75), (5, 38)})


@pytest.mark.parametrize(
	"kwargs",
	[
		{"overlap_minutes": -1},
		{"fetch_concurrency": -2},
		{"connect_timeout": -1.0},
		{"punch_retention_days": -5},
		{"double_punch_seconds": -1},
		{"not_heard_from_minutes": -1},
		{"punch_codes": frozenset({(5, 0)})},
	],
)
def test_invalid_settings(kwargs):
	with pytest.raises(ValueError):
		SyncSettings(**kwargs).validate()


def test_throttle():
	now = [0.0]
	t = Throttle(1.0, clock=lambda: now[0])
	assert t.ready()
	now[0] = 0.5
	assert not t.ready()
	assert t.ready(force=True)
	now[0] = 1.2
	assert not t.ready()
	now[0] = 1.6
	assert t.ready()


def test_progress_words_say_one_page_not_one_pages():
	assert progress.fetch_message(1, 1) == "Fetching: 1 page, 1 event"
	assert progress.fetch_message(2, 30) == "Fetching: 2 pages, 30 events"
	assert progress.fetch_message(0, 0) == "Fetching: 0 pages, 0 events"
	assert progress.checkin_message(0, 1) == "Check-ins: 0 of 1 punch processed"
	assert progress.checkin_message(250, 500) == "Check-ins: 250 of 500 punches processed"


def test_progress_percent_fills_one_bar_in_two_halves():
	assert progress.fetch_percent(0) == 0
	assert 0 < progress.fetch_percent(1) < progress.fetch_percent(100) < 50
	assert progress.checkin_percent(0, 10) == 50
	assert progress.checkin_percent(10, 10) == 100
	assert progress.checkin_percent(0, 0) == 50
