"""Fixtures for the app's bench tests (`bench --site SITE run-tests --app attendance_sync`).

The tests talk to the `attendance-sync simulate` binary over loopback; where it is not built they skip with
the reason. Jobs commit, so every fixture made here is committed and removed again by `cleanup`.
"""

import frappe
from frappe.utils import add_days, now_datetime

from attendance_sync.attendance_sync import sync
from attendance_sync.simulator import SimDevice, Simulator, find_binary

try:
	from frappe.tests.utils import FrappeTestCase as BaseTestCase  # v15
except ImportError:
	from frappe.tests import IntegrationTestCase as BaseTestCase  # v16

SIM_USER = "admin"
SIM_PASSWORD = "Sim-Pass-2024"


class AttendanceSyncTestCase(BaseTestCase):
	def setUp(self) -> None:
		super().setUp()
		frappe.set_user("Administrator")
		self.devices: list[str] = []
		self.employees: list[str] = []
		self.addCleanup(self.cleanup)

	def start_simulator(self, devices: int = 1, *args: str) -> list[SimDevice]:
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
				"2",
				"--events-per-day",
				"40",
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
				"doctype": sync.DEVICE,
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

	def make_employee(self, device_id: str | None, status: str = "Active") -> str:
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
			}
		).insert(ignore_permissions=True)
		self.employees.append(doc.name)
		frappe.db.commit()
		return doc.name

	def device_user_ids(self, device: str) -> list[str]:
		"""The user IDs enrolled on a device, read through the core."""
		doc = frappe.get_doc(sync.DEVICE, device)
		users = sync._core().device_users(sync.core_device(doc, sync.get_settings()))
		return sorted({u.employee_no.strip() for u in users if u.employee_no and u.employee_no.strip()})

	def checkins(self, device: str) -> list[tuple[str, object]]:
		return frappe.get_all(
			"Employee Checkin", filters={"device_id": device}, fields=["employee", "time"], as_list=True
		)

	def cleanup(self) -> None:
		frappe.set_user("Administrator")
		frappe.db.rollback()
		for device in self.devices:
			frappe.db.delete("Employee Checkin", {"device_id": device})
			frappe.db.delete(sync.PUNCH, {"device": device})
			frappe.db.delete(sync.LOG, {"device": device})
			frappe.db.delete("Device Shift Type", {"parent": device})
			frappe.db.delete(sync.DEVICE, {"name": device})
		for employee in self.employees:
			frappe.db.delete("Employee Checkin", {"employee": employee})
			frappe.db.delete(sync.PUNCH, {"employee": employee})
			frappe.db.delete("Employee", {"name": employee})
		frappe.db.commit()
