"""Time-zone rules: device instants in, naive site-local datetimes out (and back for request windows).

Frappe stores Datetime fields naive in the site's time zone (System Settings). Devices report instants with their
own UTC offset. Converting once, here, with zoneinfo, is what keeps punches from shifting by hours.
"""

import importlib.resources
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError

from attendance_sync.logic.i18n import _

# Device Configuration's Time Zone Handling.
TRUST_OFFSETS = "Trust Device Offsets"
REINTERPRET = "Re-interpret in Device Time Zone"
TIME_ZONE_HANDLING = (TRUST_OFFSETS, REINTERPRET)


def zone(name: str) -> ZoneInfo:
	"""The ZoneInfo for an IANA name; ValueError (not ZoneInfoNotFoundError) for an unknown one."""
	try:
		return ZoneInfo(name)
	except (ZoneInfoNotFoundError, ValueError) as e:
		raise ValueError(_("Unknown time zone: {0}").format(name)) from e


def to_site_naive(value: datetime, site_tz: str) -> datetime:
	"""An aware instant as a naive datetime in the site's zone, to the second (devices have no sub-second)."""
	if value.tzinfo is None or value.utcoffset() is None:
		raise ValueError(_("A device time without a UTC offset cannot be placed in the site's time zone"))
	return value.astimezone(zone(site_tz)).replace(tzinfo=None, microsecond=0)


def site_naive_to_aware(value: datetime, site_tz: str) -> datetime:
	"""A naive site-local datetime (a Frappe Datetime value) as an aware instant."""
	if value.tzinfo is not None:
		return value
	return value.replace(tzinfo=zone(site_tz))


def parse_utc_offset(text: str) -> timedelta:
	"""`+06:00`, `-0330`, `+5`, `UTC+05:45`, `Z` or `UTC` as a timedelta; ValueError otherwise.

	The rule is the core's (`_core.parse_utc_offset`, which `_core.Device` and the CLI apply too).
	"""
	# Imported here: the plain modules load without the compiled core (hooks, tests of the pure rules).
	from attendance_sync import _core

	try:
		return timedelta(seconds=_core.parse_utc_offset(text))
	except _core.UtcOffsetError as e:
		if e.reason == "range":
			raise ValueError(_("UTC offset out of range: {0}").format(text)) from e
		raise ValueError(_("Not a UTC offset: {0}").format(text)) from e


def format_utc_offset(offset: timedelta) -> str:
	"""A timedelta as `+HH:MM`, the form `_core.Device(utc_offset=...)` takes."""
	total = int(offset.total_seconds()) // 60
	sign = "-" if total < 0 else "+"
	hours, minutes = divmod(abs(total), 60)
	return f"{sign}{hours:02d}:{minutes:02d}"


def normalize_device_time_zone(value: str | None) -> str | None:
	"""Validate the Device Time Zone setting: empty (read from the device), a UTC offset or an IANA name.

	Offsets come back normalised to `+HH:MM`; IANA names unchanged.
	"""
	text = (value or "").strip()
	if not text:
		return None
	try:
		return format_utc_offset(parse_utc_offset(text))
	except ValueError:
		pass
	if "/" in text or text.upper() == "UTC":
		zone(text)
		return text
	raise ValueError(
		_("Device Time Zone must be empty, a UTC offset such as +06:00, or a zone name such as Asia/Dhaka")
	)


def device_utc_offset(setting: str | None, at: datetime) -> str | None:
	"""The `utc_offset` to hand the core for a device: None (the device's own), or the setting's offset at `at`.

	An IANA name resolves to the offset in force at `at`, so daylight saving is followed from run to run.
	"""
	normalized = normalize_device_time_zone(setting)
	if normalized is None:
		return None
	try:
		return format_utc_offset(parse_utc_offset(normalized))
	except ValueError:
		instant = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
		offset = instant.astimezone(zone(normalized)).utcoffset()
		return format_utc_offset(offset or timedelta(0))


def device_time_zone_rule(setting: str | None) -> str | None:
	"""The POSIX TZ rule of a Device Time Zone named by zone (`Europe/Berlin` -> `CET-1CEST,M3.5.0,M10.5.0/3`),
	for `_core.Device(time_zone=...)`: the core writes each search time in the offset of its own instant, so a
	window in the other half of the year is searched where it is on the terminal's clock. None for an offset,
	an empty setting, or a zone whose data has no rule (its offset then never changes).

	The rule is the footer of the zone's TZif file (version 2 and later), from the system's zone files or the
	tzdata package, the sources zoneinfo reads.
	"""
	normalized = normalize_device_time_zone(setting)
	if normalized is None or normalized.startswith(("+", "-")):
		return None
	data = _tzif(normalized)
	if not data or not data.startswith(b"TZif") or data[4:5] < b"2":
		return None
	footer = data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace").strip()
	return footer if "," in footer else None


def _tzif(name: str) -> bytes | None:
	parts = name.split("/")
	if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
		return None
	for root in TZPATH:
		path = Path(root) / name
		if path.is_file():
			return path.read_bytes()
	try:
		return importlib.resources.files("tzdata.zoneinfo").joinpath(*parts).read_bytes()
	except (ModuleNotFoundError, FileNotFoundError, OSError):
		return None


def validate_time_zone_handling(handling: str | None, device_time_zone: str | None) -> str:
	"""Validate the Time Zone Handling setting (empty: the default) against Device Time Zone.

	Re-interpreting a terminal's times needs the zone to read them in: a UTC offset or an IANA name.
	"""
	value = handling or TRUST_OFFSETS
	if value not in TIME_ZONE_HANDLING:
		raise ValueError(_("Time Zone Handling must be one of {0}").format(", ".join(TIME_ZONE_HANDLING)))
	if value == REINTERPRET and normalize_device_time_zone(device_time_zone) is None:
		raise ValueError(
			_(
				"{0} needs a Device Time Zone: the zone the terminal's clock really shows, as a zone name such "
				"as Europe/Berlin (follows daylight saving) or a UTC offset such as +06:00"
			).format(REINTERPRET)
		)
	return value


def reinterpret_in_zone(value: datetime, setting: str) -> datetime:
	"""A device time's wall clock (whatever offset it carries) as an instant in Device Time Zone `setting`.

	For a terminal whose clock shows the right local time under a wrong time zone setting. An IANA name is
	applied per instant, so a window across a daylight-saving change gets each side's offset. A wall-clock time
	the change makes ambiguous (the repeated hour) is read as its first occurrence, and one it skips (the
	missing hour) with the offset in force before the change, as zoneinfo does (fold=0).
	"""
	normalized = normalize_device_time_zone(setting)
	if normalized is None:
		raise ValueError(_("Re-interpreting a device time needs a Device Time Zone"))
	wall = value.replace(tzinfo=None)
	try:
		return wall.replace(tzinfo=timezone(parse_utc_offset(normalized)))
	except ValueError:
		return wall.replace(tzinfo=zone(normalized), fold=0)
