"""Validation of the Device IP field: a bare host (IPv4, IPv6 or host name), optionally with :port."""

import ipaddress
import re

from attendance_sync.logic.i18n import _

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class HostError(ValueError):
	"""The Device IP value is not a bare host; the message says what to change."""


def validate_port(port: int | None) -> int | None:
	if port in (None, 0):
		return None
	if not 1 <= int(port) <= 65535:
		raise HostError(_("Port must be between 1 and 65535"))
	return int(port)


def _host_name(host: str) -> str:
	name = host[:-1] if host.endswith(".") else host
	labels = name.split(".")
	if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
		raise HostError(_("{0} is not a valid IP address or host name").format(host))
	if all(label.isdigit() for label in labels):
		# Digits and dots only: meant as an IPv4 address, and not a valid one.
		raise HostError(_("{0} is not a valid IPv4 address").format(host))
	return name.lower()


def parse_host(value: str | None) -> tuple[str, int | None]:
	"""Split and validate `host[:port]` as typed into Device IP.

	Returns the host (IPv6 without brackets) and the port if one was typed. A scheme, a path, credentials or
	spaces are refused with a message saying where that setting belongs instead.
	"""
	text = (value or "").strip()
	if not text:
		raise HostError(_("Device IP is required"))
	if "://" in text or text.lower().startswith(("http:", "https:")):
		raise HostError(
			_("Enter the host only, without http:// or https://; use the Use HTTPS setting instead")
		)
	if any(c in text for c in "/?#"):
		raise HostError(_("Enter the host only, without a path such as /ISAPI"))
	if "@" in text:
		raise HostError(_("Enter the host only; the user and password have their own fields"))
	if any(c.isspace() for c in text):
		raise HostError(_("Device IP must not contain spaces"))

	port: str | None = None
	if text.startswith("["):
		end = text.find("]")
		if end < 0:
			raise HostError(_("Missing ] after the IPv6 address"))
		host, rest = text[1:end], text[end + 1 :]
		if rest:
			if not rest.startswith(":"):
				raise HostError(_("Unexpected text after the IPv6 address: {0}").format(rest))
			port = rest[1:]
		try:
			ip6 = ipaddress.IPv6Address(host)
		except ValueError:
			raise HostError(_("{0} is not a valid IPv6 address").format(host))
		return str(ip6), _port(port)
	if text.count(":") > 1:
		try:
			return str(ipaddress.IPv6Address(text)), None
		except ValueError:
			raise HostError(
				_("{0} is not a valid IPv6 address; write [address]:port to add a port").format(text)
			)
	if ":" in text:
		text, port = text.split(":", 1)
	number = _port(port)
	try:
		return str(ipaddress.IPv4Address(text)), number
	except ValueError:
		return _host_name(text), number


def _port(text: str | None) -> int | None:
	if text is None:
		return None
	if not text.isdigit():
		raise HostError(_("Port must be a number: {0}").format(text))
	port = validate_port(int(text))
	if port is None:
		raise HostError(_("Port must be between 1 and 65535"))
	return port
