# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from datetime import datetime, timedelta

from frappe.utils import add_days, now_datetime

from attendance_sync.attendance_sync import api, sync
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase
from attendance_sync.logic import punches as P


def row(
	device: str, serial: int | None, user: str | None, time: datetime, key: str | None = None
) -> P.PunchRow:
	event_key = key or f"s:{serial}"
	return P.PunchRow(
		name=P.punch_name(device, event_key),
		device=device,
		serial_no=serial,
		event_key=event_key,
		device_user_id=user,
		name_on_device=None,
		card_no=None,
		time=time,
		device_time=time.isoformat(),
		log_type=None,
		verify_method="face",
		major=5,
		minor=75,
		status=P.PENDING if user else P.UNMAPPED,
		reason=None,
	)


class TestDevicePunch(AttendanceSyncTestCase):
	def setUp(self):
		super().setUp()
		self.base = now_datetime().replace(microsecond=0) - timedelta(days=2)

	def process(self, filters, **kwargs) -> P.SyncCounts:
		return sync.process_pending(
			filters, P.SyncCounts(), sync.Progress(None), sync.get_settings(), **kwargs
		)

	def test_refetch_stores_nothing_and_the_unique_key_holds(self):
		device = self.make_device(None)
		rows = [row(device, n, "1", self.base + timedelta(minutes=n)) for n in range(1, 6)]
		self.assertEqual(len(sync.store_punches(rows, None)), 5)
		self.assertEqual(sync.store_punches(rows, None), [])
		# Same (device, serial_no) under another name: the unique index turns it away.
		clash = row(device, 3, "1", self.base, key="s:3-other")
		frappe.db.bulk_insert(
			sync.PUNCH,
			[*P.PunchRow.FIELDS, "creation", "modified", "owner", "modified_by"],
			[(*clash.values(), self.base, self.base, "Administrator", "Administrator")],
			ignore_duplicates=True,
		)
		frappe.db.commit()
		self.assertEqual(frappe.db.count(sync.PUNCH, {"device": device}), 5)

	def test_two_devices_one_employee_same_second_make_one_checkin(self):
		a, b = self.make_device(None), self.make_device(None)
		employee = self.make_employee("A-1")
		t = self.base + timedelta(hours=1)
		sync.store_punches([row(a, 10, "A-1", t)], None)
		sync.store_punches([row(b, 77, "A-1", t)], None)
		frappe.db.commit()
		counts = self.process({"device": ["in", [a, b]]})
		self.assertEqual((counts.checkins_created, counts.duplicates), (1, 1))
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": employee}), 1)
		# And across runs: a later punch of the same second from a third device is a Duplicate too.
		c = self.make_device(None)
		sync.store_punches([row(c, 5, "A-1", t)], None)
		self.assertEqual(self.process({"device": c}).duplicates, 1)

	def test_crash_half_way_rerun_creates_exactly_the_missing_checkins(self):
		device = self.make_device(None)
		employees = [self.make_employee(f"C-{i}") for i in range(4)]
		rows = [row(device, n, f"C-{n % 4}", self.base + timedelta(minutes=n)) for n in range(1, 21)]
		sync.store_punches(rows, None)
		frappe.db.commit()
		# One committed batch, then the worker dies.
		first = self.process({"device": device}, batch_size=7, max_batches=1)
		self.assertEqual(first.checkins_created, 7)
		self.assertEqual(frappe.db.count(sync.PUNCH, {"device": device, "status": P.PENDING}), 13)
		rest = self.process({"device": device}, batch_size=7)
		self.assertEqual(rest.checkins_created, 13)
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": ["in", employees]}), 20)

	def test_validation_error_marks_the_punch_failed_with_the_reason(self):
		device = self.make_device(None)
		self.make_employee("G-1")
		self.set_single_value("HR Settings", "allow_geolocation_tracking", 1)
		sync.store_punches([row(device, 1, "G-1", self.base)], None)
		counts = self.process({"device": device})
		self.assertEqual((counts.failed, counts.status), (1, "Partial"))
		punch = frappe.get_all(sync.PUNCH, filters={"device": device}, fields=["status", "reason"])[0]
		self.assertEqual(punch.status, P.FAILED)
		self.assertIn("atitude", punch.reason)
		# Fixed (coordinates on the device): Reprocess turns it into a check-in.
		frappe.db.set_value(sync.DEVICE, device, {"latitude": 23.78, "longitude": 90.41})
		frappe.db.commit()
		result = sync.reprocess(names=frappe.get_all(sync.PUNCH, filters={"device": device}, pluck="name"))
		self.assertEqual(result["checkins_created"], 1)

	def test_reprocess_api_queues_only_eligible_punches(self):
		device = self.make_device(None)
		rows = [row(device, 1, "R-404", self.base), row(device, 2, None, self.base)]
		sync.store_punches(rows, None)
		self.process({"device": device})
		names = frappe.get_all(sync.PUNCH, filters={"device": device}, pluck="name")
		self.make_employee("R-404")  # maps one of the two
		result = api.reprocess_punches(names)
		self.assertEqual(result["queued"] + result["ignored"], 2)
		self.assertEqual(frappe.db.count(sync.PUNCH, {"device": device, "status": P.CHECKED_IN}), 1)

	def test_prune_keeps_unmapped_and_failed(self):
		device = self.make_device(None)
		old = add_days(now_datetime(), -400)
		rows = [row(device, 1, "P-1", old), row(device, 2, "P-2", old), row(device, 3, "P-3", self.base)]
		sync.store_punches(rows, None)
		frappe.db.set_value(sync.PUNCH, rows[0].name, "status", P.CHECKED_IN)
		frappe.db.set_value(sync.PUNCH, rows[1].name, "status", P.UNMAPPED)
		frappe.db.set_value(sync.PUNCH, rows[2].name, "status", P.DUPLICATE)
		frappe.db.commit()
		sync.prune_punches()
		self.assertEqual(
			sorted(frappe.get_all(sync.PUNCH, filters={"device": device}, pluck="name")),
			sorted([rows[1].name, rows[2].name]),
		)
