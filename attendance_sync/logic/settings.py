"""Attendance Sync Settings as plain values: the defaults live here, once, and so does their validation."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from attendance_sync.logic.i18n import _
from attendance_sync.logic.punches import parse_punch_codes

DEFAULTS: dict[str, Any] = {
	"overlap_minutes": 10,
	"fetch_concurrency": 0,
	"connect_timeout": 5.0,
	"request_timeout": 30.0,
	"punch_retention_days": 90,
	"double_punch_seconds": 0,
	"bulk_insert_above": 5000,
	"not_heard_from_minutes": 60,
}


@dataclass(frozen=True)
class SyncSettings:
	overlap_minutes: int = DEFAULTS["overlap_minutes"]
	fetch_concurrency: int = DEFAULTS["fetch_concurrency"]
	connect_timeout: float = DEFAULTS["connect_timeout"]
	request_timeout: float = DEFAULTS["request_timeout"]
	punch_retention_days: int = DEFAULTS["punch_retention_days"]
	double_punch_seconds: int = DEFAULTS["double_punch_seconds"]
	# A device run with more Pending punches than this inserts its check-ins in bulk (`bulk.Checkins`); 0: never.
	bulk_insert_above: int = DEFAULTS["bulk_insert_above"]
	# A device whose terminal has not answered for this long counts as not heard from (the workspace's card).
	not_heard_from_minutes: int = DEFAULTS["not_heard_from_minutes"]
	punch_codes: frozenset[tuple[int, int]] | None = None

	@property
	def overlap(self) -> timedelta:
		return timedelta(minutes=self.overlap_minutes)

	def bulk_for(self, pending: int) -> bool:
		"""Whether a run with this many Pending punches inserts its check-ins in bulk when not told."""
		return 0 < self.bulk_insert_above < pending

	def validate(self) -> None:
		"""Raise ValueError with a message naming the setting to fix."""
		if self.overlap_minutes < 0:
			raise ValueError(_("Overlap Minutes cannot be negative"))
		if self.fetch_concurrency < 0:
			raise ValueError(_("Fetch Concurrency cannot be negative"))
		if self.connect_timeout <= 0 or self.request_timeout <= 0:
			raise ValueError(_("Timeouts must be greater than zero (empty or 0 means the default)"))
		if self.punch_retention_days < 0:
			raise ValueError(_("Punch Retention Days cannot be negative"))
		if self.double_punch_seconds < 0:
			raise ValueError(_("Double-Punch Window cannot be negative"))
		if self.not_heard_from_minutes < 0:
			raise ValueError(_("Not Heard From Minutes cannot be negative (0 means the default)"))
		if self.bulk_insert_above < 0:
			raise ValueError(_("Bulk Insert Above cannot be negative (0: never)"))
		for major, minor in self.punch_codes or ():
			if major <= 0 or minor <= 0:
				raise ValueError(
					_("Punch codes need a major and a specific minor (both above 0): {0}/{1}").format(
						major, minor
					)
				)


def settings_from_values(values: dict[str, Any], punch_codes: Iterable[tuple[Any, Any]] = ()) -> SyncSettings:
	"""SyncSettings from a Settings document's values; empty values (and 0 timeouts) take the defaults."""

	def pick(key: str, cast: type) -> Any:
		value = values.get(key)
		return DEFAULTS[key] if value in (None, "") else cast(value)

	return SyncSettings(
		overlap_minutes=pick("overlap_minutes", int),
		fetch_concurrency=pick("fetch_concurrency", int),
		connect_timeout=pick("connect_timeout", float) or DEFAULTS["connect_timeout"],
		request_timeout=pick("request_timeout", float) or DEFAULTS["request_timeout"],
		punch_retention_days=pick("punch_retention_days", int),
		double_punch_seconds=pick("double_punch_seconds", int),
		bulk_insert_above=pick("bulk_insert_above", int),
		not_heard_from_minutes=pick("not_heard_from_minutes", int) or DEFAULTS["not_heard_from_minutes"],
		punch_codes=parse_punch_codes(punch_codes),
	)
