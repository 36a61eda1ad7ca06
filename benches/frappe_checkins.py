"""Check-ins per second on a real ERPNext + HRMS bench: the app's path against plain inserts and the seed's path.

Run by `tests/bench/bench.sh bench-frappe` (`make bench-frappe`) or `dev-bench-frappe`, with the bench's Python
from `sites/`:
    env/bin/python apps/attendance_sync/benches/frappe_checkins.py --site SITE --bench BENCH [options]

One run, one site, one data shape. Fixtures: `--employees` Employees of the wizard's company with Attendance
Device IDs, a Default Shift on all of them and a second Shift Type assigned (Shift Assignment) to every other
one; `--punches` punches spread over those employees and several past days (a backfill), served by
`--terminals` simulated terminals (`attendance-sync simulate --events-file`, one process per terminal) that hold
disjoint employees, so that device jobs can run in parallel.

Paths (`--paths`, in that order; the check-ins of the previous path are deleted before each, so every path
inserts the same (employee, time) rows into a table of the same size):
- a: the app's normal path, one check-in at a time (Bulk Insert Above set to 0 for the run: a device's backfill
  here is above its default of 5,000). A Device Configuration per terminal, Fetch Check-in of the whole range through the
  whitelisted method behind the form's button (`device_configuration.fetch_checkins`), run by real `bench worker` processes
  (once per `--workers` count; punches, logs and cursors are reset between them; `--stagger` seconds between
  two devices' presses, default 0: all at once, as the daily event enqueues them). Timed from the first enqueue
  to the moment the last check-in was seen committed (polled every POLL seconds).
- b: a plain `frappe.get_doc({"doctype": "Employee Checkin", ...}).insert()` loop over the same punches, the
  employee resolved by a dict lookup built beforehand, committed every `--commit-every` inserts.
- c: the seed's per-event path (the original app's `Attendance.process_logs`): per event the Employee looked up
  by `attendance_device_id`, a `frappe.db.exists` duplicate check on (employee, time), then
  `add_log_based_on_employee_field(employee_field_value=<employee>, timestamp, employee_fieldname="name",
  device_id=<device user id>)` without a log type, as the seed called it; one commit at the end (the job's).
  The events are the terminals' records (ISO time with the terminal's offset, which the seed dropped; the
  terminals run at the site's offset, so its times are the site times the other paths insert).
- d: the app's path with the dialog's "Bulk insert" ticked (`fetch_checkins(..., bulk=1)`), otherwise as (a),
  once per `--workers` count. Its Employee Checkin rows must be those of the (a) run (every field but name,
  owner and timestamps): the report says so, or the row is marked failed with what differs.

Output: a Markdown table (path, workers, punches, check-ins created, seconds, check-ins/s, ratio to b) with the
machine, versions and the run date, for benches/RESULTS.md; progress goes to stderr. A device run that fails
(a job that dies, a Sync Log that is not Success) is a row marked failed, with the workers' exceptions below the
table; the workers' logs stay in the bench's logs/ folder (bench-frappe-worker-N.log).
"""

import argparse
import json
import math
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import add_days, get_system_timezone, now_datetime

from attendance_sync.simulator import SimDevice, Simulator

# The bench scripts' shared parts (tests/bench/harness.py), beside e2e.py which this benchmark grew from.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "bench"))
from harness import busy, make_employee, start_frappe, stop

# Doctype names and the whitelisted method behind the Fetch Check-in button: the app's stable surface.
DEVICE = "Device Configuration"
PUNCH = "Device Punch"
LOG = "Attendance Sync Log"
CHECKIN = "Employee Checkin"
SETTINGS = "Attendance Sync Settings"
FETCH_CHECKINS = (
	"attendance_sync.attendance_sync.doctype.device_configuration.device_configuration.fetch_checkins"
)
SEED_ADD_LOG = "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"

PASSWORD = "Bench-Terminal-Pass"
PREFIX = "BENCH"
QUEUES = "long,default,short"
POLL = 1.0
PUNCHES_PER_DAY = 6


@dataclass(frozen=True)
class Punch:
	user: str  # the Attendance Device ID
	at: datetime  # site time, naive
	log_type: str


@dataclass
class Terminal:
	key: str
	users: list[str]
	punches: list[Punch] = field(default_factory=list)
	sim: Simulator | None = None
	device: SimDevice | None = None
	doc: str | None = None


