"""Push: a terminal (ISAPI HTTP listening) or the attendance-sync relay POSTs each event to the site.

`receive` is the endpoint's work (`attendance_sync.api.push`, a guest method; docs/push.md is the contract): the
device's token names it (an enabled device's only), and the body goes to `push_events.handle_body`, which stores
a punch, notes a heartbeat or keeps an unreadable record. The request runs as Guest and never as anyone else.

Every body is answered by the endpoint, never by a traceback: `after_request` answers the bodies Frappe's own
request parsing refuses before the method runs (a cut JSON body), and `redact_error_log` keeps push tokens out
of every Error Log, Frappe's own included.

The form's buttons that make and drop tokens (Enable Push, Rotate Token, Disable Push) are the Device
Configuration's (`doctype/device_configuration/push_setup.py`).
"""

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import frappe
from frappe import _
from frappe.utils import cint
from werkzeug.wrappers import Response

from attendance_sync.attendance_sync import common
from attendance_sync.attendance_sync.push_events import handle_body
from attendance_sync.logic import errors
from attendance_sync.logic import push as L

# Requests per token per minute; site config `attendance_sync_push_rate_limit` overrides it.
RATE_LIMIT = 1200
RATE_WINDOW = 60
# Set on the request once the endpoint has answered it (`after_request` leaves such a request alone).
ANSWERED = "attendance_sync_push_answered"

DEVICE_FIELDS = [
	"name",
	"enabled",
	"auth_blocked",
	"sync_mode",
	"push_token_hash",
	"punch_direction",
	"fallback_log_type",
	"device_time_zone",
	"time_zone_handling",
	"sync_start",
	"last_sync_log",
	"last_serial_no",
	"last_push_serial",
	"last_push_at",
]


# --- the endpoint ------------------------------------------------------------------------------------------


