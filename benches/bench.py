"""Benchmarks of `attendance_sync._core` against two Python clients (issue 5).

Run with `make bench`. Starts the ISAPI simulator binary itself, runs every scenario, prints markdown tables and
writes them with the machine's facts to benches/RESULTS.md. Nothing here asserts a time: figures and targets only.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import http.client
import json
import math
import os
import platform
import re
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psutil
import requests
import urllib3
from requests.auth import HTTPDigestAuth

from attendance_sync import _core

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benches" / "RESULTS.md"
USER = "admin"
PASSWORD = "Sim-Pass-1234"
ACS_PATH = "/ISAPI/AccessControl/AcsEvent?format=json"
PAGE_SIZE = 30
LINE = re.compile(r"^device (\S+) (https?)://127\.0\.0\.1:(\d+) events=(\d+)$")
# A fixed history end makes every run page through identical data.
HISTORY_END = datetime(2024, 3, 1, tzinfo=timezone.utc)
MIB = 1024 * 1024

# The baselines talk to a self-signed simulator on loopback; the warning would flood the output.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def log(msg: str) -> None:
	"""Progress goes to stderr so stdout carries only the tables."""
	print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Simulator process (same approach as tests/conftest.py, not imported from there)


@dataclass
class SimDevice:
	name: str
	scheme: str
	port: int
	events: int

	@property
	def url(self) -> str:
		return f"{self.scheme}://127.0.0.1:{self.port}"

	def core_args(self) -> dict[str, Any]:
		"""Arguments of `_core.Device`, as a mapping `fetch_events` / `fetch_many` accept."""
		return {
			"host": "127.0.0.1",
			"port": self.port,
			"user": USER,
			"password": PASSWORD,
			"name": self.name,
			"https": self.scheme == "https",
			"verify_tls": False,
		}


_INSECURE = ssl.create_default_context()
_INSECURE.check_hostname = False
_INSECURE.verify_mode = ssl.CERT_NONE


_RUNNING: list[Simulator] = []


def stop_all() -> None:
	for sim in list(_RUNNING):
		sim.stop()


class Simulator:
	"""`attendance-sync simulate` in a child process, with its /sim control endpoints."""

	def __init__(self, *args: str) -> None:
		binary = os.environ.get("ATTENDANCE_SYNC_BIN") or str(ROOT / "target" / "release" / "attendance-sync")
		if not Path(binary).exists():
			raise SystemExit(f"simulator binary {binary} is missing: run `make bench` (it builds it)")
		cmd = [binary, "simulate", "--listen", "127.0.0.1:0", *args]
		# stderr to a file: a pipe nobody reads could fill up and stall the simulator.
		self._stderr = tempfile.TemporaryFile(mode="w+")
		self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
		_RUNNING.append(self)
		self.ps = psutil.Process(self.process.pid)
		expected = int(args[args.index("--devices") + 1]) if "--devices" in args else 1
		self.devices: list[SimDevice] = []
		assert self.process.stdout is not None
		while len(self.devices) < expected:
			line = self.process.stdout.readline()
			if not line:
				self._stderr.seek(0)
				raise RuntimeError(f"simulator exited early: {self._stderr.read()[-2000:]}")
			m = LINE.match(line.strip())
			if m:
				self.devices.append(SimDevice(m[1], m[2], int(m[3]), int(m[4])))
		# Keep draining stdout for the same reason as stderr.
		threading.Thread(target=self.process.stdout.read, daemon=True).start()

	def control(self, dev: SimDevice, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
		data = json.dumps(body).encode() if body is not None else None
		req = urllib.request.Request(dev.url + path, data=data, method=method)
		if data is not None:
			req.add_header("Content-Type", "application/json")
		ctx = _INSECURE if dev.scheme == "https" else None
		with urllib.request.urlopen(req, timeout=30, context=ctx) as resp:
			text = resp.read()
		return json.loads(text) if text.strip() else {}

	def reset(self, devices: Iterable[SimDevice]) -> None:
		for dev in devices:
			self.control(dev, "POST", "/sim/stats/reset")

	def stats(self, devices: Iterable[SimDevice]) -> dict[str, int]:
		"""Counters summed over devices, minus the connection (and handshake) of the stats request itself."""
		total: dict[str, int] = {}
		for dev in devices:
			one = self.control(dev, "GET", "/sim/stats")
			one["connections"] = one.get("connections", 0) - 1
			if dev.scheme == "https":
				one["tls_handshakes"] = one.get("tls_handshakes", 0) - 1
			for key, value in one.items():
				if isinstance(value, int):
					total[key] = total.get(key, 0) + value
		return total

	def set_latency(self, ms: int) -> None:
		for dev in self.devices:
			faults = self.control(dev, "GET", "/sim/faults")
			faults["latency_ms"] = ms
			self.control(dev, "PUT", "/sim/faults", faults)

	def cpu_seconds(self) -> float:
		t = self.ps.cpu_times()
		return t.user + t.system

	def floor(self, dev: SimDevice, requests_: int = 200) -> float:
		"""Seconds per request of the simulator itself at its current latency, from a bare keep-alive client.

		GET /ISAPI/System/time without credentials: answered 401 after the simulated latency, with the least
		work on both sides. This is what one exchange costs at best on this machine with this simulator.
		"""
		if dev.scheme == "https":
			conn: http.client.HTTPConnection = http.client.HTTPSConnection(
				"127.0.0.1", dev.port, context=_INSECURE
			)
		else:
			conn = http.client.HTTPConnection("127.0.0.1", dev.port)
		times = []
		try:
			for _ in range(requests_):
				t0 = time.perf_counter()
				conn.request("GET", "/ISAPI/System/time")
				conn.getresponse().read()
				times.append(time.perf_counter() - t0)
		finally:
			conn.close()
		return statistics.median(times[5:])

	def stop(self) -> None:
		if self not in _RUNNING:
			return
		_RUNNING.remove(self)
		self.process.terminate()
		try:
			self.process.wait(timeout=10)
		except subprocess.TimeoutExpired:
			self.process.kill()
			self.process.wait()


# ---------------------------------------------------------------------------------------------------------
# The clients under test


def window(days: int) -> tuple[datetime, datetime]:
	"""A window holding the whole generated history (it ends at HISTORY_END)."""
	return HISTORY_END - timedelta(days=days + 1), HISTORY_END + timedelta(days=1)


def iso(t: datetime) -> str:
	"""ISO 8601 with an explicit offset and whole seconds (§4.5)."""
	return t.isoformat(timespec="seconds")


def page_through(
	post: Callable[[dict[str, Any]], dict[str, Any]], start: datetime, end: datetime
) -> list[dict]:
	"""The paging loop both baselines share (isapi-acsevent.md §4.3): MORE/OK/NO MATCH, totalMatches."""
	search_id = uuid.uuid4().hex
	position = 0
	events: list[dict] = []
	while True:
		cond = {
			"searchID": search_id,
			"searchResultPosition": position,
			"maxResults": PAGE_SIZE,
			"major": 5,
			"minor": 0,
			"startTime": iso(start),
			"endTime": iso(end),
		}
		page = post({"AcsEventCond": cond})["AcsEvent"]
		items = page.get("InfoList") or []
		events.extend(items)
		position += len(items)
		if (
			page.get("responseStatusStrg") != "MORE"
			or not items
			or position >= int(page.get("totalMatches", 0))
		):
			return events


def seed_fetch(dev: SimDevice, start: datetime, end: datetime) -> int:
	"""Seed-style: `requests.post` with a new HTTPDigestAuth per page and no session, as the original app did."""
	url = dev.url + ACS_PATH

	def post(body: dict[str, Any]) -> dict[str, Any]:
		resp = requests.post(url, json=body, auth=HTTPDigestAuth(USER, PASSWORD), timeout=30, verify=False)
		resp.raise_for_status()
		return resp.json()

	return len(page_through(post, start, end))


def seed_many(devices: Sequence[SimDevice], start: datetime, end: datetime) -> int:
	return sum(seed_fetch(dev, start, end) for dev in devices)


def best_fetch(dev: SimDevice, start: datetime, end: datetime) -> int:
	"""Best Python: one Session and one HTTPDigestAuth per device, so the nonce is reused across pages."""
	url = dev.url + ACS_PATH
	with requests.Session() as session:
		session.auth = HTTPDigestAuth(USER, PASSWORD)

		def post(body: dict[str, Any]) -> dict[str, Any]:
			# verify per request: REQUESTS_CA_BUNDLE in the environment would override session.verify.
			resp = session.post(url, json=body, timeout=30, verify=False)
			resp.raise_for_status()
			return resp.json()

		return len(page_through(post, start, end))


def best_many(devices: Sequence[SimDevice], start: datetime, end: datetime, threads: int = 16) -> int:
	with ThreadPoolExecutor(max_workers=threads) as pool:
		return sum(pool.map(lambda d: best_fetch(d, start, end), devices))


def ours_fetch(dev: SimDevice, start: datetime, end: datetime) -> int:
	return len(_core.fetch_events(dev.core_args(), start, end).events)


def ours_many(devices: Sequence[SimDevice], start: datetime, end: datetime, concurrency: int) -> int:
	results = _core.fetch_many([d.core_args() for d in devices], start, end, concurrency=concurrency)
	total = 0
	for name, result in results.items():
		if isinstance(result, BaseException):
			raise RuntimeError(f"{name}: {result}")
		total += len(result.events)
	return total


# ---------------------------------------------------------------------------------------------------------
# Measurement


class PeakRss:
	"""Peak RSS of this process during one run.

	Linux resets the high-water mark (VmHWM, what ru_maxrss reports) on `echo 5 > /proc/self/clear_refs`, so
	every run gets its own peak in the same process. Without that file a sampling thread stands in.
	"""

	def __init__(self) -> None:
		self.start = 0
		self._sampled = 0
		self._stop = threading.Event()
		self._thread: threading.Thread | None = None
		self._clear_refs = True

	@staticmethod
	def _status(key: str) -> int:
		for line in Path("/proc/self/status").read_text().splitlines():
			if line.startswith(key + ":"):
				return int(line.split()[1]) * 1024
		return 0

	def __enter__(self) -> PeakRss:
		try:
			Path("/proc/self/clear_refs").write_text("5")
		except OSError:
			self._clear_refs = False
		self.start = self._status("VmRSS")
		if not self._clear_refs:
			self._sampled = self.start
			self._thread = threading.Thread(target=self._sample, daemon=True)
			self._thread.start()
		return self

	def _sample(self) -> None:
		while not self._stop.wait(0.005):
			self._sampled = max(self._sampled, self._status("VmRSS"))

	def __exit__(self, *exc: object) -> None:
		if self._thread is not None:
			self._stop.set()
			self._thread.join()
		self.peak = self._status("VmHWM") if self._clear_refs else max(self._sampled, self._status("VmRSS"))


@dataclass
class Sample:
	wall: float
	cpu: float
	events: int
	rss_peak: int
	rss_delta: int
	sim_cpu: float
	stats: dict[str, int]
	scale: float


@dataclass
class Case:
	"""One client in one setting, with its runs and how to read them."""

	scenario: str
	client: str
	run: Callable[[], int]
	sim: Simulator
	devices: Sequence[SimDevice]
	runs: int
	# The lower bound: pages x latency (per wave of devices).
	bound: float | None = None
	# The same with the simulator's measured time per exchange instead of the nominal latency.
	floor: float | None = None
	# Set when a subset is measured: pages of the whole job; time, CPU, events and connections are scaled
	# by whole / measured pages (sequential clients only, where cost grows linearly with pages).
	full_pages: int | None = None
	samples: list[Sample] = field(default_factory=list)

	def measure(self) -> Sample:
		gc.collect()
		self.sim.reset(self.devices)
		sim0 = self.sim.cpu_seconds()
		with PeakRss() as rss:
			c0, t0 = time.process_time(), time.perf_counter()
			events = self.run()
			t1, c1 = time.perf_counter(), time.process_time()
		sim1 = self.sim.cpu_seconds()
		stats = self.sim.stats(self.devices)
		scale = self.full_pages / max(stats["acs_event_pages"], 1) if self.full_pages else 1.0
		s = Sample(
			wall=(t1 - t0) * scale,
			cpu=(c1 - c0) * scale,
			events=round(events * scale),
			rss_peak=rss.peak,
			rss_delta=rss.peak - rss.start,
			sim_cpu=(sim1 - sim0) * scale,
			stats=stats,
			scale=scale,
		)
		self.samples.append(s)
		return s

	# Figures over the runs ---------------------------------------------------------------------------
	def values(self, key: Callable[[Sample], float]) -> list[float]:
		return [key(s) for s in self.samples]

	def med(self, key: Callable[[Sample], float]) -> float:
		return statistics.median(self.values(key))

	@property
	def wall(self) -> float:
		return self.med(lambda s: s.wall)

	@property
	def cpu_per_event(self) -> float:
		return self.med(lambda s: s.cpu / max(s.events, 1))

	@property
	def exchanges_per_page(self) -> float:
		"""HTTP exchanges per AcsEvent page after each device's first challenge, from the simulator's counters."""
		n = len(self.devices)
		return self.med(lambda s: (s.stats["requests"] - n) / max(s.stats["acs_event_pages"], 1))

	@property
	def ratio_to_bound(self) -> float | None:
		return self.wall / self.bound if self.bound else None

	@property
	def ratio_to_floor(self) -> float | None:
		return self.wall / self.floor if self.floor else None


def interleaved(cases: Sequence[Case]) -> None:
	"""Runs round-robin, so drift on a shared machine spreads over all clients alike."""
	for i in range(max(c.runs for c in cases)):
		for case in cases:
			if i < case.runs:
				s = case.measure()
				log(
					f"{case.scenario} | {case.client} run {i + 1}/{case.runs}: {s.wall:.3f} s, {s.events} events"
				)


def spread(values: Sequence[float], fmt: str = "{:.3f}") -> str:
	"""Median with (min–max); a single run shows its value only."""
	med = statistics.median(values)
	if len(values) == 1:
		return fmt.format(med)
	return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


# ---------------------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Plan:
	"""Sizes and run counts; `--quick` shrinks them for a smoke test of the harness itself."""

	one_events_per_day: int = 2000
	one_days: int = 10
	runs_one_5ms: int = 3
	runs_one_0ms: int = 5
	runs_seed_5ms: int = 3
	runs_tls: int = 3
	fleet_devices: int = 200
	fleet_events_per_day: int = 200
	fleet_days: int = 10
	runs_fleet: int = 3
	runs_fleet_best: int = 2
	seed_subset: int = 10
	runs_fleet_seed: int = 3
	dedup_devices: int = 10
	dedup_events_per_day: int = 10_000
	dedup_days: int = 10
	runs_dedup: int = 3
	runs_crossing: int = 5
	latency_ms: int = 5

	@classmethod
	def quick(cls) -> Plan:
		return cls(
			one_events_per_day=200,
			runs_one_5ms=1,
			runs_one_0ms=1,
			runs_seed_5ms=1,
			runs_tls=1,
			fleet_devices=20,
			fleet_days=2,
			runs_fleet=1,
			runs_fleet_best=1,
			seed_subset=2,
			runs_fleet_seed=1,
			dedup_devices=2,
			dedup_events_per_day=1000,
			runs_dedup=1,
			runs_crossing=1,
		)


def pages(events: int) -> int:
	return math.ceil(events / PAGE_SIZE)


def one_device_sim(plan: Plan, https: bool) -> Simulator:
	args = ["--events-per-day", str(plan.one_events_per_day), "--days", str(plan.one_days)]
	args += ["--history-end", HISTORY_END.isoformat(), "--max-results-cap", str(PAGE_SIZE)]
	return Simulator(*args, *(["--https"] if https else []))


def scenario_one(plan: Plan, sim: Simulator, https: bool) -> list[Case]:
	"""Scenario 1 (and 3 with https): one device, paged at 5 ms and at 0 ms latency."""
	label = "3 HTTPS" if https else "1 one device"
	dev = sim.devices[0]
	start, end = window(plan.one_days)
	n_pages = pages(dev.events)
	# Seed-style over HTTPS pays a TLS handshake per page (~60 ms here): one day of the window, scaled.
	seed_start = HISTORY_END - timedelta(days=1) if https else start
	seed_label = f"seed-style (1 of {plan.one_days} days, scaled by pages)" if https else "seed-style"
	log(f"scenario {label}: {dev.events} events on {dev.url}")
	cases: list[Case] = []
	for latency in (plan.latency_ms, 0):
		sim.set_latency(latency)
		scen = f"{label}, {latency} ms"
		bound = floor = None
		if latency:
			bound = n_pages * latency / 1000
			floor = n_pages * sim.floor(dev)
			log(f"{scen}: simulator floor {floor / n_pages * 1000:.2f} ms per exchange")
		many = plan.runs_tls if https else (plan.runs_one_5ms if latency else plan.runs_one_0ms)
		seed_runs = plan.runs_tls if https else (plan.runs_seed_5ms if latency else plan.runs_one_0ms)
		group = [
			Case(scen, "ours", lambda: ours_fetch(dev, start, end), sim, [dev], many, bound, floor),
			Case(scen, "best Python", lambda: best_fetch(dev, start, end), sim, [dev], many, bound, floor),
			Case(
				scen,
				seed_label,
				lambda: seed_fetch(dev, seed_start, end),
				sim,
				[dev],
				seed_runs,
				bound,
				floor,
				full_pages=n_pages if https else None,
			),
		]
		interleaved(group)
		cases += group
	return cases


@dataclass
class Crossing:
	"""Scenario 5: per-event cost of handing events to Python, against json.loads of the same pages."""

	ours_return: list[float]
	ours_as_dict: list[float]
	py_loads: list[float]
	py_loads_time: list[float]
	events: int
	fixed: float


def scenario_crossing(plan: Plan, sim: Simulator) -> Crossing:
	dev = sim.devices[0]
	sim.set_latency(0)
	start, end = window(plan.one_days)
	log("scenario 5: crossing into Python")
	# The core's own clock (FetchStats.seconds) stops before the Event objects are built; the rest of the
	# call is the crossing plus a fixed setup cost, which an empty window (one NO MATCH page) measures.
	empty_start = HISTORY_END - timedelta(days=plan.one_days + 30)
	fixed_runs = []
	for _ in range(max(plan.runs_crossing, 3)):
		t0 = time.perf_counter()
		r = _core.fetch_events(dev.core_args(), empty_start, empty_start + timedelta(hours=1))
		fixed_runs.append(time.perf_counter() - t0 - r.stats.seconds)
	fixed = statistics.median(fixed_runs)
	ours_return, ours_as_dict = [], []
	events = 0
	for _ in range(plan.runs_crossing):
		gc.collect()
		t0 = time.perf_counter()
		r = _core.fetch_events(dev.core_args(), start, end)
		wall = time.perf_counter() - t0
		events = len(r.events)
		ours_return.append((wall - r.stats.seconds - fixed) / events)
		t0 = time.perf_counter()
		dicts = [e.as_dict() for e in r.events]
		ours_as_dict.append((time.perf_counter() - t0) / events)
		del r, dicts
	# The same pages as raw bytes, fetched once, then parsed the way a Python client does.
	bodies: list[bytes] = []
	with requests.Session() as session:
		session.auth = HTTPDigestAuth(USER, PASSWORD)

		def post(body: dict[str, Any]) -> dict[str, Any]:
			resp = session.post(dev.url + ACS_PATH, json=body, timeout=30, verify=False)
			resp.raise_for_status()
			bodies.append(resp.content)
			return resp.json()

		n = len(page_through(post, start, end))
	py_loads, py_loads_time = [], []
	for _ in range(plan.runs_crossing):
		gc.collect()
		t0 = time.perf_counter()
		parsed = [json.loads(b) for b in bodies]
		py_loads.append((time.perf_counter() - t0) / n)
		del parsed
		gc.collect()
		t0 = time.perf_counter()
		typed = []
		for b in bodies:
			for item in json.loads(b)["AcsEvent"].get("InfoList") or []:
				# A typed, aware time is what ours hands over; fromisoformat does the same in Python.
				item["time"] = datetime.fromisoformat(item["time"])
				typed.append(item)
		py_loads_time.append((time.perf_counter() - t0) / n)
		del typed
	return Crossing(ours_return, ours_as_dict, py_loads, py_loads_time, events, fixed)


def scenario_fleet(plan: Plan) -> list[Case]:
	"""Scenario 2: 200 devices x 2,000 events at 5 ms, all in one simulator process."""
	args = ["--devices", str(plan.fleet_devices), "--events-per-day", str(plan.fleet_events_per_day)]
	args += ["--days", str(plan.fleet_days), "--history-end", HISTORY_END.isoformat()]
	args += ["--latency-ms", str(plan.latency_ms), "--max-results-cap", str(PAGE_SIZE)]
	log(f"scenario 2: starting {plan.fleet_devices} simulated devices")
	sim = Simulator(*args)
	try:
		devs = sim.devices
		start, end = window(plan.fleet_days)
		n_pages = pages(devs[0].events)
		one_bound = n_pages * plan.latency_ms / 1000
		one_floor = n_pages * sim.floor(devs[0])
		log(f"scenario 2: simulator floor {one_floor / n_pages * 1000:.2f} ms per exchange")
		scen = f"2 fleet {len(devs)} devices, {plan.latency_ms} ms"
		subset = devs[: plan.seed_subset]

		def waves(concurrency: int) -> int:
			return math.ceil(len(devs) / concurrency)

		cases = [
			Case(
				scen,
				"ours, concurrency 16",
				lambda: ours_many(devs, start, end, 16),
				sim,
				devs,
				plan.runs_fleet,
				waves(16) * one_bound,
				waves(16) * one_floor,
			),
			Case(
				scen,
				"ours, concurrency 64",
				lambda: ours_many(devs, start, end, 64),
				sim,
				devs,
				plan.runs_fleet,
				waves(64) * one_bound,
				waves(64) * one_floor,
			),
			Case(
				scen,
				"best Python, 16 threads",
				lambda: best_many(devs, start, end, 16),
				sim,
				devs,
				plan.runs_fleet_best,
				waves(16) * one_bound,
				waves(16) * one_floor,
			),
			Case(
				scen,
				f"seed-style ({len(subset)} of {len(devs)} devices, scaled by pages)",
				lambda: seed_many(subset, start, end),
				sim,
				subset,
				plan.runs_fleet_seed,
				len(devs) * one_bound,
				len(devs) * one_floor,
				full_pages=sum(pages(d.events) for d in devs),
			),
		]
		interleaved(cases)
		return cases
	finally:
		sim.stop()


@dataclass
class Dedup:
	ours: list[float]
	python: list[float]
	ours_cpu: list[float]
	python_cpu: list[float]
	events: int
	keys: int
	kept_ours: int
	kept_python: int


def checkin_batches(
	events: Sequence[Any],
) -> tuple[list[tuple[list[Any], list[tuple[str, datetime]]]], Any, int]:
	"""The check-in step's input, built outside the clock as the device job reads it from the database: Pending
	punches in batches of `checkins.BATCH_SIZE` (time order), each with the existing Employee Checkins of the
	batch's time range (every other person punch was checked in before, so it must go); all employees mapped."""
	from attendance_sync.logic import checkin_plan as CP

	batch_size = 500  # attendance_sync.attendance_sync.checkins.BATCH_SIZE (that module needs frappe)
	pending = sorted(
		(
			CP.PendingPunch(
				f"p{i}", e.device, e.employee_no, e.time.astimezone(timezone.utc).replace(tzinfo=None), None
			)
			for i, e in enumerate(events)
			if e.is_punch
		),
		key=lambda p: (p.time, p.name),
	)
	employees = CP.employee_index(
		[(u, f"EMP-{u}", "Active") for u in sorted({p.device_user_id for p in pending if p.device_user_id})]
	)
	existing = [(f"EMP-{p.device_user_id}", p.time) for p in pending[::2] if p.device_user_id]
	batches = []
	j = 0
	for start in range(0, len(pending), batch_size):
		batch = pending[start : start + batch_size]
		bounds = CP.existing_checkin_bounds(batch)
		assert bounds is not None
		while j < len(existing) and existing[j][1] < bounds[0]:
			j += 1
		k = j
		while k < len(existing) and existing[k][1] <= bounds[1]:
			k += 1
		batches.append((batch, existing[j:k]))
	return batches, employees, len(existing)


