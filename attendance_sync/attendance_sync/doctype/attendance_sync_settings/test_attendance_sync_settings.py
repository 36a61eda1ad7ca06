# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from attendance_sync.attendance_sync import sync
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase


class TestAttendanceSyncSettings(AttendanceSyncTestCase):
	def test_validation(self):
		settings = frappe.get_single(sync.SETTINGS)
		settings.overlap_minutes = -1
		with self.assertRaises(frappe.ValidationError):
			settings.save()
		settings.reload()
		settings.append("punch_codes", {"major": 5, "minor": 75})
		settings.append("punch_codes", {"major": 5, "minor": 75})
		with self.assertRaises(frappe.ValidationError):
			settings.save()

	def test_saved_values_reach_the_job(self):
		settings = frappe.get_single(sync.SETTINGS)
		before = (settings.overlap_minutes, [(r.major, r.minor) for r in settings.punch_codes])
		settings.overlap_minutes = 25
		settings.set("punch_codes", [{"major": 5, "minor": 38}])
		settings.save()
		try:
			values = sync.get_settings()
			self.assertEqual(values.overlap_minutes, 25)
			self.assertEqual(values.punch_codes, frozenset({(5, 38)}))
		finally:
			settings.overlap_minutes = before[0]
			settings.set("punch_codes", [{"major": m, "minor": n} for m, n in before[1]])
			settings.save()
			frappe.db.commit()
