"""Randomized histories of a fleet and its people, run against the app on the test bench, checked against a model.

Each history (a Hypothesis rule-based state machine) starts two simulated terminals, three people with Employees
on two Shift Types, and then does 10 to 40 things at random: punches recorded live and back-dated, scheduled
runs, Fetch Check-in over random windows (normal or bulk), pushes (delivered, lost, redelivered) and the push
job, outages and recoveries, a wrong password and its fix, clock steps forward and back, a restarted event
counter (log kept, log cleared, another terminal swapped in), a worker that dies between two check-in batches,
Employees mapped late, given another ID, Left, moved to the other shift, a Reprocess that runs or dies, devices
disabled and enabled. The app's own functions do the work in this process, as its jobs do; with `--services
SHARE`, that share of the histories goes through the real parts instead: the terminals' pushes over HTTP to a
web server (`frappe serve`), and the scheduled device jobs, the push job and the Reprocess the Employee hook
queues on an RQ worker (`frappe worker`). Their Sync Log totals then count the push job's check-ins as what the
logs leave over.

The model is the README's promises, not the code:
- after every step, a Shift Type's Last Sync of Checkin only moves past a punch recorded on a terminal once that
  punch is an Employee Checkin, for every person on that shift whose Attendance Device ID an Employee holds or
  held (README "Honest HR cursors"); punches before Sync Start, and punches recorded after the terminal's run had
  already passed their time (a clock set back), are outside that promise;
- at the end, once HR has fixed everything (mappings, passwords, outages, clocks; devices enabled) and every
  device has run: every punch is exactly one Employee Checkin of its person, at its time in the site's zone, to
  the second; nothing else is a check-in; every Sync Log's counts add up. A punch stamped before what the site
  had already fetched from its terminal (a clock set back, a back-dated record) is reached by the serial cursor
  (README "Design notes"); where there was none (no punch stored from that terminal yet, or its counter
  restarted) it is outside the promise: checked in at most once, to its person, or not at all.

A failing history is shrunk by Hypothesis to the shortest that still fails, printed with its seed, and kept in
the example database (`--database`), whose failures run first next time. Seeds that once failed are listed in
`REGRESSION_SEEDS` and run before the random ones. A failure printed elsewhere (CI) is replayed from the blob
Hypothesis printed with it (`--reproduce BLOB`) by the same code; a change to the rules changes what a blob or a
seed generates, so each finding is held by a named test, not by its seed.

    python histories.py --site SITE --histories 30 [--seed N] [--steps 40] [--database DIR] [--reproduce BLOB]
"""

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import frappe
from frappe.utils import get_datetime, now_datetime, today
from frappe.utils.password import delete_all_passwords_for
from harness import busy, start_frappe, stop
from hypothesis import HealthCheck, Phase, reproduce_failure, settings
from hypothesis import __version__ as hypothesis_version
from hypothesis import seed as with_seed
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import DidNotReproduce, StopTest
from hypothesis.stateful import (
	RuleBasedStateMachine,
	initialize,
	invariant,
	rule,
	run_state_machine_as_test,
)

from attendance_sync import _core
from attendance_sync.attendance_sync import checkin_locks, checkins, common, jobs, push, push_events
from attendance_sync.attendance_sync.doctype.device_configuration import push_setup
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.terminal import core_device
from attendance_sync.logic import punches as P
from attendance_sync.logic import push as L
from attendance_sync.logic.timezones import site_naive_to_aware, to_site_naive
from attendance_sync.simulator import Simulator

SIM_USER, SIM_PASSWORD = "admin", "Sim-Pass-2024"
# Seeds of histories that once failed, each with the named test that now holds its finding.
REGRESSION_SEEDS: list[int] = [
	# History 10: a counter restart that kept the log; new punches below Last Serial No were never fetched.
	# test_attendance_sync_log.py::test_a_restarted_counter_below_last_serial_with_its_log_kept_loses_nothing
	1581222530,
	# History 8 (with --services 0.25): an ID mapped, its Reprocess dead, then changed before any run; the
	# Shift Type passed the person's Unmapped punches.
	# test_unmapped.py::test_an_id_mapped_then_changed_before_any_run_still_holds_the_shift
	2947966213,
]
# How many histories of each regression seed run: its finding came by the 10th.
REGRESSION_HISTORIES = 12
HOUR = timedelta(hours=1)
# Attendance Sync Settings' Overlap: a scheduled search starts this far before Synced Up To.
OVERLAP = timedelta(minutes=10)


QUEUES = ("long", "short", "default")


def daylight_saving_since(step: datetime) -> str:
	"""A POSIX rule for terminals at UTC+06:00 whose clocks went forward an hour at `step` (site time, UTC+06:00
	being the site's Asia/Dhaka) and go back 30 days later: days counted from 0 on 1 January, leap day included."""
	back = step + timedelta(days=30)
	return (
		f"XST-6XDT-7,{step.timetuple().tm_yday - 1}/{step:%H:%M:%S},"
		f"{back.timetuple().tm_yday - 1}/{back:%H:%M:%S}"
	)


# The lanes a history is drawn into: the top `--services` share of them go through the services.
LANES = 20


