"""The plain modules on real `_core` events from the simulator: what the device job does, minus Frappe."""

from datetime import datetime, timedelta, timezone

import pytest

from attendance_sync.logic import checkin_plan as CP
from attendance_sync.logic import punches as P
from attendance_sync.logic import windows as W
from attendance_sync.logic.timezones import site_naive_to_aware, to_site_naive
from attendance_sync.simulator import Simulator, find_binary

_core = pytest.importorskip("attendance_sync._core", reason="the extension is not built")
pytestmark = pytest.mark.skipif(find_binary() is None, reason="attendance-sync binary not built")

PASSWORD = "App-Test-Pass-1"
SITE_TZ = "Asia/Kathmandu"  # +05:45, against a device at +06:00


@pytest.fixture(scope="module")
def terminal():
	args = ["--password", PASSWORD, "--days", "2", "--events-per-day", "60", "--employees", "6"]
	with Simulator(devices=1, args=[*args, "--utc-offset", "+06:00"]) as sim:
		yield sim.devices[0]


def device(sim_device, **kw):
	return _core.Device(
		sim_device.host,
		"admin",
		PASSWORD,
		port=sim_device.port,
		name="Gate",
		https=sim_device.https,
		verify_tls=False,
		**kw,
	)


def test_fetch_store_plan_like_the_device_job(terminal):
	dev = device(terminal)
	info = _core.device_info(dev)
	device_now = to_site_naive(info.device_time, SITE_TZ)
	window = W.scheduled_window(
		synced_up_to=None,
		sync_start=device_now - timedelta(days=3),
		overlap=timedelta(minutes=10),
		device_now=device_now,
	)
	result = _core.fetch_events(
		dev, site_naive_to_aware(window.start, SITE_TZ), site_naive_to_aware(window.end, SITE_TZ)
	)
	fetched = P.punch_rows("Gate", result.events, site_tz=SITE_TZ, direction=P.PunchDirection())
	assert fetched.events == len(result.events) > 0
	assert 0 < len(fetched.rows) <= fetched.events - fetched.skipped_not_punch
	assert len({r.name for r in fetched.rows}) == len(fetched.rows)
	for row, event in zip(fetched.rows, (e for e in result.events if e.is_punch), strict=False):
		assert row.time == to_site_naive(event.time, SITE_TZ)
		assert event.time.utcoffset() == timedelta(hours=6)
		# +06:00 on the device is 15 minutes earlier in Kathmandu.
		assert row.time == (event.time - timedelta(minutes=15)).replace(tzinfo=None)
		break
	# A re-fetch of the same window maps onto the same rows.
	again = _core.fetch_events(
		dev, site_naive_to_aware(window.start, SITE_TZ), site_naive_to_aware(window.end, SITE_TZ)
	)
	assert {
		r.name for r in P.punch_rows("Gate", again.events, site_tz=SITE_TZ, direction=P.PunchDirection()).rows
	} == {r.name for r in fetched.rows}
	# Everyone mapped: one check-in per (employee, second), the rest Duplicates.
	ids = {r.device_user_id for r in fetched.rows if r.device_user_id}
	employees = CP.employee_index([(i, f"EMP-{i}", "Active") for i in ids])
	pending = [CP.PendingPunch(r.name, r.device, r.device_user_id, r.time, r.log_type) for r in fetched.rows]
	decisions = CP.CheckinPlan(pending, employees, [], 0, _core.dedup).decisions
	created = [(d.employee, d.time) for d in decisions if d.creates_checkin]
	assert len(created) == len(set(created))
	assert len(created) + sum(d.status in (P.DUPLICATE, P.UNMAPPED) for d in decisions) == len(decisions)
	limit = W.completed_limit(
		W.cursor_limit(device_now, device_now), to_site_naive(result.complete_until, SITE_TZ)
	)
	assert W.next_synced_up_to(None, window, floor=window.start, limit=limit) == window.end


def test_punch_codes_on_the_device_drive_is_punch(terminal):
	start = datetime.now(timezone.utc) - timedelta(days=3)
	end = datetime.now(timezone.utc)
	only_face = _core.fetch_events(device(terminal, punch_codes=[(5, 75)]), start, end)
	punches = [e for e in only_face.events if e.is_punch]
	assert all((e.major, e.minor) == (5, 75) for e in punches)
	rows = P.punch_rows("Gate", only_face.events, site_tz="UTC", direction=P.PunchDirection()).rows
	assert len(rows) == len({(e.serial_no) for e in punches})


def test_wrong_password_maps_to_the_auth_hint(terminal):
	bad = _core.Device(
		terminal.host,
		"admin",
		"wrong-pass",
		port=terminal.port,
		name="Gate",
		https=terminal.https,
		verify_tls=False,
	)
	with pytest.raises(_core.AttendanceSyncError) as info:
		_core.device_info(bad)
	from attendance_sync.logic.errors import describe_error

	report = describe_error(info.value, secrets=["wrong-pass"])
	assert report.auth_failure
	assert "wrong-pass" not in report.text()
