"""Missing Punches: each employee-day with a shift and no check-in, an odd number of check-ins or only one
direction, beside the devices that feed that shift (with their last contact) and the punches of that person
that day that are not check-ins (Pending, Failed, Unmapped), so HR sees whether the person forgot or a terminal
lost it.

The rules (which days have a shift, where a check-in or punch belongs, what a problem is) are in
`attendance_sync/logic/missing_punches.py`. The data is read set-based, whatever the range: one query each for
the employees, their shift assignments, leave, attendance, the shift types, holidays, check-ins, punches and
devices, then grouped in Python; a month of 5,000 employees is those queries, not a call of HRMS's helpers per
employee and day.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import frappe
from erpnext.accounts.utils import build_qb_match_conditions
from frappe import _
from frappe.permissions import get_user_permissions
from frappe.query_builder import Criterion
from frappe.utils import format_datetime, formatdate, get_datetime, getdate, now_datetime

from attendance_sync.attendance_sync.common import DEVICE, PUNCH
from attendance_sync.logic import missing_punches as M
from attendance_sync.logic import punches as P

# Punches of a person that are not check-ins: still to be processed, failed, or under an ID no Employee held
# when they came.
OPEN_PUNCHES = (P.PENDING, P.FAILED, P.UNMAPPED)
# Attendance that says the person was not expected at a terminal that day.
AWAY = ("On Leave", "Work From Home")
PRESENT = ("Present", "Half Day")
# Days read around the range: a night shift of the day before reaches into the first day, and one of the last
# day ends the next morning.
MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Device:
	name: str
	enabled: bool
	last_contact: datetime | None


def execute(filters: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
	chosen = frappe._dict(filters or {})
	if not chosen.from_date or not chosen.to_date:
		frappe.throw(_("From Date and To Date are required"))
	first, last = getdate(chosen.from_date), getdate(chosen.to_date)
	if first > last:
		frappe.throw(_("From Date must not be after To Date"))
	return columns(), rows(chosen, first, last, now_datetime())


def columns() -> list[dict[str, Any]]:
	def column(fieldname: str, label: str, fieldtype: str, width: int, options: str | None = None) -> dict:
		return {
			"fieldname": fieldname,
			"label": label,
			"fieldtype": fieldtype,
			"options": options,
			"width": width,
		}

	return [
		column("employee", _("Employee"), "Link", 170, "Employee"),
		column("employee_name", _("Employee Name"), "Data", 160),
		column("attendance_device_id", _("Attendance Device ID"), "Data", 160),
		column("date", _("Date"), "Date", 115),
		column("shift", _("Shift"), "Link", 160, "Shift Type"),
		column("problem", _("Problem"), "Data", 150),
		column("checkins", _("Check-ins"), "Int", 95),
		column("checkin_times", _("Check-in Times"), "Data", 180),
		column("devices", _("Devices (Last Contact)"), "Data", 260),
		column("device_behind", _("Device Not Heard From Since"), "Check", 100),
		column("open_punches", _("Punches Not Checked In"), "Int", 100),
		column("punch_details", _("Punch Details"), "Data", 260),
	]


def rows(filters: frappe._dict, first: date, last: date, now: datetime) -> list[dict[str, Any]]:
	"""The report's rows: the shift-days from `first` to `last` whose window ended by `now` and that have a
	problem, by date and employee."""
	employee = frappe.qb.DocType("Employee")
	chosen = employee_criterion(employee, filters, first, last)
	people, employee_names = read_people(employee, chosen)
	if not people:
		return []
	in_scope = frappe.qb.from_(employee).select(employee.name).where(chosen)
	read_assignments(people, in_scope, first - MARGIN, last + MARGIN)
	read_days_off(people, in_scope, first - MARGIN, last + MARGIN)
	timings = read_timings()
	holidays = read_holidays(
		{p.holiday_list for p in people.values()} | {t.holiday_list for t in timings.values()},
		first - MARGIN,
		last + MARGIN,
	)

	days = M.days_between(first - MARGIN, last + MARGIN)
	placements = {name: M.Placement(M.shift_days(p, days, timings, holidays)) for name, p in people.items()}
	shift_days = [d for p in placements.values() for d in p.days]
	if not shift_days:
		return []
	start, end = min(d.start for d in shift_days), max(d.end for d in shift_days)
	place_checkins(placements, in_scope, start, end)
	place_punches(placements, people, start, end)
	devices = read_devices()

	result = []
	for day in shift_days:
		if not first <= day.day <= last or day.end > now:
			continue
		if filters.shift_type and day.shift != filters.shift_type:
			continue
		problem = day.problem()
		if problem:
			device_user_id = people[day.employee].device_user_id
			result.append(
				row(day, problem, employee_names[day.employee], device_user_id, devices.get(day.shift, []))
			)
	result.sort(key=lambda r: (r["date"], r["employee"], r["shift"]))
	return result


def employee_criterion(employee: Any, filters: frappe._dict, first: date, last: date) -> Any:
	"""Employees of the filters who may work a day of the range: Active, or Left with a relieving date in or after
	it (Inactive and Suspended people are not expected at a terminal), joined by its last day; restricted by the
	user's User Permissions on Employee, as HRMS's reports are."""
	criteria = [
		(employee.status == "Active") | ((employee.status == "Left") & (employee.relieving_date >= first)),
		employee.date_of_joining.isnull() | (employee.date_of_joining <= last),
	]
	for fieldname in ("company", "branch", "department"):
		if filters.get(fieldname):
			criteria.append(employee[fieldname] == filters.get(fieldname))
	# The user's User Permissions restrict the rows whatever their roles (a System Manager has no role on Employee
	# and reads it through this report); with read on Employee, Frappe's own match conditions as well.
	criteria.extend(user_permission_criteria(employee))
	if frappe.has_permission("Employee", "read"):
		criteria.extend(build_qb_match_conditions("Employee"))
	return Criterion.all(criteria)


def user_permission_criteria(employee: Any) -> list[Any]:
	"""The Employees the session user's User Permissions allow: by Employee, Company, Branch or Department."""
	allowed = get_user_permissions(frappe.session.user)
	criteria = []
	for doctype, fieldname in (
		("Employee", "name"),
		("Company", "company"),
		("Branch", "branch"),
		("Department", "department"),
	):
		values = [
			p.get("doc")
			for p in allowed.get(doctype, [])
			if not p.get("applicable_for") or p.get("applicable_for") == "Employee"
		]
		if values:
			criteria.append(employee[fieldname].isin(values))
	return criteria


