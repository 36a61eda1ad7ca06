# Copyright (c) 2026, Attendance Sync contributors
# See license.txt
"""A terminal in a zone with daylight saving, whose firmware reads only the wall-clock digits of a search time,
fetched by hand for a window in the other half of the year: every punch of the window becomes a check-in."""

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from frappe.utils import add_days, now_datetime

from attendance_sync.attendance_sync import common, jobs
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase
from attendance_sync.logic.timezones import device_time_zone_rule, to_site_naive

BERLIN = "Europe/Berlin"


def other_half_of_the_year(now: datetime) -> datetime:
	"""Noon UTC of a day within the last year whose Berlin offset is not today's, away from the changes."""
	berlin = ZoneInfo(BERLIN)
	today = now.astimezone(berlin).utcoffset()
	for days in range(60, 366):
		day = (now - timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)
		around = {(day + timedelta(hours=h)).astimezone(berlin).utcoffset() for h in (-6, 0, 6)}
		if around == {day.astimezone(berlin).utcoffset()} and around != {today}:
			return day
	raise AssertionError("Berlin has two offsets within a year")


class TestDaylightSaving(AttendanceSyncTestCase):
	def test_fetch_check_in_of_a_window_in_the_other_half_of_the_year_takes_every_punch(self):
		(sim,) = self.start_simulator(
			1, "--time-zone", device_time_zone_rule(BERLIN), days=1, events_per_day=0
		)
		sim.set_faults(time_handling="device-local")
		device = self.make_device(sim, device_time_zone=BERLIN, sync_start=add_days(now_datetime(), -400))
		device_ids = self.device_user_ids(device)[:3]
		for device_id in device_ids:
			self.make_employee(device_id)
		centre = other_half_of_the_year(datetime.now(timezone.utc))
		first = centre - timedelta(minutes=90)
		recorded = []
		for i in range(19):
			recorded += sim.add_events(1, at=first + timedelta(minutes=10 * i), employee_no=device_ids[i % 3])
		site_tz = common.site_time_zone()
		window = (
			to_site_naive(first - timedelta(minutes=5), site_tz),
			to_site_naive(centre + timedelta(minutes=95), site_tz),
		)
		result = jobs.sync_device(device, jobs.MANUAL, str(window[0]), str(window[1]))
		self.assertEqual(result["status"], "Success", result)
		self.assertEqual(result["checkins_created"], len(recorded), result)
		checked_in = {p.serial_no for p in self.punches(device, status="Checked In")}
		self.assertEqual(checked_in, {e["serial_no"] for e in recorded})
		self.assertEqual(self.assert_checkins_exactly_once(device), len(recorded))
