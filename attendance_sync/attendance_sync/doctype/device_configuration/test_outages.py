# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from datetime import datetime, timedelta

from frappe.utils import get_datetime, now_datetime

from attendance_sync.attendance_sync import common, jobs
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase
from attendance_sync.logic import punches as P
from attendance_sync.logic.timezones import site_naive_to_aware

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class TestOutages(AttendanceSyncTestCase):
	"""A terminal unreachable for days, then fetched by hand and by the schedule in every order and window."""

	def record(self, sim, device_ids: list[str], *times: datetime) -> list[dict]:
		"""Punches at `times` (site time), numbered by the terminal's counter in the order given."""
		site_tz = common.site_time_zone()
		events = []
		for i, at in enumerate(times):
			events += sim.add_events(1, at=site_naive_to_aware(at, site_tz), employee_no=device_ids[i % 3])
		return events

	def outage_history(
		self, manual_window: tuple[timedelta, timedelta], manual_first: bool, people: slice
	) -> None:
		"""Monday synced; Tuesday to Thursday the terminal drops every connection while it keeps recording;
		Friday it answers again, and HR runs Fetch Check-in over `manual_window` (offsets from now) before or after
		the first scheduled run that reaches it. Every punch must end as exactly one check-in. `people`: which of
		the simulator's enrolled users punch (Attendance Device IDs are unique: each history has its own)."""
		(sim,) = self.start_simulator(1, days=1, events_per_day=0)
		device = self.make_device(sim)
		device_ids = self.device_user_ids(device)[people]
		for device_id in device_ids:
			self.make_employee(device_id)
		now = now_datetime()
		# Monday: the terminal's clock (skewed back) is four days ago, and the scheduled run takes all of it.
		sim.set_faults(clock_skew_secs=-int((4 * DAY).total_seconds()))
		recorded = self.record(sim, device_ids, now - 4 * DAY - 3 * HOUR, now - 4 * DAY - 2 * HOUR)
		monday = jobs.sync_device(device)
		self.assertEqual(monday["status"], "Success", monday)
		self.assertEqual(monday["checkins_created"], 2)
		# Tuesday to Thursday: unreachable; the scheduled runs fail and leave the cursors alone.
		sim.set_faults(drop_rate=1.0, clock_skew_secs=-int((2 * DAY).total_seconds()))
		recorded += self.record(
			sim, device_ids, now - 3 * DAY, now - 3 * DAY + HOUR, now - 2 * DAY, now - 1 * DAY
		)
		self.assertEqual(jobs.sync_device(device)["status"], "Failed")
		# Friday: back.
		sim.set_faults()
		recorded += self.record(sim, device_ids, now - 2 * HOUR, now - HOUR)
		start, end = (str(now + offset) for offset in manual_window)
		runs = [lambda: jobs.sync_device(device, jobs.MANUAL, start, end), lambda: jobs.sync_device(device)]
		if not manual_first:
			runs.reverse()
		runs.append(lambda: jobs.sync_device(device))
		for run in runs:
			result = run()
			self.assertEqual(result["status"], "Success", result)

		stored = {p.serial_no: p for p in self.punches(device)}
		missing = [e["time"] for e in recorded if e["serial_no"] not in stored]
		self.assertEqual(missing, [], "punches never fetched")
		self.assertEqual(
			[s for s, p in stored.items() if p.status != P.CHECKED_IN], [], "punches not checked in"
		)
		self.assertEqual(self.assert_checkins_exactly_once(device), len(recorded))
		synced = get_datetime(frappe.db.get_value(common.DEVICE, device, "synced_up_to"))
		self.assertGreaterEqual(synced, now - HOUR, "the schedule reaches the present")

	def test_fetch_check_in_after_an_outage_never_skips_the_days_missed(self):
		windows = {
			"before the gap": (-4 * DAY - 4 * HOUR, -4 * DAY - HOUR),
			"inside the gap": (-3 * DAY - HOUR, -2 * DAY + HOUR),
			"across the gap": (-5 * DAY, timedelta(0)),
			"after the gap": (-10 * HOUR, timedelta(0)),
		}
		histories = [(name, first) for name in windows for first in (True, False)]
		for i, (name, manual_first) in enumerate(histories):
			with self.subTest(window=name, manual_first=manual_first):
				self.outage_history(windows[name], manual_first, slice(3 * i, 3 * i + 3))

	def test_punches_of_a_clock_set_back_are_fetched_by_the_serial_cursor(self):
		"""Synced to now; the terminal's clock goes back three hours (a wrong correction) and people punch; the
		clock is put right. The next scheduled run searches by serial after Last Serial No and takes them, though
		they are stamped long before Synced Up To."""
		(sim,) = self.start_simulator(1, days=1, events_per_day=0)
		device = self.make_device(sim)
		device_ids = self.device_user_ids(device)[:3]
		for device_id in device_ids:
			self.make_employee(device_id)
		now = now_datetime()
		recorded = self.record(sim, device_ids, now - 2 * HOUR, now - HOUR)
		first = jobs.sync_device(device)
		self.assertEqual(first["checkins_created"], 2, first)
		self.assertTrue(frappe.db.get_value(common.DEVICE, device, "last_serial_no"))
		sim.set_faults(clock_skew_secs=-int((3 * HOUR).total_seconds()))
		set_back = now_datetime() - 3 * HOUR
		recorded += self.record(sim, device_ids, set_back, set_back + timedelta(minutes=1))
		sim.set_faults()
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		stored = {p.serial_no for p in self.punches(device, status=P.CHECKED_IN)}
		self.assertEqual(sorted(e["serial_no"] for e in recorded), sorted(stored))
		self.assertEqual(self.assert_checkins_exactly_once(device), 4)
