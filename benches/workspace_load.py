"""The Attendance Sync workspace's load time with a fleet's devices and a year of Device Punches (issue 20).

Run by `tests/bench/bench.sh workspace-load` (`make workspace-load`) or `dev-workspace-load`, with the bench's
Python from `sites/`:
    env/bin/python apps/attendance_sync/benches/workspace_load.py --site SITE [options]

Fixtures (`make_devices`, `make_punches`; reusable: `--punches 5000000` for a year-scale run): `--devices`
Device Configurations in mixed health (Synced, Stale, Failing, Needs Attention, Never Synced, Disabled) and
Last Contact, and Device Punches written by multi-row INSERTs (`common.insert_rows`) in chunks, named as the
sync names them (`punches.punch_name`): about 90 % Checked In over the last 365 days, denser towards today;
Duplicate, Unmapped (a few hundred device user IDs no Employee holds), Inactive Employee, Failed, Unreadable;
0.5 % today, some of them Pending. The same seed gives the same rows.

Measured at `--baseline` punches, then again once the table holds `--punches` (the rows are added to the same
fleet), through a web server started here (`frappe serve --noreload`, as the bench's stages run it) and as a
System Manager logged in over HTTP (not Administrator):
- every call the desk makes to draw the workspace, read from the Workspace record: `get_desktop_page`, each
  number card (`number_card.get_result` for a document-type card, its method for a custom one, and
  `get_percentage_difference` where the card shows percentage stats, which none of them does), each chart
  (`dashboard_chart.get`, or its Dashboard Chart Source's script and method), each shortcut's count
  (`reportview.get_count`); `--reps` times each after one warm-up call (its time shown apart), median and max;
- the page as the desk loads it: `get_desktop_page`, then every widget's call at once over 6 connections (a
  browser's limit per host), wall time;
- with `--browser-reps` > 0, /app/attendance-sync in Chromium (Playwright) until every number card shows a
  number and every chart has drawn its SVG: from the navigation's start (the desk's boot included), and from
  `frappe.set_route` on another page of the desk (the workspace's own load, with the requests it made); warm
  assets (one round first).

At `--punches` everything is measured with the app as it is (after), then as it was before issue 20 (before):
`--compare-indexes` (the Device Punch indexes issue 20 added in `device_punch.on_doctype_update`) dropped, and
Punches per Day set back to Frappe's Count chart on Time (issue 20 made it a Dashboard Chart Source that counts
per day in the database); then the indexes are put back by `on_doctype_update` itself, and the chart. Where the
chart has its source, Frappe's Count chart is also called beside it ("compared", not part of the page). Each
query the calls run on Device Punch or Device Configuration is captured (`frappe.db.last_query`, the calls run in
this process as the same user) and EXPLAINed, before and after.

Output: Markdown for benches/RESULTS.md on stdout (the machine, the commit, the figures, the ratios to the
baseline, the EXPLAIN plans); progress on stderr. Nothing here asserts a time.
"""

import argparse
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import frappe
import requests
from frappe.utils import now_datetime

from attendance_sync.attendance_sync.common import insert_rows
from attendance_sync.logic import punches as P

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "bench"))
from harness import start_frappe, stop

DEVICE = "Device Configuration"
PUNCH = "Device Punch"
WORKSPACE = "Attendance Sync"
ROUTE = "/app/attendance-sync"
PREFIX = "WL Terminal"
USER = "workspace-load@example.com"
USER_PASSWORD = "Workspace-Load-Pass-2026"
# The indexes issue 20 added (device_punch.on_doctype_update): measured without and with them at --punches.
NEW_INDEXES = ("time_device_docstatus_index", "status_device_user_id_index")
CHUNK = 20_000
# Punches per Day as the app shipped it before issue 20: Frappe's Count chart on Time.
STOCK_CHART = {
	"name": "Punches per Day",
	"chart_type": "Count",
	"document_type": PUNCH,
	"based_on": "time",
	"type": "Bar",
	"timeseries": 1,
	"filters_json": "[]",
}
# A browser opens at most 6 connections to one host (HTTP/1.1): the desk's calls beyond that wait.
CONNECTIONS = 6

