# Copyright (c) 2025, Attendance Sync contributors
# See license.txt
"""The bulk insert of Employee Checkins (`bulk.insert_checkins`) against HRMS's own `doc.insert()`.

The same planned check-ins go through a `doc.insert()` loop (a savepoint per row, as the check-in step does) and
through the bulk insert, on the same data; the Employee Checkin rows must be identical in every column but
`name`, `creation` and `modified`, and the failures identical in class and message (a duplicate's message
names the earlier check-in: the loop's name is mapped to the bulk one).
"""

import dataclasses
import math
import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

from frappe.utils import add_days, getdate

from attendance_sync.attendance_sync import api, bulk, checkins, common, jobs
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row
from attendance_sync.logic import punches as P

# Columns that differ between two inserts of the same row: the name (the series moves on) and the timestamps.
DIFFERENT = {"name", "creation", "modified"}
CLOCK_TIMES = [
	"00:00:00",
	"00:30:00",
	"05:00:00",
	"06:00:00",
	"07:00:00",
	"07:00:01",
	"07:59:59",
	"08:00:00",
	"09:00:00",
	"12:00:00",
	"17:00:00",
	"18:00:00",
	"18:00:01",
	"20:59:59",
	"21:00:00",
	"22:00:00",
	"23:59:59",
]
LOG_TYPES = [None, "IN", "OUT"]
DEVICE_ID = "_Test Bulk Device"


