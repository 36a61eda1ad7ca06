"""The Missing Punches report's rules: which employee-days have a shift, which day a check-in or punch belongs
to, and what is wrong with a day's check-ins.

A shift-day is an employee, a date and a Shift Type the employee works that date, as HRMS decides it for auto
attendance: the Shift Types of the employee's active submitted Shift Assignments covering the date, else the
Default Shift; not before the date of joining nor after the relieving date (the last working day); not on a
holiday of the shift's Holiday List, else the employee's, else the company's default (unless the Shift Type marks
attendance on holidays); not on a day of approved leave or attendance On Leave / Work From Home. It is judged
only once its window has ended: the shift's start less its early check-in allowance ("Begin check-in before
shift start time") to its end plus its late check-out allowance ("Allow check-out after shift end time"); a
shift whose end is not after its start ends the next day.

Where a check-in or punch belongs:
1. a check-in that HRMS gave a shift (Shift Start set) belongs to the day its shift started, to that day's
   shift-day of the same Shift Type, else its first one (a night shift's morning check-out counts for the
   evening it started; a day that is no shift-day, a holiday, takes it and shows nothing);
2. any other check-in or punch belongs to the shift-day whose window holds its time,
3. else to the first shift-day of its calendar date (a check-in before the early allowance), else to none.

Problems, one per shift-day: no check-in; all check-ins that have a log type are IN (Only IN) or all OUT (Only
OUT); else an odd number of check-ins. Check-ins without a log type count only for the number.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from attendance_sync.logic.i18n import _

NO_CHECKIN = "No check-in"
ODD_COUNT = "Odd number of check-ins"
ONLY_IN = "Only IN"
ONLY_OUT = "Only OUT"
PROBLEMS = (NO_CHECKIN, ONLY_IN, ONLY_OUT, ODD_COUNT)


def problem_label(problem: str) -> str:
	"""A problem in the user's language."""
	return {
		NO_CHECKIN: _("No check-in"),
		ONLY_IN: _("Only IN"),
		ONLY_OUT: _("Only OUT"),
		ODD_COUNT: _("Odd number of check-ins"),
	}[problem]


def problem(log_types: Sequence[str | None]) -> str | None:
	"""What is wrong with a shift-day's check-ins (their log types, empty ones included), or None.

	One direction is named before an odd number: a single IN is a forgotten check-out (Only IN)."""
	if not log_types:
		return NO_CHECKIN
	directions = {t for t in log_types if t}
	if directions == {"IN"}:
		return ONLY_IN
	if directions == {"OUT"}:
		return ONLY_OUT
	if len(log_types) % 2:
		return ODD_COUNT
	return None


@dataclass(frozen=True)
class ShiftTiming:
	"""A Shift Type's times: `start` and `end` as a time of day (MariaDB's TIME, read as a timedelta)."""

	name: str
	start: timedelta
	end: timedelta
	early_minutes: int = 0
	late_minutes: int = 0
	holiday_list: str | None = None
	works_holidays: bool = False

	def window(self, day: date) -> tuple[datetime, datetime]:
		"""The shift of `day` from its start less the early allowance to its end plus the late allowance."""
		midnight = datetime.combine(day, time())
		end = midnight + self.end
		if self.end <= self.start:
			end += timedelta(days=1)
		return (
			midnight + self.start - timedelta(minutes=self.early_minutes),
			end + timedelta(minutes=self.late_minutes),
		)


@dataclass(frozen=True)
class Assignment:
	shift_type: str
	start_date: date
	end_date: date | None

	def covers(self, day: date) -> bool:
		return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass
class Person:
	"""An Employee as the report reads it: `holiday_list` is the Employee's, else the company's default;
	`device_user_id` the Attendance Device ID as punches carry it."""

	name: str
	joined: date | None
	relieved: date | None
	default_shift: str | None
	holiday_list: str | None
	device_user_id: str | None = None
	assignments: list[Assignment] = field(default_factory=list)
	days_off: set[date] = field(default_factory=set)
	# Days HR has marked present by hand (submitted Attendance Present or Half Day): no check-in is expected.
	settled_days: set[date] = field(default_factory=set)

	def shifts_on(self, day: date) -> list[str]:
		"""The Shift Types of `day`: those of the assignments covering it (in their order), else the default."""
		if (self.joined and day < self.joined) or (self.relieved and day > self.relieved):
			return []
		if day in self.days_off:
			return []
		assigned = list(dict.fromkeys(a.shift_type for a in self.assignments if a.covers(day)))
		if assigned:
			return assigned
		return [self.default_shift] if self.default_shift else []


@dataclass
class ShiftDay:
	employee: str
	day: date
	shift: str
	start: datetime
	end: datetime
	checkins: list[tuple[datetime, str | None]] = field(default_factory=list)
	punches: list[tuple[datetime, str, str]] = field(default_factory=list)
	# A holiday of a Shift Type that marks attendance on holidays, or a day HR marked present: a day without
	# check-ins is not missing any (HRMS marks no absence on a holiday), one with them is judged.
	absence_expected_fine: bool = False

	def problem(self) -> str | None:
		if not self.checkins and self.absence_expected_fine:
			return None
		return problem([log_type for _time, log_type in self.checkins])


def days_between(first: date, last: date) -> list[date]:
	return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def shift_days(
	person: Person,
	days: Iterable[date],
	timings: Mapping[str, ShiftTiming],
	holidays: Mapping[str, set[date]],
) -> list[ShiftDay]:
	"""The person's shift-days on `days`, ordered by the start of their windows. A Shift Type missing from
	`timings` (deleted) is left out."""
	result = []
	for day in days:
		for shift in person.shifts_on(day):
			timing = timings.get(shift)
			if timing is None:
				continue
			holiday_list = timing.holiday_list or person.holiday_list
			holiday = bool(holiday_list) and day in holidays.get(holiday_list or "", ())
			if holiday and not timing.works_holidays:
				continue
			start, end = _window(timing, day)
			fine = holiday or day in person.settled_days
			result.append(ShiftDay(person.name, day, shift, start, end, absence_expected_fine=fine))
	result.sort(key=lambda d: (d.start, d.shift))
	return result


@lru_cache(maxsize=4096)
def _window(timing: ShiftTiming, day: date) -> tuple[datetime, datetime]:
	# The same few shifts and days for every person of a report; bounded, as workers live long.
	return timing.window(day)


class Placement:
	"""One person's shift-days, to place their check-ins and punches by the rules in the module's docstring."""

	def __init__(self, days: list[ShiftDay]) -> None:
		self.days = days
		self.starts = [d.start for d in days]
		self.by_date: dict[date, list[ShiftDay]] = {}
		for d in days:
			self.by_date.setdefault(d.day, []).append(d)

	def place(
		self, at: datetime, shift: str | None = None, shift_start: datetime | None = None
	) -> ShiftDay | None:
		if shift_start is not None:
			same_day = self.by_date.get(shift_start.date(), [])
			return next((d for d in same_day if d.shift == shift), same_day[0] if same_day else None)
		# The latest window starting at or before `at` that still holds it; windows of two shift-days may
		# overlap by their allowances, and the later one then takes the time.
		i = bisect_right(self.starts, at)
		while i > 0:
			i -= 1
			if at <= self.days[i].end:
				return self.days[i]
			if self.days[i].start < at - timedelta(days=2):
				break
		on_date = self.by_date.get(at.date())
		return on_date[0] if on_date else None
