"""Push fleet on a real bench: simulated terminals push their punches to the site over HTTP, some pushes are lost.

Run with the bench's Python from `sites/` (the app installed on SITE, MariaDB and Redis up; nothing else):
    env/bin/python apps/attendance_sync/tests/bench/push_fleet.py --site SITE [--devices 50] [--drop-share 0.1]

It starts its own web server (`frappe serve`, what `bench serve` runs), one `short` and one `long` queue worker,
and one simulator with the terminals. Each terminal is a Device Configuration in "Push with pull reconciliation"
whose token comes from Enable Push; the terminal is set to push there (HTTP listening), with the JSON part named
`event_log`, `AccessControllerEvent` or sent bare, in turn, and loses `--drop-share` of its pushes (seeded). The
script records punches on the terminals at `--rate` per second (each a different person and second, so every
punch is one check-in), waits for the pushes and their jobs, then runs the reconciling search of every device
(the daily scheduler event) and checks that every punch recorded is exactly one Employee Checkin. Latency is from
the moment a punch is recorded on the terminal to the creation of its Employee Checkin, over the punches whose
push was not lost.

Then the relay (`--relay-devices`, 0 to skip): terminals that do not push (no HTTP listening) and that the site
never pulls (Sync Mode Push), each with a token from Enable Push, served by `attendance-sync relay` with a
relay.toml pointing at the same web server. Punches are recorded on them while the relay runs; the relay is
killed (SIGKILL) in the middle and started again on the same queue. Every punch must end as exactly one Employee
Checkin.

Prints one line per check and a Markdown table for benches/RESULTS.md; exits 1 if a check fails.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import get_system_timezone, now_datetime
from harness import Checks, make_employee, run_script, start_frappe, stop, wait_idle

from attendance_sync import _core
from attendance_sync.attendance_sync import common, jobs
from attendance_sync.attendance_sync.doctype.device_configuration import push_setup
from attendance_sync.logic import punches as P
from attendance_sync.logic import push as L
from attendance_sync.simulator import Simulator, find_binary

PASSWORD = "Push-Fleet-Pass-1"
PREFIX = "PF"
FORMATS = ("event_log", "access_controller_event", "json")
QUEUES = ("short", "long")
GOAL_P99 = 5.0


def free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
	"""Nearest-rank percentile."""
	ordered = sorted(values)
	rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
	return ordered[rank - 1]


class Fleet(Checks):
	def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
		super().__init__()
		self.args = args
		self.workdir = workdir
		self.processes: list[subprocess.Popen] = []
		self.sim: Simulator | None = None
		self.devices: list[tuple[object, str]] = []  # (SimDevice, Device Configuration)
		self.relay_sim: Simulator | None = None
		self.relay_devices: list[tuple[object, str]] = []
		self.relay_recorded: dict[tuple[str, int], float] = {}
		self.relay: subprocess.Popen | None = None
		self.relay_figures: dict[str, object] = {}
		self.recorded: dict[tuple[str, int], float] = {}  # (device, serial) -> epoch seconds when recorded
		self.employees: dict[str, str] = {}
		self.port = args.port or free_port()

	# --- processes -------------------------------------------------------------------------------------

	def start(self, name: str, *command: str) -> None:
		self.processes.append(start_frappe(self.args.site, self.workdir / f"{name}.log", *command))

	def start_services(self) -> None:
		self.start("web", "serve", "--port", str(self.port), "--noreload")
		for queue in QUEUES:
			self.start(f"worker-{queue}", "worker", "--queue", queue)
		deadline = time.monotonic() + 120
		while time.monotonic() < deadline:
			try:
				with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/method/ping", timeout=5) as r:
					if r.status == 200:
						return
			except OSError:
				time.sleep(0.5)
		raise RuntimeError("the web server did not answer")

	def stop_services(self) -> None:
		for process in self.processes:
			stop(process, timeout=30)

	def wait_idle(self, timeout: float = 900) -> None:
		wait_idle(QUEUES, timeout, quiet_rounds=4)

	# --- fixtures --------------------------------------------------------------------------------------

	def setup(self) -> None:
		self.step(f"setup: {self.args.devices} terminals, their people as Employees, web server and workers")
		frappe.db.set_single_value("HR Settings", "allow_geolocation_tracking", 0)
		self.sim = Simulator(
			devices=self.args.devices,
			args=["--password", PASSWORD, "--days", "1", "--events-per-day", "1", "--employees", "60"],
		)
		self.sim.start()
		first = self.sim.devices[0]
		users = _core.device_users(first.connection(password=PASSWORD))
		for user in sorted({P.normalize_device_user_id(u.employee_no) for u in users} - {None}):
			existing = frappe.db.get_value("Employee", {"attendance_device_id": user})
			self.employees[user] = (
				existing or make_employee(f"{PREFIX} {user}", attendance_device_id=user).name
			)
		frappe.db.commit()
		self.start_services()
		site_url = f"http://127.0.0.1:{self.port}"
		for i, sim_device in enumerate(self.sim.devices):
			device, token = self.push_device(f"{PREFIX} Terminal {i + 1:02d}", sim_device)
			url = L.terminal_target(site_url, token).url
			fmt = FORMATS[i % len(FORMATS)]
			sim_device.set_push(
				url,
				format=fmt,
				picture=fmt != "json",
				heartbeat_secs=30,
				drop_share=self.args.drop_share,
				seed=self.args.seed,
			)
			self.devices.append((sim_device, device))
		modes = Counter(
			frappe.get_all(common.DEVICE, filters={"device_name": ["like", f"{PREFIX} %"]}, pluck="sync_mode")
		)
		self.check(
			f"{len(self.devices)} devices in {L.PUSH_RECONCILE}, each pushing to the site",
			modes == Counter({L.PUSH_RECONCILE: len(self.devices)}),
			modes,
		)

	def push_device(self, name: str, sim_device, mode: str | None = None) -> tuple[str, str]:
		"""A Device Configuration for the simulated terminal, push enabled (the terminal not written): its name
		and token."""
		doc = frappe.get_doc(
			{
				"doctype": common.DEVICE,
				"device_name": name,
				"device_ip": sim_device.host,
				"port": sim_device.port,
				"device_user": "admin",
				"device_user_password": PASSWORD,
				"sync_frequency": "Daily",
				"sync_start": now_datetime() - timedelta(minutes=5),
			}
		).insert(ignore_permissions=True)
		answer = push_setup.enable_push(doc.name, write_to_terminal=0)
		if mode:
			frappe.db.set_value(common.DEVICE, doc.name, "sync_mode", mode)
		frappe.db.commit()
		return doc.name, answer["token"]

	# --- the run ---------------------------------------------------------------------------------------

	def record(self) -> None:
		total, rate = self.args.events, self.args.rate
		self.step(
			f"{total} punches recorded at {rate} per second across the terminals, pushed as they happen"
		)
		people = sorted(self.employees)
		started = time.monotonic()
		for k in range(total):
			due = started + k / rate
			pause = due - time.monotonic()
			if pause > 0:
				time.sleep(pause)
			sim_device, device = self.devices[k % len(self.devices)]
			at = time.time()
			event = sim_device.add_events(1, employee_no=people[k % len(people)])[0]
			self.recorded[(device, int(event["serial_no"]))] = at
		self.wait_pushes()

	def push_stats(self) -> dict[str, dict]:
		return {device: sim_device.push_stats() for sim_device, device in self.devices}

	def wait_pushes(self, timeout: float = 300) -> None:
		per_device = Counter(device for device, _serial in self.recorded)
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			stats = self.push_stats()
			if all(
				s["events_acknowledged"] + s["events_dropped"] + s["events_given_up"] >= per_device[d]
				for d, s in stats.items()
			):
				break
			time.sleep(0.5)
		stats = self.push_stats()
		refused = {
			d: (s["refused"], s["failed"], s["last_status"])
			for d, s in stats.items()
			if s["refused"] or s["failed"]
		}
		self.check("every push the terminals sent was answered 200", not refused, refused)

	def latency(self) -> tuple[list[float], list[float], set[tuple[str, int]]]:
		"""Seconds from recording to the check-in's creation, and to the Device Punch's (the push request's
		commit), for the punches whose push was not lost."""
		frappe.db.rollback()
		stats = self.push_stats()
		dropped = {(d, int(s)) for d, st in stats.items() for s in st["dropped_serials"]}
		site_tz = ZoneInfo(get_system_timezone())
		rows = frappe.db.sql(
			"""select p.device, p.serial_no, p.creation as stored, c.creation from `tabDevice Punch` p
			join `tabEmployee Checkin` c on c.name = p.employee_checkin
			where p.device like %s""",
			(f"{PREFIX} %",),
			as_dict=True,
		)

		def epoch(value) -> float:
			return value.replace(tzinfo=site_tz).timestamp()

		created = {(r.device, int(r.serial_no)): (epoch(r.stored), epoch(r.creation)) for r in rows}
		delivered = [(key, at) for key, at in self.recorded.items() if key not in dropped and key in created]
		values = [created[key][1] - at for key, at in delivered]
		stored = [created[key][0] - at for key, at in delivered]
		return values, stored, dropped

	def run(self) -> None:
		self.setup()
		self.record()
		self.step("pushed punches checked in by the short-queue jobs (gaps queue searches on the long queue)")
		self.wait_idle()
		values, stored, dropped = self.latency()
		delivered = len(self.recorded) - len(dropped)
		self.check(
			f"every delivered push became a check-in before reconciliation ({len(values)} of {delivered})",
			len(values) == delivered,
			delivered - len(values),
		)
		gaps = sum(
			frappe.get_all(common.DEVICE, filters={"device_name": ["like", f"{PREFIX} %"]}, pluck="push_gaps")
		)

		self.step("reconciliation: the search of every device (the daily scheduler event)")
		frappe.db.rollback()
		jobs.scheduled_daily()
		frappe.db.commit()
		self.wait_idle()
		self.verify(dropped)
		if self.args.relay_devices:
			self.relay_phase()
		self.report(values, stored, dropped, gaps)

	def verify(self, dropped: set[tuple[str, int]]) -> None:
		frappe.db.rollback()
		names = [device for _sim, device in self.devices]
		punches = frappe.get_all(
			common.PUNCH,
			filters={"device": ["in", names]},
			fields=["device", "serial_no", "status", "employee_checkin"],
		)
		by_key = {(p.device, int(p.serial_no)): p for p in punches}
		missing = [k for k in self.recorded if k not in by_key]
		self.check(f"every punch recorded is a Device Punch ({len(self.recorded)})", not missing, missing[:5])
		found = [k for k in dropped if k in by_key]
		self.check(
			f"the reconciling search found every lost push ({len(found)} of {len(dropped)})",
			len(found) == len(dropped),
			sorted(dropped - set(found))[:5],
		)
		statuses = Counter(by_key[k].status for k in self.recorded if k in by_key)
		self.check(
			"every recorded punch is Checked In",
			statuses == Counter({P.CHECKED_IN: len(self.recorded)}),
			statuses,
		)
		checkins = frappe.get_all(
			"Employee Checkin", filters={"device_id": ["in", names]}, fields=["name", "employee", "time"]
		)
		keys = Counter((c.employee, c.time) for c in checkins)
		linked = Counter(by_key[k].employee_checkin for k in self.recorded if k in by_key)
		self.check(
			f"exactly one Employee Checkin per punch ({len(checkins)} check-ins, {len(self.recorded)} punches)",
			len(checkins) == len(self.recorded)
			and all(n == 1 for n in keys.values())
			and all(n == 1 for n in linked.values())
			and set(linked) == {c.name for c in checkins},
			(len(checkins), [k for k, n in keys.items() if n > 1][:5]),
		)

	# --- the relay ---------------------------------------------------------------------------------------

	def start_relay(self, config: Path, env: dict[str, str]) -> None:
		log = (self.workdir / "relay.log").open("ab")
		self.relay = subprocess.Popen(
			[find_binary() or "attendance-sync", "relay", "--config", str(config)],
			stdout=log,
			stderr=log,
			env=env,
		)

	def relay_phase(self) -> None:
		a = self.args
		self.step(
			f"relay: {a.relay_devices} terminals the site cannot pull and that do not push, "
			"served by `attendance-sync relay`"
		)
		self.relay_sim = Simulator(
			devices=a.relay_devices,
			args=["--password", PASSWORD, "--events-per-day", "0", "--employees", "60"],
		)
		self.relay_sim.start()
		env = dict(os.environ)
		lines = [
			f'site = "http://127.0.0.1:{self.port}"',
			f'queue = "{self.workdir / "relay.sqlite3"}"',
			"poll_secs = 2",
			"backfill_hours = 1",
			"",
		]
		for i, sim_device in enumerate(self.relay_sim.devices):
			# Sync Mode Push: the site never pulls it (it could not reach it on a real LAN).
			device, token = self.push_device(f"{PREFIX} Relayed {i + 1:02d}", sim_device, L.PUSH)
			env[f"RELAYED{i}_PASSWORD"] = PASSWORD
			env[f"RELAYED{i}_TOKEN"] = token
			lines += [
				"[[device]]",
				f'name = "{device}"',
				f'host = "{sim_device.host}:{sim_device.port}"',
				'user = "admin"',
				f'password_env = "RELAYED{i}_PASSWORD"',
				f'token_env = "RELAYED{i}_TOKEN"',
				"",
			]
			self.relay_devices.append((sim_device, device))
		config = self.workdir / "relay.toml"
		config.write_text("\n".join(lines))
		self.start_relay(config, env)

		people = sorted(self.employees)
		total = a.relay_events
		kill_at, restart_at = total // 2, total // 2 + total // 4
		down: list[float] = []  # when it was killed, when it started again
		for k in range(total):
			if k == kill_at:
				# Killed as a power cut would: no shutdown, the queue as the last commit left it.
				self.relay.send_signal(signal.SIGKILL)
				self.relay.wait(timeout=30)
				down.append(time.time())
			if k == restart_at:
				down.append(time.time())
				self.start_relay(config, env)
			sim_device, device = self.relay_devices[k % len(self.relay_devices)]
			at = time.time()
			event = sim_device.add_events(1, employee_no=people[k % len(people)])[0]
			self.relay_recorded[(device, int(event["serial_no"]))] = at
			time.sleep(1 / a.rate)

		names = [device for _sim, device in self.relay_devices]
		deadline = time.monotonic() + 300
		while time.monotonic() < deadline:
			frappe.db.rollback()
			if frappe.db.count("Employee Checkin", {"device_id": ["in", names]}) >= total:
				break
			time.sleep(1)
		self.wait_idle()
		frappe.db.rollback()
		punches = frappe.get_all(
			common.PUNCH,
			filters={"device": ["in", names]},
			fields=["device", "serial_no", "status", "employee_checkin", "creation"],
		)
		by_key = {(p.device, int(p.serial_no)): p for p in punches}
		missing = sorted(set(self.relay_recorded) - set(by_key))
		self.check(
			f"the relay delivered every punch, across a SIGKILL and a restart ({len(by_key)} of {total})",
			not missing and len(by_key) == total,
			missing[:5],
		)
		checkins = frappe.get_all(
			"Employee Checkin", filters={"device_id": ["in", names]}, fields=["name", "employee", "time"]
		)
		linked = Counter(p.employee_checkin for p in punches)
		self.check(
			f"exactly one Employee Checkin per relayed punch ({len(checkins)} check-ins)",
			len(checkins) == total
			and set(linked) == {c.name for c in checkins}
			and all(n == 1 for n in linked.values()),
			(len(checkins), Counter(p.status for p in punches)),
		)
		site_tz = ZoneInfo(get_system_timezone())
		rows = frappe.db.sql(
			"""select p.device, p.serial_no, c.creation from `tabDevice Punch` p
			join `tabEmployee Checkin` c on c.name = p.employee_checkin where p.device in %s""",
			(names,),
			as_dict=True,
		)
		created = {(r.device, int(r.serial_no)): r.creation.replace(tzinfo=site_tz).timestamp() for r in rows}
		# Latency while the relay ran: not the punches recorded while it was down.
		live = [
			created[key] - at
			for key, at in self.relay_recorded.items()
			if key in created and not down[0] <= at < down[1]
		]
		self.relay_figures = {
			"devices": len(self.relay_devices),
			"events": total,
			"p50": percentile(live, 0.5) if live else None,
			"p99": percentile(live, 0.99) if live else None,
		}

	def report(
		self, values: list[float], stored: list[float], dropped: set[tuple[str, int]], gaps: int
	) -> None:
		if not values:
			self.check("latency measured", False, "no delivered punch was checked in")
			return
		p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
		verdict = "**met**" if p99 <= GOAL_P99 else "**not met**"
		self.check(f"punch-to-check-in p99 {p99:.2f} s (goal <= {GOAL_P99:g} s)", True)
		a = self.args
		print(
			f"""
