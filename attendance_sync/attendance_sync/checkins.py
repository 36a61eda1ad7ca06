"""Pending Device Punches into Employee Checkins: the check-in step of a device job and of a Reprocess.

Batches are committed one at a time, each under advisory locks of its own device user IDs and Employees
(`checkin_lock_names`): jobs working on other people run in parallel, while two jobs never decide the same
punch, nor insert check-ins of one employee at the same time (two devices reporting one employee in one second
must not both insert). Which punches become check-ins is decided by the rules in `attendance_sync.logic.punches`.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

import frappe
from frappe import _
from frappe.utils import get_datetime, strip_html

from attendance_sync import _core
from attendance_sync.attendance_sync import bulk as bulk_insert
from attendance_sync.attendance_sync import bulk_names, bulk_support
from attendance_sync.attendance_sync.checkin_locks import checkin_lock_names, lock_barrier, locks_timed_out
from attendance_sync.attendance_sync.common import (
	DEVICE,
	PUNCH,
	QUERY_CHUNK,
	chunks,
	committed_despite_deadlocks,
)
from attendance_sync.attendance_sync.locks import advisory_locks
from attendance_sync.attendance_sync.terminal import log_types_again
from attendance_sync.logic import checkin_plan as CP
from attendance_sync.logic import punches as P
from attendance_sync.logic.settings import SyncSettings

BATCH_SIZE = 500
# A bulk batch costs a few reads and statements whatever its size: larger batches spread them over more rows.
BULK_BATCH_SIZE = 5000
RECORD_CHUNK = 500
# How long a batch waits for other jobs' check-in batches of the same people to commit.
CHECKIN_LOCK_WAIT = 600
CHECKIN_SAVEPOINT = "attendance_sync_checkin"
PUNCH_FIELDS = ["name", "device", "device_user_id", "time", "log_type"]


def process_pending(
	filters: dict[str, Any],
	counts: P.SyncCounts,
	settings: SyncSettings,
	*,
	on_progress: Callable[[int, int], None] | None = None,
	batch_size: int | None = None,
	max_batches: int | None = None,
	bulk: bool | None = False,
	on_path: Callable[[str], None] | None = None,
) -> P.SyncCounts:
	"""Turn the Pending punches matching `filters` into check-ins, one committed batch at a time.

	`bulk`: True, insert the check-ins with `bulk.Checkins` (the same rows, in multi-row statements); None (a
	device run), when there are more Pending punches than Settings' Bulk Insert Above; False, one by one. A site
	where something reacts to new Employee Checkins (`bulk_support.unsupported_reason`) inserts one by one whatever was
	asked. `on_path(text)` is told once which path the run takes and why (the Sync Log's Check-in Path).

	`on_progress(done, total)` is told after each batch. A batch takes the locks of its device user IDs and
	Employees (`checkin_lock_names`), then reads its punches again (those still Pending) and the existing
	check-ins, so two jobs never decide on the same punch or miss each other's check-ins.
	"""
	remap_unmapped(filters)
	pending = {**filters, "status": P.PENDING}
	total = frappe.db.count(PUNCH, pending)
	in_bulk, path = _checkin_path(total, settings, bulk)
	if on_path is not None:
		on_path(path)
	batch_size = batch_size or (BULK_BATCH_SIZE if in_bulk else BATCH_SIZE)
	done = batches = 0
	while max_batches is None or batches < max_batches:
		# End the transaction: the reads below must see what other jobs committed.
		frappe.db.commit()
		candidates = _pending_rows(pending, batch_size)
		if not candidates:
			break
		locked = checkin_lock_names(candidates, employee_index(r.device_user_id for r in candidates))
		with advisory_locks(locked, CHECKIN_LOCK_WAIT) as acquired:
			if not acquired:
				locks_timed_out()
			lock_barrier()
			# A new transaction: what another job committed while we waited for its locks is seen from here on.
			frappe.db.commit()
			# Still Pending: a job that held these locks before (a Reprocess spans devices) may have decided some.
			rows = _pending_rows({"name": ["in", [r.name for r in candidates]], "status": P.PENDING})
			if not rows:
				continue
			# The Employees as committed now, under the device user IDs' locks: an ID that HR set while the batch
			# waited maps its punches here. Mapped to an Employee whose lock the batch does not hold, the batch
			# starts again and takes it.
			employees = employee_index(r.device_user_id for r in rows)
			if not set(checkin_lock_names(rows, employees)) <= set(locked):
				continue
			# Counted once committed: a batch that fails is rolled back, and the log must not count it.
			batch = P.SyncCounts()
			_process_batch(rows, batch, settings, employees, in_bulk=in_bulk)
			frappe.db.commit()
			counts.merge(batch)
		done += len(rows)
		batches += 1
		if on_progress is not None:
			on_progress(done, max(total, done))
	return counts


def _checkin_path(pending: int, settings: SyncSettings, bulk: bool | None) -> tuple[bool, str]:
	"""Whether the run inserts in bulk, and the Sync Log's words for the path and why."""
	if bulk:
		why = _("asked for this run (Fetch Check-in's Bulk insert)")
	elif bulk is None and settings.bulk_for(pending):
		why = _("{0} Pending punches, above Bulk Insert Above ({1})").format(
			pending, settings.bulk_insert_above
		)
	elif bulk is None:
		why = (
			_("{0} Pending punches, not above Bulk Insert Above ({1})").format(
				pending, settings.bulk_insert_above
			)
			if settings.bulk_insert_above
			else _("Bulk Insert Above is 0 (never)")
		)
		return False, _("One by one: {0}").format(why)
	else:
		return False, _(
			"One by one: Bulk Insert Above applies to device runs only, and bulk was not asked for"
		)
	declined = bulk_support.unsupported_reason()
	if declined:
		return False, _("One by one: bulk insert ({0}) declined: {1}").format(why, declined)
	return True, _("Bulk insert: {0}").format(why)


def remap_unmapped(filters: dict[str, Any]) -> int:
	"""Send the Unmapped punches matching `filters` whose device user ID an Employee now holds back to Pending;
	how many. The Employee hook queues a Reprocess for a new ID, but that job may die (a worker killed, a
	deadlock), or decide before the ID was committed: every check-in step first takes up what it left."""
	unmapped = {**filters, "status": P.UNMAPPED}
	ids = frappe.get_all(PUNCH, filters=unmapped, pluck="device_user_id", distinct=True)
	mapped = sorted(employee_index(ids).by_device_id)
	if not mapped:
		return 0
	names = frappe.get_all(PUNCH, filters={**unmapped, "device_user_id": ["in", mapped]}, pluck="name")
	for chunk in chunks(names, QUERY_CHUNK):
		committed_despite_deadlocks(partial(set_pending, {"name": ["in", list(chunk)]}))
	return len(names)


def set_pending(filters: dict[str, Any]) -> None:
	"""Send the punches matching `filters` back to Pending, each Log Type worked out again under its device's
	Punch Direction of now (`terminal.log_types_again`); never a punch that became a check-in meanwhile."""
	not_checked_in = {**filters, "status": ["in", list(P.REPROCESSABLE_STATUSES)]}
	for log_type, names in log_types_again(not_checked_in).items():
		for chunk in chunks(names, QUERY_CHUNK):
			frappe.db.set_value(
				PUNCH, {**not_checked_in, "name": ["in", chunk]}, "log_type", log_type, update_modified=False
			)
	frappe.db.set_value(PUNCH, filters, {"status": P.PENDING, "reason": None}, update_modified=False)


def _pending_rows(filters: dict[str, Any], limit: int | None = None) -> list[Any]:
	return frappe.get_all(
		PUNCH, filters=filters, fields=PUNCH_FIELDS, order_by="time asc, name asc", limit=limit
	)


def _process_batch(
	rows: list[Any],
	counts: P.SyncCounts,
	settings: SyncSettings,
	employees: CP.EmployeeIndex,
	*,
	in_bulk: bool = False,
) -> None:
	"""Decide and insert one batch, under its locks: `employees` covers every device user ID of `rows`."""
	batch = [
		CP.PendingPunch(
			name=r.name,
			device=r.device,
			device_user_id=P.normalize_device_user_id(r.device_user_id),
			time=get_datetime(r.time),
			log_type=r.log_type or None,
		)
		for r in rows
	]
	existing = _existing_checkins(batch, employees, settings.double_punch_seconds)
	# The duplicate rule is the core's (`_core.dedup`), decided for the whole batch and again after a failure.
	plan = CP.CheckinPlan(batch, employees, existing, settings.double_punch_seconds, _core.dedup)
	geo = _device_geo({p.device for p in batch})
	if in_bulk:
		_bulk_batch(plan, geo, counts)
		return
	decided: list[tuple[CP.Decision, str | None]] = []
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
				if isinstance(e, bulk_names.NameTaken):
					# The rollback gave the taken number back to the series: every later insert would meet it.
					bulk_names.skip_taken_number(e.doc)
				decision = plan.failed(punch, _checkin_failure_reason(decision.employee, e))
			else:
				frappe.db.release_savepoint(CHECKIN_SAVEPOINT)
		decided.append(_record(punch, decision, checkin))
		counts.add(decision.status)
	record_decisions(decided)


def _bulk_batch(
	plan: CP.CheckinPlan, geo: dict[str, tuple[float | None, float | None]], counts: P.SyncCounts
) -> None:
	"""The batch's check-ins through `bulk.Checkins`, with the outcome of the one-by-one loop: each planned row
	is prepared once; a failure fails its punch and the plan decides the punches after it again, as the loop
	does (the rows are independent: the plan never puts two check-ins of one employee in one second); then the
	check-ins that stand are written in one step (or, when a row clashes with a stored one, one at a time) and
	the decisions recorded as the loop records them."""

	def planned(punch: CP.PendingPunch, employee: str, time: datetime, log_type: str | None):
		latitude, longitude = geo.get(punch.device, (None, None))
		return bulk_insert.PlannedCheckin(employee, time, log_type, punch.device, latitude, longitude)

	def row(punch: CP.PendingPunch, decision: CP.Decision):
		# A decision that creates a check-in names its employee and its time.
		assert decision.employee is not None and decision.time is not None
		return planned(punch, decision.employee, decision.time, decision.log_type)

	checkins = bulk_insert.Checkins(
		[planned(p, d.employee, p.time.replace(microsecond=0), p.log_type) for p, d in plan if d.employee]
	)
	prepared: dict[str, Any] = {}
	# One pass: a punch's decision is made when it is reached, so those after a failure already stand without it.
	for punch, decision in plan:
		if not decision.creates_checkin:
			continue
		doc = checkins.prepare(row(punch, decision))
		if isinstance(doc, Exception):
			plan.failed(punch, _checkin_failure_reason(decision.employee, doc))
		else:
			prepared[punch.name] = doc
	chosen = [(punch.name, prepared[punch.name]) for punch, d in plan if d.creates_checkin]
	try:
		names = dict(zip([p for p, _doc in chosen], checkins.write([doc for _p, doc in chosen]), strict=True))
	except bulk_insert.WriteClash:
		# A row clashed with a stored one (a name the series gives is taken): nothing was written. The rows go one
		# at a time, so only that punch fails, and the plan decides the punches after it again, as the loop does.
		names = {}
		for punch, decision in plan:
			if not decision.creates_checkin:
				continue
			doc = prepared[punch.name] if punch.name in prepared else checkins.prepare(row(punch, decision))
			result = doc if isinstance(doc, Exception) else checkins.write_one(doc)
			if isinstance(result, Exception):
				plan.failed(punch, _checkin_failure_reason(decision.employee, result))
			else:
				names[punch.name] = result
	decided = []
	for punch, decision in plan:
		decided.append(_record(punch, decision, names.get(punch.name)))
		counts.add(decision.status)
	record_decisions(decided)


def _record(
	punch: CP.PendingPunch, decision: CP.Decision, checkin: str | None
) -> tuple[CP.Decision, str | None]:
	"""What the batch's one UPDATE (`record_decisions`) writes on the punch's Device Punch."""
	return decision, checkin


def _existing_checkins(
	batch: list[CP.PendingPunch], employees: CP.EmployeeIndex, double_punch_seconds: int
) -> list[tuple[str, datetime]]:
	"""The check-ins of the batch's Employees that its punches can collide with, in one query."""
	bounds = CP.existing_checkin_bounds(batch, double_punch_seconds)
	mapped = sorted({e.name for p in batch if (e := employees.lookup(p.device_user_id)) is not None})
	if not mapped or not bounds:
		return []
	return [
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


def record_decisions(decided: list[tuple[CP.Decision, str | None]]) -> None:
	"""Write the decisions on their Device Punches: one UPDATE per RECORD_CHUNK punches (a CASE per column), not
	one per punch. Plain SQL that MariaDB and Postgres both take; `modified` is left alone, as before."""
	columns = {
		"status": lambda d, c: d.status,
		"reason": lambda d, c: d.reason,
		"employee": lambda d, c: d.employee,
		"employee_checkin": lambda d, c: c,
	}
	# Each row's CASE is searched from the top: a statement costs the square of its punches.
	for chunk in chunks(decided, RECORD_CHUNK):
		sets, values = [], []
		for column, value_of in columns.items():
			sets.append(f"`{column}` = case `name`" + " when %s then %s" * len(chunk) + " end")
			for decision, checkin in chunk:
				values += [decision.punch, value_of(decision, checkin)]
		names = [d.punch for d, _c in chunk]
		values += names
		frappe.db.sql(
			f"update `tab{PUNCH}` set {', '.join(sets)} where `name` in ({', '.join(['%s'] * len(names))})",
			values,
		)


def _insert_checkin(decision: CP.Decision, device: str, geo: tuple[float | None, float | None]) -> str:
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
	try:
		checkin.insert(ignore_permissions=True)
	except frappe.DuplicateEntryError as e:
		# Its name is taken by a stored check-in (unique values raise UniqueValidationError).
		raise bulk_names.NameTaken(checkin) from e
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
	return CP.checkin_failure_reason(
		employee,
		type(exc).__name__,
		strip_html(str(exc)),
		validation=validation,
		missing_shift_types=[] if validation or not employee else _missing_shift_types(employee),
	)


def employee_index(device_user_ids: Iterable[str | None]) -> CP.EmployeeIndex:
	"""The Employees holding these Attendance Device IDs, read in one query."""
	ids = sorted({i for i in device_user_ids if i})
	if not ids:
		return CP.employee_index([])
	return CP.employee_index(
		frappe.get_all(
			"Employee",
			filters={"attendance_device_id": ["in", ids]},
			fields=["attendance_device_id", "name", "status"],
			as_list=True,
		)
	)
