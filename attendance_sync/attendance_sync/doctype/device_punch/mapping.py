"""Map to Employee on a Device Punch: the search that offers Employees without an Attendance Device ID first,
the preview of what mapping changes, and the mapping itself (confirmed before an Employee's ID is replaced)."""

from typing import Any

import frappe
from frappe import _
from frappe.utils import escape_html

from attendance_sync.attendance_sync import common
from attendance_sync.attendance_sync.common import READERS, only_for, throw
from attendance_sync.logic import punches as P

# The Employees a device user ID can be mapped to (the statuses ERPNext's own Employee search offers).
MAPPABLE_STATUSES = ("Active", "Suspended")


class DeviceIdInUse(frappe.ValidationError):
	"""The Employee already has another Attendance Device ID, and the caller did not confirm replacing it."""


@frappe.whitelist()
@frappe.validate_and_sanitize_search_inputs
def employees_for_mapping(
	doctype: str, txt: str, searchfield: str, start: int, page_len: int, filters: Any
) -> list[tuple[str, str, str]]:
	"""Map to Employee's search: Active and Suspended Employees, those without an Attendance Device ID first
	(the ones a device user is most likely to be), each described with its current ID."""
	only_for(READERS)
	like = f"%{txt}%"
	or_filters = (
		[["name", "like", like], ["employee_name", "like", like], ["attendance_device_id", "like", like]]
		if txt
		else None
	)
	wanted = start + page_len
	rows: list[Any] = []
	for id_filter in ("not set", "set"):
		if len(rows) >= wanted:
			break
		rows += frappe.get_list(
			"Employee",
			filters=[
				["status", "in", MAPPABLE_STATUSES],
				["attendance_device_id", "is", id_filter],
			],
			or_filters=or_filters,
			fields=["name", "employee_name", "attendance_device_id"],
			order_by="employee_name asc, name asc",
			limit_page_length=wanted - len(rows),
		)
	return [
		(
			row.name,
			row.employee_name,
			_("Attendance Device ID {0}").format(row.attendance_device_id)
			if row.attendance_device_id
			else _("no Attendance Device ID"),
		)
		for row in rows[start:wanted]
	]


def punch_count(device_user_id: str, **filters: Any) -> int:
	return frappe.db.count(common.PUNCH, {"device_user_id": device_user_id, **filters})


@frappe.whitelist()
def mapping_preview(device_user_id: str, employee: str) -> dict[str, Any]:
	"""What mapping `device_user_id` to `employee` changes: the Employee's current Attendance Device ID, the
	Unmapped punches of `device_user_id` that become its check-ins, the punches of the current ID matched to it
	so far, and the other Employee holding `device_user_id`, if one does (the ID is unique per Employee)."""
	only_for(READERS)
	new_id = _named_id(device_user_id)
	doc = frappe.get_doc("Employee", employee)
	doc.check_permission("read")
	current_id = P.normalize_device_user_id(doc.attendance_device_id)
	return {
		"employee": doc.name,
		"employee_name": doc.employee_name,
		"device_user_id": new_id,
		"current_id": current_id,
		"unmapped_punches": punch_count(new_id, status=P.UNMAPPED),
		"current_id_punches": punch_count(current_id, employee=doc.name) if current_id else 0,
		"held_by": holder_of(new_id, doc.name),
	}


def _named_id(device_user_id: str) -> str:
	"""The punch's device user ID, normalised; a punch without one cannot be mapped."""
	new_id = P.normalize_device_user_id(device_user_id)
	if not new_id:
		throw(_("The punch names no device user ID"), title=_("Map to Employee"))
	return new_id


def holder_of(device_user_id: str, other_than: str) -> str | None:
	return frappe.db.get_value(
		"Employee", {"attendance_device_id": device_user_id, "name": ["!=", other_than]}, "name"
	)


@frappe.whitelist(methods=["POST"])
def map_to_employee(device_user_id: str, employee: str, replace_id: str | None = None) -> dict[str, Any]:
	"""Make `device_user_id` the Attendance Device ID of `employee`; saving the Employee queues the Reprocess of
	that ID's Unmapped punches (employee.on_update).

	An Employee that has another ID keeps it unless `replace_id` is that ID: the caller confirmed replacing
	exactly the ID the Employee has now, so a client that showed an older state cannot replace one unseen.
	"""
	only_for(READERS)
	new_id = _named_id(device_user_id)
	doc = frappe.get_doc("Employee", employee)
	doc.check_permission("write")
	current_id = P.normalize_device_user_id(doc.attendance_device_id)
	result = {"employee": doc.name, "device_user_id": new_id, "previous_id": current_id}
	if current_id == new_id:
		return {**result, "changed": False, "unmapped_punches": 0}
	if holder := holder_of(new_id, doc.name):
		frappe.throw(
			_("Device user ID {0} is already the Attendance Device ID of Employee {1}").format(
				frappe.bold(escape_html(new_id)), frappe.bold(holder)
			),
			title=_("Map to Employee"),
		)
	if current_id and current_id != P.normalize_device_user_id(replace_id):
		frappe.throw(
			_(
				"Employee {0} has Attendance Device ID {1}; it is replaced only when that is confirmed. Open "
				"Map to Employee again to see what replacing it changes."
			).format(frappe.bold(doc.name), frappe.bold(escape_html(current_id))),
			DeviceIdInUse,
			title=_("Map to Employee"),
		)
	unmapped = punch_count(new_id, status=P.UNMAPPED)
	doc.attendance_device_id = new_id
	doc.save()
	return {**result, "changed": True, "unmapped_punches": unmapped}
