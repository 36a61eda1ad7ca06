"""Due-ness by Sync Frequency, device health indicators, enqueue selection and the Shift Type cursor."""

from datetime import date, datetime, timedelta

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
	# A Partial run whose failed punches were since resolved (Reprocess) is healthy again.
	assert health(last_sync_status="Partial", attention=S.Attention()) == S.SYNCED


def test_failed_punches_or_a_held_cursor_need_attention_not_a_green_synced():
	failed = S.Attention(failed=3, oldest_failed=NOW - timedelta(hours=3))
	assert health(last_sync_status="Partial", attention=failed) == S.ATTENTION
	hold = S.HeldCursor("Day", NOW - timedelta(hours=4), NOW - timedelta(hours=3), 2)
	assert health(attention=S.Attention(held=(hold,))) == S.ATTENTION
	# Unmapped punches wait for an Attendance Device ID: not a reason for attention by themselves.
	assert health(attention=S.Attention(unmapped=5)) == S.SYNCED
	# Worse states win.
	assert health(last_sync_status="Failed", attention=failed) == S.FAILING
	assert health(synced_up_to=NOW - timedelta(days=1), attention=failed) == S.STALE


def test_health_message_says_what_is_wrong():
	attention = S.Attention(
		failed=3,
		oldest_failed=datetime(2024, 3, 10, 8, 55),
		unmapped=1,
		held=(S.HeldCursor("Day", datetime(2024, 3, 10, 8, 54, 59), datetime(2024, 3, 10, 8, 55), 3),),
	)
	message = S.health_message(S.ATTENTION, attention=attention)
	assert "3 punches could not become check-ins (oldest 2024-03-10 08:55:00)" in message
	assert "Shift Type Day: auto attendance waits at 2024-03-10 08:54:59" in message
	assert "for 3 punches of employees on this shift that are not check-ins yet" in message
	assert "1 punch is Unmapped" in message
	assert "1 punches" not in message
	assert S.health_message(S.FAILING, last_error="Authentication failed") == "Authentication failed"
	assert S.health_message(S.SYNCED, attention=S.Attention()) == ""


def test_a_push_only_device_is_stale_when_nothing_was_pushed():
	last_push = datetime(2024, 3, 10, 8, 0)
	assert S.health_message(S.STALE, synced_up_to=last_push) == "No complete sync since 2024-03-10 08:00:00."
	pushed = S.health_message(S.STALE, synced_up_to=last_push, push_only=True)
	assert pushed.startswith("Nothing pushed since 2024-03-10 08:00:00")
	assert "HTTP listening host" in pushed


def test_pick_for_enqueue_most_overdue_first_within_limit():
	candidates = [
		S.Candidate("b", NOW - timedelta(hours=1)),
		S.Candidate("a", None),
		S.Candidate("c", NOW - timedelta(hours=5)),
	]
	assert S.pick_for_enqueue(candidates, active=0, limit=0) == ["a", "c", "b"]
	assert S.pick_for_enqueue(candidates, active=1, limit=3) == ["a", "c"]
	assert S.pick_for_enqueue(candidates, active=5, limit=3) == []


def dev(name, synced, enabled=True, released=False):
	return S.FeedingDevice(name=name, enabled=enabled, synced_up_to=synced, released=released)


T = datetime(2024, 3, 10, 8, 0)


def test_shift_cursor_is_the_minimum_over_enabled_devices():
	devices = [dev("a", T + timedelta(hours=2)), dev("b", T + timedelta(hours=1))]
	assert S.shift_type_cursor(None, devices) == T + timedelta(hours=1)


def test_shift_cursor_waits_for_a_disabled_device_until_it_is_released():
	# Disabled while three days behind: the punches it has not delivered are still someone's attendance.
	behind = dev("b", T - timedelta(days=3), enabled=False)
	assert S.shift_type_cursor(T, [dev("a", T + timedelta(hours=2)), behind]) == T
	never = dev("c", None, enabled=False)
	assert S.shift_type_cursor(T, [dev("a", T + timedelta(hours=2)), never]) == T
	# Released by an administrator (the terminal is gone): the Shift Type follows the others.
	released = dev("b", T - timedelta(days=3), enabled=False, released=True)
	assert S.shift_type_cursor(T, [dev("a", T + timedelta(hours=2)), released]) == T + timedelta(hours=2)
	# Enabled again, it counts whatever the flag says.
	back = dev("b", T + timedelta(hours=1), released=True)
	assert S.shift_type_cursor(T, [dev("a", T + timedelta(hours=2)), back]) == T + timedelta(hours=1)


