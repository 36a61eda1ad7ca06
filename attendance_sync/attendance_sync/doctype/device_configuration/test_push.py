# Copyright (c) 2025, Attendance Sync contributors
# See license.txt
"""The push endpoint (`attendance_sync.api.push`, docs/push.md) over real HTTP.

The site's own WSGI application (`frappe.app.application`, what `bench serve` runs) is served on a loopback port
in this process for the test, so a request goes through Frappe exactly as a terminal's does: guest session, form
parsing, the whitelisted method, the response. The simulator pushes to it like a terminal with HTTP listening;
crafted bodies are POSTed with urllib. Check-ins come from real `bench worker --burst` processes.
"""

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import frappe.app
from frappe.utils.background_jobs import get_queue, is_job_enqueued
from werkzeug.serving import make_server

from attendance_sync import _core
from attendance_sync.attendance_sync import common, jobs, push_events, terminal
from attendance_sync.attendance_sync import push as push_site
from attendance_sync.attendance_sync.doctype.device_configuration import push_setup
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase
from attendance_sync.logic import punches as P
from attendance_sync.logic import push as L
from attendance_sync.logic.timezones import site_naive_to_aware

BOUNDARY = "MIME_boundary"


class SiteServer:
	"""`frappe.app.application` on 127.0.0.1:<free port>, pinned to this site (as `bench --site S serve`)."""

	def __init__(self, site: str) -> None:
		self.site = site
		self._previous = frappe.app._site
		frappe.app._site = site
		self.server = make_server("127.0.0.1", 0, frappe.app.application, threaded=True)
		self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
		self.thread.start()

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.server.server_port}"

	def stop(self) -> None:
		self.server.shutdown()
		self.thread.join(timeout=10)
		frappe.app._site = self._previous


def notification(serial: int, employee: str | None = "9001", **inner: Any) -> dict[str, Any]:
	"""A terminal's access-event notification (docs/push.md, Bodies accepted), timed now at +06:00."""
	when = datetime.now(timezone(timedelta(hours=6))).replace(microsecond=0) - timedelta(minutes=70)
	event = {
		"deviceName": "Lobby",
		"majorEventType": 5,
		"subEventType": 75,
		"name": "Pushed Person",
		"serialNo": serial,
		"frontSerialNo": serial - 1,
		"currentEvent": True,
		"currentVerifyMode": "faceOrFpOrCardOrPw",
		"attendanceStatus": "undefined",
		**inner,
	}
	if employee is not None:
		event["employeeNoString"] = employee
	return {
		"ipAddress": "192.168.18.202",
		"portNo": 80,
		"protocol": "HTTP",
		"macAddress": "a4:d5:c2:75:fd:64",
		"dateTime": (when + timedelta(seconds=serial % 3600)).isoformat(),
		"activePostCount": 1,
		"eventType": "AccessControllerEvent",
		"eventState": "active",
		"eventDescription": "Access Controller Event",
		"AccessControllerEvent": event,
	}


def multipart(part: str, payload: bytes, picture: bytes | None = None) -> tuple[bytes, str]:
	body = (
		f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{part}"\r\n'
		f'Content-Type: application/json; charset="UTF-8"\r\nContent-Length: {len(payload)}\r\n\r\n'
	).encode() + payload
	if picture is not None:
		body += (
			f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\n'
			f"Content-Type: image/jpeg\r\nContent-Length: {len(picture)}\r\n\r\n"
		).encode() + picture
	body += f"\r\n--{BOUNDARY}--\r\n".encode()
	return body, f"multipart/form-data; boundary={BOUNDARY}"


