# Copyright (c) 2025, Attendance Sync contributors
# See license.txt
"""The check-in locks: per device user ID and Employee, not per site (issue 13).

Two real `bench worker` processes run two device jobs against two simulated terminals. A test hook in the
check-in step (`checkin_locks.LOCK_BARRIER_CONF`, site config) makes every batch, once it holds its locks, register in
a Redis list and wait until two batches have registered: both batches see two registrations only when each held
its locks while the other held its own. No wall-clock threshold decides anything.
"""

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from frappe.installer import update_site_config
from frappe.utils import get_datetime, now_datetime
from frappe.utils.background_jobs import get_job

from attendance_sync.attendance_sync import checkin_locks, checkins, common, jobs
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.locks import advisory_lock
from attendance_sync.attendance_sync.testing import (
	SIM_PASSWORD,
	SIM_USER,
	AttendanceSyncTestCase,
	punch_row,
)
from attendance_sync.logic import punches as P
from attendance_sync.logic.timezones import site_naive_to_aware
from attendance_sync.simulator import Simulator, find_binary


class TestCheckinLocks(AttendanceSyncTestCase):
	def setUp(self):
		super().setUp()
		self.base = now_datetime().replace(microsecond=0) - timedelta(hours=6)
		self.tmp = Path(tempfile.mkdtemp(prefix="attendance-sync-locks-"))
		self._clear_barrier()
		self.addCleanup(self._clear_barrier)

	# --- fixtures ---------------------------------------------------------------------------------------

	def terminal(self, punches: list[tuple[str, int]]) -> str:
		"""A simulated terminal holding exactly `punches` ((user ID, seconds after base)) and its Device
		Configuration."""
		if find_binary() is None:
			self.skipTest(
				"attendance-sync simulator binary not found (cargo build, or set ATTENDANCE_SYNC_BIN)"
			)
		site_tz = common.site_time_zone()
		lines = []
		for user, seconds in punches:
			at = site_naive_to_aware(self.base + timedelta(seconds=seconds), site_tz)
			lines.append(
				{
					"major": 5,
					"minor": 75,
					"time": at.isoformat(),
					"employeeNoString": user,
					"name": f"User {user}",
					"attendanceStatus": "checkIn",
				}
			)
		path = self.tmp / f"{frappe.generate_hash(length=8)}.jsonl"
		path.write_text("".join(json.dumps(line) + "\n" for line in lines))
		sim = Simulator(
			devices=1,
			args=["--user", SIM_USER, "--password", SIM_PASSWORD, "--events-file", str(path)],
		)
		sim.start()
		self.addCleanup(sim.stop)
		return self.make_device(sim.devices[0])

	def set_barrier(self, parties: int, timeout: float) -> None:
		update_site_config(checkin_locks.LOCK_BARRIER_CONF, {"parties": parties, "timeout": timeout})
		self.addCleanup(self._unset_barrier)

	def _unset_barrier(self) -> None:
		update_site_config(checkin_locks.LOCK_BARRIER_CONF, "None")
		frappe.local.conf.pop(checkin_locks.LOCK_BARRIER_CONF, None)

	def _clear_barrier(self) -> None:
		frappe.cache.delete_value([checkin_locks.LOCK_BARRIER_KEY, f"{checkin_locks.LOCK_BARRIER_KEY}:done"])

	def barrier_records(self) -> list[dict]:
		return [json.loads(r) for r in frappe.cache.lrange(f"{checkin_locks.LOCK_BARRIER_KEY}:done", 0, -1)]

	def sync_on_two_workers(self, devices: list[str]) -> None:
		"""Queue a manual run of each device, then drain the queue with two real `bench worker` processes."""
		start, end = str(self.base - timedelta(hours=1)), str(now_datetime())
		for device in devices:
			frappe.enqueue(
				"attendance_sync.attendance_sync.jobs.sync_device",
				queue="long",
				timeout=common.JOB_TIMEOUT,
				job_id=common.job_id(device),
				deduplicate=True,
				device=device,
				trigger=jobs.MANUAL,
				from_time=start,
				to_time=end,
			)
		frappe.db.commit()
		env = {k: v for k, v in os.environ.items() if k != "CI"}
		command = [
			sys.executable,
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"worker",
			"--queue",
			"long",
			"--burst",
		]
		workers = [
			subprocess.Popen(
				command,
				cwd=os.path.abspath(frappe.local.sites_path),
				env=env,
				stdout=subprocess.PIPE,
				stderr=subprocess.STDOUT,
				text=True,
			)
			for _ in range(2)
		]
		outputs = []
		for worker in workers:
			out, _ = worker.communicate(timeout=300)
			outputs.append(out[-3000:])
			self.assertEqual(worker.returncode, 0, out[-4000:])
		frappe.db.rollback()  # a new transaction sees what the workers committed
		for device in devices:
			status = frappe.get_all(common.LOG, filters={"device": device}, pluck="status")
			job = get_job(common.job_id(device))
			self.assertEqual(
				status,
				["Success"],
				f"{device}: job {job and job.get_status()} {job and job.exc_info}\n"
				+ "\n---\n".join(outputs),
			)

	# --- tests ------------------------------------------------------------------------------------------

	def test_two_workers_on_disjoint_employees_hold_their_locks_at_the_same_time(self):
		a = self.terminal([("LK-A1", 0), ("LK-A2", 60), ("LK-A1", 3600)])
		b = self.terminal([("LK-B1", 0), ("LK-B2", 60), ("LK-B1", 3600)])
		employees = [self.make_employee(u) for u in ("LK-A1", "LK-A2", "LK-B1", "LK-B2")]
		# Under one site-wide lock the first batch would wait here alone until the timeout: met is False.
		self.set_barrier(parties=2, timeout=120)
		self.sync_on_two_workers([a, b])
		records = self.barrier_records()
		self.assertEqual(len(records), 2, records)
		self.assertEqual(len({r["pid"] for r in records}), 2, "the batches ran in two worker processes")
		self.assertTrue(all(r["met"] for r in records), records)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": ["in", employees]}), 6)
		self.assertEqual(self.assert_checkins_exactly_once(a) + self.assert_checkins_exactly_once(b), 6)

	def test_two_workers_one_employee_same_second_make_one_checkin(self):
		# Both terminals report LK-S1 at the same seconds; LK-S2 only on b.
		a = self.terminal([("LK-S1", 0), ("LK-S1", 600)])
		b = self.terminal([("LK-S1", 0), ("LK-S1", 600), ("LK-S2", 0)])
		one, two = self.make_employee("LK-S1"), self.make_employee("LK-S2")
		# The barrier holds a batch inside its locks until the other batch holds its own: with a lock that let
		# both in, both would read "no check-in yet" and insert the same employee-seconds twice.
		# (Longer than a worker takes to start, so the second job is waiting for the lock by then.)
		self.set_barrier(parties=2, timeout=15)
		self.sync_on_two_workers([a, b])
		records = self.barrier_records()
		self.assertEqual(len(records), 2, records)
		# The batches shared LK-S1: the first waited alone (its barrier timed out) and the second came after it.
		self.assertEqual(sorted(r["met"] for r in records), [False, True], records)
		times = frappe.get_all("Employee Checkin", filters={"employee": one}, pluck="time")
		self.assertEqual(
			sorted(get_datetime(t) for t in times), [self.base, self.base + timedelta(seconds=600)]
		)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": two}), 1)
		statuses = frappe.get_all(
			common.PUNCH, filters={"device": ["in", [a, b]], "device_user_id": "LK-S1"}, pluck="status"
		)
		self.assertEqual(sorted(statuses), [P.CHECKED_IN, P.CHECKED_IN, P.DUPLICATE, P.DUPLICATE])

	def test_a_batch_waits_only_for_the_locks_of_its_own_people(self):
		"""Another session holding an Employee's lock, or a device user ID's, holds back the batches with that
		person's punches, on any device (a Reprocess spans devices), and nobody else's."""
		device, other = self.make_device(None), self.make_device(None)
		held_employee = self.make_employee("LK-H1")
		free_employee = self.make_employee("LK-F1")
		device_punch.store_punches([punch_row(device, 1, "LK-H1", self.base)], None)
		device_punch.store_punches([punch_row(other, 1, "LK-F1", self.base)], None)
		device_punch.store_punches([punch_row(other, 2, "LK-U1", self.base)], None)  # mapped to nobody yet
		frappe.db.commit()

		def process(filters):
			return checkins.process_pending(filters, P.SyncCounts(), common.get_settings())

		for lock in (f"checkin:employee:{held_employee}", "checkin:user:LK-H1"):
			with self.secondary_connection(), advisory_lock(lock) as held:
				self.assertTrue(held)
				with self.primary_connection(), patch.object(checkins, "CHECKIN_LOCK_WAIT", 1):
					with self.assertRaises(frappe.ValidationError):
						process({"device": device})
					frappe.db.rollback()
					self.assertEqual(
						frappe.db.get_value(common.PUNCH, {"device": device}, "status"), P.PENDING
					)
					# The other employee's punch goes through meanwhile (checked in while the first lock is held).
					process({"device_user_id": "LK-F1"})
					self.assertEqual(frappe.db.count("Employee Checkin", {"employee": free_employee}), 1)
		self.assertEqual(process({"device": device}).checkins_created, 1)
		# The Unmapped punch's ID has a lock too: held, its batch waits.
		with self.secondary_connection(), advisory_lock("checkin:user:LK-U1") as held:
			self.assertTrue(held)
			with self.primary_connection(), patch.object(checkins, "CHECKIN_LOCK_WAIT", 1):
				with self.assertRaises(frappe.ValidationError):
					process({"device": other})
				frappe.db.rollback()
		self.assertEqual(process({"device": other}).unmapped, 1)
