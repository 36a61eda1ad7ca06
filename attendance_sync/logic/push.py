"""Push (a terminal or the relay POSTs its events to the site): the rules that need neither frappe nor the core.

Sync Mode, the device's push token (generated, kept only as a hash and a short prefix, compared in constant time),
the rule that tells a missed push from the serials a push carries, and what to type into a terminal's web page.
The wire contract is docs/push.md.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from attendance_sync.logic.i18n import _

PULL = "Pull"
PUSH = "Push"
PUSH_RECONCILE = "Push with pull reconciliation"
SYNC_MODES = (PULL, PUSH, PUSH_RECONCILE)
PUSH_MODES = (PUSH, PUSH_RECONCILE)
# What Enable Push sets when the device was pulled: the scheduled search stays, as the reconciler.
DEFAULT_PUSH_MODE = PUSH_RECONCILE

# The endpoint (a guest-callable method of the app's top-level `api` module).
METHOD = "attendance_sync.api.push"
METHOD_PATH = f"/api/method/{METHOD}"
MAX_BODY = 1024 * 1024
# secrets.token_urlsafe(32): 43 characters of URL-safe base64, 256 random bits.
TOKEN_BYTES = 32
PREFIX_LENGTH = 8
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def schedules_pulls(mode: str | None) -> bool:
	"""Whether the scheduler searches the device: every mode but pure Push (an empty mode is Pull)."""
	return (mode or PULL) != PUSH


def reconciles(mode: str | None) -> bool:
	"""Whether a missed push is searched for at once: the modes whose terminal the site can search."""
	return (mode or PULL) == PUSH_RECONCILE


def validate_sync_mode(mode: str | None, push_enabled: bool) -> str:
	"""The mode to store; a push mode needs a token (Enable Push), and Pull needs none (Disable Push)."""
	mode = mode or PULL
	if mode not in SYNC_MODES:
		raise ValueError(_("Sync Mode must be one of {0}").format(", ".join(SYNC_MODES)))
	if mode in PUSH_MODES and not push_enabled:
		raise ValueError(_("Sync Mode {0} needs a push token: use Enable Push").format(_(mode)))
	if mode == PULL and push_enabled:
		raise ValueError(
			_(
				"The device has a push token: use Disable Push to go back to {0}, so the token is dropped"
			).format(_(PULL))
		)
	return mode


def new_token() -> str:
	"""A fresh push token: 256 random bits, URL-safe, so it travels in a query string as it is."""
	return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
	"""What is stored of a token. A token is 256 random bits, so one SHA-256 is enough (no password stretching)."""
	return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_prefix(token: str) -> str:
	"""The start of a token, stored in clear to recognise it on the form and to find its device."""
	return token[:PREFIX_LENGTH]


def plausible_token(token: str | None) -> bool:
	"""A text shaped like a token (refused before any lookup otherwise)."""
	return bool(token) and bool(_TOKEN_CHARS.match(token))


def token_matches(token: str, stored_hash: str | None) -> bool:
	"""The presented token against a stored hash, in constant time."""
	return hmac.compare_digest(token_hash(token), stored_hash or "")


def push_gap(
	last_serial: int | None, serial: int | None, front_serial: int | None, current_event: bool | None
) -> bool:
	"""Whether a pushed event shows that pushes were missed since the last serial the site saw.

	`front_serial` (frontSerialNo) is the serial of the event the terminal sent before this one: ahead of the
	last serial seen, the events in between never arrived. Without it, a serial more than one ahead is the same
	sign. A stored event sent again (`current_event` False: a back-fill, or the relay) fills gaps, never shows
	one; nothing is known before a first serial. A serial at or below the last one (a counter restarted) is no gap.
	"""
	if current_event is False or last_serial is None or serial is None:
		return False
	if front_serial is not None:
		return front_serial > last_serial
	return serial > last_serial + 1


@dataclass(frozen=True)
class TerminalTarget:
	"""The values of a terminal's HTTP listening host (ISAPI httpHosts, or its web page), and the whole URL."""

	url: str
	protocol: str  # HTTP or HTTPS
	addressing: str  # hostname or ipaddress
	address: str
	port: int
	path: str  # with the token in its query string

	def as_dict(self) -> dict[str, object]:
		return {
			"url": self.url,
			"protocol": self.protocol,
			"addressing": self.addressing,
			"address": self.address,
			"port": self.port,
			"path": self.path,
		}


def terminal_target(site_url: str, token: str) -> TerminalTarget:
	"""Where a terminal pushes for a site at `site_url` (scheme and host, as `frappe.utils.get_url()` gives it)."""
	parts = urlsplit(site_url.strip())
	if parts.scheme not in ("http", "https") or not parts.hostname:
		raise ValueError(_("The site's URL {0} is not an http(s) address").format(site_url))
	https = parts.scheme == "https"
	port = parts.port or (443 if https else 80)
	host = parts.hostname
	path = f"{METHOD_PATH}?token={quote(token, safe='')}"
	addressing = "ipaddress" if _is_ip(host) else "hostname"
	netloc = f"[{host}]" if ":" in host else host
	if parts.port:
		netloc += f":{parts.port}"
	return TerminalTarget(
		url=f"{parts.scheme}://{netloc}{path}",
		protocol="HTTPS" if https else "HTTP",
		addressing=addressing,
		address=host,
		port=port,
		path=path,
	)


def _is_ip(host: str) -> bool:
	import ipaddress

	try:
		ipaddress.ip_address(host)
	except ValueError:
		return False
	return True


def retry_after(window_seconds: int, now: float) -> int:
	"""Seconds until a fixed rate-limit window of `window_seconds` that contains `now` ends (at least 1)."""
	return max(1, int(window_seconds - (now % window_seconds)))