@dataclass
class Result:
	path: str
	workers: int | None
	punches: int
	created: int
	seconds: float
	notes: str = ""
	failure: str = ""

	@property
	def rate(self) -> float:
		return self.created / self.seconds if self.seconds > 0 and not self.failure else 0.0


def log(message: str) -> None:
	print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def offset_text(offset: timedelta) -> str:
	minutes = int(offset.total_seconds() // 60)
	sign = "-" if minutes < 0 else "+"
	return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class Bench:
	def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
		self.args = args
		self.site = args.site
		self.workdir = workdir
		self.rng = random.Random(args.seed)
		self.workers: list[subprocess.Popen] = []
		self.terminals: list[Terminal] = []
		self.employees: dict[str, str] = {}  # attendance device id -> Employee
		self.shift_types: list[str] = []
		self.site_tz = ZoneInfo(get_system_timezone())
		self.window: tuple[datetime, datetime] | None = None
		self.results: list[Result] = []
		self.app_rows: list[tuple] | None = None
		# Worker logs outlive the run in the bench's logs/ folder (where the bench user can write).
		logs = Path(args.bench) / "logs" if args.bench else None
		self.logdir = logs if logs and os.access(logs, os.W_OK) else workdir
		self.started_workers = 0
		self.worker_log_start = 0

	# --- fixtures ---------------------------------------------------------------------------------------

	def punches(self) -> list[Punch]:
		return sorted((p for t in self.terminals for p in t.punches), key=lambda p: (p.at, p.user))

	def make_punches(self, users: list[str]) -> list[Punch]:
		"""`--punches` punches over `users` and past days: PUNCHES_PER_DAY (or what the count needs) a day
		between 07:00 and 19:00, alternately IN and OUT, never two of one person in the same second."""
		total = self.args.punches
		per_user = math.ceil(total / len(users))
		days = self.args.days or max(1, min(28, math.ceil(per_user / PUNCHES_PER_DAY)))
		per_day = math.ceil(per_user / days)
		slot = timedelta(hours=12) / per_day
		today = now_datetime().replace(hour=0, minute=0, second=0, microsecond=0)
		first_day = today - timedelta(days=days)
		result = []
		for i in range(total):
			user = users[i % len(users)]
			j = i // len(users)
			day, k = divmod(j, per_day)
			start = first_day + timedelta(days=day, hours=7) + slot * k
			at = start + timedelta(seconds=self.rng.randrange(max(1, int(slot.total_seconds()) - 1)))
			result.append(Punch(user, at, "IN" if k % 2 == 0 else "OUT"))
		self.window = (first_day - timedelta(hours=1), now_datetime().replace(microsecond=0))
		return result

	def setup(self) -> None:
		args = self.args
		log(f"fixtures: {args.employees} employees, {args.punches} punches, {args.terminals} terminals")
		frappe.db.set_single_value("HR Settings", "allow_geolocation_tracking", 0)
		# (a) is the one-by-one path whatever the run's size; (d) asks for bulk itself.
		frappe.db.set_single_value(SETTINGS, "bulk_insert_above", 0)
		company = frappe.defaults.get_global_default("company")
		for shift, start, end in (("General", "09:00:00", "18:00:00"), ("Early", "07:00:00", "16:00:00")):
			name = f"{PREFIX} {shift}"
			if not frappe.db.exists("Shift Type", name):
				frappe.get_doc(
					{"doctype": "Shift Type", "name": name, "start_time": start, "end_time": end}
				).insert(ignore_permissions=True)
			self.shift_types.append(name)
		users = [f"{81000 + n}" for n in range(args.employees)]
		started = time.monotonic()
		for n, user in enumerate(users):
			doc = make_employee(
				f"{PREFIX} {user}", attendance_device_id=user, default_shift=self.shift_types[0]
			)
			self.employees[user] = doc.name
			if n % 2:
				frappe.get_doc(
					{
						"doctype": "Shift Assignment",
						"employee": doc.name,
						"shift_type": self.shift_types[1],
						"company": company,
						"start_date": add_days(frappe.utils.today(), -90),
						"status": "Active",
					}
				).submit()
		frappe.db.commit()
		log(f"employees and shift assignments: {time.monotonic() - started:.1f} s")

		punches = self.make_punches(users)
		# The site's offset now: the terminals run at it (Asia/Dhaka has no daylight saving time).
		offset = offset_text(datetime.now(self.site_tz).utcoffset())
		for t in range(args.terminals):
			terminal = Terminal(f"T{t + 1}", users[t :: args.terminals])
			mine = set(terminal.users)
			terminal.punches = [p for p in punches if p.user in mine]
			self.start_terminal(terminal, offset)
			terminal.doc = (
				frappe.get_doc(
					{
						"doctype": DEVICE,
						"device_name": f"{PREFIX} {terminal.key}",
						"device_ip": terminal.device.host,
						"port": terminal.device.port,
						"use_https": 0,
						"verify_tls": 0,
						"device_user": "admin",
						"device_user_password": PASSWORD,
						"punch_direction": "From device",
						"sync_frequency": "Daily",
						"sync_start": self.window[0],
						"shift_types": [{"shift_type": s} for s in self.shift_types],
					}
				)
				.insert(ignore_permissions=True)
				.name
			)
			self.terminals.append(terminal)
		frappe.db.commit()
		log(
			f"terminals: {', '.join(f'{t.key} {len(t.users)} employees / {len(t.punches)} punches' for t in self.terminals)}; "
			f"window {self.window[0]} .. {self.window[1]}"
		)

	def start_terminal(self, terminal: Terminal, offset: str) -> None:
		path = self.workdir / f"{terminal.key.lower()}.jsonl"
		minors = (75, 38, 1)  # face, fingerprint, card: all punches
		lines = []
		for i, p in enumerate(sorted(terminal.punches, key=lambda p: (p.at, p.user))):
			lines.append(
				{
					"major": 5,
					"minor": minors[i % 3],
					"time": f"{p.at.isoformat()}{offset}",
					"employeeNoString": p.user,
					"name": f"User {p.user}",
					"attendanceStatus": "checkIn" if p.log_type == "IN" else "checkOut",
				}
			)
		path.write_text("".join(json.dumps(line) + "\n" for line in lines))
		args = ["--user", "admin", "--password", PASSWORD, "--utc-offset", offset, "--events-file", str(path)]
		terminal.sim = Simulator(devices=1, args=args)
		terminal.device = terminal.sim.start()[0]

	# --- between paths ----------------------------------------------------------------------------------

	def reset(self) -> None:
		"""No check-in, punch, log or cursor of an earlier path left."""
		frappe.db.rollback()
		devices = [t.doc for t in self.terminals]
		frappe.db.delete(CHECKIN, {"employee": ["in", list(self.employees.values())]})
		frappe.db.delete(PUNCH, {"device": ["in", devices]})
		frappe.db.delete(LOG, {"device": ["in", devices]})
		for device in devices:
			frappe.db.set_value(
				DEVICE,
				device,
				{
					"synced_up_to": None,
					"last_serial_no": 0,
					"last_sync_at": None,
					"last_sync_status": None,
					"last_sync_log": None,
					"last_error": None,
				},
				update_modified=False,
			)
		for shift in self.shift_types:
			frappe.db.set_value("Shift Type", shift, "last_sync_of_checkin", None, update_modified=False)
		frappe.db.commit()
		frappe.clear_cache()

	def checkins(self) -> int:
		frappe.db.rollback()
		return frappe.db.count(CHECKIN, {"employee": ["in", list(self.employees.values())]})

	# --- workers ----------------------------------------------------------------------------------------

	def start_workers(self, count: int) -> None:
		from frappe.utils.background_jobs import get_redis_conn
		from rq import Worker

		conn = get_redis_conn()
		before = len(Worker.all(connection=conn))
		for _ in range(count):
			log = self.logdir / f"bench-frappe-worker-{self.started_workers}.log"
			self.started_workers += 1
			self.workers.append(start_frappe(self.site, log, "worker", "--queue", QUEUES))
		deadline = time.monotonic() + 120
		while len(Worker.all(connection=conn)) < before + count:
			if time.monotonic() > deadline:
				raise TimeoutError("the workers did not register with the queue")
			time.sleep(0.2)

	def stop_workers(self) -> None:
		for worker in self.workers:
			stop(worker)
		self.workers = []
		# A stopped worker leaves its registration behind for a moment; the next start counts from zero.
		from frappe.utils.background_jobs import get_redis_conn
		from rq import Worker

		conn = get_redis_conn()
		deadline = time.monotonic() + 30
		while Worker.all(connection=conn) and time.monotonic() < deadline:
			time.sleep(0.2)

	def worker_errors(self) -> list[str]:
		"""The exceptions the workers of the last run logged (their last line each)."""
		errors = []
		for n in range(self.worker_log_start, self.started_workers):
			path = self.logdir / f"bench-frappe-worker-{n}.log"
			lines = path.read_text(errors="replace").splitlines() if path.exists() else []
			errors += [
				f"{path.name}: {line.strip()}"
				for line in lines
				if re.match(r"^\w[\w.]*(Error|Exception): ", line)
			]
		return errors

	# --- the paths --------------------------------------------------------------------------------------

	def fetch_all(self, bulk: bool = False) -> None:
		"""What pressing Fetch Check-in on every terminal's form does: the whitelisted method, once per device."""
		fetch = frappe.get_attr(FETCH_CHECKINS)
		start, end = (str(t) for t in self.window)
		for n, terminal in enumerate(self.terminals):
			if n and self.args.stagger:
				time.sleep(self.args.stagger)
			answer = fetch(device=terminal.doc, from_time=start, to_time=end, bulk=int(bulk))
			if not answer.get("queued"):
				raise RuntimeError(f"Fetch Check-in of {terminal.doc} was not queued: {answer}")
		frappe.db.commit()

	def run_app(self, workers: int, bulk: bool = False) -> Result:
		path = "d" if bulk else "a"
		self.reset()
		self.worker_log_start = self.started_workers
		self.start_workers(workers)
		log(
			f"({path}) app path{' in bulk' if bulk else ''}, {workers} worker(s): Fetch Check-in of {len(self.terminals)} devices"
		)
		started = time.monotonic()
		self.fetch_all(bulk)
		seen, last_change, quiet = 0, started, 0
		deadline = started + self.args.timeout
		while quiet < 3:
			time.sleep(POLL)
			count = self.checkins()
			now = time.monotonic()
			if count != seen:
				seen, last_change = count, now
			quiet = quiet + 1 if not busy(QUEUES.split(",")) else 0
			if now > deadline:
				raise TimeoutError(f"jobs still running after {self.args.timeout} s ({seen} check-ins)")
		finished = time.monotonic()
		self.stop_workers()
		logs = frappe.get_all(
			LOG,
			filters={"device": ["in", [t.doc for t in self.terminals]]},
			fields=[
				"device",
				"status",
				"checkins_created",
				"new_punches",
				"duplicates",
				"failed",
				"duration",
			],
		)
		notes = (
			f"jobs done at {finished - started:.1f} s; per-device job durations "
			f"{', '.join(f'{r.duration or 0:.1f}' for r in sorted(logs, key=lambda r: r.device))} s"
		)
		failure = ""
		bad = [r for r in logs if r.status != "Success"]
		if len(logs) != len(self.terminals) or bad:
			missing = sorted({t.doc for t in self.terminals} - {r.device for r in logs})
			failure = "; ".join(
				[
					*(f"{r.device}: {r.status}" for r in bad),
					*(f"{d}: the job died without a Sync Log" for d in missing),
					*self.worker_errors(),
				]
			)
			log(f"({path}) {workers} worker(s) FAILED: {failure}")
		rows = self.checkin_rows()
		if bulk and not failure:
			failure = self.compare_rows(rows)
			notes += (
				"; rows identical to (a)'s (every field but name, owner, timestamps)" if not failure else ""
			)
		elif not bulk and not failure:
			self.app_rows = rows
		result = Result(path, workers, len(self.punches()), seen, last_change - started, notes, failure)
		log(f"({path}) {workers} worker(s): {result.created} check-ins in {result.seconds:.1f} s ({notes})")
		return result

	def checkin_rows(self) -> list[tuple]:
		"""The bench's Employee Checkins, every field but name, owner and timestamps, in a stable order."""
		frappe.db.rollback()
		skip = {"name", "owner", "creation", "modified", "modified_by"}
		fields = sorted(set(frappe.db.get_table_columns(CHECKIN)) - skip)
		rows = frappe.get_all(
			CHECKIN, filters={"employee": ["in", list(self.employees.values())]}, fields=fields
		)
		return sorted(tuple(str(r[f]) for f in fields) for r in rows)

	def compare_rows(self, rows: list[tuple]) -> str:
		"""'' when `rows` are the (a) run's, else what differs."""
		if self.app_rows is None:
			return "no (a) run to compare the rows with (run path a before d)"
		if rows == self.app_rows:
			return ""
		differ = sorted(set(rows) ^ set(self.app_rows))[:3]
		return f"rows differ from (a)'s: {len(self.app_rows)} vs {len(rows)} check-ins; e.g. {differ}"

	def run_plain(self) -> Result:
		self.reset()
		punches = self.punches()
		devices = {p.user: t.doc for t in self.terminals for p in t.punches}
		employees = dict(self.employees)
		every = self.args.commit_every
		log(f"(b) plain doc.insert loop over {len(punches)} punches, commit every {every}")
		started = time.monotonic()
		for n, p in enumerate(punches, 1):
			frappe.get_doc(
				{
					"doctype": CHECKIN,
					"employee": employees[p.user],
					"time": p.at,
					"log_type": p.log_type,
					"device_id": devices[p.user],
				}
			).insert(ignore_permissions=True)
			if n % every == 0:
				frappe.db.commit()
		frappe.db.commit()
		seconds = time.monotonic() - started
		result = Result("b", None, len(punches), self.checkins(), seconds)
		log(f"(b) {result.created} check-ins in {seconds:.1f} s")
		return result

	def run_seed(self) -> Result:
		"""The original app's `process_logs` on the terminals' event records."""
		self.reset()
		add_log = frappe.get_attr(SEED_ADD_LOG)
		offset = offset_text(datetime.now(self.site_tz).utcoffset())
		records = [
			{"employeeNoString": p.user, "time": f"{p.at.isoformat()}{offset}"} for p in self.punches()
		]
		log(f"(c) the seed's per-event path over {len(records)} events")
		started = time.monotonic()
		for record in records:
			employee = frappe.db.get_value(
				"Employee",
				{"attendance_device_id": record["employeeNoString"]},
				["name", "employee_name"],
				as_dict=True,
			)
			if not employee:
				continue
			stamp = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).strftime(
				"%Y-%m-%d %H:%M:%S"
			)
			if not frappe.db.exists(CHECKIN, {"employee": employee["name"], "time": stamp}):
				add_log(
					employee_field_value=employee["name"],
					timestamp=stamp,
					employee_fieldname="name",
					device_id=record["employeeNoString"],
				)
		frappe.db.commit()
		seconds = time.monotonic() - started
		result = Result("c", None, len(records), self.checkins(), seconds)
		log(f"(c) {result.created} check-ins in {seconds:.1f} s")
		return result

	def run(self) -> None:
		self.setup()
		for path in self.args.paths:
			if path == "a":
				for workers in self.args.workers:
					self.results.append(self.run_app(workers))
			elif path == "d":
				for workers in self.args.workers:
					self.results.append(self.run_app(workers, bulk=True))
			elif path == "b":
				self.results.append(self.run_plain())
			elif path == "c":
				self.results.append(self.run_seed())

	def close(self) -> None:
		self.stop_workers()
		for terminal in self.terminals:
			if terminal.sim:
				terminal.sim.stop()


