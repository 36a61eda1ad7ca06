"""Whitelisted methods behind the Device Configuration form and the Device Punch list.

Every method checks the role on the server. None of them returns or logs the device password.
"""

import json
from datetime import timedelta
from typing import Any

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import cint, get_datetime, now_datetime, strip_html

from attendance_sync.attendance_sync import common, jobs, maintenance
from attendance_sync.logic import errors, windows
from attendance_sync.logic import punches as P

MANAGER = "System Manager"
READERS = ["System Manager", "HR Manager"]
# How Frappe writes a Datetime value (and the dialog's Datetime fields read it).
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


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


@frappe.whitelist()
def fetch_window_defaults(device: str) -> dict[str, Any]:
	"""The Fetch Check-in dialog's defaults: From (Synced Up To, else a day ago) and To (now), both full
	datetimes in the site's time zone as Datetime fields hold them, never longer than the window limit."""
	only_for(MANAGER)
	synced_up_to = frappe.get_doc(common.DEVICE, device).synced_up_to
	now = now_datetime().replace(microsecond=0)
	start = get_datetime(synced_up_to).replace(microsecond=0) if synced_up_to else None
	if start is None or start >= now:
		start = now - timedelta(days=1)
	end = min(now, start + windows.MANUAL_WINDOW_MAX)
	return {
		"from_time": start.strftime(DATETIME_FORMAT),
		"to_time": end.strftime(DATETIME_FORMAT),
		"max_days": windows.MANUAL_WINDOW_MAX.days,
	}


@frappe.whitelist(methods=["POST"])
def fetch_checkins(device: str, from_time: str, to_time: str, bulk: int | str | bool = 0) -> dict[str, Any]:
	"""Fetch Check-in: queue the device job for a window of at most 31 days.

	`bulk`: insert this run's check-ins in bulk (large backfills; docs/frappe.md, Bulk insert). Otherwise the
	run does so only above Attendance Sync Settings' Bulk Insert Above."""
	only_for(MANAGER)
	doc = frappe.get_doc(common.DEVICE, device)
	if doc.auth_blocked:
		frappe.throw(f"{login_rejected_message(device)} {errors.auth_hint()}", title=_("Login Rejected"))
	try:
		start, end = get_datetime(from_time), get_datetime(to_time)
	except Exception:
		frappe.throw(_("From and To must be a date and time"), title=_("Fetch Check-in"))
	try:
		window = windows.manual_window(start, end, now=now_datetime())
	except windows.WindowError as e:
		frappe.throw(str(e), title=_("Fetch Check-in"))
	try:
		queued = jobs.enqueue_device(
			device,
			jobs.MANUAL,
			from_time=str(window.start),
			to_time=str(window.end),
			bulk=cint(bulk),
		)
	except frappe.ValidationError:
		raise
	except Exception:
		# Python's message (a queue that is down, say) means nothing to the user: it goes to the Error Log.
		frappe.log_error(
			title=_("Attendance Sync: Fetch Check-in of {0} could not be queued").format(device),
			reference_doctype=common.DEVICE,
			reference_name=device,
		)
		frappe.throw(
			_(
				"Fetch Check-in of {0} could not be queued: the background job service did not accept it. The "
				"Error Log has the details; check that the bench's workers and Redis queue are running."
			).format(device),
			title=_("Fetch Check-in"),
		)
	if not queued:
		frappe.msgprint(
			_("A sync of {0} is already queued or running; try again when it has finished.").format(device),
			indicator="orange",
		)
	return {"queued": queued, "job_id": common.job_id(device)}


