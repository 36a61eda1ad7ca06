"""Which time span a run fetches, and where the device's cursors stand afterwards.

All datetimes here are naive, in the site's time zone, like the Datetime fields they come from.

Last Serial No and counter resets: see `counters`.

Cursor rules (Synced Up To):
- it moves only after a run whose punches and check-ins are committed (the caller calls `next_synced_up_to`
  only then);
- it never moves backwards, whatever window a manual run used;
- it moves only when the run's window starts at or before what is already covered (so no gap is skipped);
- it never passes the earlier of the device's clock and the server's clock: a device clock that runs ahead
  must not promise HRMS punches that have not happened yet.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from attendance_sync.logic.i18n import _
from attendance_sync.logic.timezones import (
	normalize_device_time_zone,
	parse_utc_offset,
	site_naive_to_aware,
	zone,
)

MANUAL_WINDOW_MAX = timedelta(days=31)
# A device with neither Synced Up To nor Sync Start (a record saved before Sync Start was filled in) starts here.
FIRST_SYNC_LOOKBACK = timedelta(days=1)


class WindowError(ValueError):
	"""A manual window the user has to correct; the message says how."""


@dataclass(frozen=True)
class Window:
	start: datetime
	end: datetime

	@property
	def empty(self) -> bool:
		return self.end <= self.start


def scheduled_window(
	*,
	synced_up_to: datetime | None,
	sync_start: datetime | None,
	overlap: timedelta,
	device_now: datetime,
) -> Window:
	"""From Synced Up To minus the overlap (never before Sync Start) to the device's clock now."""
	if synced_up_to is not None:
		start = synced_up_to - overlap
		if sync_start is not None:
			start = max(start, sync_start)
	elif sync_start is not None:
		start = sync_start
	else:
		start = device_now - FIRST_SYNC_LOOKBACK
	return Window(start=start, end=device_now)


def manual_window(start: datetime | None, end: datetime | None, *, now: datetime) -> Window:
	"""Validate a Fetch Check-in window: both ends, From before To, From not in the future, at most 31 days."""
	if start is None or end is None:
		raise WindowError(_("Both From and To are required"))
	if start >= end:
		raise WindowError(_("From must be before To"))
	if start > now:
		raise WindowError(_("From is in the future"))
	if end - start > MANUAL_WINDOW_MAX:
		raise WindowError(
			_("The window is longer than {0} days; fetch it in parts").format(MANUAL_WINDOW_MAX.days)
		)
	return Window(start=start, end=end)


def cursor_limit(device_now: datetime, server_now: datetime) -> datetime:
	"""The furthest Synced Up To may go after a run: the earlier clock."""
	return min(device_now, server_now)


def completed_limit(limit: datetime, complete_until: datetime | None) -> datetime:
	"""The cursor limit after a fetch that received every event before `complete_until` (site time)."""
	return limit if complete_until is None else min(limit, complete_until)


def next_synced_up_to(
	current: datetime | None,
	window: Window,
	*,
	floor: datetime | None,
	limit: datetime,
) -> datetime | None:
	"""Synced Up To after a committed run over `window` (see the module docstring for the rules).

	`floor` is Sync Start: a first run covers everything from there, so a window that starts at or before it
	establishes the cursor.
	"""
	covered = current if current is not None else floor
	if covered is None or window.start > covered:
		return current
	candidate = min(window.end, limit)
	if current is not None and candidate <= current:
		return current
	if current is None and floor is not None and candidate <= floor:
		return current
	return candidate


def use_serial_search(
	*,
	scheduled: bool,
	supported: bool,
	last_serial: int | None,
	stored_serial_number: str | None,
	device_serial_number: str | None,
) -> bool:
	"""Whether a run may search by serial number after Last Serial No instead of by time alone.

	Only scheduled runs (a manual window is about time), only where the device supports it, and never when the
	terminal's hardware serial number changed (a swapped device counts from 1 again).
	"""
	if not (scheduled and supported and last_serial):
		return False
	return not (
		stored_serial_number and device_serial_number and stored_serial_number != device_serial_number
	)


def device_wall_clock(value: datetime, site_tz: str, device_time_zone: str) -> datetime:
	"""A naive site time as the naive wall clock of Device Time Zone (a UTC offset or a zone name).

	With Time Zone Handling "Re-interpret in Device Time Zone" the terminal's clock shows local time under a wrong
	zone setting, so a window is sent as that wall clock, without an offset of ours (the core formats it in the
	terminal's own offset, which the terminal maps back to the same digits). A zone name is applied at each end's
	own instant, so a window across a daylight-saving change gets each side's offset.
	"""
	normalized = normalize_device_time_zone(device_time_zone)
	if normalized is None:
		raise ValueError(_("Re-interpreting a device time needs a Device Time Zone"))
	try:
		tz: tzinfo = timezone(parse_utc_offset(normalized))
	except ValueError:
		tz = zone(normalized)
	return site_naive_to_aware(value, site_tz).astimezone(tz).replace(tzinfo=None)


def device_wall_window(window: Window, site_tz: str, device_time_zone: str) -> tuple[datetime, datetime]:
	"""A window as the wall-clock span of Device Time Zone that holds every event of it.

	Where the zone sets its clocks back inside the window, the wall clock runs on, jumps back by the change and runs
	on again (it may even end before it started): the span is widened by the change on both sides, so it holds
	both passes. (Where clocks go forward, the wall-clock span is longer than the window and holds it already.)
	"""
	start = device_wall_clock(window.start, site_tz, device_time_zone)
	end = device_wall_clock(window.end, site_tz, device_time_zone)
	utc = timezone.utc
	real = site_naive_to_aware(window.end, site_tz).astimezone(utc) - site_naive_to_aware(
		window.start, site_tz
	).astimezone(utc)
	if end - start < real:
		start, end = min(start, end - real), max(end, start + real)
	return start, end
