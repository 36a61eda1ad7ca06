# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, get_datetime, today

from attendance_sync.attendance_sync import cursors, maintenance
from attendance_sync.logic.hosts import HostError, parse_host, validate_port
from attendance_sync.logic.punches import PUNCH_DIRECTIONS
from attendance_sync.logic.push import validate_sync_mode
from attendance_sync.logic.schedule import FREQUENCIES
from attendance_sync.logic.timezones import normalize_device_time_zone, validate_time_zone_handling

# Changing any of these is a new attempt at the login, so a rejected login may be tried again.
CREDENTIAL_FIELDS = ("device_ip", "port", "use_https", "device_user", "device_user_password")
# Written only by Enable Push / Rotate Token / Disable Push and by the push endpoint, never by a form save (a form
# opened before Enable Push would otherwise send its empty token hash back).
PUSH_STATE_FIELDS = (
	"push_token_hash",
	"push_token_prefix",
	"push_host_on_terminal",
	"last_push_at",
	"last_push_serial",
	"push_gaps",
)


class DeviceConfiguration(Document):
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
			else frappe.db.get_value(self.doctype, self.name, PUSH_STATE_FIELDS, as_dict=True)
		)
		for field in PUSH_STATE_FIELDS:
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