@frappe.whitelist(methods=["POST"])
def test_connection(device: str) -> dict[str, Any]:
	"""Talk to the device once: identity, clock skew, users, capabilities; or what to check."""
	only_for(MANAGER)
	doc = frappe.get_doc(common.DEVICE, device)
	if doc.auth_blocked:
		# A rejected login is not tried again until the user or password changes (saving clears the block):
		# every attempt spends one of the few the terminal allows before it locks the account.
		return {
			"ok": False,
			"blocked": True,
			"kind": errors.AUTH_ERROR,
			"message": login_rejected_message(device),
			"hint": errors.auth_hint(),
		}
	password = None
	try:
		password = doc.get_password("device_user_password", raise_exception=False)
		dev = jobs.core_device(doc, common.get_settings())
		core = common.load_core()
		info = core.device_info(dev)
		# Terminals that report no count in their capabilities get their user list paged.
		user_count = info.user_count if info.user_count is not None else len(core.device_users(dev))
	except Exception as e:
		frappe.clear_messages()
		report = errors.describe_error(e, secrets=[password])
		if report.auth_failure:
			# Exactly as a sync does: block the device until its user or password is changed and saved.
			frappe.db.set_value(
				common.DEVICE,
				device,
				{"auth_blocked": 1, "last_error": report.text()},
				update_modified=False,
			)
			maintenance.refresh_health(device)
		elif report.unexpected:
			frappe.log_error(
				title=_("Attendance Sync: Test Connection of {0} failed").format(device),
				message=errors.redact(frappe.get_traceback(), [password]),
				reference_doctype=common.DEVICE,
				reference_name=device,
			)
		return {
			"ok": False,
			"blocked": report.auth_failure,
			"kind": report.kind,
			"message": strip_html(report.message),
			"hint": report.hint,
		}

	updates: dict[str, Any] = {
		"model": info.model,
		"firmware": info.firmware,
		"serial_number": info.serial_number,
	}
	frappe.db.set_value(common.DEVICE, device, updates, update_modified=False)
	maintenance.refresh_health(device)
	return {
		"ok": True,
		"model": info.model,
		"firmware": info.firmware,
		"serial_number": info.serial_number,
		"device_name": info.device_name,
		"device_time": info.device_time.isoformat(),
		"time_zone": info.time_zone,
		"clock_skew_seconds": info.clock_skew_seconds,
		"user_count": user_count,
		"supports_event_search": info.supports_event_search,
		"supports_serial_search": info.supports_serial_search,
	}


@frappe.whitelist(methods=["POST"])
def reprocess_punches(names: str | list[str]) -> dict[str, Any]:
	"""Reprocess selected Device Punches that did not become check-ins."""
	only_for(MANAGER)
	if isinstance(names, str):
		names = json.loads(names)
	if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
		frappe.throw(_("Select the punches to reprocess"))
	eligible = frappe.get_all(
		common.PUNCH,
		filters={"name": ["in", names], "status": ["in", list(P.REPROCESSABLE_STATUSES)]},
		pluck="name",
	)
	if eligible:
		jobs.enqueue_reprocess(names=eligible)
	return {"queued": len(eligible), "ignored": len(names) - len(eligible)}


@frappe.whitelist()
def unmapped_device_users() -> list[dict[str, Any]]:
	"""Unmapped punches grouped by device user ID and name on device, most punches first."""
	only_for(READERS)
	punch = frappe.qb.DocType(common.PUNCH)
	punches = Count(punch.name).as_("punches")
	return (
		frappe.qb.from_(punch)
		.select(
			punch.device_user_id,
			punch.name_on_device,
			punches,
			Min(punch.time).as_("first_seen"),
			Max(punch.time).as_("last_seen"),
		)
		.where(punch.status == P.UNMAPPED)
		.groupby(punch.device_user_id, punch.name_on_device)
		.orderby(Count(punch.name), order=Order.desc)
		.limit(500)
		.run(as_dict=True)
	)


@frappe.whitelist(methods=["POST"])
def sync_all_devices() -> list[str]:
	"""Queue a scheduled run of every enabled device now (what the daily event does)."""
	only_for(MANAGER)
	return jobs.scheduled_daily()