# --- the report ---------------------------------------------------------------------------------------------


def cpu_model() -> str:
	try:
		for line in Path("/proc/cpuinfo").read_text().splitlines():
			if line.startswith("model name"):
				return line.split(":", 1)[1].strip()
	except OSError:
		pass
	return platform.processor() or platform.machine()


def app_commit(args: argparse.Namespace) -> str:
	if args.commit:
		return args.commit
	app = Path(frappe.get_app_path("attendance_sync")).parent
	try:
		out = subprocess.run(
			["git", "-C", str(app), "log", "-1", "--format=%h %s"],
			capture_output=True,
			text=True,
			timeout=10,
		).stdout.strip()
	except (OSError, subprocess.SubprocessError):
		out = ""
	return out or "unknown (pass --commit)"


def versions() -> str:
	import erpnext
	import hrms

	return f"frappe {frappe.__version__}, erpnext {erpnext.__version__}, hrms {hrms.__version__}"


def report(bench: Bench, args: argparse.Namespace, started: datetime, wall: float) -> str:
	results = bench.results
	plain = next((r for r in results if r.path == "b"), None)
	names = {
		"a": "(a) app: Fetch Check-in, `bench worker`",
		"b": "(b) plain `doc.insert` loop",
		"c": "(c) seed: per-event lookup + `exists` + `add_log_based_on_employee_field`",
		"d": "(d) app, Bulk insert ticked: Fetch Check-in, `bench worker`",
	}
	mariadb = frappe.db.sql("select version()")[0][0]
	lines = [
		f"Run {started:%Y-%m-%d %H:%M} UTC on site `{args.site}`; whole run {wall:.0f} s.",
		"",
		"| Machine |  |",
		"|---|---|",
		f"| CPU | {cpu_model()} |",
		f"| Cores | {os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable (shared with MariaDB, Redis, the workers and the simulators) |",
		f"| Load average at the end | {' '.join(f'{x:.2f}' for x in os.getloadavg())} |",
		f"| Versions | {versions()}, MariaDB {mariadb}, Python {platform.python_version()} |",
		f"| attendance_sync | {app_commit(args)} |",
		f"| Fetch Check-in | {len(bench.terminals)} devices, {args.stagger:g} s apart |",
		f"| Data | {args.employees} employees (Default Shift on all, a Shift Assignment on every other one), "
		f"{len(bench.punches())} punches over {(bench.window[1] - bench.window[0]).days} days, "
		f"{len(bench.terminals)} terminals with disjoint employees |",
		"",
		"| Path | Workers | Punches | Check-ins created | Seconds | Check-ins/s | × (b) |",
		"|---|---|---|---|---|---|---|",
	]
	for r in results:
		ratio = f"{r.rate / plain.rate:.2f}" if plain and plain.rate and r.rate else "—"
		rate = f"{r.rate:.1f}" if not r.failure else "— (failed, see below)"
		lines.append(
			f"| {names[r.path]} | {r.workers if r.workers is not None else '— (this process)'} | {r.punches} | "
			f"{r.created} | {r.seconds:.1f} | {rate} | {ratio} |"
		)
	notes = [f"- ({r.path}) {r.workers} worker(s): {r.notes}" for r in results if r.notes]
	notes += [f"- ({r.path}) {r.workers} worker(s) FAILED: {r.failure}" for r in results if r.failure]
	if notes:
		lines += ["", *notes]
	return "\n".join(lines)


