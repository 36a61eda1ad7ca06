"""Window computation and cursor rules (Synced Up To, Last Serial No)."""

from datetime import datetime, timedelta

import pytest

from attendance_sync.logic.windows import (
	FIRST_SYNC_LOOKBACK,
	MANUAL_WINDOW_MAX,
	Window,
	WindowError,
	completed_limit,
	cursor_limit,
	manual_window,
	next_last_serial,
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


def test_last_serial_only_grows():
	assert next_last_serial(None, 10, serial_mode=True, scheduled=True) == 10
	assert next_last_serial(10, 25, serial_mode=True, scheduled=True) == 25
	assert next_last_serial(25, None, serial_mode=True, scheduled=True) == 25
	assert next_last_serial(25, 20, serial_mode=True, scheduled=True) == 25
	# A manual window of the past naturally ends below the stored serial.
	assert next_last_serial(25, 20, serial_mode=False, scheduled=False) == 25


def test_last_serial_follows_a_device_reset_seen_by_a_scheduled_time_window():
	assert next_last_serial(19_353, 42, serial_mode=False, scheduled=True) == 42


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
