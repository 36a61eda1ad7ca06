"""Throttling of realtime progress messages: the core may report every page, the browser needs a few a second."""

import time
from collections.abc import Callable


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
