# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

from datetime import timedelta
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, get_datetime, now_datetime, strip_html, today

from attendance_sync import _core
from attendance_sync.attendance_sync import common, cursors, jobs, maintenance, terminal
from attendance_sync.attendance_sync.common import MANAGER, login_rejected_message, only_for
from attendance_sync.logic import errors, windows
from attendance_sync.logic.hosts import HostError, parse_host, validate_port
from attendance_sync.logic.punches import BY_READER, PUNCH_DIRECTIONS
from attendance_sync.logic.push import validate_sync_mode
from attendance_sync.logic.schedule import FREQUENCIES, HEALTH_COLORS
from attendance_sync.logic.timezones import normalize_device_time_zone, validate_time_zone_handling

# Changing any of these is a new attempt at the login, so a rejected login may be tried again.
CREDENTIAL_FIELDS = ("device_ip", "port", "use_https", "device_user", "device_user_password")
# Written only by Enable Push / Rotate Token / Disable Push and by the push endpoint, never by a form save (a form
# opened before Enable Push would otherwise send its empty token hash back).
SERVER_STATE_FIELDS = (
	"push_token_hash",
	"push_token_prefix",
	"push_host_on_terminal",
	"last_push_at",
	"last_push_serial",
	"push_gaps",
	# Written by the runs, the push endpoint and the health check, never by a form save either.
	"last_contact",
	"alerted_health",
)


def boot_session(bootinfo: Any) -> None:
	"""The `boot_session` hook: Sync Health's indicator colours, for the form and the list view."""
	bootinfo.attendance_sync_health_colors = HEALTH_COLORS