def read_people(employee: Any, chosen: Any) -> tuple[dict[str, M.Person], dict[str, str]]:
	"""The chosen Employees as the rules read them, and their names. An Employee without a Holiday List has the
	company's default, as HRMS's `get_holiday_list_for_employee` gives it."""
	company_holidays = dict(frappe.get_all("Company", fields=["name", "default_holiday_list"], as_list=True))
	found = (
		frappe.qb.from_(employee)
		.select(
			employee.name,
			employee.employee_name,
			employee.company,
			employee.date_of_joining,
			employee.relieving_date,
			employee.default_shift,
			employee.holiday_list,
			employee.attendance_device_id,
		)
		.where(chosen)
	).run(as_dict=True)
	people = {
		e.name: M.Person(
			name=e.name,
			joined=e.date_of_joining,
			relieved=e.relieving_date,
			default_shift=e.default_shift,
			holiday_list=e.holiday_list or company_holidays.get(e.company),
			device_user_id=P.normalize_device_user_id(e.attendance_device_id),
		)
		for e in found
	}
	return people, {e.name: e.employee_name for e in found}


def read_assignments(people: dict[str, M.Person], in_scope: Any, first: date, last: date) -> None:
	"""The active submitted Shift Assignments of the people covering a day from `first` to `last`."""
	assignment = frappe.qb.DocType("Shift Assignment")
	found = (
		frappe.qb.from_(assignment)
		.select(assignment.employee, assignment.shift_type, assignment.start_date, assignment.end_date)
		.where(
			(assignment.docstatus == 1)
			& (assignment.status == "Active")
			& (assignment.start_date <= last)
			& (assignment.end_date.isnull() | (assignment.end_date >= first))
			& assignment.employee.isin(in_scope)
		)
		.orderby(assignment.start_date)
		.orderby(assignment.name)
	).run(as_dict=True)
	for a in found:
		people[a.employee].assignments.append(M.Assignment(a.shift_type, a.start_date, a.end_date))


