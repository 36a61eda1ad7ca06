"""What the core is handed for a Device Configuration: its `_core.Device` (the password read here, on the
server, only), the UTC offset it reads the terminal's times with, the clock that turns the terminal's
instants into site time under Time Zone Handling, and its reader map. The device job, Test Connection, the push
buttons, the push endpoint and Reprocess all take them from here.
"""

from datetime import datetime
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, now_datetime

from attendance_sync import _core
from attendance_sync.attendance_sync.common import DEVICE, PUNCH, site_time_zone
from attendance_sync.logic import windows
from attendance_sync.logic.punches import BY_READER, PunchDirection, reader_map
from attendance_sync.logic.settings import SyncSettings
from attendance_sync.logic.timezones import (
	REINTERPRET,
	device_time_zone_rule,
	device_utc_offset,
	reinterpret_in_zone,
	site_naive_to_aware,
	to_site_naive,
)


def core_device(doc: Document, settings: SyncSettings) -> _core.Device:
	"""The `_core.Device` for a Device Configuration. The password is read here, on the server, only."""
	password = doc.get_password("device_user_password", raise_exception=False)
	if not password:
		frappe.throw(_("Set the Device User Password of {0}").format(doc.name))
	return _core.Device(
		doc.device_ip,
		doc.device_user,
		password,
		port=cint(doc.port) or None,
		https=bool(doc.use_https),
		verify_tls=bool(doc.verify_tls),
		name=doc.name,
		major=cint(doc.major),
		minor=cint(doc.minor),
		utc_offset=core_utc_offset(doc),
		time_zone=core_time_zone(doc),
		connect_timeout=settings.connect_timeout,
		timeout=settings.request_timeout,
		punch_codes=sorted(settings.punch_codes) if settings.punch_codes else None,
	)


def punch_direction(device: Any) -> PunchDirection:
	"""The Punch Direction of a device (a Device Configuration, or a row with its name, `punch_direction` and
	`fallback_log_type`): the Reader Directions are read from the table by the device's name, so a pulled run's
	document and the push endpoint's row read the same map."""
	readers = None
	if device.punch_direction == BY_READER:
		rows = frappe.get_all(
			"Device Reader Direction",
			filters={"parent": device.name, "parenttype": DEVICE, "parentfield": "reader_directions"},
			fields=["door_no", "reader_no", "log_type"],
			as_list=True,
		)
		readers = reader_map(rows)
	return PunchDirection(device.punch_direction, readers, device.fallback_log_type or None)


def log_types_again(filters: dict[str, Any]) -> dict[str | None, list[str]]:
	"""The punches matching `filters` whose Log Type their device's Punch Direction of now makes another, by
	their new Log Type. A punch stored before its reader and the terminal's direction were kept keeps its own."""
	rows = frappe.get_all(
		PUNCH,
		filters=filters,
		fields=["name", "device", "door_no", "reader_no", "device_log_type", "log_type"],
	)
	directions = {
		d.name: punch_direction(d)
		for d in frappe.get_all(
			DEVICE,
			filters={"name": ["in", sorted({r.device for r in rows})]},
			fields=["name", "punch_direction", "fallback_log_type"],
		)
	}
	changed: dict[str | None, list[str]] = {}
	for row in rows:
		direction = directions.get(row.device)
		terminal_said = row.device_log_type or None
		if direction is None or not direction.knows(terminal_said, row.reader_no):
			continue
		log_type = direction.log_type(terminal_said, row.door_no, row.reader_no)
		if log_type != (row.log_type or None):
			changed.setdefault(log_type, []).append(row.name)
	return changed


def core_utc_offset(doc: Document) -> str | None:
	"""The `utc_offset` the core reads the device's times with (searched and pushed alike): the configured zone's
	offset now covers times without one (its rule, `core_time_zone`, gives search times at other instants).
	Re-interpreting reads the wall clock of every time, so the terminal's own zone is kept for the window: the
	core writes its times at the offsets the terminal's rule gives them, the digits the terminal shows."""
	if reinterpret_zone(doc):
		return None
	return device_utc_offset(doc.device_time_zone, site_naive_to_aware(now_datetime(), site_time_zone()))


def core_time_zone(doc: Document) -> str | None:
	"""The daylight-saving rule of the configured zone, which the core writes each search time with (a window
	in the other half of the year is searched at its own offset). Re-interpreting keeps the terminal's own."""
	if reinterpret_zone(doc):
		return None
	return device_time_zone_rule(doc.device_time_zone)


def reinterpret_zone(doc: Document) -> str | None:
	"""Device Time Zone when the device's times are re-interpreted in it (Time Zone Handling), else None."""
	if doc.get("time_zone_handling") != REINTERPRET:
		return None
	if not doc.device_time_zone:
		frappe.throw(
			_("{0} of {1} needs a Device Time Zone: set it, or choose Trust Device Offsets").format(
				_(REINTERPRET), doc.name
			)
		)
	return doc.device_time_zone


class DeviceClock:
	"""Device instants to site time, and site windows to what the core is asked, under Time Zone Handling."""

	def __init__(self, site_tz: str, zone: str | None) -> None:
		self.site_tz = site_tz
		self.zone = zone

	def site_time(self, value: datetime) -> datetime:
		return to_site_naive(reinterpret_in_zone(value, self.zone) if self.zone else value, self.site_tz)

	def request(self, window: windows.Window) -> tuple[datetime, datetime]:
		"""A site-time window as the core takes it: instants, or the terminal's wall clock (naive)."""
		if self.zone:
			return windows.device_wall_window(window, self.site_tz, self.zone)
		return site_naive_to_aware(window.start, self.site_tz), site_naive_to_aware(window.end, self.site_tz)
