"""Fixtures that run the project's ISAPI simulator binary on loopback ports."""

import json
import os
import re
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIM_PASSWORD = "Sim-Pass-1234"
LINE = re.compile(r"^device (\S+) (https?)://127\.0\.0\.1:(\d+) events=(\d+)$")


def simulator_binary() -> str:
	path = os.environ.get("ATTENDANCE_SYNC_BIN") or str(ROOT / "target" / "debug" / "attendance-sync")
	if not Path(path).exists():
		pytest.fail(f"simulator binary {path} is missing: run `make test` (it builds it)")
	return path


@dataclass
class SimDevice:
	name: str
	scheme: str
	port: int
	events: int

	@property
	def control_url(self) -> str:
		return f"{self.scheme}://127.0.0.1:{self.port}"

	def device(self, **overrides) -> dict:
		"""Keyword arguments for `_core.Device` / a device dict pointing at this terminal."""
		args = {
			"host": "127.0.0.1",
			"port": self.port,
			"user": "admin",
			"password": SIM_PASSWORD,
			"name": self.name,
			"https": self.scheme == "https",
			"verify_tls": False,
		}
		args.update(overrides)
		return args

	def _control(self, method: str, path: str, body: dict | None = None) -> dict:
		import ssl

		data = json.dumps(body).encode() if body is not None else None
		req = urllib.request.Request(self.control_url + path, data=data, method=method)
		if data is not None:
			req.add_header("Content-Type", "application/json")
		ctx = ssl._create_unverified_context() if self.scheme == "https" else None
		with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
			text = resp.read()
		return json.loads(text) if text.strip() else {}

	def stats(self) -> dict:
		return self._control("GET", "/sim/stats")

	def reset(self) -> None:
		self._control("POST", "/sim/stats/reset")

	def set_faults(self, **faults) -> None:
		self._control("PUT", "/sim/faults", faults)


@dataclass
class Simulator:
	process: subprocess.Popen
	devices: list[SimDevice] = field(default_factory=list)

	def stop(self) -> None:
		self.process.terminate()
		try:
			self.process.wait(timeout=10)
		except subprocess.TimeoutExpired:
			self.process.kill()


def start_simulator(*args: str) -> Simulator:
	cmd = [simulator_binary(), "simulate", "--listen", "127.0.0.1:0", *args]
	proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
	expected = 1
	if "--devices" in args:
		expected = int(args[args.index("--devices") + 1])
	sim = Simulator(proc)
	assert proc.stdout is not None
	while len(sim.devices) < expected:
		line = proc.stdout.readline()
		if not line:
			err = proc.stderr.read() if proc.stderr else ""
			raise RuntimeError(f"simulator exited early: {err}")
		m = LINE.match(line.strip())
		if m:
			sim.devices.append(SimDevice(m[1], m[2], int(m[3]), int(m[4])))
	return sim


@pytest.fixture(scope="session")
def fleet():
	"""Three terminals at UTC+06:00 with a week of events each; tests reset faults they set."""
	sim = start_simulator("--devices", "3", "--days", "7", "--events-per-day", "120", "--utc-offset", "+06:00")
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
	"""Start a private simulator with custom flags: `sim = simulator("--https")`."""
	started: list[Simulator] = []

	def start(*args: str) -> Simulator:
		sim = start_simulator(*args)
		started.append(sim)
		return sim

	yield start
	for sim in started:
		sim.stop()
