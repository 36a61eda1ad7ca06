"""Device jobs, check-in processing and the scheduled entry points (the Frappe side of a sync).

The rules live in `attendance_sync.logic`; this module reads and writes documents around them. Order of work
in a device job, and why:
1. fetch from the device (no database transaction open for long);
2. store every new punch in one bulk insert and commit, so nothing fetched can be lost from here on;
3. turn Pending punches into Employee Checkins batch by batch, each batch committed under a site-wide lock
   (two devices reporting one employee in one second must not both insert);
4. only then move Synced Up To / Last Serial No, write the Sync Log and the Shift Type cursors.
A crash anywhere leaves the cursors where they were and the stored punches Pending; the next run re-fetches the
window (the keys turn the known events away) and finishes the Pending ones, exactly once.
"""

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.realtime import get_doc_room
from frappe.utils import cint, flt, get_datetime, get_system_timezone, now_datetime, strip_html

from attendance_sync.attendance_sync.locks import advisory_lock
from attendance_sync.logic import errors, schedule, windows
from attendance_sync.logic import punches as P
from attendance_sync.logic.progress import Throttle
from attendance_sync.logic.settings import SyncSettings, settings_from_values
from attendance_sync.logic.timezones import device_utc_offset, site_naive_to_aware, to_site_naive

DEVICE = "Device Configuration"
PUNCH = "Device Punch"
LOG = "Attendance Sync Log"
SETTINGS = "Attendance Sync Settings"

PROGRESS_EVENT = "attendance_sync_progress"
DONE_EVENT = "attendance_sync_done"

SCHEDULED, MANUAL, REPROCESS = "Scheduled", "Manual", "Reprocess"
RUNNING = "Running"

BATCH_SIZE = 500
JOB_TIMEOUT = 4 * 3600
# How long a batch waits for another job's check-in batch to commit.
CHECKIN_LOCK_WAIT = 600
CHECKIN_LOCK = "attendance_sync:checkins"


def job_id(device: str) -> str:
	return f"attendance_sync::{device}"


def _core() -> Any:
	# Imported on use: forms, hooks and the plain logic keep working where the extension is not built yet.
	from attendance_sync import _core

	return _core


def get_settings() -> SyncSettings:
	doc = frappe.get_cached_doc(SETTINGS)
	return settings_from_values(doc.as_dict(), [(r.major, r.minor) for r in doc.get("punch_codes") or []])


def core_device(doc: Document, settings: SyncSettings) -> Any:
	"""The `_core.Device` for a Device Configuration. The password is read here, on the server, only."""
	password = doc.get_password("device_user_password", raise_exception=False)
	if not password:
		frappe.throw(_("Set the Device User Password of {0}").format(doc.name))
	return _core().Device(
		doc.device_ip,
		doc.device_user,
		password,
		port=cint(doc.port) or None,
		https=bool(doc.use_https),
		verify_tls=bool(doc.verify_tls),
		name=doc.name,
		major=cint(doc.major),
		minor=cint(doc.minor),
		utc_offset=device_utc_offset(doc.device_time_zone, site_naive_to_aware(now_datetime(), _site_tz())),
		connect_timeout=settings.connect_timeout,
		timeout=settings.request_timeout,
		punch_codes=sorted(settings.punch_codes) if settings.punch_codes else None,
	)


def _site_tz() -> str:
	return get_system_timezone()


def _dt(value: Any) -> datetime | None:
	return get_datetime(value) if value else None


class Progress:
	"""Realtime progress: pages and events while fetching, then check-ins.

	Device runs speak to the device's form (its document room); a Reprocess speaks to the user who asked.
	"""

	def __init__(self, device: str | None, user: str | None = None) -> None:
		self.device = device
		self.user = user
		self.throttle = Throttle(1.0)

	def publish(self, event: str, message: dict[str, Any]) -> None:
		message = {"device": self.device, **message}
		try:
			if self.user:
				frappe.publish_realtime(event, message, user=self.user)
			elif self.device:
				frappe.publish_realtime(event, message, room=get_doc_room(DEVICE, self.device))
		except Exception:
			# Progress is cosmetic; an exception here would cancel the fetch it reports on.
			pass

	def fetch(self, pages: int, events: int) -> None:
		if self.throttle.ready():
			self.publish(PROGRESS_EVENT, {"stage": "fetch", "pages": pages, "events": events})

	def checkins(self, done: int, total: int) -> None:
		if self.throttle.ready(force=done >= total):
			self.publish(PROGRESS_EVENT, {"stage": "checkins", "done": done, "total": total})


