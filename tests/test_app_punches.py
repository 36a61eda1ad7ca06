"""Events to Device Punch rows, and Pending punches to check-in decisions (status, dedup, log type)."""

import functools
from datetime import datetime, timedelta, timezone

import pytest
from event_values import Ev

from attendance_sync import _core
from attendance_sync.logic import checkin_plan as CP
from attendance_sync.logic import punches as P

DHAKA = timezone(timedelta(hours=6))
SITE = "Asia/Dhaka"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
	return datetime(2024, 3, 1, hour, minute, second, tzinfo=DHAKA)


def naive(hour: int, minute: int = 0, second: int = 0) -> datetime:
	return datetime(2024, 3, 1, hour, minute, second)


def test_log_type_by_punch_direction():
	assert P.log_type_for("From device", "IN") == "IN"
	assert P.log_type_for("From device", "OUT") == "OUT"
	assert P.log_type_for("From device", None) is None
	assert P.log_type_for("IN", "OUT") == "IN"
	assert P.log_type_for("OUT", None) == "OUT"
	assert P.log_type_for("None", "IN") is None


def test_log_type_by_reader_with_the_terminal_as_fallback():
	readers = P.reader_map([(1, 1, "IN"), (1, 2, "OUT"), (0, 3, "OUT"), (None, 4, "IN")])
	assert readers == {(1, 1): "IN", (1, 2): "OUT", (0, 3): "OUT", (0, 4): "IN"}
	by_reader = functools.partial(P.log_type_for, P.BY_READER, readers=readers)
	# The reader decides, whatever key was pressed.
	assert by_reader("IN", door_no=1, reader_no=2) == "OUT"
	assert by_reader(None, door_no=1, reader_no=1) == "IN"
	# A row without a door holds at every door; a door's own row comes first.
	assert by_reader(None, door_no=2, reader_no=3) == "OUT"
	assert P.log_type_for(P.BY_READER, None, 2, 3, {(2, 3): "IN", (0, 3): "OUT"}) == "IN"
	# A punch whose door the terminal did not say (pushes name the reader only) takes the reader's rows when
	# they agree, and nothing from them when they differ.
	assert by_reader(None, door_no=None, reader_no=4) == "IN"
	assert by_reader(None, door_no=0, reader_no=1) == "IN"
	two_doors = {(1, 1): "IN", (2, 1): "OUT"}
	assert P.log_type_for(P.BY_READER, None, 0, 1, two_doors) is None
	assert P.log_type_for(P.BY_READER, "OUT", 0, 1, two_doors) == "OUT"
	# A reader with no row, or an event without one, keeps what the terminal said.
	assert by_reader("OUT", door_no=2, reader_no=1) == "OUT"
	assert by_reader("IN", door_no=1, reader_no=None) == "IN"
	assert by_reader(None, door_no=2, reader_no=1) is None
	assert P.log_type_for(P.BY_READER, "OUT", 1, 1, None) == "OUT"


def test_direction_when_not_said_and_what_a_stored_punch_can_be_worked_out_from():
	inside = P.PunchDirection(P.BY_READER, {(1, 1): "IN"}, fallback="OUT")
	assert inside.log_type(None, 1, 2) == "OUT", "an unlisted reader, no key: the device's fallback"
	assert inside.log_type("IN", 1, 2) == "IN", "the terminal's key comes before the fallback"
	assert P.PunchDirection(P.FROM_DEVICE, fallback="IN").log_type(None, 0, 0) == "IN"
	assert P.PunchDirection("None", fallback="IN").log_type(None, 0, 0) is None
	# Stored before door, reader and the terminal's direction were kept: nothing to work Log Type out from.
	assert not inside.knows(None, 0)
	assert inside.knows("IN", 0) and inside.knows(None, 2)
	assert P.PunchDirection("IN").knows(None, 0)


def test_punch_rows_keep_where_the_punch_was_read_and_the_terminal_direction():
	events = [
		Ev(1, "7", at(8), log_type="IN", door_no=1, reader_no=2),
		Ev(2, "7", at(9), log_type=None, door_no=1, reader_no=1),
	]
	direction = P.PunchDirection(P.BY_READER, {(1, 1): "IN", (1, 2): "OUT"})
	rows = P.punch_rows("Gate", events, site_tz=SITE, direction=direction).rows
	assert [(r.door_no, r.reader_no, r.device_log_type, r.log_type) for r in rows] == [
		(1, 2, "IN", "OUT"),
		(1, 1, None, "IN"),
	]
	# The stored row's columns carry them, in FIELDS order.
	assert dict(zip(P.PunchRow.FIELDS, rows[0].values(), strict=True))["reader_no"] == 2