def read_days_off(people: dict[str, M.Person], in_scope: Any, first: date, last: date) -> None:
	"""Days of approved leave (a half day is worked) and of submitted attendance On Leave or Work From Home."""
	leave = frappe.qb.DocType("Leave Application")
	applications = (
		frappe.qb.from_(leave)
		.select(leave.employee, leave.from_date, leave.to_date, leave.half_day, leave.half_day_date)
		.where(
			(leave.docstatus == 1)
			& (leave.status == "Approved")
			& (leave.from_date <= last)
			& (leave.to_date >= first)
			& leave.employee.isin(in_scope)
		)
	).run(as_dict=True)
	for a in applications:
		half = (a.half_day_date or a.from_date) if a.half_day else None
		days = M.days_between(max(a.from_date, first), min(a.to_date, last))
		people[a.employee].days_off.update(d for d in days if d != half)

	attendance = frappe.qb.DocType("Attendance")
	marked = (
		frappe.qb.from_(attendance)
		.select(
			attendance.employee, attendance.attendance_date, attendance.status, attendance.attendance_request
		)
		.where(
			(attendance.docstatus == 1)
			& (attendance.status.isin(AWAY) | attendance.status.isin(PRESENT))
			& attendance.attendance_date[first:last]
			& attendance.employee.isin(in_scope)
		)
	).run(as_dict=True)
	for a in marked:
		# Away, or an Attendance Request (On Duty) HR approved: not expected at a terminal. Present by another
		# hand: a day without check-ins is settled (auto attendance marks no one present without them).
		if a.status in AWAY or a.attendance_request:
			people[a.employee].days_off.add(a.attendance_date)
		else:
			people[a.employee].settled_days.add(a.attendance_date)


def read_timings() -> dict[str, M.ShiftTiming]:
	found = frappe.get_all(
		"Shift Type",
		fields=[
			"name",
			"start_time",
			"end_time",
			"begin_check_in_before_shift_start_time",
			"allow_check_out_after_shift_end_time",
			"holiday_list",
			"mark_auto_attendance_on_holidays",
		],
	)
	return {
		s.name: M.ShiftTiming(
			name=s.name,
			start=s.start_time,
			end=s.end_time,
			early_minutes=s.begin_check_in_before_shift_start_time or 0,
			late_minutes=s.allow_check_out_after_shift_end_time or 0,
			holiday_list=s.holiday_list,
			works_holidays=bool(s.mark_auto_attendance_on_holidays),
		)
		for s in found
		if s.start_time is not None and s.end_time is not None
	}


def read_holidays(lists: set[str | None], first: date, last: date) -> dict[str, set[date]]:
	holidays: dict[str, set[date]] = defaultdict(set)
	names = sorted(n for n in lists if n)
	if names:
		for parent, day in frappe.get_all(
			"Holiday",
			filters={"parent": ["in", names], "holiday_date": ["between", [first, last]]},
			fields=["parent", "holiday_date"],
			as_list=True,
		):
			holidays[parent].add(getdate(day))
	return holidays


