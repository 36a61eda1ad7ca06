# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from datetime import timedelta

from frappe.utils import now_datetime

from attendance_sync.attendance_sync import checkins, common
from attendance_sync.attendance_sync.doctype.device_punch import device_punch as DP
from attendance_sync.attendance_sync.doctype.device_punch import mapping
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row
from attendance_sync.logic import punches as P


class TestMapToEmployee(AttendanceSyncTestCase):
	"""Device Punch -> Map to Employee: the search, the preview its confirmation shows, and the method that sets
	the Attendance Device ID (it replaces an Employee's ID only when told which ID it replaces)."""

	def setUp(self):
		super().setUp()
		self.token = frappe.generate_hash(length=6)
		self.device = self.make_device(None)
		self.new_id = f"77{self.token}"
		self.base = now_datetime().replace(microsecond=0) - timedelta(days=1)
		# Three punches of a device user no Employee has: Unmapped.
		self.store(self.new_id, 1, 2, 3)
		self.assertEqual(
			frappe.db.count(common.PUNCH, {"device_user_id": self.new_id, "status": P.UNMAPPED}), 3
		)

	def store(self, device_user_id: str, *serials: int) -> None:
		"""Punches of `device_user_id` stored and processed, as a device run does."""
		rows = [punch_row(self.device, n, device_user_id, self.base + timedelta(minutes=n)) for n in serials]
		DP.store_punches(rows, None)
		checkins.process_pending({"device": self.device}, P.SyncCounts(), common.get_settings())
		frappe.db.commit()

	def employee(self, label: str, device_id: str | None, **fields) -> str:
		return self.make_employee(device_id, first_name=f"_Test Map {self.token} {label}", **fields)

	def device_id_of(self, employee: str) -> str | None:
		return frappe.db.get_value("Employee", employee, "attendance_device_id")

	def test_the_search_offers_employees_without_an_id_first(self):
		mapped = [self.employee(f"A{n}", f"66{self.token}{n}") for n in range(3)]
		unmapped = [self.employee(f"Z{n}", None) for n in range(2)]
		self.employee("Left", None, status="Left", relieving_date="2024-01-01")
		rows = mapping.employees_for_mapping("Employee", f"_Test Map {self.token}", "name", 0, 20, {})
		self.assertEqual([r[0] for r in rows], [*unmapped, *mapped])  # no Left Employee
		self.assertEqual(rows[0][2], "no Attendance Device ID")
		self.assertEqual(rows[2][2], f"Attendance Device ID 66{self.token}0")
		# Pages run on from the unmapped Employees into the mapped ones.
		page = mapping.employees_for_mapping("Employee", f"_Test Map {self.token}", "name", 1, 2, {})
		self.assertEqual([r[0] for r in page], [unmapped[1], mapped[0]])

	def test_an_employee_without_an_id_gets_it_and_its_punches_are_reprocessed(self):
		employee = self.employee("New", None)
		result = mapping.map_to_employee(self.new_id, employee)
		self.assertEqual(result["changed"], True)
		self.assertEqual(result["unmapped_punches"], 3)
		self.assertEqual(self.device_id_of(employee), self.new_id)
		frappe.db.commit()
		self.run_worker("long")
		frappe.db.rollback()  # a new transaction sees what the worker committed
		self.assertEqual(
			frappe.db.count(
				common.PUNCH, {"device": self.device, "status": P.CHECKED_IN, "employee": employee}
			),
			3,
		)

	def test_the_preview_names_the_punches_that_move_and_the_current_id(self):
		current = f"55{self.token}"
		employee = self.employee("Veteran", current)
		self.store(current, 100, 101)  # checked in as the Veteran's
		preview = mapping.mapping_preview(f" {self.new_id} ", employee)
		self.assertEqual(preview["device_user_id"], self.new_id)
		self.assertEqual(preview["current_id"], current)
		self.assertEqual(preview["unmapped_punches"], 3)
		self.assertEqual(preview["current_id_punches"], 2)
		self.assertIsNone(preview["held_by"])

	def test_an_existing_id_is_replaced_only_when_that_id_is_confirmed(self):
		current = f"55{self.token}"
		employee = self.employee("Veteran", current)
		with self.assertRaises(mapping.DeviceIdInUse):
			mapping.map_to_employee(self.new_id, employee)
		# A client that confirmed replacing another ID (the Employee changed since it looked) is refused too.
		with self.assertRaises(mapping.DeviceIdInUse):
			mapping.map_to_employee(self.new_id, employee, replace_id=f"44{self.token}")
		self.assertEqual(self.device_id_of(employee), current)
		result = mapping.map_to_employee(self.new_id, employee, replace_id=current)
		self.assertEqual((result["previous_id"], result["changed"]), (current, True))
		self.assertEqual(self.device_id_of(employee), self.new_id)

	def test_an_id_another_employee_holds_is_refused(self):
		holder = self.employee("Holder", self.new_id)
		employee = self.employee("Other", None)
		self.assertEqual(mapping.mapping_preview(self.new_id, employee)["held_by"], holder)
		with self.assertRaises(frappe.ValidationError):
			mapping.map_to_employee(self.new_id, employee)
		self.assertIsNone(self.device_id_of(employee))

	def test_the_same_id_again_changes_nothing(self):
		employee = self.employee("Same", self.new_id)
		self.assertEqual(mapping.map_to_employee(self.new_id, employee, replace_id=None)["changed"], False)

	def test_only_system_and_hr_managers_may_search_preview_or_map(self):
		employee = self.employee("Guarded", None)
		for roles in (("HR User",), ("Employee",)):
			frappe.set_user(self.make_user(*roles))
			with self.assertRaises(frappe.PermissionError):
				mapping.employees_for_mapping("Employee", "", "name", 0, 10, {})
			with self.assertRaises(frappe.PermissionError):
				mapping.mapping_preview(self.new_id, employee)
			with self.assertRaises(frappe.PermissionError):
				mapping.map_to_employee(self.new_id, employee)
			frappe.set_user("Administrator")
		self.assertIsNone(self.device_id_of(employee))
		frappe.set_user(self.make_user("HR Manager"))
		self.assertEqual(mapping.map_to_employee(self.new_id, employee)["changed"], True)
