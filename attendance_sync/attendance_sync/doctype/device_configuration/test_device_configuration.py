# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import re
from datetime import timedelta
from pathlib import Path

from frappe.utils import add_days, get_datetime, now_datetime

from attendance_sync.attendance_sync import common, cursors, jobs
from attendance_sync.attendance_sync.doctype.attendance_sync_settings import attendance_sync_settings
from attendance_sync.attendance_sync.doctype.device_configuration import device_configuration
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.locks import advisory_lock
from attendance_sync.attendance_sync.testing import SIM_PASSWORD, AttendanceSyncTestCase
from attendance_sync.logic import punches as P
from attendance_sync.logic import windows
from attendance_sync.logic.timezones import REINTERPRET, TRUST_OFFSETS


class TestDeviceConfiguration(AttendanceSyncTestCase):
	def test_installed(self):
		for doctype in (common.DEVICE, common.PUNCH, common.LOG, common.SETTINGS, "Device Shift Type"):
			self.assertTrue(frappe.db.exists("DocType", doctype), doctype)
		self.assertTrue(frappe.db.has_index("tabDevice Punch", "unique_device_event_key"))
		self.assertEqual(frappe.db.get_single_value(common.SETTINGS, "overlap_minutes"), 10)
		for method in ("jobs.scheduled_daily", "jobs.scheduled_tick", "maintenance.prune_punches"):
			self.assertTrue(
				frappe.db.exists(
					"Scheduled Job Type", {"method": f"attendance_sync.attendance_sync.{method}"}
				),
				method,
			)
		# `bench migrate` syncs the Scheduled Job Types from hooks.py: those of version 0.1's paths are gone.
		self.assertFalse(
			frappe.db.exists(
				"Scheduled Job Type", {"method": ["like", "attendance_sync.attendance_sync.sync.%"]}
			)
		)

	def test_host_validation(self):
		with self.assertRaises(frappe.ValidationError):
			self.make_device(None, device_ip="http://10.0.0.5/ISAPI")
		device = self.make_device(None, device_ip="10.0.0.5:8080", port=None)
		self.assertEqual(
			frappe.db.get_value(common.DEVICE, device, ["device_ip", "port"]), ("10.0.0.5", 8080)
		)

	def test_time_zone_handling_defaults_to_trust_and_re_interpreting_needs_a_zone(self):
		device = self.make_device(None)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "time_zone_handling"), TRUST_OFFSETS)
		doc = frappe.get_doc(common.DEVICE, device)
		doc.time_zone_handling = REINTERPRET
		with self.assertRaisesRegex(frappe.ValidationError, "needs a Device Time Zone"):
			doc.save()
		doc = frappe.get_doc(common.DEVICE, device)
		doc.time_zone_handling = REINTERPRET
		doc.device_time_zone = "Europe/Berlin"
		doc.save()
		doc.device_time_zone = "+6"
		doc.save()
		self.assertEqual(
			frappe.db.get_value(common.DEVICE, device, ["time_zone_handling", "device_time_zone"]),
			(REINTERPRET, "+06:00"),
		)

	def test_login_block_is_cleared_by_a_configuration_change(self):
		device = self.make_device(None)
		frappe.db.set_value(common.DEVICE, device, "auth_blocked", 1)
		doc = frappe.get_doc(common.DEVICE, device)
		doc.sync_frequency = "Hourly"
		doc.save()
		self.assertEqual(doc.auth_blocked, 1, "an unrelated change keeps the block")
		doc.device_user_password = "another-password"
		doc.save()
		self.assertEqual(doc.auth_blocked, 0)

	def test_sync_creates_checkins_and_resync_creates_nothing(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		for device_id in self.device_user_ids(device):
			self.make_employee(device_id)
		first = jobs.sync_device(device)
		self.assertEqual(first["status"], "Success", first)
		self.assertGreater(first["checkins_created"], 0)
		checkins = self.checkins(device)
		self.assertEqual(len(checkins), first["checkins_created"])
		self.assertEqual(
			len(checkins), len({(e, get_datetime(t).replace(microsecond=0)) for e, t in checkins})
		)
		synced = frappe.db.get_value(common.DEVICE, device, "synced_up_to")
		self.assertIsNotNone(synced)
		log = frappe.get_doc(common.LOG, first["log"])
		self.assertEqual((log.status, log.trigger, log.device), ("Success", "Scheduled", device))

		second = jobs.sync_device(device)
		self.assertEqual(second["status"], "Success", second)
		self.assertEqual((second["new_punches"], second["checkins_created"]), (0, 0))
		self.assertEqual(len(self.checkins(device)), len(checkins))
		self.assertGreaterEqual(frappe.db.get_value(common.DEVICE, device, "synced_up_to"), synced)

	def test_unmapped_punches_become_checkins_when_the_employee_is_mapped(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		result = jobs.sync_device(device)
		self.assertEqual(result["checkins_created"], 0)
		self.assertGreater(result["unmapped"], 0)
		device_id = frappe.get_all(
			common.PUNCH, filters={"device": device, "status": P.UNMAPPED}, pluck="device_user_id", limit=1
		)[0]
		waiting = frappe.db.count(common.PUNCH, {"device": device, "device_user_id": device_id})
		# Saving the Employee with the ID queues a Reprocess (never run inside the hook), which a worker runs.
		employee = self.make_employee(device_id)
		self.assertEqual(
			frappe.db.count(common.PUNCH, {"device_user_id": device_id, "status": P.UNMAPPED}), waiting
		)
		self.run_worker("long")
		frappe.db.rollback()  # a new transaction sees what the worker committed
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": employee}), waiting)
		self.assertEqual(
			frappe.db.count(common.PUNCH, {"device_user_id": device_id, "status": P.CHECKED_IN}), waiting
		)

	def test_inactive_employee(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		device_id = self.punching_user_ids(device)[0]
		employee = self.make_employee(device_id, status="Inactive")
		result = jobs.sync_device(device)
		self.assertGreater(result["inactive"], 0)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": employee}), 0)
		row = frappe.get_all(
			common.PUNCH,
			filters={"device_user_id": device_id},
			fields=["status", "employee", "reason"],
			limit=1,
		)[0]
		self.assertEqual((row.status, row.employee), (P.INACTIVE, employee))
		self.assertTrue(row.reason)

	def test_wrong_password_fails_once_and_is_not_retried(self):
		(sim,) = self.start_simulator()
		wrong = "not-the-password"
		device = self.make_device(sim, password=wrong)
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Failed")
		log = frappe.get_doc(common.LOG, result["log"])
		self.assertEqual(log.status, "Failed")
		doc = frappe.get_doc(common.DEVICE, device)
		self.assertEqual((doc.auth_blocked, doc.last_sync_status, doc.sync_health), (1, "Failed", "Failing"))
		self.assertIn("Device User Password", doc.last_error)
		error_log = frappe.get_all(
			"Error Log",
			filters={"reference_doctype": common.DEVICE, "reference_name": device},
			fields=["method", "error"],
		)
		self.assertEqual(len(error_log), 1)
		for text in (log.error, doc.last_error, error_log[0].error, error_log[0].method):
			self.assertNotIn(wrong, text or "")
		self.assertEqual(sim.stats()["failed_logins"], 1, "one rejected login, not retried")

		self.assertNotIn(device, jobs.scheduled_tick())
		self.assertNotIn(device, jobs.scheduled_daily())
		self.assertTrue(jobs.sync_device(device)["skipped"])
		with self.assertRaises(frappe.ValidationError):
			device_configuration.fetch_checkins(
				device, str(add_days(now_datetime(), -1)), str(now_datetime())
			)
		self.assertEqual(sim.stats()["failed_logins"], 1, "no second login attempt")

		doc.device_user_password = SIM_PASSWORD
		doc.save()
		frappe.db.commit()
		self.assertEqual(jobs.sync_device(device)["status"], "Success")

	def test_test_connection_with_a_wrong_password_is_one_attempt_until_the_password_changes(self):
		(sim,) = self.start_simulator()
		wrong = "not-the-password"
		device = self.make_device(sim, password=wrong)
		sim.reset()

		first = device_configuration.test_connection(device)
		self.assertIsNotNone(
			frappe.db.get_value(common.DEVICE, device, "last_contact"), "a refusal is an answer"
		)
		self.assertFalse(first["ok"])
		self.assertEqual(first["kind"], "DeviceAuthError")
		stats = sim.stats()
		self.assertEqual(stats["failed_logins"], 1, "one rejected login")
		self.assertEqual(stats["requests"], 2, "one challenge and one rejected attempt, nothing more")

		# The second click is refused without a request to the terminal, with what to check.
		second = device_configuration.test_connection(device)
		self.assertEqual(sim.stats()["requests"], 2, "no request after a rejected login")
		self.assertFalse(second["ok"])
		self.assertTrue(first["blocked"] and second["blocked"])
		self.assertIn(device, second["message"])
		self.assertIn("Device User Password", second["hint"])
		self.assertIn("Device User Password", first["hint"])
		# Recorded on the device like a sync's rejection: the scheduler leaves it alone too.
		doc = frappe.get_doc(common.DEVICE, device)
		self.assertEqual((doc.auth_blocked, doc.sync_health), (1, "Failing"))
		self.assertIn("Device User Password", doc.last_error)
		for text in (first["message"], first["hint"], second["message"], doc.last_error):
			self.assertNotIn(wrong, text)
		self.assertNotIn(device, jobs.scheduled_tick())

		# Saving a new password is a new attempt; the right one connects and the block stays cleared.
		doc.device_user_password = "still-wrong"
		doc.save()
		self.assertEqual(doc.auth_blocked, 0)
		third = device_configuration.test_connection(device)
		self.assertTrue(third["blocked"])
		self.assertEqual(sim.stats()["failed_logins"], 2, "the changed password was tried once")
		doc.reload()
		doc.device_user_password = SIM_PASSWORD
		doc.save()
		frappe.db.set_value(common.DEVICE, device, "last_contact", None)
		fourth = device_configuration.test_connection(device)
		self.assertTrue(fourth["ok"], fourth)
		self.assertIsNotNone(frappe.db.get_value(common.DEVICE, device, "last_contact"))
		self.assertNotIn("device_user_password", fourth)
		self.assertNotIn(SIM_PASSWORD, frappe.as_json(fourth))
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "auth_blocked"), 0)
		self.assertEqual(sim.stats()["failed_logins"], 2)

	def test_only_system_manager_may_trigger(self):
		device = self.make_device(None)
		user = self.make_user("HR Manager")
		frappe.set_user(user)
		now = now_datetime()
		with self.assertRaises(frappe.PermissionError):
			device_configuration.fetch_checkins(device, str(now - timedelta(hours=1)), str(now))
		with self.assertRaises(frappe.PermissionError):
			device_configuration.test_connection(device)
		with self.assertRaises(frappe.PermissionError):
			device_punch.reprocess_punches([])
		with self.assertRaises(frappe.PermissionError):
			attendance_sync_settings.sync_all_devices()
		# HR Manager may read the unmapped summary.
		self.assertIsInstance(device_punch.unmapped_device_users(), list)

	def test_manual_window_limits(self):
		device = self.make_device(None)
		now = now_datetime()
		with self.assertRaises(frappe.ValidationError):
			device_configuration.fetch_checkins(device, str(now - timedelta(days=32)), str(now))
		with self.assertRaises(frappe.ValidationError):
			device_configuration.fetch_checkins(device, str(now), str(now - timedelta(hours=1)))

	def test_fetch_dialog_defaults_are_full_datetimes_the_fetch_accepts(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		defaults = device_configuration.fetch_window_defaults(device)
		for key in ("from_time", "to_time"):
			self.assertRegex(defaults[key], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", key)
		start, end = get_datetime(defaults["from_time"]), get_datetime(defaults["to_time"])
		self.assertEqual(end - start, timedelta(days=1), "never synced: the last day")
		self.assertLessEqual(abs((end - now_datetime()).total_seconds()), 60)
		self.assertEqual(defaults["max_days"], windows.MANUAL_WINDOW_MAX.days)

		self.assertTrue(
			device_configuration.fetch_checkins(device, defaults["from_time"], defaults["to_time"])["queued"]
		)
		log = frappe.get_last_doc(common.LOG, filters={"device": device})
		self.assertEqual((log.trigger, log.status), (jobs.MANUAL, "Success"))
		self.assertEqual(get_datetime(log.window_start), start)

		# From is Synced Up To; a device behind by more than the limit gets the limit's worth from there.
		behind = (now_datetime() - timedelta(days=40)).replace(microsecond=0)
		frappe.db.set_value(common.DEVICE, device, "synced_up_to", behind)
		defaults = device_configuration.fetch_window_defaults(device)
		self.assertEqual(get_datetime(defaults["from_time"]), behind)
		self.assertEqual(get_datetime(defaults["to_time"]) - behind, windows.MANUAL_WINDOW_MAX)
		self.assertTrue(
			device_configuration.fetch_checkins(device, defaults["from_time"], defaults["to_time"])["queued"]
		)

	def test_run_results_carry_what_the_fetch_dialog_shows(self):
		script = Path(__file__).with_name("device_configuration.js").read_text()

		def function(name: str) -> str:
			body = script[script.index(f"function {name}(") :]
			return body[: body.index("\nfunction ", 1)]

		# The result, and the summary it opens (with what the summary reads besides the result).
		bodies = [function(n) for n in ("show_sync_result", "fetch_summary_extra", "show_fetch_summary")]
		shown = {f for body in bodies for f in re.findall(r"\bdata\.(\w+)", body)} - {
			"device",
			"skipped",
			"message",
		}
		self.assertIn("checkins_created", shown)

		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		now = now_datetime()
		success = jobs.sync_device(device, jobs.MANUAL, str(now - timedelta(days=1)), str(now))
		self.assertEqual(success["status"], "Success", success)
		self.assertLessEqual(shown - {"error"}, set(success))
		unreachable = self.make_device(None)
		failure = jobs.sync_device(unreachable, jobs.MANUAL, str(now - timedelta(days=1)), str(now))
		self.assertEqual(failure["status"], "Failed", failure)
		self.assertLessEqual(shown, set(failure))
		self.assertIn("Device IP and Port", failure["error"])

	def test_manual_window_never_moves_the_cursor_backwards(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		jobs.sync_device(device)
		synced = frappe.db.get_value(common.DEVICE, device, "synced_up_to")
		start = get_datetime(synced) - timedelta(days=2)
		result = jobs.sync_device(device, jobs.MANUAL, str(start), str(start + timedelta(hours=6)))
		self.assertEqual(result["status"], "Success", result)
		self.assertEqual(result["new_punches"], 0)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "synced_up_to"), synced)

	def test_overlapping_runs_of_one_device(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		with self.secondary_connection(), advisory_lock(common.job_id(device)) as held:
			self.assertTrue(held)
			with self.primary_connection():
				skipped = jobs.sync_device(
					device, jobs.MANUAL, str(add_days(now_datetime(), -1)), str(now_datetime())
				)
		self.assertTrue(skipped.get("skipped"))
		self.assertEqual(frappe.db.count(common.LOG, {"device": device}), 0)
		scheduled = jobs.sync_device(device)
		manual = jobs.sync_device(device, jobs.MANUAL, str(add_days(now_datetime(), -2)), str(now_datetime()))
		self.assertEqual((scheduled["status"], manual["status"]), ("Success", "Success"))
		self.assertEqual(manual["new_punches"], 0)


class TestShiftTypeCursor(AttendanceSyncTestCase):
	def make_shift_type(self) -> str:
		name = f"_Test AS Shift {frappe.generate_hash(length=6)}"
		frappe.get_doc(
			{"doctype": "Shift Type", "__newname": name, "start_time": "09:00:00", "end_time": "17:00:00"}
		).insert(ignore_permissions=True)
		self.addCleanup(lambda: (frappe.db.delete("Shift Type", {"name": name}), frappe.db.commit()))
		return name

	def test_minimum_over_enabled_devices_never_backwards_never_past_a_failure(self):
		shift = self.make_shift_type()
		base = get_datetime("2024-03-10 08:00:00")
		a = self.make_device(None, shift_types=[{"shift_type": shift}])
		b = self.make_device(None, shift_types=[{"shift_type": shift}])

		frappe.db.set_value(common.DEVICE, a, "synced_up_to", base + timedelta(hours=4))
		cursors.update_shift_types([shift])
		self.assertIsNone(frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"), "b never synced")

		frappe.db.set_value(
			common.DEVICE, b, {"synced_up_to": base + timedelta(hours=2), "last_sync_status": "Success"}
		)
		cursors.update_shift_types([shift])
		self.assertEqual(
			frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"), base + timedelta(hours=2)
		)

		# b fails: its Synced Up To stays, and so does the shift's cursor however far a goes.
		frappe.db.set_value(common.DEVICE, b, "last_sync_status", "Failed")
		frappe.db.set_value(common.DEVICE, a, "synced_up_to", base + timedelta(hours=9))
		cursors.update_shift_type_cursors(a)
		self.assertEqual(
			frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"), base + timedelta(hours=2)
		)

		# Never backwards.
		frappe.db.set_value(common.DEVICE, b, "synced_up_to", base)
		cursors.update_shift_types([shift])
		self.assertEqual(
			frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"), base + timedelta(hours=2)
		)

		# Disabling b (saved through the form) keeps the cursor at b's last complete sync: punches b has not
		# delivered are still someone's attendance.
		doc = frappe.get_doc(common.DEVICE, b)
		doc.enabled = 0
		doc.save()
		cursors.update_shift_type_cursors(a)
		self.assertEqual(
			frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"), base + timedelta(hours=2)
		)
		# Released by an administrator (the terminal is gone), the cursor follows a alone.
		doc.release_shift_types = 1
		doc.save()
		self.assertEqual(
			frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"), base + timedelta(hours=9)
		)
		# Enabled again, b is waited for again: the flag is cleared.
		doc.enabled = 1
		doc.save()
		self.assertEqual(frappe.db.get_value(common.DEVICE, b, "release_shift_types"), 0)