def test_device_user_ids_are_trimmed_strings_keeping_leading_zeros():
	assert P.normalize_device_user_id("  00042 ") == "00042"
	assert P.normalize_device_user_id(42) == "42"
	assert P.normalize_device_user_id("   ") is None
	assert P.normalize_device_user_id(None) is None


def test_punch_rows_keep_punches_only_and_convert_time():
	events = [
		Ev(1, "1042", at(8), log_type="IN", name="Jane"),
		Ev(2, None, at(8), minor=21, is_punch=False),  # door unlock
		Ev(3, " 1043 ", at(9, 30), log_type="OUT"),
	]
	fetched = P.punch_rows("Gate", events, site_tz="UTC", direction=P.PunchDirection())
	assert fetched.events == 3
	assert fetched.skipped_not_punch == 1
	assert [r.serial_no for r in fetched.rows] == [1, 3]
	first, second = fetched.rows
	assert first.time == datetime(2024, 3, 1, 2, 0, 0)
	assert first.device_time == "2024-03-01T08:00:00+06:00"
	assert first.device_user_id == "1042" and first.name_on_device == "Jane"
	assert first.status == P.PENDING and first.log_type == "IN"
	assert second.device_user_id == "1043" and second.log_type == "OUT"


def test_punch_codes_from_settings_rows():
	assert P.parse_punch_codes([]) is None
	assert P.parse_punch_codes([("5", "75"), (5, 38)]) == frozenset({(5, 75), (5, 38)})


def test_punch_without_employee_number_is_stored_unmapped():
	fetched = P.punch_rows(
		"Gate", [Ev(7, None, at(8), card_no="998877")], site_tz=SITE, direction=P.PunchDirection()
	)
	(row,) = fetched.rows
	assert row.status == P.UNMAPPED and row.reason
	assert row.card_no == "998877"


def test_names_are_deterministic_and_refetch_yields_the_same_rows():
	events = [Ev(10, "1", at(8)), Ev(11, "2", at(8))]
	a = P.punch_rows("Gate", events, site_tz=SITE, direction=P.PunchDirection()).rows
	b = P.punch_rows("Gate", list(reversed(events)), site_tz=SITE, direction=P.PunchDirection()).rows
	assert {r.name for r in a} == {r.name for r in b}
	other_device = P.punch_rows("Door", events, site_tz=SITE, direction=P.PunchDirection()).rows
	assert not {r.name for r in a} & {r.name for r in other_device}


def test_same_serial_twice_in_one_fetch_is_one_row():
	events = [Ev(10, "1", at(8)), Ev(10, "1", at(8))]
	assert len(P.punch_rows("Gate", events, site_tz=SITE, direction=P.PunchDirection()).rows) == 1


def test_events_without_serial_keyed_by_content_and_occurrence():
	events = [Ev(None, "1", at(8)), Ev(None, "1", at(8)), Ev(None, "2", at(8))]
	rows = P.punch_rows("Intercom", events, site_tz=SITE, direction=P.PunchDirection()).rows
	assert len(rows) == 3
	assert rows[0].event_key.endswith("|0") and rows[1].event_key.endswith("|1")
	again = P.punch_rows("Intercom", events, site_tz=SITE, direction=P.PunchDirection()).rows
	assert [r.name for r in rows] == [r.name for r in again]


def test_row_values_match_fields():
	(row,) = P.punch_rows("Gate", [Ev(1, "1", at(8))], site_tz=SITE, direction=P.PunchDirection()).rows
	values = dict(zip(P.PunchRow.FIELDS, row.values(), strict=True))
	assert values["name"] == row.name and values["status"] == P.PENDING and values["serial_no"] == 1


def test_employee_index_exact_after_trimming():
	index = CP.employee_index(
		[("1042", "EMP-1", "Active"), (" 7 ", "EMP-7", "Left"), ("abc", "EMP-A", "Active")]
	)
	assert index.lookup("1042").name == "EMP-1"
	assert index.lookup("7").status == "Left"
	# The database may answer case-insensitively; the mapping does not.
	assert index.lookup("ABC") is None
	assert index.lookup(None) is None


