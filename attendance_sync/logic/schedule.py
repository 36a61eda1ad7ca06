"""When a device is due, how healthy it looks, and how far a Shift Type's check-in cursor may go."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from attendance_sync.logic.i18n import _

FREQUENCIES: dict[str, timedelta] = {
	"Daily": timedelta(days=1),
	"Hourly": timedelta(hours=1),
	"Every 15 Minutes": timedelta(minutes=15),
}
DEFAULT_FREQUENCY = "Daily"
# The scheduler's cron tick. Half a tick of slack absorbs scheduler and queue jitter: a device synced at
# 10:00:40 is still due at the 10:15:10 tick.
TICK = timedelta(minutes=15)
# A device is stale once it has missed a whole run of its frequency.
STALE_AFTER_RUNS = 2

SYNCED = "Synced"
STALE = "Stale"
FAILING = "Failing"
NEVER = "Never Synced"
DISABLED = "Disabled"
# Syncing, but some punches did not become check-ins (Failed) or hold a Shift Type's cursor.
ATTENTION = "Needs Attention"
HEALTH_STATES = (SYNCED, STALE, FAILING, NEVER, DISABLED, ATTENTION)
# The indicator colour of each state, the one table the form and the list read (sent in the desk's boot).
HEALTH_COLORS = {
	SYNCED: "green",
	ATTENTION: "orange",
	STALE: "orange",
	FAILING: "red",
	NEVER: "gray",
	DISABLED: "gray",
}


def interval(frequency: str | None) -> timedelta:
	return FREQUENCIES.get(frequency or DEFAULT_FREQUENCY, FREQUENCIES[DEFAULT_FREQUENCY])


def is_due(frequency: str | None, last_sync_at: datetime | None, now: datetime) -> bool:
	"""Whether the cron tick at `now` should enqueue a device last run at `last_sync_at`."""
	if last_sync_at is None:
		return True
	return now - last_sync_at >= interval(frequency) - TICK / 2


@dataclass(frozen=True)
class HeldCursor:
	"""A Shift Type whose `last_sync_of_checkin` waits for unresolved punches."""

	shift_type: str
	held_at: datetime | None
	earliest: datetime
	punches: int


@dataclass(frozen=True)
class Attention:
	"""What a device's punches still need from a person (counted over every stored punch of the device)."""

	failed: int = 0
	oldest_failed: datetime | None = None
	unmapped: int = 0
	held: tuple[HeldCursor, ...] = field(default_factory=tuple)

	@property
	def needed(self) -> bool:
		"""Unmapped punches alone do not: they wait for an Attendance Device ID (those of an ID an Employee held
		before hold its Shift Types, and show as held)."""
		return bool(self.failed or self.held)


def is_stale(synced_up_to: datetime | None, frequency: str | None, now: datetime) -> bool:
	"""Whether a device's news (its complete sync, or last push) is older than two runs of its frequency."""
	return synced_up_to is not None and now - synced_up_to > interval(frequency) * STALE_AFTER_RUNS


def health(
	*,
	enabled: bool,
	auth_blocked: bool,
	last_sync_status: str | None,
	synced_up_to: datetime | None,
	frequency: str | None,
	now: datetime,
	attention: Attention | None = None,
) -> str:
	"""Disabled, Failing (last run failed), Never Synced, Stale (missed its frequency), Needs Attention (failed
	punches or a held Shift Type cursor), else Synced."""
	if not enabled:
		return DISABLED
	if auth_blocked or last_sync_status == "Failed":
		return FAILING
	if synced_up_to is None:
		return NEVER
	if is_stale(synced_up_to, frequency, now):
		return STALE
	if attention is not None and attention.needed:
		return ATTENTION
	return SYNCED


def health_message(
	state: str,
	*,
	last_error: str | None = None,
	synced_up_to: datetime | None = None,
	attention: Attention | None = None,
	push_only: bool = False,
) -> str:
	"""What is wrong with a device, in words, for its form: empty when nothing is.

	`push_only`: the device is never searched (Sync Mode Push), so `synced_up_to` is its last push."""
	parts: list[str] = []
	if state == FAILING and last_error:
		parts.append(last_error)
	elif state == STALE and synced_up_to is not None:
		parts.append(
			_(
				"Nothing pushed since {0} (no event and no heartbeat): check the terminal's network and its HTTP listening host."
			).format(synced_up_to)
			if push_only
			else _("No complete sync since {0}.").format(synced_up_to)
		)
	if attention is not None:
		if attention.failed:
			parts.append(
				(
					_(
						"1 punch could not become a check-in (since {1}); the Device Punch list (status Failed) says why."
					)
					if attention.failed == 1
					else _(
						"{0} punches could not become check-ins (oldest {1}); the Device Punch list (status Failed) "
						"says why for each."
					)
				).format(attention.failed, attention.oldest_failed)
			)
		for hold in attention.held:
			parts.append(hold_text(hold))
		if attention.unmapped:
			parts.append(
				(
					_(
						"1 punch is Unmapped (no Employee has its Device User ID); it becomes a check-in once an "
						"Employee gets that ID."
					)
					if attention.unmapped == 1
					else _(
						"{0} punches are Unmapped (no Employee has their Device User ID); they become check-ins "
						"once Employees get those IDs."
					)
				).format(attention.unmapped)
			)
	return " ".join(parts)


