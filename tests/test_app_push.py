"""The plain push rules (attendance_sync.logic.push): Sync Mode, tokens, the gap rule, the terminal's values."""

import re
from datetime import datetime, timedelta

import pytest

from attendance_sync.logic import push as L


def test_token_is_long_random_and_url_safe():
	tokens = {L.new_token() for _ in range(200)}
	assert len(tokens) == 200
	for token in tokens:
		assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
		assert L.plausible_token(token)


def test_only_the_hash_and_prefix_identify_a_token():
	token = L.new_token()
	stored = L.token_hash(token)
	assert token not in stored and len(stored) == 64
	assert L.token_prefix(token) == token[:8]
	assert L.token_matches(token, stored)
	assert not L.token_matches(token[:-1] + ("A" if token[-1] != "A" else "B"), stored)
	assert not L.token_matches(token, None)
	assert not L.token_matches(token, "")


@pytest.mark.parametrize(
	"text", [None, "", "short", "x" * 31, "a" * 40 + "/", "ab cd" * 10, "é" * 40, "a" * 129]
)
def test_implausible_tokens(text):
	assert not L.plausible_token(text)


@pytest.mark.parametrize(
	"last,serial,front,current,gap",
	[
		(200, 201, 200, True, False),  # the next event
		(200, 203, 202, True, True),  # 201 and 202 were never pushed
		(200, 203, None, True, True),  # no frontSerialNo: the serial jumped
		(200, 201, None, True, False),
		(200, 203, 202, False, False),  # a stored event sent again fills, never shows a gap
		(200, 203, 202, None, True),  # currentEvent absent: a live push
		(None, 50, 49, True, False),  # nothing known yet
		(200, 3, 2, True, False),  # the counter restarted
		(200, None, None, True, False),  # no serial at all
		(200, 200, 199, True, False),  # the same event again
	],
)
def test_push_gap(last, serial, front, current, gap):
	assert L.push_gap(last, serial, front, current) is gap


def test_sync_modes():
	assert L.SYNC_MODES == ("Pull", "Push", "Push with pull reconciliation")
	assert L.DEFAULT_PUSH_MODE == "Push with pull reconciliation"
	assert L.schedules_pulls("Pull") and L.schedules_pulls(None) and L.schedules_pulls(L.PUSH_RECONCILE)
	assert not L.schedules_pulls("Push")
	assert L.reconciles(L.PUSH_RECONCILE) and not L.reconciles("Push") and not L.reconciles("Pull")
	assert L.validate_sync_mode(None, False) == "Pull"
	assert L.validate_sync_mode("Push", True) == "Push"
	with pytest.raises(ValueError, match="Enable Push"):
		L.validate_sync_mode("Push", False)
	with pytest.raises(ValueError, match="Disable Push"):
		L.validate_sync_mode("Pull", True)
	with pytest.raises(ValueError, match="one of"):
		L.validate_sync_mode("Sometimes", False)


def test_terminal_target_https_host_name():
	t = L.terminal_target("https://erp.example.com", "tok-EN_1234567890abcdefghijklmnopqrstuvwxyz")
	assert t.protocol == "HTTPS" and t.addressing == "hostname"
	assert t.address == "erp.example.com" and t.port == 443
	assert t.path == "/api/method/attendance_sync.api.push?token=tok-EN_1234567890abcdefghijklmnopqrstuvwxyz"
	assert t.url == "https://erp.example.com" + t.path


def test_terminal_target_http_ip_and_port():
	t = L.terminal_target("http://10.0.0.20:8000/", "abc")
	assert (t.protocol, t.addressing, t.address, t.port) == ("HTTP", "ipaddress", "10.0.0.20", 8000)
	assert t.url == "http://10.0.0.20:8000/api/method/attendance_sync.api.push?token=abc"
	v6 = L.terminal_target("http://[fd00::5]:8080", "abc")
	assert v6.address == "fd00::5" and v6.url.startswith("http://[fd00::5]:8080/api/method/")


@pytest.mark.parametrize("url", ["", "ftp://x.example", "erp.example.com"])
def test_terminal_target_refuses_non_http(url):
	with pytest.raises(ValueError):
		L.terminal_target(url, "abc")


