"""What a push body becomes (`push.receive` hands it over once the token named the device): a punch stored as a
Device Punch by the code the search-based sync stores with (`punches.punch_rows`, `device_punch.store_punches`,
whose (device, event key) makes a redelivery a duplicate), a heartbeat, or an unreadable record kept for the
Error Log. A pushed time the device cannot have recorded (before Sync Start, after its clock) is kept as
Unreadable. Check-ins of pushed punches are left to a job on the `short` queue (`process_pushed`); a gap in the
pushed serials queues a search of the device.
"""

from typing import Any

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, now_datetime, time_diff_in_seconds

from attendance_sync import _core
from attendance_sync.attendance_sync import common, jobs, terminal
from attendance_sync.attendance_sync.checkins import process_pending
from attendance_sync.attendance_sync.doctype.device_punch.device_punch import store_punches
from attendance_sync.attendance_sync.maintenance import refresh_health
from attendance_sync.logic import punches as P
from attendance_sync.logic import push as L

PROCESS = "attendance_sync.attendance_sync.push_events.process_pushed"


PUSH_JOB_ID = "attendance_sync::push"


# A processing job that was queued but never started (its worker died, the queue was flushed) stops holding
# the site's place after this long; the reconciling search processes what it left anyway.
QUEUED_MARKER_TTL = 600


PROCESS_TIMEOUT = 900


# How often a heartbeat may write Last Push At.
HEARTBEAT_WRITE_SECS = 60


# What of an unreadable body goes to the Error Log.
LOGGED_BODY_BYTES = 2000


def handle_body(device: Any, body: bytes, content_type: str | None) -> dict[str, Any]:
	"""Read a push body of `device` and deal with it: store, acknowledge, or report it unreadable."""
	settings = common.get_settings()
	try:
		pushed = _core.parse_push(
			body,
			content_type,
			device=device.name,
			utc_offset=terminal.core_utc_offset(device),
			punch_codes=sorted(settings.punch_codes) if settings.punch_codes else None,
		)
	except _core.PushError as e:
		return _unreadable(device.name, e.reason, body, content_type)
	except (frappe.ValidationError, ValueError):
		# Re-interpreting without a Device Time Zone, or a zone that does not exist: a configuration to fix,
		# told like a sync tells it.
		frappe.clear_messages()
		return _unreadable(device.name, "configuration", body, content_type)

	if pushed.kind != "event" or pushed.event is None:
		_heartbeat(device)
		return {"ok": True, "result": "heartbeat" if pushed.kind == "heartbeat" else "ignored"}
	return _store_event(device, pushed, body, content_type)


def _unreadable(device: str, reason: str, body: bytes, content_type: str | None) -> dict[str, Any]:
	_log_unreadable(device, reason, body, content_type)
	return {"ok": True, "result": "unreadable", "reason": reason}


def _clock_skew(device: Any) -> float | None:
	"""The device's clock skew as its last sync measured it (None for a device never searched)."""
	if not device.last_sync_log:
		return None
	return frappe.db.get_value(common.LOG, device.last_sync_log, "clock_skew_seconds")


def _serial_confirmed(device: str, serial: int, name: str) -> bool:
	"""Whether another stored event of `device` (not Unreadable) is numbered within reach below `serial`."""
	low, high = L.confirming_serials(serial)
	return bool(
		frappe.db.exists(
			common.PUNCH,
			{
				"device": device,
				"serial_no": ["between", [low, high]],
				"status": ["!=", P.UNREADABLE],
				"name": ["!=", name],
			},
		)
	)


def _store_event(device: Any, pushed: Any, body: bytes, content_type: str | None) -> dict[str, Any]:
	event = pushed.event
	fetched = P.punch_rows(
		device.name,
		[event],
		site_tz=common.site_time_zone(),
		direction=terminal.punch_direction(device),
		reinterpret_zone=terminal.reinterpret_zone(device),
	)
	if fetched.unreadable:
		return _unreadable(device.name, "time_out_of_range", body, content_type)
	received = now_datetime()
	bounds = L.time_bounds(
		received, get_datetime(device.sync_start) if device.sync_start else None, _clock_skew(device)
	)
	rows, outside = [], None
	for row in fetched.rows:
		outside = bounds.outside(row.time)
		# A time the device cannot have recorded an event at is kept, as what the terminal sent, never a check-in.
		rows.append(
			P.unreadable_row(row, bounds.explain(outside, row.device_time), received) if outside else row
		)
	new = store_punches(rows, None)
	last = cint(device.last_push_serial or device.last_serial_no) or None
	trusted = outside is None
	gap = trusted and L.push_gap(last, event.serial_no, pushed.front_serial_no, pushed.current_event)
	updates: dict[str, Any] = {"last_push_at": received, "last_contact": received}
	if (
		new
		and trusted
		and event.serial_no is not None
		and pushed.current_event is not False
		and (
			L.serial_within_reach(last, event.serial_no)
			or (
				event.serial_no <= L.MAX_SERIAL
				and _serial_confirmed(device.name, event.serial_no, new[0].name)
			)
		)
	):
		# The serial the terminal is at (a restarted counter takes it down again: its events are new punches);
		# a redelivered event, already stored, says nothing of where the terminal is, nor does an untrusted one.
		updates["last_push_serial"] = event.serial_no
	if gap:
		frappe.db.sql(
			"update `tabDevice Configuration` set push_gaps = ifnull(push_gaps, 0) + 1 where name = %s",
			device.name,
		)
	frappe.db.set_value(common.DEVICE, device.name, updates, update_modified=False)
	frappe.db.commit()
	if any(r.status == P.PENDING for r in new):
		enqueue_processing()
	if gap and L.reconciles(device.sync_mode) and device.enabled and not device.auth_blocked:
		# A search of the device from its cursors (serial first), the scheduled run itself; deduplicated by
		# the device's job id, so a burst of gaps makes one search.
		jobs.enqueue_device(device.name, jobs.SCHEDULED)
	if not fetched.rows:
		return {"ok": True, "result": "ignored"}
	if not new:
		return {"ok": True, "result": "duplicate"}
	if outside:
		return {"ok": True, "result": "unreadable", "reason": outside}
	return {"ok": True, "result": "stored"}


