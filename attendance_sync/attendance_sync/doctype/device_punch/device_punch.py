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
from frappe.utils import now_datetime

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


class DevicePunch(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		card_no: DF.Data | None
		device: DF.Link
		device_log_type: DF.Literal["", "IN", "OUT"]
		device_time: DF.Data | None
		device_user_id: DF.Data | None
		door_no: DF.Int
		employee: DF.Link | None
		employee_checkin: DF.Link | None
		event_key: DF.Data | None
		log_type: DF.Literal["", "IN", "OUT"]
		major: DF.Int
		minor: DF.Int
		name_on_device: DF.Data | None
		reader_no: DF.Int
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
	# The workspace (issue 20, benches/workspace_load.py): its charts read a month of punches by time, per day and
	# per device, and Frappe's chart queries filter on docstatus as well; with all three in one index they read
	# the index alone. Unmapped Device Users counts the distinct IDs of the Unmapped punches from the index alone.
	frappe.db.add_index("Device Punch", ["time", "device", "docstatus"])
	frappe.db.add_index("Device Punch", ["status", "device_user_id"])


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