def test_retry_after():
	assert L.retry_after(60, 120.0) == 60
	assert L.retry_after(60, 179.5) == 1
	assert L.retry_after(60, 150.2) == 29


# --- what a push is trusted with (issue 17) ------------------------------------------------------------------

NOW = datetime(2026, 7, 16, 12, 0)
SYNC_START = datetime(2026, 7, 1)


def test_pushed_times_are_bounded_by_sync_start_and_the_device_clock():
	bounds = L.time_bounds(NOW, SYNC_START, None)
	assert bounds.outside(SYNC_START) is None
	assert bounds.outside(NOW + L.PUSH_CLOCK_TOLERANCE) is None
	assert bounds.outside(SYNC_START - timedelta(seconds=1)) == L.BEFORE_SYNC_START
	assert bounds.outside(NOW + L.PUSH_CLOCK_TOLERANCE + timedelta(seconds=1)) == L.AFTER_DEVICE_CLOCK
	assert bounds.outside(datetime(9999, 6, 1)) == L.AFTER_DEVICE_CLOCK
	assert bounds.outside(datetime(1, 6, 1)) == L.BEFORE_SYNC_START
	assert "Sync Start" in bounds.explain(L.BEFORE_SYNC_START, "2026-06-30T10:00:00+06:00")
	assert "clock" in bounds.explain(L.AFTER_DEVICE_CLOCK, "2099-01-01T10:00:00+06:00")


def test_a_measured_clock_skew_ahead_widens_the_bound_and_one_behind_does_not_narrow_it():
	ahead = L.time_bounds(NOW, SYNC_START, 3 * 86400)
	assert ahead.latest == NOW + timedelta(days=3) + L.PUSH_CLOCK_TOLERANCE
	behind = L.time_bounds(NOW, SYNC_START, -3 * 86400)
	assert behind.latest == NOW + L.PUSH_CLOCK_TOLERANCE
	# Without a Sync Start (a record saved before the field was filled in): a year back.
	assert L.time_bounds(NOW, None, None).earliest == NOW - L.PUSH_LOOKBACK_WITHOUT_SYNC_START


@pytest.mark.parametrize(
	"last,serial,within",
	[
		(500, 501, True),
		(500, 500 + L.MAX_SERIAL_JUMP, True),
		(500, 500 + L.MAX_SERIAL_JUMP + 1, False),  # forged or garbled: not without confirmation
		(500, 3, True),  # a restarted counter
		(None, 10**6, True),  # nothing known yet
		(None, L.MAX_SERIAL + 1, False),  # beyond what any terminal counts
		(L.MAX_SERIAL, L.MAX_SERIAL + 1, False),
	],
)
def test_serials_within_reach(last, serial, within):
	assert L.serial_within_reach(last, serial) is within


def test_a_far_serial_is_confirmed_by_a_stored_event_within_reach_below_it():
	assert L.confirming_serials(5_000_001) == (5_000_001 - L.MAX_SERIAL_JUMP, 5_000_000)
	assert L.confirming_serials(10) == (0, 9)


def test_tokens_are_redacted_from_any_log_text():
	token = L.new_token()
	text = (
		f"<Request 'http://erp.example.com/api/method/attendance_sync.api.push?token={token}' [POST]>\n"
		f"{{'QUERY_STRING': 'token={token}', 'RAW_URI': '/x?a=1&token={token}&b=2'}}\n"
		f"ImmutableMultiDict([('token', '{token}')]) {{\"token\": \"{token}\"}} TOKEN = {token}\n"
		f"bare {token} end"
	)
	redacted = L.redact_tokens(text, [L.token_prefix(token)])
	assert token not in redacted
	assert token[:8] not in redacted
	assert "&b=2" in redacted and "bare <redacted> end" in redacted
	# Without the prefix, the assignments alone are still redacted; other text is left as it is.
	assert L.redact_tokens(f"?token={token}&x=1") == "?token=<redacted>&x=1"
	assert L.redact_tokens("push_token_hash tokens token=short") == "push_token_hash tokens token=short"
