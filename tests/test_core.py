"""The Python surface of the Rust core, against the simulator over loopback HTTP."""

import _thread
import datetime as dt
import itertools
import multiprocessing
import os
import re
import threading
import urllib.error

import pytest
import tomllib
from conftest import ROOT, week_window

import attendance_sync
from attendance_sync import _core

UTC = dt.timezone.utc
PLUS6 = dt.timezone(dt.timedelta(hours=6))


def test_versions_agree():
	cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
	assert attendance_sync.__version__ == cargo == _core.__version__


def test_importing_core_does_not_import_frappe():
	code = "import sys, attendance_sync, attendance_sync._core; assert 'frappe' not in sys.modules"
	assert os.system(f'"{os.sys.executable}" -c "{code}"') == 0


def test_week_arrives_once(device):
	start, end = week_window()
	result = _core.fetch_events(device.connection(), start, end)
	serials = [e.serial_no for e in result.events]
	assert len(serials) == device.events
	assert len(set(serials)) == len(serials)
	assert result.last_serial == max(serials)
	assert result.stats.pages == device.stats()["acs_event_pages"]
	# One System/time read plus one AcsEvent exchange per page, after a single challenge.
	assert result.stats.exchanges == device.stats()["requests"] == result.stats.pages + 2
	assert any(e.is_punch for e in result.events) and not all(e.is_punch for e in result.events)
	times = [e.time for e in result.events]
	assert times == sorted(times)


