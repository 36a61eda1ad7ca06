"""Device User ID Holder rows for the IDs Employees released before the app recorded them: read once from the
Employees' change history (Version; ERPNext tracks Employee's changes), in order, the last release winning. The
Shift Type cursors then read the table instead of every Employee Version on each run."""

import json

import frappe

from attendance_sync.attendance_sync.doctype.device_user_id_holder.device_user_id_holder import HOLDER
from attendance_sync.logic import punches as P


def execute() -> None:
	version = frappe.qb.DocType("Version")
	released: dict[str, tuple[str, object]] = {}
	for row in (
		frappe.qb.from_(version)
		.select(version.docname, version.data, version.creation)
		.where((version.ref_doctype == "Employee") & version.data.like("%attendance_device_id%"))
		.orderby(version.creation)
		.run(as_dict=True)
	):
		try:
			changed = json.loads(row.data or "{}").get("changed") or []
		except ValueError:
			continue
		for change in changed:
			if len(change) == 3 and change[0] == "attendance_device_id":
				old, new = (P.normalize_device_user_id(v) for v in change[1:])
				if old and old != new:
					released[old] = (row.docname, row.creation)
	for device_user_id, (employee, at) in released.items():
		if frappe.db.exists("Employee", employee) and not frappe.db.exists(HOLDER, device_user_id):
			frappe.get_doc(
				{
					"doctype": HOLDER,
					"name": device_user_id,
					"device_user_id": device_user_id,
					"employee": employee,
					"released_at": at,
				}
			).db_insert()
