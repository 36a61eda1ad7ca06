# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import time
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import now_datetime

from attendance_sync.attendance_sync.common import DEVICE, LOG, PUNCH, committed_despite_deadlocks, job_id
from attendance_sync.attendance_sync.cursors import ShiftCursorPlan
from attendance_sync.logic import punches as P
from attendance_sync.logic import schedule

SCHEDULED, MANUAL, REPROCESS = "Scheduled", "Manual", "Reprocess"


RUNNING = "Running"


class AttendanceSyncLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		checkin_path: DF.SmallText | None
		checkins_created: DF.Int
		clock_skew_seconds: DF.Float
		counter_reset: DF.Literal["", "Counter Restarted", "Terminal Replaced"]
		counter_reset_details: DF.SmallText | None
		cursor_held_by: DF.SmallText | None
		device: DF.Link | None
		device_time: DF.Datetime | None
		duplicates: DF.Int
		duration: DF.Float
		error: DF.LongText | None
		exchanges: DF.Int
		failed: DF.Int
		fetched: DF.Int
		held_punches: DF.Int
		inactive: DF.Int
		job_id: DF.Data | None
		new_punches: DF.Int
		notes: DF.SmallText | None
		open_unmapped: DF.Int
		pages: DF.Int
		serial_mode: DF.Check
		started_at: DF.Datetime | None
		status: DF.Literal["Running", "Success", "Partial", "Failed"]
		trigger: DF.Literal["Scheduled", "Manual", "Reprocess"]
		unmapped: DF.Int
		unreadable_records: DF.Int
		user: DF.Link | None
		window_end: DF.Datetime | None
		window_start: DF.Datetime | None
	# end: auto-generated types

	@staticmethod
	def clear_old_logs(days: int = 90) -> None:
		# Called by Log Settings (default_log_clearing_doctypes); a Running log is never pruned.
		from frappe.query_builder import Interval
		from frappe.query_builder.functions import Now

		table = frappe.qb.DocType("Attendance Sync Log")
		frappe.db.delete(
			table, filters=(table.modified < (Now() - Interval(days=days))) & (table.status != "Running")
		)


def open_log(device: str, trigger: str) -> Document:
	"""Close what a dead worker left of this device's runs and start this run's log, committed.

	Two device jobs starting at the same moment can still meet on the log's naming series row; MariaDB then
	rolls one back as a deadlock victim, and that one simply starts again (nothing of it was committed)."""

	def start() -> Document:
		_close_interrupted_logs(device)
		log = start_log(device, trigger)
		frappe.db.set_value(DEVICE, device, "last_sync_at", log.started_at, update_modified=False)
		return log

	return committed_despite_deadlocks(start)


def _close_interrupted_logs(device: str) -> None:
	# Under the device lock no other run of this device exists, so a Running log is one a dead worker left.
	# Found by a plain read and closed by name: an UPDATE ranging over the device index would take gap locks,
	# and two devices' jobs starting together would deadlock with each other's log insert.
	for name in frappe.get_all(
		LOG,
		filters={"device": device, "status": RUNNING, "trigger": ["in", [SCHEDULED, MANUAL]]},
		pluck="name",
	):
		frappe.db.set_value(
			LOG,
			name,
			{"status": "Failed", "error": _("Interrupted: the worker stopped before the run finished")},
			update_modified=False,
		)
	frappe.db.commit()


def start_log(device: str | None, trigger: str) -> Document:
	log = frappe.get_doc(
		{
			"doctype": LOG,
			"device": device,
			"trigger": trigger,
			"status": RUNNING,
			"started_at": now_datetime(),
			"job_id": job_id(device) if device else None,
			"user": frappe.session.user,
		}
	)
	log.insert(ignore_permissions=True)
	return log


def finish_log(log: Document, counts: P.SyncCounts, status: str, started: float, **extra: Any) -> None:
	log.update(counts.as_dict())
	log.update(extra)
	log.status = status
	log.duration = round(time.monotonic() - started, 3)
	log.save(ignore_permissions=True)


def open_work(device: str, held: dict[str, ShiftCursorPlan]) -> dict[str, Any]:
	"""The Sync Log fields on what waits for a person: held Shift Type cursors, open Unmapped punches."""
	holds = [plan.hold for plan in held.values() if plan.hold]
	return {
		"cursor_held_by": "\n".join(schedule.hold_text(h) for h in holds) or None,
		"held_punches": sum(h.punches for h in holds),
		"open_unmapped": frappe.db.count(PUNCH, {"device": device, "status": P.UNMAPPED}),
	}