# ---------------------------------------------------------------------------------------------------------
# Enqueueing


def enqueue_device(device: str, trigger: str = SCHEDULED, **kwargs: Any) -> bool:
	"""Queue the device job; False when a job of this device is already queued or running."""
	from frappe.utils.background_jobs import is_job_enqueued

	jid = job_id(device)
	if not frappe.flags.in_test and is_job_enqueued(jid):
		return False
	frappe.enqueue(
		"attendance_sync.attendance_sync.sync.sync_device",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=jid,
		deduplicate=True,
		now=bool(frappe.flags.in_test),
		device=device,
		trigger=trigger,
		**kwargs,
	)
	return True


def _schedulable_devices() -> list[dict[str, Any]]:
	return frappe.get_all(
		DEVICE,
		filters={"enabled": 1, "auth_blocked": 0},
		fields=["name", "sync_frequency", "last_sync_at"],
	)


def _enqueue_candidates(candidates: list[schedule.Candidate], settings: SyncSettings) -> list[str]:
	from frappe.utils.background_jobs import is_job_enqueued

	active = 0
	if settings.fetch_concurrency > 0:
		active = sum(1 for d in frappe.get_all(DEVICE, pluck="name") if is_job_enqueued(job_id(d)))
	picked = schedule.pick_for_enqueue(candidates, active=active, limit=settings.fetch_concurrency)
	return [name for name in picked if enqueue_device(name, SCHEDULED)]


def scheduled_daily() -> list[str]:
	"""The `daily` event: every enabled device (the seed's promise), within Fetch Concurrency."""
	devices = _schedulable_devices()
	candidates = [schedule.Candidate(d.name, _dt(d.last_sync_at)) for d in devices]
	return _enqueue_candidates(candidates, get_settings())


def scheduled_tick() -> list[str]:
	"""The 15-minute cron tick: refresh every device's health, enqueue the devices whose frequency is due."""
	refresh_health()
	now = now_datetime()
	candidates = [
		schedule.Candidate(d.name, _dt(d.last_sync_at))
		for d in _schedulable_devices()
		if schedule.is_due(d.sync_frequency, _dt(d.last_sync_at), now)
	]
	return _enqueue_candidates(candidates, get_settings())


def refresh_health(device: str | None = None) -> None:
	"""Store each device's health (Synced / Stale / Failing / ...) for the list and form indicators."""
	now = now_datetime()
	filters = {"name": device} if device else {}
	for d in frappe.get_all(
		DEVICE,
		filters=filters,
		fields=[
			"name",
			"enabled",
			"auth_blocked",
			"last_sync_status",
			"synced_up_to",
			"sync_frequency",
			"sync_health",
		],
	):
		state = schedule.health(
			enabled=bool(d.enabled),
			auth_blocked=bool(d.auth_blocked),
			last_sync_status=d.last_sync_status,
			synced_up_to=_dt(d.synced_up_to),
			frequency=d.sync_frequency,
			now=now,
		)
		if state != d.sync_health:
			frappe.db.set_value(DEVICE, d.name, "sync_health", state, update_modified=False)


def prune_punches() -> int:
	"""Delete processed punches older than the retention period; Unmapped and Failed stay until resolved."""
	days = get_settings().punch_retention_days
	if days <= 0:
		return 0
	cutoff = frappe.utils.add_days(now_datetime(), -days)
	filters = {"status": ["in", list(P.PRUNABLE_STATUSES)], "time": ["<", cutoff]}
	count = frappe.db.count(PUNCH, filters)
	if count:
		frappe.db.delete(PUNCH, filters)
	return count


# ---------------------------------------------------------------------------------------------------------
# The device job


def sync_device(
	device: str,
	trigger: str = SCHEDULED,
	from_time: str | None = None,
	to_time: str | None = None,
) -> dict[str, Any]:
	"""Run one device: fetch, store, check in, move the cursors. Never raises for a device fault."""
	progress = Progress(device)
	with advisory_lock(job_id(device)) as acquired:
		if not acquired:
			result = {"skipped": True, "message": _("A sync of {0} is already running").format(device)}
			progress.publish(DONE_EVENT, result)
			return result
		result = _run_device(device, trigger, _dt(from_time), _dt(to_time), progress)
	progress.publish(DONE_EVENT, result)
	if get_settings().fetch_concurrency > 0 and trigger == SCHEDULED:
		scheduled_tick()
	return result