class Services:
	"""The real parts a share of the histories goes through: a web server (`frappe serve`, up for the whole run)
	that takes the terminals' pushes over HTTP, and an RQ worker (`frappe worker`, started for such a history
	alone) that runs the scheduled device jobs, the push job and the Reprocess the Employee hook queues."""

	def __init__(self, site: str, logs: Path) -> None:
		self.site, self.logs = site, logs
		with socket.socket() as probe:
			probe.bind(("127.0.0.1", 0))
			self.port = probe.getsockname()[1]
		self.url = f"http://127.0.0.1:{self.port}"
		self.web = start_frappe(site, logs / "web.log", "serve", "--port", str(self.port), "--noreload")
		self.worker = None
		deadline = time.monotonic() + 120
		while True:
			try:
				with urllib.request.urlopen(f"{self.url}/api/method/ping", timeout=5):
					return
			except OSError:
				if time.monotonic() > deadline:
					raise RuntimeError(f"the web server did not answer (log: {logs / 'web.log'})") from None
				time.sleep(0.5)

	def start_worker(self) -> None:
		# Jobs the in-process histories queued had no worker: none of them belongs to this history.
		from frappe.utils.background_jobs import get_queue

		for queue in QUEUES:
			get_queue(queue).empty()
		self.worker = start_frappe(self.site, self.logs / "worker.log", "worker", "--queue", ",".join(QUEUES))

	def settle(self, timeout: float = 300) -> None:
		"""Until no job waits or runs, twice in a row a tenth of a second apart."""
		deadline, quiet = time.monotonic() + timeout, 0
		while quiet < 2:
			if time.monotonic() > deadline:
				raise TimeoutError("the worker's jobs did not finish")
			quiet = 0 if busy(QUEUES) else quiet + 1
			time.sleep(0.1)
		frappe.db.rollback()

	def stop_worker(self) -> None:
		if self.worker is not None:
			self.settle()
			stop(self.worker, timeout=30)
			self.worker = None

	def close(self) -> None:
		self.stop_worker()
		stop(self.web, timeout=30)


# What `History.two_workers` runs two of at once.
WORKER_JOBS = ("run 0", "run 1", "push job", "reprocess")


def on_workers(jobs_to_run: list, meet_holding_locks: bool = False) -> list[dict | None]:
	"""Each job in a thread of its own connected to this site, as an RQ worker runs it, all released together;
	their results in order. A job that raises is re-raised here, naming which. `meet_holding_locks` turns on the
	app's lock barrier for them (`checkin_locks.lock_barrier`): a check-in batch holding its locks waits up to a
	second for the other job's batch to hold its own, so that two batches that wrongly hold one person at once
	both decide that person's punches."""
	site, sites_path = frappe.local.site, frappe.local.sites_path
	barrier_keys = [checkin_locks.LOCK_BARRIER_KEY, f"{checkin_locks.LOCK_BARRIER_KEY}:done"]
	frappe.cache.delete_value(barrier_keys)
	ready = threading.Barrier(len(jobs_to_run))
	results: list[dict | None] = [None] * len(jobs_to_run)
	errors: list[tuple[int, BaseException]] = []

	def work(index: int, job) -> None:
		frappe.init(site=site, sites_path=sites_path)
		frappe.connect()
		try:
			frappe.set_user("Administrator")
			frappe.flags.in_test = False
			if meet_holding_locks:
				frappe.local.conf[checkin_locks.LOCK_BARRIER_CONF] = {
					"parties": len(jobs_to_run),
					"timeout": 1,
				}
			ready.wait(timeout=60)
			results[index] = job()
			frappe.db.commit()
		except BaseException as e:
			errors.append((index, e))
			frappe.db.rollback()
		finally:
			frappe.destroy()

	threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs_to_run)]
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join()
	frappe.cache.delete_value(barrier_keys)
	frappe.db.rollback()  # this connection reads what the workers committed
	if errors:
		index, error = errors[0]
		raise AssertionError(
			f"the job on worker {index + 1} raised {type(error).__name__}: {error}"
		) from error
	return results


class Crash(BaseException):
	"""A worker killed between two check-in batches: nothing of the run after it is committed."""


@dataclass
class Person:
	employee_no: str  # what the terminals know them by
	employee: str  # their Employee
	shift: str
	mapped: bool = False  # the Employee holds `employee_no` now
	ever_mapped: bool = False


@dataclass
class Terminal:
	sim: object
	name: str
	enabled: bool = True
	offline: bool = False
	wrong_password: bool = False
	skew: int = 0
	token: str | None = None  # push enabled: the token the terminal posts with
	pushed: list = field(default_factory=list)  # bodies it posted, for a redelivery
	# Where the device's own runs had reached when each event was recorded: (serial, time) -> synced_up_to then.
	passed_at_record: dict = field(default_factory=dict)
	restarted: bool = False  # its event counter restarted at some point of the history
	swaps: int = 0  # other terminals swapped in under its Device Configuration
	# (serial, time) of events its log lost (a factory reset, a swap) before the site stored them: outside both
	# promises, since nothing can fetch them any more.
	erased: set = field(default_factory=set)
	# (serial, time) of punches outside the promise: stamped before what the site had already fetched from the
	# terminal (a clock set back, a back-dated record) while no serial cursor could reach them.
	unpromised: set = field(default_factory=set)
	# Its firmware reads a search's times as its wall clock, whatever offset they carry (with `zoned`).
	wall_clock: bool = False


@dataclass(frozen=True)
class Event:
	terminal: str
	serial: int
	employee_no: str
	time: datetime  # site time, naive


