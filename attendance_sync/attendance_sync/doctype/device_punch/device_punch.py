# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import json
import time
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.query_builder import Order
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import escape_html, now_datetime

from attendance_sync.attendance_sync import common
from attendance_sync.attendance_sync.checkin_locks import locks_timed_out, user_lock
from attendance_sync.attendance_sync.checkins import CHECKIN_LOCK_WAIT, process_pending, set_pending
from attendance_sync.attendance_sync.common import (
	DEVICE,
	JOB_TIMEOUT,
	LOG,
	MANAGER,
	PUNCH,
	QUERY_CHUNK,
	READERS,
	chunks,
	committed_despite_deadlocks,
	get_settings,
	insert_rows,
	only_for,
	throw,
)
from attendance_sync.attendance_sync.cursors import update_shift_types
from attendance_sync.attendance_sync.doctype.attendance_sync_log.attendance_sync_log import (
	REPROCESS,
	finish_log,
	open_work,
	start_log,
)
from attendance_sync.attendance_sync.locks import advisory_locks
from attendance_sync.attendance_sync.maintenance import refresh_health
from attendance_sync.attendance_sync.realtime import DONE_EVENT, Progress
from attendance_sync.logic import errors, schedule
from attendance_sync.logic import punches as P

# The Employees a device user ID can be mapped to (the statuses ERPNext's own Employee search offers).
MAPPABLE_STATUSES = ("Active", "Suspended")