class TestBulkCheckins(AttendanceSyncTestCase):
	def setUp(self):
		super().setUp()
		self.assignments: list[str] = []
		self.locations: list[str] = []
		# Runs before the base cleanup (which deletes the employees the assignments point at).
		self.addCleanup(self.remove_shift_fixtures)
		self.day0 = getdate("2025-03-03")

	def remove_shift_fixtures(self) -> None:
		frappe.db.rollback()
		for name in self.assignments:
			frappe.db.delete("Shift Assignment", {"name": name})
		for name in self.locations:
			frappe.db.delete("Shift Location", {"name": name})
		frappe.db.commit()

	def assign(self, employee: str, shift_type: str, start: Any, end: Any = None, **fields: Any) -> None:
		company = frappe.db.get_value("Employee", employee, "company")
		doc = frappe.get_doc(
			{
				"doctype": "Shift Assignment",
				"employee": employee,
				"shift_type": shift_type,
				"company": company,
				"start_date": start,
				"end_date": end,
				"status": "Active",
				**fields,
			}
		)
		doc.insert(ignore_permissions=True)
		doc.submit()
		self.assignments.append(doc.name)
		frappe.db.commit()

	def at(self, day: int, clock: str) -> datetime:
		return datetime.combine(add_days(self.day0, day), datetime.strptime(clock, "%H:%M:%S").time())

	# The two paths

	def insert_loop(self, rows: list[bulk.PlannedCheckin]) -> list[str | Exception]:
		"""What the check-in step does per punch: `doc.insert()` in a savepoint, a failure rolled back alone."""
		results: list[str | Exception] = []
		for row in rows:
			frappe.db.savepoint("bulk_test")
			try:
				doc = frappe.get_doc(row.as_doc()).insert(ignore_permissions=True)
			except Exception as e:
				frappe.db.rollback(save_point="bulk_test")
				frappe.clear_messages()
				results.append(e)
			else:
				frappe.db.release_savepoint("bulk_test")
				results.append(doc.name)
		return results

	def stored(self, names: list[str]) -> list[dict[str, Any]]:
		if not names:
			return []
		rows = {
			r.name: r
			for r in frappe.db.sql(
				"SELECT * FROM `tabEmployee Checkin` WHERE name IN %s", [names], as_dict=True
			)
		}
		return [{k: v for k, v in rows[n].items() if k not in DIFFERENT} for n in names]

	def assert_same_both_ways(self, rows: list[bulk.PlannedCheckin]) -> list[str | Exception]:
		"""Insert `rows` one by one, read and delete what that made, insert them in bulk: the same rows, the same
		failures. Returns the bulk results."""
		loop = self.insert_loop(rows)
		loop_names = [r for r in loop if isinstance(r, str)]
		loop_rows = self.stored(loop_names)
		frappe.db.delete("Employee Checkin", {"name": ["in", loop_names or ["-"]]})

		messages = len(frappe.local.message_log)
		with patch.object(frappe.db, "sql", wraps=frappe.db.sql) as spy:
			result = bulk.insert_checkins(rows)
		inserts = sum(
			str(call.args[0]).lower().startswith("insert into `tabemployee checkin`")
			for call in spy.call_args_list
		)
		self.assertEqual(len(result), len(rows))
		self.assertEqual(len(frappe.local.message_log), messages, "the bulk insert leaves no queued messages")
		bulk_names = [r for r in result if isinstance(r, str)]
		self.assertEqual(
			[isinstance(r, str) for r in result], [isinstance(r, str) for r in loop], "the same rows fail"
		)
		self.assertEqual(self.stored(bulk_names), loop_rows)
		renamed = dict(zip(loop_names, bulk_names, strict=True))

		def failure(exc: Exception) -> tuple[str, str]:
			text = str(exc)
			for old, new in renamed.items():
				text = text.replace(old, new)
			return type(exc).__name__, text

		self.assertEqual(
			[failure(r) for r in result if isinstance(r, Exception)],
			[failure(r) for r in loop if isinstance(r, Exception)],
		)
		if bulk_names:
			# Multi-row statements, not one INSERT per row.
			self.assertEqual(inserts, math.ceil(len(bulk_names) / common.INSERT_CHUNK))
			# One series, moved once, numbers in row order straight after the loop's.
			numbers = [int(n.rsplit("-", 1)[1]) for n in bulk_names]
			self.assertEqual(numbers, list(range(numbers[0], numbers[0] + len(numbers))))
			if loop_names:
				self.assertEqual(numbers[0], int(loop_names[-1].rsplit("-", 1)[1]) + 1)
			# The next doc.insert takes the number after the reserved ones: no name is used twice.
			after = frappe.get_doc(
				dataclasses.replace(rows[0], time=self.at(30, "12:00:00")).as_doc()
			).insert(ignore_permissions=True)
			self.assertEqual(int(after.name.rsplit("-", 1)[1]), numbers[-1] + 1)
			frappe.db.delete("Employee Checkin", {"name": after.name})
		return result

	# The tests

	def test_bulk_rows_equal_doc_insert_rows_across_shifts_duplicates_and_failures(self):
		day = self.make_shift_type(
			begin_check_in_before_shift_start_time=60, allow_check_out_after_shift_end_time=60
		)
		night = self.make_shift_type(
			start_time="22:00:00",
			end_time="06:00:00",
			begin_check_in_before_shift_start_time=60,
			allow_check_out_after_shift_end_time=60,
		)
		strict = self.make_shift_type(
			determine_check_in_and_check_out="Strictly based on Log Type in Employee Checkin"
		)
		gone = self.make_shift_type()
		with_default = self.make_employee(None, default_shift=day)
		night_default = self.make_employee(None, default_shift=night)
		assigned = self.make_employee(None)
		assigned_and_default = self.make_employee(None, default_shift=day)
		no_shift = self.make_employee(None)
		strict_default = self.make_employee(None, default_shift=strict)
		deleted_shift = self.make_employee(None, default_shift=gone)
		inactive = self.make_employee(None, status="Inactive")
		# Night shifts on days 0-1 and day shifts from day 2 on, with nothing on day -1; a night shift on day 1
		# only for someone whose Default Shift is the day shift.
		self.assign(assigned, night, self.day0, add_days(self.day0, 1))
		self.assign(assigned, day, add_days(self.day0, 2))
		self.assign(assigned_and_default, night, add_days(self.day0, 1), add_days(self.day0, 1))
		# A Default Shift whose Shift Type was deleted: HRMS fails inside fetch_shift.
		frappe.db.delete("Shift Type", {"name": gone})
		frappe.clear_document_cache("Shift Type", gone)
		frappe.db.commit()

		rows: list[bulk.PlannedCheckin] = []
		i = 0
		for employee in (with_default, night_default, assigned, assigned_and_default, no_shift):
			for d in range(-1, 4):
				for clock in CLOCK_TIMES:
					rows.append(bulk.PlannedCheckin(employee, self.at(d, clock), LOG_TYPES[i % 3], DEVICE_ID))
					i += 1
		t = self.at(0, "12:00:00")
		grid = {(r.employee, r.time): r.log_type for r in rows}
		# Already in the table before both runs: a duplicate of it fails in both.
		existing = frappe.get_doc(
			{"doctype": "Employee Checkin", "employee": no_shift, "time": self.at(0, "10:00:00")}
		).insert(ignore_permissions=True)
		grid_size = len(rows)
		rows += [
			bulk.PlannedCheckin(no_shift, existing.time, None, DEVICE_ID),
			# Repeats inside the batch: the same second (microseconds are dropped), the same log type.
			bulk.PlannedCheckin(
				with_default, t.replace(microsecond=500000), grid[(with_default, t)], DEVICE_ID
			),
			bulk.PlannedCheckin(with_default, self.at(1, "09:00:00"), "IN", DEVICE_ID),
			bulk.PlannedCheckin(with_default, self.at(1, "09:00:00"), "IN", "another device"),
			# The same second with the other log type is allowed.
			bulk.PlannedCheckin(with_default, self.at(1, "09:00:00"), "OUT", DEVICE_ID),
			# Strict log types: a check-in inside the shift needs one; outside it does not.
			bulk.PlannedCheckin(strict_default, self.at(0, "10:00:00"), None, DEVICE_ID),
			bulk.PlannedCheckin(strict_default, self.at(0, "10:00:01"), "IN", DEVICE_ID),
			bulk.PlannedCheckin(strict_default, self.at(0, "23:00:00"), None, DEVICE_ID),
			bulk.PlannedCheckin(deleted_shift, t, "IN", DEVICE_ID),
			bulk.PlannedCheckin(inactive, t, "IN", DEVICE_ID),
			bulk.PlannedCheckin(inactive, t + timedelta(hours=1), "OUT", DEVICE_ID),
			# An Employee named in another case (the database matches it; the link is set to its real name),
			# and one that does not exist.
			bulk.PlannedCheckin(with_default.lower(), self.at(2, "13:00:00"), "IN", DEVICE_ID),
			bulk.PlannedCheckin("_Test No Such Employee", t, "IN", DEVICE_ID),
			# An unknown log type fails Frappe's own Select check.
			bulk.PlannedCheckin(no_shift, self.at(3, "13:00:00"), "SIDEWAYS", DEVICE_ID),
		]
		result = self.assert_same_both_ways(rows)

		# The special rows, both ways (checked equal above): the existing duplicate and the two repeats fail HRMS's
		# validation, the deleted Shift Type fails inside HRMS, the Inactive employee twice; the other log type and
		# another case pass. (HRMS 15.58's "Log Type is required" check reads a field its cached Shift Type does
		# not load, so a strict shift takes check-ins without a log type, in both paths.)
		special = [type(r).__name__ if isinstance(r, Exception) else "ok" for r in result[grid_size:]]
		invalid, inactive_error = "ValidationError", "InactiveEmployeeStatusError"
		self.assertEqual(
			special[:12],
			[invalid, invalid, "ok", invalid, "ok", "ok", "ok", "ok", "AttributeError"]
			+ [inactive_error, inactive_error, "ok"],
		)
		self.assertTrue(all(isinstance(r, str) for r in result[:grid_size]))
		# The shift fields came out of HRMS for every kind of employee: a night shift's check-in after midnight
		# belongs to the shift that started the evening before.
		after_midnight = frappe.get_all(
			"Employee Checkin",
			filters={"employee": night_default, "time": self.at(1, "05:00:00")},
			fields=["shift", "shift_start", "shift_actual_end", "offshift"],
		)[0]
		self.assertEqual(
			(after_midnight.shift, after_midnight.shift_start, after_midnight.offshift),
			(night, self.at(0, "22:00:00"), 0),
		)
		shifts = set(
			frappe.get_all(
				"Employee Checkin",
				filters={"name": ["in", [r for r in result if isinstance(r, str)]]},
				pluck="shift",
			)
		)
		self.assertEqual(shifts, {day, night, strict, None})

	def test_a_batch_reads_shift_assignments_in_its_own_reads_not_per_checkin(self):
		day = self.make_shift_type()
		night = self.make_shift_type(start_time="22:00:00", end_time="06:00:00")
		employees = [self.make_employee(None, default_shift=day) for _ in range(3)]
		self.assign(employees[0], day, self.day0)
		self.assign(employees[1], night, add_days(self.day0, 1), add_days(self.day0, 2))
		rows = [
			bulk.PlannedCheckin(employee, self.at(d, clock))
			for employee in employees
			for d in range(4)
			for clock in ("08:00:00", "12:00:00", "23:00:00")
		]

		def shift_queries(spy: Any) -> int:
			return sum("Shift Assignment" in str(call.args[0]) for call in spy.call_args_list)

		with patch.object(frappe.db, "sql", wraps=frappe.db.sql) as spy:
			checkins = bulk.Checkins(rows)
		# Which employees have assignments, and the assignments around the batch's days: not one per employee.
		self.assertLessEqual(shift_queries(spy), 2)
		prepared = []
		with patch.object(frappe.db, "sql", wraps=frappe.db.sql) as spy:
			for row in rows:
				prepared.append(checkins.prepare(row))
		self.assertEqual(shift_queries(spy), 0, "HRMS's shift rows came from the batch's reads")
		self.assertFalse([p for p in prepared if isinstance(p, Exception)])
		names = checkins.write(prepared)
		self.assertEqual(len(set(names)), len(rows))
		# The assignment that starts on day 1 shaped the rows of days 1-2 only (what doc.insert gives is the
		# equivalence test's business; here: the reads ahead did not lose it).
		night_rows = frappe.get_all(
			"Employee Checkin", filters={"name": ["in", names], "shift": night}, pluck="employee"
		)
		self.assertTrue(night_rows)
		self.assertEqual(set(night_rows), {employees[1]})

	def test_geolocation_tracking_rows_and_failures_are_the_same(self):
		self.set_single_value("HR Settings", "allow_geolocation_tracking", 1)
		shift = self.make_shift_type()
		location = frappe.get_doc(
			{
				"doctype": "Shift Location",
				"location_name": f"_Test Bulk Site {frappe.generate_hash(length=6)}",
				"latitude": 23.78,
				"longitude": 90.41,
				"checkin_radius": 200,
			}
		).insert(ignore_permissions=True)
		self.locations.append(location.name)
		frappe.db.commit()
		fenced = self.make_employee(None)
		self.assign(fenced, shift, self.day0, shift_location=location.name)
		free = self.make_employee(None, default_shift=shift)
		near, far = (23.7801, 90.4101), (23.90, 90.60)
		rows = [
			bulk.PlannedCheckin(free, self.at(0, "09:00:00"), "IN", DEVICE_ID, *far),
			bulk.PlannedCheckin(free, self.at(0, "17:00:00"), "OUT", DEVICE_ID),
			bulk.PlannedCheckin(fenced, self.at(0, "09:00:00"), "IN", DEVICE_ID, *near),
			bulk.PlannedCheckin(fenced, self.at(0, "17:00:00"), "OUT", DEVICE_ID, *far),
			bulk.PlannedCheckin(fenced, self.at(1, "09:00:00"), "IN", DEVICE_ID, *near),
		]
		result = self.assert_same_both_ways(rows)
		self.assertEqual([isinstance(r, str) for r in result], [True, False, True, False, True])
		self.assertEqual(type(result[3]).__name__, "CheckinRadiusExceededError")
		geolocation = frappe.db.get_value("Employee Checkin", result[0], "geolocation")
		self.assertIn("90.6", geolocation)

	def test_a_hook_on_employee_checkin_makes_bulk_decline(self):
		self.assertIsNone(bulk.unsupported_reason())
		original = frappe.get_hooks

		def get_hooks(hook=None, *args, **kwargs):
			value = original(hook, *args, **kwargs)
			if hook == "doc_events":
				value = {**value, "Employee Checkin": {"after_insert": ["some_app.checkins.after_insert"]}}
			return value

		employee = self.make_employee(None)
		# Frappe keeps the resolved doc_events per request: neither the patched hooks nor a copy made before
		# them may outlive this test.
		frappe.local.doc_events_hooks = None
		self.addCleanup(setattr, frappe.local, "doc_events_hooks", None)
		with patch.object(frappe, "get_hooks", get_hooks):
			self.assertIn("doc_events", bulk.unsupported_reason() or "")
			with self.assertRaises(bulk.BulkInsertUnsupported):
				bulk.insert_checkins([bulk.PlannedCheckin(employee, self.at(0, "09:00:00"), "IN", DEVICE_ID)])

	# The check-in step

	def run_snapshot(self, device: str) -> tuple[list[tuple], list[tuple], dict[str, int]]:
		"""A run's check-ins (every column but the name, the timestamps and the device), its punches' outcomes
		and its Sync Log counts."""
		checkins = frappe.db.sql(
			"SELECT * FROM `tabEmployee Checkin` WHERE device_id=%s ORDER BY employee, time, log_type",
			device,
			as_dict=True,
		)
		rows = [
			tuple(sorted((k, v) for k, v in r.items() if k not in DIFFERENT | {"device_id"}))
			for r in checkins
		]
		punches = frappe.get_all(
			common.PUNCH,
			filters={"device": device},
			fields=["event_key", "status", "reason", "employee", "employee_checkin"],
			order_by="event_key",
		)
		names = {r.name: i for i, r in enumerate(checkins)}
		outcomes = [
			(p.event_key, p.status, p.reason, p.employee, names.get(p.employee_checkin)) for p in punches
		]
		log = frappe.get_all(
			common.LOG, filters={"device": device}, fields=["*"], order_by="creation desc", limit=1
		)[0]
		counts = {
			k: log[k]
			for k in ("fetched", "new_punches", "checkins_created", "duplicates", "unmapped", "failed")
		}
		return rows, outcomes, counts

	def forget_run(self, device: str) -> None:
		frappe.db.delete("Employee Checkin", {"device_id": device})
		frappe.db.delete(common.PUNCH, {"device": device})
		frappe.db.delete(common.LOG, {"device": device})
		frappe.db.set_value(common.DEVICE, device, {"synced_up_to": None, "last_serial_no": None})
		frappe.db.commit()

	def test_a_bulk_fetch_checkin_run_creates_what_a_normal_run_creates(self):
		sim = self.start_simulator(1, "--burst-share", "0.2", "--employees", "12", days=3, events_per_day=80)[
			0
		]
		device = self.make_device(sim)
		day = self.make_shift_type(start_time="08:00:00", end_time="16:00:00")
		night = self.make_shift_type(start_time="20:00:00", end_time="04:00:00")
		gone = self.make_shift_type()
		users = self.punching_user_ids(device)
		self.assertGreater(len(users), 6)
		shifts = [day, night, None, gone]
		expected = {P.CHECKED_IN}
		mine = {}
		for i, user in enumerate(users):
			# An ID an Employee of the site already holds maps to that Employee, in both runs alike.
			if frappe.db.exists("Employee", {"attendance_device_id": user}):
				continue
			if user == users[-1]:
				# The last user's punches are Unmapped.
				expected.add(P.UNMAPPED)
				continue
			mine[user] = self.make_employee(user, default_shift=shifts[i % 4])
			if shifts[i % 4] == gone:
				expected.add(P.FAILED)
		# One of ours is Inactive; one Default Shift was deleted.
		active = [e for e in mine.values() if frappe.db.get_value("Employee", e, "default_shift") != gone]
		if active:
			frappe.db.set_value("Employee", active[0], "status", "Inactive")
			expected.add(P.INACTIVE)
		frappe.db.delete("Shift Type", {"name": gone})
		frappe.clear_document_cache("Shift Type", gone)
		frappe.db.commit()
		window = frappe._dict(
			from_time=str(add_days(frappe.utils.now_datetime(), -4).replace(microsecond=0)),
			to_time=str(frappe.utils.now_datetime().replace(microsecond=0)),
		)

		self.assertTrue(api.fetch_checkins(device, window.from_time, window.to_time)["queued"])
		normal = self.run_snapshot(device)
		self.forget_run(device)
		with bulk_writes() as writes:
			self.assertTrue(api.fetch_checkins(device, window.from_time, window.to_time, bulk=1)["queued"])
		self.assertTrue(writes, "the run went through the bulk insert")
		in_bulk = self.run_snapshot(device)

		self.assertEqual(in_bulk, normal)
		rows, outcomes, counts = in_bulk
		statuses = {o[1] for o in outcomes}
		self.assertTrue(expected <= statuses, (expected, statuses))
		self.assertEqual(counts["checkins_created"], len(rows))
		self.assert_checkins_exactly_once(device)

	def test_a_run_above_bulk_insert_above_goes_in_bulk_and_zero_means_never(self):
		device = self.make_device(None)
		employee = self.make_employee("B-1")
		base = self.at(0, "08:00:00")
		jobs.store_punches(
			[punch_row(device, n, "B-1", base + timedelta(minutes=n)) for n in range(1, 8)], None
		)
		frappe.db.commit()
		self.set_single_value(common.SETTINGS, "bulk_insert_above", 0)
		with bulk_writes() as writes:
			checkins.process_pending(
				{"device": device}, P.SyncCounts(), common.get_settings(), batch_size=3, max_batches=1
			)
		self.assertEqual(writes, [], "0: never in bulk")
		self.set_single_value(common.SETTINGS, "bulk_insert_above", 3)
		with bulk_writes() as writes:
			# Four Pending punches: above 3.
			checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		self.assertEqual(writes, [4])
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": employee}), 7)


@contextmanager
def bulk_writes() -> Iterator[list[int]]:
	"""The sizes of the bulk writes made inside the block."""
	sizes: list[int] = []
	original = bulk.Checkins.write

	def write(self: bulk.Checkins, prepared: list[Any]) -> list[str]:
		sizes.append(len(prepared))
		return original(self, prepared)

	with patch.object(bulk.Checkins, "write", write):
		yield sizes
