"""Device IP validation: bare hosts only; :port goes to the Port field."""

import pytest

from attendance_sync.logic.hosts import HostError, parse_host, validate_port


@pytest.mark.parametrize(
	"value,expected",
	[
		("103.237.255.40", ("103.237.255.40", None)),
		(" 10.0.0.5:8080 ", ("10.0.0.5", 8080)),
		("Gate-1.Office.Example", ("gate-1.office.example", None)),
		("terminal.local:443", ("terminal.local", 443)),
		("fe80::1", ("fe80::1", None)),
		("[2001:db8::5]:8443", ("2001:db8::5", 8443)),
		("[::1]", ("::1", None)),
		("localhost", ("localhost", None)),
	],
)
def test_valid_hosts(value, expected):
	assert parse_host(value) == expected


@pytest.mark.parametrize(
	"value,message",
	[
		("", "required"),
		("http://10.0.0.5", "http"),
		("https://gate.example", "http"),
		("10.0.0.5/ISAPI", "path"),
		("gate.example?x=1", "path"),
		("admin@10.0.0.5", "user"),
		("10.0.0 .5", "spaces"),
		("10.0.0.256", "IPv4"),
		("10.0.0.5:0", "Port"),
		("10.0.0.5:99999", "Port"),
		("10.0.0.5:http", "Port"),
		("-gate.example", "valid"),
		("gate_1.example", "valid"),
		("fe80::1::2", "IPv6"),
		("[fe80::1", "]"),
		("[fe80::1]x", "after"),
	],
)
def test_invalid_hosts(value, message):
	with pytest.raises(HostError, match=message):
		parse_host(value)


def test_validate_port():
	assert validate_port(None) is None
	assert validate_port(0) is None
	assert validate_port(443) == 443
	with pytest.raises(HostError):
		validate_port(70000)