def app_plan(batches: Sequence[tuple[list[Any], list[tuple[str, datetime]]]], employees: Any) -> int:
	"""What the app runs per batch (`checkins._process_batch` minus the database): `CheckinPlan` on `_core.dedup`."""
	from attendance_sync.logic import checkin_plan as CP

	return sum(
		d.creates_checkin
		for batch, existing in batches
		for d in CP.CheckinPlan(batch, employees, existing, 0, _core.dedup).decisions
	)


def py_plan(batches: Sequence[tuple[list[Any], list[tuple[str, datetime]]]], employees: Any) -> int:
	"""Pure-Python twin of `app_plan` (Double Punch Window 0): the same mapping, the rule with sets."""
	from attendance_sync.logic import checkin_plan as CP

	created = 0
	for batch, existing in batches:
		keys = {(employee, t.replace(microsecond=0)) for employee, t in existing}
		for punch in CP.ordered(batch):
			if CP.map_punch(punch, employees) is not None:
				continue
			ref = employees.lookup(punch.device_user_id)
			key = (ref.name, punch.time.replace(microsecond=0))
			if key in keys:
				continue
			keys.add(key)
			created += 1
	return created


def scenario_dedup(plan: Plan) -> Dedup:
	"""Scenario 4: the app's check-in planning (mapping, then `_core.dedup`) over the punches of 1,000,000 events,
	in the device job's batches, against the existing check-ins of each batch's range."""
	args = ["--devices", str(plan.dedup_devices), "--events-per-day", str(plan.dedup_events_per_day)]
	args += ["--days", str(plan.dedup_days), "--history-end", HISTORY_END.isoformat()]
	sim = Simulator(*args)
	try:
		start, end = window(plan.dedup_days)
		log(f"scenario 4: fetching {sum(d.events for d in sim.devices)} events for dedup")
		results = _core.fetch_many(
			[d.core_args() for d in sim.devices], start, end, concurrency=len(sim.devices)
		)
	finally:
		sim.stop()
	events = []
	for name, result in results.items():
		if isinstance(result, BaseException):
			raise RuntimeError(f"{name}: {result}")
		events.extend(result.events)
	del results
	batches, employees, keys = checkin_batches(events)
	punches = sum(len(b) for b, _ in batches)
	del events
	log(f"scenario 4: {punches} punches in {len(batches)} batches, {keys} existing check-ins")
	out = Dedup([], [], [], [], punches, keys, 0, 0)
	for i in range(plan.runs_dedup):
		gc.collect()
		c0, t0 = time.process_time(), time.perf_counter()
		out.kept_ours = app_plan(batches, employees)
		out.ours.append(time.perf_counter() - t0)
		out.ours_cpu.append(time.process_time() - c0)
		gc.collect()
		c0, t0 = time.process_time(), time.perf_counter()
		out.kept_python = py_plan(batches, employees)
		out.python.append(time.perf_counter() - t0)
		out.python_cpu.append(time.process_time() - c0)
		log(f"scenario 4 run {i + 1}: ours {out.ours[-1]:.3f} s, Python {out.python[-1]:.3f} s")
		assert out.kept_ours == out.kept_python, (out.kept_ours, out.kept_python)
	return out