# The fleet's health: (share of the devices, sync_health, enabled, Last Contact minutes ago (low, high) or None).
HEALTH = (
	(0.75, "Synced", 1, (1, 14)),
	(0.06, "Stale", 1, (180, 1200)),
	(0.05, "Failing", 1, (1440, 7200)),
	(0.04, "Needs Attention", 1, (1, 30)),
	(0.025, "Never Synced", 1, None),
	(0.075, "Disabled", 0, (14_400, 144_000)),
)
# Punch statuses (share of the punches not Pending); the rest Checked In.
STATUSES = (
	(P.DUPLICATE, 0.04),
	(P.UNMAPPED, 0.03),
	(P.INACTIVE, 0.015),
	(P.FAILED, 0.01),
	(P.UNREADABLE, 0.005),
)
PEOPLE = 2_000  # device user IDs Employees hold
UNMAPPED_IDS = 300  # device user IDs no Employee holds
TODAY_SHARE = 0.005
PENDING_TODAY = 0.05  # of today's punches
DAYS = 365


def log(message: str) -> None:
	print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- fixtures -----------------------------------------------------------------------------------------------


def device_names(count: int) -> list[str]:
	return [f"{PREFIX} {n:03d}" for n in range(1, count + 1)]


def make_devices(count: int, seed: int) -> list[tuple[str, str]]:
	"""`count` Device Configurations in one multi-row INSERT: (name, sync_health) each, in mixed health."""
	rng = random.Random(seed)
	now = now_datetime().replace(microsecond=0)
	healths: list[tuple[str, int, tuple[int, int] | None]] = []
	for share, health, enabled, contact in HEALTH:
		healths += [(health, enabled, contact)] * round(share * count)
	healths = (healths + [HEALTH[0][1:]] * count)[:count]
	rng.shuffle(healths)
	fields = (
		"name device_name enabled sync_health device_ip port use_https verify_tls device_user major minor "
		"sync_frequency sync_mode time_zone_handling punch_direction last_contact last_sync_at "
		"last_sync_status synced_up_to last_serial_no creation modified owner modified_by docstatus"
	).split()
	rows, fleet = [], []
	for n, (name, (health, enabled, contact)) in enumerate(zip(device_names(count), healths, strict=True)):
		last = now - timedelta(minutes=rng.uniform(*contact)) if contact else None
		status = {"Failing": "Failed", "Never Synced": None}.get(health, "Success")
		rows.append(
			(
				name,
				name,
				enabled,
				health,
				f"10.20.{n // 250}.{n % 250 + 1}",
				80,
				0,
				0,
				"admin",
				5,
				0,
				"Every 15 Minutes",
				"Pull",
				"Trust Device Offsets",
				"From device",
				last,
				last,
				status,
				last if status == "Success" else None,
				0,
				now,
				now,
				"Administrator",
				"Administrator",
				0,
			)
		)
		fleet.append((name, health))
	insert_rows(DEVICE, fields, rows)
	frappe.db.commit()
	return fleet


PUNCH_FIELDS = (
	"name device serial_no event_key device_user_id name_on_device time device_time log_type verify_method "
	"major minor status reason employee creation modified owner modified_by docstatus"
).split()


