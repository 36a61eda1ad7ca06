"""Event times the app cannot place, and the Unreadable status (issue 17)."""

from datetime import datetime, timedelta, timezone

from event_values import Ev

from attendance_sync.logic import punches as P

DHAKA = timezone(timedelta(hours=6))


class UnreadableTime(Ev):
	"""An event whose time cannot be read (what `_core.Event.time` raises for a year Python cannot hold)."""

	@property
	def time(self) -> datetime:  # type: ignore[override]
		raise ValueError("year 0 is out of range")

	@time.setter
	def time(self, value: datetime) -> None:
		pass


def test_punch_rows_skip_times_no_zone_can_hold_and_count_them():
	events = [
		Ev(1, "1042", datetime(1, 1, 1, 3, tzinfo=DHAKA)),  # year 1 at +06:00: year 0 in UTC
		Ev(2, "1042", datetime(9999, 12, 31, 20, tzinfo=timezone(timedelta(hours=-5)))),  # year 10000 in UTC
		UnreadableTime(3, "1042", datetime(2024, 3, 1, 8, tzinfo=DHAKA)),
		Ev(4, "1042", datetime(2024, 3, 1, 8, tzinfo=DHAKA)),
	]
	fetched = P.punch_rows("Gate", events, site_tz="UTC", direction=P.PunchDirection())
	assert fetched.unreadable == 3
	assert fetched.events == 4
	assert [r.serial_no for r in fetched.rows] == [4]
	assert fetched.rows[0].time == datetime(2024, 3, 1, 2)


def test_unreadable_rows_keep_the_terminals_time_and_key_and_are_never_reprocessed():
	row = P.punch_rows(
		"Gate",
		[Ev(7, "1042", datetime(2099, 1, 1, 8, tzinfo=DHAKA))],
		site_tz="UTC",
		direction=P.PunchDirection(),
	)
	kept = P.unreadable_row(row.rows[0], "after the device's clock", datetime(2026, 7, 16, 12))
	assert (kept.status, kept.reason, kept.time) == (
		P.UNREADABLE,
		"after the device's clock",
		datetime(2026, 7, 16, 12),
	)
	assert kept.device_time == "2099-01-01T08:00:00+06:00"
	assert (kept.name, kept.event_key) == (row.rows[0].name, row.rows[0].event_key)
	assert P.UNREADABLE in P.STATUSES
	assert P.UNREADABLE not in P.REPROCESSABLE_STATUSES
	assert P.UNREADABLE in P.PRUNABLE_STATUSES
