"""The core's address and UTC-offset rules as Python sees them: `_core.parse_host`, `_core.parse_utc_offset`,
their typed errors, and `Device`, which applies them. `logic/hosts.py` and `logic/timezones.py` call them and
only put their refusals into the app's words: every refusal the core can give has its own message there."""

import re
from datetime import timedelta
from pathlib import Path

import attendance_sync_core
import pytest

from attendance_sync import _core
from attendance_sync.logic import hosts, timezones

HOSTS = [
	"103.237.255.40",
	" 10.0.0.5:8080 ",
	"Gate-1.Office.Example",
	"terminal.local:443",
	"terminal.local.",
	"fe80::1",
	"[2001:db8::5]:8443",
	"[::1]",
	"localhost",
	"",
	"http://10.0.0.5",
	"https://gate.example",
	"10.0.0.5/ISAPI",
	"gate.example?x=1",
	"admin@10.0.0.5",
	"10.0.0 .5",
	"10.0.0.256",
	"010.0.0.1",
	"10.0.0.5:0",
	"10.0.0.5:99999",
	"10.0.0.5:http",
	"10.0.0.5:",
	"-gate.example",
	"gate_1.example",
	"fe80::1::2",
	"[fe80::1",
	"[fe80::1]x",
	"[10.0.0.5]",
]

OFFSETS = [
	"+06:00",
	"-03:30",
	"+0545",
	"+545",
	"+5",
	"UTC+5",
	"utc+05:45",
	"GMT -3",
	"Z",
	"utc",
	"GMT",
	" +14:00 ",
	"-14:00",
	"+14:30",
	"+15:00",
	"+05:75",
	"six",
	"06:00",
	"+06:0",
	"",
]


def _outcome(parse, text):
	try:
		return ("ok", parse(text))
	except ValueError:
		return ("refused", None)


@pytest.mark.parametrize("text", HOSTS)
def test_the_app_takes_the_cores_address_rule(text):
	core = _outcome(_core.parse_host, text)
	assert _outcome(hosts.parse_host, text) == core
	if core[0] == "refused":
		with pytest.raises(_core.HostError) as refused:
			_core.parse_host(text)
		with pytest.raises(hosts.HostError) as said:
			hosts.parse_host(text)
		assert str(said.value) == hosts.host_error_message(refused.value.reason, refused.value.value)


def test_every_address_refusal_of_the_core_has_its_own_message():
	stub = (Path(attendance_sync_core.__file__).parent / "_core.pyi").read_text()
	block = re.search(r"_HostErrorReason: TypeAlias = Literal\[(.*?)\]", stub, re.S)
	reasons = re.findall(r'"(\w+)"', block.group(1))
	assert "host_name" in reasons and len(reasons) > 10
	messages = {hosts.host_error_message(reason, "10.0.0.5x") for reason in reasons}
	# A reason the app does not know falls back to the host-name message: a new core reason shows up here.
	assert len(messages) == len(reasons)


@pytest.mark.parametrize("text", OFFSETS)
def test_the_app_takes_the_cores_offset_rule(text):
	core = _outcome(_core.parse_utc_offset, text)
	app = _outcome(timezones.parse_utc_offset, text)
	assert core == (app[0], None if app[1] is None else int(app[1] / timedelta(seconds=1)))


def test_offset_refusals_say_which_mistake():
	with pytest.raises(ValueError, match="out of range"):
		timezones.parse_utc_offset("+14:30")
	with pytest.raises(ValueError, match="Not a UTC offset"):
		timezones.parse_utc_offset("six")


@pytest.mark.parametrize(
	"text,reason,value",
	[
		("", "empty", None),
		("https://gate.example", "scheme", None),
		("10.0.0.5/ISAPI", "path", None),
		("admin@10.0.0.5", "credentials", None),
		("10.0.0 .5", "space", None),
		("[fe80::1", "unclosed_bracket", None),
		("[fe80::1]x", "after_bracket", "x"),
		("[10.0.0.5]", "ipv6", "10.0.0.5"),
		("fe80::1::2", "ipv6_needs_brackets", "fe80::1::2"),
		("10.0.0.5:http", "port_not_number", "http"),
		("10.0.0.5:99999", "port_range", "99999"),
		("10.0.0.256", "ipv4", "10.0.0.256"),
		("gate_1.example", "host_name", "gate_1.example"),
	],
)
def test_host_errors_are_typed(text, reason, value):
	with pytest.raises(_core.HostError) as info:
		_core.parse_host(text)
	assert isinstance(info.value, ValueError)
	assert (info.value.reason, info.value.value) == (reason, value)


def test_utc_offset_errors_are_typed():
	with pytest.raises(_core.UtcOffsetError) as info:
		_core.parse_utc_offset(" +15:00 ")
	assert isinstance(info.value, ValueError)
	assert (info.value.reason, info.value.value) == ("range", "+15:00")
	with pytest.raises(_core.UtcOffsetError) as info:
		_core.parse_utc_offset("six")
	assert info.value.reason == "format"


def test_device_applies_the_address_rule():
	device = _core.Device(" Gate.Local:8080 ", "admin", "pw")
	assert (device.host, device.port, device.base_url) == ("gate.local", 8080, "http://gate.local:8080")
	device = _core.Device("[FE80::1]", "admin", "pw", port=443, https=True)
	assert (device.host, device.base_url) == ("fe80::1", "https://[fe80::1]:443")
	assert _core.Device("10.0.0.5:8080", "admin", "pw", port=8080).port == 8080
	with pytest.raises(ValueError, match="8081"):
		_core.Device("10.0.0.5:8080", "admin", "pw", port=8081)
	with pytest.raises(_core.HostError) as info:
		_core.Device("gate_1.example", "admin", "pw")
	assert info.value.reason == "host_name"
	with pytest.raises(_core.HostError):
		_core.Device("http://10.0.0.5", "admin", "pw")


def test_device_applies_the_offset_rule():
	assert _core.Device("10.0.0.5", "admin", "pw", utc_offset="UTC+5").utc_offset == "+05:00"
	with pytest.raises(_core.UtcOffsetError) as info:
		_core.Device("10.0.0.5", "admin", "pw", utc_offset="+14:30")
	assert info.value.reason == "range"
