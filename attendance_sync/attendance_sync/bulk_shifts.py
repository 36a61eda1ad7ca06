"""HRMS's shift rows read once per employee and date during a bulk insert of Employee Checkins (`bulk`)."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import frappe
from hrms.hr.doctype.shift_assignment import shift_assignment

MEMO = "attendance_sync_shifts_for_date"


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
