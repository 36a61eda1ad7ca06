"""Fixtures that run the project's ISAPI simulator binary on loopback ports."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attendance_sync.simulator import Simulator, find_binary

ROOT = Path(__file__).resolve().parent.parent
# The fleet's history ends here, so its events (same-second bursts included) are the same on every run.
HISTORY_END = datetime(2026, 3, 2, 18, 30, tzinfo=timezone(timedelta(hours=6)))


def week_window() -> tuple[datetime, datetime]:
	"""A window holding the fleet's whole history, with margin on both sides."""
	return HISTORY_END - timedelta(days=10), HISTORY_END + timedelta(days=1)


def start_simulator(devices: int, *args: str) -> Simulator:
	"""A simulator whose history ends at HISTORY_END."""
	binary = find_binary()
	if binary is None:
		pytest.fail("the attendance-sync binary is missing: run `make test` (it builds it)")
	sim = Simulator(devices=devices, args=["--history-end", HISTORY_END.isoformat(), *args], binary=binary)
	sim.start()
	return sim


@pytest.fixture(scope="session")
def fleet():
	"""Three terminals at UTC+06:00 with a week of events each; tests reset faults they set."""
	sim = start_simulator(3, "--days", "7", "--events-per-day", "120", "--utc-offset", "+06:00")
	yield sim.devices
	sim.stop()


@pytest.fixture
def device(fleet):
	"""The first terminal of the fleet, with clean counters and no faults."""
	dev = fleet[0]
	dev.set_faults()
	dev.reset()
	yield dev
	dev.set_faults()
	dev.reset()


@pytest.fixture
def simulator():
	"""Start a private simulator with custom flags: `sim = simulator(1, "--https")`."""
	started: list[Simulator] = []

	def start(devices: int, *args: str) -> Simulator:
		sim = start_simulator(devices, *args)
		started.append(sim)
		return sim

	yield start
	for sim in started:
		sim.stop()
