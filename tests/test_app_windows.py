"""Window computation and cursor rules (Synced Up To); Last Serial No is in test_app_counters.py."""

from datetime import datetime, timedelta

import pytest

from attendance_sync.logic.windows import (
	FIRST_SYNC_LOOKBACK,
	MANUAL_WINDOW_MAX,
	Window,
	WindowError,
	completed_limit,
	cursor_limit,
	device_wall_clock,
	device_wall_window,
	manual_window,
	next_synced_up_to,
	scheduled_window,
	use_serial_search,
)

T = datetime(2024, 3, 10, 12, 0, 0)
OVERLAP = timedelta(minutes=10)


def test_scheduled_window_from_cursor_minus_overlap_to_device_clock():
	w = scheduled_window(
		synced_up_to=T, sync_start=datetime(2024, 1, 1), overlap=OVERLAP, device_now=T + timedelta(hours=1)
	)
	assert w == Window(T - OVERLAP, T + timedelta(hours=1))


def test_scheduled_window_never_before_sync_start():
	start = T - timedelta(minutes=5)
	w = scheduled_window(synced_up_to=T, sync_start=start, overlap=OVERLAP, device_now=T + timedelta(hours=1))
	assert w.start == start


def test_first_window_starts_at_sync_start():
	start = datetime(2024, 3, 1)
	w = scheduled_window(synced_up_to=None, sync_start=start, overlap=OVERLAP, device_now=T)
	assert w == Window(start, T)


def test_first_window_without_sync_start_looks_back_a_day():
	w = scheduled_window(synced_up_to=None, sync_start=None, overlap=OVERLAP, device_now=T)
	assert w == Window(T - FIRST_SYNC_LOOKBACK, T)


def test_window_end_is_the_device_clock_even_when_behind_the_cursor():
	w = scheduled_window(synced_up_to=T, sync_start=None, overlap=OVERLAP, device_now=T - timedelta(hours=3))
	assert w.empty
	assert not Window(T, T + timedelta(seconds=1)).empty


def test_manual_window_validation():
	now = T
	assert manual_window(T - timedelta(days=2), T, now=now) == Window(T - timedelta(days=2), T)
	with pytest.raises(WindowError, match="required"):
		manual_window(None, T, now=now)
	with pytest.raises(WindowError, match="before"):
		manual_window(T, T, now=now)
	with pytest.raises(WindowError, match="before"):
		manual_window(T, T - timedelta(hours=1), now=now)
	with pytest.raises(WindowError, match="future"):
		manual_window(T + timedelta(hours=1), T + timedelta(hours=2), now=now)


def test_manual_window_limit_is_31_days():
	assert MANUAL_WINDOW_MAX == timedelta(days=31)
	manual_window(T - timedelta(days=31), T, now=T)
	with pytest.raises(WindowError, match="31"):
		manual_window(T - timedelta(days=31, seconds=1), T, now=T)


def test_cursor_limit_is_the_earlier_clock():
	assert cursor_limit(T + timedelta(hours=2), T) == T
	assert cursor_limit(T - timedelta(hours=2), T) == T - timedelta(hours=2)


def test_cursor_moves_to_window_end_after_a_contiguous_run():
	w = Window(T - OVERLAP, T + timedelta(hours=1))
	assert next_synced_up_to(T, w, floor=None, limit=T + timedelta(days=1)) == T + timedelta(hours=1)


def test_cursor_never_passes_the_limit():
	w = Window(T - OVERLAP, T + timedelta(hours=5))
	assert next_synced_up_to(T, w, floor=None, limit=T + timedelta(hours=1)) == T + timedelta(hours=1)


def test_manual_window_never_moves_cursor_backwards():
	w = Window(T - timedelta(days=10), T - timedelta(days=9))
	assert next_synced_up_to(T, w, floor=None, limit=T + timedelta(days=1)) == T


def test_window_with_a_gap_does_not_move_the_cursor():
	w = Window(T + timedelta(hours=1), T + timedelta(hours=2))
	assert next_synced_up_to(T, w, floor=None, limit=T + timedelta(days=1)) == T


def test_manual_window_overlapping_the_cursor_extends_it():
	w = Window(T - timedelta(days=1), T + timedelta(hours=3))
	assert next_synced_up_to(T, w, floor=None, limit=T + timedelta(hours=4)) == T + timedelta(hours=3)


