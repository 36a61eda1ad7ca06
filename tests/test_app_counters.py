"""A terminal's event counter: restarts, replaced terminals, the serial anchor and Last Serial No."""

from datetime import datetime, timedelta, timezone

from event_values import Ev

from attendance_sync.logic import counters as C
from attendance_sync.logic import punches as P

TZ = timezone(timedelta(hours=6))
SITE = "Asia/Dhaka"


def rows(*events: Ev) -> list[P.PunchRow]:
	return P.punch_rows("Gate", events, site_tz=SITE, direction=P.PunchDirection()).rows


def at(day: int, hour: int, minute: int = 0) -> datetime:
	return datetime(2024, 3, day, hour, minute, tzinfo=TZ)


# Before the reset: serials 1..5 on the 1st; Last Serial No 5.
OLD = rows(*(Ev(n, "1", at(1, 8, n)) for n in range(1, 6)))
STORED = {r.serial_no: {r.event_key} for r in OLD}
ANCHOR = C.Anchor(serial=5, key=OLD[-1].event_key, time=OLD[-1].time)


def test_a_serial_back_at_another_time_is_a_restarted_counter():
	after_reset = rows(Ev(1, "2", at(2, 9)), Ev(2, "3", at(2, 9, 5)))
	reset = C.detect_restart(
		last_serial=5, anchor=ANCHOR, rows=after_reset, stored_keys={1: STORED[1], 2: STORED[2]}
	)
	assert reset is not None and reset.kind == C.RESTARTED
	assert "Serial 1" in reset.details and "restarted" in reset.details


def test_the_overlap_of_a_healthy_terminal_is_no_restart():
	refetched = rows(Ev(4, "1", at(1, 8, 4)), Ev(5, "1", at(1, 8, 5)), Ev(6, "1", at(1, 9)))
	assert C.detect_restart(last_serial=5, anchor=ANCHOR, rows=refetched, stored_keys=STORED) is None


def test_a_serial_below_the_cursor_with_no_stored_punch_counts_when_later_than_the_anchor():
	# Serial 3 was a door event (never stored) before the reset; after it, serial 3 is a punch a day later.
	later = rows(Ev(3, "1", at(2, 10)))
	reset = C.detect_restart(last_serial=5, anchor=ANCHOR, rows=later, stored_keys={})
	assert reset is not None and reset.kind == C.RESTARTED
	# Earlier than the anchor it proves nothing (an old event not stored as a punch).
	earlier = rows(Ev(3, "1", at(1, 7)))
	assert C.detect_restart(last_serial=5, anchor=ANCHOR, rows=earlier, stored_keys={}) is None


def test_nothing_to_compare_without_a_serial_cursor():
	assert (
		C.detect_restart(last_serial=None, anchor=None, rows=rows(Ev(1, "1", at(2, 9))), stored_keys={})
		is None
	)


def test_a_new_hardware_serial_number_is_a_replaced_terminal():
	reset = C.terminal_replaced("DS-K1T341-AAA", "DS-K1T341-BBB")
	assert reset is not None and reset.kind == C.REPLACED
	assert "DS-K1T341-AAA" in reset.details and "DS-K1T341-BBB" in reset.details
	assert C.terminal_replaced("DS-K1T341-AAA", "DS-K1T341-AAA") is None
	# A firmware that reports no serial number, or a device never read before, proves nothing.
	assert C.terminal_replaced(None, "DS-K1T341-BBB") is None
	assert C.terminal_replaced("DS-K1T341-AAA", None) is None


def test_the_anchor_must_come_back_at_its_time():
	assert C.anchor_confirmed(ANCHOR, rows(Ev(5, "1", at(1, 8, 5)), Ev(6, "1", at(1, 9))))
	# The counter restarted and has passed 5 again: serial 5 is another event.
	assert not C.anchor_confirmed(ANCHOR, rows(Ev(5, "4", at(3, 11)), Ev(6, "1", at(3, 12))))
	# The counter restarted and is still below 5: nothing from 5 on.
	assert not C.anchor_confirmed(ANCHOR, [])


def test_a_search_by_serial_starts_early_enough_for_the_anchor():
	window_start = ANCHOR.time + timedelta(days=2)
	assert C.search_start(window_start, ANCHOR) == ANCHOR.time - C.ANCHOR_MARGIN
	assert C.search_start(ANCHOR.time - timedelta(days=3), ANCHOR) == ANCHOR.time - timedelta(days=3)


