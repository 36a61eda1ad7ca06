"""Background jobs and their entry points: the scheduler events and the device job (Reprocess is the Device
Punch's, `doctype/device_punch`).

The rules live in `attendance_sync.logic`; this module reads and writes documents around them. Order of work
in a device job, and why:
1. fetch from the device (no database transaction open for long);
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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, flt, get_datetime, now_datetime, strip_html

from attendance_sync import _core
from attendance_sync.attendance_sync.checkins import (
	process_pending,
)
from attendance_sync.attendance_sync.common import (
	DEVICE,
	JOB_TIMEOUT,
	LOG,
	PUNCH,
	QUERY_CHUNK,
	chunks,
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
from attendance_sync.attendance_sync.doctype.device_punch.device_punch import store_punches
from attendance_sync.attendance_sync.locks import advisory_lock
from attendance_sync.attendance_sync.maintenance import refresh_health
from attendance_sync.attendance_sync.realtime import DONE_EVENT, Progress
from attendance_sync.logic import counters, errors, fetch_plan, schedule, windows
from attendance_sync.logic import punches as P
from attendance_sync.logic.settings import SyncSettings
from attendance_sync.logic.timezones import (
	REINTERPRET,
	device_utc_offset,
	reinterpret_in_zone,
	site_naive_to_aware,
	to_site_naive,
)


def core_device(doc: Document, settings: SyncSettings) -> _core.Device:
	"""The `_core.Device` for a Device Configuration. The password is read here, on the server, only."""
	password = doc.get_password("device_user_password", raise_exception=False)
	if not password:
		frappe.throw(_("Set the Device User Password of {0}").format(doc.name))
	return _core.Device(
		doc.device_ip,
		doc.device_user,
		password,
		port=cint(doc.port) or None,
		https=bool(doc.use_https),
		verify_tls=bool(doc.verify_tls),
		name=doc.name,
		major=cint(doc.major),
		minor=cint(doc.minor),
		utc_offset=core_utc_offset(doc),
		connect_timeout=settings.connect_timeout,
		timeout=settings.request_timeout,
		punch_codes=sorted(settings.punch_codes) if settings.punch_codes else None,
	)


def core_utc_offset(doc: Document) -> str | None:
	"""The `utc_offset` the core reads the device's times with (searched and pushed alike): the configured zone's
	offset now covers times without one. Re-interpreting reads the wall clock of every time, so the terminal's
	own offset is kept for the window (it maps back to the same digits on the terminal)."""
	if reinterpret_zone(doc):
		return None
	return device_utc_offset(doc.device_time_zone, site_naive_to_aware(now_datetime(), site_time_zone()))


def reinterpret_zone(doc: Document) -> str | None:
	"""Device Time Zone when the device's times are re-interpreted in it (Time Zone Handling), else None."""
	if doc.get("time_zone_handling") != REINTERPRET:
		return None
	if not doc.device_time_zone:
		frappe.throw(
			_("{0} of {1} needs a Device Time Zone: set it, or choose Trust Device Offsets").format(
				_(REINTERPRET), doc.name
			)
		)
	return doc.device_time_zone


class DeviceClock:
	"""Device instants to site time, and site windows to what the core is asked, under Time Zone Handling."""

	def __init__(self, site_tz: str, zone: str | None) -> None:
		self.site_tz = site_tz
		self.zone = zone

	def site_time(self, value: datetime) -> datetime:
		return to_site_naive(reinterpret_in_zone(value, self.zone) if self.zone else value, self.site_tz)

	def request(self, window: windows.Window) -> tuple[datetime, datetime]:
		"""A site-time window as the core takes it: instants, or the terminal's wall clock (naive)."""
		if self.zone:
			return windows.device_wall_window(window, self.site_tz, self.zone)
		return site_naive_to_aware(window.start, self.site_tz), site_naive_to_aware(window.end, self.site_tz)


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


def _serial_anchor(device: str, last_serial: int | None) -> counters.Anchor | None:
	"""The stored punch named by Last Serial No (the newest, if a restarted counter reused the serial)."""
	if not last_serial:
		return None
	rows = frappe.get_all(
		PUNCH,
		filters={"device": device, "serial_no": last_serial},
		fields=["event_key", "time"],
		order_by="creation desc",
		limit=1,
	)
	if not rows:
		return None
	return counters.Anchor(serial=last_serial, key=rows[0].event_key, time=get_datetime(rows[0].time))


