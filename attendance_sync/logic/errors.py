"""What a user is told when a device run fails: the error, and what to check, chosen by exception class.

Classes are matched by name along the exception's MRO, so this module needs no import of `_core` and keeps
working for subclasses the core may add.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from attendance_sync.logic.i18n import _

AUTH_ERROR = "DeviceAuthError"
DEVICE_ERROR_BASE = "AttendanceSyncError"
REDACTED = "********"


# Exceptions whose message is written for the user (frappe.throw, a window or host to correct), by module and
# class name along the MRO. Anything else that is not a device error is unexpected: its raw message (Python's
# "'NoneType' object has no attribute ...") goes to the Error Log with the traceback, never to the user.
USER_ERRORS = frozenset(
	{
		("frappe.exceptions", "ValidationError"),
		("frappe.exceptions", "PermissionError"),
		("attendance_sync.logic.windows", "WindowError"),
		("attendance_sync.logic.hosts", "HostError"),
		# The core's own checks of Device(...)'s address and offset (the same rules as logic.hosts/timezones).
		("attendance_sync_core._core", "HostError"),
		("attendance_sync_core._core", "UtcOffsetError"),
	}
)


@dataclass(frozen=True)
class ErrorReport:
	kind: str
	message: str
	hint: str
	is_device_error: bool
	auth_failure: bool
	# Neither a device error nor a message meant for the user: the caller logs the traceback.
	unexpected: bool = False

	def text(self) -> str:
		return f"{self.message}\n\n{self.hint}" if self.message else self.hint


def _class_names(exc: BaseException) -> list[str]:
	return [cls.__name__ for cls in type(exc).__mro__]


def redact(text: str, secrets: Iterable[str | None]) -> str:
	"""Mask every secret in `text`; the core never puts the password in a message, and this makes sure."""
	for secret in secrets:
		if secret:
			text = text.replace(secret, REDACTED)
	return text


def _is_user_error(exc: BaseException) -> bool:
	return any((cls.__module__, cls.__name__) in USER_ERRORS for cls in type(exc).__mro__)


def auth_hint() -> str:
	"""What to check after a rejected login (sync, Test Connection, Fetch Check-in alike)."""
	return _(
		"Check Device User and Device User Password here and on the terminal. Terminals lock the account "
		"after about five failed logins, so this device is not tried again (by the schedule, Fetch Check-in "
		"or Test Connection) until Device User or the password is changed and saved."
	)


def _hint(kind: str, exc: BaseException) -> str:
	if kind == AUTH_ERROR:
		hint = auth_hint()
		locked_until = getattr(exc, "locked_until", None)
		if isinstance(locked_until, datetime):
			hint += " " + _("The terminal reports the account locked until {0}.").format(
				locked_until.isoformat(sep=" ", timespec="seconds")
			)
		return hint
	if kind == "DeviceUnreachableError":
		return _(
			"Check Device IP and Port, that the terminal is powered and on the network, and that this server "
			"can reach it (VPN, firewall, port forwarding). A cloud-hosted site cannot reach a terminal on an "
			"office LAN by itself."
		)
	if kind == "DeviceTimeoutError":
		return _(
			"The terminal did not answer in time. Check the network path to it; on a slow link raise the "
			"timeouts in Attendance Sync Settings."
		)
	if kind == "DeviceTlsError":
		return _(
			"The TLS handshake failed. Check Use HTTPS and Port; terminals use self-signed certificates, which "
			"need Verify TLS Certificate turned off."
		)
	if kind == "DeviceHttpError":
		status = getattr(exc, "status", None)
		sub_status = getattr(exc, "sub_status", None)
		if status == 403 and sub_status == "notSupport":
			return _(
				"This terminal cannot be searched for events (ISAPI AcsEvent is not supported); push mode is "
				"the way for it."
			)
		if status == 403:
			return _("The device user lacks the rights to search events; use an administrator account.")
		if status == 404:
			return _(
				"The address answers but is not an ISAPI access-control terminal. Check Device IP and Port "
				"(8000 is the SDK port, not ISAPI)."
			)
		if isinstance(status, int) and status >= 500:
			return _("The terminal reported an internal error or is busy; the next run will try again.")
		return _("The terminal refused the request. Check Major and Minor and the terminal's firmware.")
	if kind == "DeviceProtocolError":
		return _(
			"The answer could not be read. Check that Device IP points at the terminal itself (not a router, "
			"NVR or web page) and consider a firmware update."
		)
	if kind == "DeviceFaultError":
		return _(
			"The terminal misbehaved while paging (repeated or endless pages). Nothing past the fault was "
			"stored; the next run tries again. Restart the terminal if it persists."
		)
	if kind == DEVICE_ERROR_BASE:
		return _("Check the device's connection settings.")
	if kind == "HostError":
		return _(
			"Check Device IP and Port: the host only, as an IP address or host name, and the port apart."
		)
	if kind == "UtcOffsetError":
		return _(
			"Check Device Time Zone: empty, a UTC offset such as +06:00, or a zone name such as Asia/Dhaka."
		)
	if _is_user_error(exc):
		return _("Correct what the message says and try again.")
	return _(
		"This is not a fault of the terminal or its settings. The Error Log (filtered by this device) has the "
		"details; if it happens again, send them to your system administrator."
	)


def describe_error(exc: BaseException, *, secrets: Iterable[str | None] = ()) -> ErrorReport:
	"""The user-facing report for an exception raised by a device run."""
	names = _class_names(exc)
	known = (
		AUTH_ERROR,
		"DeviceUnreachableError",
		"DeviceTimeoutError",
		"DeviceTlsError",
		"DeviceHttpError",
		"DeviceProtocolError",
		"DeviceFaultError",
		DEVICE_ERROR_BASE,
	)
	kind = next((n for n in names if n in known), type(exc).__name__)
	is_device_error = DEVICE_ERROR_BASE in names
	unexpected = not is_device_error and not _is_user_error(exc)
	if unexpected:
		message = _("An unexpected error occurred ({0}).").format(kind)
	else:
		message = redact(str(exc), list(secrets))
	return ErrorReport(
		kind=kind,
		message=message,
		hint=_hint(kind, exc),
		is_device_error=is_device_error,
		auth_failure=kind == AUTH_ERROR,
		unexpected=unexpected,
	)
