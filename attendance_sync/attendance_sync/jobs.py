"""Background jobs and their entry points: the scheduler events and the device job (Reprocess is the Device
Punch's, `doctype/device_punch`).

The rules live in `attendance_sync.logic`; this module reads and writes documents around them. Order of work
in a device job, and why:
1. fetch from the device (no database transaction open for long; `fetching`);
2. store every new punch in one bulk insert and commit, so nothing fetched can be lost from here on;
3. turn Pending punches into Employee Checkins batch by batch (`checkins.process_pending`), each batch
   committed under the check-in locks of its people (two devices reporting one employee in one second must not
   both insert);
4. only then move Synced Up To / Last Serial No, write the Sync Log and the Shift Type cursors (`cursors`; each
   stays before the earliest punch of its employees that is still Pending or Failed).
A crash anywhere leaves the cursors where they were and the stored punches Pending; the next run re-fetches the
window (the keys turn the known events away) and finishes the Pending ones, exactly once.

The dotted paths of `sync_device` and the scheduler events are stored: in hooks.py, in Scheduled Job Type
records (synced from the hooks by `bench migrate`) and in queued jobs.
"""

import time
from datetime import datetime
from typing import Any

import frappe
from frappe import _
from frappe.utils import cint, flt, now_datetime, strip_html

from attendance_sync import _core
from attendance_sync.attendance_sync.checkins import (
	process_pending,
)
from attendance_sync.attendance_sync.common import (
	DEVICE,
	JOB_TIMEOUT,
	LOG,
	PUNCH,
	dt,
	get_settings,
	in_test,
	job_id,
	site_time_zone,
)
from attendance_sync.attendance_sync.cursors import (
	update_shift_type_cursors,
)
from attendance_sync.attendance_sync.doctype.attendance_sync_log.attendance_sync_log import (
	MANUAL,
	SCHEDULED,
	finish_log,
	open_log,
	open_work,
)
from attendance_sync.attendance_sync.fetching import fetch_and_store
from attendance_sync.attendance_sync.locks import advisory_lock
from attendance_sync.attendance_sync.maintenance import refresh_health
from attendance_sync.attendance_sync.realtime import DONE_EVENT, Progress
from attendance_sync.attendance_sync.terminal import DeviceClock, core_device, reinterpret_zone
from attendance_sync.logic import errors, schedule, windows
from attendance_sync.logic import punches as P
from attendance_sync.logic.settings import SyncSettings


def enqueue_device(device: str, trigger: str = SCHEDULED, **kwargs: Any) -> bool:
	"""Queue the device job; False when a job of this device is already queued or running."""
	jid = job_id(device)
	if not in_test() and _job_in_flight(jid):
		return False
	frappe.enqueue(
		"attendance_sync.attendance_sync.jobs.sync_device",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=jid,
		deduplicate=True,
		now=bool(in_test()),
		device=device,
		trigger=trigger,
		**kwargs,
	)
	return True


def _job_in_flight(jid: str) -> bool:
	"""Queued, or started by a worker that is alive. A job whose worker died (OOM, SIGKILL) keeps rq's "started"
	status until a worker cleans the registry, which rq does every 10-15 minutes: the device would sit out that
	long. Its heartbeat has lapsed, so cleaning the started registry now marks it failed and frees the device."""
	from frappe.utils.background_jobs import get_queue, is_job_enqueued

	if not is_job_enqueued(jid):
		return False
	get_queue("long").started_job_registry.cleanup()
	return is_job_enqueued(jid)


def _schedulable_devices() -> list[Any]:
	# Sync Mode "Push": the terminal sends its events and the scheduler leaves it alone (logic.push).
	return frappe.get_all(
		DEVICE,
		filters={"enabled": 1, "auth_blocked": 0, "sync_mode": ["!=", "Push"]},
		fields=["name", "sync_frequency", "last_sync_at"],
	)


def _enqueue_candidates(
	candidates: list[schedule.Candidate], settings: SyncSettings, finishing: str | None = None
) -> list[str]:
	from frappe.utils.background_jobs import is_job_enqueued

	active = 0
	if settings.fetch_concurrency > 0:
		active = schedule.active_jobs(
			frappe.get_all(DEVICE, pluck="name"),
			lambda device: is_job_enqueued(job_id(device)),
			finishing=finishing,
		)
	picked = schedule.pick_for_enqueue(candidates, active=active, limit=settings.fetch_concurrency)
	return [name for name in picked if enqueue_device(name, SCHEDULED)]


def scheduled_daily() -> list[str]:
	"""The `daily` event: every enabled device (the seed's promise), within Fetch Concurrency."""
	devices = _schedulable_devices()
	candidates = [schedule.Candidate(d.name, dt(d.last_sync_at)) for d in devices]
	return _enqueue_candidates(candidates, get_settings())


def scheduled_tick(finishing: str | None = None) -> list[str]:
	"""The 15-minute cron tick: refresh every device's health, enqueue the devices whose frequency is due.

	A scheduled device job calls it as it finishes (`finishing` = its device), to refill its Fetch Concurrency
	slot: RQ still reports that job as running, so it is not counted.
	"""
	refresh_health()
	now = now_datetime()
	candidates = [
		schedule.Candidate(d.name, dt(d.last_sync_at))
		for d in _schedulable_devices()
		if schedule.is_due(d.sync_frequency, dt(d.last_sync_at), now)
	]
	return _enqueue_candidates(candidates, get_settings(), finishing)