def _close_interrupted_logs(device: str) -> None:
	# Under the device lock no other run of this device exists, so a Running log is one a dead worker left.
	frappe.db.set_value(
		LOG,
		{"device": device, "status": RUNNING, "trigger": ["in", [SCHEDULED, MANUAL]]},
		{"status": "Failed", "error": _("Interrupted: the worker stopped before the run finished")},
		update_modified=False,
	)


def _start_log(device: str | None, trigger: str) -> Document:
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


def _finish_log(log: Document, counts: P.SyncCounts, status: str, started: float, **extra: Any) -> None:
	log.update(counts.as_dict())
	log.update(extra)
	log.status = status
	log.duration = round(time.monotonic() - started, 3)
	log.save(ignore_permissions=True)


def _run_device(
	device: str,
	trigger: str,
	from_time: datetime | None,
	to_time: datetime | None,
	progress: Progress,
) -> dict[str, Any]:
	doc = frappe.get_doc(DEVICE, device)
	if trigger == SCHEDULED and (not doc.enabled or doc.auth_blocked):
		return {
			"skipped": True,
			"message": _("{0} is disabled or waiting for its configuration to be fixed").format(device),
		}
	settings = get_settings()
	site_tz = _site_tz()
	_close_interrupted_logs(device)
	log = _start_log(device, trigger)
	frappe.db.set_value(DEVICE, device, "last_sync_at", log.started_at, update_modified=False)
	frappe.db.commit()

	started = time.monotonic()
	counts = P.SyncCounts()
	extra: dict[str, Any] = {}
	password = None
	try:
		password = doc.get_password("device_user_password", raise_exception=False)
		dev = core_device(doc, settings)
		info = _core().device_info(dev)
		server_now = now_datetime()
		device_now = to_site_naive(info.device_time, site_tz)
		frappe.db.set_value(
			DEVICE,
			device,
			{"model": info.model, "firmware": info.firmware, "serial_number": info.serial_number},
			update_modified=False,
		)
		if trigger == MANUAL:
			window = windows.manual_window(from_time, to_time, now=server_now)
		else:
			window = windows.scheduled_window(
				synced_up_to=_dt(doc.synced_up_to),
				sync_start=_dt(doc.sync_start),
				overlap=settings.overlap,
				device_now=device_now,
			)
		extra.update(
			{
				"window_start": window.start,
				"window_end": window.end,
				"device_time": device_now,
				"clock_skew_seconds": flt(info.clock_skew_seconds, 3),
			}
		)
		updates: dict[str, Any] = {}
		failure: Exception | None = None
		if window.empty:
			extra["notes"] = _(
				"The device clock ({0}) is behind Synced Up To: nothing to fetch. Check the terminal's time settings."
			).format(device_now)
		else:
			by_serial = windows.use_serial_search(
				scheduled=trigger == SCHEDULED,
				supported=bool(info.supports_serial_search),
				last_serial=cint(doc.last_serial_no) or None,
				stored_serial_number=doc.serial_number,
				device_serial_number=info.serial_number,
			)
			result, failure = _fetch(
				dev, window, site_tz, cint(doc.last_serial_no) if by_serial else None, progress
			)
			if result.serial_mode and not result.events and failure is None:
				# Nothing after Last Serial No can also mean the terminal's counter restarted (factory reset):
				# a search of the same span by time alone finds those events.
				result, failure = _fetch(dev, window, site_tz, None, progress)
			stats = result.stats
			extra.update(
				{"pages": stats.pages, "exchanges": stats.exchanges, "serial_mode": int(result.serial_mode)}
			)
			fetched = P.punch_rows(device, result.events, site_tz=site_tz, direction=doc.punch_direction)
			counts.fetched = fetched.events
			new_rows = store_punches(fetched.rows, log.name)
			counts.new_punches = len(new_rows)
			counts.unmapped += sum(1 for r in new_rows if r.status == P.UNMAPPED)
			frappe.db.commit()
			# On a failure part-way, complete_until is the last event received: the cursor stops before the gap.
			limit = windows.completed_limit(
				windows.cursor_limit(device_now, server_now), to_site_naive(result.complete_until, site_tz)
			)
			updates["synced_up_to"] = windows.next_synced_up_to(
				_dt(doc.synced_up_to), window, floor=_dt(doc.sync_start), limit=limit
			)
			if failure is None:
				updates["last_serial_no"] = windows.next_last_serial(
					cint(doc.last_serial_no) or None,
					result.last_serial,
					serial_mode=bool(result.serial_mode),
					scheduled=trigger == SCHEDULED,
				)

		process_pending({"device": device}, counts, progress, settings)
		if failure is not None:
			# What arrived before the failure is stored and checked in; the run is still a failure.
			frappe.db.set_value(DEVICE, device, updates, update_modified=False)
			frappe.db.commit()
			raise failure

		status = counts.status
		updates.update({"last_sync_status": status, "last_error": None, "last_sync_log": log.name})
		frappe.db.set_value(DEVICE, device, updates, update_modified=False)
		_finish_log(log, counts, status, started, **extra)
		frappe.db.commit()
		update_shift_type_cursors(device)
		refresh_health(device)
		frappe.db.commit()
		return {"status": status, "log": log.name, "trigger": trigger, **counts.as_dict()}
	except Exception as e:
		frappe.db.rollback()
		return _fail(device, log.name, e, counts, started, trigger, password, extra)


