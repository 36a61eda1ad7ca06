# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import dataclasses
import threading
import time
from datetime import datetime, timedelta
from unittest.mock import patch

import pymysql
from frappe.utils import add_days, get_datetime, now_datetime

from attendance_sync.attendance_sync import checkins, common, fetching, jobs, maintenance
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row
from attendance_sync.logic import punches as P
from attendance_sync.logic.timezones import REINTERPRET, reinterpret_in_zone, to_site_naive


class WorkerDied(BaseException):
	"""The worker process ends mid-job (killed, out of memory): nothing after this point runs, not even
	`except Exception` handlers."""


class TestDevicePunch(AttendanceSyncTestCase):
	def setUp(self):
		super().setUp()
		self.base = now_datetime().replace(microsecond=0) - timedelta(days=2)

	def process(self, filters, **kwargs) -> P.SyncCounts:
		return checkins.process_pending(filters, P.SyncCounts(), common.get_settings(), **kwargs)

	def test_refetch_stores_nothing_and_the_unique_key_holds(self):
		device = self.make_device(None)
		rows = [punch_row(device, n, "1", self.base + timedelta(minutes=n)) for n in range(1, 6)]
		self.assertEqual(len(device_punch.store_punches(rows, None)), 5)
		self.assertEqual(device_punch.store_punches(rows, None), [])
		# Same (device, event_key) under another name: the unique index turns it away.
		clash = dataclasses.replace(rows[2], name="another-name-same-key")
		device_punch.store_punches([clash], None)
		frappe.db.commit()
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device}), 5)
		# The same serial at another time is another event (a restarted counter): stored.
		restarted = punch_row(device, 3, "1", self.base + timedelta(days=1))
		self.assertEqual(len(device_punch.store_punches([restarted], None)), 1)
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device, "serial_no": 3}), 2)

	def test_a_store_picked_as_deadlock_victim_stores_its_rows_again(self):
		"""Another session inserts the same two Device Punches in the other order: the sessions deadlock and
		MariaDB rolls back the one that wrote less, the store; the store runs again and keeps its rows."""
		device = self.make_device(None)
		first, second = sorted(
			(punch_row(device, n, "1", self.base + timedelta(minutes=n)) for n in (1, 2)),
			key=lambda r: r.name,
		)
		# The other session's own rows make it the heavier transaction, so MariaDB picks the store as victim.
		heavy = [punch_row(device, n, "1", self.base + timedelta(minutes=n)) for n in range(100, 150)]
		frappe.db.commit()
		other = pymysql.connect(**frappe.db.get_connection_settings())
		self.addCleanup(other.close)

		def insert(rows: list[P.PunchRow]) -> None:
			with other.cursor() as cursor:
				cursor.executemany(
					f"insert into `tab{common.PUNCH}` (name, device, event_key, status) values (%s, %s, %s, %s)",
					[(r.name, r.device, r.event_key, r.status) for r in rows],
				)

		def store_waits() -> None:
			"""Return once the store's INSERT has been running for a while: it waits for one of our rows."""
			seen = 0
			deadline = time.monotonic() + 30
			while seen < 3 and time.monotonic() < deadline:
				with other.cursor() as cursor:
					cursor.execute(
						"select count(*) from information_schema.processlist where info like %s",
						[f"insert ignore into `tab{common.PUNCH}`%"],
					)
					seen = seen + 1 if cursor.fetchone()[0] else 0
				time.sleep(0.1)

		other.begin()
		insert([*heavy, second])
		failures: list[BaseException] = []

		def close_the_cycle() -> None:
			try:
				store_waits()  # it has inserted `first` and waits for `second`
				insert([first])  # waits for the store: a cycle, and the store is rolled back
				store_waits()  # its second try waits for `first`
				other.rollback()
			except BaseException as e:
				failures.append(e)
				other.rollback()

		helper = threading.Thread(target=close_the_cycle)
		helper.start()
		with patch.object(
			device_punch, "_insert_new_punches", wraps=device_punch._insert_new_punches
		) as attempts:
			stored = device_punch.store_punches([first, second], None)
		helper.join()
		self.assertEqual(failures, [], "the other session was not the victim")
		self.assertEqual(attempts.call_count, 2, "the store was rolled back once and ran again")
		self.assertEqual(sorted(r.name for r in stored), [first.name, second.name])
		self.assertEqual(
			sorted(frappe.get_all(common.PUNCH, filters={"device": device}, pluck="name")),
			[first.name, second.name],
		)

	def test_two_devices_one_employee_same_second_make_one_checkin(self):
		a, b = self.make_device(None), self.make_device(None)
		employee = self.make_employee("A-1")
		t = self.base + timedelta(hours=1)
		device_punch.store_punches([punch_row(a, 10, "A-1", t)], None)
		device_punch.store_punches([punch_row(b, 77, "A-1", t)], None)
		frappe.db.commit()
		counts = self.process({"device": ["in", [a, b]]})
		self.assertEqual((counts.checkins_created, counts.duplicates), (1, 1))
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": employee}), 1)
		# And across runs: a later punch of the same second from a third device is a Duplicate too.
		c = self.make_device(None)
		device_punch.store_punches([punch_row(c, 5, "A-1", t)], None)
		self.assertEqual(self.process({"device": c}).duplicates, 1)

	def test_crash_half_way_rerun_creates_exactly_the_missing_checkins(self):
		device = self.make_device(None)
		employees = [self.make_employee(f"C-{i}") for i in range(4)]
		rows = [punch_row(device, n, f"C-{n % 4}", self.base + timedelta(minutes=n)) for n in range(1, 21)]
		device_punch.store_punches(rows, None)
		frappe.db.commit()
		# One committed batch, then the worker dies.
		first = self.process({"device": device}, batch_size=7, max_batches=1)
		self.assertEqual(first.checkins_created, 7)
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device, "status": P.PENDING}), 13)
		rest = self.process({"device": device}, batch_size=7)
		self.assertEqual(rest.checkins_created, 13)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": ["in", employees]}), 20)

	def test_validation_error_marks_the_punch_failed_with_the_reason(self):
		device = self.make_device(None)
		self.make_employee("G-1")
		self.set_single_value("HR Settings", "allow_geolocation_tracking", 1)
		device_punch.store_punches([punch_row(device, 1, "G-1", self.base)], None)
		counts = self.process({"device": device})
		self.assertEqual((counts.failed, counts.status), (1, "Partial"))
		punch = frappe.get_all(common.PUNCH, filters={"device": device}, fields=["status", "reason"])[0]
		self.assertEqual(punch.status, P.FAILED)
		self.assertIn("atitude", punch.reason)
		# Fixed (coordinates on the device): Reprocess turns it into a check-in.
		frappe.db.set_value(common.DEVICE, device, {"latitude": 23.78, "longitude": 90.41})
		frappe.db.commit()
		result = device_punch.reprocess(
			names=frappe.get_all(common.PUNCH, filters={"device": device}, pluck="name")
		)
		self.assertEqual(result["checkins_created"], 1)

	def test_reprocess_api_queues_only_eligible_punches(self):
		device = self.make_device(None)
		rows = [punch_row(device, 1, "R-404", self.base), punch_row(device, 2, None, self.base)]
		device_punch.store_punches(rows, None)
		self.process({"device": device})
		names = frappe.get_all(common.PUNCH, filters={"device": device}, pluck="name")
		self.make_employee("R-404")  # maps one of the two, and queues its Reprocess
		result = device_punch.reprocess_punches(names)
		self.assertEqual((result["queued"], result["ignored"]), (2, 0))
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device, "status": P.CHECKED_IN}), 0)
		frappe.db.commit()
		self.run_worker("long")
		frappe.db.rollback()  # a new transaction sees what the worker committed
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device, "status": P.CHECKED_IN}), 1)

	def test_prune_keeps_unmapped_and_failed(self):
		device = self.make_device(None)
		old = add_days(now_datetime(), -400)
		rows = [
			punch_row(device, 1, "P-1", old),
			punch_row(device, 2, "P-2", old),
			punch_row(device, 3, "P-3", self.base),
		]
		device_punch.store_punches(rows, None)
		frappe.db.set_value(common.PUNCH, rows[0].name, "status", P.CHECKED_IN)
		frappe.db.set_value(common.PUNCH, rows[1].name, "status", P.UNMAPPED)
		frappe.db.set_value(common.PUNCH, rows[2].name, "status", P.DUPLICATE)
		frappe.db.commit()
		maintenance.prune_punches()
		self.assertEqual(
			sorted(frappe.get_all(common.PUNCH, filters={"device": device}, pluck="name")),
			sorted([rows[1].name, rows[2].name]),
		)

	def test_any_error_inserting_one_checkin_fails_that_punch_only(self):
		# An Employee whose Default Shift points at a deleted Shift Type: HRMS raises AttributeError ("'NoneType'
		# object has no attribute 'start_time'") inside the check-in insert. That punch fails, with a reason that
		# names the employee and what to fix; every other punch goes on; the run is Partial.
		device = self.make_device(None)
		gone = self.make_shift_type()
		broken = self.make_employee("X-1", default_shift=gone)
		fine = [self.make_employee(f"X-{i}") for i in (2, 3)]
		frappe.db.delete("Shift Type", {"name": gone})
		frappe.clear_document_cache("Shift Type", gone)
		frappe.db.commit()
		rows = [
			punch_row(device, n, f"X-{1 + n % 3}", self.base + timedelta(minutes=n)) for n in range(1, 10)
		]
		device_punch.store_punches(rows, None)
		frappe.db.commit()
		counts = self.process({"device": device})
		self.assertEqual((counts.checkins_created, counts.failed, counts.status), (6, 3, "Partial"))
		failed = frappe.get_all(
			common.PUNCH, filters={"device": device, "status": P.FAILED}, fields=["employee", "reason"]
		)
		self.assertEqual({f.employee for f in failed}, {broken})
		for f in failed:
			self.assertIn(broken, f.reason)
			self.assertIn("Default Shift", f.reason)
			self.assertIn(gone, f.reason)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": ["in", fine]}), 6)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": broken}), 0)

		# Fixed (an existing Default Shift): Reprocess turns them into check-ins.
		frappe.db.set_value("Employee", broken, "default_shift", self.make_shift_type())
		frappe.db.commit()
		result = device_punch.reprocess(names=[f.name for f in self.punches(device, status=P.FAILED)])
		self.assertEqual((result["checkins_created"], result["failed"]), (3, 0))

	def test_a_failed_run_counts_only_committed_work(self):
		# A batch that fails part-way is rolled back; the Sync Log must not count what it rolled back (a run once
		# showed "Unmapped 1" with none in the database).
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		users = self.punching_user_ids(device)
		for device_id in users[: len(users) // 2]:
			self.make_employee(device_id)
		record = checkins._record
		calls = []

		def record_then_break(punch, decision, checkin):
			calls.append(punch.name)
			if len(calls) == 10:
				raise RuntimeError("a fault in the middle of a batch")
			return record(punch, decision, checkin)

		with patch.object(checkins, "_record", record_then_break):
			result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Failed", result)
		log = frappe.get_doc(common.LOG, result["log"])
		self.assertEqual(log.checkins_created, len(self.checkins(device)))
		self.assertEqual(
			log.unmapped, frappe.db.count(common.PUNCH, {"device": device, "status": P.UNMAPPED})
		)
		self.assertEqual(log.duplicates + log.inactive + log.failed, 0)
		self.assertEqual(log.new_punches, frappe.db.count(common.PUNCH, {"device": device}))

	def test_crash_after_fetch_before_store_loses_nothing(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		for device_id in self.punching_user_ids(device):
			self.make_employee(device_id)
		with patch.object(fetching, "store_punches", side_effect=WorkerDied), self.assertRaises(WorkerDied):
			jobs.sync_device(device)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device}), 0)
		self.assertIsNone(frappe.db.get_value(common.DEVICE, device, "synced_up_to"))
		(died,) = frappe.get_all(common.LOG, filters={"device": device}, pluck="name")

		again = jobs.sync_device(device)
		self.assertEqual(again["status"], "Success", again)
		self.assertGreater(again["checkins_created"], 0)
		self.assertEqual(self.assert_checkins_exactly_once(device), again["checkins_created"])
		self.assertIsNotNone(frappe.db.get_value(common.DEVICE, device, "synced_up_to"))
		self.assertEqual(frappe.db.get_value(common.LOG, died, "status"), "Failed", "closed as interrupted")

	def test_crash_half_way_through_checkins_rerun_creates_exactly_the_missing_ones(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		for device_id in self.punching_user_ids(device):
			self.make_employee(device_id)
		insert = checkins._insert_checkin
		inserted = []

		def insert_then_die(*args):
			if len(inserted) == 10:
				raise WorkerDied
			inserted.append(insert(*args))
			return inserted[-1]

		# Batches of 7: the first commits, the worker dies in the second.
		with (
			patch.object(checkins, "BATCH_SIZE", 7),
			patch.object(checkins, "_insert_checkin", insert_then_die),
			self.assertRaises(WorkerDied),
		):
			jobs.sync_device(device)
		frappe.db.rollback()
		# What the first batch committed stays; the batch the worker died in left nothing.
		committed = self.assert_checkins_exactly_once(device)
		self.assertTrue(0 < committed < len(inserted), (committed, len(inserted)))
		self.assertIsNone(frappe.db.get_value(common.DEVICE, device, "synced_up_to"), "the cursor moves last")

		again = jobs.sync_device(device)
		self.assertEqual(again["status"], "Success", again)
		self.assertEqual(again["new_punches"], 0, "the punches were stored before the crash")
		total = self.assert_checkins_exactly_once(device)
		self.assertEqual(total, committed + again["checkins_created"])
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device, "status": P.PENDING}), 0)

	def test_manual_and_scheduled_runs_of_one_device_in_either_order(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		for device_id in self.punching_user_ids(device):
			self.make_employee(device_id)
		sync_start = get_datetime(frappe.db.get_value(common.DEVICE, device, "sync_start"))
		start, end = str(sync_start), str(now_datetime())
		outcomes = []
		for order in ((jobs.SCHEDULED, jobs.MANUAL), (jobs.MANUAL, jobs.SCHEDULED)):
			for trigger in order:
				result = (
					jobs.sync_device(device, jobs.MANUAL, start, end)
					if trigger == jobs.MANUAL
					else jobs.sync_device(device)
				)
				self.assertEqual(result["status"], "Success", result)
			self.assert_checkins_exactly_once(device)
			outcomes.append(
				sorted((e, get_datetime(t).replace(microsecond=0)) for e, t in self.checkins(device))
			)
			# Start over: no punches, no check-ins, no cursors.
			frappe.db.delete("Employee Checkin", {"device_id": device})
			frappe.db.delete(common.PUNCH, {"device": device})
			frappe.db.set_value(common.DEVICE, device, {"synced_up_to": None, "last_serial_no": None})
			frappe.db.commit()
		self.assertTrue(outcomes[0])
		self.assertEqual(outcomes[0], outcomes[1])

	def test_fetch_failing_mid_paging_keeps_what_arrived_and_the_cursor_stops_before_the_gap(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		for device_id in self.punching_user_ids(device):
			self.make_employee(device_id)
		# The second page answers 500 every time (retries too): the first page's events arrive.
		sim.set_faults(page_fault={"kind": "status500", "on_page": 2, "times": 0})
		failed = jobs.sync_device(device)
		self.assertEqual(failed["status"], "Failed", failed)
		stored = self.punches(device)
		self.assertGreater(len(stored), 0, "the first page is kept")
		self.assertEqual(len(self.checkins(device)), failed["checkins_created"])
		synced = frappe.db.get_value(common.DEVICE, device, "synced_up_to")

		sim.set_faults()
		complete = jobs.sync_device(device)
		self.assertEqual(complete["status"], "Success", complete)
		everything = self.punches(device)
		self.assertGreater(len(everything), len(stored))
		missing = [p.time for p in everything if p.name not in {s.name for s in stored}]
		if synced is not None:
			# Complete up to the cursor: every event strictly before it had arrived.
			self.assertLessEqual(get_datetime(synced), min(missing), "the cursor stopped before the gap")
		self.assert_checkins_exactly_once(device)

	def test_re_interpreted_times_read_the_terminals_wall_clock_in_device_time_zone(self):
		# A terminal whose clock shows local time (+06:00) under a wrong zone setting (+08:00): trusted, every
		# punch is two hours early; re-interpreted in Device Time Zone, it is right.
		(sim,) = self.start_simulator(1, "--utc-offset", "+08:00")
		trusting = self.make_device(sim)
		fixed = self.make_device(sim, time_zone_handling=REINTERPRET, device_time_zone="+06:00")
		now = now_datetime()
		window = (str(now - timedelta(days=1)), str(now))
		for device in (trusting, fixed):
			result = jobs.sync_device(device, jobs.MANUAL, *window)
			self.assertEqual(result["status"], "Success", result)
		site_tz = common.site_time_zone()
		trusted = {p.event_key: p for p in self.punches(trusting)}
		read = {p.event_key: p for p in self.punches(fixed)}
		both = set(trusted) & set(read)
		self.assertTrue(both)
		for key in both:
			self.assertTrue(read[key].device_time.endswith("+08:00"), "what the terminal sent is kept")
			wall = datetime.fromisoformat(read[key].device_time)
			self.assertEqual(
				get_datetime(read[key].time), to_site_naive(reinterpret_in_zone(wall, "+06:00"), site_tz)
			)
			self.assertEqual(
				get_datetime(read[key].time) - get_datetime(trusted[key].time), timedelta(hours=2)
			)
