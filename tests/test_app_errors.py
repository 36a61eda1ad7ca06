"""Error-to-message mapping by exception class, and password redaction."""

from datetime import datetime

import pytest

from attendance_sync.logic.errors import REDACTED, auth_hint, describe_error, redact
from attendance_sync.logic.hosts import HostError
from attendance_sync.logic.windows import WindowError


# Stand-ins with the class names and attributes of the `_core` exceptions (matched by name, see errors.py).
class AttendanceSyncError(Exception):
	device = "Gate"


class DeviceAuthError(AttendanceSyncError):
	def __init__(self, message, locked_until=None):
		super().__init__(message)
		self.locked_until = locked_until


class DeviceUnreachableError(AttendanceSyncError):
	pass


class DeviceTimeoutError(AttendanceSyncError):
	pass


class DeviceTlsError(AttendanceSyncError):
	pass


class DeviceHttpError(AttendanceSyncError):
	def __init__(self, message, status, sub_status=None):
		super().__init__(message)
		self.status = status
		self.sub_status = sub_status


class DeviceProtocolError(AttendanceSyncError):
	pass


class DeviceFaultError(AttendanceSyncError):
	pass


class FutureCoreError(DeviceTimeoutError):
	"""A subclass the core may add later still maps through its parent."""


def test_auth_error_says_what_to_check_and_blocks():
	report = describe_error(DeviceAuthError("Gate: login rejected", datetime(2024, 3, 1, 9, 30)))
	assert report.kind == "DeviceAuthError"
	assert report.auth_failure and report.is_device_error
	assert "Device User Password" in report.hint
	assert "2024-03-01 09:30:00" in report.hint
	assert report.text().startswith("Gate: login rejected")


@pytest.mark.parametrize(
	"exc,needle",
	[
		(DeviceUnreachableError("x"), "Device IP and Port"),
		(DeviceTimeoutError("x"), "timeouts"),
		(FutureCoreError("x"), "timeouts"),
		(DeviceTlsError("x"), "Verify TLS Certificate"),
		(DeviceHttpError("x", 403, "notSupport"), "push mode"),
		(DeviceHttpError("x", 403, "lowPrivilege"), "administrator"),
		(DeviceHttpError("x", 404), "8000"),
		(DeviceHttpError("x", 503), "next run"),
		(DeviceHttpError("x", 400, "badJsonContent"), "Major and Minor"),
		(DeviceProtocolError("x"), "points at the terminal"),
		(DeviceFaultError("x"), "paging"),
		(AttendanceSyncError("x"), "connection settings"),
	],
)
def test_hint_per_class(exc, needle):
	report = describe_error(exc)
	assert needle in report.hint
	assert report.is_device_error and not report.auth_failure


def test_unexpected_error_is_not_a_device_error():
	report = describe_error(KeyError("boom"))
	assert report.kind == "KeyError"
	assert not report.is_device_error and not report.auth_failure
	assert "Error Log" in report.hint


def test_password_never_reaches_the_message():
	report = describe_error(
		DeviceUnreachableError("cannot reach s3cret-pw@10.0.0.5"), secrets=["s3cret-pw", None]
	)
	assert "s3cret-pw" not in report.text()
	assert REDACTED in report.message
	assert redact("abc", [None, ""]) == "abc"


def test_unexpected_error_shows_a_clear_message_not_pythons():
	# What a Default Shift pointing at a deleted Shift Type raised inside HRMS's check-in insert.
	raw = "'NoneType' object has no attribute 'start_time'"
	report = describe_error(AttributeError(raw))
	assert report.unexpected and not report.is_device_error
	assert raw not in report.text()
	assert "AttributeError" in report.message
	assert "Error Log" in report.hint


def test_errors_written_for_the_user_keep_their_message():
	for exc in (WindowError("From must be before To"), HostError("Port must be a number: x")):
		report = describe_error(exc)
		assert report.message == str(exc)
		assert not report.unexpected and not report.is_device_error and not report.auth_failure


def test_device_errors_are_not_unexpected():
	report = describe_error(DeviceTimeoutError("Gate: read timeout"))
	assert report.message == "Gate: read timeout"
	assert not report.unexpected


def test_auth_hint_names_what_to_change():
	assert describe_error(DeviceAuthError("x")).hint.startswith(auth_hint())
	assert "Device User Password" in auth_hint() and "Test Connection" in auth_hint()


def test_the_cores_address_and_offset_errors_say_what_to_check():
	from attendance_sync import _core

	for bad, needle in (
		({"host": "http://10.0.0.5/ISAPI"}, "Device IP"),
		({"host": "10.0.0.5", "utc_offset": "+25:00"}, "Device Time Zone"),
	):
		with pytest.raises(ValueError) as caught:
			_core.Device(bad["host"], "admin", "pw", utc_offset=bad.get("utc_offset"))
		report = describe_error(caught.value)
		assert not report.unexpected and not report.is_device_error
		assert report.message == str(caught.value)
		assert needle in report.hint