class History(RuleBasedStateMachine):
	"""One history; the rules are the operations, `cursor_promise` the invariant checked after every step."""

	site_tz = "Asia/Dhaka"
	histories = 0
	steps = 0
	# Set by `main` with --services: the web server and worker, and the share of histories that use them.
	services: Services | None = None
	services_share = 0.0
	shared_queues = False  # another process's worker may run this site's jobs (`--shared-queues`)
	through_services_count = 0
	pool: list[str] = []  # the run's Employees, reused by every history (`_employee`)
	http_pushes = 0  # pushes the web server answered
	worker_runs = 0  # scheduled device jobs a worker ran
	jobs_at_once = 0  # pairs of jobs run at once (`two_workers`)

	@initialize(lane=st.integers(min_value=0, max_value=LANES - 1))
	def start(self, lane: int) -> None:
		frappe.set_user("Administrator")
		# Through the real parts (pushes over HTTP; scheduled runs, the push job and Reprocess on a worker): the
		# top lanes, a share of them; drawn from the history's data, so a replayed or shrunk history goes the same
		# way (and shrinks towards the site's process).
		through = lane >= LANES - round(History.services_share * LANES)
		self.services = History.services if through else None
		if self.services is not None:
			History.through_services_count += 1
			self.services.start_worker()
		self.started_at = now_datetime()
		self.site_tz = common.site_time_zone()
		# Odd lanes: terminals in a zone whose clocks went forward since Sync Start and whose firmware reads
		# search times as wall clock; a window before the step is searched at its own offset or loses an hour.
		self.zoned = lane % 2 == 1
		self.sim = Simulator(
			devices=2,
			args=[
				*("--user", SIM_USER, "--password", SIM_PASSWORD),
				*("--days", "1", "--events-per-day", "0", "--employees", "200"),
				*(
					("--time-zone", daylight_saving_since(now_datetime() - timedelta(hours=36)))
					if self.zoned
					else ()
				),
			],
		)
		self.sim.start()
		self.tag = frappe.generate_hash(length=6)
		self.sync_start = now_datetime().replace(microsecond=0) - timedelta(days=3)
		self.shifts = [self._shift_type(n) for n in ("A", "B")]
		self.terminals: list[Terminal] = []
		for sim_device in self.sim.devices:
			doc = frappe.get_doc(
				{
					"doctype": common.DEVICE,
					"device_name": f"_History {self.tag} {sim_device.name}",
					"device_ip": sim_device.host,
					"port": sim_device.port,
					"device_user": SIM_USER,
					"device_user_password": SIM_PASSWORD,
					"verify_tls": 0,
					"sync_start": self.sync_start,
					"shift_types": [{"shift_type": s} for s in self.shifts],
				}
			).insert(ignore_permissions=True)
			self.terminals.append(Terminal(sim=sim_device, name=doc.name, wall_clock=self.zoned))
			self._faults(self.terminals[-1])
		users = _core.device_users(
			core_device(frappe.get_doc(common.DEVICE, self.terminals[0].name), common.get_settings())
		)
		# People the site knows nothing of yet: no Employee holds their ID and no punch names it (the scenario
		# before this stage leaves its Employees and Unmapped punches, which a Reprocess of an ID would reach).
		enrolled = sorted(u.employee_no for u in users)
		known = set(
			frappe.get_all(
				"Employee", filters={"attendance_device_id": ["in", enrolled]}, pluck="attendance_device_id"
			)
		) | set(
			frappe.get_all(
				common.PUNCH,
				filters={"device_user_id": ["in", enrolled]},
				pluck="device_user_id",
				distinct=True,
			)
		)
		numbers = [no for no in enrolled if no not in known][:3]
		self.people = [
			Person(no, self._employee(i, self.shifts[i % 2]), self.shifts[i % 2])
			for i, no in enumerate(numbers)
		]
		self.events: list[Event] = []
		self.logs: list[str] = []
		self.crashed = False
		self.pushed_punches = self.pushed_checkins = 0
		self.began = time.monotonic()
		History.histories += 1
		self.cursors = {s: self._cursor(s) for s in self.shifts}
		frappe.db.commit()

	# --- fixtures -------------------------------------------------------------------------------------------

	def _shift_type(self, letter: str) -> str:
		name = f"_History {self.tag} {letter}"
		frappe.get_doc(
			{"doctype": "Shift Type", "__newname": name, "start_time": "09:00:00", "end_time": "17:00:00"}
		).insert(ignore_permissions=True)
		return name

	def _employee(self, index: int, shift: str) -> str:
		"""The history's `index`-th person: an Employee of the run's pool, as new, on `shift`. Saving an Employee
		clears the site's whole cache (ERPNext's Employee.on_update) and costs most of a history's time, so the
		pool is made once per run; a history leaves no ID, status, check-in or change history on it."""
		while len(History.pool) <= index:
			History.pool.append(
				frappe.get_doc(
					{
						"doctype": "Employee",
						"first_name": f"_History pool {len(History.pool)} {frappe.generate_hash(length=6)}",
						"gender": frappe.get_all("Gender", pluck="name", limit=1)[0],
						"date_of_birth": "1990-01-01",
						"date_of_joining": "2020-01-01",
						"company": frappe.defaults.get_global_default("company"),
					}
				)
				.insert(ignore_permissions=True)
				.name
			)
		employee = History.pool[index]
		frappe.db.set_value(
			"Employee",
			employee,
			{
				"attendance_device_id": None,
				"status": "Active",
				"relieving_date": None,
				"default_shift": shift,
			},
			update_modified=False,
		)
		return employee

	def _cursor(self, shift: str) -> datetime | None:
		value = frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin")
		return get_datetime(value) if value else None

	def _checkins(self) -> int:
		return frappe.db.count("Employee Checkin", {"employee": ["in", [p.employee for p in self.people]]})

	def _synced_up_to(self, terminal: Terminal) -> datetime | None:
		value = frappe.db.get_value(common.DEVICE, terminal.name, "synced_up_to")
		return get_datetime(value) if value else None

	def _set_employee_id(self, person: Person, value: str | None) -> None:
		doc = frappe.get_doc("Employee", person.employee)
		doc.attendance_device_id = value
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		if self.services is not None:
			self.services.settle()  # the worker runs the Reprocess the Employee hook queued

	def _faults(self, terminal: Terminal) -> None:
		terminal.sim.set_faults(
			drop_rate=1.0 if terminal.offline else 0.0,
			clock_skew_secs=terminal.skew,
			time_handling="device-local" if terminal.wall_clock else "honour",
		)

	def _record(self, terminal: Terminal, person: Person, at: datetime | None) -> list[dict]:
		aware = site_naive_to_aware(at, self.site_tz) if at is not None else None
		recorded = terminal.sim.add_events(1, at=aware, employee_no=person.employee_no)
		for e in recorded:
			when = to_site_naive(datetime.fromisoformat(e["time"]), self.site_tz)
			event = Event(terminal.name, int(e["serial_no"]), person.employee_no, when)
			self.events.append(event)
			passed = self._synced_up_to(terminal)
			terminal.passed_at_record[(event.serial, event.time)] = passed
			anchored = bool(frappe.db.get_value(common.DEVICE, terminal.name, "last_serial_no"))
			if (
				passed is not None
				and event.time < passed - OVERLAP
				and not (anchored and not terminal.restarted)
			):
				terminal.unpromised.add((event.serial, event.time))
		return recorded

	def _post(self, terminal: Terminal, body: bytes) -> None:
		"""A push as the endpoint takes it: over HTTP through the services, else in the site's process
		(`push_events.handle_body` after the token named the device); a token the site refuses (a disabled device)
		leaves the event on the terminal for the searches."""
		if self.services is not None:
			url = L.terminal_target(self.services.url, terminal.token or "").url
			request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
			try:
				with urllib.request.urlopen(request, timeout=60) as r:
					answer = json.loads(r.read()).get("message") or {}
			except urllib.error.HTTPError as e:
				assert e.code == 401, f"the endpoint answered {e.code}: {e.read()[:300]!r}"
				return
			History.http_pushes += 1
			if answer.get("result") == "stored":
				self.pushed_punches += 1
			return
		device = push.device_for_token(terminal.token or "")
		if device is None:
			return
		answer = push_events.handle_body(device, body, "application/json")
		frappe.db.commit()
		if answer.get("result") == "stored":
			self.pushed_punches += 1

	# --- operations -------------------------------------------------------------------------------------------

	terminal_index = st.integers(min_value=0, max_value=1)
	person_index = st.integers(min_value=0, max_value=2)

	@rule(t=terminal_index, p=person_index, count=st.integers(min_value=1, max_value=5))
	def punch_live(self, t: int, p: int, count: int) -> None:
		for _ in range(count):
			self._record(self.terminals[t], self.people[p], None)

	@rule(p=person_index, count=st.integers(min_value=1, max_value=3))
	def punch_at_two_doors(self, p: int, count: int) -> None:
		"""The same second on both terminals (two readers of one door): one check-in."""
		for _ in range(count):
			at = now_datetime().replace(microsecond=0)
			for terminal in self.terminals:
				self._record(terminal, self.people[p], at)

	@rule(t=terminal_index, p=person_index, minutes=st.integers(min_value=1, max_value=60 * 48))
	def punch_back_dated(self, t: int, p: int, minutes: int) -> None:
		"""A punch the terminal stamps earlier than its latest (a queue of offline readers, a clock set back)."""
		self._record(
			self.terminals[t],
			self.people[p],
			now_datetime().replace(microsecond=0) - timedelta(minutes=minutes),
		)

	@rule(t=terminal_index)
	def enable_push(self, t: int) -> None:
		"""Enable Push (Push with pull reconciliation): the terminal posts its new events from now on."""
		terminal = self.terminals[t]
		if terminal.token is None:
			terminal.token = push_setup.enable_push(terminal.name, write_to_terminal=0)["token"]
			frappe.db.commit()

	@rule(t=terminal_index, p=person_index, lost=st.booleans())
	def punch_pushed(self, t: int, p: int, lost: bool) -> None:
		"""A live punch the terminal posts to the site, or whose post is lost on the way."""
		terminal = self.terminals[t]
		for e in self._record(terminal, self.people[p], None):
			if terminal.token is None:
				continue
			body = json.dumps(
				{
					"ipAddress": terminal.sim.host,
					"portNo": terminal.sim.port,
					"protocol": "HTTP",
					"dateTime": e["time"],
					"activePostCount": 1,
					"eventType": "AccessControllerEvent",
					"eventState": "active",
					"AccessControllerEvent": {
						"majorEventType": 5,
						"subEventType": e.get("minor", 75),
						"employeeNoString": e["employee_no"],
						"serialNo": e["serial_no"],
						"currentEvent": True,
						"attendanceStatus": "undefined",
					},
				}
			).encode()
			terminal.pushed.append(body)
			if not lost:
				self._post(terminal, body)

	@rule(t=terminal_index)
	def push_redelivered(self, t: int) -> None:
		"""The terminal posts an event again (a reboot's back-fill, a retry after a lost answer)."""
		terminal = self.terminals[t]
		if terminal.pushed:
			self._post(terminal, terminal.pushed[len(terminal.pushed) // 2])

	@rule()
	def push_job(self) -> None:
		"""The site-wide job that checks in pushed punches (through the services, the worker runs the one the
		endpoint queued; its check-ins are counted at the end)."""
		if self.services is not None:
			self.services.settle()
			return
		before = self._checkins()
		push_events.process_pushed()
		frappe.db.rollback()
		# Counted on this history's people: the job checks in every push device's punches, a bench's others too.
		self.pushed_checkins += self._checkins() - before

	@rule(t=terminal_index)
	def scheduled_run(self, t: int) -> None:
		if self.services is not None:
			History.worker_runs += jobs.enqueue_device(self.terminals[t].name, jobs.SCHEDULED)
			frappe.db.commit()
			self.services.settle()
			return
		self._run(self.terminals[t], jobs.SCHEDULED)

	@rule(
		t=terminal_index,
		start_hours=st.integers(min_value=1, max_value=80),
		length_hours=st.integers(min_value=1, max_value=80),
		bulk=st.booleans(),
	)
	def fetch_check_in(self, t: int, start_hours: int, length_hours: int, bulk: bool) -> None:
		now = now_datetime()
		start = now - timedelta(hours=start_hours)
		self._run(
			self.terminals[t], jobs.MANUAL, start, min(start + timedelta(hours=length_hours), now), bulk
		)

	@rule(t=terminal_index)
	def worker_dies_mid_run(self, t: int) -> None:
		"""The run stores its punches, then its worker dies as the first check-in batch commits."""
		calls = {"n": 0}
		real = checkins._process_batch

		def dying(*args, **kwargs):
			calls["n"] += 1
			if calls["n"] > 1:
				raise Crash()
			return real(*args, **kwargs)

		with patch.object(checkins, "BATCH_SIZE", 2), patch.object(checkins, "_process_batch", dying):
			try:
				self._run(self.terminals[t], jobs.SCHEDULED)
			except Crash:
				frappe.db.rollback()
				self.crashed = True

	@rule(
		first=st.sampled_from(WORKER_JOBS),
		second=st.sampled_from(WORKER_JOBS),
		p=person_index,
		at_both_doors=st.booleans(),
	)
	def two_workers(self, first: str, second: str, p: int, at_both_doors: bool) -> None:
		"""Two jobs at once, each on a worker of its own (a thread with its own database connection), started
		together: both terminals' scheduled runs, a run beside the push job, or beside the Reprocess of one
		person's ID; first, maybe, the person punches at both doors in one second, so that both runs decide one
		check-in. A job that raises breaks the history."""
		if at_both_doors:
			self.punch_at_two_doors(p, 1)

		def push_job() -> None:
			push_events.process_pushed()

		jobs_by_kind = {
			"run 0": lambda: jobs.sync_device(self.terminals[0].name, jobs.SCHEDULED),
			"run 1": lambda: jobs.sync_device(self.terminals[1].name, jobs.SCHEDULED),
			"push job": push_job,
			"reprocess": lambda: device_punch.reprocess(device_user_id=self.people[p].employee_no),
		}
		before = self._checkins()
		results = on_workers([jobs_by_kind[first], jobs_by_kind[second]], meet_holding_locks=at_both_doors)
		History.jobs_at_once += 1
		logs = [r["log"] for r in results if r and r.get("log")]
		for log in logs:
			self._check_log(log)
		if "push job" in (first, second):
			# The push job keeps no log: its check-ins are what the others' logs leave over.
			made = self._checkins() - before
			logged = sum(frappe.db.get_value(common.LOG, log, "checkins_created") for log in logs)
			assert made >= logged, f"{first} and {second} made {made} check-ins, their logs count {logged}"
			self.pushed_checkins += made - logged

	@rule(t=terminal_index)
	def outage(self, t: int) -> None:
		self.terminals[t].offline = not self.terminals[t].offline
		self._faults(self.terminals[t])

	@rule(t=terminal_index, skew=st.sampled_from([0, -7200, -900, 900, 7200]))
	def clock_step(self, t: int, skew: int) -> None:
		self.terminals[t].skew = skew
		self._faults(self.terminals[t])

	@rule(t=terminal_index)
	def wrong_password(self, t: int) -> None:
		terminal = self.terminals[t]
		terminal.wrong_password = not terminal.wrong_password
		doc = frappe.get_doc(common.DEVICE, terminal.name)
		doc.device_user_password = "Wrong-Pass-1" if terminal.wrong_password else SIM_PASSWORD
		doc.save(ignore_permissions=True)
		frappe.db.commit()

	@rule(t=terminal_index, how=st.sampled_from(["log kept", "log cleared", "terminal swapped"]))
	def counter_restarts(self, t: int, how: str) -> None:
		"""The event counter starts at 1 again: a firmware upgrade that keeps the log, a factory reset that clears
		it, or another terminal swapped in under the same Device Configuration (its own hardware serial number,
		an empty log). A punch is known by its serial and its second, and a real reset takes minutes: the history
		waits for a second none of the terminal's events has, or a new serial 1 could share the second of the old
		serial 1 (two events no terminal can tell apart)."""
		terminal = self.terminals[t]
		if how != "log kept":
			for event in self.events:
				if event.terminal == terminal.name and not frappe.db.exists(
					common.PUNCH, {"device": terminal.name, "serial_no": event.serial, "time": event.time}
				):
					terminal.erased.add((event.serial, event.time))
					terminal.unpromised.add((event.serial, event.time))
		if how == "terminal swapped":
			terminal.swaps += 1
			terminal.sim.set_serial_number(f"DSK1T341SWAP{self.tag.upper()}{t}{terminal.swaps}")
		self._wait_for_a_new_second(terminal)
		terminal.sim.reset_serial_counter(clear_log=how != "log kept")
		terminal.restarted = True

	def _wait_for_a_new_second(self, terminal: Terminal) -> None:
		"""Until the terminal's clock reads a second none of its events has: its next event is stamped then or
		later, and could otherwise share serial and second with an event the restarted counter numbered before."""
		seconds = {e.time for e in self.events if e.terminal == terminal.name}
		while (now_datetime() + timedelta(seconds=terminal.skew)).replace(microsecond=0) in seconds:
			time.sleep(0.05)

	@rule(t=terminal_index)
	def disable_or_enable(self, t: int) -> None:
		terminal = self.terminals[t]
		terminal.enabled = not terminal.enabled
		doc = frappe.get_doc(common.DEVICE, terminal.name)
		doc.enabled = int(terminal.enabled)
		doc.save(ignore_permissions=True)
		frappe.db.commit()

	@rule(p=person_index, reprocess_runs=st.booleans())
	def map_employee(self, p: int, reprocess_runs: bool) -> None:
		"""HR sets the person's Attendance Device ID; the Reprocess it queues runs, or its worker dies."""
		person = self.people[p]
		if person.mapped:
			return
		self._set_employee_id(person, person.employee_no)
		person.mapped = person.ever_mapped = True
		if self.services is None and reprocess_runs:  # through the services, the worker ran it
			result = device_punch.reprocess(device_user_id=person.employee_no)
			frappe.db.rollback()
			if result.get("log"):
				self.logs.append(result["log"])

	@rule(p=person_index)
	def give_another_id(self, p: int) -> None:
		"""HR types another ID on the Employee; the terminals still know the person by the old one."""
		person = self.people[p]
		self._set_employee_id(person, f"X{self.tag}{person.employee_no}")
		person.mapped = False

	@rule(p=person_index)
	def employee_left(self, p: int) -> None:
		doc = frappe.get_doc("Employee", self.people[p].employee)
		doc.status, doc.relieving_date = "Left", today()
		doc.save(ignore_permissions=True)
		frappe.db.commit()

	@rule(p=person_index)
	def change_shift(self, p: int) -> None:
		person = self.people[p]
		person.shift = self.shifts[1] if person.shift == self.shifts[0] else self.shifts[0]
		frappe.db.set_value("Employee", person.employee, "default_shift", person.shift)
		frappe.db.commit()

	def _run(self, terminal: Terminal, trigger: str, start=None, end=None, bulk: bool = False) -> None:
		if trigger == jobs.MANUAL:
			result = jobs.sync_device(terminal.name, trigger, str(start), str(end), bulk=int(bulk))
		else:
			result = jobs.sync_device(terminal.name, trigger)
		frappe.db.rollback()
		if result.get("log"):
			self._check_log(result["log"])

	# --- the promises -----------------------------------------------------------------------------------------

	def _check_log(self, log: str) -> None:
		"""A finished run's counts add up: it stored no more punches than it fetched events, and it decided no
		more punches than were Pending in its scope."""
		self.logs.append(log)
		doc = frappe.get_doc(common.LOG, log)
		assert doc.status in ("Success", "Partial", "Failed"), (log, doc.status)
		assert doc.new_punches <= doc.fetched, (log, doc.fetched, doc.new_punches)

	def _check_totals(self) -> None:
		"""Every check-in and every stored punch was counted by exactly one Sync Log, or by the push endpoint and
		the push job, which keep no log (a run whose worker died leaves its log Interrupted, uncounted: then the
		counts are at most the totals)."""
		logs = frappe.get_all(
			common.LOG,
			filters={"name": ["in", self.logs or [""]]},
			fields=["checkins_created", "new_punches"],
		)
		checkins = self._checkins()
		punches = frappe.db.count(common.PUNCH, {"device": ["in", [t.name for t in self.terminals]]})
		if self.services is not None or History.shared_queues:
			# The worker's runs and Reprocesses keep their own logs; the push job keeps none, so its check-ins
			# are what the logs leave over, and never fewer than none. (With queues shared by several sites'
			# histories, another process's worker may have run this site's push job and Reprocess too.)
			self.logs += [
				name
				for name in frappe.get_all(
					common.LOG,
					filters={"creation": [">=", self.started_at], "name": ["not in", self.logs or [""]]},
					or_filters={"device": ["in", [t.name for t in self.terminals]], "trigger": "Reprocess"},
					pluck="name",
				)
			]
			logs = frappe.get_all(
				common.LOG, filters={"name": ["in", self.logs]}, fields=["checkins_created", "new_punches"]
			)
			self.pushed_checkins = checkins - sum(r.checkins_created for r in logs)
			assert self.pushed_checkins >= 0, (checkins, [r.checkins_created for r in logs])
		counted = (
			sum(r.checkins_created for r in logs) + self.pushed_checkins,
			sum(r.new_punches for r in logs) + self.pushed_punches,
		)
		if self.crashed:
			assert counted[0] <= checkins and counted[1] <= punches, (counted, checkins, punches)
		else:
			assert counted == (checkins, punches), (
				f"Sync Logs count {counted}, the site has {(checkins, punches)}"
			)

	@invariant()
	def cursor_promise(self) -> None:
		"""No Shift Type cursor moves past a recorded punch of a person on that shift that is not a check-in."""
		if not hasattr(self, "cursors"):
			return
		History.steps += 1
		frappe.db.rollback()
		for shift in self.shifts:
			before, after = self.cursors[shift], self._cursor(shift)
			self.cursors[shift] = after
			if after is None or (before is not None and after <= before):
				continue
			for event in self.events:
				person = next(p for p in self.people if p.employee_no == event.employee_no)
				if person.shift != shift or not person.ever_mapped:
					continue
				if not (
					event.time >= self.sync_start
					and (before is None or event.time > before)
					and event.time <= after
				):
					continue
				terminal = next(t for t in self.terminals if t.name == event.terminal)
				passed = terminal.passed_at_record.get((event.serial, event.time))
				if passed is not None and passed >= event.time:
					continue  # recorded after its own terminal's runs had passed its time
				if (event.serial, event.time) in terminal.erased:
					continue
				if not frappe.db.exists(
					"Employee Checkin", {"employee": person.employee, "time": event.time}
				):
					raise AssertionError(
						f"Shift Type {shift} moved from {before} to {after} past {event} of {person.employee}, "
						f"which is not an Employee Checkin; {self._diagnosis(event)}"
					)

	def _diagnosis(self, event: Event) -> str:
		"""The state a failed promise is read against: the terminals' cursors and the event's stored punches."""
		devices = frappe.get_all(
			common.DEVICE,
			filters={"name": ["in", [t.name for t in self.terminals]]},
			fields=["name", "enabled", "synced_up_to", "last_serial_no", "serial_number", "auth_blocked"],
		)
		punches = frappe.get_all(
			common.PUNCH,
			filters={"device": event.terminal, "serial_no": event.serial},
			fields=["time", "status", "reason", "employee", "device_user_id"],
		)
		return f"devices {devices}; punches of serial {event.serial} there {punches}"

	def settle_and_check(self) -> None:
		"""HR fixes everything, every device runs; then every punch is exactly one check-in of its person."""
		if self.services is not None:
			self.services.settle()
		for terminal in self.terminals:
			terminal.offline, terminal.skew = False, 0
			self._faults(terminal)
			doc = frappe.get_doc(common.DEVICE, terminal.name)
			doc.enabled, doc.device_user_password = 1, SIM_PASSWORD
			doc.save(ignore_permissions=True)
		for person in self.people:
			if not person.mapped:
				self._set_employee_id(person, person.employee_no)
				person.mapped = person.ever_mapped = True
		frappe.db.commit()
		# What the terminals' clocks have reached before the runs that must take it (an event is stamped "now" or
		# later on a terminal: one stamped after the last run started waits for the next run).
		now = now_datetime()
		for _ in range(2):
			for terminal in self.terminals:
				self._run(terminal, jobs.SCHEDULED)
		by_no = {p.employee_no: p.employee for p in self.people}
		terminals = {t.name: t for t in self.terminals}

		def promised(e: Event) -> bool:
			return (e.serial, e.time) not in terminals[e.terminal].unpromised

		due = [e for e in self.events if self.sync_start <= e.time <= now]
		expected = sorted({(by_no[e.employee_no], e.time) for e in due if promised(e)})
		# Outside the promise (stamped ahead by a fast clock, or unreachable as above): checked in or not, but
		# never twice and never for anyone else.
		allowed = {(by_no[e.employee_no], e.time) for e in self.events if self.sync_start <= e.time}
		actual = sorted(
			(r.employee, get_datetime(r.time))
			for r in frappe.get_all(
				"Employee Checkin",
				filters={"employee": ["in", list(by_no.values())]},
				fields=["employee", "time"],
			)
		)
		doubled = [k for k in set(actual) if actual.count(k) > 1]
		assert not doubled, f"check-ins created twice: {doubled}"
		missing = sorted(set(expected) - set(actual))
		extra = sorted(set(actual) - allowed)
		if missing:
			detail = [e for e in self.events if (by_no[e.employee_no], e.time) in set(missing)]
			raise AssertionError(f"punches that are not check-ins: {detail}")
		assert not extra, f"check-ins of no punch: {extra}"
		left = frappe.get_all(
			common.PUNCH,
			filters={
				"device": ["in", [t.name for t in self.terminals]],
				"status": ["in", [P.PENDING, P.FAILED, P.UNMAPPED]],
			},
			fields=["name", "status", "reason"],
		)
		assert not left, f"punches left unresolved: {left}"
		self._check_totals()

	def teardown(self) -> None:
		broken = sys.exc_info()[1]
		try:
			# Only a history that broke no promise on the way is settled and checked (sys.exc_info: what the rules
			# or the invariant raised, on its way through Hypothesis's `finally`).
			if hasattr(self, "people") and broken is None:
				self.settle_and_check()
		except BaseException as e:
			broken = e
			raise
		finally:
			services = getattr(self, "services", None)
			if services is not None:
				services.stop_worker()
			self._clean()
			if hasattr(self, "began"):
				if broken is None:
					outcome = "ok"
				elif isinstance(broken, StopTest):
					outcome = "cut short by Hypothesis (its data for this history ran out): not a finding"
				else:
					outcome = f"FAIL {type(broken).__name__}: {str(broken)[:600]}"
				print(
					f"  history {History.histories}: {len(self.events)} punches, "
					f"{time.monotonic() - self.began:.1f} s, {outcome}",
					flush=True,
				)

	def _clean(self) -> None:
		frappe.db.rollback()
		sim = getattr(self, "sim", None)
		if sim is not None:
			sim.stop()
		for terminal in getattr(self, "terminals", []):
			frappe.db.delete(common.PUNCH, {"device": terminal.name})
			frappe.db.delete(common.LOG, {"device": terminal.name})
			frappe.db.delete("Device Shift Type", {"parent": terminal.name})
			frappe.db.delete("Error Log", {"reference_name": terminal.name})
			frappe.db.delete(
				"Notification Log", {"document_type": common.DEVICE, "document_name": terminal.name}
			)
			frappe.db.delete(common.DEVICE, {"name": terminal.name})
			delete_all_passwords_for(common.DEVICE, terminal.name)
		for person in getattr(self, "people", []):
			frappe.db.delete("Employee Checkin", {"employee": person.employee})
			# Who last held an ID: the next history starts with none.
			frappe.db.delete("Device User ID Holder", {"employee": person.employee})
			frappe.db.delete("Version", {"ref_doctype": "Employee", "docname": person.employee})
			frappe.db.set_value(
				"Employee", person.employee, "attendance_device_id", None, update_modified=False
			)
		for shift in getattr(self, "shifts", []):
			frappe.db.delete("Shift Type", {"name": shift})
		for log in getattr(self, "logs", []):
			frappe.db.delete(common.LOG, {"name": log})
		frappe.db.commit()


def run(
	seed: int, histories: int, steps: int, database: Path | None, shrink: bool, blob: str | None = None
) -> None:
	"""`histories` histories of at most `steps` steps from `seed`; raises what the failing one raised, shrunk to
	the shortest that still fails when `shrink` (a shrink runs many histories: CI reports the failure as found).
	With `blob`, the one history Hypothesis printed it for."""
	# A class of its own per run: the decorators mark the class they are given.
	machine = with_seed(seed)(type("History", (History,), {}))
	if blob:
		machine = reproduce_failure(hypothesis_version, blob.encode())(machine)
	run_state_machine_as_test(
		machine,
		settings=settings(
			max_examples=histories,
			stateful_step_count=steps,
			deadline=None,
			database=DirectoryBasedExampleDatabase(str(database)) if database else None,
			suppress_health_check=list(HealthCheck),
			phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if shrink else [])],
			print_blob=True,
		),
		_min_steps=10,
	)


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument(
		"--site",
		action="append",
		required=True,
		help="the site; given more than once, one process per site shares out the histories",
	)
	parser.add_argument("--histories", type=int, default=30)
	parser.add_argument("--steps", type=int, default=40)
	parser.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
	parser.add_argument("--database", type=Path, default=None, help="Hypothesis's example database")
	parser.add_argument("--no-shrink", action="store_true", help="report a failing history as found")
	parser.add_argument(
		"--reproduce", metavar="BLOB", help="replay the history of a printed @reproduce_failure"
	)
	parser.add_argument(
		"--services",
		type=float,
		default=0.0,
		metavar="SHARE",
		help="share of histories (0-1) through a web server and a worker (pushes over HTTP, jobs on the worker)",
	)
	# Set for the processes of a run over several sites: their RQ queues are the bench's, and the one that runs a
	# worker runs the others' jobs too.
	parser.add_argument("--shared-queues", action="store_true", help=argparse.SUPPRESS)
	parser.add_argument("--no-regression-seeds", action="store_true", help=argparse.SUPPRESS)
	args = parser.parse_args()
	seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
	if len(args.site) > 1:
		return run_sites(args, seed)
	return run_site(args, args.site[0], seed)


