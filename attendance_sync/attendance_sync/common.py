"""What the app's doctypes, jobs, check-ins, cursors and maintenance share: doctype names, job ids, the role
guard of whitelisted methods, the settings, the extension, multi-row inserts, and the test switch."""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn, TypeVar, cast

import frappe
from frappe import _
from frappe.utils import get_datetime, get_system_timezone

from attendance_sync.logic.settings import SyncSettings, settings_from_values

DEVICE = "Device Configuration"
PUNCH = "Device Punch"
LOG = "Attendance Sync Log"
SETTINGS = "Attendance Sync Settings"
CHECKIN = "Employee Checkin"

MANAGER = "System Manager"
READERS = ["System Manager", "HR Manager"]

JOB_TIMEOUT = 4 * 3600
# Rows per INSERT statement: well under MariaDB's max_allowed_packet for these doctypes.
INSERT_CHUNK = 1000
# Values per IN list of a read.
QUERY_CHUNK = 1000
# Tries of a transaction the database may pick as a deadlock victim.
DEADLOCK_ATTEMPTS = 3

T = TypeVar("T")

# `frappe.throw`, typed as what it does (it always raises), so that a checker narrows the code after it.
throw = cast("Callable[..., NoReturn]", frappe.throw)


def in_test() -> bool:
	"""Whether tests are running: `frappe.in_test` where it exists (version 16), else `frappe.flags.in_test`."""
	flag = getattr(frappe, "in_test", None)
	if isinstance(flag, bool):
		return flag
	return bool(frappe.flags.in_test)


def job_id(device: str) -> str:
	return f"attendance_sync::{device}"


def get_settings() -> SyncSettings:
	doc = frappe.get_cached_doc(SETTINGS)
	return settings_from_values(doc.as_dict(), [(r.major, r.minor) for r in doc.get("punch_codes") or []])


def site_time_zone() -> str:
	return get_system_timezone()


def dt(value: Any) -> datetime | None:
	return get_datetime(value) if value else None


def committed_despite_deadlocks(work: Callable[[], T]) -> T:
	"""Run `work` and commit. When the database picks it as a deadlock victim it rolls the whole transaction back:
	roll back and run `work` again (up to DEADLOCK_ATTEMPTS times), so `work` must be the whole transaction (the
	caller has committed before)."""
	attempt = 0
	while True:
		try:
			result = work()
			frappe.db.commit()
			return result
		except frappe.QueryDeadlockError:
			frappe.db.rollback()
			attempt += 1
			if attempt == DEADLOCK_ATTEMPTS:
				raise
			time.sleep(0.1 * attempt)


def on_postgres() -> bool:
	return frappe.db.db_type == "postgres"


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
	for i in range(0, len(values), size):
		yield values[i : i + size]


def insert_rows(
	doctype: str, fields: Sequence[str], rows: Sequence[Sequence[Any]], *, ignore_duplicates: bool = False
) -> None:
	"""What `frappe.db.bulk_insert` writes, as parametrised multi-row INSERTs: the driver escapes the values,
	where bulk_insert builds a query object per value (formatting 5,000 check-ins took it longer than MariaDB
	took to insert them). `ignore_duplicates`: rows that hit a unique key are skipped."""
	postgres = on_postgres()
	verb = "insert ignore into" if ignore_duplicates and not postgres else "insert into"
	conflict = " on conflict do nothing" if ignore_duplicates and postgres else ""
	columns = ", ".join(f"`{field}`" for field in fields)
	row = "(" + ", ".join(["%s"] * len(fields)) + ")"
	for chunk in chunks(rows, INSERT_CHUNK):
		frappe.db.sql(
			f"{verb} `tab{doctype}` ({columns}) values {', '.join([row] * len(chunk))}{conflict}",
			[value for values in chunk for value in values],
		)


def only_for(roles: str | list[str]) -> None:
	"""Refuse the session user unless it holds one of `roles`.

	On Frappe 15, `frappe.only_for` returns early whenever `frappe.flags.in_test` is set, so a guard built on it
	is never exercised by the bench tests (16 checks the roles in tests too; both let Administrator through).
	This one is enforced the same way everywhere, on both versions.
	"""
	allowed = [roles] if isinstance(roles, str) else roles
	if set(allowed).isdisjoint(frappe.get_roles()):
		frappe.throw(
			_("This action is only allowed for {0}").format(", ".join(_(role) for role in allowed)),
			frappe.PermissionError,
			title=_("Not permitted"),
		)


def login_rejected_message(device: str) -> str:
	"""Why a device with Login Rejected is not tried again (`errors.auth_hint()` says what to check)."""
	return _(
		"The last login to {0} was rejected, so it is not tried again until Device User or the password is "
		"changed and saved."
	).format(device)


@contextmanager
def quiet_messages() -> Iterator[None]:
	"""Drop the browser messages queued inside: failures that went through `frappe.throw` reach the caller as the
	exceptions it catches (as from a `doc.insert()`), not also as messages shown to the user."""
	messages = len(frappe.local.message_log)
	try:
		yield
	finally:
		del frappe.local.message_log[messages:]
