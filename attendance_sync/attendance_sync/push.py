"""Push: a terminal (ISAPI HTTP listening) or the attendance-sync relay POSTs each event to the site.

`receive` is the endpoint's work (`attendance_sync.api.push`, a guest method; docs/push.md is the contract): the
device's token names it (an enabled device's only), the body is read by the core (`_core.parse_push`, the same
`Event` a search gives), a punch is stored as a Device Punch by the code the search-based sync stores with
(`punches.punch_rows`, `device_punch.store_punches`, whose (device, event key) makes a redelivery a duplicate), and its
check-in is left to a job on the `short` queue (`process_pushed`). A pushed time the device cannot have recorded
(before Sync Start, after its clock) is kept as Unreadable. The request runs as Guest and never as anyone else.

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
from frappe.utils import cint, get_datetime, now_datetime, time_diff_in_seconds
from werkzeug.wrappers import Response

from attendance_sync import _core
from attendance_sync.attendance_sync import common, jobs, terminal
from attendance_sync.attendance_sync.checkins import process_pending
from attendance_sync.attendance_sync.doctype.device_punch.device_punch import store_punches
from attendance_sync.attendance_sync.maintenance import refresh_health
from attendance_sync.logic import errors
from attendance_sync.logic import punches as P
from attendance_sync.logic import push as L

PROCESS = "attendance_sync.attendance_sync.push.process_pushed"
PUSH_JOB_ID = "attendance_sync::push"
# A processing job that was queued but never started (its worker died, the queue was flushed) stops holding
# the site's place after this long; the reconciling search processes what it left anyway.
QUEUED_MARKER_TTL = 600
PROCESS_TIMEOUT = 900
# Requests per token per minute; site config `attendance_sync_push_rate_limit` overrides it.
RATE_LIMIT = 1200
RATE_WINDOW = 60
# How often a heartbeat may write Last Push At.
HEARTBEAT_WRITE_SECS = 60
# What of an unreadable body goes to the Error Log.
LOGGED_BODY_BYTES = 2000
# Set on the request once the endpoint has answered it (`after_request` leaves such a request alone).
ANSWERED = "attendance_sync_push_answered"

DEVICE_FIELDS = [
	"name",
	"enabled",
	"auth_blocked",
	"sync_mode",
	"push_token_hash",
	"punch_direction",
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


def handle_body(device: Any, body: bytes, content_type: str | None) -> dict[str, Any]:
	"""Read a push body of `device` and deal with it: store, acknowledge, or report it unreadable."""
	settings = common.get_settings()
	try:
		pushed = _core.parse_push(
			body,
			content_type,
			device=device.name,
			utc_offset=terminal.core_utc_offset(device),
			punch_codes=sorted(settings.punch_codes) if settings.punch_codes else None,
		)
	except _core.PushError as e:
		return _unreadable(device.name, e.reason, body, content_type)
	except (frappe.ValidationError, ValueError):
		# Re-interpreting without a Device Time Zone, or a zone that does not exist: a configuration to fix,
		# told like a sync tells it.
		frappe.clear_messages()
		return _unreadable(device.name, "configuration", body, content_type)

	if pushed.kind != "event" or pushed.event is None:
		_heartbeat(device)
		return {"ok": True, "result": "heartbeat" if pushed.kind == "heartbeat" else "ignored"}
	return _store_event(device, pushed, body, content_type)


def _unreadable(device: str, reason: str, body: bytes, content_type: str | None) -> dict[str, Any]:
	_log_unreadable(device, reason, body, content_type)
	return {"ok": True, "result": "unreadable", "reason": reason}


def _clock_skew(device: Any) -> float | None:
	"""The device's clock skew as its last sync measured it (None for a device never searched)."""
	if not device.last_sync_log:
		return None
	return frappe.db.get_value(common.LOG, device.last_sync_log, "clock_skew_seconds")


def _serial_confirmed(device: str, serial: int, name: str) -> bool:
	"""Whether another stored event of `device` (not Unreadable) is numbered within reach below `serial`."""
	low, high = L.confirming_serials(serial)
	return bool(
		frappe.db.exists(
			common.PUNCH,
			{
				"device": device,
				"serial_no": ["between", [low, high]],
				"status": ["!=", P.UNREADABLE],
				"name": ["!=", name],
			},
		)
	)