def run_site(args: argparse.Namespace, site: str, random_seed: int) -> int:
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	# A bench worker would run what the Employee hook queues; here the histories decide which Reprocess runs.
	frappe.flags.in_test = False
	History.shared_queues = args.shared_queues
	if args.services > 0:
		History.services = Services(site, Path(tempfile.mkdtemp(prefix="histories-services-")))
	failures = 0
	started = time.monotonic()
	runs = [(random_seed, "replayed", args.reproduce, args.histories, args.services)]
	if not args.reproduce:
		runs = [
			*(
				(seed, "regression seed", None, min(args.histories, REGRESSION_HISTORIES), args.services)
				for seed in ([] if args.no_regression_seeds else REGRESSION_SEEDS)
			),
			(random_seed, "random seed", None, args.histories, args.services),
		]
	try:
		for seed, kind, blob, histories, share in runs:
			History.services_share = share
			print(
				f"histories: {kind} {seed}, up to {histories} histories of 10-{args.steps} steps", flush=True
			)
			try:
				run(seed, histories, args.steps, args.database, not args.no_shrink, blob)
			except DidNotReproduce:  # a replayed failure that passes now: fixed
				print("the replayed history passes", flush=True)
			except BaseException as e:  # the report names any failure, then the next seed runs
				if isinstance(e, KeyboardInterrupt):
					raise
				failures += 1
				print(f"FAIL seed {seed}: {type(e).__name__}: {e}", flush=True)
				# Hypothesis attaches the failing history (its steps, shrunk unless --no-shrink) as notes.
				print("\n".join(getattr(e, "__notes__", [])), flush=True)
	finally:
		if History.services is not None:
			History.services.close()
		frappe.db.rollback()
		for employee in History.pool:
			frappe.db.delete("Device User ID Holder", {"employee": employee})
			frappe.db.delete("Version", {"ref_doctype": "Employee", "docname": employee})
			frappe.db.delete("Employee", {"name": employee})
		frappe.db.commit()
	frappe.destroy()
	figures = {
		"histories": History.histories,
		"through_services": History.through_services_count,
		"http_pushes": History.http_pushes,
		"worker_runs": History.worker_runs,
		"jobs_at_once": History.jobs_at_once,
		"steps": History.steps,
		"failures": failures,
	}
	report(figures, time.monotonic() - started)
	print(f"{SUMMARY} {json.dumps(figures)}", flush=True)
	return 1 if failures else 0


