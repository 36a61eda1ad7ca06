"""The Missing Punches report on a fixture with known gaps: a day shift (09:00-17:00) and a night shift
(22:00-06:00), each fed by a device, over eight days two weeks ago.

Ann (day shift by default, Attendance Device ID): day 0 complete; day 1 nothing, but a Failed and an Unmapped
punch; day 2 IN, OUT, IN; day 3 IN, IN; day 4 a holiday; day 5 one check-in without a log type; day 6 one OUT;
day 7 Work From Home. Ben (night shift by assignment on days 0 and 1, his own department): day 0 IN at 22:00 and
OUT at 06:00 the next morning; day 1 IN only, and the night shift's device last answered before that shift
ended. Cleo (day shift) left after day 2; Dan (day shift, his own branch) joined on day 5; neither checked in.
"""

from datetime import datetime, time, timedelta
from unittest.mock import patch

import frappe
from frappe.desk.query_report import export_query, run
from frappe.utils import add_days, getdate, now_datetime

from attendance_sync.attendance_sync import common
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.report.missing_punches.missing_punches import execute
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row
from attendance_sync.logic import punches as P

REPORT = "Missing Punches"


class TestMissingPunches(AttendanceSyncTestCase):
	def setUp(self) -> None:
		super().setUp()
		self.day0 = getdate(add_days(now_datetime(), -14))
		self.company = (
			frappe.defaults.get_global_default("company") or frappe.get_all("Company", pluck="name")[0]
		)
		self.extra: list[tuple[str, str]] = []
		self.addCleanup(self.remove_extra)
		tag = frappe.generate_hash(length=6)

		self.day_shift = self.make_shift_type()
		self.night_shift = self.make_shift_type(start_time="22:00:00", end_time="06:00:00")
		holidays = self.insert(
			{
				"doctype": "Holiday List",
				"holiday_list_name": f"_Test AS Holidays {tag}",
				"from_date": self.day(-30),
				"to_date": self.day(30),
				"holidays": [{"holiday_date": self.day(4), "description": "Test holiday"}],
			}
		)
		self.department = self.insert(
			{"doctype": "Department", "department_name": f"_Test AS Dept {tag}", "company": self.company}
		)
		self.branch = self.insert({"doctype": "Branch", "branch": f"_Test AS Branch {tag}"})
		common_fields = {"holiday_list": holidays, "company": self.company}

		self.ann_id = f"MP-{tag}"
		self.ann = self.make_employee(self.ann_id, default_shift=self.day_shift, **common_fields)
		self.ben = self.make_employee(None, department=self.department, **common_fields)
		self.cleo = self.make_employee(
			None, status="Left", relieving_date=self.day(2), default_shift=self.day_shift, **common_fields
		)
		self.dan = self.make_employee(
			None,
			date_of_joining=self.day(5),
			branch=self.branch,
			default_shift=self.day_shift,
			**common_fields,
		)
		self.insert(
			{
				"doctype": "Shift Assignment",
				"employee": self.ben,
				"shift_type": self.night_shift,
				"company": self.company,
				"start_date": self.day(0),
				"end_date": self.day(1),
			},
			submit=True,
		)
		self.insert(
			{
				"doctype": "Attendance",
				"employee": self.ann,
				"attendance_date": self.day(7),
				"status": "Work From Home",
				"company": self.company,
			},
			submit=True,
		)

		self.door = self.make_device(None, shift_types=[{"shift_type": self.day_shift}])
		self.old_door = self.make_device(None, enabled=0, shift_types=[{"shift_type": self.day_shift}])
		self.gate = self.make_device(None, shift_types=[{"shift_type": self.night_shift}])
		self.door_contact = now_datetime().replace(microsecond=0)
		frappe.db.set_value(common.DEVICE, self.door, "last_contact", self.door_contact)
		frappe.db.set_value(common.DEVICE, self.gate, "last_contact", self.at(1, 12))

		for day, hour, minute, log_type in (
			(0, 9, 0, "IN"),
			(0, 17, 0, "OUT"),
			(2, 9, 0, "IN"),
			(2, 17, 0, "OUT"),
			(2, 17, 30, "IN"),
			(3, 9, 0, "IN"),
			(3, 13, 0, "IN"),
			(5, 9, 0, None),
			(6, 17, 0, "OUT"),
		):
			self.checkin(self.ann, self.at(day, hour, minute), log_type)
		self.checkin(self.ben, self.at(0, 22), "IN")
		self.checkin(self.ben, self.at(1, 6), "OUT")
		self.checkin(self.ben, self.at(1, 22), "IN")

		failed = punch_row(self.door, 1, self.ann_id, self.at(1, 9, 2))
		unmapped = punch_row(self.door, 2, self.ann_id, self.at(1, 17, 1))
		stranger = punch_row(self.door, 3, "someone-else", self.at(1, 17, 2))
		device_punch.store_punches([failed, unmapped, stranger], None)
		frappe.db.set_value(
			common.PUNCH, failed.name, {"status": P.FAILED, "employee": self.ann, "reason": "test"}
		)
		frappe.db.set_value(common.PUNCH, unmapped.name, "status", P.UNMAPPED)
		frappe.db.set_value(common.PUNCH, stranger.name, "status", P.UNMAPPED)
		frappe.db.commit()

	def day(self, n: int):
		return add_days(self.day0, n)

	def at(self, day: int, hour: int, minute: int = 0) -> datetime:
		return datetime.combine(self.day(day), time(hour, minute))

	def insert(self, doc: dict, submit: bool = False) -> str:
		made = frappe.get_doc(doc).insert(ignore_permissions=True)
		if submit:
			made.submit()
		frappe.db.commit()
		self.extra.append((made.doctype, made.name))
		return made.name

	def checkin(self, employee: str, at: datetime, log_type: str | None) -> None:
		frappe.get_doc(
			{"doctype": "Employee Checkin", "employee": employee, "time": at, "log_type": log_type}
		).insert(ignore_permissions=True)
		frappe.db.commit()

	def remove_extra(self) -> None:
		frappe.db.rollback()
		for doctype, name in reversed(self.extra):
			frappe.db.delete(doctype, {"name": name})
		frappe.db.delete("Holiday", {"parent": ["in", [n for d, n in self.extra if d == "Holiday List"]]})
		frappe.db.commit()

	def rows(self, **filters) -> list[dict]:
		"""The report's rows of this test's employees, from day 0 to day 7 unless told."""
		filters = {"from_date": self.day(0), "to_date": self.day(7), **filters}
		mine = {self.ann, self.ben, self.cleo, self.dan}
		return [r for r in execute(filters)[1] if r["employee"] in mine]

	def brief(self, rows: list[dict]) -> list[tuple]:
		days = {self.day(n): n for n in range(-1, 9)}
		return [(r["employee"], days[r["date"]], r["shift"], r["problem"], r["checkins"]) for r in rows]

	def test_rows_of_a_fixture_with_known_gaps(self):
		rows = self.rows()
		ann, ben, cleo, dan, day, night = (
			self.ann,
			self.ben,
			self.cleo,
			self.dan,
			self.day_shift,
			self.night_shift,
		)
		expected = [
			(ann, 1, day, "No check-in", 0),
			(ben, 1, night, "Only IN", 1),
			(cleo, 1, day, "No check-in", 0),
			(ann, 2, day, "Odd number of check-ins", 3),
			(cleo, 2, day, "No check-in", 0),
			(ann, 3, day, "Only IN", 2),
			(ann, 5, day, "Odd number of check-ins", 1),
			(dan, 5, day, "No check-in", 0),
			(ann, 6, day, "Only OUT", 1),
			(dan, 6, day, "No check-in", 0),
			(dan, 7, day, "No check-in", 0),
		]
		# Cleo on day 0: the rows of a date are in employee order.
		expected.insert(0, (cleo, 0, day, "No check-in", 0))
		expected.sort(key=lambda r: (r[1], r[0]))
		self.assertEqual(self.brief(rows), expected)

		by_key = {(r["employee"], r["date"]): r for r in rows}
		missing = by_key[(ann, self.day(1))]
		self.assertEqual(missing["attendance_device_id"], self.ann_id)
		self.assertIsNone(by_key[(cleo, self.day(1))]["attendance_device_id"], "no terminal can know Cleo")
		self.assertEqual(missing["open_punches"], 2)
		self.assertEqual(missing["punch_details"], f"09:02 {self.door}: Failed, 17:01 {self.door}: Unmapped")
		self.assertEqual(missing["device_behind"], 0, "the door answered after the shift")
		self.assertIn(f"{self.door} (last contact ", missing["devices"])
		self.assertIn(f"{self.old_door} (disabled, last contact never)", missing["devices"])
		self.assertNotIn(self.gate, missing["devices"])
		self.assertEqual(by_key[(ann, self.day(2))]["checkin_times"], "09:00 IN, 17:00 OUT, 17:30 IN")
		self.assertEqual(by_key[(ann, self.day(5))]["checkin_times"], "09:00")
		self.assertEqual(
			by_key[(ann, self.day(5))]["employee_name"], frappe.db.get_value("Employee", ann, "employee_name")
		)

		night_row = by_key[(ben, self.day(1))]
		self.assertEqual(night_row["checkin_times"], "22:00 IN")
		self.assertEqual(night_row["device_behind"], 1, "the gate last answered before the night shift ended")
		self.assertTrue(night_row["devices"].startswith(f"{self.gate} (last contact "))
		self.assertEqual(night_row["open_punches"], 0)

	def test_a_day_hr_marked_present_is_settled(self):
		"""Cleo forgot to punch on day 1; HR marks her Present (by hand, or an approved Attendance Request makes
		such an Attendance): the day leaves the report, and her other days stay."""
		company = frappe.db.get_value("Employee", self.cleo, "company")
		attendance = frappe.get_doc(
			{
				"doctype": "Attendance",
				"employee": self.cleo,
				"attendance_date": self.day(1),
				"status": "Present",
				"company": company,
			}
		).insert(ignore_permissions=True)
		attendance.submit()
		self.addCleanup(frappe.db.delete, "Attendance", {"name": attendance.name})
		cleo = [r[1] for r in self.brief(self.rows()) if r[0] == self.cleo]
		self.assertEqual(cleo, [0, 2])

	def test_filters_by_company_department_branch_and_shift(self):
		everyone = self.brief(self.rows())
		self.assertEqual(self.brief(self.rows(company=self.company)), everyone)
		ben_only = [r for r in everyone if r[0] == self.ben]
		self.assertEqual(len(ben_only), 1)
		self.assertEqual(self.brief(self.rows(department=self.department)), ben_only)
		self.assertEqual(self.brief(self.rows(shift_type=self.night_shift)), ben_only)
		self.assertEqual(self.brief(self.rows(branch=self.branch)), [r for r in everyone if r[0] == self.dan])
		self.assertEqual(
			self.brief(self.rows(shift_type=self.day_shift)), [r for r in everyone if r[0] != self.ben]
		)
		self.assertEqual(
			self.brief(self.rows(from_date=self.day(6), to_date=self.day(6))),
			[r for r in everyone if r[1] == 6],
		)

	def test_a_night_shifts_morning_belongs_to_the_evening_it_started(self):
		# Day 0's night shift ended with the OUT at 06:00 on day 1: complete. Asked for day 1 alone, the
		# check-out does not make day 1's night shift (IN only) complete.
		rows = self.brief(self.rows(from_date=self.day(1), to_date=self.day(1), shift_type=self.night_shift))
		self.assertEqual(rows, [(self.ben, 1, self.night_shift, "Only IN", 1)])
		self.assertEqual(
			self.rows(from_date=self.day(0), to_date=self.day(0), shift_type=self.night_shift), []
		)

	def test_a_shift_that_has_not_ended_is_not_judged(self):
		tomorrow = add_days(getdate(now_datetime()), 1)
		self.assertEqual(self.rows(from_date=tomorrow, to_date=tomorrow), [])
		yesterday = add_days(getdate(now_datetime()), -1)
		self.assertIn(
			(self.ann, "No check-in"),
			[(r["employee"], r["problem"]) for r in self.rows(from_date=yesterday, to_date=yesterday)],
		)

	def test_queries_do_not_grow_with_the_range_or_the_people(self):
		def queries(**filters) -> int:
			with patch.object(frappe.db, "sql", wraps=frappe.db.sql) as sql:
				self.rows(**filters)
			return sql.call_count

		queries()  # caches warm
		one_person_a_week = queries(branch=self.branch)
		everyone_a_month = queries(from_date=self.day(-20), to_date=self.day(10))
		self.assertEqual(one_person_a_week, everyone_a_month)
		self.assertTrue(5 <= everyone_a_month <= 12, everyone_a_month)

	def test_user_permissions_on_employee_restrict_the_rows(self):
		user = self.make_user("HR Manager")
		frappe.get_doc(
			{"doctype": "User Permission", "user": user, "allow": "Employee", "for_value": self.ben}
		).insert(ignore_permissions=True)
		frappe.set_user(user)
		self.assertEqual([r[0] for r in self.brief(self.rows())], [self.ben])

	def test_user_permissions_restrict_a_system_manager_too(self):
		"""A System Manager has no role on Employee; a User Permission still limits what the report shows."""
		user = self.make_user("System Manager")
		frappe.get_doc(
			{"doctype": "User Permission", "user": user, "allow": "Employee", "for_value": self.ben}
		).insert(ignore_permissions=True)
		frappe.set_user(user)
		self.assertFalse(frappe.has_permission("Employee", "read"))
		self.assertEqual([r[0] for r in self.brief(self.rows())], [self.ben])

	def test_hr_managers_run_and_export_it_and_hr_users_do_not(self):
		filters = {"from_date": str(self.day(0)), "to_date": str(self.day(7)), "department": self.department}
		frappe.set_user(self.make_user("HR Manager"))
		result = run(REPORT, filters)
		self.assertEqual([r["employee"] for r in result["result"]], [self.ben])
		self.assertEqual(result["columns"][0]["fieldname"], "employee")

		frappe.local.form_dict = frappe._dict(
			report_name=REPORT,
			file_format_type="CSV",
			filters=frappe.as_json(filters),
			visible_idx="[0]",
		)
		self.addCleanup(setattr, frappe.local, "form_dict", frappe._dict())
		export_query()
		content = frappe.response["filecontent"]
		content = content.decode() if isinstance(content, bytes) else content
		self.assertIn("Only IN", content)
		self.assertIn(self.ben, content)

		frappe.set_user(self.make_user("HR User"))
		with self.assertRaises(frappe.PermissionError):
			run(REPORT, filters)

	def test_a_left_employees_relieving_date_is_the_last_working_day(self):
		cleo = [r[1] for r in self.brief(self.rows()) if r[0] == self.cleo]
		self.assertEqual(cleo, [0, 1, 2])
		self.assertEqual(frappe.db.get_value("Employee", self.cleo, "status"), "Left")
		self.assertEqual(
			[r for r in self.rows(from_date=self.day(3), to_date=self.day(3)) if r["employee"] == self.cleo],
			[],
		)