def _refuse(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
	"""A non-200 answer, shaped like Frappe's (`{"message": ...}`); it names no device and echoes nothing."""
	body = json.dumps({"message": {"ok": False, "error": error}})
	return Response(body, status=status, mimetype="application/json", headers=headers or {})


def _rate_limit() -> int:
	return cint(frappe.conf.get("attendance_sync_push_rate_limit")) or RATE_LIMIT


def _over_rate(token_digest: str) -> int | None:
	"""Count a request against its token's window; the seconds to wait when the window's limit is spent."""
	now = time.time()
	window = int(now // RATE_WINDOW)
	key = frappe.cache.make_key(f"attendance_sync:push_rate:{token_digest[:32]}:{window}")
	count = frappe.cache.incr(key)
	if count == 1:
		frappe.cache.expire(key, RATE_WINDOW + 5)
	if count > _rate_limit():
		return L.retry_after(RATE_WINDOW, now)
	return None


def device_for_token(token: str) -> Any | None:
	"""The enabled Device Configuration whose push token this is (found by prefix, compared in constant time)."""
	if not L.plausible_token(token):
		return None
	rows = frappe.get_all(
		common.DEVICE,
		filters={"push_token_prefix": L.token_prefix(token)},
		fields=DEVICE_FIELDS,
	)
	found = None
	for row in rows:
		# Every candidate is compared, so the time taken does not depend on which one matches.
		if L.token_matches(token, row.push_token_hash) and row.sync_mode in L.PUSH_MODES:
			found = row
	# A disabled device is off: its token is refused like a revoked one until the device is enabled again.
	return found if found is not None and found.enabled else None


def receive() -> Response | dict[str, Any]:
	"""One push: 401 (token), 429 (rate), 413 (size), else 200 with what was done (docs/push.md).

	An unexpected failure is a 503 (try again later) with an Error Log of its own, never Frappe's error page,
	whose snapshot would keep the request (and its URL) with the frames' variables."""
	request = frappe.request
	frappe.local.flags[ANSWERED] = True
	token = request.args.get("token") or ""
	_forget_token(request)
	try:
		return _receive(request, token)
	except Exception:
		return _failed(token)


def _receive(request: Any, token: str) -> Response | dict[str, Any]:
	if not token:
		return _refuse(401, "token missing")
	retry = _over_rate(L.token_hash(token))
	if retry is not None:
		return _refuse(429, "rate limit", {"Retry-After": str(retry)})
	device = device_for_token(token)
	if device is None:
		return _refuse(401, "token not accepted")
	# Frappe has read the body already (up to its own 25 MiB cap); nothing of it is parsed past this limit.
	if (request.content_length or 0) > L.MAX_BODY:
		return _refuse(413, "body over 1 MiB")
	body = request.get_data(cache=True)
	if len(body) > L.MAX_BODY:
		return _refuse(413, "body over 1 MiB")
	return handle_body(device, body, request.headers.get("Content-Type"))


def _forget_token(request: Any) -> None:
	"""Nothing after this reads the token from the request: not the form Frappe's recorder keeps, not the URL its
	web log (`enable_frappe_logger`) writes, not the request's repr in an error snapshot."""
	frappe.local.form_dict.pop("token", None)
	query = request.query_string.decode("latin-1")
	if "token" not in query:
		return
	pairs = [(k, L.REDACTED if k == "token" else v) for k, v in parse_qsl(query, keep_blank_values=True)]
	redacted = urlencode(pairs, safe="<>")
	request.query_string = redacted.encode("latin-1")
	environ = request.environ
	environ["QUERY_STRING"] = redacted
	for key in ("REQUEST_URI", "RAW_URI"):
		if key in environ:
			environ[key] = f"{environ[key].split('?', 1)[0]}?{redacted}"
	# Werkzeug caches these on first use; the next use builds them again from the redacted query.
	for cached in ("url", "full_path"):
		request.__dict__.pop(cached, None)


def _failed(token: str) -> Response:
	frappe.db.rollback()
	try:
		frappe.log_error(
			title=_("Attendance Sync: a push could not be handled"),
			message=L.redact_tokens(errors.redact(frappe.get_traceback(), [token])),
		)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
	return _refuse(503, "try again later")


def after_request(response: Any = None, request: Any = None) -> None:
	"""The `after_request` hook: a push whose body Frappe's request parsing refused before the endpoint ran.

	Frappe parses a body labelled `application/json` before any app code runs, and answers one that is not a JSON
	object or array (a cut body, `null`) with its error page (500 or 417). The endpoint answers such a push
	here as it answers any other, so the terminal gets 401 or 200 `unreadable`; Frappe's own Error Log of the
	failure keeps no token (`redact_error_log`).
	"""
	if response is None or request is None or request.method != "POST" or request.path != L.METHOD_PATH:
		return
	if frappe.local.flags.get(ANSWERED) or response.status_code < 400 or not frappe.db:
		return
	if frappe.local.conf.get("maintenance_mode") or not _frappe_cannot_parse(request):
		return
	answer = receive()
	frappe.db.commit()
	if isinstance(answer, Response):
		status, body, headers = answer.status_code, answer.get_data(), dict(answer.headers)
	else:
		status, body, headers = 200, json.dumps({"message": answer}).encode(), {}
	response.status_code = status
	response.set_data(body)
	response.headers["Content-Type"] = "application/json"
	for key in ("Retry-After",):
		if key in headers:
			response.headers[key] = headers[key]


def _frappe_cannot_parse(request: Any) -> bool:
	"""Whether Frappe's `make_form_dict` refuses this request's body: JSON by its Content-Type, yet not a JSON
	object or array."""
	data = request.get_data(as_text=True)
	if not (data and request.is_json):
		return False
	try:
		parsed = json.loads(data)
	except (ValueError, RecursionError):
		# Not JSON, or nested deeper than Python's parser goes.
		return True
	return not isinstance(parsed, dict | list)


def redact_error_log(doc: Any, method: str | None = None) -> None:
	"""`Error Log` before_insert: no Error Log keeps a push token (Frappe's snapshot of a failed request holds the
	request and its URL, the token in its query string)."""
	try:
		prefixes = frappe.get_all(
			common.DEVICE, filters={"push_token_prefix": ["is", "set"]}, pluck="push_token_prefix"
		)
	except Exception:
		# The database failing is often why an error is logged; the pattern alone still applies.
		prefixes = []
	for field in ("method", "error"):
		text = doc.get(field)
		if text:
			doc.set(field, L.redact_tokens(text, prefixes))
