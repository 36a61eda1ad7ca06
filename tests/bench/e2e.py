"""The end-to-end scenario on a real bench: a simulated fleet, real RQ workers, the real scheduler entry points.

Run by `tests/bench/bench.sh test` with the bench's Python from `sites/`:
    env/bin/python apps/attendance_sync/tests/bench/e2e.py --site SITE

The terminals serve event files written here, so the expected check-ins are known before anything runs (the
ground truth does not come from the client under test). Every step drives production code only: the scheduler's
Scheduled Job Types enqueue `scheduled_tick` / `scheduled_daily`, `bench worker` processes run the jobs, the
Employee hook reprocesses unmapped punches. Prints one line per check and "N passed, N failed" at the end.
"""

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import add_days, get_system_timezone, now_datetime
from harness import Checks, make_employee, run_script, start_frappe, stop, wait_idle

from attendance_sync.attendance_sync import common
from attendance_sync.simulator import SimDevice, Simulator

PASSWORD = "E2e-Terminal-Pass"
WRONG_PASSWORD = "not-the-password"
TICK = "attendance_sync.attendance_sync.jobs.scheduled_tick"
DAILY = "attendance_sync.attendance_sync.jobs.scheduled_daily"
QUEUES = ("long", "default", "short")
# An RQ job whose worker died stays "started" until its heartbeat lapses (rq: monitoring interval + 60 s).
RQ_HEARTBEAT_LAPSE = 95

PREFIX = "E2E"
MAPPED = [f"7{n:03d}" for n in range(1, 13)]  # Active employees
LEFT = "7013"  # an employee who has Left: HRMS still accepts their check-ins
INACTIVE = "7014"  # an Inactive employee: HRMS refuses check-ins
UNMAPPED = ["7901", "7902", "7903"]  # enrolled on terminals, no Employee yet


@dataclass(frozen=True)
class Punch:
	user: str
	instant: datetime  # aware
	log_type: str | None


@dataclass
class Terminal:
	key: str
	offset: str  # the terminal's UTC offset
	https: bool = False
	password: str = PASSWORD
	direction: str = "From device"
	frequency: str = "Every 15 Minutes"
	users: list[str] = field(default_factory=list)
	days: int = 2
	punches: list[Punch] = field(default_factory=list)
	sim: Simulator | None = None
	device: SimDevice | None = None
	doc: str | None = None


def tz_offset(text: str) -> timezone:
	sign = -1 if text.startswith("-") else 1
	hours, minutes = text.lstrip("+-").split(":")
	return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def write_events(
	terminal: Terminal, now: datetime, rng: random.Random, path: Path, shared: list[Punch]
) -> None:
	"""A terminal's event log: two punches a day per user, door events, and the `shared` punches as well."""
	tz = tz_offset(terminal.offset)
	lines = []
	local_now = now.astimezone(tz)
	for day in range(terminal.days, -1, -1):
		date = (local_now - timedelta(days=day)).date()
		for user in terminal.users:
			for hour, status in ((9, "checkIn"), (17, "checkOut")):
				at = datetime(date.year, date.month, date.day, hour, 0, tzinfo=tz) + timedelta(
					minutes=rng.randint(-50, 50), seconds=rng.randint(0, 59)
				)
				if at >= now - timedelta(minutes=20):
					continue
				terminal.punches.append(Punch(user, at, log_type(terminal, status)))
		door = datetime(date.year, date.month, date.day, 12, 0, tzinfo=tz)
		if door < now - timedelta(minutes=20):
			lines.append({"major": 5, "minor": 21, "time": door.isoformat()})  # door open: not a punch
	terminal.punches.extend(shared)
	minors = (75, 38, 1)  # face, fingerprint, card: all punches
	for i, p in enumerate(sorted(terminal.punches, key=lambda p: p.instant)):
		event = {
			"major": 5,
			"minor": minors[i % 3],
			"time": p.instant.astimezone(tz).isoformat(),
			"employeeNoString": p.user,
			"name": f"User {p.user}",
		}
		if terminal.direction == "From device" and p.log_type:
			event["attendanceStatus"] = "checkIn" if p.log_type == "IN" else "checkOut"
		lines.append(event)
	path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def log_type(terminal: Terminal, status: str) -> str | None:
	if terminal.direction in ("IN", "OUT"):
		return terminal.direction
	if terminal.direction == "None":
		return None
	return "IN" if status == "checkIn" else "OUT"


