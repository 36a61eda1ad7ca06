# Copyright (c) 2025, Attendance Sync contributors
# See license.txt
"""Unmapped punches and mapping changes: whatever job dies or decides too early, every punch of a device user
ID that an Employee gets ends as a check-in, and no Shift Type cursor passes it meanwhile."""

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import threading
import time
from datetime import timedelta

import pymysql
from frappe.utils import get_datetime, now_datetime

from attendance_sync.attendance_sync import checkin_locks, checkins, common, cursors, jobs, locks
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.doctype.device_user_id_holder.device_user_id_holder import HOLDER
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row
from attendance_sync.logic import punches as P
from attendance_sync.patches import record_device_user_id_holders


class TestUnmappedPunches(AttendanceSyncTestCase):
	def setUp(self):
		super().setUp()
		self.base = now_datetime().replace(microsecond=0) - timedelta(hours=6)
		self.user_id = f"U{frappe.generate_hash(length=6)}"

	def store(self, device: str, user_id: str, *minutes: int) -> list[P.PunchRow]:
		rows = [punch_row(device, 1000 + m, user_id, self.base + timedelta(minutes=m)) for m in minutes]
		device_punch.store_punches(rows, None)
		return rows

	def statuses(self, device: str) -> list[str]:
		return [p.status for p in self.punches(device)]

	def feeding(self, device: str, synced_up_to) -> str:
		"""A Shift Type fed by `device`, which has delivered everything up to `synced_up_to`."""
		shift = self.make_shift_type()
		doc = frappe.get_doc(common.DEVICE, device)
		doc.append("shift_types", {"shift_type": shift})
		doc.save()
		frappe.db.set_value(
			common.DEVICE, device, {"synced_up_to": synced_up_to, "last_sync_status": "Success"}
		)
		frappe.db.commit()
		return shift

	def cursor(self, shift: str):
		cursors.update_shift_types([shift])
		frappe.db.commit()
		return get_datetime(frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin"))

	def test_an_id_set_while_a_batch_waits_for_its_locks_maps_that_batch(self):
		"""HR sets the ID after the batch read who holds it but before it decides: the batch, deciding under the
		ID's lock, sees the ID. (The Employee hook, looking before the batch commits, finds nothing Unmapped.)"""
		device = self.make_device(None)
		self.store(device, self.user_id, 1, 2, 3)
		employee = self.make_employee(None)
		frappe.db.commit()
		other = pymysql.connect(**frappe.db.get_connection_settings())
		self.addCleanup(other.close)
		key = locks._key(checkin_locks.user_lock(self.user_id))
		with other.cursor() as cursor:
			cursor.execute("select get_lock(%s, 0)", [key])
			self.assertEqual(cursor.fetchone()[0], 1)
		failures: list[BaseException] = []

		def map_then_release() -> None:
			try:
				deadline = time.monotonic() + 60
				waiting = 0
				while not waiting and time.monotonic() < deadline:
					time.sleep(0.05)
					with other.cursor() as cursor:
						cursor.execute(
							"select count(*) from information_schema.processlist where info like %s",
							["select get_lock(%"],
						)
						waiting = cursor.fetchone()[0]
				with other.cursor() as cursor:
					cursor.execute(
						"update `tabEmployee` set attendance_device_id = %s where name = %s",
						[self.user_id, employee],
					)
					other.commit()
					cursor.execute("select release_lock(%s)", [key])
			except BaseException as e:
				failures.append(e)

		helper = threading.Thread(target=map_then_release)
		helper.start()
		counts = checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		helper.join()
		self.assertEqual(failures, [])
		self.assertEqual(counts.checkins_created, 3, counts.as_dict())
		self.assertEqual(self.statuses(device), [P.CHECKED_IN] * 3)
		self.assertEqual({p.employee for p in self.punches(device)}, {employee})

	def test_a_new_id_whose_reprocess_never_ran_holds_the_shift_and_the_next_run_checks_it_in(self):
		"""The Reprocess queued by the Employee hook dies (here: it is never run). The Shift Type of that
		Employee does not pass the punches meanwhile, and the device's next run turns them into check-ins."""
		(sim,) = self.start_simulator(1, days=1, events_per_day=0)
		device = self.make_device(sim)
		self.store(device, self.user_id, 10, 20)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.statuses(device), [P.UNMAPPED] * 2)
		shift = self.feeding(device, self.base + timedelta(hours=2))
		employee = self.make_employee(None, default_shift=shift)
		# The ID written without the hook: as if the job it queued had died.
		frappe.db.set_value("Employee", employee, "attendance_device_id", self.user_id)
		frappe.db.commit()

		self.assertEqual(self.cursor(shift), self.base + timedelta(minutes=10, seconds=-1))

		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		self.assertEqual(self.statuses(device), [P.CHECKED_IN] * 2)
		self.assertEqual(result["checkins_created"], 2)
		self.assertGreater(self.cursor(shift), self.base + timedelta(minutes=20))

	def test_unmapped_punches_of_an_id_an_employee_held_before_hold_its_shift(self):
		"""HR changes an Employee's Attendance Device ID while the terminal still knows the person by the old
		one: the person's new punches are Unmapped, and their Shift Type waits for them."""
		device = self.make_device(None)
		shift = self.feeding(device, self.base + timedelta(hours=3))
		employee = self.make_employee(self.user_id, default_shift=shift)
		self.store(device, self.user_id, 10)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.statuses(device), [P.CHECKED_IN])
		frappe.db.set_value("Employee", employee, "attendance_device_id", f"{self.user_id}-new")
		frappe.db.commit()
		self.store(device, self.user_id, 90)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.statuses(device), [P.CHECKED_IN, P.UNMAPPED])

		self.assertEqual(self.cursor(shift), self.base + timedelta(minutes=90, seconds=-1))

	def test_an_id_mapped_then_changed_before_any_run_still_holds_the_shift(self):
		"""HR sets an Employee's ID while the punches are Unmapped, the Reprocess it queues dies, and HR types
		another ID before any run: no punch was ever checked in for the Employee, yet the person punched with the
		ID it held. Their Shift Type waits for those punches (history seed 2947966213)."""
		device = self.make_device(None)
		self.store(device, self.user_id, 10, 20)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.statuses(device), [P.UNMAPPED] * 2)
		shift = self.feeding(device, self.base + timedelta(hours=3))
		employee = frappe.get_doc("Employee", self.make_employee(None, default_shift=shift))
		employee.attendance_device_id = self.user_id
		# Saved as a desk user saves it: with its Version (tests skip versions unless asked). The hook queues a
		# Reprocess, which never runs here.
		employee.save(ignore_version=False)
		employee.attendance_device_id = f"{self.user_id}-new"
		employee.save(ignore_version=False)
		frappe.db.commit()

		self.assertEqual(self.cursor(shift), self.base + timedelta(minutes=10, seconds=-1))

	def test_a_punch_stored_after_its_id_was_changed_holds_the_shift_of_who_held_it(self):
		"""The terminal was offline while HR gave the Employee an ID and then another one: the person's punch
		arrives afterwards, Unmapped, and no punch of the ID was ever checked in. The Employee held the ID
		before, so their Shift Type waits for it (a randomized history found it)."""
		device = self.make_device(None)
		shift = self.feeding(device, self.base + timedelta(hours=3))
		employee = frappe.get_doc("Employee", self.make_employee(None, default_shift=shift))
		employee.attendance_device_id = self.user_id
		employee.save(ignore_version=False)  # as a desk user saves it: with its Version
		employee.attendance_device_id = f"{self.user_id}-new"
		employee.save(ignore_version=False)
		frappe.db.commit()
		self.store(device, self.user_id, 10)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.statuses(device), [P.UNMAPPED])

		self.assertEqual(self.cursor(shift), self.base + timedelta(minutes=10, seconds=-1))

	def test_who_last_held_an_id_is_recorded_and_forgotten_with_the_employee(self):
		"""No change history is read on a run: the release is recorded when the Employee is saved (here without a
		Version, as tests save), the last release wins, and deleting the Employee forgets it."""
		device = self.make_device(None)
		shift = self.feeding(device, self.base + timedelta(hours=3))
		first = frappe.get_doc("Employee", self.make_employee(self.user_id, default_shift=shift))
		first.attendance_device_id = f"{self.user_id}-a"
		first.save()
		second = frappe.get_doc("Employee", self.make_employee(self.user_id, default_shift=shift))
		second.attendance_device_id = f"{self.user_id}-b"
		second.save()
		frappe.db.commit()
		self.assertFalse(frappe.db.exists("Version", {"ref_doctype": "Employee", "docname": second.name}))
		self.assertEqual(frappe.db.get_value(HOLDER, self.user_id, "employee"), second.name)
		self.store(device, self.user_id, 10)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.cursor(shift), self.base + timedelta(minutes=10, seconds=-1))
		frappe.delete_doc("Employee", second.name, ignore_permissions=True)
		self.employees.remove(second.name)
		self.assertFalse(frappe.db.exists(HOLDER, self.user_id))

	def test_the_patch_records_releases_from_the_change_history(self):
		employee = frappe.get_doc("Employee", self.make_employee(self.user_id))
		employee.attendance_device_id = f"{self.user_id}-new"
		employee.save(ignore_version=False)
		frappe.db.delete(HOLDER, {"employee": employee.name})
		record_device_user_id_holders.execute()
		self.assertEqual(frappe.db.get_value(HOLDER, self.user_id, "employee"), employee.name)
		self.assertFalse(frappe.db.exists(HOLDER, f"{self.user_id}-new"), "an ID held now is not released")

	def test_an_id_no_employee_ever_held_holds_nothing(self):
		device = self.make_device(None)
		shift = self.feeding(device, self.base + timedelta(hours=3))
		self.make_employee(f"{self.user_id}-other", default_shift=shift)
		self.store(device, self.user_id, 10)
		checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(self.statuses(device), [P.UNMAPPED])
		self.assertEqual(self.cursor(shift), self.base + timedelta(hours=3))
