"""From device events to Device Punch rows, and from Pending punches to Employee Checkin decisions.

A Device Punch is stored once per device event: its name is derived from (device, event key). The event key
is the device's serial number together with the event's wall-clock time as the terminal reported it, or, for
firmwares that send no serial, the event's content plus its occurrence index among identical events of the same
fetch. Re-fetching the same events therefore produces the same names, which the table's keys turn away; and a
terminal whose counter restarted (factory reset, firmware upgrade, a replaced terminal under the same Device
Configuration) numbers new events 1, 2, ... again at other times, which are new keys, not repeats.

Check-in planning maps punches to Employees here and leaves the duplicate rule to the core (`_core.dedup`, the
one rule of the core and the app): a punch is a Duplicate when its Employee already has a check-in, existing or
planned earlier, at most the Double Punch Window away (0: the same second), whatever the log type. That is
stricter than HRMS's own duplicate check (employee, time, log type): two terminals reporting one face in the
same second make one check-in.
"""

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

from attendance_sync.logic.i18n import _
from attendance_sync.logic.timezones import reinterpret_in_zone, to_site_naive

PENDING = "Pending"
CHECKED_IN = "Checked In"
DUPLICATE = "Duplicate"
UNMAPPED = "Unmapped"
INACTIVE = "Inactive Employee"
FAILED = "Failed"
# An event kept as a record of what a terminal sent, never a check-in: a pushed time outside what the device can
# have recorded (before Sync Start, after its clock). Never Pending, never reprocessed, never holding a cursor.
UNREADABLE = "Unreadable"
STATUSES = (PENDING, CHECKED_IN, DUPLICATE, UNMAPPED, INACTIVE, FAILED, UNREADABLE)
# Rows that retention may prune; Unmapped and Failed stay until someone resolves them. (An Unreadable row's
# Time is when the site received it.)
PRUNABLE_STATUSES = (CHECKED_IN, DUPLICATE, INACTIVE, UNREADABLE)
# Rows a Reprocess may send back to Pending: everything that did not become a check-in and could.
REPROCESSABLE_STATUSES = (DUPLICATE, UNMAPPED, INACTIVE, FAILED)

PUNCH_DIRECTIONS = ("From device", "IN", "OUT", "None")

# HRMS rejects only this status (validate_active_employee); Left and Suspended employees may still check in.
INACTIVE_EMPLOYEE_STATUS = "Inactive"


class EventLike(Protocol):
	"""What is read from a `_core.Event` (read-only members)."""

	@property
	def serial_no(self) -> int | None: ...
	@property
	def employee_no(self) -> str | None: ...
	@property
	def time(self) -> datetime: ...
	@property
	def log_type(self) -> str | None: ...
	@property
	def major(self) -> int: ...
	@property
	def minor(self) -> int: ...
	@property
	def verify_method(self) -> str | None: ...
	@property
	def is_punch(self) -> bool: ...
	@property
	def card_no(self) -> str | None: ...
	@property
	def name(self) -> str | None: ...


def normalize_device_user_id(value: Any) -> str | None:
	"""Device user IDs compare exactly after trimming; leading zeros matter ("00042" is not "42")."""
	if value is None:
		return None
	text = str(value).strip()
	return text or None


def log_type_for(direction: str | None, device_log_type: str | None) -> str | None:
	"""The Employee Checkin log_type for a punch under the device's Punch Direction."""
	if direction == "IN":
		return "IN"
	if direction == "OUT":
		return "OUT"
	if direction == "None":
		return None
	return device_log_type if device_log_type in ("IN", "OUT") else None


def parse_punch_codes(rows: Iterable[tuple[Any, Any]]) -> frozenset[tuple[int, int]] | None:
	"""The configured (major, minor) pairs that count as punches; None when none are configured.

	The core classifies with them (`Device(punch_codes=...)` sets `Event.is_punch`); None leaves its own table
	(every successful authentication).
	"""
	codes = frozenset((int(major), int(minor)) for major, minor in rows)
	return codes or None


def serial_event_key(serial_no: int, wall_clock: datetime) -> str:
	"""The identity of an event that has a serial: the serial and the terminal's wall-clock time of the event.

	The wall clock (the digits the terminal shows, without its offset) is what a terminal stores with the event,
	so it stays the same however the offset is read; a restarted counter reuses serials at other times. The rule
	is the core's (`_core.serial_event_key`), shared with the relay's queue.
	"""
	# Imported here: the plain modules load without the compiled core (hooks, tests of the pure rules).
	from attendance_sync import _core

	return _core.serial_event_key(int(serial_no), wall_clock)


def migrated_event_key(serial_no: int, device_time: str) -> str:
	"""The key of a row stored under the old scheme (`s:<serial>`), from its Device Time column."""
	return serial_event_key(serial_no, datetime.fromisoformat(device_time))


def event_key(event: EventLike, occurrence: int = 0) -> str:
	"""The per-device identity of an event: its serial and wall-clock time, else its content and occurrence.
	The core's one rule (`_core.event_key`), which the relay's queue uses too."""
	from attendance_sync import _core

	return _core.event_key(
		event.serial_no,
		event.time,
		major=event.major,
		minor=event.minor,
		employee_no=event.employee_no,
		occurrence=occurrence,
	)