def test_device_offset_kept_and_naive_means_device_local(device):
	start, end = week_window()
	aware = _core.fetch_events(device.connection(), start, end)
	assert {e.time.utcoffset() for e in aware.events} == {dt.timedelta(hours=6)}
	# The same window as naive device-local wall time gives the same events.
	naive_start = start.astimezone(PLUS6).replace(tzinfo=None)
	naive_end = end.astimezone(PLUS6).replace(tzinfo=None)
	naive = _core.fetch_events(device.connection(), naive_start, naive_end)
	assert [e.serial_no for e in naive.events] == [e.serial_no for e in aware.events]
	# A naive window read as UTC would be six hours off: the last six hours' events would differ.
	some = aware.events[len(aware.events) // 2].time
	# (A window is at least a second long: start must be before end.)
	second = dt.timedelta(seconds=1)
	narrow = _core.fetch_events(
		device.connection(), some.replace(tzinfo=None), (some + second).replace(tzinfo=None)
	)
	assert any(e.time == some for e in narrow.events)
	assert all(some <= e.time <= some + second for e in narrow.events)
	assert aware.device_time.utcoffset() == dt.timedelta(hours=6)


def test_device_accepts_dict_and_object(device):
	start, end = week_window()
	obj = _core.Device(**device.connection())
	assert obj.port == device.port and obj.major == 5 and obj.minor == 0
	assert len(_core.fetch_events(obj, start, end).events) == device.events


def test_password_never_shown(device):
	d = _core.Device(**device.connection(password="Top-Secret-77"))
	assert "Top-Secret-77" not in repr(d) and "Top-Secret-77" not in str(d)
	assert not hasattr(d, "password")
	start, end = week_window()
	with pytest.raises(_core.DeviceAuthError) as info:
		_core.fetch_events(d, start, end)
	assert "Top-Secret-77" not in str(info.value) and "Top-Secret-77" not in repr(info.value)
	assert "admin" in str(info.value) and device.name in str(info.value)


def test_wrong_password_one_rejected_exchange(device):
	start, end = week_window()
	with pytest.raises(_core.DeviceAuthError) as info:
		_core.fetch_events(device.connection(password="wrong"), start, end)
	stats = device.stats()
	assert stats["failed_logins"] == 1
	assert stats["requests"] == 2  # the challenge and one rejected attempt
	assert info.value.device == device.name
	assert info.value.locked_until is None
	assert info.value.retries_left == 4


def test_lockout_reports_unlock_time(device):
	device.set_faults(lock_after=1, unlock_secs=1800)
	start, end = week_window()
	with pytest.raises(_core.DeviceAuthError):
		_core.fetch_events(device.connection(password="wrong"), start, end)
	with pytest.raises(_core.DeviceAuthError) as info:
		_core.fetch_events(device.connection(), start, end)
	until = info.value.locked_until
	assert until is not None
	remaining = (until - dt.datetime.now(UTC)).total_seconds()
	assert 1700 < remaining <= 1801
	assert "LOCKED" in str(info.value)


def test_unreachable_names_device_and_what_to_check():
	import socket

	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		port = s.getsockname()[1]
	start, end = week_window()
	with pytest.raises(_core.DeviceUnreachableError) as info:
		_core.fetch_events(
			{"host": "127.0.0.1", "port": port, "user": "u", "password": "p", "name": "Back Door"}, start, end
		)
	assert "Back Door" in str(info.value) and "Device IP" in str(info.value)


def test_timeout(device):
	device.set_faults(latency_ms=1500)
	start, end = week_window()
	with pytest.raises(_core.DeviceTimeoutError) as info:
		_core.fetch_events(device.connection(timeout=0.3), start, end)
	assert device.name in str(info.value)


def test_tls_self_signed_with_verification_on(simulator):
	sim = simulator(1, "--https")
	dev = sim.devices[0]
	start, end = week_window()
	with pytest.raises(_core.DeviceTlsError) as info:
		_core.fetch_events(dev.connection(verify_tls=True), start, end)
	assert "Verify TLS Certificate" in str(info.value)
	ok = _core.fetch_events(dev.connection(verify_tls=False), start, end)
	assert len(ok.events) == dev.events


def test_not_supported_is_http_error(device):
	device.set_faults(acs_not_supported=True)
	start, end = week_window()
	with pytest.raises(_core.DeviceHttpError) as info:
		_core.fetch_events(device.connection(), start, end)
	assert info.value.status == 403 and info.value.sub_status == "notSupport"
	assert "push" in str(info.value)


def test_malformed_page_is_protocol_error(device):
	device.set_faults(page_fault={"kind": "malformed", "on_page": 2, "times": 0})
	start, end = week_window()
	with pytest.raises(_core.DeviceProtocolError) as info:
		_core.fetch_events(device.connection(), start, end)
	# Events of the good page are kept on the exception.
	assert info.value.partial is not None and len(info.value.partial.events) == 30


def test_more_forever_is_fault(device):
	device.set_faults(more_forever=True)
	start, end = week_window()
	with pytest.raises(_core.DeviceFaultError) as info:
		_core.fetch_events(device.connection(), start, end)
	assert "repeated" in str(info.value) or "MORE" in str(info.value)
	assert device.stats()["acs_event_pages"] < 100


def test_progress_counts(device):
	calls = []
	start, end = week_window()
	result = _core.fetch_events(
		device.connection(), start, end, on_progress=lambda p, n: calls.append((p, n))
	)
	assert len(calls) == result.stats.pages
	assert [p for p, _ in calls] == list(range(1, result.stats.pages + 1))
	assert calls[-1][1] == len(result.events)
	assert all(a[1] <= b[1] for a, b in itertools.pairwise(calls))


def test_exception_in_callback_cancels(device):
	def stop(pages, events):
		if pages == 2:
			raise LookupError("stop here")

	start, end = week_window()
	with pytest.raises(LookupError, match="stop here"):
		_core.fetch_events(device.connection(), start, end, on_progress=stop)
	assert device.stats()["acs_event_pages"] == 2


def test_keyboard_interrupt_cancels(device):
	device.set_faults(latency_ms=200)
	timer = threading.Timer(0.5, _thread.interrupt_main)
	start, end = week_window()
	timer.start()
	with pytest.raises(KeyboardInterrupt):
		_core.fetch_events(device.connection(), start, end)
	timer.join()
	assert device.stats()["acs_event_pages"] < device.events // 30


def test_fetch_many_with_one_broken_device(fleet):
	for d in fleet:
		d.set_faults()
	fleet[1].set_faults(acs_not_supported=True)
	try:
		start, end = week_window()
		results = _core.fetch_many([d.connection() for d in fleet], start, end, concurrency=2)
	finally:
		fleet[1].set_faults()
	assert list(results) == [d.name for d in fleet]
	assert isinstance(results[fleet[1].name], _core.DeviceHttpError)
	for d in (fleet[0], fleet[2]):
		r = results[d.name]
		assert isinstance(r, _core.FetchResult)
		assert len(r.events) == d.events


def test_fetch_many_rejects_duplicate_names(fleet):
	start, end = week_window()
	with pytest.raises(ValueError, match="unique"):
		_core.fetch_many([fleet[0].connection(), fleet[0].connection()], start, end)


def test_device_info_and_users(device):
	info = _core.device_info(device.connection())
	assert info.model and info.firmware and info.serial_number
	assert info.supports_event_search and info.supports_serial_search
	assert abs(info.clock_skew_seconds) < 5
	assert info.device_time.utcoffset() == dt.timedelta(hours=6)
	users = _core.device_users(device.connection())
	assert users and len({u.employee_no for u in users}) == len(users)
	assert info.user_count == len(users)


def test_clock_skew_reported(device):
	device.set_faults(clock_skew_secs=3 * 3600)
	info = _core.device_info(device.connection())
	assert 3 * 3600 - 5 < info.clock_skew_seconds < 3 * 3600 + 5


def test_since_serial_fetches_only_newer(device):
	start, end = week_window()
	full = _core.fetch_events(device.connection(), start, end)
	cut = full.events[len(full.events) // 2].serial_no
	newer = _core.fetch_events(device.connection(), start, end, since_serial=cut)
	assert newer.serial_mode
	assert {e.serial_no for e in newer.events} == {e.serial_no for e in full.events if e.serial_no > cut}


def test_since_serial_falls_back_without_serial_search(device):
	device.set_faults(serial_search=False)
	start, end = week_window()
	result = _core.fetch_events(device.connection(), start, end, since_serial=10)
	assert not result.serial_mode
	assert len(result.events) == device.events


def test_dedup_against_keys_and_window(device):
	start, end = week_window()
	events = _core.fetch_events(device.connection(), start, end).events
	punches = [e for e in events if e.is_punch]
	# The history has same-second punches of one person (e.g. face then card): only the first counts.
	seen: set = set()
	unique = [
		e for e in punches if not ((e.employee_no, e.time) in seen or seen.add((e.employee_no, e.time)))
	]
	kept = _core.dedup(punches + punches)
	assert [e.serial_no for e in kept] == [e.serial_no for e in unique]
	assert kept[0] is punches[0]
	first = unique[0]
	kept = _core.dedup(unique, [(first.employee_no, first.time.astimezone(UTC))])
	assert first not in kept and len(kept) == len(unique) - 1
	with pytest.raises(ValueError):
		_core.dedup(punches, [(first.employee_no, first.time.replace(tzinfo=None))])


def test_dedup_window_keeps_first_of_double_punch(device):
	start, end = week_window()
	events = [e for e in _core.fetch_events(device.connection(), start, end).events if e.is_punch]
	by_employee: dict[str, list] = {}
	for e in events:
		by_employee.setdefault(e.employee_no, []).append(e)
	kept = _core.dedup(events, window_seconds=3600)
	for employee, evs in by_employee.items():
		mine = [e.time for e in kept if e.employee_no == employee]
		assert mine[0] == evs[0].time
		assert all((b - a).total_seconds() > 3600 for a, b in itertools.pairwise(mine))


def test_dedup_window_includes_its_last_second(device):
	"""Two punches of one person exactly `window_seconds` apart are one: at most N seconds away is a repeat."""
	start, end = week_window()
	events = [e for e in _core.fetch_events(device.connection(), start, end).events if e.is_punch]
	by_employee: dict[str, list] = {}
	for e in events:
		by_employee.setdefault(e.employee_no, []).append(e)
	first, second = next(
		(evs[0], later) for evs in by_employee.values() for later in evs if later.time > evs[0].time
	)
	apart = int((second.time - first.time).total_seconds())
	assert _core.dedup([first, second], window_seconds=apart) == [first]
	assert _core.dedup([first, second], window_seconds=apart - 1) == [first, second]


def test_dedup_of_person_and_time_pairs_as_the_app_passes_them():
	"""The Frappe app's check-ins: (Employee, site time with its wall clock as UTC), against existing ones."""
	at = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
	items = [("EMP-1", at), ("EMP-1", at), ("EMP-2", at), ("EMP-1", at + dt.timedelta(seconds=30))]
	kept = _core.dedup(items)
	assert kept == [items[0], items[2], items[3]] and kept[0] is items[0] and kept[1] is items[2]
	assert _core.dedup(items, window_seconds=30) == [items[0], items[2]]
	existing = [("EMP-2", at + dt.timedelta(seconds=20))]
	assert _core.dedup(items, existing, window_seconds=20) == [items[0], items[3]]
	with pytest.raises(ValueError, match="aware"):
		_core.dedup([("EMP-1", at.replace(tzinfo=None))])
	with pytest.raises(ValueError, match="pairs"):
		_core.dedup([("EMP-1", at, "extra")])
	with pytest.raises(ValueError):
		_core.dedup(items, window_seconds=-1)


def test_event_as_dict(device):
	start, end = week_window()
	e = next(e for e in _core.fetch_events(device.connection(), start, end).events if e.is_punch)
	d = e.as_dict()
	assert d["serial_no"] == e.serial_no and d["time"] == e.time and d["employee_no"] == e.employee_no
	assert d["verify_method"] == e.verify_method and d["log_type"] in ("IN", "OUT", None)
	assert re.match(r"\d", e.employee_no)


def test_threads_overlap(fleet):
	"""Two slow devices fetched from two threads: their pages interleave, so the GIL is released."""
	for d in fleet[:2]:
		d.set_faults(latency_ms=40)
	order: list[str] = []
	start, end = week_window()

	def run(d):
		_core.fetch_events(d.connection(), start, end, on_progress=lambda p, n: order.append(d.name))

	threads = [threading.Thread(target=run, args=(d,)) for d in fleet[:2]]
	try:
		for t in threads:
			t.start()
		for t in threads:
			t.join()
	finally:
		for d in fleet[:2]:
			d.set_faults()
	switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
	assert len(order) > 20 and switches > 4, order


def _fetch_in_child(args, queue):
	start, end = week_window()
	queue.put(len(_core.fetch_events(args, start, end).events))


def test_works_after_fork(device):
	start, end = week_window()
	_core.fetch_events(device.connection(), start, end)  # use the module in the parent first
	ctx = multiprocessing.get_context("fork")
	queue = ctx.Queue()
	child = ctx.Process(target=_fetch_in_child, args=(device.connection(), queue))
	child.start()
	child.join(60)
	assert child.exitcode == 0
	assert queue.get(timeout=5) == device.events


def test_connect_timeout_on_a_listener_that_never_accepts():
	"""A full accept backlog drops further SYNs, which is what a terminal behind a dead route looks like."""
	import socket

	server = socket.socket()
	server.bind(("127.0.0.1", 0))
	server.listen(0)
	port = server.getsockname()[1]
	fillers = []
	try:
		for _ in range(4):
			s = socket.socket()
			s.setblocking(False)
			s.connect_ex(("127.0.0.1", port))
			fillers.append(s)
		start, end = week_window()
		with pytest.raises((_core.DeviceTimeoutError, _core.DeviceUnreachableError)) as info:
			_core.fetch_events(
				{"host": "127.0.0.1", "port": port, "user": "u", "password": "p", "connect_timeout": 0.5},
				start,
				end,
			)
		assert isinstance(info.value, _core.DeviceTimeoutError), info.value
		assert "connect" in str(info.value)
	finally:
		for s in fillers:
			s.close()
		server.close()


def _nothing_reached(devices) -> None:
	"""No ISAPI request and no connection but the one asking for these counters (reset before)."""
	for d in devices:
		stats = d.stats()
		assert (stats["connections"], stats["requests"]) == (1, 0), (d.name, stats)


@pytest.mark.parametrize(
	("start", "end"),
	[
		(dt.datetime(2026, 3, 2, 10, tzinfo=PLUS6), dt.datetime(2026, 3, 1, 10, tzinfo=PLUS6)),
		(dt.datetime(2026, 3, 2, 10, tzinfo=PLUS6), dt.datetime(2026, 3, 2, 4, tzinfo=UTC)),
		(dt.datetime(2026, 3, 2, 10), dt.datetime(2026, 3, 2, 10)),
		(dt.datetime(2026, 3, 2, 10), dt.datetime(2026, 3, 2, 9, 59, 59)),
		# One naive, one aware, too close to order without the device's offset.
		(dt.datetime(2026, 3, 2, 10), dt.datetime(2026, 3, 2, 3, tzinfo=UTC)),
	],
	ids=["reversed", "equal-instants", "equal-naive", "reversed-naive", "mixed-unknown-offset"],
)
def test_empty_or_reversed_window_is_refused_before_any_request(fleet, start, end):
	for d in fleet:
		d.set_faults()
		d.reset()
	with pytest.raises(ValueError, match="window"):
		_core.fetch_events(fleet[0].connection(), start, end)
	with pytest.raises(ValueError, match="window"):
		_core.fetch_many([d.connection() for d in fleet], start, end)
	_nothing_reached(fleet)


def test_naive_and_aware_window_ends_are_ordered_in_the_configured_offset(device):
	naive_start = dt.datetime(2026, 3, 2, 10)  # 04:00Z at +06:00
	with pytest.raises(ValueError, match="window"):
		_core.fetch_events(
			device.connection(utc_offset="+06:00"), naive_start, dt.datetime(2026, 3, 2, 3, tzinfo=UTC)
		)
	_nothing_reached([device])
	ok = _core.fetch_events(
		device.connection(utc_offset="+06:00"), naive_start, dt.datetime(2026, 3, 2, 5, tzinfo=UTC)
	)
	assert ok.complete_until == dt.datetime(2026, 3, 2, 5, tzinfo=UTC)


@pytest.mark.parametrize("order", ["record", "time"])
def test_complete_until_never_passes_an_unreceived_event(simulator, order):
	"""The clock went back two hours after serial 100 and the terminal fails for good on page 5."""
	sim = simulator(
		1,
		*("--days", "1", "--events-per-day", "300"),
		*("--clock-step-back-secs", "7200", "--clock-step-after-serial", "100"),
	)
	dev = sim.devices[0]
	start, end = week_window()
	dev.set_faults(result_order=order)
	everything = _core.fetch_events(dev.connection(), start, end).events
	dev.set_faults(result_order=order, page_fault={"kind": "status500", "on_page": 5, "times": 0})
	with pytest.raises(_core.DeviceHttpError) as info:
		_core.fetch_events(dev.connection(), start, end)
	partial = info.value.partial
	assert partial is not None and len(partial.events) == 120
	received = {e.serial_no for e in partial.events}
	missing = [e for e in everything if e.serial_no not in received]
	assert missing and all(e.time >= partial.complete_until for e in missing)
	if order == "record":
		# Serials 101-120 came with times two hours before serial 100: nothing bounds what is missing.
		assert partial.complete_until == start
		assert min(e.time for e in missing) < max(e.time for e in partial.events)
	else:
		assert partial.complete_until == max(e.time for e in partial.events)


def test_counter_reset_is_found_by_time_not_silently_empty(simulator):
	sim = simulator(1, "--days", "1", "--events-per-day", "50")
	dev = sim.devices[0]
	now = dt.datetime.now(UTC)
	start, end = week_window()[0], now + dt.timedelta(minutes=5)
	first = _core.fetch_events(dev.connection(), start, end)
	assert first.last_serial == 50 == dev.state()["next_serial"] - 1
	# Nothing new: the search after serial 50 is empty, and so is the suspicion.
	idle = _core.fetch_events(dev.connection(), start, end, since_serial=50)
	assert not idle.serial_reset_suspected and idle.last_serial == 50

	assert dev.reset_serial_counter()["next_serial"] == 1
	added = dev.add_events(3, step_secs=20)
	assert [e["serial_no"] for e in added] == [1, 2, 3]
	after = _core.fetch_events(dev.connection(), start, end, since_serial=50)
	assert after.serial_reset_suspected and not after.serial_mode
	new = [e for e in after.events if e.time > first.events[-1].time]
	assert [e.serial_no for e in new] == [1, 2, 3]
	assert after.last_serial == 3
	assert [e.time.isoformat() for e in new] == [
		dt.datetime.fromisoformat(e["time"]).isoformat() for e in added
	]

	# A factory reset also erases the log; a swapped terminal reports another hardware serial number.
	state = dev.reset_serial_counter(clear_log=True)
	assert (state["events"], state["next_serial"]) == (0, 1)
	dev.add_events(2, employee_no=added[0]["employee_no"])
	wiped = _core.fetch_events(dev.connection(), start, end, since_serial=50)
	assert wiped.serial_reset_suspected and [e.serial_no for e in wiped.events] == [1, 2]
	assert dev.set_serial_number("SWAPPED0001")["serial_number"] == "SWAPPED0001"
	assert _core.device_info(dev.connection()).serial_number == "SWAPPED0001"


def test_reader_and_attendance_key_of_a_recorded_punch(simulator):
	"""Where a punch was read (door, reader) and the attendance key pressed reach the Event as the terminal
	rendered them; a value no terminal sends is refused by the simulator."""
	(terminal,) = simulator(1, "--days", "1", "--events-per-day", "4").devices
	exit_punch = terminal.add_events(door=1, reader=2, attendance_status="breakOut")[0]
	entry_punch = terminal.add_events(door=3, reader=1)[0]
	start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
	result = _core.fetch_events(terminal.connection(), start, start + dt.timedelta(hours=2))
	by_serial = {e.serial_no: e for e in result.events}
	out = by_serial[exit_punch["serial_no"]]
	assert (out.door_no, out.reader_no, out.log_type) == (1, 2, "OUT")
	assert out.as_dict()["reader_no"] == 2
	entry = by_serial[entry_punch["serial_no"]]
	assert (entry.door_no, entry.reader_no, entry.log_type) == (3, 1, None)
	with pytest.raises(urllib.error.HTTPError) as refused:
		terminal.add_events(attendance_status="lunch")
	assert refused.value.code == 400 and b"attendance_status" in refused.value.read()


def test_a_configured_zone_searches_a_window_of_the_other_half_of_the_year_at_its_own_offset(simulator):
	"""A firmware that reads only the wall-clock digits of a search time (`device_local`), in a zone with daylight
	saving: with the zone's rule (`time_zone`), every event of a window in the other half of the year comes
	back; with today's offset alone, the window is searched an hour beside it."""
	rule = "CET-1CEST,M3.5.0,M10.5.0/3"
	(terminal,) = simulator(1, "--days", "1", "--events-per-day", "4", "--time-zone", rule).devices
	terminal.set_faults(time_handling="device-local")
	now = dt.datetime.now(dt.timezone.utc)
	today = _core.fetch_events(
		terminal.connection(), now - dt.timedelta(hours=1), now
	).device_time.utcoffset()
	# Six months away the offset is the other one (away from the changes in late March and late October).
	centre = next(
		t
		for t in (now - dt.timedelta(days=d) for d in range(60, 366))
		if t.month in (1, 2, 7, 8) and ((t.month in (7, 8)) != (today == dt.timedelta(hours=2)))
	)
	first = centre - dt.timedelta(minutes=90)
	recorded = {e["serial_no"] for e in terminal.add_events(19, at=first, step_secs=600)}
	window = (first - dt.timedelta(minutes=1), centre + dt.timedelta(minutes=91))
	offset_today = f"+0{int(today.total_seconds() // 3600)}:00"
	with_rule = _core.Device(**terminal.connection(), utc_offset=offset_today, time_zone=rule)
	assert {e.serial_no for e in _core.fetch_events(with_rule, *window).events} == recorded
	offset_only = _core.Device(**terminal.connection(), utc_offset=offset_today)
	assert {e.serial_no for e in _core.fetch_events(offset_only, *window).events} != recorded
