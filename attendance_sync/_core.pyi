"""Typed surface of the Rust core (`attendance_sync._core`).

Everything that touches HTTP, digest auth, paging or device time zones lives behind this module.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, TypeAlias, final

__version__: str
__all__ = [
	"AttendanceSyncError",
	"Device",
	"DeviceAuthError",
	"DeviceError",
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
	"__version__",
	"dedup",
	"device_info",
	"device_users",
	"fetch_events",
	"fetch_many",
	"punch_minors",
]

_DeviceLike: TypeAlias = Device | Mapping[str, Any]
_ProgressCallback: TypeAlias = Callable[[int, int], object]

@final
class Device:
	"""Connection settings of one terminal. The password is never part of repr(), str() or an error."""

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
		connect_timeout: float = 5.0,
		timeout: float = 30.0,
		punch_codes: list[tuple[int, int]] | None = None,
	) -> Device: ...
	@property
	def base_url(self) -> str: ...

@final
class Event:
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
	def as_dict(self) -> dict[str, Any]: ...

@final
class FetchStats:
	pages: int
	exchanges: int
	bytes: int
	seconds: float
	windows: int
	rejected_items: int
	outside_window: int
	def as_dict(self) -> dict[str, Any]: ...

@final
class FetchResult:
	device: str
	events: list[Event]
	stats: FetchStats
	last_serial: int | None
	device_time: datetime
	serial_mode: bool
	complete_until: datetime

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

DeviceError: TypeAlias = AttendanceSyncError

def fetch_events(
	device: _DeviceLike,
	start: datetime,
	end: datetime,
	*,
	since_serial: int | None = None,
	on_progress: _ProgressCallback | None = None,
) -> FetchResult: ...
def fetch_many(
	devices: Iterable[_DeviceLike],
	start: datetime,
	end: datetime,
	*,
	concurrency: int = 16,
	on_progress: Callable[[str, int, int], object] | None = None,
) -> dict[str, FetchResult | AttendanceSyncError]: ...
def device_info(device: _DeviceLike) -> DeviceInfo: ...
def device_users(device: _DeviceLike) -> list[DeviceUser]: ...
def dedup(
	events: Iterable[Event],
	existing_keys: Iterable[tuple[str, datetime]] | None = None,
	*,
	window_seconds: int = 0,
) -> list[Event]: ...
def punch_minors() -> list[tuple[int, int]]: ...