def punch_name(device: str, key: str) -> str:
	"""Deterministic Device Punch name, so that a re-fetched event maps onto the row it already has."""
	return hashlib.sha256(f"{device}\x00{key}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class PunchRow:
	name: str
	device: str
	serial_no: int | None
	event_key: str
	device_user_id: str | None
	name_on_device: str | None
	card_no: str | None
	time: datetime
	device_time: str
	log_type: str | None
	verify_method: str | None
	major: int
	minor: int
	status: str
	reason: str | None

	# Column order of the stored row (`device_punch.store_punches`); keep in step with `values()`.
	FIELDS = (
		"name",
		"device",
		"serial_no",
		"event_key",
		"device_user_id",
		"name_on_device",
		"card_no",
		"time",
		"device_time",
		"log_type",
		"verify_method",
		"major",
		"minor",
		"status",
		"reason",
	)

	def values(self) -> tuple[Any, ...]:
		return tuple(getattr(self, f) for f in self.FIELDS)


def unreadable_row(row: PunchRow, reason: str, received: datetime) -> PunchRow:
	"""`row` kept as Unreadable: its reason, and Time the site's `received` (the terminal's time, which the site
	does not trust, stays in Device Time; the key stays, so the event sent again is a duplicate)."""
	return dataclasses.replace(row, status=UNREADABLE, reason=reason, time=received)


@dataclass(frozen=True)
class FetchedPunches:
	rows: list[PunchRow]
	events: int
	skipped_not_punch: int
	# Punch events whose time could not be placed in the site's time zone: skipped, never stored.
	unreadable: int = 0


def punch_rows(
	device: str,
	events: Iterable[EventLike],
	*,
	site_tz: str,
	direction: str | None,
	reinterpret_zone: str | None = None,
) -> FetchedPunches:
	"""Device Punch rows for the punch events (`Event.is_punch`) among `events`, one per event identity.

	`reinterpret_zone` (Time Zone Handling "Re-interpret in Device Time Zone"): each event's wall clock is read in
	that zone, per event, instead of with the offset the terminal sent. Device Time keeps what the terminal sent.
	"""
	rows: dict[str, PunchRow] = {}
	occurrences: Counter[str] = Counter()
	total = skipped = unreadable = 0
	for event in events:
		total += 1
		if not event.is_punch:
			skipped += 1
			continue
		# The core hands out only times a day inside the years 1 to 9999, which every zone can hold; a time that
		# cannot be read or placed in the site's zone all the same is skipped, never half stored. (A zone setting
		# that cannot be used is the configuration's error, raised.)
		try:
			when = event.time
		except ValueError:
			unreadable += 1
			continue
		try:
			site_time = to_site_naive(
				reinterpret_in_zone(when, reinterpret_zone) if reinterpret_zone else when, site_tz
			)
		except OverflowError:
			unreadable += 1
			continue
		occurrence = 0
		if event.serial_no is None:
			base = event_key(event, 0)
			occurrence = occurrences[base]
			occurrences[base] += 1
		key = event_key(event, occurrence)
		name = punch_name(device, key)
		if name in rows:
			continue
		user_id = normalize_device_user_id(event.employee_no)
		rows[name] = PunchRow(
			name=name,
			device=device,
			serial_no=event.serial_no,
			event_key=key,
			device_user_id=user_id,
			name_on_device=event.name,
			card_no=event.card_no,
			time=site_time,
			device_time=when.isoformat(timespec="seconds"),
			log_type=log_type_for(direction, event.log_type),
			verify_method=event.verify_method,
			major=int(event.major),
			minor=int(event.minor),
			status=PENDING if user_id else UNMAPPED,
			reason=None if user_id else _("The event carries no employee number (card or stranger event)"),
		)
	return FetchedPunches(
		rows=list(rows.values()), events=total, skipped_not_punch=skipped, unreadable=unreadable
	)


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


# `_core.dedup(items, existing_keys, *, window_seconds)`, passed in: this module imports neither frappe nor the core.
Dedup = Callable[..., list[Any]]


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


@dataclass
class SyncCounts:
	"""The counts an Attendance Sync Log records."""

	fetched: int = 0
	new_punches: int = 0
	checkins_created: int = 0
	duplicates: int = 0
	unmapped: int = 0
	inactive: int = 0
	failed: int = 0

	def merge(self, other: "SyncCounts") -> None:
		"""Add the counts of `other` (a committed batch) to these."""
		for key, value in other.as_dict().items():
			setattr(self, key, getattr(self, key) + value)

	def add(self, status: str) -> None:
		if status == CHECKED_IN:
			self.checkins_created += 1
		elif status == DUPLICATE:
			self.duplicates += 1
		elif status == UNMAPPED:
			self.unmapped += 1
		elif status == INACTIVE:
			self.inactive += 1
		elif status == FAILED:
			self.failed += 1

	@property
	def status(self) -> str:
		"""Success, or Partial when some punches could not become check-ins for a reason to fix."""
		return "Partial" if self.failed else "Success"

	def as_dict(self) -> dict[str, int]:
		return {
			"fetched": self.fetched,
			"new_punches": self.new_punches,
			"checkins_created": self.checkins_created,
			"duplicates": self.duplicates,
			"unmapped": self.unmapped,
			"inactive": self.inactive,
			"failed": self.failed,
		}