def test_employee_ids_colliding_after_trimming_are_ambiguous():
	index = CP.employee_index([("5", "EMP-1", "Active"), ("5 ", "EMP-2", "Active")])
	assert index.lookup("5") is None
	(decision,) = plan([CP.PendingPunch("p", "Gate", "5", naive(8), None)], index)
	assert decision.status == P.UNMAPPED and "EMP-1" in decision.reason and "EMP-2" in decision.reason


def plan(
	punches: list[CP.PendingPunch],
	employees: CP.EmployeeIndex,
	existing: list[tuple[str, datetime]] | None = None,
	*,
	double_punch_seconds: int = 0,
) -> list[CP.Decision]:
	"""The batch's decisions as the check-in step takes them: `CheckinPlan` on the core's dedup."""
	return CP.CheckinPlan(punches, employees, existing or [], double_punch_seconds, _core.dedup).decisions


def pending(name: str, user: str | None, time: datetime, device: str = "Gate", log_type: str | None = None):
	return CP.PendingPunch(name=name, device=device, device_user_id=user, time=time, log_type=log_type)


EMPLOYEES = CP.employee_index(
	[
		("1", "EMP-1", "Active"),
		("2", "EMP-2", "Inactive"),
		("3", "EMP-3", "Left"),
		("4", "EMP-4", "Suspended"),
	]
)


def test_statuses_of_a_batch():
	decisions = {
		d.punch: d
		for d in plan(
			[
				pending("a", "1", naive(8), log_type="IN"),
				pending("b", "2", naive(8)),
				pending("c", "99", naive(8)),
				pending("d", None, naive(8)),
				pending("e", "3", naive(8)),
				pending("f", "4", naive(8)),
			],
			EMPLOYEES,
		)
	}
	assert decisions["a"].status == P.CHECKED_IN
	assert decisions["a"].employee == "EMP-1" and decisions["a"].log_type == "IN"
	assert decisions["a"].time == naive(8)
	assert decisions["b"].status == P.INACTIVE and decisions["b"].employee == "EMP-2"
	assert decisions["c"].status == P.UNMAPPED and "99" in decisions["c"].reason
	assert decisions["d"].status == P.UNMAPPED
	# HRMS rejects only Inactive employees; Left and Suspended still check in.
	assert decisions["e"].status == P.CHECKED_IN
	assert decisions["f"].status == P.CHECKED_IN


def test_duplicate_of_existing_checkin_to_the_second_whatever_the_log_type():
	existing = [("EMP-1", datetime(2024, 3, 1, 8, 0, 0, 250_000))]
	(d,) = plan([pending("a", "1", naive(8), log_type="OUT")], EMPLOYEES, existing)
	assert d.status == P.DUPLICATE and d.employee == "EMP-1"
	(d,) = plan([pending("a", "1", naive(8, 0, 1))], EMPLOYEES, existing)
	assert d.status == P.CHECKED_IN


def test_two_devices_same_employee_same_second_make_one_checkin():
	decisions = plan(
		[pending("x", "1", naive(8), device="Gate A"), pending("y", "1", naive(8), device="Gate B")],
		EMPLOYEES,
	)
	assert sorted(d.status for d in decisions) == [P.CHECKED_IN, P.DUPLICATE]


def test_planning_order_is_deterministic():
	batch = [pending("y", "1", naive(8)), pending("x", "1", naive(8))]
	first = plan(batch, EMPLOYEES)
	second = plan(list(reversed(batch)), EMPLOYEES)
	assert [(d.punch, d.status) for d in first] == [(d.punch, d.status) for d in second]
	assert first[0].punch == "x" and first[0].status == P.CHECKED_IN


def test_double_punch_window():
	batch = [
		pending("a", "1", naive(8)),
		pending("b", "1", naive(8, 0, 20)),
		pending("c", "1", naive(8, 1, 30)),
	]
	statuses = [d.status for d in plan(batch, EMPLOYEES, double_punch_seconds=30)]
	assert statuses == [P.CHECKED_IN, P.DUPLICATE, P.CHECKED_IN]
	statuses = [d.status for d in plan(batch, EMPLOYEES)]
	assert statuses == [P.CHECKED_IN, P.CHECKED_IN, P.CHECKED_IN]
	# The window applies against existing check-ins on either side too.
	(d,) = plan(
		[pending("a", "1", naive(8))], EMPLOYEES, [("EMP-1", naive(8, 0, 10))], double_punch_seconds=30
	)
	assert d.status == P.DUPLICATE and "within 30 seconds" in d.reason