# ---------------------------------------------------------------------------------------------------------
# Report


def machine_facts() -> list[tuple[str, str]]:
	def first(path: str, key: str) -> str:
		try:
			for line in Path(path).read_text().splitlines():
				if line.startswith(key):
					return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip('"')
		except OSError:
			pass
		return "unknown"

	def command(*cmd: str) -> str:
		try:
			return (
				subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()
				or "unknown"
			)
		except OSError:
			return "unknown"

	mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
	usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
	commit = command("git", "rev-parse", "--short", "HEAD")
	dirty = (
		" (uncommitted changes)"
		if command("git", "status", "--porcelain", "--untracked-files=no") not in ("", "unknown")
		else ""
	)
	return [
		("Date", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
		("CPU", first("/proc/cpuinfo", "model name")),
		("Cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
		("Load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())),
		("Memory", f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else "unknown"),
		("OS", f"{first('/etc/os-release', 'PRETTY_NAME=')}, Linux {platform.release()}"),
		("Python", platform.python_version()),
		("Rust", command("rustc", "--version")),
		("requests / urllib3", f"{requests.__version__} / {urllib3.__version__}"),
		("attendance_sync._core", f"{_core.__version__}, commit {commit}{dirty}"),
	]


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
	lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
	lines += ["| " + " | ".join(row) + " |" for row in rows]
	return "\n".join(lines)


def fetch_table(cases: Sequence[Case], tls: bool = False) -> str:
	header = [
		"Scenario",
		"Client",
		"Runs",
		"Wall s, median (min–max)",
		"Lower bound s (pages × latency)",
		"× bound",
		"Simulator floor s",
		"× floor",
		"Exchanges / page",
		"Connections",
	]
	if tls:
		header.append("TLS handshakes / page")
	header += ["Events", "CPU s", "CPU µs / event", "Peak RSS MiB (+ during run)", "Simulator CPU s"]
	rows = []
	for c in cases:
		row = [
			c.scenario,
			c.client,
			str(len(c.samples)),
			spread(c.values(lambda s: s.wall)),
			f"{c.bound:.3f}" if c.bound else "—",
			f"{c.ratio_to_bound:.3f}" if c.ratio_to_bound else "—",
			f"{c.floor:.3f}" if c.floor else "—",
			f"{c.ratio_to_floor:.3f}" if c.ratio_to_floor else "—",
			f"{c.exchanges_per_page:.4f}",
			f"{c.med(lambda s: s.stats['connections'] * s.scale):.0f}",
		]
		if tls:
			row.append(
				f"{c.med(lambda s: s.stats['tls_handshakes'] / max(s.stats['acs_event_pages'], 1)):.4f}"
			)
		row += [
			f"{c.med(lambda s: s.events):.0f}",
			spread(c.values(lambda s: s.cpu), "{:.2f}"),
			f"{c.cpu_per_event * 1e6:.1f}",
			f"{c.med(lambda s: s.rss_peak) / MIB:.0f} ({c.med(lambda s: s.rss_delta) / MIB:+.0f})",
			f"{c.med(lambda s: s.sim_cpu):.2f}",
		]
		rows.append(row)
	return table(header, rows)


def find(cases: Sequence[Case], scenario_prefix: str, client_prefix: str) -> Case | None:
	return next(
		(c for c in cases if c.scenario.startswith(scenario_prefix) and c.client.startswith(client_prefix)),
		None,
	)


def verdict(ok: bool) -> str:
	return "**met**" if ok else "**not met**"


def bound_text(c: Case) -> str:
	return (
		f"{c.ratio_to_bound:.3f} ({c.wall:.3f} s / {c.bound:.3f} s); "
		f"{c.ratio_to_floor:.3f} × the simulator's measured floor ({c.floor:.3f} s)"
	)


def targets_table(
	one: list[Case], tls: list[Case], fleet: list[Case], dedup: Dedup | None, plan: Plan
) -> str:
	lat = f"{plan.latency_ms} ms"
	everything = one + tls + fleet
	rows = []
	for label, case in [
		(f"one device, {lat}", find(one, f"1 one device, {lat}", "ours")),
		("one device, 0 ms", find(one, "1 one device, 0 ms", "ours")),
		(f"HTTPS, {lat}", find(tls, f"3 HTTPS, {lat}", "ours")),
		("fleet, concurrency 64", find(fleet, "2 fleet", "ours, concurrency 64")),
	]:
		if case is None:
			continue
		seed = find(everything, case.scenario, "seed")
		x = case.exchanges_per_page
		last = case.samples[-1].stats
		# What the exchanges were, per the simulator: 401s, AcsEvent pages, everything else (the clock read).
		other = last["requests"] - last["unauthorized"] - last["acs_event_pages"]
		parts = f"401: {last['unauthorized']}, pages: {last['acs_event_pages']}, other requests: {other}"
		rows.append(
			[
				f"Exchanges per page after the first challenge, {label}",
				"≤ 1.01 (seed-style: 2.00)",
				f"{x:.4f} ({parts})" + (f"; seed-style {seed.exchanges_per_page:.4f}" if seed else ""),
				verdict(x <= 1.01),
			]
		)
	c = find(one, f"1 one device, {lat}", "ours")
	if c and c.ratio_to_bound:
		rows.append(
			[
				f"One device, {lat}: wall / lower bound (pages × latency)",
				"≤ 1.10",
				bound_text(c),
				verdict(c.ratio_to_bound <= 1.10),
			]
		)
	c64 = find(fleet, "2 fleet", "ours, concurrency 64")
	if c64 and c64.ratio_to_bound:
		rows.append(
			[
				f"Fleet, concurrency 64: wall / lower bound (ceil({len(c64.devices)} / 64) × one device's bound)",
				"≤ 1.25",
				bound_text(c64),
				verdict(c64.ratio_to_bound <= 1.25),
			]
		)
	seed = find(fleet, "2 fleet", "seed-style")
	if c64 and seed:
		speed = seed.wall / c64.wall
		rows.append(
			[
				"Fleet, concurrency 64: speed-up over seed-style",
				"≥ 40×",
				f"{speed:.1f}× ({seed.wall:.1f} s / {c64.wall:.3f} s)",
				verdict(speed >= 40),
			]
		)
	ours0, best0 = find(one, "1 one device, 0 ms", "ours"), find(one, "1 one device, 0 ms", "best Python")
	if ours0 and best0:
		ratio = best0.cpu_per_event / ours0.cpu_per_event
		rows.append(
			[
				"CPU per event at 0 ms: best Python / ours",
				"≥ 5×",
				f"{ratio:.2f}× ({best0.cpu_per_event * 1e6:.1f} µs / {ours0.cpu_per_event * 1e6:.1f} µs)",
				verdict(ratio >= 5),
			]
		)
	if dedup:
		py, ours = statistics.median(dedup.python), statistics.median(dedup.ours)
		rows.append(
			[
				f"Check-in planning of {dedup.events:,} punches against {dedup.keys:,} check-ins: pure Python / ours",
				"≥ 5×",
				f"{py / ours:.2f}× ({py:.3f} s / {ours:.3f} s)",
				verdict(py / ours >= 5),
			]
		)
	return table(["Target", "Goal", "Measured (medians)", "Verdict"], rows)


def dedup_table(d: Dedup) -> str:
	rows = [
		[
			"the app: `CheckinPlan` on `_core.dedup`",
			str(len(d.ours)),
			spread(d.ours),
			spread(d.ours_cpu),
			f"{statistics.median(d.ours) / d.events * 1e9:.0f}",
			str(d.kept_ours),
		],
		[
			"the same mapping, the rule in Python sets",
			str(len(d.python)),
			spread(d.python),
			spread(d.python_cpu),
			f"{statistics.median(d.python) / d.events * 1e9:.0f}",
			str(d.kept_python),
		],
	]
	return table(["Planning", "Runs", "Wall s, median (min–max)", "CPU s", "ns / punch", "Check-ins"], rows)


def crossing_table(x: Crossing) -> str:
	def us(v: list[float]) -> str:
		return spread([s * 1e6 for s in v], "{:.3f}")

	loads = statistics.median(x.py_loads)
	rows = [
		[
			"ours: `fetch_events` hands back `Event` objects (call time − core time − fixed setup)",
			us(x.ours_return),
			f"{loads / statistics.median(x.ours_return):.1f}×"
			if statistics.median(x.ours_return) > 0
			else "—",
		],
		[
			"ours: `Event.as_dict()` on every event (all fields as Python values)",
			us(x.ours_as_dict),
			f"{loads / statistics.median(x.ours_as_dict):.1f}×",
		],
		["Python: `json.loads` of the same pages", us(x.py_loads), "1.0×"],
		[
			"Python: `json.loads` + `datetime.fromisoformat` of each `time`",
			us(x.py_loads_time),
			f"{loads / statistics.median(x.py_loads_time):.1f}×",
		],
	]
	note = (
		f"\n\n{x.events} events per run; fixed per-call setup (client, runtime, one NO MATCH page outside the "
		f"core's clock) {x.fixed * 1000:.2f} ms, subtracted."
	)
	return (
		table(
			["Crossing into Python (scenario 5)", "µs / event, median (min–max)", "json.loads time / this"],
			rows,
		)
		+ note
	)


def report(
	plan: Plan,
	facts: list[tuple[str, str]],
	one: list[Case],
	tls: list[Case],
	fleet: list[Case],
	dedup: Dedup | None,
	crossing: Crossing | None,
	elapsed: float,
) -> str:
	load = " ".join(f"{x:.2f}" for x in os.getloadavg())
	parts = [
		"# Benchmark results",
		"",
		"Written by `make bench` (benches/bench.py); benches/README.md says what each figure means.",
		"",
		table(["Machine", ""], facts),
		"",
		f"Whole run: {elapsed:.0f} s; load average at the end {load}. Every figure is the median of the runs "
		"shown, with (min–max). The simulator runs on the same cores as the clients.",
		"",
		"## Targets",
		"",
		targets_table(one, tls, fleet, dedup, plan),
		"",
		"The lower bounds are the issue's: pages × nominal latency. The simulator's floor is the same count of "
		"exchanges at the time one exchange really takes on this machine (a bare keep-alive client, median).",
	]
	if one:
		events = plan.one_events_per_day * plan.one_days
		parts += [
			"",
			f"## Scenario 1: one device, {events:,} events, {PAGE_SIZE} per page",
			"",
			fetch_table(one),
		]
	if fleet:
		events = plan.fleet_events_per_day * plan.fleet_days
		parts += [
			"",
			f"## Scenario 2: fleet, {plan.fleet_devices} devices × {events:,} events, {plan.latency_ms} ms",
			"",
			fetch_table(fleet),
			"",
			"Seed-style fetches devices one after another, so it runs on a subset; its wall time, CPU, events "
			"and connections are scaled by (pages of the fleet / pages measured).",
		]
	if tls:
		parts += [
			"",
			"## Scenario 3: HTTPS (self-signed certificate)",
			"",
			fetch_table(tls, tls=True),
			"",
			"Seed-style opens a connection and a TLS handshake per page, so it fetches one day of the window; its "
			"wall time, CPU, events and connections are scaled by (pages of the window / pages measured).",
		]
	if dedup:
		parts += [
			"",
			"## Scenario 4: check-in planning (the app's dedup)",
			"",
			dedup_table(dedup),
			"",
			f"{dedup.events:,} punches (fetched from {plan.dedup_devices} simulated devices) planned as the "
			f"device job plans them: batches of 500 in time order, each against the existing check-ins of its "
			f"range ({dedup.keys:,} in all: every other punch was checked in before), Double Punch Window 0. "
			"The Python twin shares the mapping and applies the rule with sets; both must agree.",
		]
	if crossing:
		parts += ["", "## Scenario 5: crossing into Python", "", crossing_table(crossing)]
	return "\n".join([*parts, ""])


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__)
	parser.add_argument(
		"--quick", action="store_true", help="tiny sizes and single runs: checks the harness only"
	)
	parser.add_argument("--only", default="1,2,3,4,5", help="scenarios to run, e.g. 2,4 (report not written)")
	parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the markdown report")
	opts = parser.parse_args()
	only = {int(x) for x in opts.only.split(",") if x.strip()}
	plan = Plan.quick() if opts.quick else Plan()
	# SIGTERM (e.g. from make or a CI timeout) unwinds like Ctrl-C, so no simulator is left behind.
	signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
	atexit.register(stop_all)
	began = time.perf_counter()
	facts = machine_facts()
	one: list[Case] = []
	tls: list[Case] = []
	fleet: list[Case] = []
	crossing = dedup = None
	if only & {1, 5}:
		sim = one_device_sim(plan, https=False)
		try:
			one = scenario_one(plan, sim, https=False) if 1 in only else []
			crossing = scenario_crossing(plan, sim) if 5 in only else None
		finally:
			sim.stop()
	if 3 in only:
		sim = one_device_sim(plan, https=True)
		try:
			tls = scenario_one(plan, sim, https=True)
		finally:
			sim.stop()
	if 2 in only:
		fleet = scenario_fleet(plan)
	if 4 in only:
		dedup = scenario_dedup(plan)
	text = report(plan, facts, one, tls, fleet, dedup, crossing, time.perf_counter() - began)
	print(text)
	if opts.quick or only != {1, 2, 3, 4, 5}:
		log("partial or quick run: report not written")
		return
	opts.out.write_text(text)
	log(f"wrote {opts.out.relative_to(ROOT) if opts.out.is_relative_to(ROOT) else opts.out}")


if __name__ == "__main__":
	main()
