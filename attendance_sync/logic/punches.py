"""From device events to Device Punch rows: statuses, event keys, names, and a run's counts.

A Device Punch is stored once per device event: its name is derived from (device, event key). The event key
is the device's serial number together with the event's wall-clock time as the terminal reported it, or, for
firmwares that send no serial, the event's content plus its occurrence index among identical events of the same
fetch. Re-fetching the same events therefore produces the same names, which the table's keys turn away; and a
terminal whose counter restarted (factory reset, firmware upgrade, a replaced terminal under the same Device
Configuration) numbers new events 1, 2, ... again at other times, which are new keys, not repeats.

Pending punches become Employee Checkin decisions in `checkin_plan`.
"""

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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

FROM_DEVICE = "From device"
BY_READER = "By Reader"
PUNCH_DIRECTIONS = (FROM_DEVICE, "IN", "OUT", "None", BY_READER)
# A reader map row for door 0 stands for the reader of that number at any door.
ANY_DOOR = 0

# (door, reader) -> "IN" / "OUT": a device's Reader Directions.
ReaderMap = Mapping[tuple[int, int], str]

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
	@property
	def door_no(self) -> int | None: ...
	@property
	def reader_no(self) -> int | None: ...


def normalize_device_user_id(value: Any) -> str | None:
	"""Device user IDs compare exactly after trimming; leading zeros matter ("00042" is not "42")."""
	if value is None:
		return None
	text = str(value).strip()
	return text or None


def log_type_for(
	direction: str | None,
	device_log_type: str | None,
	door_no: int | None = None,
	reader_no: int | None = None,
	readers: ReaderMap | None = None,
	fallback: str | None = None,
) -> str | None:
	"""The Employee Checkin log_type of a punch under the device's Punch Direction.

	`device_log_type` is what the terminal said (its attendance key: check-in, break-in, overtime-in are IN; the
	outs OUT; undefined none). By Reader: the reader's row in `readers` (its door's, else one for any door); a
	punch whose door the terminal did not say (0: pushes name the reader only) takes the reader's rows when
	they agree. A reader with no row keeps what the terminal said. `fallback` (Direction When Not Said) is the
	answer when the terminal said nothing, under From device and By Reader.
	"""
	if direction in ("IN", "OUT"):
		return direction
	if direction == "None":
		return None
	if direction == BY_READER and reader_no and readers:
		mapped = _reader_direction(door_no or ANY_DOOR, reader_no, readers)
		if mapped:
			return mapped
	if device_log_type in ("IN", "OUT"):
		return device_log_type
	return fallback if fallback in ("IN", "OUT") else None


def _reader_direction(door_no: int, reader_no: int, readers: ReaderMap) -> str | None:
	if door_no != ANY_DOOR:
		return readers.get((door_no, reader_no)) or readers.get((ANY_DOOR, reader_no))
	said = {log_type for (_door, reader), log_type in readers.items() if reader == reader_no}
	return said.pop() if len(said) == 1 else None


@dataclass(frozen=True)
class PunchDirection:
	"""A device's Punch Direction with its Reader Directions and Direction When Not Said."""

	mode: str | None = FROM_DEVICE
	readers: ReaderMap | None = None
	fallback: str | None = None

	def log_type(self, device_log_type: str | None, door_no: int | None, reader_no: int | None) -> str | None:
		return log_type_for(self.mode, device_log_type, door_no, reader_no, self.readers, self.fallback)

	def knows(self, device_log_type: str | None, reader_no: int | None) -> bool:
		"""Whether a stored punch holds what its Log Type can be worked out again from: a fixed Punch Direction
		needs nothing; otherwise the reader or the terminal's direction must have been kept (punches stored before
		they were kept have neither, and keep their Log Type)."""
		return self.mode in ("IN", "OUT", "None") or bool(reader_no) or device_log_type in ("IN", "OUT")


def reader_map(rows: Iterable[tuple[Any, Any, Any]]) -> dict[tuple[int, int], str]:
	"""A device's Reader Directions as (door, reader) -> IN / OUT; a blank door is any door."""
	return {(int(door or ANY_DOOR), int(reader)): str(log_type) for door, reader, log_type in rows}


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
	# Where the punch was read (0: the terminal did not say) and what the terminal said of its direction: a
	# Reprocess works log_type out again from them under the device's Punch Direction of the day.
	door_no: int = 0
	reader_no: int = 0
	device_log_type: str | None = None

	# Column order of the stored row (`device_punch.store_punches`).
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
		"door_no",
		"reader_no",
		"device_log_type",
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
	direction: PunchDirection,
	reinterpret_zone: str | None = None,
) -> FetchedPunches:
	"""Device Punch rows for the punch events (`Event.is_punch`) among `events`, one per event identity.

	`direction`: the device's Punch Direction, Reader Directions and Direction When Not Said.
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
			log_type=direction.log_type(event.log_type, event.door_no, event.reader_no),
			verify_method=event.verify_method,
			major=int(event.major),
			minor=int(event.minor),
			status=PENDING if user_id else UNMAPPED,
			reason=None if user_id else _("The event carries no employee number (card or stranger event)"),
			door_no=event.door_no or 0,
			reader_no=event.reader_no or 0,
			device_log_type=event.log_type if event.log_type in ("IN", "OUT") else None,
		)
	return FetchedPunches(
		rows=list(rows.values()), events=total, skipped_not_punch=skipped, unreadable=unreadable
	)


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
