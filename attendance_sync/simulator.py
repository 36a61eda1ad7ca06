"""Run the `attendance-sync simulate` binary for tests: start it, read its device lines, talk to /sim/*.

Plain Python (no frappe), used by the app's bench tests; pytest covers it where the binary is built.
"""

import json
import os
import queue
import re
import shutil
import ssl
import subprocess
import threading
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# The simulator's defaults (`attendance-sync simulate --user/--password`).
SIM_USER = "admin"
SIM_PASSWORD = "Sim-Pass-1234"

_DEVICE_LINE = re.compile(r"^device (\S+) (https?://\S+) events=(\d+)\s*$")


@dataclass(frozen=True)
class SimDevice:
	name: str
	url: str
	events: int

	@property
	def host(self) -> str:
		return urlparse(self.url).hostname or ""

	@property
	def port(self) -> int:
		return urlparse(self.url).port or 80

	@property
	def https(self) -> bool:
		return self.url.startswith("https:")

	def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
		data = json.dumps(body).encode() if body is not None else None
		request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
		if data is not None:
			request.add_header("Content-Type", "application/json")
		# The simulator's certificate is self-signed, like a terminal's.
		context = ssl._create_unverified_context() if self.https else None
		with urllib.request.urlopen(request, timeout=10, context=context) as response:
			text = response.read()
		return json.loads(text) if text.strip() else {}

	def stats(self) -> dict[str, Any]:
		return self._control("GET", "/sim/stats")

	def reset(self) -> None:
		"""Zero the counters and clear failed logins and any lock."""
		self._control("POST", "/sim/stats/reset")

	def set_faults(self, faults: dict[str, Any] | None = None, /, **more: Any) -> dict[str, Any]:
		"""Replace the device's faults; no arguments restores a healthy device."""
		return self._control("PUT", "/sim/faults", {**(faults or {}), **more})

	def state(self) -> dict[str, Any]:
		"""`{"name", "serial_number", "next_serial", "events"}`: the terminal's identity and event counter now."""
		return self._control("GET", "/sim/device")

	def add_events(
		self,
		count: int = 1,
		*,
		at: datetime | str | None = None,
		step_secs: int | None = None,
		employee_no: str | None = None,
		minor: int | None = None,
		door: int | None = None,
		reader: int | None = None,
		attendance_status: str | None = None,
	) -> list[dict[str, Any]]:
		"""Record `count` punches now, numbered by the device's counter; returns them as
		`[{"serial_no", "time", "employee_no", "minor"}]` (time in the device's offset).

		`at`: time of the first (aware, or naive = device time); default: the last one at the device's clock now,
		never before the latest stored event. `step_secs`: seconds between them (default 60). `employee_no`: an
		enrolled employee (default: the enrolled people in turn). `minor`: under major 5 (default 75, face).
		`door`, `reader`: where it was read (default door 1, reader 1; reader 2 is the exit reader of a
		two-reader door). `attendance_status`: the attendance key pressed (checkIn, checkOut, breakIn, ...;
		default undefined).
		"""
		body: dict[str, Any] = {"count": count}
		if at is not None:
			body["at"] = at.isoformat() if isinstance(at, datetime) else at
		optional = {
			"step_secs": step_secs,
			"employee_no": employee_no,
			"minor": minor,
			"door": door,
			"reader": reader,
			"attendance_status": attendance_status,
		}
		body.update({key: value for key, value in optional.items() if value is not None})
		return self._control("POST", "/sim/events", body)["events"]

	def reset_serial_counter(self, *, clear_log: bool = False) -> dict[str, Any]:
		"""Restart the event counter at 1, as a factory reset or some firmware upgrades do: the next event
		recorded (`add_events`) is serial 1 again, at a new time. `clear_log` also erases the stored events (a
		factory reset). Returns `state()`."""
		return self._control("POST", "/sim/serial-reset", {"clear_log": clear_log})

	def set_serial_number(self, serial_number: str) -> dict[str, Any]:
		"""Report another hardware serial number in `System/deviceInfo`, as a terminal swapped under the same
		address would (1-64 ASCII letters and digits). Returns `state()`."""
		return self._control("PUT", "/sim/device", {"serial_number": serial_number})

	def set_push(
		self,
		url: str | None,
		*,
		format: str = "event_log",
		picture: bool = False,
		heartbeat_secs: int = 0,
		drop_share: float = 0.0,
		seed: int = 1,
		retries: int = 0,
		record_every_ms: int = 0,
	) -> dict[str, Any]:
		"""Configure HTTP listening (`PUT /sim/push`): every event recorded from now on is POSTed to `url`
		(`http://` only) as multipart with the JSON part named `event_log` or `AccessControllerEvent`
		(`format` "event_log", "access_controller_event"), or as bare JSON ("json"); `drop_share` of the event
		pushes is lost (seeded by `seed`), the events staying in the log. `url` None stops pushing. Counters
		start again at zero. Returns the setup."""
		body = {
			"url": url,
			"format": format,
			"picture": picture,
			"heartbeat_secs": heartbeat_secs,
			"drop_share": drop_share,
			"seed": seed,
			"retries": retries,
			"record_every_ms": record_every_ms,
		}
		return self._control("PUT", "/sim/push", body)["config"]

	def push_stats(self) -> dict[str, Any]:
		"""`GET /sim/push` counters: `events_sent`, `events_dropped`, `events_acknowledged`, `heartbeats_sent`,
		`refused`, `failed`, `acknowledged_serials`, `dropped_serials`, `last_status`, ..."""
		return self._control("GET", "/sim/push")["stats"]

	def replay_pushes(self, from_serial: int | None = None) -> int:
		"""Push the stored events again with `currentEvent` false (a reboot's back-fill); how many were queued."""
		body = {} if from_serial is None else {"from_serial": from_serial}
		return int(self._control("POST", "/sim/push/replay", body)["queued"])

	def connection(self, **overrides: Any) -> dict[str, Any]:
		"""Keyword arguments of `_core.Device` (or a device dict) that reach this terminal."""
		args: dict[str, Any] = {
			"host": self.host,
			"port": self.port,
			"user": SIM_USER,
			"password": SIM_PASSWORD,
			"name": self.name,
			"https": self.https,
			"verify_tls": False,
		}
		args.update(overrides)
		return args