def hold_text(hold: HeldCursor) -> str:
	"""Why a Shift Type's cursor does not move, for the Sync Log and the device form."""
	return (
		_(
			"Shift Type {0}: auto attendance waits at {1} for 1 punch at {2} of an employee on this shift that is "
			"not a check-in yet; fix it (the Device Punch says why), then Reprocess."
		)
		if hold.punches == 1
		else _(
			"Shift Type {0}: auto attendance waits at {1} for {3} punches of employees on this shift that are not "
			"check-ins yet (the earliest at {2}); fix them (each Device Punch says why), then Reprocess."
		)
	).format(hold.shift_type, hold.held_at or _("(not set)"), hold.earliest, hold.punches)


@dataclass(frozen=True)
class Candidate:
	name: str
	last_sync_at: datetime | None


def active_jobs(
	devices: Iterable[str], is_queued_or_running: Callable[[str], bool], *, finishing: str | None
) -> int:
	"""Device jobs that hold a Fetch Concurrency slot: queued or running, not counting `finishing`.

	A scheduled job refills the slots as it finishes, while RQ still reports it as running: counting it would
	leave its own slot empty (with a limit of 1, the chain would stop after every job).
	"""
	return sum(1 for d in devices if d != finishing and is_queued_or_running(d))


def pick_for_enqueue(candidates: Iterable[Candidate], *, active: int, limit: int) -> list[str]:
	"""The devices to enqueue now, most overdue first; `limit` caps queued plus running jobs (0: no cap)."""
	ranked = sorted(
		candidates, key=lambda c: (c.last_sync_at is not None, c.last_sync_at or datetime.min, c.name)
	)
	names = [c.name for c in ranked]
	if limit <= 0:
		return names
	return names[: max(limit - active, 0)]


@dataclass(frozen=True)
class FeedingDevice:
	"""A device as seen by a Shift Type it feeds.

	`released`: an administrator said the Shift Types stop waiting for it while it is disabled (a terminal taken
	away or replaced). A disabled device that is not released still holds them at its last complete sync: the
	punches it has not delivered yet are someone's attendance."""

	name: str
	enabled: bool
	synced_up_to: datetime | None
	released: bool = False

	@property
	def waited_for(self) -> bool:
		return self.enabled or not self.released


@dataclass(frozen=True)
class Unresolved:
	"""Punches of employees on a Shift Type that are not check-ins yet but must become ones: Pending and Failed
	punches, and Unmapped punches of a device user ID that an Employee holds now or held before."""

	earliest: datetime
	punches: int


def shift_type_cursor(
	current: datetime | None,
	devices: Sequence[FeedingDevice],
	unresolved: Unresolved | None = None,
) -> datetime | None:
	"""`last_sync_of_checkin` for a Shift Type fed by `devices`.

	HRMS marks Absent every day up to this moment without a check-in, so it is a promise that every punch up
	to here is in the system as a check-in: the minimum Synced Up To over the devices it waits for (enabled, or
	disabled and not released), unchanged while one of them has never completed a run, before the earliest
	`unresolved` punch of an employee on the shift, and never backwards. A failed run leaves its device's Synced
	Up To where it was, so the minimum never passes a failing device; a failed check-in holds the cursor until it
	is resolved (Reprocess).
	"""
	waited = [d for d in devices if d.waited_for]
	if not waited or any(d.synced_up_to is None for d in waited):
		return current
	candidate = min(d.synced_up_to for d in waited if d.synced_up_to is not None)
	if unresolved is not None:
		candidate = min(candidate, unresolved.earliest - timedelta(seconds=1))
	if current is not None and candidate <= current:
		return current
	return candidate


def held_cursor(
	shift_type: str,
	current: datetime | None,
	devices: Sequence[FeedingDevice],
	unresolved: Unresolved | None,
) -> HeldCursor | None:
	"""The hold on a Shift Type's cursor, when unresolved punches keep it from where the devices would take it."""
	if unresolved is None:
		return None
	held = shift_type_cursor(current, devices, unresolved)
	free = shift_type_cursor(current, devices)
	if free is None or (held is not None and free <= held):
		return None
	return HeldCursor(
		shift_type=shift_type, held_at=held, earliest=unresolved.earliest, punches=unresolved.punches
	)


@dataclass(frozen=True)
class Membership:
	"""An employee on a Shift Type: its Default Shift (no end), or an active Shift Assignment until `end_date`."""

	employee: str
	shift_type: str
	end_date: date | None


def unresolved_by_shift(
	per_employee: Mapping[str, Unresolved], memberships: Iterable[Membership]
) -> dict[str, Unresolved]:
	"""The unresolved punches of each Shift Type's employees, from each employee's own.

	Who is on a shift follows HRMS's auto attendance (`get_assigned_employees`): a Default Shift, or a submitted,
	active Shift Assignment not ended before the employee's earliest unresolved punch.
	"""
	pairs: set[tuple[str, str]] = set()
	for m in memberships:
		found = per_employee.get(m.employee)
		if found is None or (m.end_date is not None and m.end_date < found.earliest.date()):
			continue
		pairs.add((m.shift_type, m.employee))
	result: dict[str, Unresolved] = {}
	for shift_type, employee in sorted(pairs):
		found = per_employee[employee]
		have = result.get(shift_type)
		result[shift_type] = (
			found
			if have is None
			else Unresolved(earliest=min(have.earliest, found.earliest), punches=have.punches + found.punches)
		)
	return result