def _store_event(device: Any, pushed: Any, body: bytes, content_type: str | None) -> dict[str, Any]:
	event = pushed.event
	fetched = P.punch_rows(
		device.name,
		[event],
		site_tz=common.site_time_zone(),
		direction=device.punch_direction,
		reinterpret_zone=terminal.reinterpret_zone(device),
	)
	if fetched.unreadable:
		return _unreadable(device.name, "time_out_of_range", body, content_type)
	received = now_datetime()
	bounds = L.time_bounds(
		received, get_datetime(device.sync_start) if device.sync_start else None, _clock_skew(device)
	)
	rows, outside = [], None
	for row in fetched.rows:
		outside = bounds.outside(row.time)
		# A time the device cannot have recorded an event at is kept, as what the terminal sent, never a check-in.
		rows.append(
			P.unreadable_row(row, bounds.explain(outside, row.device_time), received) if outside else row
		)
	new = store_punches(rows, None)
	last = cint(device.last_push_serial or device.last_serial_no) or None
	trusted = outside is None
	gap = trusted and L.push_gap(last, event.serial_no, pushed.front_serial_no, pushed.current_event)
	updates: dict[str, Any] = {"last_push_at": received}
	if (
		new
		and trusted
		and event.serial_no is not None
		and pushed.current_event is not False
		and (
			L.serial_within_reach(last, event.serial_no)
			or (
				event.serial_no <= L.MAX_SERIAL
				and _serial_confirmed(device.name, event.serial_no, new[0].name)
			)
		)
	):
		# The serial the terminal is at (a restarted counter takes it down again: its events are new punches);
		# a redelivered event, already stored, says nothing of where the terminal is, nor does an untrusted one.
		updates["last_push_serial"] = event.serial_no
	if gap:
		frappe.db.sql(
			"update `tabDevice Configuration` set push_gaps = ifnull(push_gaps, 0) + 1 where name = %s",
			device.name,
		)
	frappe.db.set_value(common.DEVICE, device.name, updates, update_modified=False)
	frappe.db.commit()
	if any(r.status == P.PENDING for r in new):
		enqueue_processing()
	if gap and L.reconciles(device.sync_mode) and device.enabled and not device.auth_blocked:
		# A search of the device from its cursors (serial first), the scheduled run itself; deduplicated by
		# the device's job id, so a burst of gaps makes one search.
		jobs.enqueue_device(device.name, jobs.SCHEDULED)
	if not fetched.rows:
		return {"ok": True, "result": "ignored"}
	if not new:
		return {"ok": True, "result": "duplicate"}
	if outside:
		return {"ok": True, "result": "unreadable", "reason": outside}
	return {"ok": True, "result": "stored"}


def _heartbeat(device: Any) -> None:
	# Punches left Pending (stored before the device was disabled, or by a job that did not finish) are checked
	# in once the terminal is heard from again: a read per heartbeat, a queued job only when there are some.
	if frappe.db.exists(common.PUNCH, {"device": device.name, "status": P.PENDING}):
		enqueue_processing()
	last = device.last_push_at
	if last and time_diff_in_seconds(now_datetime(), get_datetime(last)) < HEARTBEAT_WRITE_SECS:
		return
	frappe.db.set_value(common.DEVICE, device.name, "last_push_at", now_datetime(), update_modified=False)
	frappe.db.commit()


def _log_unreadable(device: str, reason: str, body: bytes, content_type: str | None) -> None:
	shown = body[:LOGGED_BODY_BYTES].decode("utf-8", "replace")
	more = len(body) - LOGGED_BODY_BYTES
	frappe.log_error(
		title=_("Attendance Sync: unreadable push from {0} ({1})").format(device, reason),
		message=_("Content-Type: {0}\nBody ({1} bytes){2}:\n{3}").format(
			content_type or "-",
			len(body),
			_(", first {0} shown").format(LOGGED_BODY_BYTES) if more > 0 else "",
			shown,
		),
		reference_doctype=common.DEVICE,
		reference_name=device,
	)
	frappe.db.commit()


# --- processing on the short queue ---------------------------------------------------------------------------


def queued_key() -> str:
	return frappe.cache.make_key("attendance_sync:push_queued")


def enqueue_processing() -> bool:
	"""Queue the check-in of the pushed punches on the short queue, unless a job of it is queued.

	One queued job for the site, not one per device: a job that has not started will read every Pending punch
	of the push devices committed before it starts, so pushes from any number of terminals meanwhile make one
	job, whose batch grows with the load. (A job per device made a job per punch across a fleet, and each job's
	fork, connection and reads put the short worker behind: the latency grew with the queue.) A running job does
	not count (it may have read its last batch already): the push after it queues the next. The place is a Redis
	key holding the queued job's id, taken atomically (SET NX) and given up by the job as it starts.
	"""
	from frappe.utils.background_jobs import get_job_status

	key = queued_key()
	jid = f"{PUSH_JOB_ID}::{frappe.generate_hash(length=10)}"
	if not frappe.cache.set(key, jid, nx=True, ex=QUEUED_MARKER_TTL):
		held = frappe.cache.get(key)
		if held and get_job_status(held.decode() if isinstance(held, bytes) else held) == "queued":
			return False
		frappe.cache.set(key, jid, ex=QUEUED_MARKER_TTL)
	frappe.enqueue(
		PROCESS,
		queue="short",
		timeout=PROCESS_TIMEOUT,
		job_id=jid,
		marker=jid,
	)
	return True


def process_pushed(marker: str | None = None) -> dict[str, int]:
	"""The short-queue job: the Pending punches of the enabled devices in a push mode into Employee Checkins
	(`checkins.process_pending`, whose per-person locks keep it apart from a device's own sync)."""
	key = queued_key()
	held = frappe.cache.get(key)
	if marker and held and (held.decode() if isinstance(held, bytes) else held) == marker:
		# From here a new push queues a new job: this one may have read its last batch before that push.
		frappe.cache.delete(key)
	# Like every scheduled device job: the request that queued this one ran as Guest.
	frappe.set_user("Administrator")
	counts = P.SyncCounts()
	# A disabled device's punches wait, Pending, until it is enabled again.
	devices = frappe.get_all(
		common.DEVICE, filters={"sync_mode": ["in", L.PUSH_MODES], "enabled": 1}, pluck="name"
	)
	if not devices:
		return counts.as_dict()
	filters = {"device": ["in", devices]}
	pending = frappe.get_all(
		common.PUNCH, filters={**filters, "status": P.PENDING}, pluck="device", distinct=True
	)
	process_pending(filters, counts, common.get_settings())
	if counts.failed or counts.unmapped:
		for device in pending:
			refresh_health(device)
		frappe.db.commit()
	return counts.as_dict()
