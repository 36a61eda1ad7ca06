# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class DevicePunch(Document):
	# Rows are written in bulk by the device job (attendance_sync.attendance_sync.jobs.store_punches).
	pass


def on_doctype_update() -> None:
	# One row per device event: re-fetching the same events inserts nothing (INSERT IGNORE on this key). The key
	# is the event's identity (serial and wall-clock time), not its serial alone: a terminal whose counter
	# restarted numbers new events 1, 2, ... again.
	frappe.db.add_unique("Device Punch", ["device", "event_key"], constraint_name="unique_device_event_key")
	frappe.db.add_index("Device Punch", ["device", "serial_no"])
	frappe.db.add_index("Device Punch", ["device", "status"])
	frappe.db.add_index("Device Punch", ["status", "time"])
