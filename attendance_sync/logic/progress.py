"""Realtime progress of a device run: throttling (the core may report every page, the browser needs one a second)
and what the bar says.

Every message of a run carries the bar's percent and its words, ready to show under one title, so the form
needs no arithmetic and no wording of its own.
"""

import time
from collections.abc import Callable

from attendance_sync.logic.i18n import _


class Throttle:
	def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
		self.interval = interval
		self.clock = clock
		self._last: float | None = None

	def ready(self, *, force: bool = False) -> bool:
		"""True at most once per interval (always when forced); a True answer starts the next interval."""
		now = self.clock()
		if force or self._last is None or now - self._last >= self.interval:
			self._last = now
			return True
		return False


def _count(n: int, one: str, many: str) -> str:
	"""`n` with the singular or plural wording (whole strings, so each can be translated)."""
	return (one if n == 1 else many).format(n)


def fetch_percent(pages: int) -> float:
	"""The bar while fetching: the number of pages is unknown until the last one, so it grows towards half."""
	return round(50 * (1 - 1 / (1 + max(pages, 0) / 10)), 1)


def fetch_message(pages: int, events: int) -> str:
	return _("Fetching: {0}, {1}").format(
		_count(pages, _("1 page"), _("{0} pages")), _count(events, _("1 event"), _("{0} events"))
	)


def checkin_percent(done: int, total: int) -> float:
	"""The bar while checking in: the second half."""
	return round(50 + 50 * min(done, total) / max(total, 1), 1)


def checkin_message(done: int, total: int) -> str:
	return _("Check-ins: {0} of {1} processed").format(done, _count(total, _("1 punch"), _("{0} punches")))
