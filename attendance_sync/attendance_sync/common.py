"""What the app's jobs, check-ins, cursors and maintenance share: doctype names, job ids, the settings, the
extension, and the test switch."""

from datetime import datetime
from typing import Any

import frappe
from frappe.utils import get_datetime, get_system_timezone

from attendance_sync.logic.settings import SyncSettings, settings_from_values

DEVICE = "Device Configuration"
PUNCH = "Device Punch"
LOG = "Attendance Sync Log"
SETTINGS = "Attendance Sync Settings"

JOB_TIMEOUT = 4 * 3600


def in_test() -> bool:
	"""Whether tests are running: `frappe.in_test` where it exists (version 16), else `frappe.flags.in_test`."""
	flag = getattr(frappe, "in_test", None)
	if isinstance(flag, bool):
		return flag
	return bool(frappe.flags.in_test)


def job_id(device: str) -> str:
	return f"attendance_sync::{device}"


def load_core() -> Any:
	# Imported on use: forms, hooks and the plain logic keep working where the extension is not built yet.
	from attendance_sync import _core

	return _core


def get_settings() -> SyncSettings:
	doc = frappe.get_cached_doc(SETTINGS)
	return settings_from_values(doc.as_dict(), [(r.major, r.minor) for r in doc.get("punch_codes") or []])


def site_time_zone() -> str:
	return get_system_timezone()


def dt(value: Any) -> datetime | None:
	return get_datetime(value) if value else None
