# Copyright (c) 2026, Attendance Sync contributors
# For license information, please see license.txt
"""Who last held each Attendance Device ID: written when an Employee's ID changes (`overrides/employee.py`), read
by the Shift Type cursors (`cursors.py`): punches of an ID HR changed or cleared still belong to that person."""

import frappe
from frappe.model.document import Document
from frappe.utils import now_datetime

from attendance_sync.attendance_sync.common import QUERY_CHUNK, chunks

HOLDER = "Device User ID Holder"


class DeviceUserIDHolder(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		device_user_id: DF.Data
		employee: DF.Link
		released_at: DF.Datetime | None
	# end: auto-generated types

	pass


def record_release(device_user_id: str, employee: str) -> None:
	"""`employee` no longer holds `device_user_id`; it is the last Employee that did."""
	if frappe.db.exists(HOLDER, device_user_id):
		frappe.db.set_value(
			HOLDER,
			device_user_id,
			{"employee": employee, "released_at": now_datetime()},
			update_modified=False,
		)
		return
	try:
		frappe.get_doc(
			{
				"doctype": HOLDER,
				"name": device_user_id,
				"device_user_id": device_user_id,
				"employee": employee,
				"released_at": now_datetime(),
			}
		).db_insert()
	except frappe.DuplicateEntryError:
		# Another Employee's save recorded the ID first: this release is the later one.
		frappe.db.set_value(
			HOLDER,
			device_user_id,
			{"employee": employee, "released_at": now_datetime()},
			update_modified=False,
		)


def last_holders(device_user_ids: list[str]) -> dict[str, str]:
	"""The Employee that last held each of `device_user_ids` and released it, for those that one did."""
	found: dict[str, str] = {}
	for chunk in chunks(device_user_ids, QUERY_CHUNK):
		found.update(
			frappe.get_all(
				HOLDER, filters={"name": ["in", list(chunk)]}, fields=["name", "employee"], as_list=True
			)
		)
	return found