def test_double_punch_window_includes_its_last_second():
	"""At most N seconds away is a Duplicate (N = 0: the same second); N + 1 is not."""
	batch = [
		pending("a", "1", naive(8)),
		pending("b", "1", naive(8, 0, 30)),
		pending("c", "1", naive(8, 1, 1)),
	]
	statuses = [d.status for d in plan(batch, EMPLOYEES, double_punch_seconds=30)]
	assert statuses == [P.CHECKED_IN, P.DUPLICATE, P.CHECKED_IN]
	statuses = [d.status for d in plan(batch[:2], EMPLOYEES, double_punch_seconds=29)]
	assert statuses == [P.CHECKED_IN, P.CHECKED_IN]
	(d,) = plan(
		[pending("a", "1", naive(8))], EMPLOYEES, [("EMP-1", naive(7, 59, 30))], double_punch_seconds=30
	)
	assert d.status == P.DUPLICATE


def test_duplicates_are_keyed_by_employee_not_device_user():
	"""Two Attendance Device IDs can never share an Employee, but the existing check-ins are the Employee's: a
	punch is compared with them by Employee, whatever device user punched."""
	employees = CP.employee_index([("1", "EMP-1", "Active"), ("10", "EMP-10", "Active")])
	(d,) = plan([pending("a", "1", naive(8))], employees, [("EMP-10", naive(8))])
	assert d.status == P.CHECKED_IN
	(d,) = plan([pending("a", "1", naive(8))], employees, [("EMP-1", naive(8))])
	assert d.status == P.DUPLICATE


def walk(checkin_plan: CP.CheckinPlan, failing: set[str]) -> list[tuple[str, str]]:
	"""Iterate a plan as the check-in step does, failing the inserts of the punches named in `failing`."""
	seen = []
	for punch, decision in checkin_plan:
		if decision.creates_checkin and punch.name in failing:
			decision = checkin_plan.failed(punch, "HRMS refused it")
		seen.append((punch.name, decision.status))
	return seen


def test_a_failed_insert_gives_a_later_punch_of_the_same_second_its_chance():
	batch = [
		pending("x", "1", naive(8)),
		pending("y", "1", naive(8)),
		pending("z", "1", naive(8, 0, 10)),
		pending("w", "1", naive(8, 5)),
	]
	walked = walk(CP.CheckinPlan(batch, EMPLOYEES, [], 30, _core.dedup), {"x"})
	# y takes x's place, and z (10 s after y) is its double punch; w is far from both.
	assert walked == [("x", P.FAILED), ("y", P.CHECKED_IN), ("z", P.DUPLICATE), ("w", P.CHECKED_IN)]
	walked = walk(CP.CheckinPlan(batch, EMPLOYEES, [], 30, _core.dedup), {"x", "y"})
	assert walked == [("x", P.FAILED), ("y", P.FAILED), ("z", P.CHECKED_IN), ("w", P.CHECKED_IN)]
	# Without failures the plan is what the core decided for the whole batch.
	assert walk(CP.CheckinPlan(batch, EMPLOYEES, [], 30, _core.dedup), set()) == [
		("x", P.CHECKED_IN),
		("y", P.DUPLICATE),
		("z", P.DUPLICATE),
		("w", P.CHECKED_IN),
	]


def test_a_failed_insert_keeps_what_was_inserted_before_it():
	batch = [pending("a", "1", naive(8)), pending("b", "3", naive(8)), pending("c", "1", naive(8, 0, 5))]
	walked = walk(CP.CheckinPlan(batch, EMPLOYEES, [], 10, _core.dedup), {"b"})
	# Re-deciding after b's failure still counts a's check-in: c stays its Duplicate.
	assert walked == [("a", P.CHECKED_IN), ("b", P.FAILED), ("c", P.DUPLICATE)]


