"""Shift Type cursors: `last_sync_of_checkin` moves only as far as every device feeding the Shift Type has
delivered completely, and stays before the earliest unresolved punch of its employees."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import frappe
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import get_datetime

from attendance_sync.attendance_sync.checkins import employee_index
from attendance_sync.attendance_sync.common import DEVICE, PUNCH, QUERY_CHUNK, chunks, dt
from attendance_sync.attendance_sync.doctype.device_user_id_holder.device_user_id_holder import last_holders
from attendance_sync.logic import punches as P
from attendance_sync.logic import schedule


@dataclass(frozen=True)
class ShiftCursorPlan:
	"""Where a Shift Type's `last_sync_of_checkin` is, where it goes, and what holds it back."""

	current: datetime | None
	cursor: datetime | None
	hold: schedule.HeldCursor | None


def update_shift_type_cursors(device: str) -> dict[str, ShiftCursorPlan]:
	"""Move `last_sync_of_checkin` of the Shift Types this device feeds."""
	return update_shift_types(
		frappe.get_all(
			"Device Shift Type", filters={"parent": device, "parenttype": DEVICE}, pluck="shift_type"
		)
	)


def update_shift_types(shift_types: Iterable[str]) -> dict[str, ShiftCursorPlan]:
	"""Move each Shift Type's `last_sync_of_checkin` by the rules of schedule.shift_type_cursor."""
	plans = shift_cursor_plans(shift_types)
	for shift_type, plan in plans.items():
		if plan.cursor != plan.current:
			frappe.db.set_value(
				"Shift Type", shift_type, "last_sync_of_checkin", plan.cursor, update_modified=False
			)
	return plans


def shift_cursor_plans(shift_types: Iterable[str]) -> dict[str, ShiftCursorPlan]:
	"""Where each Shift Type's cursor may go: its feeding devices, and its employees' unresolved punches."""
	names = sorted({s for s in shift_types if s})
	if not names:
		return {}
	feeders: dict[str, set[str]] = {}
	for row in frappe.get_all(
		"Device Shift Type",
		filters={"shift_type": ["in", names], "parenttype": DEVICE},
		fields=["parent", "shift_type"],
	):
		feeders.setdefault(row.shift_type, set()).add(row.parent)
	devices = {
		d.name: schedule.FeedingDevice(
			name=d.name,
			enabled=bool(d.enabled),
			synced_up_to=dt(d.synced_up_to),
			released=bool(d.release_shift_types),
		)
		for d in frappe.get_all(
			DEVICE,
			filters={"name": ["in", sorted(set().union(*feeders.values())) or [""]]},
			fields=["name", "enabled", "synced_up_to", "release_shift_types"],
		)
	}
	unresolved = _unresolved_by_shift(names)
	currents = {
		r.name: dt(r.last_sync_of_checkin)
		for r in frappe.get_all(
			"Shift Type", filters={"name": ["in", names]}, fields=["name", "last_sync_of_checkin"]
		)
	}
	plans: dict[str, ShiftCursorPlan] = {}
	for shift_type in names:
		if shift_type not in currents:
			continue
		feeding = [devices[d] for d in sorted(feeders.get(shift_type, ())) if d in devices]
		current = currents[shift_type]
		held = unresolved.get(shift_type)
		plans[shift_type] = ShiftCursorPlan(
			current=current,
			cursor=schedule.shift_type_cursor(current, feeding, held),
			hold=schedule.held_cursor(shift_type, current, feeding, held),
		)
	return plans


def _unresolved_by_shift(shift_types: list[str]) -> dict[str, schedule.Unresolved]:
	"""The punches not yet check-ins of the employees on each Shift Type: they hold its cursor.

	A Failed punch names its employee; a Pending one is mapped by its Device User ID the way the check-in step
	maps it. An Unmapped punch belongs to the Employee that holds its Device User ID now (the next check-in step
	takes it up, `checkins.remap_unmapped`), else to the Employee its ID was last mapped to by an earlier punch,
	else to the Employee that last held the ID (Device User ID Holder: HR cleared or changed that Employee's
	ID, and the person still punches). Unmapped punches of an ID that no Employee ever held belong to nobody and hold
	nothing.
	"""
	punch = frappe.qb.DocType(PUNCH)
	rows = (
		frappe.qb.from_(punch)
		.select(
			punch.employee,
			punch.device_user_id,
			Min(punch.time).as_("earliest"),
			Count(punch.name).as_("punches"),
		)
		.where(punch.status.isin([P.PENDING, P.FAILED, P.UNMAPPED]))
		.groupby(punch.employee, punch.device_user_id)
		.run(as_dict=True)
	)
	if not rows:
		return {}
	ids = {i for r in rows if not r.employee and (i := P.normalize_device_user_id(r.device_user_id))}
	index = employee_index(ids)
	earlier = _last_mapped_employees(sorted(ids - set(index.by_device_id)))
	earlier |= last_holders(sorted(ids - set(index.by_device_id) - set(earlier)))
	per_employee: dict[str, list[tuple[datetime, int]]] = {}
	for r in rows:
		employee = r.employee
		if not employee:
			device_user_id = P.normalize_device_user_id(r.device_user_id)
			ref = index.lookup(device_user_id)
			employee = ref.name if ref else earlier.get(device_user_id or "")
		if employee:
			per_employee.setdefault(employee, []).append((get_datetime(r.earliest), int(r.punches)))
	if not per_employee:
		return {}
	employees = sorted(per_employee)
	memberships = [
		schedule.Membership(r.name, r.default_shift, None)
		for r in frappe.get_all(
			"Employee",
			filters={"name": ["in", employees], "default_shift": ["in", shift_types]},
			fields=["name", "default_shift"],
		)
	]
	memberships += [
		schedule.Membership(r.employee, r.shift_type, r.end_date)
		for r in frappe.get_all(
			"Shift Assignment",
			filters={
				"employee": ["in", employees],
				"shift_type": ["in", shift_types],
				"docstatus": 1,
				"status": "Active",
			},
			fields=["employee", "shift_type", "end_date"],
		)
	]
	return schedule.unresolved_by_shift(
		{
			employee: schedule.Unresolved(
				earliest=min(t for t, _n in found), punches=sum(n for _t, n in found)
			)
			for employee, found in per_employee.items()
		},
		memberships,
	)


def _last_mapped_employees(device_user_ids: list[str]) -> dict[str, str]:
	"""The Employee each device user ID's latest mapped punch went to, for IDs no Employee holds now."""
	punch = frappe.qb.DocType(PUNCH)
	found: dict[str, tuple[datetime, str]] = {}
	for chunk in chunks(device_user_ids, QUERY_CHUNK):
		for r in (
			frappe.qb.from_(punch)
			.select(punch.device_user_id, punch.employee, Max(punch.time).as_("latest"))
			.where(
				punch.device_user_id.isin(list(chunk)) & punch.employee.isnotnull() & (punch.employee != "")
			)
			.groupby(punch.device_user_id, punch.employee)
			.run(as_dict=True)
		):
			key = P.normalize_device_user_id(r.device_user_id)
			latest = get_datetime(r.latest)
			if key and (key not in found or latest > found[key][0]):
				found[key] = (latest, r.employee)
	return {key: employee for key, (_latest, employee) in found.items()}