def _fetch(
	dev: Any, window: windows.Window, site_tz: str, since: int | None, progress: Progress
) -> tuple[Any, Exception | None]:
	"""`_core.fetch_events` over the window; a device failure with events received returns them and the error."""
	core = _core()
	try:
		result = core.fetch_events(
			dev,
			site_naive_to_aware(window.start, site_tz),
			site_naive_to_aware(window.end, site_tz),
			since_serial=since,
			on_progress=progress.fetch,
		)
	except core.AttendanceSyncError as e:
		if e.partial is None:
			raise
		return e.partial, e
	return result, None


def _fail(
	device: str,
	log_name: str,
	exc: Exception,
	counts: P.SyncCounts,
	started: float,
	trigger: str,
	password: str | None,
	extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
	"""Record a failed run: Last Error, a Failed Sync Log and one Error Log naming the device; never the password."""
	frappe.clear_messages()
	report = errors.describe_error(exc, secrets=[password])
	if isinstance(exc, windows.WindowError | frappe.ValidationError) and not report.is_device_error:
		report = errors.ErrorReport(
			kind=report.kind,
			message=strip_html(report.message),
			hint=_("Correct the window or the device configuration and run again."),
			is_device_error=False,
			auth_failure=False,
		)
	updates: dict[str, Any] = {
		"last_sync_status": "Failed",
		"last_error": report.text(),
		"last_sync_log": log_name,
	}
	if report.auth_failure:
		updates["auth_blocked"] = 1
	frappe.db.set_value(DEVICE, device, updates, update_modified=False)
	log = frappe.get_doc(LOG, log_name)
	_finish_log(log, counts, "Failed", started, **(extra or {}), error=report.text())
	details = report.text()
	if not report.is_device_error:
		details += "\n\n" + errors.redact(frappe.get_traceback(), [password])
	frappe.log_error(
		title=_("Attendance Sync: {0} failed ({1})").format(device, report.kind),
		message=details,
		reference_doctype=DEVICE,
		reference_name=device,
	)
	refresh_health(device)
	frappe.db.commit()
	return {
		"status": "Failed",
		"log": log_name,
		"trigger": trigger,
		"error": report.text(),
		**counts.as_dict(),
	}


# ---------------------------------------------------------------------------------------------------------
# Punches and check-ins


def store_punches(rows: list[P.PunchRow], log_name: str | None) -> list[P.PunchRow]:
	"""Insert the rows not stored yet, in one multi-row INSERT IGNORE; returns the new ones."""
	if not rows:
		return []
	existing: set[str] = set()
	names = [r.name for r in rows]
	for i in range(0, len(names), 1000):
		existing.update(frappe.get_all(PUNCH, filters={"name": ["in", names[i : i + 1000]]}, pluck="name"))
	new = [r for r in rows if r.name not in existing]
	if not new:
		return []
	now = now_datetime()
	user = frappe.session.user
	fields = [*P.PunchRow.FIELDS, "sync_log", "creation", "modified", "owner", "modified_by", "docstatus"]
	values = [(*r.values(), log_name, now, now, user, user, 0) for r in new]
	# The device lock already keeps two runs of a device apart; IGNORE makes a race with a pruned-and-refetched
	# row, or any other, harmless: the keys on name and (device, serial_no) turn repeats away.
	frappe.db.bulk_insert(PUNCH, fields, values, ignore_duplicates=True)
	return new


def _device_geo(devices: Iterable[str]) -> dict[str, tuple[float | None, float | None]]:
	rows = frappe.get_all(
		DEVICE, filters={"name": ["in", list(devices)]}, fields=["name", "latitude", "longitude"]
	)
	return {r.name: (r.latitude or None, r.longitude or None) for r in rows}


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


def process_pending(
	filters: dict[str, Any],
	counts: P.SyncCounts,
	progress: Progress,
	settings: SyncSettings,
	*,
	batch_size: int = BATCH_SIZE,
	max_batches: int | None = None,
) -> P.SyncCounts:
	"""Turn the Pending punches matching `filters` into check-ins, one committed batch at a time.

	Each batch runs under the site-wide check-in lock and reads its punches and the existing check-ins after
	taking it, so two jobs never decide on the same punch or miss each other's check-ins.
	"""
	pending = {**filters, "status": P.PENDING}
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
			_process_batch(rows, counts, settings)
			frappe.db.commit()
		done += len(rows)
		batches += 1
		progress.checkins(done, max(total, done))
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
	ids = sorted({p.device_user_id for p in batch if p.device_user_id})
	employees = P.employee_index(
		frappe.get_all(
			"Employee",
			filters={"attendance_device_id": ["in", ids]},
			fields=["attendance_device_id", "name", "status"],
			as_list=True,
		)
		if ids
		else []
	)
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
	planner = P.CheckinPlanner(employees, existing, settings.double_punch_seconds)
	geo = _device_geo({p.device for p in batch})
	for punch in P.ordered(batch):
		decision = planner.decide(punch)
		checkin = None
		if decision.creates_checkin:
			frappe.db.savepoint("attendance_sync_checkin")
			try:
				checkin = _insert_checkin(decision, punch.device, geo.get(punch.device, (None, None)))
			except frappe.ValidationError as e:
				frappe.db.rollback(save_point="attendance_sync_checkin")
				frappe.clear_messages()
				planner.forget(decision)
				decision = P.Decision(
					punch.name,
					P.FAILED,
					employee=decision.employee,
					reason=strip_html(str(e)) or type(e).__name__,
				)
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
		counts.add(decision.status)


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
	devices = sorted(set(frappe.get_all(PUNCH, filters=reset, pluck="device")))
	if not devices:
		return {"status": "Success", "checkins_created": 0}
	frappe.db.set_value(PUNCH, reset, {"status": P.PENDING, "reason": None}, update_modified=False)
	progress = Progress(devices[0] if len(devices) == 1 else None, frappe.session.user)
	log = _start_log(devices[0] if len(devices) == 1 else None, REPROCESS)
	frappe.db.commit()
	started = time.monotonic()
	counts = P.SyncCounts()
	try:
		process_pending(scope, counts, progress, get_settings())
		_finish_log(log, counts, counts.status, started)
		frappe.db.commit()
	except Exception as e:
		frappe.db.rollback()
		frappe.clear_messages()
		report = errors.describe_error(e)
		_finish_log(frappe.get_doc(LOG, log.name), counts, "Failed", started, error=report.text())
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
	key = device_user_id if device_user_id else frappe.generate_hash(length=10)
	frappe.enqueue(
		"attendance_sync.attendance_sync.sync.reprocess",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=f"attendance_sync::reprocess::{key}",
		deduplicate=True,
		enqueue_after_commit=True,
		now=bool(frappe.flags.in_test),
		names=names,
		device_user_id=device_user_id,
	)


# ---------------------------------------------------------------------------------------------------------
# Shift Type cursors


def update_shift_type_cursors(device: str) -> dict[str, datetime | None]:
	"""Move `last_sync_of_checkin` of the Shift Types this device feeds."""
	return update_shift_types(
		frappe.get_all(
			"Device Shift Type", filters={"parent": device, "parenttype": DEVICE}, pluck="shift_type"
		)
	)


def update_shift_types(shift_types: Iterable[str]) -> dict[str, datetime | None]:
	"""Move each Shift Type's `last_sync_of_checkin` by the rules of schedule.shift_type_cursor."""
	moved: dict[str, datetime | None] = {}
	for shift_type in sorted(set(shift_types)):
		feeders = sorted(
			set(
				frappe.get_all(
					"Device Shift Type",
					filters={"shift_type": shift_type, "parenttype": DEVICE},
					pluck="parent",
				)
			)
		)
		devices = [
			schedule.FeedingDevice(
				name=d.name,
				enabled=bool(d.enabled),
				synced_up_to=_dt(d.synced_up_to),
				last_sync_status=d.last_sync_status,
			)
			for d in frappe.get_all(
				DEVICE,
				filters={"name": ["in", feeders or [""]]},
				fields=["name", "enabled", "synced_up_to", "last_sync_status"],
			)
		]
		current = _dt(frappe.db.get_value("Shift Type", shift_type, "last_sync_of_checkin"))
		new = schedule.shift_type_cursor(current, devices)
		if new != current:
			frappe.db.set_value("Shift Type", shift_type, "last_sync_of_checkin", new, update_modified=False)
			moved[shift_type] = new
	return moved