def test_shift_cursor_waits_for_a_device_never_synced():
	devices = [dev("a", T + timedelta(hours=2)), dev("b", None)]
	assert S.shift_type_cursor(T, devices) == T


def test_shift_cursor_never_passes_a_failing_device():
	# b's last run failed, so its Synced Up To stayed where its last good run left it.
	devices = [dev("a", T + timedelta(hours=5)), dev("b", T + timedelta(hours=1))]
	assert S.shift_type_cursor(T, devices) == T + timedelta(hours=1)


def test_shift_cursor_never_moves_backwards():
	devices = [dev("a", T - timedelta(hours=1))]
	assert S.shift_type_cursor(T, devices) == T


def test_shift_cursor_without_enabled_devices_is_unchanged():
	assert S.shift_type_cursor(T, []) == T
	assert S.shift_type_cursor(None, [dev("a", T, enabled=False, released=True)]) is None


def test_shift_cursor_stays_before_the_earliest_failed_or_pending_punch():
	devices = [dev("a", T + timedelta(hours=5))]
	held = S.Unresolved(earliest=T + timedelta(hours=2), punches=4)
	assert S.shift_type_cursor(T, devices, held) == T + timedelta(hours=2) - timedelta(seconds=1)
	hold = S.held_cursor("Day", T, devices, held)
	assert hold == S.HeldCursor("Day", T + timedelta(hours=2, seconds=-1), T + timedelta(hours=2), 4)
	# Resolved (Reprocess), the cursor follows the devices again.
	assert S.shift_type_cursor(T, devices, None) == T + timedelta(hours=5)
	assert S.held_cursor("Day", T, devices, None) is None


def test_a_punch_after_where_the_devices_reach_holds_nothing():
	devices = [dev("a", T + timedelta(hours=1))]
	later = S.Unresolved(earliest=T + timedelta(hours=3), punches=1)
	assert S.shift_type_cursor(T, devices, later) == T + timedelta(hours=1)
	assert S.held_cursor("Day", T, devices, later) is None


def test_a_cursor_already_past_a_failed_punch_is_held_where_it_is():
	devices = [dev("a", T + timedelta(hours=5))]
	earlier = S.Unresolved(earliest=T - timedelta(hours=1), punches=1)
	assert S.shift_type_cursor(T, devices, earlier) == T
	assert S.held_cursor("Day", T, devices, earlier).held_at == T


def test_unresolved_punches_by_shift_follow_default_shifts_and_active_assignments():
	per_employee = {
		"EMP-1": S.Unresolved(datetime(2024, 3, 10, 9), 2),
		"EMP-2": S.Unresolved(datetime(2024, 3, 9, 18), 1),
		"EMP-3": S.Unresolved(datetime(2024, 3, 10, 7), 5),
	}
	memberships = [
		S.Membership("EMP-1", "Day", None),  # Default Shift
		S.Membership("EMP-1", "Day", date(2024, 12, 31)),  # and an assignment to the same shift: counted once
		S.Membership("EMP-2", "Day", None),
		S.Membership("EMP-2", "Night", date(2024, 3, 31)),
		S.Membership("EMP-3", "Night", date(2024, 3, 1)),  # ended before its punches
		S.Membership("EMP-9", "Day", None),  # nothing unresolved
	]
	assert S.unresolved_by_shift(per_employee, memberships) == {
		"Day": S.Unresolved(datetime(2024, 3, 9, 18), 3),
		"Night": S.Unresolved(datetime(2024, 3, 9, 18), 1),
	}


def test_a_finishing_job_does_not_take_its_own_fetch_concurrency_slot():
	running = {"a", "b"}
	devices = ["a", "b", "c", "d"]
	# Job "a" refills the slots as it finishes; RQ still reports it as running.
	assert S.active_jobs(devices, running.__contains__, finishing="a") == 1
	assert S.active_jobs(devices, running.__contains__, finishing=None) == 2
	# With a limit of 1, the finishing job's slot goes to the next device: the chain goes on.
	candidates = [S.Candidate("c", None), S.Candidate("d", NOW)]
	active = S.active_jobs(devices, {"a"}.__contains__, finishing="a")
	assert S.pick_for_enqueue(candidates, active=active, limit=1) == ["c"]
