"""Pending Device Punches into Employee Checkins: the check-in step of a device job and of a Reprocess.

Batches are committed one at a time under a site-wide lock (two devices reporting one employee in one second
must not both insert). Which punches become check-ins is decided by the rules in `attendance_sync.logic.punches`.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import frappe
from frappe import _
from frappe.utils import get_datetime, strip_html

from attendance_sync.attendance_sync.common import DEVICE, PUNCH, load_core
from attendance_sync.attendance_sync.locks import advisory_lock
from attendance_sync.logic import punches as P
from attendance_sync.logic.settings import SyncSettings

BATCH_SIZE = 500
# How long a batch waits for another job's check-in batch to commit.
CHECKIN_LOCK_WAIT = 600
CHECKIN_LOCK = "attendance_sync:checkins"
CHECKIN_SAVEPOINT = "attendance_sync_checkin"


def process_pending(
	filters: dict[str, Any],
	counts: P.SyncCounts,
	settings: SyncSettings,
	*,
	on_progress: Callable[[int, int], None] | None = None,
	batch_size: int | None = None,
	max_batches: int | None = None,
) -> P.SyncCounts:
	"""Turn the Pending punches matching `filters` into check-ins, one committed batch at a time.

	`on_progress(done, total)` is told after each batch. Each batch runs under the site-wide check-in lock and reads its punches and the existing check-ins after
	taking it, so two jobs never decide on the same punch or miss each other's check-ins.
	"""
	pending = {**filters, "status": P.PENDING}
	batch_size = batch_size or BATCH_SIZE
	total = frappe.db.count(PUNCH, pending)
	done = batches = 0
	while max_batches is None or batches < max_batches:
		# End the transaction: the reads below must see what other jobs committed while we waited.
		frappe.db.commit()
		with advisory_lock(CHECKIN_LOCK, CHECKIN_LOCK_WAIT) as acquired:
			if not acquired:
				frappe.throw(_("Timed out waiting for another job's check-ins to commit"))
			rows = frappe.get_all(
				PUNCH,
				filters=pending,
				fields=["name", "device", "device_user_id", "time", "log_type"],
				order_by="time asc, name asc",
				limit=batch_size,
			)
			if not rows:
				break
			# Counted once committed: a batch that fails is rolled back, and the log must not count it.
			batch = P.SyncCounts()
			_process_batch(rows, batch, settings)
			frappe.db.commit()
			counts.merge(batch)
		done += len(rows)
		batches += 1
		if on_progress is not None:
			on_progress(done, max(total, done))
	return counts


def _process_batch(rows: list[dict[str, Any]], counts: P.SyncCounts, settings: SyncSettings) -> None:
	batch = [
		P.PendingPunch(
			name=r.name,
			device=r.device,
			device_user_id=P.normalize_device_user_id(r.device_user_id),
			time=get_datetime(r.time),
			log_type=r.log_type or None,
		)
		for r in rows
	]
	employees = employee_index(p.device_user_id for p in batch)
	existing: list[tuple[str, datetime]] = []
	bounds = P.existing_checkin_bounds(batch, settings.double_punch_seconds)
	mapped = sorted({e.name for e in employees.by_device_id.values()})
	if mapped and bounds:
		existing = [
			(employee, get_datetime(t))
			for employee, t in frappe.get_all(
				"Employee Checkin",
				filters=[
					["employee", "in", mapped],
					["time", ">=", bounds[0]],
					["time", "<=", bounds[1]],
				],
				fields=["employee", "time"],
				as_list=True,
			)
		]
	# The duplicate rule is the core's (`_core.dedup`), decided for the whole batch and again after a failure.
	plan = P.CheckinPlan(batch, employees, existing, settings.double_punch_seconds, load_core().dedup)
	geo = _device_geo({p.device for p in batch})
	for punch, decision in plan:
		checkin = None
		if decision.creates_checkin:
			# One savepoint per insert: whatever HRMS raises (a validation, or an AttributeError from an
			# Employee whose shift points at a deleted Shift Type) fails this punch only; the others go on.
			frappe.db.savepoint(CHECKIN_SAVEPOINT)
			try:
				checkin = _insert_checkin(decision, punch.device, geo.get(punch.device, (None, None)))
			except Exception as e:
				frappe.db.rollback(save_point=CHECKIN_SAVEPOINT)
				frappe.clear_messages()
				decision = plan.failed(punch, _checkin_failure_reason(decision.employee, e))
			else:
				frappe.db.release_savepoint(CHECKIN_SAVEPOINT)
		_record(punch, decision, checkin)
		counts.add(decision.status)


def _record(punch: P.PendingPunch, decision: P.Decision, checkin: str | None) -> None:
	"""Write the decision on its Device Punch."""
	frappe.db.set_value(
		PUNCH,
		punch.name,
		{
			"status": decision.status,
			"reason": decision.reason,
			"employee": decision.employee,
			"employee_checkin": checkin,
		},
		update_modified=False,
	)


def _insert_checkin(decision: P.Decision, device: str, geo: tuple[float | None, float | None]) -> str:
	checkin = frappe.get_doc(
		{
			"doctype": "Employee Checkin",
			"employee": decision.employee,
			"time": decision.time,
			"log_type": decision.log_type,
			"device_id": device,
			"latitude": geo[0],
			"longitude": geo[1],
		}
	)
	# The run was authorised by role when it was triggered; a System Manager need not hold HR permissions.
	checkin.insert(ignore_permissions=True)
	return checkin.name


def _device_geo(devices: Iterable[str]) -> dict[str, tuple[float | None, float | None]]:
	rows = frappe.get_all(
		DEVICE, filters={"name": ["in", list(devices)]}, fields=["name", "latitude", "longitude"]
	)
	return {r.name: (r.latitude or None, r.longitude or None) for r in rows}


def _missing_shift_types(employee: str) -> list[tuple[str, str]]:
	"""(where, Shift Type) of the employee's shift links that point at a Shift Type that does not exist."""
	missing = []
	default_shift = frappe.db.get_value("Employee", employee, "default_shift")
	if default_shift and not frappe.db.exists("Shift Type", default_shift):
		missing.append((_("Default Shift"), default_shift))
	for row in frappe.get_all(
		"Shift Assignment",
		filters={"employee": employee, "docstatus": 1, "status": "Active"},
		fields=["name", "shift_type"],
	):
		if row.shift_type and not frappe.db.exists("Shift Type", row.shift_type):
			missing.append((_("Shift Assignment {0}").format(row.name), row.shift_type))
	return missing


def _checkin_failure_reason(employee: str | None, exc: Exception) -> str:
	validation = isinstance(exc, frappe.ValidationError)
	return P.checkin_failure_reason(
		employee,
		type(exc).__name__,
		strip_html(str(exc)),
		validation=validation,
		missing_shift_types=[] if validation or not employee else _missing_shift_types(employee),
	)


def employee_index(device_user_ids: Iterable[str | None]) -> P.EmployeeIndex:
	"""The Employees holding these Attendance Device IDs, read in one query."""
	ids = sorted({i for i in device_user_ids if i})
	if not ids:
		return P.employee_index([])
	return P.employee_index(
		frappe.get_all(
			"Employee",
			filters={"attendance_device_id": ["in", ids]},
			fields=["attendance_device_id", "name", "status"],
			as_list=True,
		)
	)
