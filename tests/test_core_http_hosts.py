"""`_core.http_hosts` / `set_http_host` / `clear_http_host`: Enable Push writes the terminal's HTTP listening slot
over ISAPI (the simulator's `httpHosts`), and the terminal then pushes its new events to the site's URL."""

import http.server
import threading
import time

import pytest

from attendance_sync import _core

PUSH_PATH = "/api/method/attendance_sync.api.push"


class _Site(http.server.BaseHTTPRequestHandler):
	"""A loopback stand-in for the site's push endpoint: every body is read with `_core.parse_push`."""

	received: list[tuple[str, int | None]]

	def do_POST(self):
		body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
		result = _core.parse_push(body, self.headers.get("Content-Type"), device="sim", utc_offset="+00:00")
		token = self.path.partition("token=")[2]
		serial = result.event.serial_no if result.event else None
		self.server.received.append((token, serial))
		self.send_response(200)
		self.send_header("Content-Length", "0")
		self.end_headers()

	def log_message(self, *args):
		pass


@pytest.fixture
def site():
	server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
	server.received = []
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	thread.start()
	yield server
	server.shutdown()
	server.server_close()


@pytest.fixture
def terminal(simulator):
	sim = simulator(1, "--days", "1", "--events-per-day", "20")
	return sim.devices[0]


def _wait(check, seconds=10.0):
	end = time.monotonic() + seconds
	while time.monotonic() < end:
		if check():
			return True
		time.sleep(0.05)
	return check()


def test_enable_push_writes_the_slot_and_the_terminal_pushes_there(terminal, site):
	device = _core.Device(**terminal.connection())
	url = f"http://127.0.0.1:{site.server_port}{PUSH_PATH}?token=tok-py"
	hosts = _core.http_hosts(device)
	assert [(h.id, h.is_empty, h.url) for h in hosts] == [(1, True, None), (2, True, None)]

	_core.set_http_host(device, url)
	slot = _core.http_hosts(device)[0]
	assert (slot.id, slot.url, slot.protocol, slot.host, slot.port) == (
		1,
		url,
		"HTTP",
		"127.0.0.1",
		site.server_port,
	)
	assert slot.path == f"{PUSH_PATH}?token=tok-py"
	assert slot.as_dict()["url"] == url
	# The token never shows in a repr.
	assert "tok-py" not in repr(slot) and "token=<redacted>" in repr(slot)

	serials = [e["serial_no"] for e in terminal.add_events(count=3)]
	assert _wait(lambda: len(site.received) >= 3)
	assert site.received == [("tok-py", s) for s in serials]

	_core.clear_http_host(device)
	assert _core.http_hosts(device)[0].is_empty
	terminal.add_events(count=2)
	time.sleep(0.5)
	assert len(site.received) == 3


def test_https_site_url_is_split_and_reassembled(terminal):
	device = _core.Device(**terminal.connection())
	url = f"https://erp.example.com{PUSH_PATH}?token=abc"
	_core.set_http_host(device, url, host_id=2)
	slot = _core.http_hosts(device)[1]
	assert (slot.id, slot.protocol, slot.host, slot.port, slot.url) == (
		2,
		"HTTPS",
		"erp.example.com",
		443,
		url,
	)


def test_another_systems_slot_is_left_alone(terminal):
	device = _core.Device(**terminal.connection())
	_core.set_http_host(device, "http://10.0.0.7:7660/vms/alarm?key=vms-secret", overwrite=True)
	with pytest.raises(_core.HttpHostSlotTakenError) as caught:
		_core.set_http_host(device, f"https://erp.example.com{PUSH_PATH}?token=t")
	assert caught.value.host_id == 1
	assert "/vms/alarm" in caught.value.url and "vms-secret" not in caught.value.url
	assert "vms-secret" not in str(caught.value)
	assert isinstance(caught.value, _core.AttendanceSyncError)
	_core.set_http_host(device, f"https://erp.example.com{PUSH_PATH}?token=t", overwrite=True)


def test_firmware_without_http_listening(simulator):
	terminal = simulator(1, "--days", "1", "--no-http-listening").devices[0]
	device = _core.Device(**terminal.connection())
	calls = [
		lambda: _core.http_hosts(device),
		lambda: _core.set_http_host(device, f"https://erp.example.com{PUSH_PATH}?token=secret-token"),
		lambda: _core.clear_http_host(device),
	]
	for call in calls:
		with pytest.raises(_core.HttpListeningUnsupportedError) as caught:
			call()
		assert (caught.value.status, caught.value.sub_status) == (403, "notSupport")
		assert caught.value.device == device.name
		assert "secret-token" not in str(caught.value)


def test_wrong_password_and_bad_urls(terminal):
	device = _core.Device(**terminal.connection(password="Wrong-Pass-1"))
	with pytest.raises(_core.DeviceAuthError):
		_core.set_http_host(device, f"https://erp.example.com{PUSH_PATH}?token=t")
	assert terminal.stats()["failed_logins"] == 1
	for url in ("ftp://site/x", "https://admin:pw@site/x?token=t", "site/x"):
		with pytest.raises(ValueError) as caught:
			_core.set_http_host(device, url)
		assert ":pw" not in str(caught.value)
	with pytest.raises(ValueError):
		_core.clear_http_host(device, host_id=0)
	assert terminal.stats()["failed_logins"] == 1
