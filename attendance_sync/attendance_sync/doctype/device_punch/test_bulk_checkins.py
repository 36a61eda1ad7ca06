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

from frappe.custom.doctype.custom_field.custom_field import create_custom_field
from frappe.desk import notifications
from frappe.search.sqlite_search import SQLiteSearch
from frappe.utils import add_days, getdate

from attendance_sync.attendance_sync import bulk, bulk_support, checkins, common, push_events
from attendance_sync.attendance_sync.doctype.device_configuration import device_configuration
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row
from attendance_sync.logic import punches as P
from attendance_sync.logic import push as L

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
DOCTYPE = "Employee Checkin"


class TestBulkCheckins(AttendanceSyncTestCase):
	def setUp(self):
		super().setUp()
		self.assignments: list[str] = []
		self.locations: list[str] = []
		self.workflows: list[str] = []
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

	def patched_hooks(self, **extra: Any) -> Any:
		"""frappe.get_hooks with `extra` added: doc_events merged per doctype and event, other hooks replaced.

		Frappe keeps the resolved doc_events per request: neither the patched hooks nor a copy made before them
		may outlive the block."""
		original = frappe.get_hooks

		def get_hooks(hook=None, *args, **kwargs):
			value = original(hook, *args, **kwargs)
			if hook == "doc_events" and "doc_events" in extra:
				value = {key: {**events} for key, events in value.items()}
				for key, events in extra["doc_events"].items():
					for event, handlers in events.items():
						known = value.setdefault(key, {}).get(event, [])
						value[key][event] = [*([known] if isinstance(known, str) else known), *handlers]
			elif hook in extra and hook != "doc_events":
				value = extra[hook]
			return value

		frappe.local.doc_events_hooks = None
		self.addCleanup(setattr, frappe.local, "doc_events_hooks", None)
		return patch.object(frappe, "get_hooks", get_hooks)

	def test_a_hook_on_employee_checkin_makes_bulk_decline(self):
		self.assertIsNone(bulk_support.unsupported_reason())
		employee = self.make_employee(None)
		hooks = {"doc_events": {"Employee Checkin": {"after_insert": [AUDIT_HOOK]}}}
		with self.patched_hooks(**hooks):
			self.assertIn(AUDIT_HOOK, bulk_support.unsupported_reason() or "")
			with self.assertRaises(bulk.BulkInsertUnsupported):
				bulk.insert_checkins([bulk.PlannedCheckin(employee, self.at(0, "09:00:00"), "IN", DEVICE_ID)])

	def test_another_apps_hook_on_every_doctype_makes_bulk_decline_and_runs_for_each_checkin(self):
		self.assertIsNone(bulk_support.unsupported_reason())
		device = self.make_device(None)
		employee = self.make_employee("B-H")
		base = self.at(0, "08:00:00")
		device_punch.store_punches(
			[punch_row(device, n, "B-H", base + timedelta(minutes=n)) for n in range(1, 4)], None
		)
		frappe.db.commit()
		# A "*" hook on an event an insert does not run changes nothing.
		with self.patched_hooks(doc_events={"*": {"on_trash": [AUDIT_HOOK]}}):
			self.assertIsNone(bulk_support.unsupported_reason())
		AUDITED.clear()
		self.addCleanup(AUDITED.clear)
		paths: list[str] = []
		with self.patched_hooks(doc_events={"*": {"after_insert": [AUDIT_HOOK]}}), bulk_writes() as writes:
			self.assertIn(AUDIT_HOOK, bulk_support.unsupported_reason() or "")
			checkins.process_pending(
				{"device": device}, P.SyncCounts(), common.get_settings(), bulk=True, on_path=paths.append
			)
		self.assertEqual(writes, [], "asked for bulk, the run declined it")
		self.assertEqual(len(paths), 1)
		self.assertTrue(paths[0].startswith("One by one"), paths[0])
		self.assertIn(AUDIT_HOOK, paths[0])
		created = frappe.get_all("Employee Checkin", filters={"employee": employee}, pluck="name")
		self.assertEqual(len(created), 3)
		self.assertEqual(
			sorted(n for d, n in AUDITED if d == DOCTYPE),
			sorted(created),
			"the other app's hook saw each check-in",
		)

	def test_frappes_and_erpnexts_hooks_on_every_doctype_are_run_or_ruled_out(self):
		self.assertIsNone(bulk_support.unsupported_reason())

		# Run once per written batch: the notification count of the doctype is cleared.
		employee = self.make_employee(None)
		rows = [bulk.PlannedCheckin(employee, self.at(0, f"0{h}:00:00"), None, DEVICE_ID) for h in (7, 8, 9)]
		with patch.object(
			notifications, "clear_doctype_notifications", wraps=notifications.clear_doctype_notifications
		) as clear:
			result = bulk.insert_checkins(rows)
		self.assertTrue(all(isinstance(r, str) for r in result), result)
		self.assertEqual(clear.call_count, 1)
		self.assertEqual((clear.call_args.args[0].doctype, clear.call_args.args[1]), (DOCTYPE, "on_update"))

		# The others decline where they act on Employee Checkin, naming the hook.
		self.addCleanup(self.remove_hook_fixtures)
		create_custom_field(
			DOCTYPE, {"fieldname": "as_test_photo", "label": "Photo", "fieldtype": "Attach Image"}
		)
		self.assert_declined("frappe.core.doctype.file.utils.attach_files_to_document", "as_test_photo")
		frappe.delete_doc("Custom Field", f"{DOCTYPE}-as_test_photo", ignore_permissions=True)
		create_custom_field(
			DOCTYPE, {"fieldname": "company", "label": "Company", "fieldtype": "Link", "options": "Company"}
		)
		self.assert_declined("transaction_deletion_record.check_for_running_deletion_job", "company field")
		frappe.delete_doc("Custom Field", f"{DOCTYPE}-company", ignore_permissions=True)
		workflow = frappe.get_doc(
			{
				"doctype": "Workflow",
				"workflow_name": f"_Test AS Checkin {frappe.generate_hash(length=6)}",
				"document_type": DOCTYPE,
				"workflow_state_field": "as_test_state",
				"is_active": 1,
				"states": [{"state": "Pending", "doc_status": "0", "allow_edit": "System Manager"}],
			}
		).insert(ignore_permissions=True)
		self.workflows.append(workflow.name)
		frappe.clear_messages()
		self.assert_declined("workflow_action.process_workflow_actions", "Workflow")
		frappe.db.set_value("Workflow", workflow.name, "is_active", 0)
		self.assertIsNone(bulk_support.unsupported_reason())
		with self.patched_hooks(sqlite_search=[f"{__name__}.{CheckinSearch.__name__}"]):
			self.assert_declined("frappe.search.sqlite_search.update_doc_index", CheckinSearch.__name__)
		self.assertIsNone(bulk_support.unsupported_reason())

		# Every "*" hook this bench runs on an insert has its entry, and each entry is one this bench has.
		hooks = frappe.get_doc_hooks().get("*", {})
		on_insert = {(event, h) for event in bulk_support.INSERT_EVENTS for h in hooks.get(event, [])}
		self.assertEqual(on_insert, set(bulk_support.STAR_HOOKS))

	def assert_declined(self, hook: str, why: str) -> None:
		reason = bulk_support.unsupported_reason() or ""
		self.assertIn(hook, reason)
		self.assertIn(why, reason)

	def remove_hook_fixtures(self) -> None:
		"""The test's Workflows and Custom Fields, and the columns Custom Fields leave behind."""
		frappe.db.rollback()
		for name in self.workflows:
			frappe.delete_doc("Workflow", name, ignore_permissions=True, force=True)
		for fieldname in ("as_test_photo", "company", "as_test_state"):
			frappe.db.delete("Custom Field", {"dt": DOCTYPE, "fieldname": fieldname})
			if frappe.db.has_column(DOCTYPE, fieldname):
				frappe.db.sql_ddl(f"alter table `tab{DOCTYPE}` drop column `{fieldname}`")
		frappe.db.commit()
		frappe.clear_cache(doctype=DOCTYPE)

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

		def checkin_path() -> str:
			return frappe.get_all(
				common.LOG,
				filters={"device": device},
				pluck="checkin_path",
				order_by="creation desc",
				limit=1,
			)[0]

		self.assertTrue(
			device_configuration.fetch_checkins(device, window.from_time, window.to_time)["queued"]
		)
		normal = self.run_snapshot(device)
		self.assertRegex(checkin_path(), r"^One by one: \d+ Pending punches, not above Bulk Insert Above")
		self.forget_run(device)
		with bulk_writes() as writes:
			self.assertTrue(
				device_configuration.fetch_checkins(device, window.from_time, window.to_time, bulk=1)[
					"queued"
				]
			)
		self.assertTrue(writes, "the run went through the bulk insert")
		in_bulk = self.run_snapshot(device)
		self.assertEqual(checkin_path(), "Bulk insert: asked for this run (Fetch Check-in's Bulk insert)")

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
		device_punch.store_punches(
			[punch_row(device, n, "B-1", base + timedelta(minutes=n)) for n in range(1, 8)], None
		)
		frappe.db.commit()
		paths: list[str] = []
		# bulk=None: a device run, which Bulk Insert Above applies to.
		self.set_single_value(common.SETTINGS, "bulk_insert_above", 0)
		with bulk_writes() as writes:
			checkins.process_pending(
				{"device": device},
				P.SyncCounts(),
				common.get_settings(),
				batch_size=3,
				max_batches=1,
				bulk=None,
				on_path=paths.append,
			)
		self.assertEqual(writes, [], "0: never in bulk")
		self.set_single_value(common.SETTINGS, "bulk_insert_above", 3)
		with bulk_writes() as writes:
			# Four Pending punches: above 3.
			checkins.process_pending(
				{"device": device}, P.SyncCounts(), common.get_settings(), bulk=None, on_path=paths.append
			)
		self.assertEqual(writes, [4])
		self.assertEqual(frappe.db.count("Employee Checkin", {"employee": employee}), 7)
		self.assertEqual(
			paths,
			[
				"One by one: Bulk Insert Above is 0 (never)",
				"Bulk insert: 4 Pending punches, above Bulk Insert Above (3)",
			],
		)

	def test_the_push_job_and_reprocess_insert_one_by_one_above_bulk_insert_above(self):
		self.set_single_value(common.SETTINGS, "bulk_insert_above", 3)
		base = self.at(0, "08:00:00")
		pushed = self.make_device(None)
		frappe.db.set_value(common.DEVICE, pushed, "sync_mode", L.PUSH)
		self.make_employee("B-P")
		device_punch.store_punches(
			[punch_row(pushed, n, "B-P", base + timedelta(minutes=n)) for n in range(1, 6)], None
		)
		pulled = self.make_device(None)
		self.make_employee("B-R")
		stored = device_punch.store_punches(
			[punch_row(pulled, n, "B-R", base + timedelta(minutes=n)) for n in range(1, 6)], None
		)
		# Punches that failed before, for a Reprocess to take up.
		frappe.db.set_value(common.PUNCH, {"device": pulled}, "status", P.FAILED)
		frappe.db.commit()

		with bulk_writes() as writes:
			push_events.process_pushed()
			result = device_punch.reprocess(names=[r.name for r in stored])
		self.assertEqual(writes, [], "five Pending punches each, above 3: still one by one")
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": pushed, "status": P.CHECKED_IN}), 5)
		self.assertEqual(result["checkins_created"], 5)
		self.assertEqual(
			frappe.db.get_value(common.LOG, result["log"], "checkin_path"),
			"One by one: Bulk Insert Above applies to device runs only, and bulk was not asked for",
		)

	def series_from_here(self, employee: str):
		"""The names the Employee Checkin series gives from here: nth(1) is the next one (a check-in of
		`employee` takes the current number)."""
		probe = frappe.get_doc(
			{"doctype": DOCTYPE, "employee": employee, "time": self.at(-5, "09:00:00")}
		).insert(ignore_permissions=True)
		prefix, number = probe.name.rsplit("-", 1)

		def nth(n: int) -> str:
			return f"{prefix}-{int(number) + n:0{len(number)}d}"

		return nth

	def test_a_name_clash_in_the_one_by_one_loop_fails_that_punch_only(self):
		"""The loop's savepoint rollback gave the taken number back to the series: every later insert, and every
		Reprocess, met the same name again. Only the clashing punch fails; the series moves past it."""
		device = self.make_device(None)
		employee = self.make_employee("B-L")
		other = self.make_employee(None)
		nth = self.series_from_here(other)

		frappe.get_doc({"doctype": DOCTYPE, "employee": other, "time": self.at(-5, "10:00:00")}).insert(
			ignore_permissions=True, set_name=nth(2)
		)
		frappe.db.commit()
		clock = ["09:00:00", "10:00:00", "11:00:00", "12:00:00"]
		device_punch.store_punches(
			[punch_row(device, n, "B-L", self.at(0, c)) for n, c in enumerate(clock, start=1)], None
		)
		counts = checkins.process_pending({"device": device}, P.SyncCounts(), common.get_settings())
		outcomes = [
			(p.status, p.employee_checkin)
			for p in frappe.get_all(
				common.PUNCH,
				filters={"device": device},
				fields=["status", "employee_checkin"],
				order_by="time asc",
			)
		]
		self.assertEqual(
			outcomes,
			[(P.CHECKED_IN, nth(1)), (P.FAILED, None), (P.CHECKED_IN, nth(3)), (P.CHECKED_IN, nth(4))],
		)
		reason = frappe.db.get_value(common.PUNCH, {"device": device, "status": P.FAILED}, "reason")
		self.assertIn(f"{nth(2)} already exists", reason)
		self.assertEqual((counts.checkins_created, counts.failed), (3, 1))
		self.assertEqual(
			frappe.get_all(DOCTYPE, filters={"employee": employee}, pluck="name", order_by="name"),
			[nth(1), nth(3), nth(4)],
		)

	def test_a_name_clash_fails_that_punch_only_and_the_series_moves_past_it(self):
		self.set_single_value(common.SETTINGS, "double_punch_seconds", 60)
		device = self.make_device(None)
		employee = self.make_employee("B-C")
		other = self.make_employee(None)
		# The name the series gives the third check-in from here is already taken (the series is behind the table:
		# check-ins imported with their names, or a series set back by hand).
		nth = self.series_from_here(other)

		frappe.get_doc({"doctype": DOCTYPE, "employee": other, "time": self.at(-5, "10:00:00")}).insert(
			ignore_permissions=True, set_name=nth(3)
		)
		frappe.db.commit()
		clock = ["09:00:00", "10:00:00", "11:00:00", "11:00:30", "12:00:00"]
		device_punch.store_punches(
			[punch_row(device, n, "B-C", self.at(0, c)) for n, c in enumerate(clock, start=1)], None
		)
		frappe.db.commit()

		counts = P.SyncCounts()
		with bulk_writes() as writes:
			checkins.process_pending({"device": device}, counts, common.get_settings(), bulk=True)
		self.assertEqual(writes, [4], "one multi-row write was tried")
		outcomes = [
			(p.status, p.employee_checkin)
			for p in frappe.get_all(
				common.PUNCH,
				filters={"device": device},
				fields=["status", "employee_checkin", "reason"],
				order_by="time asc",
			)
		]
		# 11:00 failed alone; 11:00:30, a double punch of it, is decided again and checks in, as the loop does.
		self.assertEqual(
			outcomes,
			[
				(P.CHECKED_IN, nth(1)),
				(P.CHECKED_IN, nth(2)),
				(P.FAILED, None),
				(P.CHECKED_IN, nth(4)),
				(P.CHECKED_IN, nth(5)),
			],
		)
		reason = frappe.db.get_value(common.PUNCH, {"device": device, "status": P.FAILED}, "reason")
		self.assertIn(f"{nth(3)} already exists", reason)
		self.assertEqual((counts.checkins_created, counts.failed), (4, 1))
		self.assertEqual(
			frappe.get_all(DOCTYPE, filters={"employee": employee}, pluck="name", order_by="name"),
			[nth(1), nth(2), nth(4), nth(5)],
		)

		# The same through insert_checkins: the clashing row's exception, the others inserted.
		frappe.db.rollback()
		taken = nth(7)
		frappe.get_doc({"doctype": DOCTYPE, "employee": other, "time": self.at(-5, "11:00:00")}).insert(
			ignore_permissions=True, set_name=taken
		)
		rows = [bulk.PlannedCheckin(employee, self.at(1, c), "IN", DEVICE_ID) for c in clock[:3:2]] + [
			bulk.PlannedCheckin(employee, self.at(1, "13:00:00"), "OUT", DEVICE_ID)
		]
		result = bulk.insert_checkins(rows)
		self.assertEqual(result[0], nth(6))
		self.assertIsInstance(result[1], frappe.DuplicateEntryError)
		self.assertIn(taken, str(result[1]))
		self.assertEqual(result[2], nth(8))
		# The next doc.insert takes the number after them: no retry meets the taken name again.
		after = frappe.get_doc(
			{"doctype": DOCTYPE, "employee": other, "time": self.at(-5, "12:00:00")}
		).insert(ignore_permissions=True)
		self.assertEqual(after.name, nth(9))


# Another app's hook, for the tests: records what it saw.
AUDITED: list[tuple[str, str]] = []
AUDIT_HOOK = f"{__name__}.audit_trail"


def audit_trail(doc: Any, method: str | None = None) -> None:
	AUDITED.append((doc.doctype, doc.name))


class CheckinSearch(SQLiteSearch):
	"""An app's search index that indexes Employee Checkins (never instantiated: only its doctypes are read)."""

	INDEXABLE_DOCTYPES = {DOCTYPE: {"fields": ["name", "employee_name"]}}


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
