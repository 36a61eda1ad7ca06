"""A terminal's event counter: when it restarted, and what the serial cursor (Last Serial No) does then.

A terminal numbers its events 1, 2, 3, ... (`serialNo`). The counter restarts at 1 after a factory reset or some
firmware upgrades, and a replaced terminal kept under the same Device Configuration has its own counter. Device
Punches are keyed by serial and wall-clock time (`punches.serial_event_key`), so new events are never taken for
old ones; what remains is to notice the restart, say so in the Sync Log, and keep the serial cursor honest:

- Last Serial No is the highest serial of a stored punch, so it always names a stored row: the *anchor*, whose
  serial and wall-clock time are known.
- A search by serial asks from the anchor's serial on and must get the anchor back with the same time; otherwise
  the counter restarted (or the anchor is gone) and the run searches by time instead, which misses nothing.
- A search by time detects a restart when a serial at or below Last Serial No comes back with another time than
  the stored punch of that serial, or, where no punch of that serial is stored, later than the anchor.
- A search by serial also returns the events numbered at or below the anchor recorded after it (the core asks
  for them): a restarted counter whose terminal kept its log numbers new events there.
- A new hardware serial number is a replaced terminal.
After a restart Last Serial No follows the new counter (a scheduled run, which reaches the present) or is cleared
(a manual window, which may lie anywhere in the past), so the next search by serial asks for serials that exist.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from attendance_sync.logic.i18n import _

RESTARTED = "Counter Restarted"
REPLACED = "Terminal Replaced"
COUNTER_RESETS = (RESTARTED, REPLACED)

# How much earlier than the anchor's time a search by serial starts. The search names both a time window and a
# serial range: the anchor must fall inside the window whatever rounding its time went through, and so must the
# events recorded after it under a clock set back (a daylight-saving or NTP correction, a wrong setting fixed),
# which carry earlier times than the anchor. The serial range keeps the answer to the new events.
ANCHOR_MARGIN = timedelta(days=2)


class RowLike(Protocol):
	"""A punch row as the counter rules read it (`punches.PunchRow`, frozen: read-only members)."""

	@property
	def name(self) -> str: ...
	@property
	def serial_no(self) -> int | None: ...
	@property
	def event_key(self) -> str: ...
	@property
	def time(self) -> datetime: ...


@dataclass(frozen=True)
class Anchor:
	"""The stored punch whose serial is Last Serial No."""

	serial: int
	key: str
	time: datetime


@dataclass(frozen=True)
class CounterReset:
	kind: str
	details: str


def terminal_replaced(
	stored_serial_number: str | None, device_serial_number: str | None
) -> CounterReset | None:
	"""A replaced terminal: the hardware serial number read now differs from the one stored."""
	if stored_serial_number and device_serial_number and stored_serial_number != device_serial_number:
		return CounterReset(
			REPLACED,
			_(
				"The terminal's hardware serial number changed from {0} to {1}: a different terminal answers at "
				"this address. Its events are stored as new ones; the serial cursor follows its counter."
			).format(stored_serial_number, device_serial_number),
		)
	return None


def anchor_confirmed(anchor: Anchor, rows: Iterable[RowLike]) -> bool:
	"""Whether a search by serial from the anchor on returned the anchor itself, at its stored time."""
	return any(r.serial_no == anchor.serial and r.event_key == anchor.key for r in rows)


def search_start(window_start: datetime, anchor: Anchor, floor: datetime | None = None) -> datetime:
	"""Where a search by serial from the anchor on starts: early enough to return the anchor itself and the
	events recorded after it under a clock set back, never before `floor` (Sync Start) unless the window does."""
	start = anchor.time - ANCHOR_MARGIN
	if floor is not None:
		start = max(start, floor)
	return min(window_start, start)


def detect_restart(
	*,
	last_serial: int | None,
	anchor: Anchor | None,
	rows: Iterable[RowLike],
	stored_keys: Mapping[int, Collection[str]],
) -> CounterReset | None:
	"""A restarted counter, seen in the punch rows of a fetch.

	`stored_keys` holds, for serials at or below `last_serial` among `rows`, the event keys already stored for
	that serial. A serial whose stored keys do not include the fetched one is a new event under an old number.
	A serial with no stored punch (pruned, or an old non-punch event) counts when it is later than the anchor:
	an older counter value cannot describe a newer event.
	"""
	if last_serial is None:
		return None
	for row in sorted(rows, key=lambda r: (r.serial_no or 0, r.time)):
		serial = row.serial_no
		if serial is None or serial > last_serial:
			continue
		known = stored_keys.get(serial)
		if known:
			if row.event_key not in known:
				return CounterReset(
					RESTARTED,
					_(
						"Serial {0} came back for an event at {1}, but the punch stored under serial {0} is another "
						"event: the terminal's event counter restarted (factory reset or firmware upgrade). The new "
						"events are stored as new punches; the serial cursor follows the new counter."
					).format(serial, row.time),
				)
		elif anchor is not None and row.time > anchor.time:
			return CounterReset(
				RESTARTED,
				_(
					"Serial {0} at {1} is below Last Serial No {2} (stored at {3}) but later: the terminal's event "
					"counter restarted (factory reset or firmware upgrade). The new events are stored as new "
					"punches; the serial cursor follows the new counter."
				).format(serial, row.time, anchor.serial, anchor.time),
			)
	return None


def reported_restart(since_serial: int) -> CounterReset:
	"""The core's own finding (`FetchResult.serial_reset_suspected`): nothing came after `since_serial`, and a
	search by time found events numbered at or below it that were recorded after it."""
	return CounterReset(
		RESTARTED,
		_(
			"The terminal has no events after serial {0}, but events numbered at or below it were recorded later: "
			"its event counter restarted (factory reset or firmware upgrade). The new events are stored as new "
			"punches; the serial cursor follows the new counter."
		).format(since_serial),
	)


def counter_reached(
	rows: Iterable[RowLike],
	*,
	anchor: Anchor | None,
	reset: bool,
	stored_before: Collection[str],
) -> int | None:
	"""The serial the terminal's counter reached, as a scheduled run's punch rows show it (what Last Serial No
	may become); `stored_before` names the rows that were stored before the run.

	After a counter reset, the serial of the latest event: the old counter stopped before the new one began.
	Otherwise the highest serial, leaving out the rows numbered above the anchor but recorded before it that
	were stored before: a terminal that keeps its log across a restart still holds the old counter's events
	under serials the new counter has not reached, and a search by serial returns them again. (Events after a
	clock set back also sit above the anchor with earlier times, but they are new rows.)
	"""
	numbered = [r for r in rows if r.serial_no is not None]
	if reset:
		latest = max(numbered, key=lambda r: (r.time, r.serial_no or 0), default=None)
		return latest.serial_no if latest else None
	return max(
		(
			r.serial_no
			for r in numbered
			if r.serial_no is not None
			and not (
				anchor is not None
				and r.serial_no > anchor.serial
				and r.time < anchor.time
				and r.name in stored_before
			)
		),
		default=None,
	)


def next_last_serial(
	current: int | None,
	fetched: int | None,
	*,
	scheduled: bool,
	reset: bool = False,
	anchored: bool = True,
) -> int | None:
	"""Last Serial No after a committed run whose punches went up to serial `fetched`.

	Only a scheduled run moves it: a scheduled run fetches everything from Synced Up To on, so every serial up to
	its highest is stored. A manual window may lie after a gap the scheduled runs have not fetched yet (a terminal
	that was offline for days, then fetched for today by hand): raising the serial cursor from it would make the
	next search by serial start after the gap's events. A manual run leaves it alone, except after a counter reset,
	when it clears it and the next scheduled run searches by time and sets it.
	It only grows, except after a counter reset (or when the stored value names no stored punch, as after an
	upgrade from a version that counted every event): a scheduled run reaches the device's present, so its highest
	serial is the counter's.
	"""
	if not scheduled:
		return None if reset else current
	if reset:
		return fetched
	if not anchored:
		return fetched
	if fetched is None:
		return current
	if current is None or fetched > current:
		return fetched
	return current
