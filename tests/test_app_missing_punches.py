"""The Missing Punches report's rules: shift-days as HRMS decides them, where a check-in or punch belongs, and
what is wrong with a day's check-ins."""

from datetime import date, datetime, timedelta

import pytest

from attendance_sync.logic import missing_punches as M

DAY = M.ShiftTiming("Day", timedelta(hours=9), timedelta(hours=17), 60, 60)
NIGHT = M.ShiftTiming("Night", timedelta(hours=22), timedelta(hours=6), 60, 60)
TIMINGS = {"Day": DAY, "Night": NIGHT}
MON = date(2026, 11, 2)


def days(n: int) -> list[date]:
	return M.days_between(MON, MON + timedelta(days=n - 1))


def at(day: int, hour: int, minute: int = 0) -> datetime:
	return datetime.combine(MON + timedelta(days=day), datetime.min.time()) + timedelta(
		hours=hour, minutes=minute
	)


@pytest.mark.parametrize(
	("log_types", "expected"),
	[
		([], M.NO_CHECKIN),
		(["IN", "OUT"], None),
		(["IN"], M.ONLY_IN),
		(["IN", "IN"], M.ONLY_IN),
		(["OUT"], M.ONLY_OUT),
		(["IN", "OUT", "IN"], M.ODD_COUNT),
		([None], M.ODD_COUNT),
		([None, None], None),
		(["IN", None], M.ONLY_IN),
		([None, "OUT", None], M.ONLY_OUT),
	],
)
def test_problem_of_a_days_checkins(log_types, expected):
	assert M.problem(log_types) == expected


def test_every_problem_has_a_label():
	assert [M.problem_label(p) for p in M.PROBLEMS] == list(M.PROBLEMS)


def test_windows_take_the_allowances_and_a_night_shift_ends_the_next_day():
	assert DAY.window(MON) == (at(0, 8), at(0, 18))
	assert NIGHT.window(MON) == (at(0, 21), at(1, 7))


def test_assignments_before_the_default_shift_within_the_employment():
	person = M.Person(
		"E1",
		joined=MON + timedelta(days=1),
		relieved=MON + timedelta(days=5),
		default_shift="Day",
		holiday_list=None,
		assignments=[M.Assignment("Night", MON + timedelta(days=3), MON + timedelta(days=4))],
		days_off={MON + timedelta(days=2)},
	)
	assert [person.shifts_on(d) for d in days(7)] == [
		[],  # before joining
		["Day"],
		[],  # leave
		["Night"],
		["Night"],
		["Day"],  # the relieving date is the last working day
		[],
	]


def test_holidays_of_the_shift_then_the_employee_unless_the_shift_works_them():
	person = M.Person("E1", None, None, "Day", holiday_list="Staff")
	holidays = {"Staff": {MON}, "Plant": {MON + timedelta(days=1)}}
	assert [d.day for d in M.shift_days(person, days(3), TIMINGS, holidays)] == days(3)[1:]
	plant = {"Day": M.ShiftTiming("Day", DAY.start, DAY.end, holiday_list="Plant")}
	assert [d.day for d in M.shift_days(person, days(3), plant, holidays)] == [days(3)[0], days(3)[2]]
	works = {"Day": M.ShiftTiming("Day", DAY.start, DAY.end, works_holidays=True)}
	worked = M.shift_days(person, days(3), works, holidays)
	assert [d.day for d in worked] == days(3)
	# A holiday it works is judged only by the check-ins it has: HRMS marks no one absent on a holiday.
	assert [d.problem() for d in worked] == [None, M.NO_CHECKIN, M.NO_CHECKIN]
	worked[0].checkins.append((at(0, 9), "IN"))
	assert worked[0].problem() == M.ONLY_IN
	person.default_shift = "Deleted"
	assert M.shift_days(person, days(3), TIMINGS, holidays) == []


def test_a_day_hr_marked_present_misses_no_check_in():
	person = M.Person("E1", None, None, "Day", None, settled_days={MON})
	settled, plain = M.shift_days(person, days(2), TIMINGS, {})
	assert (settled.problem(), plain.problem()) == (None, M.NO_CHECKIN)
	settled.checkins.append((at(0, 17), "OUT"))
	assert settled.problem() == M.ONLY_OUT


def placement(shift: str, n: int = 3) -> M.Placement:
	return M.Placement(M.shift_days(M.Person("E1", None, None, shift, None), days(n), TIMINGS, {}))


def test_a_checkin_with_a_shift_start_belongs_to_the_day_its_shift_started():
	night = placement("Night")
	# The morning check-out of Monday's night shift, even past the window (HRMS decided it).
	assert night.place(at(1, 9), "Night", at(0, 22)).day == MON
	# Another Shift Type than the day's (an assignment changed since): still that day.
	assert night.place(at(1, 6), "Day", at(0, 22)).day == MON
	assert night.place(at(1, 6), "Night", at(-1, 22)) is None  # a day that is not a shift-day


def test_other_times_belong_to_the_window_that_holds_them_else_their_calendar_day():
	night = placement("Night")
	assert night.place(at(1, 6, 30)).day == MON
	assert night.place(at(1, 21, 30)).day == MON + timedelta(days=1)
	assert night.place(at(1, 12)).day == MON + timedelta(days=1)  # between two windows: its date
	assert night.place(at(5, 12)) is None
	day = placement("Day")
	assert day.place(at(0, 7)).day == MON  # before the early allowance
	assert day.place(at(0, 8)).day == MON
	assert day.place(at(0, 18, 30)).day == MON


def test_overlapping_windows_give_the_time_to_the_later_shift():
	long_margins = {"Night": M.ShiftTiming("Night", NIGHT.start, NIGHT.end, 600, 600)}
	person = M.Person("E1", None, None, "Night", None)
	p = M.Placement(M.shift_days(person, days(3), long_margins, {}))
	# Monday's window ends Tuesday 16:00, Tuesday's starts Tuesday 12:00.
	assert p.place(at(1, 13)).day == MON + timedelta(days=1)
	assert p.place(at(1, 11)).day == MON
