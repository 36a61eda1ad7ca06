"""The check-in locks of a batch's people: one per device user ID of its punches and one per Employee they map to,
taken with `locks.advisory_locks` so that two jobs never decide one person's punches at once."""

import json
import os
import time
from collections.abc import Iterable
from typing import Any, NoReturn

import frappe
from frappe import _
from frappe.utils import cint, flt

from attendance_sync.attendance_sync.common import throw
from attendance_sync.logic import checkin_plan as CP
from attendance_sync.logic import punches as P

# Test hook (site config): {"parties": N, "timeout": seconds}. A batch holding its locks registers in a Redis list
# and waits until N batches have registered (or the timeout): two batches can only both see N when they held
# their locks at the same time.
LOCK_BARRIER_CONF = "attendance_sync_checkin_lock_barrier"
LOCK_BARRIER_KEY = "attendance_sync:checkin_lock_barrier"


def checkin_lock_names(rows: Iterable[Any], employees: CP.EmployeeIndex) -> list[str]:
	"""The locks a batch holds: one per device user ID of its punches, one per Employee they map to.

	The device user ID lock makes deciding a punch exclusive whatever the Employee index said when it was read
	(the ID of a punch never changes); the Employee lock makes inserting an Employee's check-ins exclusive, so
	the batch that holds it sees every check-in of that Employee committed before, by any job.
	"""
	users = {P.normalize_device_user_id(r.device_user_id) or "" for r in rows}
	names = [user_lock(u) for u in users]
	for user in users:
		employee = employees.lookup(user)
		if employee is not None:
			names.append(f"checkin:employee:{employee.name}")
	return names


def user_lock(device_user_id: str) -> str:
	"""The lock under which a device user ID's punches are decided."""
	return f"checkin:user:{device_user_id}"


def locks_timed_out() -> NoReturn:
	throw(_("Timed out waiting for another job's check-ins of the same employees to commit"))


def lock_barrier() -> None:
	"""The test hook `LOCK_BARRIER_CONF` (off unless the site config sets it)."""
	conf = frappe.conf.get(LOCK_BARRIER_CONF)
	if not isinstance(conf, dict):
		return
	parties, timeout = cint(conf.get("parties")), flt(conf.get("timeout")) or 60
	acquired = time.time()
	key = LOCK_BARRIER_KEY
	frappe.cache.rpush(key, json.dumps({"pid": os.getpid(), "at": acquired}))
	deadline = time.monotonic() + timeout
	while frappe.cache.llen(key) < parties and time.monotonic() < deadline:
		time.sleep(0.05)
	met = frappe.cache.llen(key) >= parties
	frappe.cache.rpush(f"{key}:done", json.dumps({"pid": os.getpid(), "at": acquired, "met": met}))