def place_checkins(placements: dict[str, M.Placement], in_scope: Any, start: datetime, end: datetime) -> None:
	checkin = frappe.qb.DocType("Employee Checkin")
	found = (
		frappe.qb.from_(checkin)
		.select(checkin.employee, checkin.time, checkin.log_type, checkin.shift, checkin.shift_start)
		.where(checkin.time[start:end] & checkin.employee.isin(in_scope))
		.orderby(checkin.time)
	).run(as_dict=True)
	for c in found:
		at = get_datetime(c.time)
		shift_start = get_datetime(c.shift_start) if c.shift and c.shift_start else None
		day = placements[c.employee].place(at, c.shift, shift_start)
		if day:
			day.checkins.append((at, c.log_type or None))


def place_punches(
	placements: dict[str, M.Placement], people: dict[str, M.Person], start: datetime, end: datetime
) -> None:
	"""Punches that are not check-ins, of a person by the Employee a Failed punch names, else by the person's
	Attendance Device ID (Pending and Unmapped punches carry only that)."""
	by_device_id = {p.device_user_id: name for name, p in people.items() if p.device_user_id}
	found = frappe.get_all(
		PUNCH,
		filters={"status": ["in", OPEN_PUNCHES], "time": ["between", [start, end]]},
		fields=["time", "device", "status", "employee", "device_user_id"],
		order_by="time asc",
	)
	for punch in found:
		employee = punch.employee or by_device_id.get(punch.device_user_id)
		if employee not in people:
			continue
		at = get_datetime(punch.time)
		day = placements[employee].place(at)
		if day:
			day.punches.append((at, punch.device, punch.status))


def read_devices() -> dict[str, list[Device]]:
	"""The devices that feed each Shift Type (their Shift Types table), by name."""
	device = frappe.qb.DocType(DEVICE)
	feeds = frappe.qb.DocType("Device Shift Type")
	found = (
		frappe.qb.from_(feeds)
		.join(device)
		.on(device.name == feeds.parent)
		.select(feeds.shift_type, device.name, device.enabled, device.last_contact)
		.where((feeds.parenttype == DEVICE) & (feeds.parentfield == "shift_types"))
		.orderby(device.name)
	).run(as_dict=True)
	devices: dict[str, list[Device]] = defaultdict(list)
	for d in found:
		devices[d.shift_type].append(Device(d.name, bool(d.enabled), d.last_contact))
	return devices


def row(
	day: M.ShiftDay, problem: str, employee_name: str, device_user_id: str | None, devices: list[Device]
) -> dict[str, Any]:
	"""A report row. An empty Attendance Device ID says no terminal can know the person."""
	return {
		"employee": day.employee,
		"employee_name": employee_name,
		"attendance_device_id": device_user_id,
		"date": day.day,
		"shift": day.shift,
		"problem": M.problem_label(problem),
		"checkins": len(day.checkins),
		"checkin_times": ", ".join(
			" ".join(filter(None, (moment(at, day.day), log_type))) for at, log_type in day.checkins
		),
		"devices": ", ".join(device_text(d) for d in devices),
		# An enabled device feeding the shift that has not answered since the shift ended may still hold its
		# punches of that day.
		"device_behind": int(any(d.enabled and (d.last_contact or datetime.min) < day.end for d in devices)),
		"open_punches": len(day.punches),
		"punch_details": ", ".join(
			f"{moment(at, day.day)} {device}: {_(status)}" for at, device, status in day.punches
		),
	}


def moment(at: datetime, day: date) -> str:
	"""A time of a shift-day: its hour, with the date when it is another day (a night shift's morning)."""
	clock = at.strftime("%H:%M")
	return clock if at.date() == day else f"{formatdate(at.date())} {clock}"


def device_text(device: Device) -> str:
	contact = format_datetime(device.last_contact) if device.last_contact else _("never")
	if not device.enabled:
		return _("{0} (disabled, last contact {1})").format(device.name, contact)
	return _("{0} (last contact {1})").format(device.name, contact)
