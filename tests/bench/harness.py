"""What the bench scripts share (e2e.py, push_fleet.py, benches/frappe_checkins.py): their ok/FAIL report,
Frappe processes (a web server, RQ workers) started as the bench starts them and stopped with everything they
started, and waiting until the queues are idle. Run with the bench's Python from `sites/`, like the scripts.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import psutil


class Checks:
	"""One line per check ("ok   what" or "FAIL what: detail"), and the counts."""

	def __init__(self) -> None:
		self.passed = 0
		self.failed = 0

	def check(self, what: str, ok: bool, detail: object = "") -> bool:
		if ok:
			self.passed += 1
			print(f"ok   {what}", flush=True)
		else:
			self.failed += 1
			print(f"FAIL {what}: {detail}", flush=True)
		return ok

	def step(self, what: str) -> None:
		print(f"\n-- {what}", flush=True)


def start_frappe(site: str, log: Path, *command: str) -> subprocess.Popen:
	"""`bench --site SITE COMMAND...` as bench runs it, in a session of its own, its output in `log`."""
	with open(log, "w") as out:
		return subprocess.Popen(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", site, *command],
			stdout=out,
			stderr=subprocess.STDOUT,
			start_new_session=True,
		)


def signal_tree(process: subprocess.Popen, sig: int) -> None:
	"""Signal a process and all it started (rq puts each work horse in a session of its own)."""
	if process.poll() is not None:
		return
	try:
		tree = [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]
	except psutil.NoSuchProcess:
		return
	for member in tree:
		try:
			member.send_signal(sig)
		except psutil.NoSuchProcess:
			pass


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
	"""Signal the process tree and wait for the process; SIGKILL for a tree that outlives `timeout`."""
	signal_tree(process, sig)
	try:
		process.wait(timeout=timeout)
	except subprocess.TimeoutExpired:
		signal_tree(process, signal.SIGKILL)
		process.wait()


def busy(queues: Iterable[str]) -> bool:
	"""Whether a job waits in one of the queues or a worker is running one."""
	from frappe.utils.background_jobs import get_queue, get_redis_conn
	from rq import Worker

	if any(len(get_queue(q)) for q in queues):
		return True
	return any(w.get_state() == "busy" for w in Worker.all(connection=get_redis_conn()))


def wait_idle(queues: Iterable[str], timeout: float = 900, quiet_rounds: int = 3) -> None:
	"""Until the queues are empty and no worker is busy, `quiet_rounds` times in a row (half a second apart)."""
	import frappe

	queues = list(queues)
	deadline = time.monotonic() + timeout
	quiet = 0
	while time.monotonic() < deadline:
		quiet = 0 if busy(queues) else quiet + 1
		if quiet >= quiet_rounds:
			frappe.db.rollback()
			return
		time.sleep(0.5)
	raise TimeoutError("jobs still running after the timeout")


def make_employee(first_name: str, **fields: object) -> object:
	"""An Employee of the site's default company (the wizard's), inserted; `fields` add to or override it."""
	import frappe

	return frappe.get_doc(
		{
			"doctype": "Employee",
			"first_name": first_name,
			"gender": frappe.get_all("Gender", pluck="name", limit=1)[0],
			"date_of_birth": "1990-01-01",
			"date_of_joining": "2020-01-01",
			"company": frappe.defaults.get_global_default("company"),
			**fields,
		}
	).insert(ignore_permissions=True)


def run_script(name: str, checks: Checks, workdir: Path, run, close, logs: str = "*.log") -> int:
	"""Run a bench script's checks: an exception is one failure, reported with the last lines of the logs of the
	processes it started (`logs`, a glob in `workdir`); `close` always runs; the counts are printed last.
	Returns the exit status."""
	import traceback

	import frappe

	try:
		run()
	except Exception:
		traceback.print_exc()
		checks.failed += 1
		for log in sorted(workdir.glob(logs)):
			print(f"--- {log.name} (last lines)")
			print("".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:]))
	finally:
		close()
		frappe.destroy()
	print(f"\n{name}: {checks.passed} passed, {checks.failed} failed")
	return 1 if checks.failed else 0