def punch_rows(fleet: list[tuple[str, str]], start: int, count: int, seed: int) -> Iterator[tuple]:
	"""Punches number `start` to `start + count - 1` of the fleet (the same numbers give the same rows)."""
	rng = random.Random(seed * 1_000_003 + start)
	now = now_datetime().replace(microsecond=0)
	today = now.replace(hour=0, minute=0, second=0)
	# Never Synced devices have no punch; the others are busy to different degrees.
	weights = [
		0.0 if h == "Never Synced" else random.Random(f"{seed}:{d}").lognormvariate(0, 0.6) for d, h in fleet
	]
	devices = [d for d, _ in fleet]
	# Days 1..DAYS-1 before today, four times as dense a day ago as a year ago.
	days = list(range(1, DAYS))
	picked_days = rng.choices(days, weights=[1 + 3 * (1 - d / DAYS) for d in days], k=count)
	offset = "+06:00"
	since_midnight = max(1, int((now - today).total_seconds()))
	picked = rng.choices(devices, weights=weights, k=count)
	for k in range(count):
		number = start + k
		device = picked[k]
		if rng.random() < TODAY_SHARE:
			at = today + timedelta(seconds=rng.randrange(since_midnight))
			pending = rng.random() < PENDING_TODAY
		else:
			at = today - timedelta(days=picked_days[k], seconds=-rng.randrange(6 * 3600, 21 * 3600))
			pending = False
		status = P.PENDING if pending else P.CHECKED_IN
		if not pending:
			x = rng.random()
			for name, share in STATUSES:
				if x < share:
					status = name
					break
				x -= share
		if status == P.UNMAPPED:
			user = str(90_000 + rng.randrange(UNMAPPED_IDS))
			employee, reason = None, f"No Employee has Attendance Device ID {user}"
		else:
			user = str(10_000 + rng.randrange(PEOPLE))
			employee = None if status in (P.PENDING, P.UNREADABLE) else f"HR-EMP-{user}"
			reason = {
				P.DUPLICATE: "An Employee Checkin exists at this time",
				P.INACTIVE: f"Employee {employee} is not Active",
				P.FAILED: "Could not create the Employee Checkin: the Shift Type could not be determined",
				P.UNREADABLE: "The time could not be placed in the site's time zone",
			}.get(status)
		key = f"{number}:{at:%Y%m%dT%H%M%S}"
		yield (
			P.punch_name(device, key),
			device,
			number,
			key,
			user,
			f"User {user}",
			at,
			f"{at.isoformat()}{offset}",
			rng.choice(("", "IN", "OUT")),
			rng.choice(("face", "fingerprint", "card")),
			5,
			rng.choice((75, 38, 1)),
			status,
			reason,
			employee,
			at,
			at,
			"Administrator",
			"Administrator",
			0,
		)


def make_punches(fleet: list[tuple[str, str]], start: int, count: int, seed: int) -> float:
	"""Punches `start` .. `start + count - 1`, committed every CHUNK rows; returns rows per second."""
	started = time.monotonic()
	done = 0
	while done < count:
		size = min(CHUNK, count - done)
		insert_rows(PUNCH, PUNCH_FIELDS, list(punch_rows(fleet, start + done, size, seed)))
		frappe.db.commit()
		done += size
		if done % 200_000 < CHUNK or done == count:
			elapsed = time.monotonic() - started
			log(f"punches: {start + done:,} ({done / elapsed:,.0f} rows/s)")
	rate = count / (time.monotonic() - started)
	# What InnoDB's background statistics would reach after this many new rows, now rather than later.
	frappe.db.sql(f"analyze table `tab{PUNCH}`")
	return rate


def make_user() -> None:
	"""A System Manager who is not Administrator, with a password to log in over HTTP."""
	from frappe.utils.password import update_password

	if not frappe.db.exists("User", USER):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": USER,
				"first_name": "Workspace Load",
				"send_welcome_email": 0,
				"roles": [{"role": "System Manager"}],
			}
		).insert(ignore_permissions=True)
	update_password(USER, USER_PASSWORD)
	frappe.db.commit()


# --- the desk's calls ---------------------------------------------------------------------------------------


@dataclass
class Call:
	label: str
	method: str
	params: dict[str, Any]
	# What the browser waits for: the card's or the chart's label; none for the other calls.
	card: str = ""
	chart: str = ""
	# Not a call the desk makes: measured beside the others, left out of the page and the browser.
	compared: bool = False