def sync_device(
	device: str,
	trigger: str = SCHEDULED,
	from_time: str | None = None,
	to_time: str | None = None,
	bulk: int | bool = 0,
) -> dict[str, Any]:
	"""Run one device: fetch, store, check in, move the cursors. Never raises for a device fault.

	`bulk` (Fetch Check-in's choice): insert the check-ins in bulk (`checkins.process_pending(bulk=True)`);
	otherwise the run decides by Attendance Sync Settings' Bulk Insert Above."""
	if frappe.session.user == "Guest":
		# A search queued by a push request (a gap) was queued as Guest: it runs, logs and owns its
		# check-ins as Administrator, like the scheduler's runs.
		frappe.set_user("Administrator")
	progress = Progress(device)
	with advisory_lock(job_id(device)) as acquired:
		if not acquired:
			result = {"skipped": True, "message": _("A sync of {0} is already running").format(device)}
			progress.publish(DONE_EVENT, result)
			return result
		progress.started()
		result = _run_device(device, trigger, dt(from_time), dt(to_time), progress, bulk=bool(cint(bulk)))
	progress.publish(DONE_EVENT, result)
	if get_settings().fetch_concurrency > 0 and trigger == SCHEDULED:
		scheduled_tick(finishing=device)
	return result


def _run_device(
	device: str,
	trigger: str,
	from_time: datetime | None,
	to_time: datetime | None,
	progress: Progress,
	*,
	bulk: bool = False,
) -> dict[str, Any]:
	doc = frappe.get_doc(DEVICE, device)
	if trigger == SCHEDULED and (not doc.enabled or doc.auth_blocked):
		return {
			"skipped": True,
			"message": _("{0} is disabled or waiting for its configuration to be fixed").format(device),
		}
	settings = get_settings()
	site_tz = site_time_zone()
	log = open_log(device, trigger)

	started = time.monotonic()
	counts = P.SyncCounts()
	extra: dict[str, Any] = {}
	password = None
	try:
		password = doc.get_password("device_user_password", raise_exception=False)
		clock = DeviceClock(site_tz, reinterpret_zone(doc))
		dev = core_device(doc, settings)
		info = _core.device_info(dev)
		server_now = now_datetime()
		device_now = clock.site_time(info.device_time)
		frappe.db.set_value(
			DEVICE,
			device,
			{
				"model": info.model,
				"firmware": info.firmware,
				"serial_number": info.serial_number,
				"last_contact": server_now,
			},
			update_modified=False,
		)
		if trigger == MANUAL:
			window = windows.manual_window(from_time, to_time, now=server_now)
		else:
			window = windows.scheduled_window(
				synced_up_to=dt(doc.synced_up_to),
				sync_start=dt(doc.sync_start),
				overlap=settings.overlap,
				device_now=device_now,
			)
		extra.update(
			{
				"window_start": window.start,
				"window_end": window.end,
				"device_time": device_now,
				# Re-interpreted, the terminal's clock is measured in the zone it really shows.
				"clock_skew_seconds": flt((device_now - server_now).total_seconds(), 3)
				if clock.zone
				else flt(info.clock_skew_seconds, 3),
			}
		)
		updates: dict[str, Any] = {}
		failure: Exception | None = None
		if window.empty:
			extra["notes"] = _(
				"The device clock ({0}) is behind Synced Up To: nothing to fetch. Check the terminal's time settings."
			).format(device_now)
		else:
			stored = fetch_and_store(
				doc,
				dev,
				info,
				window,
				clock,
				progress,
				log.name,
				scheduled=trigger == SCHEDULED,
				limit=windows.cursor_limit(device_now, server_now),
			)
			counts.fetched = stored.fetched
			counts.new_punches = len(stored.new_rows)
			counts.unmapped += sum(1 for r in stored.new_rows if r.status == P.UNMAPPED)
			extra.update(stored.log_fields)
			updates.update(stored.cursor_updates)
			failure = stored.failure

		process_pending(
			{"device": device},
			counts,
			settings,
			on_progress=progress.checkins,
			bulk=True if bulk else None,
			on_path=lambda path: extra.update(checkin_path=path),
		)
		if failure is not None:
			# What arrived before the failure is stored and checked in; the run is still a failure.
			frappe.db.set_value(DEVICE, device, updates, update_modified=False)
			frappe.db.commit()
			raise failure

		status = counts.status
		updates.update(
			{
				"last_sync_status": status,
				"last_error": _partial_error(device, counts) if counts.failed else None,
				"last_sync_log": log.name,
			}
		)
		frappe.db.set_value(DEVICE, device, updates, update_modified=False)
		held = update_shift_type_cursors(device)
		finish_log(log, counts, status, started, **extra, **open_work(device, held))
		frappe.db.commit()
		refresh_health(device)
		frappe.db.commit()
		return {"status": status, "log": log.name, "trigger": trigger, **counts.as_dict()}
	except Exception as e:
		frappe.db.rollback()
		return _fail(device, log.name, e, counts, started, trigger, password, extra)


def _partial_error(device: str, counts: P.SyncCounts) -> str:
	"""Last Error of a Partial run: how many punches failed and the first reason."""
	first = frappe.get_all(
		PUNCH,
		filters={"device": device, "status": P.FAILED},
		fields=["reason"],
		order_by="time asc",
		limit=1,
	)
	text = (
		_("1 punch of this run could not become a check-in")
		if counts.failed == 1
		else _("{0} punches of this run could not become check-ins").format(counts.failed)
	)
	if first and first[0].reason:
		text += ": " + first[0].reason
	return text + " " + _("(Device Punch list, status Failed)")


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
		# The terminal answered, refusing the login: it is reachable.
		updates.update(auth_blocked=1, last_contact=now_datetime())
	frappe.db.set_value(DEVICE, device, updates, update_modified=False)
	log = frappe.get_doc(LOG, log_name)
	finish_log(log, counts, "Failed", started, **(extra or {}), error=report.text())
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
