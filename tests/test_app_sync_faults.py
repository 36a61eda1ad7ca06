"""Sync-level faults (issue 6), proved on the plain rules composed the way the device job composes them.

`Site` holds the three things a run changes (stored punches, check-ins, the device's Synced Up To); `run` is the
job's order of work: window -> fetch -> store -> plan check-ins -> move the cursor last. A crash is an
exception at a chosen step: what was "committed" before it stays, nothing after it happens.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from event_values import Ev

from attendance_sync.logic import punches as P
from attendance_sync.logic import windows as W

TZ = timezone(timedelta(hours=6))
SITE_TZ = "Asia/Dhaka"
START = datetime(2024, 3, 1, 0, 0)


class Crash(Exception):
	pass


@dataclass
class Site:
	punches: dict[str, dict] = field(default_factory=dict)
	checkins: list[tuple[str, datetime]] = field(default_factory=list)
	synced_up_to: dict[str, datetime | None] = field(default_factory=dict)


def device_events(device_offset: int = 0, people: int = 5, days: int = 2) -> list[Ev]:
	events, serial = [], 100
	for day in range(days):
		for person in range(1, people + 1):
			for hour in (9, 18):
				serial += 1
				t = datetime(2024, 3, 1 + day, hour, person, tzinfo=TZ) + timedelta(seconds=device_offset)
				events.append(Ev(serial, str(person), t))
				serial += 1
				events.append(Ev(serial, None, t, minor=21, is_punch=False))  # the door opening after it
	return events


def run(
	site: Site,
	device: str,
	events: list[Ev],
	employees: P.EmployeeIndex,
	*,
	device_now: datetime,
	window: W.Window | None = None,
	crash_before_store: bool = False,
	crash_after_checkins: int | None = None,
	fail_after_events: int | None = None,
) -> None:
	current = site.synced_up_to.get(device)
	if window is None:
		window = W.scheduled_window(
			synced_up_to=current, sync_start=START, overlap=timedelta(minutes=10), device_now=device_now
		)
	in_window = sorted(
		(e for e in events if window.start <= P.to_site_naive(e.time, SITE_TZ) <= window.end),
		key=lambda e: e.time,
	)
	complete_until = None
	if fail_after_events is not None:
		# The device fails mid-paging: the core hands over what arrived, complete up to the last event's time.
		in_window = in_window[:fail_after_events]
		complete_until = P.to_site_naive(in_window[-1].time, SITE_TZ) if in_window else window.start
	fetched = P.punch_rows(device, in_window, site_tz=SITE_TZ, direction="From device")
	if crash_before_store:
		raise Crash("after fetching, before storing")
	for row in fetched.rows:
		site.punches.setdefault(row.name, {"row": row, "status": row.status})
	pending = [
		P.PendingPunch(name, r["row"].device, r["row"].device_user_id, r["row"].time, r["row"].log_type)
		for name, r in site.punches.items()
		if r["status"] == P.PENDING
	]
	planner = P.CheckinPlanner(employees, list(site.checkins))
	for n, punch in enumerate(P.ordered(pending)):
		if crash_after_checkins is not None and n == crash_after_checkins:
			raise Crash("half way through the check-ins")
		decision = planner.decide(punch)
		if decision.creates_checkin:
			site.checkins.append((decision.employee, decision.time))
		site.punches[punch.name]["status"] = decision.status
	limit = W.completed_limit(device_now, complete_until)
	site.synced_up_to[device] = W.next_synced_up_to(current, window, floor=START, limit=limit)


EVERYONE = P.employee_index([(str(i), f"EMP-{i}", "Active") for i in range(1, 6)])
NOW = datetime(2024, 3, 3, 0, 0)


def assert_exactly_once(site: Site, expected: int) -> None:
	assert len(site.checkins) == expected
	assert len(set(site.checkins)) == expected


def test_rerun_creates_nothing():
	site = Site()
	events = device_events()
	run(site, "Gate", events, EVERYONE, device_now=NOW)
	assert_exactly_once(site, 20)
	stored = dict(site.punches)
	run(site, "Gate", events, EVERYONE, device_now=NOW + timedelta(hours=1))
	assert_exactly_once(site, 20)
	assert site.punches.keys() == stored.keys()


def test_crash_after_fetch_before_store_loses_nothing():
	site = Site()
	events = device_events()
	try:
		run(site, "Gate", events, EVERYONE, device_now=NOW, crash_before_store=True)
	except Crash:
		pass
	assert site.synced_up_to.get("Gate") is None and not site.punches
	run(site, "Gate", events, EVERYONE, device_now=NOW)
	assert_exactly_once(site, 20)
	assert site.synced_up_to["Gate"] == NOW


def test_crash_half_way_through_checkins_rerun_creates_exactly_the_missing_ones():
	site = Site()
	events = device_events()
	try:
		run(site, "Gate", events, EVERYONE, device_now=NOW, crash_after_checkins=7)
	except Crash:
		pass
	assert len(site.checkins) == 7
	assert site.synced_up_to.get("Gate") is None  # the cursor moves last
	run(site, "Gate", events, EVERYONE, device_now=NOW)
	assert_exactly_once(site, 20)


def test_manual_and_scheduled_runs_of_one_device_in_either_order():
	events = device_events()
	manual = W.manual_window(datetime(2024, 3, 1, 12), datetime(2024, 3, 2, 12), now=NOW)
	results = []
	for order in (("scheduled", "manual"), ("manual", "scheduled")):
		site = Site()
		for kind in order:
			run(site, "Gate", events, EVERYONE, device_now=NOW, window=manual if kind == "manual" else None)
		results.append((sorted(site.checkins), site.synced_up_to["Gate"]))
		assert_exactly_once(site, 20)
	assert results[0] == results[1]
	assert results[0][1] == NOW


def test_two_devices_one_employee_same_second_make_one_checkin():
	site = Site()
	events = device_events()
	run(site, "Gate A", events, EVERYONE, device_now=NOW)
	run(site, "Gate B", events, EVERYONE, device_now=NOW)
	assert_exactly_once(site, 20)
	statuses = sorted(r["status"] for r in site.punches.values())
	assert statuses.count(P.CHECKED_IN) == 20 and statuses.count(P.DUPLICATE) == 20


def test_employee_mapped_days_later_gets_the_stored_punches():
	site = Site()
	events = device_events()
	nobody_5 = P.employee_index([(str(i), f"EMP-{i}", "Active") for i in range(1, 5)])
	run(site, "Gate", events, nobody_5, device_now=NOW)
	assert len(site.checkins) == 16
	unmapped = [n for n, r in site.punches.items() if r["status"] == P.UNMAPPED]
	assert len(unmapped) == 4
	# The Employee gets Attendance Device ID 5: its Unmapped punches go back to Pending (the Employee hook).
	for name in unmapped:
		site.punches[name]["status"] = P.PENDING
	run(site, "Gate", [], EVERYONE, device_now=NOW + timedelta(days=3))
	assert_exactly_once(site, 20)


def test_failure_mid_paging_keeps_what_arrived_and_stops_the_cursor_before_the_gap():
	site = Site()
	events = device_events()
	run(site, "Gate", events, EVERYONE, device_now=NOW, fail_after_events=15)
	received_until = site.synced_up_to["Gate"]
	assert received_until is not None and received_until < NOW
	assert len(site.checkins) == 8  # the punches among the 15 events that arrived
	# The next run starts before the gap and completes the rest, exactly once.
	run(site, "Gate", events, EVERYONE, device_now=NOW)
	assert_exactly_once(site, 20)
	assert site.synced_up_to["Gate"] == NOW