def _heartbeat(device: Any) -> None:
	# Punches left Pending (stored before the device was disabled, or by a job that did not finish) are checked
	# in once the terminal is heard from again: a read per heartbeat, a queued job only when there are some.
	if frappe.db.exists(common.PUNCH, {"device": device.name, "status": P.PENDING}):
		enqueue_processing()
	last = device.last_push_at
	if last and time_diff_in_seconds(now_datetime(), get_datetime(last)) < HEARTBEAT_WRITE_SECS:
		return
	now = now_datetime()
	frappe.db.set_value(
		common.DEVICE, device.name, {"last_push_at": now, "last_contact": now}, update_modified=False
	)
	frappe.db.commit()


def _log_unreadable(device: str, reason: str, body: bytes, content_type: str | None) -> None:
	shown = body[:LOGGED_BODY_BYTES].decode("utf-8", "replace")
	more = len(body) - LOGGED_BODY_BYTES
	frappe.log_error(
		title=_("Attendance Sync: unreadable push from {0} ({1})").format(device, reason),
		message=_("Content-Type: {0}\nBody ({1} bytes){2}:\n{3}").format(
			content_type or "-",
			len(body),
			_(", first {0} shown").format(LOGGED_BODY_BYTES) if more > 0 else "",
			shown,
		),
		reference_doctype=common.DEVICE,
		reference_name=device,
	)
	frappe.db.commit()


def queued_key() -> str:
	return frappe.cache.make_key("attendance_sync:push_queued")


def enqueue_processing() -> bool:
	"""Queue the check-in of the pushed punches on the short queue, unless a job of it is queued.

	One queued job for the site, not one per device: a job that has not started will read every Pending punch
	of the push devices committed before it starts, so pushes from any number of terminals meanwhile make one
	job, whose batch grows with the load. (A job per device made a job per punch across a fleet, and each job's
	fork, connection and reads put the short worker behind: the latency grew with the queue.) A running job does
	not count (it may have read its last batch already): the push after it queues the next. The place is a Redis
	key holding the queued job's id, taken atomically (SET NX) and given up by the job as it starts.
	"""
	from frappe.utils.background_jobs import get_job_status

	key = queued_key()
	jid = f"{PUSH_JOB_ID}::{frappe.generate_hash(length=10)}"
	if not frappe.cache.set(key, jid, nx=True, ex=QUEUED_MARKER_TTL):
		held = frappe.cache.get(key)
		if held and get_job_status(held.decode() if isinstance(held, bytes) else held) == "queued":
			return False
		frappe.cache.set(key, jid, ex=QUEUED_MARKER_TTL)
	frappe.enqueue(
		PROCESS,
		queue="short",
		timeout=PROCESS_TIMEOUT,
		job_id=jid,
		marker=jid,
	)
	return True


def process_pushed(marker: str | None = None) -> dict[str, int]:
	"""The short-queue job: the Pending punches of the enabled devices in a push mode into Employee Checkins
	(`checkins.process_pending`, whose per-person locks keep it apart from a device's own sync)."""
	key = queued_key()
	held = frappe.cache.get(key)
	if marker and held and (held.decode() if isinstance(held, bytes) else held) == marker:
		# From here a new push queues a new job: this one may have read its last batch before that push.
		frappe.cache.delete(key)
	# Like every scheduled device job: the request that queued this one ran as Guest.
	frappe.set_user("Administrator")
	counts = P.SyncCounts()
	# A disabled device's punches wait, Pending, until it is enabled again.
	devices = frappe.get_all(
		common.DEVICE, filters={"sync_mode": ["in", L.PUSH_MODES], "enabled": 1}, pluck="name"
	)
	if not devices:
		return counts.as_dict()
	filters = {"device": ["in", devices]}
	pending = frappe.get_all(
		common.PUNCH, filters={**filters, "status": P.PENDING}, pluck="device", distinct=True
	)
	process_pending(filters, counts, common.get_settings())
	if counts.failed or counts.unmapped:
		for device in pending:
			refresh_health(device)
		frappe.db.commit()
	return counts.as_dict()
