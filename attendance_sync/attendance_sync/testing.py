"""Fixtures for the app's bench tests (`bench --site SITE run-tests --app attendance_sync`).

The tests talk to the `attendance-sync simulate` binary over loopback; where it is not built they skip with
the reason. Jobs commit, so the fixtures made here are committed (all but users, see `make_user`) and removed
again by `cleanup`.
"""

import os
import subprocess
import sys
from datetime import datetime
from typing import Any

import frappe
from frappe.utils import add_days, get_datetime, now_datetime
from frappe.utils.password import delete_all_passwords_for
from hrms.tests.test_utils import before_tests as complete_setup_for_tests

from attendance_sync import _core
from attendance_sync.attendance_sync import common, terminal
from attendance_sync.logic import punches as P
from attendance_sync.logic.timezones import site_naive_to_aware
from attendance_sync.simulator import SimDevice, Simulator, find_binary

try:
	# Version 16: the runner classifies it as an integration test (and runs `before_tests`).
	from frappe.tests import IntegrationTestCase as BaseTestCase
except ImportError:
	from frappe.tests.utils import FrappeTestCase as BaseTestCase  # version 15

SIM_USER = "admin"
SIM_PASSWORD = "Sim-Pass-2024"


def before_tests() -> None:
	"""The `before_tests` hook: Employees need a Company and a Gender, which a site gets from its setup wizard.

	A site whose wizard never ran is set up once, the way `run-tests --app hrms` does it; a site that has a
	Company is left alone (HRMS's hook would also delete and rebuild its test holiday list on every run).
	"""
	if not frappe.db.a_row_exists("Company"):
		complete_setup_for_tests()


def punch_row(
	device: str, serial: int | None, user: str | None, time: datetime, key: str | None = None
) -> P.PunchRow:
	"""A Device Punch row as a search stores it (face, major 5): Pending when it names a device user ID."""
	event_key = key or (P.serial_event_key(serial, time) if serial is not None else f"t:{time}")
	return P.PunchRow(
		name=P.punch_name(device, event_key),
		device=device,
		serial_no=serial,
		event_key=event_key,
		device_user_id=user,
		name_on_device=None,
		card_no=None,
		time=time,
		device_time=time.isoformat(),
		log_type=None,
		verify_method="face",
		major=5,
		minor=75,
		status=P.PENDING if user else P.UNMAPPED,
		reason=None,
	)