def workspace_calls() -> list[Call]:
	"""What the desk asks for to draw the workspace, as its widgets ask (frappe/public/js/frappe/widgets)."""
	ws = frappe.get_doc("Workspace", WORKSPACE)
	calls = [
		Call(
			"get_desktop_page",
			"frappe.desk.desktop.get_desktop_page",
			{"page": {"name": ws.name, "title": ws.title, "public": ws.public}},
		)
	]
	for row in ws.number_cards:
		card = frappe.get_doc("Number Card", row.number_card_name)
		filters = json.loads(card.filters_json or "null")
		if card.type == "Custom":
			calls.append(Call(f"card: {card.label}", card.method, {"filters": filters}, card=row.label))
		elif card.type == "Report":
			calls.append(
				Call(
					f"card: {card.label}",
					"frappe.desk.query_report.run",
					{"report_name": card.report_name, "filters": filters, "ignore_prepared_report": 1},
					card=row.label,
				)
			)
		else:
			doc = card.as_dict(no_default_fields=False, convert_dates_to_str=True)
			calls.append(
				Call(
					f"card: {card.label}",
					"frappe.desk.doctype.number_card.number_card.get_result",
					{"doc": doc, "filters": filters},
					card=row.label,
				)
			)
			if card.show_percentage_stats:
				calls.append(
					Call(
						f"card: {card.label} (percentage)",
						"frappe.desk.doctype.number_card.number_card.get_percentage_difference",
						{"doc": doc, "filters": filters, "result": 0},
					)
				)
	for row in ws.charts:
		chart = frappe.get_doc("Dashboard Chart", row.chart_name)
		method = "frappe.desk.doctype.dashboard_chart.dashboard_chart.get"
		if chart.chart_type == "Custom":
			# The widget reads its source's script once (get_config) and calls the method it names.
			config = Call(
				f"chart source script: {chart.source}",
				"frappe.desk.doctype.dashboard_chart_source.dashboard_chart_source.get_config",
				{"name": chart.source},
			)
			calls.append(config)
			script = frappe.call(config.method, name=chart.source)
			method = re.search(r'method:\s*"([^"]+)"', script)[1]  # type: ignore[index]
		params = {
			"chart_name": chart.name,
			"filters": json.loads(chart.filters_json or "[]"),
			"refresh": 0,
			"time_interval": chart.time_interval,
			"timespan": chart.timespan,
		}
		calls.append(Call(f"chart: {chart.name}", method, params, chart=row.label))
		if chart.name == STOCK_CHART["name"] and chart.chart_type != STOCK_CHART["chart_type"]:
			# The same chart as Frappe's Count chart on Time, as it was before issue 20 (not drawn; compared).
			stock = {**STOCK_CHART, "timespan": chart.timespan, "time_interval": chart.time_interval}
			calls.append(
				Call(
					f"compared: {chart.name} as Frappe's Count chart (before)",
					"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
					{"chart": stock, "no_cache": 1},
					compared=True,
				)
			)
	for row in ws.shortcuts:
		# The widget counts every shortcut to a doctype's list: all its rows where it has no filter.
		if row.type == "DocType" and row.doc_view != "New":
			calls.append(
				Call(
					f"shortcut count: {row.label}",
					"frappe.desk.reportview.get_count",
					{
						"doctype": row.link_to,
						"filters": json.loads(row.stats_filter or "[]"),
						"fields": [],
						"distinct": 0,
					},
				)
			)
	return calls


def encoded(params: dict[str, Any]) -> dict[str, str]:
	"""As frappe.call sends arguments: objects as JSON, the rest as text."""
	return {
		k: json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
		for k, v in params.items()
		if v is not None
	}


class Client:
	def __init__(self, base: str) -> None:
		self.base = base
		self.session = requests.Session()
		answer = self.session.post(
			f"{base}/api/method/login", data={"usr": USER, "pwd": USER_PASSWORD}, timeout=60
		)
		answer.raise_for_status()
		# The desk sends its session's CSRF token with every POST (app.html sets it).
		desk = self.session.get(f"{base}/app", timeout=60).text
		token = re.search(r'frappe\.csrf_token = "([^"]+)"', desk)
		self.headers = {"Accept": "application/json", **({"X-Frappe-CSRF-Token": token[1]} if token else {})}
		self.sessions = [self.session]
		for _ in range(CONNECTIONS - 1):
			other = requests.Session()
			other.cookies.update(self.session.cookies)
			self.sessions.append(other)

	def timed(self, call: Call, session: requests.Session | None = None) -> float:
		started = time.perf_counter()
		answer = (session or self.session).post(
			f"{self.base}/api/method/{call.method}",
			data=encoded(call.params),
			headers=self.headers,
			timeout=300,
		)
		seconds = time.perf_counter() - started
		if answer.status_code != 200:
			raise RuntimeError(f"{call.label}: {answer.status_code} {answer.text[:500]}")
		return seconds

	def page(self, calls: list[Call]) -> float:
		"""get_desktop_page, then every widget's call at once over CONNECTIONS connections."""
		started = time.perf_counter()
		self.timed(calls[0])
		widgets = [c for c in calls[1:] if not c.compared]
		with ThreadPoolExecutor(CONNECTIONS) as pool:
			list(
				pool.map(
					lambda n: self.timed(widgets[n], self.sessions[n % CONNECTIONS]),
					range(len(widgets)),
				)
			)
		return time.perf_counter() - started


