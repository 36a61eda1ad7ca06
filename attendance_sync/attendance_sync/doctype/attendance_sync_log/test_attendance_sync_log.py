# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from frappe.utils import add_days, now_datetime

from attendance_sync.attendance_sync import sync
from attendance_sync.attendance_sync.doctype.attendance_sync_log.attendance_sync_log import AttendanceSyncLog
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase


class TestAttendanceSyncLog(AttendanceSyncTestCase):
	def test_unreachable_device_leaves_a_failed_log_and_one_error_log(self):
		device = self.make_device(None)  # port 9 on loopback: nothing listens there
		result = sync.sync_device(device)
		self.assertEqual(result["status"], "Failed")
		log = frappe.get_doc(sync.LOG, result["log"])
		self.assertEqual((log.status, log.trigger, log.device), ("Failed", "Scheduled", device))
		self.assertTrue(log.error)
		self.assertGreaterEqual(log.duration, 0)
		doc = frappe.get_doc(sync.DEVICE, device)
		self.assertEqual((doc.last_sync_status, doc.auth_blocked), ("Failed", 0))
		self.assertIsNone(doc.synced_up_to)
		self.assertEqual(
			frappe.db.count("Error Log", {"reference_doctype": sync.DEVICE, "reference_name": device}), 1
		)

	def test_interrupted_run_is_closed_by_the_next_one(self):
		device = self.make_device(None)
		stale = sync._start_log(device, sync.SCHEDULED)
		frappe.db.commit()
		sync.sync_device(device)
		self.assertEqual(frappe.db.get_value(sync.LOG, stale.name, "status"), "Failed")

	def test_clear_old_logs_keeps_recent_and_running(self):
		device = self.make_device(None)
		old, running, recent = (sync._start_log(device, sync.SCHEDULED) for _ in range(3))
		frappe.db.set_value(
			sync.LOG,
			old.name,
			{"status": "Success", "modified": add_days(now_datetime(), -100)},
			update_modified=False,
		)
		frappe.db.set_value(
			sync.LOG, running.name, "modified", add_days(now_datetime(), -100), update_modified=False
		)
		frappe.db.set_value(sync.LOG, recent.name, "status", "Success")
		AttendanceSyncLog.clear_old_logs(days=90)
		self.assertFalse(frappe.db.exists(sync.LOG, old.name))
		self.assertTrue(frappe.db.exists(sync.LOG, running.name))
		self.assertTrue(frappe.db.exists(sync.LOG, recent.name))
