"""Due-ness by Sync Frequency, device health indicators, enqueue selection and the Shift Type cursor."""

from datetime import datetime, timedelta

from attendance_sync.logic import schedule as S

NOW = datetime(2024, 3, 10, 12, 0, 10)


def test_never_synced_device_is_due():
	assert S.is_due("Daily", None, NOW)


def test_due_by_frequency_with_tick_jitter():
	# Synced at the previous tick but finished 40 s late: still due at this tick.
	assert S.is_due("Every 15 Minutes", NOW - timedelta(minutes=14, seconds=20), NOW)
	assert not S.is_due("Every 15 Minutes", NOW - timedelta(minutes=5), NOW)
	assert S.is_due("Hourly", NOW - timedelta(minutes=59), NOW)
	assert not S.is_due("Hourly", NOW - timedelta(minutes=45), NOW)
	assert S.is_due("Daily", NOW - timedelta(hours=23, minutes=55), NOW)
	assert not S.is_due("Daily", NOW - timedelta(hours=12), NOW)


def test_unknown_frequency_falls_back_to_daily():
	assert S.interval(None) == timedelta(days=1)
	assert S.interval("Weekly") == timedelta(days=1)


def health(**kw):
	base = dict(
		enabled=True,
		auth_blocked=False,
		last_sync_status="Success",
		synced_up_to=NOW - timedelta(minutes=20),
		frequency="Hourly",
		now=NOW,
	)
	base.update(kw)
	return S.health(**base)


def test_health_states():
	assert health() == S.SYNCED
	assert health(synced_up_to=NOW - timedelta(hours=2, minutes=1)) == S.STALE
	assert health(last_sync_status="Failed") == S.FAILING
	assert health(auth_blocked=True) == S.FAILING
	assert health(synced_up_to=None, last_sync_status=None) == S.NEVER
	assert health(enabled=False, last_sync_status="Failed") == S.DISABLED
	assert health(last_sync_status="Partial") == S.SYNCED


def test_pick_for_enqueue_most_overdue_first_within_limit():
	candidates = [
		S.Candidate("b", NOW - timedelta(hours=1)),
		S.Candidate("a", None),
		S.Candidate("c", NOW - timedelta(hours=5)),
	]
	assert S.pick_for_enqueue(candidates, active=0, limit=0) == ["a", "c", "b"]
	assert S.pick_for_enqueue(candidates, active=1, limit=3) == ["a", "c"]
	assert S.pick_for_enqueue(candidates, active=5, limit=3) == []


def dev(name, synced, enabled=True, status="Success"):
	return S.FeedingDevice(name=name, enabled=enabled, synced_up_to=synced, last_sync_status=status)


T = datetime(2024, 3, 10, 8, 0)


def test_shift_cursor_is_the_minimum_over_enabled_devices():
	devices = [dev("a", T + timedelta(hours=2)), dev("b", T + timedelta(hours=1))]
	assert S.shift_type_cursor(None, devices) == T + timedelta(hours=1)


def test_shift_cursor_ignores_disabled_devices():
	devices = [dev("a", T + timedelta(hours=2)), dev("b", T - timedelta(days=3), enabled=False)]
	assert S.shift_type_cursor(T, devices) == T + timedelta(hours=2)


def test_shift_cursor_waits_for_a_device_never_synced():
	devices = [dev("a", T + timedelta(hours=2)), dev("b", None, status=None)]
	assert S.shift_type_cursor(T, devices) == T


def test_shift_cursor_never_passes_a_failing_device():
	# b's last run failed, so its Synced Up To stayed where its last good run left it.
	devices = [dev("a", T + timedelta(hours=5)), dev("b", T + timedelta(hours=1), status="Failed")]
	assert S.shift_type_cursor(T, devices) == T + timedelta(hours=1)


def test_shift_cursor_never_moves_backwards():
	devices = [dev("a", T - timedelta(hours=1))]
	assert S.shift_type_cursor(T, devices) == T


def test_shift_cursor_without_enabled_devices_is_unchanged():
	assert S.shift_type_cursor(T, []) == T
	assert S.shift_type_cursor(None, [dev("a", T, enabled=False)]) is None