@dataclass
class Figures:
	label: str
	punches: int
	calls: dict[str, list[float]] = field(default_factory=dict)
	first: dict[str, float] = field(default_factory=dict)
	page: list[float] = field(default_factory=list)
	browser: list[float] = field(default_factory=list)
	in_desk: list[float] = field(default_factory=list)
	trace: list[tuple[str, float, float]] = field(default_factory=list)
	plans: list[tuple[str, str, list[dict]]] = field(default_factory=list)


def measure(label: str, punches: int, client: Client, calls: list[Call], args: argparse.Namespace) -> Figures:
	figures = Figures(label, punches)
	log(f"{label}: {len(calls)} calls x {args.reps} over HTTP")
	for call in calls:
		figures.first[call.label] = client.timed(call)
		figures.calls[call.label] = [client.timed(call) for _ in range(args.reps)]
	figures.page = [client.page(calls) for _ in range(args.reps)]
	if args.browser_reps:
		log(f"{label}: the workspace in Chromium x {args.browser_reps}")
		figures.browser, figures.in_desk, figures.trace = browser_loads(client.base, calls, args.browser_reps)
	figures.plans = explain(calls)
	log(
		f"{label}: page {statistics.median(figures.page):.3f} s"
		+ (
			f", browser {statistics.median(figures.browser):.3f} s / in the desk {statistics.median(figures.in_desk):.3f} s"
			if figures.browser
			else ""
		)
	)
	return figures


# --- the browser --------------------------------------------------------------------------------------------


def browser_loads(
	base: str, calls: list[Call], reps: int
) -> tuple[list[float], list[float], list[tuple[str, float, float]]]:
	"""Seconds until every number card shows a number and every chart has drawn its SVG (the waits of
	tests/bench/browser.py's workspace step): from the start of navigating to /app/attendance-sync (the desk's
	boot included), and from `frappe.set_route` on another page of the desk; one round first, untimed. And the
	requests of the last load from the desk: (method or path, seconds from the route's start, seconds taken)."""
	from browser import CHROMIUM_ARGS, Watch, wait_for_widgets
	from playwright.sync_api import Page, Request, sync_playwright

	cards = [c.card for c in calls if c.card]
	charts = [c.chart for c in calls if c.chart]

	def drawn(page: Page) -> None:
		wait_for_widgets(page, cards, charts, timeout=120_000, drawn="svg.frappe-chart")

	full, in_desk = [], []
	trace: list[tuple[str, float, float]] = []
	with sync_playwright() as p:
		browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
		try:
			page = browser.new_page(viewport={"width": 1440, "height": 900})
			watch = Watch(page)
			seen: list[Request] = []
			page.on("requestfinished", lambda r: seen.append(r))
			page.request.post(f"{base}/api/method/login", form={"usr": USER, "pwd": USER_PASSWORD})
			for n in range(reps + 1):
				page.goto("about:blank")
				started = time.perf_counter()
				page.goto(f"{base}{ROUTE}", wait_until="commit")
				drawn(page)
				seconds = time.perf_counter() - started
				# From another page of the desk (booted, idle): the workspace's own load.
				page.goto(f"{base}/app/user")
				page.wait_for_function(
					"() => window.cur_list && cur_list.doctype === 'User'", timeout=120_000
				)
				watch.settle(page)
				seen.clear()
				epoch, started = time.time(), time.perf_counter()
				page.evaluate("frappe.set_route('attendance-sync')")
				drawn(page)
				if n:
					full.append(seconds)
					in_desk.append(time.perf_counter() - started)
					trace = [
						(
							urlsplit(r.url).path.removeprefix("/api/method/"),
							r.timing["startTime"] / 1000 - epoch,
							r.timing["responseEnd"] / 1000,
						)
						for r in seen
						if "/socket.io/" not in r.url and r.timing["responseEnd"] >= 0
					]
		finally:
			browser.close()
	return full, in_desk, sorted(trace, key=lambda t: t[1])


# --- EXPLAIN --------------------------------------------------------------------------------------------------


