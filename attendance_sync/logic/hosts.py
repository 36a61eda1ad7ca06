"""Validation of the Device IP field: the core's address rule (`_core.parse_host`), in the app's words.

There is one rule for what a terminal's address may be, the core's (the CLI and `_core.Device` apply it too);
this module only says its refusals in the site's language, naming the field to fix.
"""

from attendance_sync.logic.i18n import _


class HostError(ValueError):
	"""The Device IP value is not a bare host; the message says what to change."""


def validate_port(port: int | None) -> int | None:
	if port in (None, 0):
		return None
	if not 1 <= int(port) <= 65535:
		raise HostError(_("Port must be between 1 and 65535"))
	return int(port)


def parse_host(value: str | None) -> tuple[str, int | None]:
	"""Split and validate `host[:port]` as typed into Device IP.

	Returns the host (IPv6 without brackets, names in lower case) and the port if one was typed. A scheme, a
	path, credentials or spaces are refused with a message saying where that setting belongs instead.
	"""
	# Imported here: the plain modules load without the compiled core (hooks, tests of the pure rules).
	from attendance_sync import _core

	try:
		return _core.parse_host(value or "")
	except _core.HostError as e:
		raise HostError(host_error_message(e.reason, e.value)) from e


def host_error_message(reason: str, value: str | None) -> str:
	"""The message for one of the core's `HostError.reason` codes; `value` is the part of the input it names."""
	match reason:
		case "empty":
			return _("Device IP is required")
		case "scheme":
			return _(
				"Enter the host only, without http:// or https://, and use the Use HTTPS setting instead"
			)
		case "path":
			return _("Enter the host only, without a path such as /ISAPI")
		case "credentials":
			return _("Enter the host only; the user and password have their own fields")
		case "space":
			return _("Device IP must not contain spaces")
		case "unclosed_bracket":
			return _("Missing ] after the IPv6 address")
		case "after_bracket":
			return _("Unexpected text after the IPv6 address: {0}").format(value)
		case "ipv6":
			return _("{0} is not a valid IPv6 address").format(value)
		case "ipv6_needs_brackets":
			return _("{0} is not a valid IPv6 address; write [address]:port to add a port").format(value)
		case "port_not_number":
			return _("Port must be a number: {0}").format(value)
		case "port_range":
			return _("Port must be between 1 and 65535")
		case "ipv4":
			return _("{0} is not a valid IPv4 address").format(value)
		case _:
			return _("{0} is not a valid IP address or host name").format(value)