class DevicePunch(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		card_no: DF.Data | None
		device: DF.Link
		device_time: DF.Data | None
		device_user_id: DF.Data | None
		employee: DF.Link | None
		employee_checkin: DF.Link | None
		event_key: DF.Data | None
		log_type: DF.Literal["", "IN", "OUT"]
		major: DF.Int
		minor: DF.Int
		name_on_device: DF.Data | None
		reason: DF.SmallText | None
		status: DF.Literal[
			"Pending", "Checked In", "Duplicate", "Unmapped", "Inactive Employee", "Failed", "Unreadable"
		]
		sync_log: DF.Link | None
		time: DF.Datetime | None
		verify_method: DF.Data | None
	# end: auto-generated types

	# Rows are written in bulk by the device job and the push endpoint (`store_punches`).
	pass


def on_doctype_update() -> None:
	# One row per device event: re-fetching the same events inserts nothing (INSERT IGNORE on this key). The key
	# is the event's identity (serial and wall-clock time), not its serial alone: a terminal whose counter
	# restarted numbers new events 1, 2, ... again.
	frappe.db.add_unique("Device Punch", ["device", "event_key"], constraint_name="unique_device_event_key")
	frappe.db.add_index("Device Punch", ["device", "serial_no"])
	frappe.db.add_index("Device Punch", ["device", "status"])
	frappe.db.add_index("Device Punch", ["status", "time"])


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


def store_punches(rows: list[P.PunchRow], log_name: str | None) -> list[P.PunchRow]:
	"""Insert the rows not stored yet, in multi-row INSERT IGNOREs, and commit; returns the new ones.

	What the caller wrote before is committed first: two devices' stores meet in the Device Punch indexes (more so
	where rows of the same names were just deleted) and the database may pick one as a deadlock victim, whose
	whole transaction it rolls back; the store is then tried again on its own."""
	frappe.db.commit()
	return committed_despite_deadlocks(lambda: _insert_new_punches(rows, log_name))


def _insert_new_punches(rows: list[P.PunchRow], log_name: str | None) -> list[P.PunchRow]:
	existing: set[str] = set()
	names = [r.name for r in rows]
	for chunk in chunks(names, QUERY_CHUNK):
		existing.update(frappe.get_all(PUNCH, filters={"name": ["in", chunk]}, pluck="name"))
	new = [r for r in rows if r.name not in existing]
	if not new:
		return []
	now = now_datetime()
	user = frappe.session.user
	fields = [*P.PunchRow.FIELDS, "sync_log", "creation", "modified", "owner", "modified_by", "docstatus"]
	# In name order: two stores then take their locks on the primary key in one order.
	values = [(*r.values(), log_name, now, now, user, user, 0) for r in sorted(new, key=lambda r: r.name)]
	# The device lock already keeps two runs of a device apart; IGNORE makes a race with a pruned-and-refetched
	# row, or any other, harmless: the keys on name and (device, event_key) turn repeats away.
	insert_rows(PUNCH, fields, values, ignore_duplicates=True)
	return new


def reprocess(names: list[str] | None = None, device_user_id: str | None = None) -> dict[str, Any]:
	"""Send punches back to Pending and process them: selected rows, or the Unmapped ones of a device user ID."""
	if names:
		scope: dict[str, Any] = {"name": ["in", names]}
		reset = {**scope, "status": ["in", list(P.REPROCESSABLE_STATUSES)]}
	elif device_user_id:
		scope = {"device_user_id": P.normalize_device_user_id(device_user_id)}
		reset = {**scope, "status": P.UNMAPPED}
	else:
		return {"status": "Success", "checkins_created": 0}
	# A device ID's punches are reset under its check-in lock: a batch that decided them Unmapped before HR set
	# the ID has committed by then, and its decisions are reset with the rest.
	user_locks = [user_lock(scope["device_user_id"])] if device_user_id else []
	with advisory_locks(user_locks, CHECKIN_LOCK_WAIT) as acquired:
		if not acquired:
			locks_timed_out()
		frappe.db.commit()
		devices = sorted(set(frappe.get_all(PUNCH, filters=reset, pluck="device")))
		if not devices:
			return {"status": "Success", "checkins_created": 0}
		committed_despite_deadlocks(lambda: set_pending(reset))
	progress = Progress(devices[0] if len(devices) == 1 else None, frappe.session.user)
	log = start_log(devices[0] if len(devices) == 1 else None, REPROCESS)
	frappe.db.commit()
	started = time.monotonic()
	counts = P.SyncCounts()
	path: dict[str, str] = {}
	try:
		process_pending(
			scope,
			counts,
			get_settings(),
			on_progress=progress.checkins,
			on_path=lambda text: path.update(checkin_path=text),
		)
		# Resolved punches release the Shift Type cursors they held.
		held = update_shift_types(
			frappe.get_all(
				"Device Shift Type",
				filters={"parent": ["in", devices], "parenttype": DEVICE},
				pluck="shift_type",
			)
		)
		work = open_work(devices[0], held) if len(devices) == 1 else {}
		if len(devices) > 1:
			work["cursor_held_by"] = (
				"\n".join(schedule.hold_text(p.hold) for p in held.values() if p.hold) or None
			)
		finish_log(log, counts, counts.status, started, **work, **path)
		frappe.db.commit()
		for device in devices:
			refresh_health(device)
		frappe.db.commit()
	except Exception as e:
		frappe.db.rollback()
		frappe.clear_messages()
		report = errors.describe_error(e)
		finish_log(frappe.get_doc(LOG, log.name), counts, "Failed", started, error=report.text(), **path)
		frappe.log_error(title=_("Attendance Sync: reprocessing failed"), message=frappe.get_traceback())
		frappe.db.commit()
	result = {
		"status": frappe.db.get_value(LOG, log.name, "status"),
		"log": log.name,
		"trigger": REPROCESS,
		**counts.as_dict(),
	}
	progress.publish(DONE_EVENT, result)
	return result


def enqueue_reprocess(names: list[str] | None = None, device_user_id: str | None = None) -> None:
	"""Queue a Reprocess, after the commit; never run inline, even in tests: the Employee hook calls this, and a
	Reprocess commits per batch, which Frappe 16 ignores inside a doc_events handler (tests run the queued job
	with `AttendanceSyncTestCase.run_worker`)."""
	key = device_user_id if device_user_id else frappe.generate_hash(length=10)
	frappe.enqueue(
		"attendance_sync.attendance_sync.doctype.device_punch.device_punch.reprocess",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=f"attendance_sync::reprocess::{key}",
		deduplicate=True,
		enqueue_after_commit=True,
		names=names,
		device_user_id=device_user_id,
	)


@frappe.whitelist(methods=["POST"])
def reprocess_punches(names: str | list[str]) -> dict[str, Any]:
	"""Reprocess selected Device Punches that did not become check-ins."""
	only_for(MANAGER)
	if isinstance(names, str):
		names = json.loads(names)
	if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
		frappe.throw(_("Select the punches to reprocess"))
	eligible = frappe.get_all(
		common.PUNCH,
		filters={"name": ["in", names], "status": ["in", list(P.REPROCESSABLE_STATUSES)]},
		pluck="name",
	)
	if eligible:
		enqueue_reprocess(names=eligible)
	return {"queued": len(eligible), "ignored": len(names) - len(eligible)}


@frappe.whitelist()
def unmapped_device_users() -> list[dict[str, Any]]:
	"""Unmapped punches grouped by device user ID and name on device, most punches first."""
	only_for(READERS)
	punch = frappe.qb.DocType(common.PUNCH)
	punches = Count(punch.name).as_("punches")
	return (
		frappe.qb.from_(punch)
		.select(
			punch.device_user_id,
			punch.name_on_device,
			punches,
			Min(punch.time).as_("first_seen"),
			Max(punch.time).as_("last_seen"),
		)
		.where(punch.status == P.UNMAPPED)
		.groupby(punch.device_user_id, punch.name_on_device)
		.orderby(Count(punch.name), order=Order.desc)
		.limit(500)
		.run(as_dict=True)
	)


@frappe.whitelist()
def unmapped_users(filters: Any = None) -> dict[str, Any]:
	"""The Unmapped Device Users number card: the device user IDs with punches no Employee holds; a click opens
	those punches."""
	only_for(READERS)
	punch = frappe.qb.DocType(common.PUNCH)
	count = Count(punch.device_user_id).distinct().as_("users")
	rows = frappe.qb.from_(punch).select(count).where(punch.status == P.UNMAPPED).run(as_dict=True)
	return {
		"value": rows[0].users if rows else 0,
		"fieldtype": "Int",
		"route": ["List", common.PUNCH],
		"route_options": {"status": P.UNMAPPED},
	}