def test_a_search_by_serial_reaches_events_stamped_before_the_anchor_by_a_clock_set_back():
	# The terminal's clock went back two hours after the anchor: the events after it carry earlier times.
	stepped_back = ANCHOR.time - timedelta(hours=2)
	assert C.search_start(ANCHOR.time, ANCHOR) <= stepped_back
	# Never before Sync Start, unless the window itself starts there.
	floor = ANCHOR.time - timedelta(hours=3)
	assert C.search_start(ANCHOR.time, ANCHOR, floor=floor) == floor
	assert C.search_start(floor - timedelta(hours=1), ANCHOR, floor=floor) == floor - timedelta(hours=1)


def test_last_serial_only_grows_on_a_healthy_terminal():
	assert C.next_last_serial(None, 10, scheduled=True) == 10
	assert C.next_last_serial(10, 25, scheduled=True) == 25
	assert C.next_last_serial(25, None, scheduled=True) == 25
	assert C.next_last_serial(25, 20, scheduled=True) == 25
	# A manual window of the past naturally ends below the stored serial.
	assert C.next_last_serial(25, 20, scheduled=False) == 25


def test_a_manual_window_never_moves_the_serial_cursor():
	# A window after an outage ends above the serials of the days the scheduled runs have not fetched yet: the
	# next search by serial must still start from the last serial the scheduled runs stored.
	assert C.next_last_serial(25, 90, scheduled=False) == 25
	assert C.next_last_serial(None, 90, scheduled=False) is None


def test_last_serial_follows_a_restarted_counter():
	# A scheduled run reaches the device's present: its highest serial is the new counter's.
	assert C.next_last_serial(19_353, 42, scheduled=True, reset=True) == 42
	assert C.next_last_serial(19_353, None, scheduled=True, reset=True) is None
	# A manual window may lie anywhere in the past: cleared, the next scheduled run sets it by time.
	assert C.next_last_serial(19_353, 42, scheduled=False, reset=True) is None


def test_last_serial_without_a_stored_punch_is_rebased():
	# Stored by a version that counted every event (door events too), or pruned: it names no punch, so it cannot
	# anchor a search by serial; the next scheduled run's highest punch serial replaces it.
	assert C.next_last_serial(500, 480, scheduled=True, anchored=False) == 480
	assert C.next_last_serial(500, 480, scheduled=False, anchored=False) == 500


def test_the_counter_reached_is_the_highest_serial_of_a_healthy_terminal():
	assert C.counter_reached(OLD, anchor=None, reset=False, stored_before=()) == 5
	assert (
		C.counter_reached(rows(Ev(None, "1", at(1, 8))), anchor=None, reset=False, stored_before=()) is None
	)
	assert C.counter_reached([], anchor=None, reset=False, stored_before=()) is None
	# Events after a clock set back: above the anchor, earlier than it, new.
	stepped_back = rows(Ev(6, "1", at(1, 7)), Ev(7, "1", at(1, 7, 1)))
	assert C.counter_reached(stepped_back, anchor=ANCHOR, reset=False, stored_before=()) == 7
	# Stored before by a manual run or a push, and later than the anchor: the counter's own.
	later = rows(Ev(6, "1", at(1, 9)))
	assert C.counter_reached(later, anchor=ANCHOR, reset=False, stored_before={later[0].name}) == 6


def test_the_counter_reached_after_a_restart_is_the_new_counters():
	# The terminal kept its log: old serials 4-5 and the new counter's 1-2 come back in one run.
	kept = OLD[3:] + rows(Ev(1, "2", at(2, 9)), Ev(2, "3", at(2, 9, 5)))
	assert C.counter_reached(kept, anchor=ANCHOR, reset=True, stored_before={r.name for r in OLD}) == 2
	# The next run's search by serial from the new anchor returns the old log's serials above it again.
	new_anchor = C.Anchor(serial=2, key=kept[-1].event_key, time=kept[-1].time)
	again = OLD[2:] + rows(Ev(2, "3", at(2, 9, 5)), Ev(3, "4", at(2, 10)))
	stored = {r.name for r in again[:-1]}
	assert C.counter_reached(again, anchor=new_anchor, reset=False, stored_before=stored) == 3


def test_the_cores_own_finding_is_a_restart():
	reset = C.reported_restart(41)
	assert reset.kind == C.RESTARTED and "serial 41" in reset.details
