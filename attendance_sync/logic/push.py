"""Push (a terminal or the relay POSTs its events to the site): the rules that need neither frappe nor the core.

Sync Mode, the device's push token (generated, kept only as a hash and a short prefix, compared in constant time),
the rule that tells a missed push from the serials a push carries, the times and serials a push is trusted with,
and what to type into a terminal's web page. The wire contract is docs/push.md.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
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

# What a pushed event is trusted with (docs/push.md, "Times and serials the site trusts").
# How far past the device's clock a pushed event may be: the site's clock, plus the clock skew a search of the
# device measured (when it is ahead), plus this. A terminal whose clock is off by hours (a wrong time zone or
# daylight-saving setting) still delivers; a date days or years ahead (a clock reset to 2099 or 9999, a forged
# push) does not.
PUSH_CLOCK_TOLERANCE = timedelta(days=1)
# The earliest a pushed event may be when the device has no Sync Start (which the form always fills in).
PUSH_LOOKBACK_WITHOUT_SYNC_START = timedelta(days=366)
BEFORE_SYNC_START = "before_sync_start"
AFTER_DEVICE_CLOCK = "after_device_clock"
# A pushed serial more than this far beyond the last serial the site knows moves Last Pushed Serial No only once
# a stored event numbered in the same reach confirms it: one forged or garbled serial cannot turn gap detection
# off (every later serial would look like a restarted counter). A terminal records far fewer events between two
# pushes; after a long silence, its next push confirms the first.
MAX_SERIAL_JUMP = 100_000
# No terminal counts this far (the open end of a search by serial): such a serial never moves the cursor.
MAX_SERIAL = 999_999_999


# A token as it shows in a log: a query string (`token=...`), a dict or a form (`'token': '...'`,
# `('token', '...')`). Redacted whatever its value, so a mistyped or revoked token is not kept either.
_TOKEN_IN_TEXT = re.compile(r"""(\btoken\b['"]?\s*[=:,]\s*['"]?)[A-Za-z0-9_\-]{16,}""", re.IGNORECASE)
REDACTED = "<redacted>"


def redact_tokens(text: str, prefixes: Iterable[str] = ()) -> str:
	"""`text` with every push token replaced: any value given to a `token` (query string, dict, form) and any run of
	token characters starting with a device's token prefix (however the token got there)."""
	text = _TOKEN_IN_TEXT.sub(lambda m: m.group(1) + REDACTED, text)
	for prefix in prefixes:
		if prefix and len(prefix) == PREFIX_LENGTH:
			text = re.sub(re.escape(prefix) + r"[A-Za-z0-9_\-]{16,}", REDACTED, text)
	return text


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
	return bool(token and _TOKEN_CHARS.match(token))


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
class TimeBounds:
	"""The site times (naive, in the site's zone) a pushed event may have: from Sync Start to the device's clock
	plus the tolerance."""

	earliest: datetime
	latest: datetime
	from_sync_start: bool

	def outside(self, time: datetime) -> str | None:
		"""Why `time` is not a time the device can have recorded an event at (a reason code), or None."""
		if time < self.earliest:
			return BEFORE_SYNC_START
		if time > self.latest:
			return AFTER_DEVICE_CLOCK
		return None

	def explain(self, code: str, device_time: str) -> str:
		"""The Device Punch reason for an event kept as Unreadable."""
		if code == BEFORE_SYNC_START:
			if self.from_sync_start:
				return _(
					"The terminal's time {0} is before Sync Start ({1}): kept as Unreadable, never a check-in"
				).format(device_time, self.earliest)
			return _(
				"The terminal's time {0} is before {1}, a year before it was received: kept as Unreadable, never a "
				"check-in"
			).format(device_time, self.earliest)
		return _(
			"The terminal's time {0} is after the device's clock ({1} at the latest, with a day's tolerance): "
			"kept as Unreadable, never a check-in. Check the terminal's date, time and time zone."
		).format(device_time, self.latest)


def time_bounds(now: datetime, sync_start: datetime | None, clock_skew_seconds: float | None) -> TimeBounds:
	"""The times a pushed event may have, received at site time `now`: not before Sync Start, not after the device's
	clock (the site's, plus `clock_skew_seconds` when a search measured the device ahead) and the tolerance."""
	ahead = timedelta(seconds=max(float(clock_skew_seconds or 0), 0.0))
	return TimeBounds(
		earliest=sync_start if sync_start is not None else now - PUSH_LOOKBACK_WITHOUT_SYNC_START,
		latest=now + ahead + PUSH_CLOCK_TOLERANCE,
		from_sync_start=sync_start is not None,
	)


def serial_within_reach(last_serial: int | None, serial: int) -> bool:
	"""Whether a pushed `serial` may move Last Pushed Serial No from `last_serial` as it stands: at most
	`MAX_SERIAL_JUMP` beyond it (any lower serial is a restarted counter), never beyond `MAX_SERIAL`."""
	if serial > MAX_SERIAL:
		return False
	return last_serial is None or serial <= last_serial + MAX_SERIAL_JUMP


def confirming_serials(serial: int) -> tuple[int, int]:
	"""The serials (inclusive) of a stored event that confirms a `serial` out of reach: the terminal really counts
	there."""
	return max(serial - MAX_SERIAL_JUMP, 0), serial - 1


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