def parse_device_line(line: str) -> SimDevice | None:
	"""One `device NAME URL events=N` line of the simulator's output, else None."""
	match = _DEVICE_LINE.match(line.strip())
	if not match:
		return None
	return SimDevice(name=match.group(1), url=match.group(2), events=int(match.group(3)))


def find_binary() -> str | None:
	"""$ATTENDANCE_SYNC_BIN, then `attendance-sync` on PATH, then the repository's cargo build."""
	candidates = [os.environ.get("ATTENDANCE_SYNC_BIN"), shutil.which("attendance-sync")]
	root = Path(__file__).resolve().parent.parent
	candidates += [str(root / "target" / kind / "attendance-sync") for kind in ("release", "debug")]
	return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


class Simulator:
	"""`with Simulator(devices=1, args=[...]) as sim:` then `sim.devices`; stopped on exit."""

	def __init__(self, devices: int = 1, args: list[str] | None = None, binary: str | None = None) -> None:
		self.count = devices
		self.args = list(args or [])
		self.binary = find_binary() if binary is None else binary
		self.devices: list[SimDevice] = []
		self._process: subprocess.Popen[str] | None = None
		self._reader: threading.Thread | None = None

	def start(self, timeout: float = 60) -> list[SimDevice]:
		if not self.binary:
			raise FileNotFoundError("attendance-sync binary not found (build it, or set ATTENDANCE_SYNC_BIN)")
		self._process = subprocess.Popen(
			[self.binary, "simulate", "--listen", "127.0.0.1:0", "--devices", str(self.count), *self.args],
			stdout=subprocess.PIPE,
			stderr=subprocess.DEVNULL,
			text=True,
		)
		lines: queue.Queue[str | None] = queue.Queue()

		def read(stream: Any) -> None:
			for line in stream:
				lines.put(line)
			lines.put(None)

		self._reader = threading.Thread(target=read, args=(self._process.stdout,), daemon=True)
		self._reader.start()
		while len(self.devices) < self.count:
			try:
				line = lines.get(timeout=timeout)
			except queue.Empty:
				self.stop()
				raise TimeoutError("the simulator did not report its devices in time") from None
			if line is None:
				self.stop()
				raise RuntimeError("the simulator exited before reporting its devices")
			if device := parse_device_line(line):
				self.devices.append(device)
		return self.devices

	def stop(self) -> None:
		process, self._process = self._process, None
		if process is None:
			return
		if process.poll() is None:
			process.terminate()
			try:
				process.wait(timeout=10)
			except subprocess.TimeoutExpired:
				process.kill()
				process.wait()
		# The reader ends at the pipe's EOF; closing the pipe under it would make it fail instead.
		if self._reader is not None:
			self._reader.join(timeout=10)
			self._reader = None
		if process.stdout is not None:
			process.stdout.close()

	def __enter__(self) -> "Simulator":
		self.start()
		return self

	def __exit__(self, *exc: object) -> None:
		self.stop()