class PushCase(AttendanceSyncTestCase):
	"""The site on a loopback port, no push job left over, and the helpers the push tests share."""

	def setUp(self) -> None:
		super().setUp()
		self.site = SiteServer(frappe.local.site)
		self.addCleanup(self.site.stop)
		self.drop_push_jobs()
		self.addCleanup(self.drop_push_jobs)

	def drop_push_jobs(self) -> None:
		"""No queued push job and no place held: one test's site-wide job must not stand in for another's."""
		queue = get_queue("short")
		for job_id in self.push_jobs():
			queue.remove(job_id)
		frappe.cache.delete(push_events.queued_key())

	# --- helpers ---------------------------------------------------------------------------------------

	def post(
		self, token: str | None, body: bytes, content_type: str | None = "application/json"
	) -> tuple[int, dict[str, Any], dict[str, str]]:
		"""POST to the endpoint over HTTP: (status, JSON answer, headers)."""
		url = f"{self.site.url}{L.METHOD_PATH}"
		if token is not None:
			url += f"?token={token}"
		request = urllib.request.Request(url, data=body, method="POST")
		if content_type:
			request.add_header("Content-Type", content_type)
		try:
			with urllib.request.urlopen(request, timeout=60) as response:
				status, text, headers = response.status, response.read(), dict(response.headers)
		except urllib.error.HTTPError as e:
			status, text, headers = e.code, e.read(), dict(e.headers)
		# The request committed in its own connection: end this one's snapshot.
		frappe.db.rollback()
		try:
			answer = json.loads(text)
		except ValueError:
			answer = {"raw": text.decode("utf-8", "replace")}
		return status, answer, headers

	def push_device(self, sim_device=None, **fields: Any) -> tuple[str, str]:
		device = self.make_device(sim_device, **fields)
		answer = push_setup.enable_push(device, write_to_terminal=0)
		frappe.db.commit()
		return device, answer["token"]

	def punches(self, device: str, **filters: Any) -> list[Any]:
		# What the site's request threads and the workers committed: a new transaction sees it.
		frappe.db.rollback()
		return super().punches(device, **filters)

	def punch_count(self, device: str) -> int:
		frappe.db.rollback()
		return frappe.db.count(common.PUNCH, {"device": device})

	def push_jobs(self) -> list[str]:
		prefix = f"{frappe.local.site}::{push_events.PUSH_JOB_ID}::"
		return [j for j in get_queue("short").job_ids if j.startswith(prefix)]

	def assert_refused(self, status: int, answer: dict, expected: int) -> None:
		self.assertEqual(status, expected, answer)
		self.assertIs(answer["message"]["ok"], False, answer)