# The line a process run for one site ends with: its figures, summed by `run_sites`.
SUMMARY = "histories-figures"


def report(figures: dict[str, int], seconds: float) -> None:
	print(
		f"\nhistories: {figures['histories']} histories ({figures['through_services']} through the web server and "
		f"a worker: {figures['http_pushes']} pushes over HTTP, {figures['worker_runs']} device jobs on the "
		f"worker; {figures['jobs_at_once']} pairs of jobs at once), {figures['steps']} steps, {seconds / 60:.1f} min, "
		f"{figures['failures']} failing seed(s)"
	)
	print(f"histories: {figures['histories'] - figures['failures']} passed, {figures['failures']} failed")


def run_sites(args: argparse.Namespace, seed: int) -> int:
	"""The histories shared out over one process per site, all at once: the first site also runs the regression
	seeds, so it takes fewer random ones, and every history through the services (which cost about what one in
	the site's process does: 7.0 s and 6.7 s a history measured over 1,048). Each process's lines are printed as
	they come, prefixed with its site."""
	sites, total = args.site, args.histories
	through = round(args.services * total)
	regression = 0 if args.reproduce else REGRESSION_HISTORIES * len(REGRESSION_SEEDS)
	first = max(1, (total + regression) // len(sites) - regression)
	counts = [first, *split(total - first, len(sites) - 1)]
	started = time.monotonic()
	processes = []
	for index, (site, count) in enumerate(zip(sites, counts, strict=True)):
		command = [sys.executable, __file__, "--site", site, "--histories", str(count)]
		command += ["--steps", str(args.steps), "--seed", str(seed + index)]
		command += ["--database", str(args.database)] if args.database else []
		command += ["--no-shrink"] if args.no_shrink else []
		command += ["--reproduce", args.reproduce] if args.reproduce else []
		if through:
			command += ["--shared-queues"]
			if index == 0:
				command += ["--services", str(min(1.0, through / first))]
		if index:
			command += ["--no-regression-seeds"]
		processes.append(
			subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
		)
	figures: dict[str, int] = {}

	def relay(site: str, process: subprocess.Popen) -> None:
		for line in process.stdout or []:
			if line.startswith(SUMMARY):
				for key, value in json.loads(line[len(SUMMARY) :]).items():
					figures[key] = figures.get(key, 0) + value
			else:
				print(f"[{site}] {line}", end="", flush=True)

	readers = [
		threading.Thread(target=relay, args=(site, process))
		for site, process in zip(sites, processes, strict=True)
	]
	for reader in readers:
		reader.start()
	codes = [process.wait() for process in processes]
	for reader in readers:
		reader.join()
	print(f"\nhistories over {len(sites)} sites at once (seeds {seed} to {seed + len(sites) - 1}):")
	keys = (
		"histories",
		"through_services",
		"http_pushes",
		"worker_runs",
		"jobs_at_once",
		"steps",
		"failures",
	)
	report({**dict.fromkeys(keys, 0), **figures}, time.monotonic() - started)
	return 1 if any(codes) or "failures" not in figures else 0


def split(total: int, parts: int) -> list[int]:
	"""`total` in `parts` counts that differ by at most one."""
	return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


if __name__ == "__main__":
	sys.exit(main())