## Push fleet: {len(self.devices)} terminals pushing to the site, {a.drop_share:.0%} of pushes lost

| Push fleet (tests/bench/push_fleet.py) | |
|---|---|
| Date | {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} |
| Site | `frappe serve` (werkzeug, threaded) + 1 `short` worker + 1 `long` worker, Frappe {frappe.__version__} |
| Terminals | {len(self.devices)} simulated, Push with pull reconciliation; bodies multipart `event_log` / multipart `AccessControllerEvent` / bare JSON in turn |
| Punches recorded | {len(self.recorded)} at {a.rate:g} per second |
| Pushes lost (seeded, seed {a.seed}) | {len(dropped)} ({len(dropped) / len(self.recorded):.1%}); gaps detected by the site: {gaps} |
| Check-ins after reconciliation | {len(self.recorded)}, each exactly once; the lost ones found by the search |
| Punch-to-check-in latency, delivered pushes ({len(values)}) | p50 **{p50:.2f} s**, p99 **{p99:.2f} s**, mean {statistics.fmean(values):.2f} s, max {max(values):.2f} s |
| of which punch to Device Punch (the push request) | p50 {percentile(stored, 0.5):.2f} s, p99 {percentile(stored, 0.99):.2f} s |
| Goal p99 <= {GOAL_P99:g} s | {verdict} |
{self.relay_row()}
Latency: from the simulator's `POST /sim/events` (the punch recorded on the terminal, which pushes it at once) to
the `creation` of its Employee Checkin (the short-queue job's insert), over the punches whose push was not lost.
""",
			flush=True,
		)

	def relay_row(self) -> str:
		f = self.relay_figures
		if not f:
			return ""
		latency = f"p50 {f['p50']:.2f} s, p99 {f['p99']:.2f} s" if f["p50"] is not None else "—"
		return (
			f"| Relay | {f['devices']} terminals pulled by `attendance-sync relay` (poll 2 s), {f['events']} punches, "
			f"the relay SIGKILLed halfway and restarted: every punch exactly one check-in; punch-to-check-in "
			f"while it ran {latency} |\n"
		)

	def close(self) -> None:
		if self.relay and self.relay.poll() is None:
			self.relay.terminate()
			self.relay.wait(timeout=30)
		self.stop_services()
		for sim in (self.sim, self.relay_sim):
			if sim:
				sim.stop()


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--devices", type=int, default=50)
	parser.add_argument("--drop-share", type=float, default=0.1)
	parser.add_argument("--seed", type=int, default=7)
	parser.add_argument("--events", type=int, default=500, help="punches recorded in all")
	parser.add_argument("--rate", type=float, default=5.0, help="punches recorded per second, fleet-wide")
	parser.add_argument("--port", type=int, default=0, help="the web server's port (default: a free one)")
	parser.add_argument(
		"--relay-devices", type=int, default=3, help="terminals served by the relay (0: none)"
	)
	parser.add_argument("--relay-events", type=int, default=60, help="punches recorded on them")
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	with tempfile.TemporaryDirectory(prefix="attendance-sync-push-fleet-") as tmp:
		fleet = Fleet(args, Path(tmp))
		return run_script("push fleet", fleet, Path(tmp), fleet.run, fleet.close)


if __name__ == "__main__":
	sys.exit(main())