class TestPush(PushCase):
	# --- the endpoint ------------------------------------------------------------------------------------

	def test_each_body_shape_is_stored_once(self):
		device, token = self.push_device()
		self.assertIsNone(frappe.db.get_value(common.DEVICE, device, "last_contact"))
		shapes = [
			multipart(
				"event_log", json.dumps(notification(301)).encode(), picture=b"\xff\xd8\xff\xe0JFIF\xff\xd9"
			),
			multipart("AccessControllerEvent", json.dumps(notification(302)).encode()),
			(json.dumps(notification(303)).encode(), "application/json"),
			# A bare JSON body without a Content-Type (some firmwares).
			(json.dumps(notification(304)).encode(), None),
		]
		for body, content_type in shapes:
			status, answer, _headers = self.post(token, body, content_type)
			self.assertEqual(status, 200, answer)
			self.assertEqual(answer["message"], {"ok": True, "result": "stored"})
		punches = self.punches(device)
		self.assertEqual(sorted(p.serial_no for p in punches), [301, 302, 303, 304])
		self.assertIsNotNone(frappe.db.get_value(common.DEVICE, device, "last_contact"), "a push is contact")
		self.assertTrue(all(p.status == P.PENDING for p in punches), punches)
		row = frappe.db.get_value(
			common.PUNCH, {"device": device, "serial_no": 301}, ["device_user_id", "minor", "name_on_device"]
		)
		self.assertEqual(row, ("9001", 75, "Pushed Person"))
		# Redelivered (the terminal's retry, a back-fill, the relay's second attempt): the key turns it away.
		body, content_type = shapes[0]
		status, answer, _headers = self.post(token, body, content_type)
		self.assertEqual((status, answer["message"]), (200, {"ok": True, "result": "duplicate"}))
		self.assertEqual(self.punch_count(device), 4)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_push_serial"), 304)

	def test_missing_wrong_and_revoked_tokens_are_refused_and_store_nothing(self):
		device, token = self.push_device()
		other, other_token = self.push_device()
		body = json.dumps(notification(401)).encode()
		errors_before = frappe.db.count("Error Log")
		wrong = L.token_prefix(token) + L.new_token()[8:]  # the right prefix, the wrong rest
		for presented in (None, "", "not-a-token", wrong, L.new_token(), token + "x"):
			status, answer, _headers = self.post(presented, body)
			self.assert_refused(status, answer, 401)
			self.assertNotIn(token, json.dumps(answer))
		# Rotated: the old token is refused at once, the new one works.
		new_token = push_setup.rotate_token(device, write_to_terminal=0)["token"]
		frappe.db.commit()
		self.assert_refused(*self.post(token, body)[:2], 401)
		self.assertEqual(self.post(new_token, body)[1]["message"]["result"], "stored")
		# Disabled: dropped.
		push_setup.disable_push(other)
		frappe.db.commit()
		self.assert_refused(*self.post(other_token, json.dumps(notification(402)).encode())[:2], 401)
		self.assertEqual(self.punch_count(device), 1)
		self.assertEqual(self.punch_count(other), 0)
		self.assertEqual(frappe.db.count("Error Log"), errors_before)

	def test_oversize_body_is_refused_before_parsing(self):
		device, token = self.push_device()
		payload = json.dumps(notification(501)).encode()
		body, content_type = multipart("event_log", payload, picture=b"\xff" * L.MAX_BODY)
		status, answer, _headers = self.post(token, body, content_type)
		self.assert_refused(status, answer, 413)
		self.assertEqual(self.punch_count(device), 0)
		# A terminal's picture (30-120 KB) is well within the limit.
		body, content_type = multipart("event_log", payload, picture=b"\xff" * 120_000)
		self.assertEqual(self.post(token, body, content_type)[1]["message"]["result"], "stored")

	def test_unreadable_bodies_are_acknowledged_with_the_reason_and_logged_without_the_token(self):
		device, token = self.push_device()
		cases = [
			(
				multipart("event_log", b'{"eventType": "AccessControllerEvent", "Access')[0],
				f"multipart/form-data; boundary={BOUNDARY}",
				"json",
			),
			(b"", None, "empty"),
			(b"--x\r\n\r\n", "multipart/form-data", "no_boundary"),
			(b"<EventNotificationAlert><eventType>AccessControllerEvent</event", "application/xml", "xml"),
			(
				json.dumps(
					{
						"eventType": "AccessControllerEvent",
						"AccessControllerEvent": {"majorEventType": 5, "subEventType": 75, "serialNo": 9},
					}
				).encode(),
				None,
				"no_time",
			),
		]
		for body, content_type, reason in cases:
			status, answer, _headers = self.post(token, body, content_type)
			self.assertEqual(status, 200, answer)
			self.assertEqual(answer["message"], {"ok": True, "result": "unreadable", "reason": reason})
		self.assertEqual(self.punch_count(device), 0)
		logs = frappe.get_all(
			"Error Log",
			filters={"reference_doctype": common.DEVICE, "reference_name": device},
			fields=["method", "error"],
		)
		self.assertEqual(len(logs), len(cases))
		for log in logs:
			self.assertIn("unreadable push", log.method)
			self.assertNotIn(token, log.error + log.method)

	def test_heartbeats_and_other_events_are_acknowledged_and_dropped(self):
		device, token = self.push_device()
		heartbeat = {
			"ipAddress": "192.168.18.202",
			"portNo": 80,
			"protocol": "HTTP",
			"dateTime": datetime.now(timezone.utc).isoformat(timespec="seconds"),
			"activePostCount": 1,
			"eventType": "videoloss",
			"eventState": "inactive",
			"eventDescription": "videoloss alarm",
		}
		status, answer, _headers = self.post(token, *multipart("event_log", json.dumps(heartbeat).encode()))
		self.assertEqual((status, answer["message"]), (200, {"ok": True, "result": "heartbeat"}))
		self.assertIsNotNone(frappe.db.get_value(common.DEVICE, device, "last_push_at"))
		self.assertIsNotNone(
			frappe.db.get_value(common.DEVICE, device, "last_contact"), "a heartbeat is contact"
		)
		door = notification(601, employee=None, subEventType=21)  # door opened: an access event, not a punch
		alarm = notification(602, majorEventType=1, subEventType=1024)
		for body in (door, alarm):
			status, answer, _headers = self.post(token, json.dumps(body).encode())
			self.assertEqual((status, answer["message"]), (200, {"ok": True, "result": "ignored"}))
		self.assertEqual(self.punch_count(device), 0)
		self.assertEqual(self.push_jobs(), [])

	def test_rate_limit_answers_429_with_retry_after(self):
		device, token = self.push_device()
		digest = L.token_hash(token)
		now = time.time()
		for window in (int(now // push_site.RATE_WINDOW), int(now // push_site.RATE_WINDOW) + 1):
			key = frappe.cache.make_key(f"attendance_sync:push_rate:{digest[:32]}:{window}")
			frappe.cache.set(key, push_site.RATE_LIMIT, ex=push_site.RATE_WINDOW + 5)
			self.addCleanup(frappe.cache.delete, key)
		status, answer, headers = self.post(token, json.dumps(notification(701)).encode())
		self.assert_refused(status, answer, 429)
		self.assertTrue(1 <= int(headers["Retry-After"]) <= push_site.RATE_WINDOW, headers)
		self.assertEqual(self.punch_count(device), 0)

	# --- processing ----------------------------------------------------------------------------------------

	def test_pushed_punches_become_checkins_through_one_short_queue_job(self):
		sims = self.start_simulator(2, days=1, events_per_day=4)
		pushing = [self.push_device(sim) for sim in sims]
		# Other people on each terminal: every punch is a check-in of its own.
		people = self.device_user_ids(pushing[0][0])[:6]
		for user in people:
			self.make_employee(user)
		recorded: dict[str, list] = {device: [] for device, _token in pushing}
		for fmt in ("event_log", "access_controller_event", "json"):
			for n, (sim, (device, token)) in enumerate(zip(sims, pushing, strict=True)):
				url = f"{self.site.url}{L.METHOD_PATH}?token={token}"
				sim.set_push(url, format=fmt, picture=fmt == "event_log")
				for user in people[n * 3 : n * 3 + 3]:
					recorded[device] += sim.add_events(1, employee_no=user)
				self.wait_pushed(sim, 3)
		# A burst of pushes from both terminals makes one queued job.
		self.assertEqual(len(self.push_jobs()), 1, self.push_jobs())
		self.run_worker("short")
		for device, events in recorded.items():
			self.assertEqual(len(events), 9)
			punches = {p.serial_no: p for p in self.punches(device)}
			self.assertEqual(sorted(punches), sorted(e["serial_no"] for e in events))
			self.assertTrue(all(p.status == P.CHECKED_IN for p in punches.values()), punches)
			self.assertEqual(self.assert_checkins_exactly_once(device), len(events))
		# The next push after the job queues the next job.
		device = pushing[0][0]
		sims[0].add_events(1, employee_no=people[0])
		# The counters run since the last set_push: its burst and this one.
		self.wait_pushed(sims[0], 3 + 1)
		self.assertEqual(len(self.push_jobs()), 1)
		self.run_worker("short")
		frappe.db.rollback()
		self.assertEqual(self.assert_checkins_exactly_once(device), len(recorded[device]) + 1)

	def wait_pushed(self, sim, count: int, timeout: float = 60) -> dict[str, Any]:
		"""Until the simulator has had `count` event pushes answered since its push was configured."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			stats = sim.push_stats()
			if stats["events_acknowledged"] + stats["events_dropped"] >= count:
				return stats
			if stats["refused"] or stats["failed"]:
				self.fail(f"the site refused or missed a push: {stats}")
			time.sleep(0.1)
		self.fail(f"pushes not answered in time: {sim.push_stats()}")

	def test_a_missed_push_queues_a_search_that_finds_it(self):
		sim = self.start_simulator(1, days=1, events_per_day=4)[0]
		device, token = self.push_device(sim)
		user = self.device_user_ids(device)[0]
		self.make_employee(user)
		url = f"{self.site.url}{L.METHOD_PATH}?token={token}"
		sim.set_push(url)
		first = sim.add_events(1, employee_no=user)[0]
		self.wait_pushed(sim, 1)
		# Lost on the way: the terminal recorded it, the site never heard of it.
		sim.set_push(url, drop_share=1.0)
		lost = sim.add_events(1, employee_no=user)[0]
		self.assertEqual(sim.push_stats()["dropped_serials"], [lost["serial_no"]])
		sim.set_push(url)
		last = sim.add_events(1, employee_no=user)[0]
		self.wait_pushed(sim, 1)
		# Events recorded within one second are stamped a second apart (never before the latest), so the last ones
		# can lie ahead of the terminal's clock: the search, whose window ends at that clock, runs once it is past.
		while datetime.now(timezone.utc) <= datetime.fromisoformat(last["time"]):
			time.sleep(0.1)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "push_gaps"), 1)
		self.assertTrue(is_job_enqueued(common.job_id(device)), "no search was queued for the gap")
		self.run_worker("long")
		self.run_worker("short")
		statuses = {p.serial_no: p.status for p in self.punches(device)}
		for event in (first, lost, last):
			self.assertEqual(statuses.get(event["serial_no"]), P.CHECKED_IN, (event, statuses))
		self.assert_checkins_exactly_once(device)
		# Queued by a Guest request, the search ran as Administrator: its log and the check-in it made.
		self.assertEqual(
			frappe.get_all(common.LOG, filters={"device": device, "trigger": jobs.SCHEDULED}, pluck="user"),
			["Administrator"],
		)
		checkin = frappe.db.get_value(
			common.PUNCH, {"device": device, "serial_no": lost["serial_no"]}, "employee_checkin"
		)
		self.assertEqual(frappe.db.get_value("Employee Checkin", checkin, "owner"), "Administrator")

	def test_pure_push_counts_a_gap_but_does_not_search_and_is_not_scheduled(self):
		device, token = self.push_device()
		frappe.db.set_value(common.DEVICE, device, "sync_mode", L.PUSH)
		frappe.db.commit()
		self.assertEqual(
			self.post(token, json.dumps(notification(801)).encode())[1]["message"]["result"], "stored"
		)
		self.assertEqual(
			self.post(token, json.dumps(notification(805)).encode())[1]["message"]["result"], "stored"
		)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "push_gaps"), 1)
		self.assertFalse(is_job_enqueued(common.job_id(device)))
		self.assertNotIn(device, [d.name for d in jobs._schedulable_devices()])
		frappe.db.set_value(common.DEVICE, device, "sync_mode", L.PUSH_RECONCILE)
		self.assertIn(device, [d.name for d in jobs._schedulable_devices()])

	# --- the form ----------------------------------------------------------------------------------------

	def test_token_is_shown_once_and_kept_only_as_hash_and_prefix(self):
		device = self.make_device(None)
		answer = push_setup.enable_push(device, write_to_terminal=0)
		token = answer["token"]
		self.assertTrue(L.plausible_token(token) and len(token) >= 43)
		self.assertEqual(answer["url"], f"{frappe.utils.get_url()}{L.METHOD_PATH}?token={token}")
		self.assertEqual(answer["path"], f"{L.METHOD_PATH}?token={token}")
		row = frappe.db.sql("select * from `tabDevice Configuration` where name = %s", device, as_dict=True)[
			0
		]
		self.assertNotIn(token, json.dumps(row, default=str))
		self.assertEqual(row.push_token_hash, L.token_hash(token))
		self.assertEqual(row.push_token_prefix, token[:8])
		self.assertEqual(row.sync_mode, L.PUSH_RECONCILE)
		# A form opened before Enable Push and saved after it keeps the token.
		stale = frappe.get_doc(common.DEVICE, device)
		stale.push_token_hash = None
		stale.sync_mode = L.PUSH
		stale.save()
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "push_token_hash"), L.token_hash(token))
		stale.sync_mode = L.PULL
		with self.assertRaisesRegex(frappe.ValidationError, "Disable Push"):
			stale.save()
		frappe.db.rollback()
		plain = frappe.get_doc(common.DEVICE, self.make_device(None))
		plain.sync_mode = L.PUSH_RECONCILE
		with self.assertRaisesRegex(frappe.ValidationError, "Enable Push"):
			plain.save()

	def test_push_buttons_need_system_manager(self):
		device = self.make_device(None)
		frappe.set_user(self.make_user("HR Manager"))
		for method in (push_setup.enable_push, push_setup.rotate_token, push_setup.disable_push):
			with self.assertRaises(frappe.PermissionError):
				method(device)
		frappe.set_user("Administrator")
		self.assertIsNone(frappe.db.get_value(common.DEVICE, device, "push_token_hash"))

	# --- the terminal's HTTP host, over ISAPI --------------------------------------------------------------

	def site_url_is_the_test_server(self) -> None:
		"""`get_url()` (what Enable Push sends the terminal) names this test's server."""
		previous = frappe.local.conf.get("host_name")
		frappe.local.conf.host_name = self.site.url
		self.addCleanup(frappe.local.conf.__setitem__, "host_name", previous)

	def test_enable_push_writes_the_terminals_http_host_and_disable_push_clears_it(self):
		sim = self.start_simulator(1, days=1, events_per_day=4)[0]
		self.site_url_is_the_test_server()
		device = self.make_device(sim)
		user = self.device_user_ids(device)[0]
		self.make_employee(user)
		answer = push_setup.enable_push(device)
		self.assertTrue(answer["written"], answer)
		self.assertIsNone(answer["error"])
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "push_host_on_terminal"), 1)
		core = _core
		dev = terminal.core_device(frappe.get_doc(common.DEVICE, device), common.get_settings())
		slot = core.http_hosts(dev)[0]
		self.assertEqual(slot.url, answer["url"])
		# The terminal now pushes what it records to the site, with no /sim/push set up by the test.
		event = sim.add_events(1, employee_no=user)[0]
		self.wait_pushed(sim, 1)
		self.assertEqual([p.serial_no for p in self.punches(device)], [event["serial_no"]])
		# Rotated: the slot gets the new URL, the old token is refused.
		rotated = push_setup.rotate_token(device)
		self.assertTrue(rotated["written"], rotated)
		self.assertEqual(core.http_hosts(dev)[0].url, rotated["url"])
		self.assert_refused(*self.post(answer["token"], json.dumps(notification(901)).encode())[:2], 401)
		done = push_setup.disable_push(device)
		self.assertEqual((done["cleared"], done["error"]), (True, None))
		self.assertTrue(core.http_hosts(dev)[0].is_empty)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value(
				common.DEVICE, device, ["sync_mode", "push_token_hash", "push_host_on_terminal"]
			),
			(L.PULL, None, 0),
		)

	def test_without_http_listening_enable_push_gives_the_values_to_type(self):
		sim = self.start_simulator(1, "--no-http-listening", days=1, events_per_day=4)[0]
		device = self.make_device(sim)
		answer = push_setup.enable_push(device)
		self.assertFalse(answer["written"])
		self.assertIn("web page", answer["error"])
		self.assertNotIn(answer["token"], answer["error"])
		target = L.terminal_target(frappe.utils.get_url(), answer["token"])
		self.assertEqual(
			{k: answer[k] for k in ("protocol", "addressing", "address", "port", "path", "url")},
			target.as_dict(),
		)
		# The token works all the same: typed on the terminal, it is what the terminal pushes with.
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "sync_mode"), L.PUSH_RECONCILE)
		self.assertEqual(
			self.post(answer["token"], json.dumps(notification(911)).encode())[1]["message"]["result"],
			"stored",
		)
		# A wrong terminal password: one attempt, then Login Rejected, as a sync.
		other = self.make_device(sim, password="not-the-password")
		refused = push_setup.enable_push(other)
		self.assertFalse(refused["written"])
		self.assertEqual(frappe.db.get_value(common.DEVICE, other, "auth_blocked"), 1)
		self.assertEqual(sim.stats()["failed_logins"], 1)