def explain(calls: list[Call]) -> list[tuple[str, str, list[dict]]]:
	"""Each call run in this process as USER; the SELECTs it sends on the app's tables, EXPLAINed."""
	tables = (f"`tab{PUNCH}`", f"`tab{DEVICE}`")
	seen: list[tuple[str, str]] = []
	original = frappe.db.sql
	current = ""

	def recording(query: Any, *args: Any, **kwargs: Any) -> Any:
		before = frappe.db.last_query
		result = original(query, *args, **kwargs)
		executed = str(frappe.db.last_query or "")
		if (
			frappe.db.last_query is not before
			and executed.lstrip().lower().startswith("select")
			and any(t in executed for t in tables)
		):
			seen.append((executed, current))
		return result

	frappe.set_user(USER)
	frappe.db.sql = recording  # type: ignore[method-assign]
	try:
		for call in calls:
			current = call.label
			frappe.local.form_dict = frappe._dict(encoded(call.params))
			frappe.call(call.method, **encoded(call.params))
	finally:
		frappe.db.sql = original  # type: ignore[method-assign]
		frappe.db.rollback()
		frappe.set_user("Administrator")
	first: dict[str, str] = {}
	for query, label in seen:
		first.setdefault(query, label)
	return [(label, query, frappe.db.sql(f"explain {query}", as_dict=True)) for query, label in first.items()]


# --- indexes --------------------------------------------------------------------------------------------------


def punch_indexes() -> set[str]:
	return {r.Key_name for r in frappe.db.sql(f"show index from `tab{PUNCH}`", as_dict=True)}


def drop_indexes(names: list[str]) -> list[str]:
	present = [n for n in names if n in punch_indexes()]
	for name in present:
		frappe.db.sql_ddl(f"alter table `tab{PUNCH}` drop index `{name}`")
	return present


def chart_as_before() -> Callable[[], None]:
	"""Punches per Day as Frappe's Count chart on Time, as the app shipped it before issue 20; returns what puts
	the record back."""
	name = STOCK_CHART["name"]
	kept = frappe.db.get_value("Dashboard Chart", name, ["chart_type", "source"], as_dict=True)

	def put(values: dict[str, Any]) -> None:
		frappe.db.set_value("Dashboard Chart", name, values, update_modified=False)
		frappe.db.commit()
		frappe.clear_cache()

	put({"chart_type": STOCK_CHART["chart_type"], "source": None})
	return lambda: put(dict(kept))


def restore_indexes() -> float:
	from attendance_sync.attendance_sync.doctype.device_punch.device_punch import on_doctype_update

	started = time.monotonic()
	on_doctype_update()
	frappe.db.commit()
	return time.monotonic() - started


# --- the web server -------------------------------------------------------------------------------------------


def free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def start_web(site: str, logdir: Path) -> tuple[subprocess.Popen, str]:
	port = free_port()
	process = start_frappe(site, logdir / "web.log", "serve", "--port", str(port), "--noreload")
	base = f"http://127.0.0.1:{port}"
	deadline = time.monotonic() + 120
	while time.monotonic() < deadline:
		try:
			if requests.get(f"{base}/api/method/ping", timeout=5).ok:
				return process, base
		except requests.RequestException:
			pass
		time.sleep(0.5)
	stop(process)
	raise RuntimeError("the web server did not answer:\n" + (logdir / "web.log").read_text()[-3000:])


# --- the report ---------------------------------------------------------------------------------------------


def cpu_model() -> str:
	try:
		for line in Path("/proc/cpuinfo").read_text().splitlines():
			if line.startswith("model name"):
				return line.split(":", 1)[1].strip()
	except OSError:
		pass
	return platform.processor() or platform.machine()


def med(values: list[float]) -> str:
	return f"{statistics.median(values):.3f}" if values else "—"


def worst(values: list[float]) -> str:
	return f"{max(values):.3f}" if values else "—"


def ratio(a: list[float], b: list[float]) -> str:
	return f"{statistics.median(a) / statistics.median(b):.2f}" if a and b and statistics.median(b) else "—"


def full_scan(row: dict) -> bool:
	return row.get("type") == "ALL" or (
		row.get("type") == "index" and "Using where" not in (row.get("Extra") or "")
	)


