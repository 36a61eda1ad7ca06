"""From Pending punches to Employee Checkin decisions: each punch mapped to its Employee, then the duplicate rule.

Check-in planning maps punches to Employees here and leaves the duplicate rule to the core (`_core.dedup`, the
one rule of the core and the app): a punch is a Duplicate when its Employee already has a check-in, existing or
planned earlier, at most the Double Punch Window away (0: the same second), whatever the log type. That is
stricter than HRMS's own duplicate check (employee, time, log type): two terminals reporting one face in the
same second make one check-in.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from attendance_sync.logic.i18n import _
from attendance_sync.logic.punches import (
	CHECKED_IN,
	DUPLICATE,
	FAILED,
	INACTIVE,
	INACTIVE_EMPLOYEE_STATUS,
	UNMAPPED,
	normalize_device_user_id,
)

# `_core.dedup(items, existing_keys, *, window_seconds)`, passed in: this module imports neither frappe nor the core.
Dedup = Callable[..., list[Any]]


@dataclass(frozen=True)
class EmployeeRef:
	name: str
	status: str


@dataclass(frozen=True)
class EmployeeIndex:
	by_device_id: dict[str, EmployeeRef]
	ambiguous: dict[str, list[str]]
	# Device user ID -> what `CheckinPlan` maps its punches to (an Employee name, or a Decision saying why not).
	resolved: dict[str | None, Any] = field(default_factory=dict, compare=False, repr=False)

	def lookup(self, device_user_id: str | None) -> EmployeeRef | None:
		return self.by_device_id.get(device_user_id) if device_user_id else None


def employee_index(rows: Iterable[tuple[Any, str, str]]) -> EmployeeIndex:
	"""Index Employees by attendance_device_id, exactly after trimming.

	The database compares case- and trailing-space-insensitively, so its answer is filtered here; IDs that
	collide after trimming are ambiguous and map to nobody.
	"""
	found: dict[str, list[EmployeeRef]] = {}
	for device_id, name, status in rows:
		key = normalize_device_user_id(device_id)
		if key:
			found.setdefault(key, []).append(EmployeeRef(name=name, status=status))
	index = {k: v[0] for k, v in found.items() if len(v) == 1}
	ambiguous = {k: sorted(e.name for e in v) for k, v in found.items() if len(v) > 1}
	return EmployeeIndex(by_device_id=index, ambiguous=ambiguous)


def checkin_key(employee: str, time: datetime) -> tuple[str, datetime]:
	"""A check-in as the core's dedup takes it: the Employee and the site time to the second, whatever the log
	type. Site times are naive (as HRMS stores them); their wall clock is passed as UTC, so the rule compares the
	digits Employee Checkin holds."""
	return (employee, time.replace(microsecond=0, tzinfo=timezone.utc))


@dataclass(frozen=True)
class PendingPunch:
	name: str
	device: str
	device_user_id: str | None
	time: datetime
	log_type: str | None


class Decision(NamedTuple):
	"""What becomes of one punch. A named tuple: a batch makes one per punch, and planning must stay cheap."""

	punch: str
	status: str
	employee: str | None = None
	reason: str | None = None
	time: datetime | None = None
	log_type: str | None = None

	@property
	def creates_checkin(self) -> bool:
		return self.status == CHECKED_IN


def existing_checkin_bounds(
	punches: Sequence[PendingPunch], double_punch_seconds: int = 0
) -> tuple[datetime, datetime] | None:
	"""The time range of existing check-ins that can collide with `punches`."""
	if not punches:
		return None
	margin = timedelta(seconds=max(double_punch_seconds, 0) + 1)
	times = [p.time for p in punches]
	return (min(times) - margin, max(times) + margin)


def map_punch(punch: PendingPunch, employees: EmployeeIndex) -> Decision | None:
	"""The decision on a punch that cannot become a check-in (Unmapped, Inactive Employee); None when it can."""
	if not punch.device_user_id:
		return Decision(punch.name, UNMAPPED, reason=_("The event carries no employee number"))
	if punch.device_user_id in employees.ambiguous:
		return Decision(
			punch.name,
			UNMAPPED,
			reason=_("Attendance Device ID {0} matches more than one Employee: {1}").format(
				punch.device_user_id, ", ".join(employees.ambiguous[punch.device_user_id])
			),
		)
	employee = employees.lookup(punch.device_user_id)
	if employee is None:
		return Decision(
			punch.name,
			UNMAPPED,
			reason=_("No Employee has Attendance Device ID {0}").format(punch.device_user_id),
		)
	if employee.status == INACTIVE_EMPLOYEE_STATUS:
		return Decision(
			punch.name,
			INACTIVE,
			employee=employee.name,
			reason=_("Employee {0} is Inactive").format(employee.name),
		)
	return None


class CheckinPlan:
	"""What a batch of Pending punches becomes, in planning order (`punches`).

	Mapping is decided here (`map_punch`, once per device user ID of the batch); which mapped punches become
	check-ins is the core's dedup over (Employee, time) against the existing check-ins, with the Double Punch
	Window. Iterating yields each punch with its decision as it stands when reached: when the caller fails to
	insert a planned check-in it calls `failed`, and the punches after it are decided again without it, so a later
	punch of the same second gets its chance.

	Kept cheap, so that the core's call dominates: each punch's dedup key (and its site time to the second) is
	made once and reused when deciding again; decisions are plain named tuples, made when they are asked for.
	"""

	def __init__(
		self,
		punches: Iterable[PendingPunch],
		employees: EmployeeIndex,
		existing: Iterable[tuple[str, datetime]],
		double_punch_seconds: int,
		dedup: Dedup,
	) -> None:
		self.punches = ordered(punches)
		self.window = max(int(double_punch_seconds or 0), 0)
		self._dedup = dedup
		utc = timezone.utc
		# `checkin_key`, inline: one conversion per check-in, no call.
		self._existing = [(employee, time.replace(microsecond=0, tzinfo=utc)) for employee, time in existing]
		self._position: dict[str, int] | None = None
		# Mapping depends on the device user ID only: decided once per ID (per index, which may serve several plans)
		# into an Employee name, or the Decision saying why the punches of that ID cannot check in.
		by_user: dict[str | None, Decision | str] = employees.resolved
		for punch in self.punches:
			if punch.device_user_id not in by_user:
				by_user[punch.device_user_id] = (
					map_punch(punch, employees)
					or employees.by_device_id[
						punch.device_user_id  # type: ignore[index]
					].name
				)
		# Per punch: its Employee when it can become a check-in (else None), its site time to the second and its
		# dedup key (None when not mappable); whether the core keeps it; a Failed reason.
		mapped = [by_user[p.device_user_id] for p in self.punches]
		self._employees: list[str | None] = [m if m.__class__ is str else None for m in mapped]
		self._times: list[datetime | None] = [
			(p.time.replace(microsecond=0) if p.time.microsecond else p.time) if e is not None else None
			for p, e in zip(self.punches, self._employees, strict=True)
		]
		self._keys: list[tuple[str, datetime] | None] = [
			(e, t.replace(tzinfo=utc)) if e is not None else None  # type: ignore[union-attr]
			for e, t in zip(self._employees, self._times, strict=True)
		]
		self._unmapped: list[Decision | None] = [
			None if m.__class__ is str else m if m.punch == p.name else m._replace(punch=p.name)  # type: ignore[union-attr,misc]
			for p, m in zip(self.punches, mapped, strict=True)
		]
		self._kept: list[bool] = [False] * len(mapped)
		self._failed: dict[int, str] = {}
		self._duplicate_reason = (
			_("Employee {0} already has a check-in within {1} seconds of {2}")
			if self.window
			else _("Employee {0} already has a check-in at {1}")
		)
		self._decide(0)

	def _decide(self, start: int) -> None:
		"""Decide the mappable punches from `start` on against the existing check-ins and those planned before."""
		keys = self._keys
		at = [i for i in range(start, len(keys)) if keys[i] is not None]
		if not at:
			return
		items = [keys[i] for i in at]
		planned = [keys[i] for i in range(start) if self._kept[i] and i not in self._failed]
		kept = self._dedup(
			items, self._existing + planned if planned else self._existing, window_seconds=self.window
		)
		# The core returns the kept items themselves, in input order.
		j, n_kept = 0, len(kept)
		for i, key in zip(at, items, strict=True):
			keep = j < n_kept and kept[j] is key
			j += keep
			self._kept[i] = keep

	def decision(self, i: int) -> Decision:
		"""The decision on the punch at position `i`, as it stands."""
		unmapped = self._unmapped[i]
		if unmapped is not None:
			return unmapped
		punch, employee = self.punches[i], self._employees[i]
		if i in self._failed:
			return Decision(punch.name, FAILED, employee, self._failed[i])
		when = self._times[i]
		if self._kept[i]:
			return Decision(punch.name, CHECKED_IN, employee, None, when, punch.log_type)
		reason = (
			self._duplicate_reason.format(employee, self.window, when)
			if self.window
			else self._duplicate_reason.format(employee, when)
		)
		return Decision(punch.name, DUPLICATE, employee, reason)

	def __iter__(self) -> Iterator[tuple[PendingPunch, Decision]]:
		for i, punch in enumerate(self.punches):
			yield punch, self.decision(i)

	@property
	def decisions(self) -> list[Decision]:
		return [self.decision(i) for i in range(len(self.punches))]

	def failed(self, punch: PendingPunch, reason: str) -> Decision:
		"""The planned check-in of `punch` was not inserted: it is Failed, and the punches after it are decided
		again without it."""
		if self._position is None:
			self._position = {p.name: i for i, p in enumerate(self.punches)}
		i = self._position[punch.name]
		self._failed[i] = reason
		self._decide(i + 1)
		return self.decision(i)


def checkin_failure_reason(
	employee: str | None,
	error_type: str,
	message: str,
	*,
	validation: bool,
	missing_shift_types: Sequence[tuple[str, str]] = (),
) -> str:
	"""Why a planned check-in could not be inserted: the employee, what went wrong and what to fix.

	`missing_shift_types` are (where, Shift Type) pairs of the employee that point at a Shift Type that does not
	exist (a Default Shift or a Shift Assignment left behind when the Shift Type was deleted): HRMS then fails
	inside its own code with an AttributeError, which says nothing a person can act on.
	"""
	who = _("Employee {0}").format(employee) if employee else _("The punch")
	message = (message or "").strip().rstrip(".") or error_type
	if missing_shift_types:
		where = "; ".join(
			_("{0} points at Shift Type {1}, which does not exist").format(source, shift)
			for source, shift in missing_shift_types
		)
		return _(
			"{0}: {1}. Set an existing Shift Type there (or clear it), then Reprocess this punch. ({2}: {3})"
		).format(who, where, error_type, message)
	if validation:
		return _(
			"{0}: {1}. Correct it (the Employee, its shift, HR Settings or the device), then Reprocess this punch."
		).format(who, message)
	return _(
		"{0}: the check-in could not be created ({1}: {2}). Check the Employee and its shift, then Reprocess "
		"this punch."
	).format(who, error_type, message)


def ordered(punches: Iterable[PendingPunch]) -> list[PendingPunch]:
	"""Planning order: by time, then name, so every run decides the same way."""
	return sorted(punches, key=lambda p: (p.time, p.name))