def at_time(serial: int, when: str, **inner: Any) -> bytes:
	"""A terminal's notification of serial `serial` whose `dateTime` is `when`, as JSON."""
	return json.dumps({**notification(serial, **inner), "dateTime": when}).encode()


class TestPushTrust(PushCase):
	"""What the endpoint does with what it cannot read or trust (issue 17): times no zone can hold, bodies Frappe
	cannot parse, a disabled device, times and serials the device cannot have recorded."""

	def error_logs(self, device: str) -> list[Any]:
		frappe.db.rollback()
		return frappe.get_all(
			"Error Log",
			filters={"reference_doctype": common.DEVICE, "reference_name": device},
			fields=["method", "error"],
		)

	def assert_no_log_holds(self, token: str) -> None:
		"""No Error Log holds `token`, Frappe's deferred snapshots of failed requests included."""
		from frappe.deferred_insert import save_to_db

		save_to_db()
		frappe.db.commit()
		held = frappe.db.sql(
			"select name, method from `tabError Log` where error like %(t)s or method like %(t)s",
			{"t": f"%{token}%"},
		)
		self.assertEqual(held, (), "an Error Log holds the push token")

	# --- 6: times outside the years 1 to 9999 ------------------------------------------------------------

	def test_pushed_times_no_zone_can_hold_are_unreadable_and_the_device_keeps_pushing(self):
		device, token = self.push_device()
		# Year 0000, and year 1 / 9999 with an offset that takes the instant out of those years.
		for serial, when in (
			(1201, "0000-06-01T10:00:00+00:00"),
			(1202, "0001-01-01T03:00:00+06:00"),
			(1203, "9999-12-31T20:00:00-05:00"),
		):
			status, answer, _headers = self.post(token, at_time(serial, when))
			self.assertEqual(status, 200, answer)
			self.assertEqual(
				answer["message"], {"ok": True, "result": "unreadable", "reason": "time_out_of_range"}
			)
		self.assertEqual(self.punch_count(device), 0)
		logs = self.error_logs(device)
		self.assertEqual(len(logs), 3, logs)
		self.assertTrue(all("time_out_of_range" in log.method for log in logs), logs)
		# Year 1 and 9999 that Python holds: times the device cannot have recorded, kept as Unreadable rows.
		for serial, when, reason in (
			(1204, "0001-06-01T10:00:00+06:00", L.BEFORE_SYNC_START),
			(1205, "9999-06-01T10:00:00+06:00", L.AFTER_DEVICE_CLOCK),
		):
			status, answer, _headers = self.post(token, at_time(serial, when))
			self.assertEqual(
				(status, answer["message"]), (200, {"ok": True, "result": "unreadable", "reason": reason})
			)
		kept = {p.serial_no: p for p in self.punches(device)}
		self.assertEqual(sorted(kept), [1204, 1205])
		for punch in kept.values():
			self.assertEqual(punch.status, P.UNREADABLE)
			# Time is when the site received it: a time the database holds, never year 1 or 9999.
			self.assertIsNotNone(punch.time)
			self.assertLessEqual(punch.time, frappe.utils.now_datetime())
		self.assertEqual(kept[1205].device_time, "9999-06-01T10:00:00+06:00")
		# The device goes on: the next punch is stored and moves Last Pushed Serial No.
		status, answer, _headers = self.post(token, json.dumps(notification(1206)).encode())
		self.assertEqual((status, answer["message"]), (200, {"ok": True, "result": "stored"}))
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_push_serial"), 1206)
		self.assert_no_log_holds(token)

	def test_a_search_answering_times_no_zone_can_hold_skips_them_and_keeps_syncing(self):
		sim = self.start_simulator(1, days=1, events_per_day=4)[0]
		device = self.make_device(sim)
		sim.add_events(1, at="0000-06-01T10:00:00+00:00")
		sim.add_events(1, at="9999-12-31T22:00:00-05:00")
		# A firmware whose filter lets the nearest records outside the window through: those two, every search.
		sim.set_faults(outside_window=True)
		# The first run searches from Sync Start: the records just outside its window are those two.
		result = jobs.sync_device(device)
		self.assertEqual(result.get("status"), "Success", result)
		self.assertEqual(frappe.db.get_value(common.LOG, result["log"], "unreadable_records"), 2)
		# The next run (by serial, from just before the last punch) gets the year-9999 one again at least.
		result = jobs.sync_device(device)
		self.assertEqual(result.get("status"), "Success", result)
		self.assertGreaterEqual(frappe.db.get_value(common.LOG, result["log"], "unreadable_records"), 1)
		punches = self.punches(device)
		self.assertTrue(punches)
		self.assertTrue(all(p.time and 2000 < p.time.year < 9999 for p in punches), punches)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_sync_status"), "Success")

	# --- 7: bodies Frappe cannot parse, and the token in logs ------------------------------------------------

	def test_bodies_frappe_cannot_parse_are_answered_by_the_endpoint_and_no_log_keeps_the_token(self):
		device, token = self.push_device()
		cut = json.dumps(notification(1301)).encode()[:100]
		cases = [
			(cut, "json"),
			(b"null", "not_object"),
			(b'"text"', "not_object"),
			(b"5", "not_object"),
			(b"\xff\xfe not text", "json"),
			# Deeper than Python's JSON parser goes (RecursionError, not ValueError).
			(b"[" * 100_000, "json"),
		]
		for body, reason in cases:
			# Labelled application/json: Frappe parses it before any method runs.
			status, answer, _headers = self.post(token, body, "application/json")
			self.assertEqual(status, 200, answer)
			self.assertEqual(answer["message"], {"ok": True, "result": "unreadable", "reason": reason})
		# Such a body with no token, or a wrong one, is refused like any other.
		self.assert_refused(*self.post(None, cut)[:2], 401)
		self.assert_refused(*self.post(L.new_token(), cut)[:2], 401)
		self.assertEqual(self.punch_count(device), 0)
		self.assertEqual(len(self.error_logs(device)), len(cases))
		self.assert_no_log_holds(token)
		# Whatever logs a request: its URL, form or query in an Error Log is kept without the token.
		frappe.log_error(
			title="a failed request",
			message=(
				f"request = <Request 'http://site/api/method/attendance_sync.api.push?token={token}' [POST]>\n"
				f"environ = {{'QUERY_STRING': 'token={token}', 'RAW_URI': '/x?a=1&token={token}'}}\n"
				f"args = ImmutableMultiDict([('token', '{token}')])\nseen = {token}"
			),
		)
		frappe.db.commit()
		self.assert_no_log_holds(token)

	# --- 8: a disabled device ------------------------------------------------------------------------------

	def set_enabled(self, device: str, enabled: int) -> None:
		doc = frappe.get_doc(common.DEVICE, device)
		doc.enabled = enabled
		doc.save()
		frappe.db.commit()

	def test_a_disabled_device_is_refused_and_its_punches_wait_until_it_is_enabled(self):
		device, token = self.push_device()
		self.make_employee("9001")
		status, answer, _headers = self.post(token, json.dumps(notification(1401)).encode())
		self.assertEqual((status, answer["message"]["result"]), (200, "stored"))
		self.set_enabled(device, 0)
		heartbeat = json.dumps({"eventType": "videoloss", "eventState": "inactive"}).encode()
		for body in (json.dumps(notification(1402)).encode(), heartbeat):
			self.assert_refused(*self.post(token, body)[:2], 401)
		self.assertEqual([p.serial_no for p in self.punches(device)], [1401])
		# The site-wide job (queued by the first push) leaves a disabled device's punches alone.
		self.run_worker("short")
		self.assertEqual([p.status for p in self.punches(device)], [P.PENDING])
		self.assertFalse(self.checkins(device))
		# Enabled again: the token works, and the terminal's next word (a heartbeat) checks its punches in.
		self.set_enabled(device, 1)
		status, answer, _headers = self.post(token, heartbeat)
		self.assertEqual((status, answer["message"]["result"]), (200, "heartbeat"))
		self.assertEqual(len(self.push_jobs()), 1)
		self.run_worker("short")
		self.assertEqual([p.status for p in self.punches(device)], [P.CHECKED_IN])
		self.assertEqual(self.assert_checkins_exactly_once(device), 1)

	# --- 10: times and serials the device cannot have recorded ---------------------------------------------

	def test_pushed_times_the_device_cannot_have_recorded_are_kept_unreadable(self):
		device, token = self.push_device()
		self.make_employee("9001")
		self.assertEqual(
			self.post(token, json.dumps(notification(1500)).encode())[1]["message"]["result"], "stored"
		)
		tz = timezone(timedelta(hours=6))
		sync_start = frappe.utils.get_datetime(frappe.db.get_value(common.DEVICE, device, "sync_start"))
		future = (datetime.now(tz) + timedelta(days=3)).replace(microsecond=0).isoformat()
		past = (
			site_naive_to_aware(sync_start - timedelta(days=1), common.site_time_zone())
			.astimezone(tz)
			.isoformat()
		)
		for serial, when, reason in (
			(1501, future, L.AFTER_DEVICE_CLOCK),
			(1502, past, L.BEFORE_SYNC_START),
		):
			status, answer, _headers = self.post(token, at_time(serial, when))
			self.assertEqual(
				(status, answer["message"]), (200, {"ok": True, "result": "unreadable", "reason": reason})
			)
			# Sent again: the key turns it away like any other.
			status, answer, _headers = self.post(token, at_time(serial, when))
			self.assertEqual(answer["message"], {"ok": True, "result": "duplicate"})
		# They move no cursor: Last Pushed Serial No stays at the last trusted event.
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_push_serial"), 1500)
		unreadable = self.punches(device, status=P.UNREADABLE)
		self.assertEqual(sorted(p.serial_no for p in unreadable), [1501, 1502])
		for punch in unreadable:
			self.assertIn("kept as Unreadable", punch.reason)
		self.run_worker("short")
		# Never a check-in, never sent back to Pending by a Reprocess.
		device_punch.reprocess([p.name for p in unreadable])
		statuses = {p.serial_no: p.status for p in self.punches(device)}
		self.assertEqual(statuses, {1500: P.CHECKED_IN, 1501: P.UNREADABLE, 1502: P.UNREADABLE})
		self.assertEqual(self.assert_checkins_exactly_once(device), 1)
		# A device whose search measured its clock 4 days ahead: a punch 3 days ahead is one it can have recorded.
		log = frappe.get_doc(
			{
				"doctype": common.LOG,
				"device": device,
				"trigger": jobs.SCHEDULED,
				"status": "Success",
				"clock_skew_seconds": 4 * 86400,
			}
		).insert(ignore_permissions=True)
		frappe.db.set_value(common.DEVICE, device, "last_sync_log", log.name)
		frappe.db.commit()
		status, answer, _headers = self.post(token, at_time(1503, future))
		self.assertEqual((status, answer["message"]), (200, {"ok": True, "result": "stored"}))
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_push_serial"), 1503)

	def test_a_serial_far_beyond_the_last_known_one_does_not_move_last_push_serial(self):
		device, token = self.push_device()

		def push(serial: int) -> str:
			return self.post(token, json.dumps(notification(serial)).encode())[1]["message"]["result"]

		def last() -> int:
			frappe.db.rollback()
			return frappe.db.get_value(common.DEVICE, device, "last_push_serial")

		self.assertEqual(push(500), "stored")
		# One forged or garbled serial: stored like any punch, but the cursor stays.
		self.assertEqual(push(500 + L.MAX_SERIAL_JUMP + 1), "stored")
		self.assertEqual(last(), 500)
		self.assertEqual(push(501), "stored")
		self.assertEqual(last(), 501)
		# Beyond what any terminal counts: never.
		self.assertEqual(push(L.MAX_SERIAL + 1), "stored")
		self.assertEqual(last(), 501)
		# A real jump (a long silence): the next push confirms the first, and the cursor follows.
		self.assertEqual(push(5_000_000), "stored")
		self.assertEqual(last(), 501)
		self.assertEqual(push(5_000_001), "stored")
		self.assertEqual(last(), 5_000_001)