def plan_lines(figures: Figures) -> list[str]:
	lines = [
		f"EXPLAIN at {figures.punches:,} punches ({figures.label}):",
		"",
		"| Call | Query | table | type | key | rows | Extra |",
		"|---|---|---|---|---|---|---|",
	]
	for label, query, rows in figures.plans:
		short = " ".join(query.split())
		short = short if len(short) <= 160 else short[:157] + "..."
		for n, row in enumerate(rows):
			flag = " **full scan**" if full_scan(row) else ""
			lines.append(
				f"| {label if n == 0 else ''} | {('`' + short.replace('|', '/') + '`') if n == 0 else ''} | "
				f"{row.get('table')} | {row.get('type')}{flag} | {row.get('key') or '—'} | {row.get('rows')} | "
				f"{row.get('Extra') or ''} |"
			)
	return lines


def report(args: argparse.Namespace, runs: list[Figures], facts: dict[str, str]) -> str:
	import erpnext
	import hrms

	base, *rest = runs
	mariadb = frappe.db.sql("select version()")[0][0]
	lines = [
		f"Run {facts['date']} UTC on site `{args.site}`; whole run {facts['wall']}.",
		"",
		"| Machine |  |",
		"|---|---|",
		f"| CPU | {cpu_model()} |",
		f"| Cores | {os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable (shared with MariaDB, Redis and the web server) |",
		f"| Load average at the end | {' '.join(f'{x:.2f}' for x in os.getloadavg())} |",
		f"| Versions | frappe {frappe.__version__}, erpnext {erpnext.__version__}, hrms {hrms.__version__}, "
		f"MariaDB {mariadb}, Python {platform.python_version()} |",
		f"| attendance_sync | {args.commit or 'unknown (pass --commit)'} |",
		"| Web server | `frappe serve --noreload` (werkzeug, threaded), a System Manager's session over HTTP |",
		f"| Data | {facts['data']} |",
		f"| Fixtures | {facts['fixtures']} |",
		"",
		"Seconds, median (max) of "
		f"{args.reps} calls after a first one (its time in the last columns); page: `get_desktop_page` then every "
		f"widget's call at once over {CONNECTIONS} connections; browser: navigation start to every number and chart "
		"drawn, median (max) of "
		f"{args.browser_reps} loads.",
		"",
	]
	header = "| Call | " + " | ".join(f"{r.label}: {r.punches:,}" for r in runs)
	header += (
		" | "
		+ " | ".join(f"× {base.punches:,} ({r.label})" for r in rest)
		+ " | first call: "
		+ " / ".join(r.label for r in runs)
		+ " |"
	)
	lines += [header, "|---" * (1 + len(runs) + len(rest) + 1) + "|"]
	rows = [
		(label, [r.calls.get(label, []) for r in runs], [r.first.get(label) for r in runs])
		for label in dict.fromkeys(label for r in runs for label in r.calls)
	]
	rows.append(("**page** (all calls, as the desk makes them)", [r.page for r in runs], [None] * len(runs)))
	if any(r.browser for r in runs):
		rows.append(
			(
				"**browser**: /app/attendance-sync, boot included",
				[r.browser for r in runs],
				[None] * len(runs),
			)
		)
		rows.append(("**browser**: from another desk page", [r.in_desk for r in runs], [None] * len(runs)))
	for label, values, firsts in rows:
		cells = [f"{med(v)} ({worst(v)})" for v in values]
		ratios = [ratio(v, values[0]) for v in values[1:]]
		first = " / ".join(f"{x:.3f}" if x is not None else "—" for x in firsts)
		lines.append(f"| {label} | {' | '.join(cells)} | {' | '.join(ratios)} | {first} |")
	for figures in runs[:0:-1] or runs:
		lines += ["", *plan_lines(figures)]
	for figures in (runs[0], runs[-1]) if len(runs) > 1 else runs:
		if figures.trace:
			lines += [
				"",
				f"The browser's requests while the workspace loads from another desk page ({figures.label}, "
				f"{figures.punches:,} punches, the last load: {figures.in_desk[-1]:.3f} s to drawn):",
				"",
				"| Request | starts at s | takes s |",
				"|---|---|---|",
				*(f"| `{name}` | {start:.3f} | {took:.3f} |" for name, start, took in figures.trace),
			]
	if facts.get("notes"):
		lines += ["", facts["notes"]]
	return "\n".join(lines)


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--devices", type=int, default=200)
	parser.add_argument("--baseline", type=int, default=10_000, help="punches of the first measurement")
	parser.add_argument("--punches", type=int, default=1_000_000, help="punches of the second")
	parser.add_argument("--reps", type=int, default=7)
	parser.add_argument("--browser-reps", type=int, default=5, help="0: no browser")
	parser.add_argument(
		"--compare-indexes",
		default=",".join(NEW_INDEXES),
		help="Device Punch indexes measured without and with at --punches (empty: none)",
	)
	parser.add_argument("--seed", type=int, default=20)
	parser.add_argument("--commit", help="the app's git commit to report")
	args = parser.parse_args()
	if args.punches < args.baseline:
		parser.error("--punches below --baseline")

	started_at = datetime.now(timezone.utc)
	started = time.monotonic()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	status = 0
	web = None
	with tempfile.TemporaryDirectory(prefix="attendance-sync-workspace-load-") as tmp:
		try:
			if frappe.db.count(PUNCH) or frappe.db.exists(DEVICE, {"name": ["like", f"{PREFIX}%"]}):
				raise RuntimeError(
					"the site already has Device Punches or this run's devices: start from a restored database"
				)
			make_user()
			fleet = make_devices(args.devices, args.seed)
			log(f"{len(fleet)} devices")
			rate = make_punches(fleet, 0, args.baseline, args.seed)
			web, base = start_web(args.site, Path(tmp))
			client = Client(base)
			calls = workspace_calls()
			runs = [measure("baseline", args.baseline, client, calls, args)]
			notes = ""
			if args.punches > args.baseline:
				log(f"punches: {args.baseline:,} -> {args.punches:,}")
				t0 = time.monotonic()
				rate = make_punches(fleet, args.baseline, args.punches - args.baseline, args.seed)
				fill = time.monotonic() - t0
				compare = [n for n in args.compare_indexes.split(",") if n]
				after = measure("after", args.punches, client, calls, args)
				if compare:
					dropped = drop_indexes(compare)
					restore_chart = chart_as_before()
					try:
						before = measure("before", args.punches, client, workspace_calls(), args)
					finally:
						restore_chart()
					seconds = restore_indexes()
					missing = set(compare) - punch_indexes()
					if missing:
						raise RuntimeError(f"on_doctype_update did not make {', '.join(sorted(missing))}")
					runs += [before, after]
					notes = (
						f"before: the app as it was before issue 20, at {args.punches:,} punches: without "
						f"{', '.join(f'`{n}`' for n in dropped)} (dropped for the run; `on_doctype_update` made "
						f"them again in {seconds:.1f} s) and {STOCK_CHART['name']} as Frappe's Count chart on Time "
						"(the record set back for the run)"
					)
				else:
					runs.append(after)
			else:
				fill = 0.0
			size = frappe.db.sql(
				"select round((data_length + index_length) / 1048576) from information_schema.tables "
				"where table_schema = database() and table_name = %s",
				f"tab{PUNCH}",
			)[0][0]
			month = frappe.db.count(PUNCH, {"time": [">=", now_datetime() - timedelta(days=30)]})
			facts = {
				"date": f"{started_at:%Y-%m-%d %H:%M}",
				"wall": f"{time.monotonic() - started:.0f} s",
				"data": f"{args.devices} Device Configurations (Synced, Stale, Failing, Needs Attention, Never "
				f"Synced, Disabled); Device Punches over {DAYS} days, {TODAY_SHARE:.1%} today, "
				f"~90 % Checked In, {UNMAPPED_IDS} unmapped device user IDs; table {size} MiB data + indexes at "
				f"{frappe.db.count(PUNCH):,} rows, {month:,} of them in the last 30 days; seed {args.seed}",
				"fixtures": f"{args.punches - args.baseline:,} punches in {fill:.0f} s ({rate:,.0f} rows/s, "
				f"multi-row INSERTs of 1,000, committed every {CHUNK:,})",
				"notes": notes,
			}
			print(report(args, runs, facts), flush=True)
		except Exception:
			import traceback

			traceback.print_exc()
			status = 1
			web_log = Path(tmp) / "web.log"
			if web_log.exists():
				print(
					"--- web.log (last lines)\n" + "".join(web_log.read_text().splitlines(True)[-30:]),
					file=sys.stderr,
				)
		finally:
			if web:
				stop(web)
			frappe.destroy()
	return status


if __name__ == "__main__":
	sys.exit(main())