def test_first_run_establishes_cursor_only_from_sync_start():
	floor = datetime(2024, 3, 1)
	assert next_synced_up_to(None, Window(floor, T), floor=floor, limit=T) == T
	assert next_synced_up_to(None, Window(floor + timedelta(days=1), T), floor=floor, limit=T) is None
	assert next_synced_up_to(None, Window(floor, T), floor=None, limit=T) is None


def test_completed_limit():
	assert completed_limit(T, None) == T
	assert completed_limit(T, T - timedelta(hours=1)) == T - timedelta(hours=1)
	assert completed_limit(T - timedelta(hours=2), T) == T - timedelta(hours=2)


def test_use_serial_search():
	base = dict(
		scheduled=True,
		supported=True,
		last_serial=500,
		stored_serial_number="DS-1",
		device_serial_number="DS-1",
	)
	assert use_serial_search(**base)
	assert not use_serial_search(**{**base, "scheduled": False})
	assert not use_serial_search(**{**base, "supported": False})
	assert not use_serial_search(**{**base, "last_serial": None})
	# A swapped terminal counts from 1 again.
	assert not use_serial_search(**{**base, "device_serial_number": "DS-2"})
	assert use_serial_search(**{**base, "stored_serial_number": None})


def test_re_interpreted_window_is_sent_as_the_wall_clock_of_the_device_zone():
	# Site in Dhaka (+06:00), terminal clock showing Berlin time: 12:00 in Dhaka is 07:00 in Berlin in winter.
	assert device_wall_clock(datetime(2024, 1, 10, 12), "Asia/Dhaka", "Europe/Berlin") == datetime(
		2024, 1, 10, 7
	)
	assert device_wall_clock(datetime(2024, 1, 10, 12), "Asia/Dhaka", "+01:00") == datetime(2024, 1, 10, 7)


def test_re_interpreted_window_across_a_dst_change_gets_each_ends_offset():
	# Berlin moves to summer time on 2024-03-31 at 02:00 (+01:00 -> +02:00). A window from the 30th to the 1st, in
	# UTC site time: its start is read at +01:00, its end at +02:00, not both at one offset taken "now".
	start = device_wall_clock(datetime(2024, 3, 30, 12), "UTC", "Europe/Berlin")
	end = device_wall_clock(datetime(2024, 4, 1, 12), "UTC", "Europe/Berlin")
	assert (start, end) == (datetime(2024, 3, 30, 13), datetime(2024, 4, 1, 14))


def test_re_interpreting_needs_a_zone():
	with pytest.raises(ValueError):
		device_wall_clock(datetime(2024, 1, 10, 12), "UTC", "")


def test_re_interpreted_window_across_the_repeated_hour_holds_every_event():
	# Berlin sets its clocks back on 2024-10-27 at 03:00 (+02:00 -> +01:00). A 20-minute window across it, in
	# UTC site time (00:50-01:10 UTC), is 02:50-03:00 (+02:00) and then 02:00-02:10 (+01:00) on the terminal's
	# wall clock: "02:50 to 02:10", backwards. The span sent must hold both passes.
	window = Window(datetime(2024, 10, 27, 0, 50), datetime(2024, 10, 27, 1, 10))
	start, end = device_wall_window(window, "UTC", "Europe/Berlin")
	assert start <= datetime(2024, 10, 27, 2, 0) and end >= datetime(2024, 10, 27, 3, 0)
	assert (start, end) == (datetime(2024, 10, 27, 1, 50), datetime(2024, 10, 27, 3, 10))
	# Across the spring change the wall-clock span (02:00 does not exist) is longer than the window: as it is.
	spring = Window(datetime(2024, 3, 31, 0, 50), datetime(2024, 3, 31, 1, 10))
	assert device_wall_window(spring, "UTC", "Europe/Berlin") == (
		datetime(2024, 3, 31, 1, 50),
		datetime(2024, 3, 31, 3, 10),
	)
	# Elsewhere the span is the window's own.
	plain = Window(datetime(2024, 10, 20, 0, 50), datetime(2024, 10, 20, 1, 10))
	assert device_wall_window(plain, "UTC", "Europe/Berlin") == (
		datetime(2024, 10, 20, 2, 50),
		datetime(2024, 10, 20, 3, 10),
	)