def _stored_keys(device: str, serials: Iterable[int]) -> dict[int, set[str]]:
	"""The event keys stored for each of `serials` of the device."""
	wanted = sorted(set(serials))
	found: dict[int, set[str]] = {}
	for chunk in chunks(wanted, QUERY_CHUNK):
		for row in frappe.get_all(
			PUNCH,
			filters={"device": device, "serial_no": ["in", chunk]},
			fields=["serial_no", "event_key"],
		):
			found.setdefault(int(row.serial_no), set()).add(row.event_key)
	return found


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
			{"model": info.model, "firmware": info.firmware, "serial_number": info.serial_number},
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
			stored = _fetch_and_store(
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


@dataclass
class StoredFetch:
	"""A fetch whose punches are stored: the run's counts and Sync Log fields, the cursors to write, and the
	fetch's failure, if any."""

	fetched: int
	new_rows: list[P.PunchRow]
	log_fields: dict[str, Any]
	cursor_updates: dict[str, Any]
	failure: Exception | None


def _fetch_and_store(
	doc: Document,
	dev: _core.Device,
	info: _core.DeviceInfo,
	search_window: windows.Window,
	clock: DeviceClock,
	progress: Progress,
	log_name: str,
	*,
	scheduled: bool,
	limit: datetime,
) -> StoredFetch:
	"""Fetch the window as `fetch_plan` says, store its punches (committed), and work out the cursors."""
	device = doc.name
	replaced = counters.terminal_replaced(doc.serial_number, info.serial_number)
	last_serial = cint(doc.last_serial_no) or None
	cursors = fetch_plan.DeviceCursors(
		scheduled=scheduled,
		synced_up_to=dt(doc.synced_up_to),
		sync_start=dt(doc.sync_start),
		last_serial=last_serial,
		anchor=None if replaced else _serial_anchor(device, last_serial),
		replaced=replaced,
	)
	search = fetch_plan.first_search(
		cursors,
		search_window,
		serial_search=windows.use_serial_search(
			scheduled=scheduled,
			supported=bool(info.supports_serial_search),
			last_serial=last_serial,
			stored_serial_number=doc.serial_number,
			device_serial_number=info.serial_number,
		),
	)

	def punch_rows(events: Iterable[_core.Event]) -> P.FetchedPunches:
		return P.punch_rows(
			device, events, site_tz=clock.site_tz, direction=doc.punch_direction, reinterpret_zone=clock.zone
		)

	def stored_keys(rows: list[P.PunchRow]) -> dict[int, set[str]]:
		return _stored_keys(
			device,
			(
				r.serial_no
				for r in rows
				if r.serial_no is not None and last_serial and r.serial_no <= last_serial
			),
		)

	result, failure = _fetch(dev, search.window, clock, search.since, progress)
	fetched = punch_rows(result.events)
	rows = list(fetched.rows)
	pages, exchanges, events = result.stats.pages, result.stats.exchanges, fetched.events
	# Records the terminal answered that could not be read (the core's rejected items, times no zone can hold).
	unreadable = result.stats.rejected_items + fetched.unreadable
	verdict = fetch_plan.judge_answer(
		cursors,
		search,
		answered_by_serial=bool(result.serial_mode),
		reset_suspected=result.serial_reset_suspected,
		failed=failure is not None,
		rows=rows,
		stored_keys=stored_keys(rows),
	)
	searched, serial_mode = search.window, search.since is not None and bool(result.serial_mode)
	if verdict.search_by_time:
		result, failure = _fetch(dev, search_window, clock, None, progress)
		searched, serial_mode = search_window, False
		again = punch_rows(result.events)
		known = {r.name for r in rows}
		rows += [r for r in again.rows if r.name not in known]
		pages += result.stats.pages
		exchanges += result.stats.exchanges
		events += again.events
		unreadable += result.stats.rejected_items + again.unreadable
		verdict = fetch_plan.judge_time_search(cursors, verdict, rows=rows, stored_keys=stored_keys(rows))
	log_fields: dict[str, Any] = {
		"pages": pages,
		"exchanges": exchanges,
		"serial_mode": int(serial_mode),
		"unreadable_records": unreadable,
	}
	if verdict.reset is not None:
		log_fields.update(
			{"counter_reset": verdict.reset.kind, "counter_reset_details": verdict.reset.details}
		)

	new_rows = store_punches(rows, log_name)
	new_names = {r.name for r in new_rows}
	cursor_updates = fetch_plan.next_cursors(
		cursors,
		verdict,
		searched=searched,
		complete_until=clock.site_time(result.complete_until),
		limit=limit,
		failed=failure is not None,
		rows=rows,
		stored_before={r.name for r in rows if r.name not in new_names},
	)
	return StoredFetch(events, new_rows, log_fields, cursor_updates, failure)


def _fetch(
	dev: _core.Device, window: windows.Window, clock: DeviceClock, since: int | None, progress: Progress
) -> tuple[_core.FetchResult, Exception | None]:
	"""`_core.fetch_events` over the window; a device failure with events received returns them and the error."""
	start, end = clock.request(window)
	try:
		result = _core.fetch_events(
			dev,
			start,
			end,
			since_serial=since,
			on_progress=progress.fetch,
		)
	except _core.AttendanceSyncError as e:
		if e.partial is None:
			raise
		return e.partial, e
	return result, None


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
		updates["auth_blocked"] = 1
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