def test_re_deciding_after_a_failure_keeps_existing_checkins_and_the_mapping():
	"""The keys made once per plan serve every re-decision: existing check-ins (microseconds dropped) still count,
	and each device user ID is mapped once for the plans sharing an index."""
	employees = CP.employee_index([("1", "EMP-1", "Active"), ("3", "EMP-3", "Active")])
	existing = [("EMP-1", datetime(2024, 3, 1, 8, 0, 5, 400_000))]
	batch = [
		pending("a", "3", naive(8)),
		pending("b", "1", datetime(2024, 3, 1, 8, 0, 5, 900_000)),
		pending("c", "3", naive(8, 0, 1)),
		pending("d", "9", naive(8, 0, 2)),
		pending("e", "1", naive(8, 1)),
	]
	plan = CP.CheckinPlan(batch, employees, existing, 0, _core.dedup)
	walked = walk(plan, {"a"})
	assert walked == [
		("a", P.FAILED),
		("c", P.CHECKED_IN),
		("d", P.UNMAPPED),
		("b", P.DUPLICATE),
		("e", P.CHECKED_IN),
	]
	decisions = {d.punch: d for d in plan.decisions}
	assert decisions["a"].employee == "EMP-3" and decisions["a"].reason == "HRMS refused it"
	assert decisions["c"].time == naive(8, 0, 1) and decisions["c"].employee == "EMP-3"
	assert "9" in decisions["d"].reason and decisions["d"].punch == "d"
	# A second plan on the same index maps "9" to the same reason, under its own punch name.
	(other,) = CP.CheckinPlan([pending("z", "9", naive(9))], employees, [], 0, _core.dedup).decisions
	assert (other.punch, other.status, other.reason) == ("z", P.UNMAPPED, decisions["d"].reason)


def test_existing_checkin_bounds():
	batch = [pending("a", "1", naive(8)), pending("b", "1", naive(9))]
	assert CP.existing_checkin_bounds(batch) == (naive(7, 59, 59), naive(9, 0, 1))
	assert CP.existing_checkin_bounds(batch, 30) == (naive(7, 59, 29), naive(9, 0, 31))
	assert CP.existing_checkin_bounds([]) is None


def test_sync_counts():
	counts = P.SyncCounts(fetched=5, new_punches=5)
	for status in (P.CHECKED_IN, P.CHECKED_IN, P.DUPLICATE, P.UNMAPPED, P.INACTIVE):
		counts.add(status)
	assert counts.as_dict() == {
		"fetched": 5,
		"new_punches": 5,
		"checkins_created": 2,
		"duplicates": 1,
		"unmapped": 1,
		"inactive": 1,
		"failed": 0,
	}
	assert counts.status == "Success"
	counts.add(P.FAILED)
	assert counts.status == "Partial"


@pytest.mark.parametrize("status", P.PRUNABLE_STATUSES)
def test_unresolved_statuses_are_never_pruned(status):
	assert status not in (P.UNMAPPED, P.FAILED, P.PENDING)


def test_a_restarted_counter_reusing_a_serial_at_another_time_is_a_new_punch():
	# Serial 5 before a factory reset, and serial 5 again afterwards: two events, two rows, two names.
	before = P.punch_rows("Gate", [Ev(5, "1", at(8))], site_tz=SITE, direction=P.PunchDirection()).rows
	after = P.punch_rows("Gate", [Ev(5, "1", at(15, 30))], site_tz=SITE, direction=P.PunchDirection()).rows
	assert before[0].name != after[0].name
	assert before[0].event_key == "s:5@2024-03-01T08:00:00"
	# The same event fetched again keeps its name.
	again = P.punch_rows("Gate", [Ev(5, "1", at(8))], site_tz=SITE, direction=P.PunchDirection()).rows
	assert again[0].name == before[0].name


def test_the_key_is_the_terminals_wall_clock_whatever_offset_it_is_read_with():
	# A naive-time terminal read with another configured offset, or a terminal whose zone setting changed:
	# the digits it stores stay, so the identity does too.
	plus6 = P.event_key(Ev(9, "1", datetime(2024, 3, 1, 8, tzinfo=DHAKA)))
	plus8 = P.event_key(Ev(9, "1", datetime(2024, 3, 1, 8, tzinfo=timezone(timedelta(hours=8)))))
	assert plus6 == plus8


def test_rows_stored_under_the_old_serial_key_migrate_to_the_key_a_fetch_makes():
	(row,) = P.punch_rows(
		"Gate", [Ev(42, "7", at(9, 15, 30))], site_tz=SITE, direction=P.PunchDirection()
	).rows
	assert P.migrated_event_key(42, row.device_time) == row.event_key
	assert P.punch_name("Gate", P.migrated_event_key(42, "2024-03-01T09:15:30+06:00")) == row.name


BERLIN = "Europe/Berlin"


