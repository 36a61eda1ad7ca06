"""A device run's fetch as a plan: which search to ask the terminal for, what its answer shows about the
terminal's event counter, and where the run's cursors go. Plain rules (no frappe, no core); the device job
(`fetching.fetch_and_store`) asks, stores and writes around them.

- A scheduled run searches by serial from the anchor (the stored punch of Last Serial No) on, where the terminal
  supports it; otherwise, and for a manual window, it searches the window by time.
- When the anchor does not come back at its time, or serials come back for other events, the counter restarted
  (or the anchor is gone): a search by serial cannot reach the new events numbered below it, and the window is
  searched again by time. Every answer is checked for a restarted counter or a replaced terminal.
- Synced Up To moves to what the answers prove complete; Last Serial No as `counters.next_last_serial` says.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from attendance_sync.logic import counters, windows


@dataclass(frozen=True)
class DeviceCursors:
	"""What a run knows of its device before fetching."""

	scheduled: bool
	synced_up_to: datetime | None
	sync_start: datetime | None
	last_serial: int | None
	# The stored punch of Last Serial No; None without one, or when the terminal was replaced.
	anchor: counters.Anchor | None
	replaced: counters.CounterReset | None = None


@dataclass(frozen=True)
class Search:
	window: windows.Window
	# A search by serial after this one (the anchor's own serial comes back, to confirm it); None: by time.
	since: int | None = None


@dataclass(frozen=True)
class Verdict:
	"""What the answers showed."""

	reset: counters.CounterReset | None
	# Whether Last Serial No still names a punch of the terminal's counter (`counters.next_last_serial`).
	anchored: bool
	# The window must be searched again, by time.
	search_by_time: bool = False
	# Whether the answer's `complete_until` holds: an interrupted search by serial whose anchor did not come back
	# proves nothing about what is missing.
	confirmed: bool = True


def first_search(cursors: DeviceCursors, window: windows.Window, *, serial_search: bool) -> Search:
	"""By serial from the anchor on where `serial_search` (`windows.use_serial_search`) and an anchor is stored,
	starting early enough to return the anchor and the events after it under a clock set back; else by time."""
	anchor = cursors.anchor
	if anchor is None or not serial_search:
		return Search(window)
	start = counters.search_start(window.start, anchor, floor=cursors.sync_start)
	return Search(windows.Window(start, window.end), since=anchor.serial - 1)


def judge_answer(
	cursors: DeviceCursors,
	search: Search,
	*,
	answered_by_serial: bool,
	reset_suspected: bool,
	failed: bool,
	rows: Iterable[counters.RowLike],
	stored_keys: Mapping[int, Collection[str]],
) -> Verdict:
	"""The first answer: `answered_by_serial` is the core's `serial_mode` (false when it found nothing after the
	anchor and searched by time itself), `reset_suspected` its `serial_reset_suspected`, `failed` whether the
	fetch stopped part-way; `stored_keys` as `counters.detect_restart` takes them."""
	rows = list(rows)
	anchor = cursors.anchor
	reset = cursors.replaced
	if reset is None and search.since is not None and reset_suspected:
		reset = counters.reported_restart(search.since)
	if reset is None:
		reset = counters.detect_restart(
			last_serial=cursors.last_serial, anchor=anchor, rows=rows, stored_keys=stored_keys
		)
	anchored = cursors.last_serial is None or anchor is not None
	by_serial = search.since is not None and answered_by_serial
	if by_serial and anchor is not None and (reset or not counters.anchor_confirmed(anchor, rows)):
		# Interrupted, nothing is asked again (it may have been a rejected login).
		return Verdict(reset, anchored=False, search_by_time=not failed, confirmed=not failed)
	if search.since is not None and not answered_by_serial:
		anchored = False  # the core found nothing after the anchor: its serial is gone
	return Verdict(reset, anchored=anchored)


def judge_time_search(
	cursors: DeviceCursors,
	verdict: Verdict,
	*,
	rows: Iterable[counters.RowLike],
	stored_keys: Mapping[int, Collection[str]],
) -> Verdict:
	"""After the window was searched again by time: the restart the whole answer shows, if the first did not."""
	reset = verdict.reset or counters.detect_restart(
		last_serial=cursors.last_serial, anchor=cursors.anchor, rows=rows, stored_keys=stored_keys
	)
	return replace(verdict, reset=reset, search_by_time=False)


def next_cursors(
	cursors: DeviceCursors,
	verdict: Verdict,
	*,
	searched: windows.Window,
	complete_until: datetime,
	limit: datetime,
	failed: bool,
	rows: Iterable[counters.RowLike],
	stored_before: Collection[str],
) -> dict[str, datetime | int | None]:
	"""Synced Up To (and Last Serial No, after a fetch that did not fail) once the rows are stored.

	`complete_until` (site time) is where the core can prove it received everything; `limit` the furthest the
	cursor may go (`windows.cursor_limit`); `stored_before` names the rows stored before this run."""
	proven = complete_until if verdict.confirmed else searched.start
	updates: dict[str, datetime | int | None] = {
		"synced_up_to": windows.next_synced_up_to(
			cursors.synced_up_to,
			searched,
			floor=cursors.sync_start,
			limit=windows.completed_limit(limit, proven),
		)
	}
	if not failed:
		updates["last_serial_no"] = counters.next_last_serial(
			cursors.last_serial,
			counters.counter_reached(
				rows, anchor=cursors.anchor, reset=verdict.reset is not None, stored_before=stored_before
			),
			scheduled=cursors.scheduled,
			reset=verdict.reset is not None,
			anchored=verdict.anchored,
		)
	return updates