class AttendanceSyncTestCase(BaseTestCase):
	def setUp(self) -> None:
		super().setUp()
		frappe.set_user("Administrator")
		self.devices: list[str] = []
		self.employees: list[str] = []
		self.users: list[str] = []
		self.shift_types: list[str] = []
		self.addCleanup(self.cleanup)
		# Check-ins go through HRMS validation: with geolocation tracking on, every punch of a device without
		# coordinates would fail, whatever the site was left with.
		self.set_single_value("HR Settings", "allow_geolocation_tracking", 0)

	def set_single_value(self, doctype: str, fieldname: str, value: Any) -> None:
		"""Set a Single's value for this test, committed, and restore (and commit) the previous one afterwards.

		The jobs under test commit, so a rollback at the end of the test would not undo the change.
		"""
		previous = frappe.db.get_single_value(doctype, fieldname)
		self.addCleanup(self._restore_single_value, doctype, fieldname, previous)
		frappe.db.set_single_value(doctype, fieldname, value)
		frappe.db.commit()

	def _restore_single_value(self, doctype: str, fieldname: str, value: Any) -> None:
		frappe.db.rollback()
		frappe.db.set_single_value(doctype, fieldname, value)
		frappe.db.commit()

	def start_simulator(
		self, devices: int = 1, *args: str, days: int = 2, events_per_day: int = 40
	) -> list[SimDevice]:
		if find_binary() is None:
			self.skipTest(
				"attendance-sync simulator binary not found (cargo build, or set ATTENDANCE_SYNC_BIN)"
			)
		sim = Simulator(
			devices=devices,
			args=[
				"--user",
				SIM_USER,
				"--password",
				SIM_PASSWORD,
				"--days",
				str(days),
				"--events-per-day",
				str(events_per_day),
				*args,
			],
		)
		sim.start()
		self.addCleanup(sim.stop)
		return sim.devices

	def make_device(self, sim_device: SimDevice | None = None, password: str = SIM_PASSWORD, **fields) -> str:
		name = f"_Test Device {frappe.generate_hash(length=8)}"
		doc = frappe.get_doc(
			{
				"doctype": common.DEVICE,
				"device_name": name,
				"device_ip": sim_device.host if sim_device else "127.0.0.1",
				"port": sim_device.port if sim_device else 9,
				"device_user": SIM_USER,
				"device_user_password": password,
				"use_https": int(bool(sim_device and sim_device.https)),
				"verify_tls": 0,
				"sync_start": add_days(now_datetime(), -30),
				**fields,
			}
		).insert(ignore_permissions=True)
		self.devices.append(doc.name)
		frappe.db.commit()
		return doc.name

	def make_shift_type(self, **fields: Any) -> str:
		"""A Shift Type (09:00-17:00 unless told), committed, and deleted with its cursor after the test."""
		name = f"_Test AS Shift {frappe.generate_hash(length=6)}"
		frappe.get_doc(
			{
				"doctype": "Shift Type",
				"__newname": name,
				"start_time": "09:00:00",
				"end_time": "17:00:00",
				**fields,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		self.shift_types.append(name)
		return name

	def make_employee(self, device_id: str | None, status: str = "Active", **fields: Any) -> str:
		company = frappe.defaults.get_global_default("company") or frappe.get_all("Company", pluck="name")[0]
		gender = frappe.get_all("Gender", pluck="name", limit=1)[0]
		doc = frappe.get_doc(
			{
				"doctype": "Employee",
				"first_name": f"_Test Attendance {device_id or frappe.generate_hash(length=6)}",
				"gender": gender,
				"date_of_birth": "1990-01-01",
				"date_of_joining": "2020-01-01",
				"company": company,
				"status": status,
				"attendance_device_id": device_id,
				**fields,
			}
		).insert(ignore_permissions=True)
		self.employees.append(doc.name)
		frappe.db.commit()
		return doc.name

	def make_user(self, *roles: str) -> str:
		"""A user holding only `roles`, for a test that commits nothing while it exists.

		It is never committed: the rollback in `cleanup` takes it away with everything inserting a User creates
		(Contact, Notification Settings, defaults, password), where deleting it would leave Deleted Documents.
		"""
		doc = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"attendance-sync-{frappe.generate_hash(length=8)}@example.com",
				"first_name": "_Test Attendance Sync",
				"send_welcome_email": 0,
				"roles": [{"role": role} for role in roles],
			}
		).insert(ignore_permissions=True)
		self.users.append(doc.name)
		return doc.name

	def device_user_ids(self, device: str) -> list[str]:
		"""The user IDs enrolled on a device, read through the core."""
		doc = frappe.get_doc(common.DEVICE, device)
		users = _core.device_users(terminal.core_device(doc, common.get_settings()))
		return sorted({P.normalize_device_user_id(u.employee_no) for u in users} - {None})

	def punching_user_ids(self, device: str) -> list[str]:
		"""The user IDs with punch events since the device's Sync Start (not every enrolled user punches)."""
		doc = frappe.get_doc(common.DEVICE, device)
		site_tz = common.site_time_zone()
		result = _core.fetch_events(
			terminal.core_device(doc, common.get_settings()),
			site_naive_to_aware(get_datetime(doc.sync_start), site_tz),
			site_naive_to_aware(now_datetime(), site_tz),
		)
		return sorted(
			{P.normalize_device_user_id(e.employee_no) for e in result.events if e.is_punch} - {None}
		)

	def checkins(self, device: str) -> list[tuple[str, object]]:
		return frappe.get_all(
			"Employee Checkin", filters={"device_id": device}, fields=["employee", "time"], as_list=True
		)

	def cleanup(self) -> None:
		frappe.set_user("Administrator")
		frappe.db.rollback()
		for device in self.devices:
			frappe.db.delete("Employee Checkin", {"device_id": device})
			frappe.db.delete(common.PUNCH, {"device": device})
			frappe.db.delete(common.LOG, {"device": device})
			frappe.db.delete("Device Shift Type", {"parent": device})
			frappe.db.delete("Device Reader Direction", {"parent": device})
			frappe.db.delete("Error Log", {"reference_doctype": common.DEVICE, "reference_name": device})
			frappe.db.delete("Notification Log", {"document_type": common.DEVICE, "document_name": device})
			frappe.db.delete(common.DEVICE, {"name": device})
			delete_all_passwords_for(common.DEVICE, device)
		for employee in self.employees:
			frappe.db.delete("Employee Checkin", {"employee": employee})
			frappe.db.delete(common.PUNCH, {"employee": employee})
			frappe.db.delete("Device User ID Holder", {"employee": employee})
			frappe.db.delete("Employee", {"name": employee})
		for shift_type in self.shift_types:
			frappe.db.delete("Shift Type", {"name": shift_type})
			frappe.clear_document_cache("Shift Type", shift_type)
		for user in self.users:
			# The user was rolled back above; its roles may still be cached.
			frappe.clear_cache(user=user)
		frappe.db.commit()

	def punches(self, device: str, **filters: Any) -> list[Any]:
		return frappe.get_all(
			common.PUNCH,
			filters={"device": device, **filters},
			fields=["name", "serial_no", "event_key", "time", "device_time", "status", "reason", "employee"],
			order_by="time asc, name asc",
		)

	def assert_checkins_exactly_once(self, device: str) -> int:
		"""Every Checked In punch of the device has its check-in, and no employee has two in one second."""
		checkins = self.checkins(device)
		keys = [(e, get_datetime(t).replace(microsecond=0)) for e, t in checkins]
		self.assertEqual(len(keys), len(set(keys)), "a check-in was created twice")
		self.assertEqual(
			len(checkins), frappe.db.count(common.PUNCH, {"device": device, "status": P.CHECKED_IN})
		)
		return len(checkins)

	def run_worker(self, queue: str = "long", timeout: float = 300) -> subprocess.CompletedProcess[str]:
		"""Run a real `bench worker --queue QUEUE --burst` until the queue is empty.

		A subprocess like a production worker, not the inline path the tests use elsewhere: jobs run with the
		test flag off (`common.in_test()`), so what they enqueue goes to Redis too (CI is unset, or the worker
		would turn it on). Tests run a queued Reprocess this way: it is never run inline.
		"""
		env = {k: v for k, v in os.environ.items() if k != "CI"}
		done = subprocess.run(
			[
				sys.executable,
				"-m",
				"frappe.utils.bench_helper",
				"frappe",
				"worker",
				"--queue",
				queue,
				"--burst",
			],
			cwd=os.path.abspath(frappe.local.sites_path),
			env=env,
			capture_output=True,
			text=True,
			timeout=timeout,
			check=False,
		)
		self.assertEqual(done.returncode, 0, done.stderr[-4000:])
		return done
