"""When a device is due, how healthy it looks, and how far a Shift Type's check-in cursor may go."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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
HEALTH_STATES = (SYNCED, STALE, FAILING, NEVER, DISABLED)


def interval(frequency: str | None) -> timedelta:
	return FREQUENCIES.get(frequency or DEFAULT_FREQUENCY, FREQUENCIES[DEFAULT_FREQUENCY])


def is_due(frequency: str | None, last_sync_at: datetime | None, now: datetime) -> bool:
	"""Whether the cron tick at `now` should enqueue a device last run at `last_sync_at`."""
	if last_sync_at is None:
		return True
	return now - last_sync_at >= interval(frequency) - TICK / 2


def health(
	*,
	enabled: bool,
	auth_blocked: bool,
	last_sync_status: str | None,
	synced_up_to: datetime | None,
	frequency: str | None,
	now: datetime,
) -> str:
	"""Synced, Stale (missed its frequency), Failing (last run failed), Never Synced or Disabled."""
	if not enabled:
		return DISABLED
	if auth_blocked or last_sync_status == "Failed":
		return FAILING
	if synced_up_to is None:
		return NEVER
	if now - synced_up_to > interval(frequency) * STALE_AFTER_RUNS:
		return STALE
	return SYNCED


@dataclass(frozen=True)
class Candidate:
	name: str
	last_sync_at: datetime | None


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
	"""A device as seen by a Shift Type it feeds."""

	name: str
	enabled: bool
	synced_up_to: datetime | None
	last_sync_status: str | None


def shift_type_cursor(current: datetime | None, devices: Sequence[FeedingDevice]) -> datetime | None:
	"""`last_sync_of_checkin` for a Shift Type fed by `devices`.

	HRMS marks Absent every day up to this moment without a check-in, so it is a promise that every punch up
	to here is in the system: the minimum Synced Up To over the enabled devices, unchanged while one of them has
	never completed a run, and never backwards. A failed run leaves its device's Synced Up To where it was, so
	the minimum never passes a failing device.
	"""
	enabled = [d for d in devices if d.enabled]
	if not enabled or any(d.synced_up_to is None for d in enabled):
		return current
	candidate = min(d.synced_up_to for d in enabled if d.synced_up_to is not None)
	if current is not None and candidate <= current:
		return current
	return candidate