def test_re_interpreting_reads_the_wall_clock_in_the_device_zone():
	# The terminal shows Dhaka time but believes it is in UTC+8: 08:00+08:00 is really 08:00 in Dhaka.
	wrong = timezone(timedelta(hours=8))
	event = Ev(1, "1", datetime(2024, 3, 1, 8, tzinfo=wrong))
	trusted = P.punch_rows("Gate", [event], site_tz=SITE, direction=P.PunchDirection()).rows[0]
	fixed = P.punch_rows(
		"Gate", [event], site_tz=SITE, direction=P.PunchDirection(), reinterpret_zone=SITE
	).rows[0]
	assert trusted.time == datetime(2024, 3, 1, 6, 0)
	assert fixed.time == datetime(2024, 3, 1, 8, 0)
	# What the terminal sent is kept, and so is the identity.
	assert fixed.device_time == "2024-03-01T08:00:00+08:00"
	assert fixed.name == trusted.name
	# A fixed offset works the same way.
	assert P.punch_rows(
		"G", [event], site_tz=SITE, direction=P.PunchDirection(), reinterpret_zone="+06:00"
	).rows[0].time == (datetime(2024, 3, 1, 8, 0))


def test_re_interpreting_applies_the_zone_per_punch_across_a_dst_change():
	# A terminal in Berlin set to UTC: its wall clock is right, its offset says +00:00. The window holds punches
	# on both sides of the spring change (2024-03-31 02:00 -> 03:00, +01:00 -> +02:00), and of the autumn one
	# (2024-10-27 03:00 -> 02:00, the hour 02:00-03:00 repeats: read as its first occurrence, +02:00).
	utc = timezone.utc
	events = [
		Ev(1, "1", datetime(2024, 3, 30, 22, 0, tzinfo=utc)),
		Ev(2, "1", datetime(2024, 3, 31, 1, 59, 59, tzinfo=utc)),
		Ev(3, "1", datetime(2024, 3, 31, 3, 0, tzinfo=utc)),
		Ev(4, "1", datetime(2024, 3, 31, 8, 0, tzinfo=utc)),
		Ev(5, "1", datetime(2024, 10, 27, 2, 30, tzinfo=utc)),
		Ev(6, "1", datetime(2024, 10, 27, 3, 30, tzinfo=utc)),
	]
	rows = P.punch_rows(
		"Gate", events, site_tz="UTC", direction=P.PunchDirection(), reinterpret_zone=BERLIN
	).rows
	assert [r.time for r in sorted(rows, key=lambda r: r.serial_no)] == [
		datetime(2024, 3, 30, 21, 0),  # +01:00
		datetime(2024, 3, 31, 0, 59, 59),  # +01:00, the last second before the change
		datetime(2024, 3, 31, 1, 0),  # +02:00, the first wall-clock second after it
		datetime(2024, 3, 31, 6, 0),  # +02:00, not +01:00 as an offset taken at the window's start would say
		datetime(2024, 10, 27, 0, 30),  # the repeated hour, first occurrence (+02:00)
		datetime(2024, 10, 27, 2, 30),  # +01:00 again
	]


def test_failure_reason_names_the_employee_and_what_to_fix():
	reason = CP.checkin_failure_reason(
		"EMP-0007",
		"AttributeError",
		"'NoneType' object has no attribute 'start_time'",
		validation=False,
		missing_shift_types=[("Default Shift", "Night (deleted)")],
	)
	assert reason.startswith("Employee EMP-0007: Default Shift points at Shift Type Night (deleted)")
	assert "Set an existing Shift Type there" in reason and "Reprocess" in reason
	assert "start_time" in reason  # the original error, for whoever searches for it
	validation = CP.checkin_failure_reason(
		"EMP-1",
		"ValidationError",
		"Latitude and longitude values are required for checking in.",
		validation=True,
	)
	assert validation.startswith(
		"Employee EMP-1: Latitude and longitude values are required for checking in."
	)
	assert ".." not in validation
	other = CP.checkin_failure_reason("EMP-1", "KeyError", "'shift'", validation=False)
	assert "EMP-1" in other and "KeyError" in other and "Reprocess" in other


def test_counts_merge_only_what_a_batch_committed():
	run = P.SyncCounts(fetched=10, new_punches=10, unmapped=1)
	batch = P.SyncCounts()
	for status in (P.CHECKED_IN, P.UNMAPPED, P.FAILED):
		batch.add(status)
	run.merge(batch)
	assert run.as_dict() == {
		"fetched": 10,
		"new_punches": 10,
		"checkins_created": 1,
		"duplicates": 0,
		"unmapped": 2,
		"inactive": 0,
		"failed": 1,
	}
