# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from attendance_sync.attendance_sync import common, jobs
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase
from attendance_sync.logic import punches as P


class TestAttendanceSyncSettings(AttendanceSyncTestCase):
	def test_validation(self):
		settings = frappe.get_single(common.SETTINGS)
		settings.overlap_minutes = -1
		with self.assertRaises(frappe.ValidationError):
			settings.save()
		settings.reload()
		settings.append("punch_codes", {"major": 5, "minor": 75})
		settings.append("punch_codes", {"major": 5, "minor": 75})
		with self.assertRaises(frappe.ValidationError):
			settings.save()

	def test_saved_values_reach_the_job(self):
		settings = frappe.get_single(common.SETTINGS)
		before = (settings.overlap_minutes, [(r.major, r.minor) for r in settings.punch_codes])
		settings.overlap_minutes = 25
		settings.set("punch_codes", [{"major": 5, "minor": 38}])
		settings.save()
		try:
			values = common.get_settings()
			self.assertEqual(values.overlap_minutes, 25)
			self.assertEqual(values.punch_codes, frozenset({(5, 38)}))
		finally:
			settings.overlap_minutes = before[0]
			settings.set("punch_codes", [{"major": m, "minor": n} for m, n in before[1]])
			settings.save()
			frappe.db.commit()

	def test_fetch_concurrency_one_runs_the_whole_fleet_on_a_real_worker(self):
		# With Fetch Concurrency 1 each finishing scheduled job hands its slot to the next due device. It used to
		# count itself as running (RQ reports a job as started until it returns): no slot, and the chain stopped
		# after the first device.
		sims = self.start_simulator(3)
		devices = [self.make_device(sim) for sim in sims]
		self.set_single_value(common.SETTINGS, "fetch_concurrency", 1)
		# The chain enqueues every due device of the site: other devices (a demo fleet on the test site) sit out.
		others = frappe.get_all(
			common.DEVICE, filters={"enabled": 1, "name": ["not in", devices]}, pluck="name"
		)
		if others:
			frappe.db.set_value(common.DEVICE, {"name": ["in", others]}, "enabled", 0, update_modified=False)
			frappe.db.commit()
			self.addCleanup(self.enable, others)
		# What the cron tick enqueues for a limit of 1: the most overdue device, on the real queue.
		first = sorted(devices)[0]
		frappe.enqueue(
			"attendance_sync.attendance_sync.jobs.sync_device",
			queue="long",
			timeout=common.JOB_TIMEOUT,
			job_id=common.job_id(first),
			deduplicate=True,
			device=first,
			trigger=jobs.SCHEDULED,
		)
		self.run_worker("long")
		frappe.db.rollback()  # a new transaction sees what the worker committed
		for device in devices:
			logs = frappe.get_all(common.LOG, filters={"device": device}, fields=["status", "trigger"])
			self.assertEqual(
				[(log.status, log.trigger) for log in logs], [("Success", jobs.SCHEDULED)], device
			)
			self.assertGreater(frappe.db.count(common.PUNCH, {"device": device}), 0, device)
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": ["in", devices], "status": P.PENDING}), 0)

	def enable(self, devices: list[str]) -> None:
		frappe.db.rollback()
		frappe.db.set_value(common.DEVICE, {"name": ["in", devices]}, "enabled", 1, update_modified=False)
		frappe.db.commit()
