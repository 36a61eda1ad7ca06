"""Typed surface of the Rust core (`attendance_sync._core`).

Everything that touches HTTP, digest auth, paging or device time zones lives behind this module.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, TypeAlias, TypeVar, final

__version__: str
__all__ = [
	"AttendanceSyncError",
	"Device",
	"DeviceAuthError",
	"DeviceFaultError",
	"DeviceHttpError",
	"DeviceInfo",
	"DeviceProtocolError",
	"DeviceTimeoutError",
	"DeviceTlsError",
	"DeviceUnreachableError",
	"DeviceUser",
	"Event",
	"FetchResult",
	"FetchStats",
	"HostError",
	"HttpHost",
	"HttpHostSlotTakenError",
	"HttpListeningUnsupportedError",
	"PushError",
	"PushResult",
	"UtcOffsetError",
	"__version__",
	"clear_http_host",
	"dedup",
	"device_info",
	"device_users",
	"event_key",
	"fetch_events",
	"fetch_many",
	"http_hosts",
	"parse_host",
	"parse_push",
	"parse_utc_offset",
	"punch_minors",
	"serial_event_key",
	"set_http_host",
]

_DeviceLike: TypeAlias = Device | Mapping[str, Any]
_ProgressCallback: TypeAlias = Callable[[int, int], object]

@final
class Device:
	"""Connection settings of one terminal. The password is never part of repr(), str() or an error.

	`host` follows `parse_host`: an IPv4 or IPv6 address or a host name, optionally with its port
	(`10.0.0.5:8080`, `[fe80::1]:443`), which must then agree with `port`; `HostError` otherwise. `utc_offset`
	follows `parse_utc_offset`; `UtcOffsetError` otherwise. Both are `ValueError`s. `time_zone`: a POSIX TZ
	rule with daylight saving (`CET-1CEST,M3.5.0,M10.5.0/3`, or the terminals' `CST-1:00:00DST01:00:00,...`):
	each search time is written in the offset of its own instant (`utc_offset` still reads times that carry
	none); a `ValueError` when it is not one.
	"""

	host: str
	user: str
	port: int | None
	https: bool
	verify_tls: bool
	name: str
	major: int
	minor: int
	utc_offset: str | None
	connect_timeout: float
	timeout: float
	punch_codes: list[tuple[int, int]]
	def __new__(
		cls,
		host: str,
		user: str,
		password: str,
		*,
		port: int | None = None,
		https: bool = False,
		verify_tls: bool = True,
		name: str | None = None,
		major: int = 5,
		minor: int = 0,
		utc_offset: str | None = None,
		time_zone: str | None = None,
		connect_timeout: float = 5.0,
		timeout: float = 30.0,
		punch_codes: list[tuple[int, int]] | None = None,
	) -> Device: ...
	@property
	def base_url(self) -> str: ...

@final
class Event:
	"""One access event. `time` is aware, in the offset the device reported, and always at least a day inside the
	years 1 to 9999 (UTC), so it converts to any time zone; a record outside them is rejected by the core
	(`FetchStats.rejected_items`, `PushError` `time_out_of_range`)."""

	device: str
	serial_no: int | None
	employee_no: str | None
	time: datetime
	log_type: Literal["IN", "OUT"] | None
	major: int
	minor: int
	verify_method: str | None
	is_punch: bool
	card_no: str | None
	name: str | None
	door_no: int | None
	# The card reader of the door (`cardReaderNo`): at a turnstile or double door, entry and exit readers.
	reader_no: int | None
	def as_dict(self) -> dict[str, Any]: ...

@final
class FetchStats:
	pages: int
	exchanges: int
	bytes: int
	seconds: float
	windows: int
	# Records that could not become events: no time, an unreadable one, or one outside the years 1 to 9999.
	rejected_items: int
	outside_window: int
	def as_dict(self) -> dict[str, Any]: ...

@final
class FetchResult:
	"""The events of one device's window, sorted by (time, serial).

	`complete_until`: every event of the window strictly before this instant was received. It is the window end
	after a complete fetch. On a partial result (`AttendanceSyncError.partial`) it is only what can be proven:
	terminals answer in time order or in record (serial) order, which differ once the device clock was set back
	(serial 25 at 15:01:58 listed before serials 26-30 at 13:03), so the time of the last event received bounds
	what is missing only when the answers showed time order (an event with a smaller serial after one with a
	larger serial, and no time going backwards); otherwise it is the window start (or the start of the first
	part of the window not searched yet). A cursor that stops here never passes an event not received.

	`last_serial`: after a complete fetch, the highest serial received (or `since_serial` when none was higher).
	On a partial result in serial mode, `since_serial` extended over the unbroken run of serials received after
	it: every serial up to it arrived, whatever the order. On a partial result in time mode, None.

	`serial_mode`: the events come from a search after `since_serial`. False when the device cannot search by
	serial, and when that search found nothing and the window was searched by time instead. In serial mode the
	events also hold those numbered at or below `since_serial` and recorded from the earliest event the search
	returned on: what a counter that restarted while the terminal kept its log numbers below the cursor (and,
	after a clock set back, older events the caller already holds).

	`serial_reset_suspected`: the search after `since_serial` found nothing, and the search by time found events
	numbered at or below `since_serial` that were recorded after it (a later time than the event numbered
	`since_serial`, or that event is gone): the device's counter restarted (factory reset, firmware upgrade) or
	the terminal was swapped. The events are in `events`; `last_serial` is then the highest serial among those
	newer events, so a serial cursor can follow the device down.
	"""

	device: str
	events: list[Event]
	stats: FetchStats
	last_serial: int | None
	device_time: datetime
	serial_mode: bool
	complete_until: datetime
	serial_reset_suspected: bool

@final
class DeviceInfo:
	device: str
	model: str | None
	firmware: str | None
	serial_number: str | None
	mac_address: str | None
	device_name: str | None
	device_type: str | None
	device_time: datetime
	time_mode: str | None
	time_zone: str | None
	clock_skew_seconds: float
	supports_event_search: bool
	supports_serial_search: bool
	max_results: int | None
	user_count: int | None
	def as_dict(self) -> dict[str, Any]: ...

@final
class DeviceUser:
	employee_no: str
	name: str | None
	user_type: str | None
	def as_dict(self) -> dict[str, Any]: ...

class AttendanceSyncError(Exception):
	device: str | None
	partial: FetchResult | None

class DeviceAuthError(AttendanceSyncError):
	locked_until: datetime | None
	retries_left: int | None

class DeviceUnreachableError(AttendanceSyncError): ...
class DeviceTimeoutError(AttendanceSyncError): ...
class DeviceTlsError(AttendanceSyncError): ...

class DeviceHttpError(AttendanceSyncError):
	status: int
	sub_status: str | None

class DeviceProtocolError(AttendanceSyncError): ...
class DeviceFaultError(AttendanceSyncError): ...

_HostErrorReason: TypeAlias = Literal[
	"empty",
	"scheme",
	"path",
	"credentials",
	"space",
	"unclosed_bracket",
	"after_bracket",
	"ipv6",
	"ipv6_needs_brackets",
	"port_not_number",
	"port_range",
	"ipv4",
	"host_name",
]

class HostError(ValueError):
	"""An address that is not a bare `host[:port]`.

	`reason` says which mistake, as a stable code (translate your own message from it); `value` is the part of
	the input the message names (the host, the port text, the text after `]`), or None.
	"""

	reason: _HostErrorReason
	value: str | None

class UtcOffsetError(ValueError):
	"""A text that is not a UTC offset (`reason` "format") or is beyond -14:00..+14:00 (`reason` "range")."""

	reason: Literal["format", "range"]
	value: str

@final
class PushResult:
	"""What one push body is (docs/push.md).

	`kind` "event": an access event (major 5) in `event`, the same `Event` a fetch gives (`is_punch` says
	whether it is a punch); `front_serial_no` is the serial of the previous event the terminal sent (a gap to
	the last serial stored means pushes were missed), `current_event` False for a stored event sent again.
	"heartbeat": the terminal's keep-alive. "not_access": another event type or major (`event_type`, `major`);
	acknowledge and drop.
	"""

	kind: Literal["event", "heartbeat", "not_access"]
	event: Event | None
	front_serial_no: int | None
	current_event: bool | None
	mac_address: str | None
	event_type: str | None
	major: int | None
	def as_dict(self) -> dict[str, Any]: ...

_PushErrorReason: TypeAlias = Literal[
	"empty",
	"no_boundary",
	"no_event_part",
	"json",
	"xml",
	"not_object",
	"no_event_object",
	"no_time",
	"bad_time",
	"needs_offset",
	"time_out_of_range",
]

class PushError(ValueError):
	"""A push body that cannot be read; `reason` is a stable code."""

	reason: _PushErrorReason

@final
class HttpHost:
	"""One HTTP listening slot of a terminal (`/ISAPI/Event/notification/httpHosts`, docs/push.md).

	`url` is the whole URL the terminal posts to, token included (None for an unused slot, or a transport other
	than HTTP/HTTPS such as a cloud platform's `EHome`); `path` is the slot's `url` element (path and query, or
	a whole URL on some firmwares); `host` the address (None when unused), `protocol` `protocolType`, `format`
	`parameterFormatType`, `auth` `httpAuthenticationMethod`. `repr` shows queries redacted: never log `url`
	or `path` themselves.
	"""

	id: int
	url: str | None
	protocol: str
	host: str | None
	port: int | None
	path: str
	format: str | None
	auth: str | None
	is_empty: bool
	def as_dict(self) -> dict[str, Any]: ...

class HttpListeningUnsupportedError(AttendanceSyncError):
	"""The terminal has no HTTP listening over ISAPI (notSupport, methodNotAllowed, or an unknown resource):
	show the values to type on its web page, or use the relay."""

	status: int
	sub_status: str | None

class HttpHostSlotTakenError(AttendanceSyncError):
	"""The slot posts to another system's path; `url` is what it holds, query redacted."""

	host_id: int
	url: str

def fetch_events(
	device: _DeviceLike,
	start: datetime,
	end: datetime,
	*,
	since_serial: int | None = None,
	on_progress: _ProgressCallback | None = None,
) -> FetchResult:
	"""Every event of [start, end]; naive datetimes mean the device's own time zone.

	Raises ValueError before any request when `start` is not before `end` (an empty or reversed window), or
	when one is naive and the other aware and, without the device's `utc_offset`, their order cannot be told.
	"""

def fetch_many(
	devices: Iterable[_DeviceLike],
	start: datetime,
	end: datetime,
	*,
	concurrency: int = 16,
	on_progress: Callable[[str, int, int], object] | None = None,
) -> dict[str, FetchResult | AttendanceSyncError]:
	"""`fetch_events` for many devices at once; raises ValueError for the same windows, before any request."""

def device_info(device: _DeviceLike) -> DeviceInfo: ...
def device_users(device: _DeviceLike) -> list[DeviceUser]: ...

_DedupItem = TypeVar("_DedupItem", Event, tuple[str, datetime])

def dedup(
	items: Iterable[_DedupItem],
	existing_keys: Iterable[tuple[str, datetime]] | None = None,
	*,
	window_seconds: int = 0,
) -> list[_DedupItem]:
	"""The kept items (the same objects, in input order) under the one duplicate rule.

	An item is an `Event` (its person is `employee_no`) or a (person, aware datetime) pair; the Frappe app passes
	(Employee, site time), the site's wall clock as UTC. Dropped: an Event whose (device, serial) came before;
	an item whose person has an existing key or a kept item at most `window_seconds` away, either side (0: the
	same second). Items without a person are kept. Raises ValueError for a naive datetime or a negative window.
	"""

def punch_minors() -> list[tuple[int, int]]: ...
def parse_host(text: str) -> tuple[str, int | None]:
	"""`host[:port]` as typed into Device IP or `--host`: (host, port or None); raises `HostError`.

	IPv4 (no leading zeros), IPv6 (`[addr]:port` for a port; returned compressed, without brackets) or a host
	name (RFC 1123 labels, returned in lower case, one trailing dot dropped); port 1-65535. A scheme, a path,
	credentials or spaces are refused.
	"""

def parse_push(
	body: bytes,
	content_type: str | None = None,
	*,
	device: str,
	utc_offset: str | None = None,
	punch_codes: list[tuple[int, int]] | None = None,
) -> PushResult:
	"""One push body (a terminal's or the relay's POST) read as the search reads its records.

	`content_type` is the request's: multipart bodies are split by its boundary and the JSON part named
	`event_log` or `AccessControllerEvent` is read (picture parts are ignored); any other type, or None, means
	the body is the notification itself (JSON, or XML from some firmwares). `device` names the event;
	`utc_offset` (`parse_utc_offset`'s forms) reads a `dateTime` without an offset. Raises `PushError`.
	"""

def parse_utc_offset(text: str) -> int:
	"""A typed UTC offset as seconds east of UTC; raises `UtcOffsetError`.

	`+06:00`, `-03:30`, `+0545`, `+5`, `UTC+05:45`, `GMT-3`, `Z`, `UTC`, `GMT` (case and blanks ignored): a sign,
	one or two digits of hours, optionally two of minutes (with or without a colon), at most 14:00 either way.
	"""

def event_key(
	serial_no: int | None,
	time: datetime,
	*,
	major: int,
	minor: int,
	employee_no: str | None,
	occurrence: int = 0,
) -> str:
	"""The per-device identity of an event: the one rule of the site's Device Punch key and the relay's queue key.

	With a serial: `s:<serial>@<wall clock>`, the wall clock being `time`'s own digits to the second, its offset
	ignored (`s:7@2026-03-02T08:00:05`). Without one: `t:<time>|<major>|<minor>|<employee>|<occurrence>`, the time
	with its offset as `isoformat(timespec="seconds")` writes it (none for a naive datetime), the employee number
	stripped as `str.strip()` does (empty when None), `occurrence` the index among identical events of one fetch
	(`t:2026-03-02T08:00:05+06:00|5|75|00042|0`). Fractions of a second are cut off. Raises ValueError for an
	offset with a fraction of a second, OverflowError for a negative serial or occurrence.
	"""

def serial_event_key(serial_no: int, wall_clock: datetime) -> str:
	"""`event_key` of an event with a serial: `s:<serial>@<wall clock>`, the offset of `wall_clock` ignored."""

def http_hosts(device: _DeviceLike) -> list[HttpHost]:
	"""The terminal's HTTP listening slots, unused ones included. Raises `HttpListeningUnsupportedError` when
	the firmware has none, the device errors otherwise."""

def set_http_host(device: _DeviceLike, url: str, *, host_id: int = 1, overwrite: bool = False) -> None:
	"""Makes slot `host_id` post the terminal's events to `url` (`http(s)://site[:port]/path?token=...`).

	The URL is split into the slot's protocolType, address (ipAddress, ipv6Address or hostName), portNo and
	url (path and query); parameterFormatType JSON, httpAuthenticationMethod none. Written again even when
	equal. Raises ValueError for a URL a terminal cannot post to (another scheme, credentials, a fragment, no
	host) before any request; `HttpHostSlotTakenError` when the slot posts to another path (another system's)
	and not `overwrite`; `HttpListeningUnsupportedError`; the device errors.
	"""

def clear_http_host(device: _DeviceLike, *, host_id: int = 1) -> None:
	"""Empties slot `host_id` (empty url, 0.0.0.0): the terminal stops posting from it. Raises as
	`set_http_host`."""