def parse_list(text: str, cast: type = str) -> list:
	return [cast(x.strip()) for x in text.split(",") if x.strip()]


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument(
		"--bench", help="the bench directory (informational; the script runs from its sites/)"
	)
	parser.add_argument("--punches", type=int, default=20_000)
	parser.add_argument("--employees", type=int, default=150)
	parser.add_argument("--terminals", type=int, default=4)
	parser.add_argument("--days", type=int, default=0, help="days of history (default: as the punches need)")
	parser.add_argument("--paths", type=lambda s: parse_list(s), default=["a", "b", "c", "d"])
	parser.add_argument("--workers", type=lambda s: parse_list(s, int), default=[1, 2])
	parser.add_argument(
		"--stagger",
		type=float,
		default=0,
		help="(a): seconds between two devices' Fetch Check-in (default 0: all at once, as the daily event does)",
	)
	parser.add_argument("--commit-every", type=int, default=500, help="(b): commit every N inserts")
	parser.add_argument("--timeout", type=float, default=1800, help="(a): seconds before giving up")
	parser.add_argument("--seed", type=int, default=20261201)
	parser.add_argument("--commit", help="the app's git commit to report (default: from the app's folder)")
	args = parser.parse_args()
	unknown = set(args.paths) - {"a", "b", "c", "d"}
	if unknown:
		parser.error(f"unknown paths: {', '.join(sorted(unknown))} (a, b, c, d)")
	if args.employees < args.terminals:
		parser.error("at least one employee per terminal")

	started_at = datetime.now(timezone.utc)
	started = time.monotonic()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	status = 0
	with tempfile.TemporaryDirectory(prefix="attendance-sync-bench-frappe-") as tmp:
		bench = Bench(args, Path(tmp))
		try:
			bench.run()
			print(report(bench, args, started_at, time.monotonic() - started), flush=True)
		except Exception:
			import traceback

			traceback.print_exc()
			status = 1
			for worker_log in sorted(bench.logdir.glob("bench-frappe-worker-*.log")):
				print(f"--- {worker_log.name} (last lines)", file=sys.stderr)
				print("".join(worker_log.read_text().splitlines(keepends=True)[-30:]), file=sys.stderr)
		finally:
			bench.close()
			frappe.destroy()
	return status


if __name__ == "__main__":
	sys.exit(main())
