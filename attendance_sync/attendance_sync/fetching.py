"""A device run's fetch: the terminal asked as `logic/fetch_plan.py` says, its punches stored (committed), the
cursors worked out. The device job (`jobs.sync_device`) applies what comes back."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import frappe
from frappe.model.document import Document
from frappe.utils import cint, get_datetime

from attendance_sync import _core
from attendance_sync.attendance_sync.common import PUNCH, QUERY_CHUNK, chunks, dt
from attendance_sync.attendance_sync.doctype.device_punch.device_punch import store_punches
from attendance_sync.attendance_sync.realtime import Progress
from attendance_sync.attendance_sync.terminal import DeviceClock, punch_direction
from attendance_sync.logic import counters, fetch_plan, windows
from attendance_sync.logic import punches as P


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


@dataclass
class StoredFetch:
	"""A fetch whose punches are stored: the run's counts and Sync Log fields, the cursors to write, and the
	fetch's failure, if any."""

	fetched: int
	new_rows: list[P.PunchRow]
	log_fields: dict[str, Any]
	cursor_updates: dict[str, Any]
	failure: Exception | None


def fetch_and_store(
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

	direction = punch_direction(doc)

	def punch_rows(events: Iterable[_core.Event]) -> P.FetchedPunches:
		return P.punch_rows(
			device,
			events,
			site_tz=clock.site_tz,
			direction=direction,
			reinterpret_zone=clock.zone,
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
