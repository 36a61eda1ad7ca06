"""HRMS's shift rows read once per employee and date during a bulk insert of Employee Checkins (`bulk`)."""

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import frappe
from hrms.hr.doctype.shift_assignment import shift_assignment

from attendance_sync.attendance_sync.common import QUERY_CHUNK, chunks

MEMO = "attendance_sync_shifts_for_date"
# Days either side of a row's date whose shift rows the batch reads ahead: HRMS looks at the shifts of the day
# before and after a check-in, and each of those reads the assignments of its own neighbouring days.
SHIFT_DAYS_AROUND = 2


def install_shift_memo() -> None:
	"""Wrap HRMS's `get_shifts_for_date` once: inside `shift_memo()` its rows are read once per employee and
	date (the same query, in the same transaction: the same rows); elsewhere it is HRMS's function unchanged."""
	current = shift_assignment.get_shifts_for_date
	if getattr(current, "attendance_sync_memo", False):
		return

	@functools.wraps(current)
	def get_shifts_for_date(employee: str, for_timestamp: datetime) -> list[dict[str, Any]]:
		memo = getattr(frappe.local, MEMO, None)
		if memo is None:
			return current(employee, for_timestamp)
		key = (employee, for_timestamp.date())
		if key not in memo:
			memo[key] = current(employee, for_timestamp)
		return [frappe._dict(row) for row in memo[key]]

	get_shifts_for_date.attendance_sync_memo = True  # type: ignore[attr-defined]
	shift_assignment.get_shifts_for_date = get_shifts_for_date


@contextmanager
def shift_memo(memo: dict[tuple[str, Any], list[dict[str, Any]]] | None = None) -> Iterator[None]:
	"""Inside it, HRMS's shift rows are read once per employee and date into `memo`, else into the memo already
	in use, else into a new one."""
	install_shift_memo()
	previous = getattr(frappe.local, MEMO, None)
	if memo is None:
		memo = {} if previous is None else previous
	setattr(frappe.local, MEMO, memo)
	try:
		yield
	finally:
		setattr(frappe.local, MEMO, previous)


def read_shifts_ahead(checkins: Iterable[tuple[str, datetime]], with_assignments: set[str]) -> None:
	"""Fill the shift memo in use for the (employee, date)s around the check-ins (Employee, time): what HRMS's
	`get_shifts_for_date` would read for them, from one query of the assignments of `with_assignments` (the
	Employees with an active submitted Shift Assignment)."""
	memo = getattr(frappe.local, MEMO, None)
	if memo is None:
		return
	keys: set[tuple[str, date]] = set()
	for employee, time in checkins:
		day = time.date()
		for offset in range(-SHIFT_DAYS_AROUND, SHIFT_DAYS_AROUND + 1):
			keys.add((employee, day + timedelta(days=offset)))
	if not keys:
		return
	first, last = min(day for _e, day in keys), max(day for _e, day in keys)
	assigned = sorted({employee for employee, _day in keys} & with_assignments)
	assignments: dict[str, list[frappe._dict]] = {}
	for chunk in chunks(assigned, QUERY_CHUNK):
		for row in frappe.get_all(
			"Shift Assignment",
			filters=[
				["employee", "in", chunk],
				["docstatus", "=", 1],
				["status", "=", "Active"],
				["start_date", "<=", last + timedelta(days=1)],
			],
			or_filters=[["end_date", "is", "not set"], ["end_date", ">=", first - timedelta(days=1)]],
			fields=["employee", "name", "shift_type", "start_date", "end_date"],
			order_by="name asc",
		):
			assignments.setdefault(row.pop("employee"), []).append(row)
	for employee, day in keys:
		if (employee, day) in memo:
			continue
		# get_shifts_for_date's condition: starts by the next day, and open-ended or ends from the day before.
		memo[(employee, day)] = [
			row
			for row in assignments.get(employee, [])
			if row.start_date <= day + timedelta(days=1)
			and (row.end_date is None or day - timedelta(days=1) <= row.end_date)
		]