class Scenario(Checks):
	def __init__(self, site: str, workdir: Path) -> None:
		super().__init__()
		self.site = site
		self.workdir = workdir
		self.workers: list[subprocess.Popen] = []
		self.terminals: dict[str, Terminal] = {}
		self.employees: dict[str, str] = {}
		self.shift_types: dict[str, str] = {}
		self.rng = random.Random(20261201)

	# --- workers and the scheduler --------------------------------------------------------------------------

	def start_worker(self) -> subprocess.Popen:
		log = self.workdir / f"worker-{len(self.workers)}.log"
		worker = start_frappe(self.site, log, "worker", "--queue", ",".join(QUEUES))
		self.workers.append(worker)
		return worker

	def stop_workers(self) -> None:
		for worker in self.workers:
			stop(worker)

	def trigger(self, method: str) -> None:
		"""What the scheduler does when the event is due: the Scheduled Job Type enqueues the hook."""
		frappe.db.rollback()
		job_type = frappe.get_doc("Scheduled Job Type", {"method": method})
		if not job_type.enqueue(force=True):
			raise RuntimeError(f"the scheduler could not enqueue {method}")
		frappe.db.commit()

	def wait_idle(self, timeout: float = 900) -> None:
		wait_idle(QUEUES, timeout)

	# --- fixtures ---------------------------------------------------------------------------------------

	def setup(self) -> None:
		self.step("setup: terminals, employees, shifts, devices")
		frappe.db.set_single_value("HR Settings", "allow_geolocation_tracking", 0)
		now = datetime.now(timezone.utc)
		gate = Terminal("Gate", "+06:00", https=True, users=[*MAPPED[:8], LEFT, INACTIVE, *UNMAPPED[:2]])
		nepal = Terminal(
			"Kathmandu", "+05:45", direction="IN", frequency="Daily", users=[*MAPPED[4:], UNMAPPED[2]]
		)
		wrong = Terminal("Wrong Password", "+06:00", password=WRONG_PASSWORD, users=MAPPED[:3])
		# One person at both doors in the same second: one check-in.
		both = now.replace(microsecond=0) - timedelta(hours=3)
		shared = {"Gate": [Punch(MAPPED[5], both, "IN")], "Kathmandu": [Punch(MAPPED[5], both, "IN")]}
		for terminal in (gate, nepal, wrong):
			self.start_terminal(terminal, now, shared.get(terminal.key, []))

		company = frappe.defaults.get_global_default("company")
		for user in [*MAPPED, LEFT, INACTIVE]:
			status = "Left" if user == LEFT else "Inactive" if user == INACTIVE else "Active"
			doc = make_employee(
				f"{PREFIX} {user}",
				status=status,
				relieving_date=frappe.utils.today() if status == "Left" else None,
				attendance_device_id=user,
			)
			self.employees[user] = doc.name

		for shift, start, end, users in (
			("Day", "09:00:00", "17:00:00", MAPPED[:6]),
			("Late", "10:00:00", "18:00:00", MAPPED[6:]),
		):
			name = f"{PREFIX} {shift}"
			if not frappe.db.exists("Shift Type", name):
				frappe.get_doc(
					{"doctype": "Shift Type", "name": name, "start_time": start, "end_time": end}
				).insert(ignore_permissions=True)
			self.shift_types[shift] = name
			for user in users:
				frappe.get_doc(
					{
						"doctype": "Shift Assignment",
						"employee": self.employees[user],
						"shift_type": name,
						"company": company,
						"start_date": add_days(frappe.utils.today(), -60),
						"status": "Active",
					}
				).submit()
		feeds = {"Gate": ["Day"], "Kathmandu": ["Day", "Late"], "Wrong Password": ["Day"]}
		for terminal in (gate, nepal, wrong):
			terminal.doc = self.make_device(terminal, feeds[terminal.key])
		frappe.db.commit()
		self.check(
			"three terminals up (one HTTPS, one at +05:45, one with a wrong password)",
			gate.device.https and not nepal.device.https and len(self.terminals) == 3,
		)

	def start_terminal(self, terminal: Terminal, now: datetime, shared: list[Punch]) -> None:
		path = self.workdir / f"{terminal.key.replace(' ', '-').lower()}.jsonl"
		write_events(terminal, now, self.rng, path, shared)
		args = [
			"--user",
			"admin",
			"--password",
			PASSWORD,
			"--utc-offset",
			terminal.offset,
			"--events-file",
			str(path),
		]
		if terminal.https:
			args.append("--https")
		terminal.sim = Simulator(devices=1, args=args)
		terminal.device = terminal.sim.start()[0]
		self.terminals[terminal.key] = terminal

	def make_device(self, terminal: Terminal, feeds: list[str], name: str | None = None) -> str:
		doc = frappe.get_doc(
			{
				"doctype": common.DEVICE,
				"device_name": name or f"{PREFIX} {terminal.key}",
				"device_ip": terminal.device.host,
				"port": terminal.device.port,
				"use_https": int(terminal.device.https),
				"verify_tls": 0,
				"device_user": "admin",
				"device_user_password": terminal.password,
				"punch_direction": terminal.direction,
				"sync_frequency": terminal.frequency,
				"sync_start": now_datetime() - timedelta(days=terminal.days + 2),
				"shift_types": [{"shift_type": self.shift_types[s]} for s in feeds],
			}
		).insert(ignore_permissions=True)
		return doc.name

	# --- expectations -----------------------------------------------------------------------------------

	def expected_checkins(self, keys: list[str], users: list[str]) -> Counter:
		"""(employee, site time, log type) of every punch of `users` on the terminals `keys`, once per second."""
		site_tz = ZoneInfo(get_system_timezone())
		seen: dict[tuple[str, datetime], str | None] = {}
		for key in keys:
			for p in self.terminals[key].punches:
				if p.user in users:
					at = p.instant.astimezone(site_tz).replace(tzinfo=None)
					seen.setdefault((self.employees[p.user], at), p.log_type)
		return Counter((emp, at, lt) for (emp, at), lt in seen.items())

	def actual_checkins(self, users: list[str]) -> Counter:
		frappe.db.rollback()
		rows = frappe.get_all(
			"Employee Checkin",
			filters={"employee": ["in", [self.employees[u] for u in users]]},
			fields=["employee", "time", "log_type"],
		)
		return Counter((r.employee, r.time, r.log_type or None) for r in rows)

	def check_checkins(self, what: str, keys: list[str], users: list[str]) -> None:
		expected, actual = self.expected_checkins(keys, users), self.actual_checkins(users)
		duplicates = [k for k, n in actual.items() if n > 1]
		self.check(
			f"{what}: {sum(expected.values())} check-ins, each once, at the right site time and log type",
			actual == expected and not duplicates,
			f"missing {list((expected - actual).items())[:5]}, unexpected {list((actual - expected).items())[:5]}",
		)

	def punch_statuses(self, device: str) -> Counter:
		frappe.db.rollback()
		return Counter(frappe.get_all(common.PUNCH, filters={"device": device}, pluck="status"))

	# --- the scenario -----------------------------------------------------------------------------------

	def run(self) -> None:
		self.setup()
		gate, nepal, wrong = (self.terminals[k] for k in ("Gate", "Kathmandu", "Wrong Password"))
		checked_in_users = [*MAPPED, LEFT]

		self.step("the 15-minute tick and the daily event, through a real worker")
		worker = self.start_worker()
		self.trigger(TICK)
		self.wait_idle()
		self.trigger(DAILY)
		self.wait_idle()
		self.check_checkins("first sync", ["Gate", "Kathmandu"], checked_in_users)
		statuses = self.punch_statuses(gate.doc)
		gate_unmapped = sum(1 for p in gate.punches if p.user in UNMAPPED)
		self.check(
			"unmapped users' punches are kept as Unmapped Device Punches",
			statuses["Unmapped"] == gate_unmapped and gate_unmapped > 0,
			statuses,
		)
		inactive = sum(1 for p in gate.punches if p.user == INACTIVE)
		self.check(
			"an Inactive employee's punches are kept, not checked in",
			statuses["Inactive Employee"] == inactive
			and inactive > 0
			and not frappe.db.exists("Employee Checkin", {"employee": self.employees[INACTIVE]}),
			statuses,
		)
		blocked = frappe.db.get_value(
			common.DEVICE, wrong.doc, ["auth_blocked", "last_sync_status"], as_dict=True
		)
		self.check(
			"the wrong-password terminal is Login Rejected after exactly one rejected request",
			blocked.auth_blocked == 1
			and blocked.last_sync_status == "Failed"
			and wrong.device.stats()["failed_logins"] == 1,
			(blocked, wrong.device.stats()),
		)
		self.check_shift_cursors()

		self.step("a second run creates nothing and never retries the rejected login")
		counts = (frappe.db.count("Employee Checkin"), frappe.db.count(common.PUNCH))
		self.trigger(DAILY)
		self.wait_idle()
		self.trigger(TICK)
		self.wait_idle()
		self.check(
			"no new check-in or punch on a second run",
			(frappe.db.count("Employee Checkin"), frappe.db.count(common.PUNCH)) == counts,
			counts,
		)
		self.check(
			"the rejected terminal saw no further login",
			wrong.device.stats()["failed_logins"] == 1,
			wrong.device.stats(),
		)

		self.step("an unmapped user gets an Employee: their punches become check-ins")
		user = UNMAPPED[0]
		employee = make_employee(f"{PREFIX} {user}")
		frappe.db.commit()
		employee.attendance_device_id = user
		employee.save(ignore_permissions=True)
		frappe.db.commit()
		self.employees[user] = employee.name
		self.wait_idle()
		self.check_checkins("after mapping", ["Gate", "Kathmandu"], [*checked_in_users, user])
		stop(worker)

		self.step("two workers, two device configurations per terminal, one sync of everything")
		self.reset_fleet()
		twins = [
			self.make_device(gate, ["Day"], name=f"{PREFIX} Gate twin"),
			self.make_device(nepal, ["Day", "Late"], name=f"{PREFIX} Kathmandu twin"),
		]
		frappe.db.commit()
		workers = [self.start_worker(), self.start_worker()]
		self.trigger(DAILY)
		self.wait_idle()
		self.check_checkins("two workers", ["Gate", "Kathmandu"], [*checked_in_users, user])
		twin_statuses = sum((self.punch_statuses(t) for t in twins), Counter())
		self.check(
			"the twin configurations found their punches already checked in (Duplicate), none lost",
			twin_statuses["Duplicate"] > 0 and twin_statuses["Pending"] == 0 and twin_statuses["Failed"] == 0,
			twin_statuses,
		)
		for w in workers:
			stop(w)

		self.step("a worker killed (SIGKILL) in the middle of check-ins, then restarted")
		self.killed_worker_run()

	def check_shift_cursors(self) -> None:
		frappe.db.rollback()
		feeders: dict[str, list[str]] = {}
		for row in frappe.get_all("Device Shift Type", fields=["parent", "shift_type"]):
			if frappe.db.get_value(common.DEVICE, row.parent, "enabled"):
				feeders.setdefault(row.shift_type, []).append(row.parent)
		for shift in self.shift_types.values():
			synced = [frappe.db.get_value(common.DEVICE, d, "synced_up_to") for d in feeders.get(shift, [])]
			cursor = frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin")
			# A device that never synced (Login Rejected) holds the cursor where it was: not set.
			expected = None if None in synced else min(synced)
			self.check(
				f"{shift}: last_sync_of_checkin is the minimum of its devices' Synced Up To",
				cursor == expected,
				(cursor, synced),
			)

	def reset_fleet(self) -> None:
		"""Back to nothing synced: check-ins, punches and cursors of the E2E devices go."""
		frappe.db.rollback()
		devices = frappe.get_all(
			common.DEVICE, filters={"device_name": ["like", f"{PREFIX} %"]}, pluck="name"
		)
		frappe.db.delete("Employee Checkin", {"employee": ["in", list(self.employees.values())]})
		frappe.db.delete(common.PUNCH, {"device": ["in", devices]})
		for device in devices:
			frappe.db.set_value(
				common.DEVICE, device, {"synced_up_to": None, "last_serial_no": 0, "last_sync_at": None}
			)
		frappe.db.commit()

	def killed_worker_run(self) -> None:
		now = datetime.now(timezone.utc)
		big = Terminal("Backfill", "+06:00", users=MAPPED, days=75)
		self.start_terminal(big, now, [])
		big.doc = self.make_device(big, [])
		frappe.db.commit()
		expected = self.expected_checkins(["Backfill"], MAPPED)
		total = sum(expected.values())

		def count() -> int:
			frappe.db.rollback()
			return frappe.db.count("Employee Checkin", {"device_id": big.doc})

		worker = self.start_worker()
		self.trigger(TICK)
		deadline = time.monotonic() + 600
		while count() == 0 and time.monotonic() < deadline:
			time.sleep(0.05)
		stop(worker, signal.SIGKILL)
		time.sleep(2)  # a horse that survived would go on committing
		done = count()
		self.check(
			f"the worker was killed part-way ({done} of {total} check-ins committed)", 0 < done < total, done
		)
		frappe.db.rollback()
		self.check(
			"the killed run left the device's cursor where it was",
			frappe.db.get_value(common.DEVICE, big.doc, "synced_up_to") is None,
		)
		# The dead job's RQ record lapses with its heartbeat; until then the device counts as queued. The killed
		# run had stamped Last Sync At, so the next 15-minute tick finds the device not due yet: the daily event,
		# which takes every enabled device, is the next run here.
		time.sleep(RQ_HEARTBEAT_LAPSE)
		worker = self.start_worker()
		self.trigger(DAILY)
		self.wait_idle()
		actual = Counter(
			(r.employee, r.time, r.log_type or None)
			for r in frappe.get_all(
				"Employee Checkin", filters={"device_id": big.doc}, fields=["employee", "time", "log_type"]
			)
		)
		self.check(
			f"after the restart: exactly the missing {total - done} check-ins, none twice",
			actual == expected,
			f"missing {sum((expected - actual).values())}, extra {sum((actual - expected).values())}",
		)
		log = frappe.get_all(
			common.LOG,
			filters={"device": big.doc},
			fields=["status", "error"],
			order_by="creation asc",
			limit=1,
		)
		self.check(
			"the killed run's log says it was interrupted",
			bool(log) and log[0].status == "Failed" and "Interrupted" in (log[0].error or ""),
			log,
		)
		stop(worker)

	def close(self) -> None:
		self.stop_workers()
		for terminal in self.terminals.values():
			if terminal.sim:
				terminal.sim.stop()


def demo(scenario: Scenario) -> int:
	"""The scenario's fleet for a person to look at: the site's own scheduler and worker do the rest."""
	try:
		scenario.setup()
		scenario.trigger(TICK)
		scenario.trigger(DAILY)
		print("\nterminals:", flush=True)
		for terminal in scenario.terminals.values():
			print(f"  {terminal.doc}: {terminal.device.url} (UTC{terminal.offset})", flush=True)
		signal.pause()
	except KeyboardInterrupt:
		pass
	finally:
		scenario.close()
		frappe.destroy()
	return 0


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument(
		"--demo",
		action="store_true",
		help="set up the fleet, employees and devices, sync once, then keep the terminals up until Ctrl-C",
	)
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	with tempfile.TemporaryDirectory(prefix="attendance-sync-e2e-") as tmp:
		scenario = Scenario(args.site, Path(tmp))
		if args.demo:
			return demo(scenario)
		return run_script("e2e", scenario, Path(tmp), scenario.run, scenario.close, logs="worker-*.log")


if __name__ == "__main__":
	sys.exit(main())