class DeviceConfiguration(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from attendance_sync.attendance_sync.doctype.device_reader_direction.device_reader_direction import (
			DeviceReaderDirection,
		)
		from attendance_sync.attendance_sync.doctype.device_shift_type.device_shift_type import (
			DeviceShiftType,
		)

		alerted_health: DF.Literal["", "Needs Attention", "Stale", "Login Rejected"]
		auth_blocked: DF.Check
		device_ip: DF.Data
		device_name: DF.Data
		device_time_zone: DF.Data | None
		device_user: DF.Data
		device_user_password: DF.Password
		enabled: DF.Check
		fallback_log_type: DF.Literal["", "IN", "OUT"]
		firmware: DF.Data | None
		health_message: DF.SmallText | None
		last_contact: DF.Datetime | None
		last_error: DF.SmallText | None
		last_push_at: DF.Datetime | None
		last_sync_at: DF.Datetime | None
		last_sync_log: DF.Link | None
		last_sync_status: DF.Literal["", "Success", "Partial", "Failed"]
		latitude: DF.Float
		longitude: DF.Float
		major: DF.Int
		minor: DF.Int
		model: DF.Data | None
		port: DF.Int
		punch_direction: DF.Literal["From device", "IN", "OUT", "None", "By Reader"]
		push_gaps: DF.Int
		push_host_on_terminal: DF.Check
		push_token_hash: DF.Data | None
		push_token_prefix: DF.Data | None
		reader_directions: DF.Table[DeviceReaderDirection]
		release_shift_types: DF.Check
		serial_number: DF.Data | None
		shift_types: DF.Table[DeviceShiftType]
		sync_frequency: DF.Literal["Daily", "Hourly", "Every 15 Minutes"]
		sync_health: DF.Literal[
			"", "Synced", "Stale", "Failing", "Never Synced", "Disabled", "Needs Attention"
		]
		sync_mode: DF.Literal["Pull", "Push", "Push with pull reconciliation"]
		sync_start: DF.Datetime | None
		synced_up_to: DF.Datetime | None
		time_zone_handling: DF.Literal["Trust Device Offsets", "Re-interpret in Device Time Zone"]
		use_https: DF.Check
		verify_tls: DF.Check
	# end: auto-generated types

	def validate(self) -> None:
		self.validate_host()
		self.validate_events()
		self.validate_schedule()
		self.validate_location()
		self.validate_push()
		self.clear_auth_block()

	def validate_host(self) -> None:
		try:
			host, port = parse_host(self.device_ip)
		except HostError as e:
			frappe.throw(str(e), title=_("Device IP"))
		try:
			typed_port = validate_port(cint(self.port) or None)
		except HostError as e:
			frappe.throw(str(e), title=_("Port"))
		if port and typed_port and port != typed_port:
			frappe.throw(
				_("Device IP says port {0} but Port says {1}; keep one").format(port, typed_port),
				title=_("Device IP and Port"),
			)
		self.device_ip = host
		self.port = port or typed_port or None

	def validate_events(self) -> None:
		if cint(self.major) < 0 or cint(self.minor) < 0:
			frappe.throw(_("Major and Minor cannot be negative"))
		try:
			self.device_time_zone = normalize_device_time_zone(self.device_time_zone) or ""
		except ValueError as e:
			frappe.throw(str(e), title=_("Device Time Zone"))
		try:
			self.time_zone_handling = validate_time_zone_handling(
				self.time_zone_handling, self.device_time_zone
			)
		except ValueError as e:
			frappe.throw(str(e), title=_("Time Zone Handling"))
		if self.punch_direction not in PUNCH_DIRECTIONS:
			frappe.throw(_("Punch Direction must be one of {0}").format(", ".join(PUNCH_DIRECTIONS)))
		self.validate_reader_directions()

	def validate_reader_directions(self) -> None:
		"""By Reader needs the readers' rows; each (door, reader) once, with a reader number."""
		if self.punch_direction == BY_READER and not self.reader_directions:
			frappe.throw(
				_(
					"Add the entry and exit readers under Reader Directions, or choose another Punch Direction"
				),
				title=_("Reader Directions"),
			)
		seen: set[tuple[int, int]] = set()
		for row in self.reader_directions:
			key = (cint(row.door_no), cint(row.reader_no))
			if key[0] < 0 or key[1] < 1:
				frappe.throw(
					_(
						"Row {0} of Reader Directions: the reader is a number from 1, the door from 0 (any door)"
					).format(row.idx),
					title=_("Reader Directions"),
				)
			if key in seen:
				frappe.throw(
					_("Reader {0} of door {1} is listed twice under Reader Directions").format(
						key[1], key[0]
					),
					title=_("Reader Directions"),
				)
			seen.add(key)

	def validate_schedule(self) -> None:
		if self.enabled:
			# Released only while it is off: a terminal enabled again is waited for again.
			self.release_shift_types = 0
		if self.sync_frequency not in FREQUENCIES:
			frappe.throw(_("Sync Frequency must be one of {0}").format(", ".join(FREQUENCIES)))
		if not self.sync_start:
			self.sync_start = get_datetime(today())
		seen = set()
		for row in self.shift_types:
			if row.shift_type in seen:
				frappe.throw(_("Shift Type {0} is listed twice").format(row.shift_type))
			seen.add(row.shift_type)

	def validate_location(self) -> None:
		if self.latitude and not -90 <= self.latitude <= 90:
			frappe.throw(_("Latitude must be between -90 and 90"))
		if self.longitude and not -180 <= self.longitude <= 180:
			frappe.throw(_("Longitude must be between -180 and 180"))

	def validate_push(self) -> None:
		stored = (
			None
			if self.is_new()
			else frappe.db.get_value(self.doctype, self.name, SERVER_STATE_FIELDS, as_dict=True)
		)
		for field in SERVER_STATE_FIELDS:
			self.set(field, stored.get(field) if stored else None)
		try:
			self.sync_mode = validate_sync_mode(self.sync_mode, bool(self.push_token_hash))
		except ValueError as e:
			frappe.throw(str(e), title=_("Sync Mode"))

	def clear_auth_block(self) -> None:
		if (
			self.auth_blocked
			and not self.is_new()
			and any(self.has_value_changed(f) for f in CREDENTIAL_FIELDS)
		):
			self.auth_blocked = 0

	def on_update(self) -> None:
		# A device enabled, disabled or re-mapped changes which terminals a Shift Type waits for.
		before = self.get_doc_before_save()
		previous = [r.shift_type for r in before.shift_types] if before else []
		cursors.update_shift_types([*previous, *(r.shift_type for r in self.shift_types)])
		maintenance.refresh_health(self.name)


# --- the form's buttons ----------------------------------------------------------------------------------------

# How Frappe writes a Datetime value (and the dialog's Datetime fields read it).
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


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
		dev = terminal.core_device(doc, common.get_settings())
		info = _core.device_info(dev)
		# Terminals that report no count in their capabilities get their user list paged.
		user_count = info.user_count if info.user_count is not None else len(_core.device_users(dev))
	except Exception as e:
		frappe.clear_messages()
		report = errors.describe_error(e, secrets=[password])
		if report.auth_failure:
			# Exactly as a sync does: block the device until its user or password is changed and saved.
			frappe.db.set_value(
				common.DEVICE,
				device,
				# The terminal answered, refusing the login: it is reachable.
				{"auth_blocked": 1, "last_error": report.text(), "last_contact": now_datetime()},
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
		"last_contact": now_datetime(),
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


@frappe.whitelist()
def not_heard_from(filters: Any = None) -> dict[str, Any]:
	"""The Devices Not Heard From number card: enabled devices whose terminal has not answered (a sync, a push or
	heartbeat, Test Connection) for Attendance Sync Settings' Not Heard From minutes; a click lists them."""
	only_for(MANAGER)
	since = now_datetime().replace(microsecond=0) - timedelta(
		minutes=common.get_settings().not_heard_from_minutes
	)
	filters = {"enabled": 1, "last_contact": ["<", str(since)]}
	# Counted as the list filters (a device that never answered is before any time there).
	return {
		"value": len(frappe.get_all(common.DEVICE, filters=filters, pluck="name")),
		"fieldtype": "Int",
		"route": ["List", common.DEVICE],
		"route_options": filters,
	}
