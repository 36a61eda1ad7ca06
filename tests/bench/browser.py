"""The app in a browser: Playwright driving Debian's Chromium against `bench serve` with socketio and a worker.

Run by `tests/bench/bench.sh test` from the bench's `sites/` with the bench's Python:
    env/bin/python apps/attendance_sync/tests/bench/browser.py --site SITE --url URL --shots DIR

Checks first that the login page loads (200), then logs in, opens the app's workspace (the first screen a user
sees), creates a Device Configuration in the form with a mistyped password (Verify TLS Certificate off by
default), sees Test Connection rejected and the fixed password clear Failing on save without a reload, runs Test
Connection and Fetch Check-in (watching the progress bar and the summary, which names what needs HR with links),
opens Employee Checkin, Device Punch, the Sync Log and Device Configuration lists (their date columns whole at
1440 px) and a Sync Log (no Save), maps an unmapped device user to an Employee that has another Attendance Device
ID (Map to Employee, confirmed), enables push (asked first; closing the question changes nothing), opens the
Missing Punches report from the workspace (an Employee on a shift who never checked in), and fails on
any JavaScript error and on any answer of the server with a 5xx status. Screenshots go to --shots. Prints one line per step and
"N passed, N failed" at the end.
"""

import argparse
import json
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote

import frappe
from playwright.sync_api import Page, Request, Response, expect, sync_playwright

from attendance_sync.simulator import SIM_USER, Simulator

PASSWORD = "Browser-Terminal-Pass"
WRONG_PASSWORD = "Browser-Mistyped-Pass"
USERS = ("8101", "8102", "8103", "8104", "8105", "8106")
# A device user no Employee has: its punches stay Unmapped until Map to Employee gives its ID to the Veteran.
UNMAPPED_USER = "8107"
# The Employees the Map to Employee search offers: one without an Attendance Device ID, one with another ID.
NEWCOMER = "Browser Newcomer"
VETERAN = ("Browser Veteran", "8190")
DAYS = 5
WORKSPACE_SHORTCUTS = (
	"Device Configuration",
	"Device Punch",
	"Attendance Sync Log",
	"Attendance Sync Settings",
	"Failed Punches",
)
# The workspace's number cards and charts (number_card/, dashboard_chart/).
WORKSPACE_CARDS = (
	"Devices Needing Attention",
	"Stale Devices",
	"Devices Not Heard From",
	"Unmapped Device Users",
	"Punches Today",
	"Failed Check-ins",
)
WORKSPACE_CHARTS = ("Punches per Day", "Punches by Device")
CHROMIUM_ARGS = [
	"--headless=new",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]


class Steps:
	def __init__(self, page: Page, shots: Path) -> None:
		self.page = page
		self.shots = shots
		self.passed = 0
		self.failed = 0

	def ok(self, what: str) -> None:
		self.passed += 1
		print(f"ok   {what}", flush=True)

	def shot(self, name: str) -> None:
		self.page.wait_for_timeout(700)  # let Bootstrap's fade-in finish
		self.page.screenshot(path=str(self.shots / f"{name}.png"))


class Watch:
	"""What the page reports: uncaught errors and console errors, answers with a 5xx status, requests in flight."""

	def __init__(self, page: Page) -> None:
		self.errors: list[str] = []
		self.server_errors: list[str] = []
		self.in_flight: Counter[str] = Counter()
		page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
		page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
		page.on("response", self.on_response)
		page.on("request", lambda r: self.count(r, 1))
		page.on("requestfinished", lambda r: self.count(r, -1))
		page.on("requestfailed", lambda r: self.count(r, -1))

	def count(self, request: Request, step: int) -> None:
		# Socket.IO's long polls stay open by design; they are not a page's loading.
		if "/socket.io/" not in request.url:
			self.in_flight[request.url] += step

	def on_response(self, response: Response) -> None:
		if response.status >= 500:
			self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

	def mark(self) -> tuple[int, int]:
		return len(self.errors), len(self.server_errors)

	def since(self, mark: tuple[int, int]) -> list[str]:
		return self.server_errors[mark[1] :] + self.errors[mark[0] :]

	def settle(self, page: Page, timeout: float = 60) -> None:
		"""Until no request has been in flight for a second (every count the page asked for has answered)."""
		deadline = time.monotonic() + timeout
		quiet = 0
		while quiet < 10:
			if time.monotonic() > deadline:
				raise AssertionError(f"requests still in flight: {list(+self.in_flight)}")
			quiet = 0 if any(n > 0 for n in self.in_flight.values()) else quiet + 1
			page.wait_for_timeout(100)


def write_events(path: Path) -> None:
	"""Two punches a day for each of USERS and UNMAPPED_USER over the last DAYS days, at +06:00."""
	tz = timezone(timedelta(hours=6))
	now = datetime.now(tz)
	lines = []
	for day in range(DAYS, 0, -1):
		date = (now - timedelta(days=day)).date()
		for n, user in enumerate((*USERS, UNMAPPED_USER)):
			for hour, status in ((9, "checkIn"), (18, "checkOut")):
				at = datetime(date.year, date.month, date.day, hour, 5 * n, 7, tzinfo=tz)
				lines.append(
					{
						"major": 5,
						"minor": 75,
						"time": at.isoformat(),
						"employeeNoString": user,
						"name": f"Person {user}",
						"attendanceStatus": status,
					}
				)
	path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def make_employees() -> str:
	"""The Employees of USERS, the Newcomer (no Attendance Device ID) and the Veteran (another ID); returns the
	Veteran's name."""
	company = frappe.defaults.get_global_default("company")
	gender = frappe.get_all("Gender", pluck="name", limit=1)[0]
	people = [(f"Browser {user}", user) for user in USERS] + [(NEWCOMER, None), VETERAN]
	for first_name, device_id in people:
		if frappe.db.exists("Employee", {"first_name": first_name}):
			continue
		frappe.get_doc(
			{
				"doctype": "Employee",
				"first_name": first_name,
				"gender": gender,
				"date_of_birth": "1990-01-01",
				"date_of_joining": "2020-01-01",
				"company": company,
				"attendance_device_id": device_id,
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()
	return frappe.db.get_value("Employee", {"first_name": VETERAN[0]}, "name")


def check_login_page(base: str) -> None:
	"""The login page loads (200): a bench without its built assets answers every page with a 500."""
	try:
		with urllib.request.urlopen(f"{base}/login", timeout=60) as response:
			status = response.status
	except urllib.error.HTTPError as e:
		status = e.code
	if status != 200:
		raise AssertionError(f"{base}/login answered {status}, not 200 (are the assets built? bench build)")


def set_field(page: Page, fieldname: str, value: str) -> None:
	control = page.locator(f'.frappe-control[data-fieldname="{fieldname}"]:visible').first
	field = control.locator("input, textarea").first
	field.fill(value)
	field.press("Tab")


PROGRESS_STATE = """() => {
	const bar = document.querySelector(".progress-area .progress-bar");
	return bar && [bar.getAttribute("style") || "", document.querySelector(".progress-area").innerText];
}"""


def wait_for_widgets(
	page: Page, cards: Iterable[str], charts: Iterable[str], timeout: int = 60_000, drawn: str = "svg"
) -> None:
	"""Until every number card of `cards` shows a number and every chart of `charts` shows `drawn` (a chart
	without data draws no `svg.frappe-chart`, only its empty state)."""
	for label in cards:
		number = page.locator(".number-widget-box", has_text=label).first.locator(".number")
		number.wait_for(timeout=timeout)
		page.wait_for_function(
			"(el) => /\\d/.test(el.innerText)", arg=number.element_handle(), timeout=timeout
		)
	for label in charts:
		box = page.locator(".dashboard-widget-box", has_text=label).first
		box.locator(drawn).first.wait_for(timeout=timeout)


def open_workspace(page: Page, steps: Steps, watch: Watch, base: str, shot: str = "workspace") -> None:
	"""The app's workspace, the first screen a user sees: its shortcuts, number cards (each showing a number) and
	charts load without a 5xx or an error in the console; the Settings shortcut opens the Settings form. `shot`:
	the screenshot's name (the first visit sees an empty site, the last one the run's records)."""
	mark = watch.mark()
	page.goto(f"{base}/app/attendance-sync")
	for label in WORKSPACE_SHORTCUTS:
		page.locator(".shortcut-widget-box", has_text=label).first.wait_for(timeout=60_000)
	page.locator(".shortcut-widget-box", has_text="Device Punch").locator(".indicator-pill").wait_for()
	wait_for_widgets(page, WORKSPACE_CARDS, WORKSPACE_CHARTS)
	watch.settle(page)
	if failures := watch.since(mark):
		steps.shot("workspace-failure")
		raise AssertionError("the workspace: " + "; ".join(failures))
	steps.shot(shot)
	steps.ok("the Attendance Sync workspace shows its shortcuts, cards and charts, no 5xx, no console error")
	page.locator(".shortcut-widget-box", has_text="Attendance Sync Settings").click()
	page.wait_for_url("**/app/attendance-sync-settings", timeout=60_000)
	page.locator('.frappe-control[data-fieldname="overlap_minutes"]').wait_for(timeout=60_000)
	watch.settle(page)
	if failures := watch.since(mark):
		raise AssertionError("the Settings shortcut: " + "; ".join(failures))
	steps.ok("its Settings shortcut opens the Attendance Sync Settings form")


def open_missing_punches(page: Page, steps: Steps, watch: Watch, base: str) -> None:
	"""The Missing Punches report from the workspace's shortcut, with its default range (the last 7 days): an
	Employee on a day shift since six days ago who never checked in has a No check-in row per working day ended,
	with no 5xx and no console error. The Shift Type and the Employee are made through the desk's own API."""
	employee = page.evaluate(
		"""async (suffix) => {
			const first = async (doctype) =>
				(await frappe.xcall("frappe.client.get_list", {doctype, limit_page_length: 1}))[0].name;
			const shift = await frappe.xcall("frappe.client.insert", {doc: {
				doctype: "Shift Type", __newname: `Browser Day Shift ${suffix}`,
				start_time: "09:00:00", end_time: "17:00:00",
			}});
			const employee = await frappe.xcall("frappe.client.insert", {doc: {
				doctype: "Employee", first_name: `Browser Forgetful ${suffix}`, gender: await first("Gender"),
				date_of_birth: "1990-01-01", company: await first("Company"), default_shift: shift.name,
				date_of_joining: frappe.datetime.add_days(frappe.datetime.get_today(), -6),
			}});
			return employee.name;
		}""",
		datetime.now().strftime("%H%M%S"),
	)
	mark = watch.mark()
	page.goto(f"{base}/app/attendance-sync")
	# Left before its charts are drawn, the workspace draws them into a hidden page (negative widths).
	for label in WORKSPACE_CHARTS:
		page.locator(".dashboard-widget-box", has_text=label).first.locator("svg").first.wait_for(
			timeout=60_000
		)
	watch.settle(page)
	page.locator(".shortcut-widget-box", has_text="Missing Punches").first.click()
	page.wait_for_url("**/query-report/Missing%20Punches**", timeout=60_000)
	rows = page.locator(".dt-scrollable .dt-row", has_text=employee)
	rows.first.wait_for(timeout=60_000)
	watch.settle(page)
	texts = rows.all_inner_texts()
	if not all("No check-in" in text for text in texts):
		raise AssertionError(f"the report's rows of {employee} are not all No check-in: {texts}")
	if failures := watch.since(mark):
		steps.shot("missing-punches-failure")
		raise AssertionError("the Missing Punches report: " + "; ".join(failures))
	steps.shot("missing-punches")
	steps.ok(
		f"the Missing Punches report opens from the workspace: {len(texts)} No check-in rows of {employee}"
	)


def api_get(page: Page, base: str, path: str, **params: str) -> object:
	response = page.request.get(f"{base}{path}", params=params)
	if not response.ok:
		raise AssertionError(f"GET {path}: {response.status}")
	return response.json()


def device_id_of(page: Page, base: str, employee: str) -> str | None:
	return api_get(page, base, f"/api/resource/Employee/{quote(employee)}")["data"]["attendance_device_id"]


def map_to_employee(page: Page, steps: Steps, base: str, device: str, veteran: str) -> None:
	"""Device Punch -> Map to Employee for UNMAPPED_USER: the search offers the Newcomer (no ID) first; picking
	the Veteran asks to confirm replacing its ID, naming the punches; No keeps it, Yes replaces it, and the
	punches become the Veteran's check-ins."""
	filters = json.dumps([["device", "=", device], ["device_user_id", "=", UNMAPPED_USER]])
	found = api_get(page, base, "/api/resource/Device Punch", filters=filters, limit_page_length="100")
	punches = found["data"]
	if len(punches) != 2 * DAYS:
		raise AssertionError(f"{len(punches)} punches of {UNMAPPED_USER}, expected {2 * DAYS}")
	page.goto(f"{base}/app/device-punch/{punches[0]['name']}")
	page.get_by_role("button", name="Map to Employee").click()
	dialog = page.locator(".modal:visible", has_text="Map to Employee")
	field = dialog.locator('.frappe-control[data-fieldname="employee"] input')
	options = dialog.locator('.frappe-control[data-fieldname="employee"] [role="option"]')
	field.wait_for(timeout=60_000)
	page.wait_for_function("() => window.cur_dialog && cur_dialog.display")

	def search(text: str) -> None:
		"""Type `text` into the Employee field as a person does; return once the search for it has answered."""
		field.click()
		field.press("Control+a")
		field.press("Delete")
		with page.expect_response(
			lambda r: "search_link" in r.url and parse_qs(r.request.post_data or "").get("txt") == [text],
			timeout=60_000,
		):
			field.press_sequentially(text, delay=30)
		expect(options.first).to_contain_text(text, timeout=60_000)

	search("Browser")
	first = options.first.inner_text()
	if NEWCOMER not in first:
		raise AssertionError(f"the search offers {first!r} first, not the Employee without an ID")
	steps.shot("map-to-employee-search")
	steps.ok("Map to Employee offers the Employee without an Attendance Device ID first")

	def pick_veteran_and_map() -> None:
		search(VETERAN[0])
		options.filter(has_text=VETERAN[0]).first.click()
		dialog.locator(".btn-primary", has_text="Map").click()

	pick_veteran_and_map()
	confirm = page.locator(".modal:visible", has_text="Replace it with")
	confirm.wait_for(timeout=60_000)
	text = confirm.inner_text()
	for expected in (VETERAN[1], UNMAPPED_USER, f"{2 * DAYS} Unmapped punches"):
		if expected not in text:
			raise AssertionError(f"the confirmation does not name {expected!r}: {text!r}")
	steps.shot("map-to-employee-confirm")
	confirm.get_by_role("button", name="No").click()
	confirm.wait_for(state="hidden")
	if device_id_of(page, base, veteran) != VETERAN[1]:
		raise AssertionError("No replaced the Veteran's Attendance Device ID")
	steps.ok(
		f"replacing the Veteran's ID {VETERAN[1]} asks first, naming the {2 * DAYS} punches; No keeps it"
	)

	pick_veteran_and_map()
	confirm.wait_for(timeout=60_000)
	confirm.get_by_role("button", name="Yes").click()
	page.locator(".alert-message, .desk-alert", has_text="is mapped to").first.wait_for(timeout=60_000)
	if device_id_of(page, base, veteran) != UNMAPPED_USER:
		raise AssertionError("Yes did not set the Veteran's Attendance Device ID")
	# The Employee's save queued the Reprocess; the web stage's worker runs it.
	checkins = 0
	deadline = time.monotonic() + 180
	while time.monotonic() < deadline and checkins < 2 * DAYS:
		page.wait_for_timeout(1000)
		checkins = api_get(
			page,
			base,
			"/api/method/frappe.client.get_count",
			doctype="Employee Checkin",
			filters=json.dumps({"employee": veteran}),
		)["message"]
	if checkins != 2 * DAYS:
		raise AssertionError(f"{checkins} check-ins of the Veteran after mapping, expected {2 * DAYS}")
	steps.ok(
		f"Yes gives the Veteran ID {UNMAPPED_USER}; its {checkins} punches become the Veteran's check-ins"
	)


def form_indicator(page: Page):
	return page.locator(".page-head .indicator-pill:visible").first


def fix_rejected_login(page: Page, steps: Steps) -> None:
	"""Test Connection with a wrong password: Login Rejected, the form turns Failing with a red banner. The
	password changed and saved: the form shows the new health (Never Synced) and no banner, without a reload."""
	page.get_by_role("button", name="Test Connection").click()
	page.locator(".modal:visible .modal-title", has_text="Login Rejected").wait_for(timeout=60_000)
	# The form reloads behind the message (Login Rejected is now recorded): close it by its button.
	expect(form_indicator(page)).to_have_text("Failing", timeout=60_000)
	page.locator(".modal:visible .btn-modal-close").click()
	page.locator(".modal:visible").wait_for(state="hidden")
	expect(form_indicator(page)).to_have_text("Failing", timeout=60_000)
	banner = page.locator(".form-message-container .form-message:visible")
	expect(banner).to_contain_text("rejected", timeout=60_000)
	steps.shot("login-rejected")
	steps.ok("a rejected login turns the form Failing, with the red banner")

	url = page.url
	set_field(page, "device_user_password", PASSWORD)
	page.keyboard.press("Control+s")
	expect(form_indicator(page)).to_have_text("Never Synced", timeout=60_000)
	expect(page.locator(".form-message-container .form-message:visible", has_text="rejected")).to_have_count(
		0
	)
	if page.url != url:
		raise AssertionError(f"the form left {url} for {page.url}")
	steps.shot("login-fixed")
	steps.ok("the password saved, the form shows Never Synced and drops the banner without a reload")


def push_prefix(page: Page, base: str, device: str) -> str | None:
	# The REST answer leaves out fields that are empty.
	data = api_get(page, base, f"/api/resource/Device Configuration/{quote(device)}")["data"]
	return data.get("push_token_prefix")


def enable_push(page: Page, steps: Steps, base: str, device: str) -> None:
	"""Push > Enable Push asks first, offering to set the address on the terminal; closing the question
	changes nothing; confirming shows the push address once, written to the terminal."""
	page.goto(f"{base}/app/device-configuration/{quote(device)}")
	form_indicator(page).wait_for(timeout=60_000)

	def open_question():
		page.get_by_role("button", name="Push", exact=True).click()
		page.locator(".inner-group-button .dropdown-menu:visible a", has_text="Enable Push").click()
		question = page.locator(".modal:visible", has_text="Set this address on the terminal now")
		question.wait_for(timeout=60_000)
		return question

	open_question()
	steps.shot("enable-push-confirm")
	page.locator(".modal:visible .btn-modal-close").click()
	page.locator(".modal:visible").wait_for(state="hidden")
	page.wait_for_timeout(1000)
	if push_prefix(page, base, device):
		raise AssertionError("closing the Enable Push question enabled push")
	steps.ok("Enable Push asks first; closing the question leaves push off")

	question = open_question()
	question.locator(".btn-primary", has_text="Enable Push").click()
	shown = page.locator(".modal:visible", has_text="Push URL (shown once)")
	shown.wait_for(timeout=60_000)
	if not shown.locator(".text-success").count():
		raise AssertionError(f"the push address was not written to the terminal: {shown.inner_text()!r}")
	if not push_prefix(page, base, device):
		raise AssertionError("confirming Enable Push left push off")
	steps.shot("enable-push-done")
	steps.ok("confirmed, Enable Push writes the address to the terminal and shows it once")
	page.keyboard.press("Escape")


def run(
	page: Page, steps: Steps, watch: Watch, base: str, admin_password: str, sim_url: str, veteran: str
) -> None:
	page.goto(f"{base}/login")
	page.fill("#login_email", "Administrator")
	page.fill("#login_password", admin_password)
	page.click(".btn-login")
	page.wait_for_url("**/app**", timeout=60_000)
	steps.ok("logged in as Administrator")

	open_workspace(page, steps, watch, base)

	host, port = sim_url.split("//", 1)[1].split(":")
	page.goto(f"{base}/app/device-configuration/new")
	page.locator('.frappe-control[data-fieldname="device_name"]').wait_for(timeout=60_000)
	name = f"Front Door {datetime.now():%H%M%S}"
	set_field(page, "device_name", name)
	set_field(page, "device_ip", host)
	set_field(page, "port", port.rstrip("/"))
	set_field(page, "device_user", SIM_USER)
	# A mistyped password first: the terminal rejects the login, and fixing it must show at once.
	set_field(page, "device_user_password", WRONG_PASSWORD)
	if page.evaluate("() => cur_frm.doc.verify_tls"):
		raise AssertionError(
			"Verify TLS Certificate is on by default (terminals ship self-signed certificates)"
		)
	page.keyboard.press("Control+s")
	page.wait_for_url(f"**/app/device-configuration/{name.replace(' ', '%20')}", timeout=60_000)
	page.locator(".indicator-pill").first.wait_for()
	steps.ok(f"Device Configuration {name!r} created in the form, Verify TLS Certificate off by default")

	fix_rejected_login(page, steps)

	page.get_by_role("button", name="Test Connection").click()
	page.locator(".modal:visible .modal-title", has_text="Connection OK").wait_for(timeout=60_000)
	steps.shot("test-connection")
	steps.ok("Test Connection shows the terminal's model, firmware and clock")
	page.keyboard.press("Escape")
	page.locator(".modal:visible").wait_for(state="hidden")

	page.get_by_role("button", name="Fetch Check-in").click()
	dialog = page.locator(".modal:visible", has_text="Fetch Check-in")
	dialog.wait_for()
	# The history starts DAYS ago; the dialog proposes a shorter window. Set From in the control itself.
	start = (datetime.now() - timedelta(days=DAYS + 1)).strftime("%Y-%m-%d %H:%M:%S")
	page.wait_for_function("() => window.cur_dialog && cur_dialog.fields_dict.from_time")  # set once shown
	page.evaluate("(value) => cur_dialog.set_value('from_time', value)", start)
	dialog.locator(".btn-primary", has_text="Fetch").click()
	page.locator(".progress-area").wait_for(state="visible", timeout=60_000)
	# The realtime messages move one bar under the device's title until the summary replaces it.
	summary = page.locator(".modal:visible .modal-title", has_text="Fetch Check-in:")
	states: list[tuple[str, str]] = []
	deadline = time.monotonic() + 300
	while time.monotonic() < deadline and not summary.count():
		# One read in the page: the summary may replace the bar between two locator calls.
		state = page.evaluate(PROGRESS_STATE)
		if state:
			state = tuple(state)
			if state not in states:
				states.append(state)
				if len(states) == 2:
					steps.shot("fetch-progress")
		time.sleep(0.1)
	if len(states) < 2:
		raise AssertionError(f"the progress bar did not move: {states}")
	steps.ok(f"Fetch Check-in queued the job; its bar moved through {len(states)} states")
	summary = page.locator(".modal:visible .modal-title", has_text="Fetch Check-in: Success")
	summary.wait_for(timeout=60_000)
	created = page.locator(".modal:visible tr", has_text="Check-ins created").locator("td").last.inner_text()
	if int(created) != len(USERS) * 2 * DAYS:
		raise AssertionError(f"the summary says {created} check-ins, expected {len(USERS) * 2 * DAYS}")
	unmapped = page.locator(".modal:visible tr", has_text="Unmapped")
	count = unmapped.locator("td").last.inner_text()
	if int(count) != 2 * DAYS:
		raise AssertionError(f"the summary says {count} unmapped punches, expected {2 * DAYS}")
	link = unmapped.locator("a").get_attribute("href") or ""
	if not {"status": ["Unmapped"], "device": [name]}.items() <= parse_qs(link.split("?", 1)[-1]).items():
		raise AssertionError(f"the Unmapped row links to {link!r}, not the device's Unmapped punches")
	text = page.locator(".modal:visible").inner_text()
	if "Needs HR" not in text or "Duplicates" in text:
		raise AssertionError(f"the summary does not say what needs HR in words: {text!r}")
	steps.shot("fetch-summary")
	steps.ok(
		f"the summary reports {created} check-ins created and, under Needs HR, {count} Unmapped punches "
		"linked to the filtered Device Punch list"
	)
	page.keyboard.press("Escape")

	for route, what, whole in (
		("employee-checkin?device_id=" + name.replace(" ", "%20"), "Employee Checkin", None),
		("device-punch?device=" + name.replace(" ", "%20"), "Device Punch", "Time"),
		("attendance-sync-log?device=" + name.replace(" ", "%20"), "Attendance Sync Log", "Started At"),
		("device-configuration", "Device Configuration", "Sync Frequency"),
	):
		page.goto(f"{base}/app/{route}")
		page.locator(".list-row-container").first.wait_for(timeout=60_000)
		steps.shot(what.lower().replace(" ", "-"))
		if whole:
			# At 1440 px the column shows its whole value, not one cut with an ellipsis.
			cell = page.locator(f'.list-row-container span.ellipsis[title^="{whole}:"]').first
			if cell.evaluate("(el) => el.scrollWidth > el.clientWidth"):
				raise AssertionError(f"the {what} list cuts {whole}: {cell.get_attribute('title')!r}")
		steps.ok(f"{what} list shows the run's records" + (f", {whole} whole" if whole else ""))

	page.goto(f"{base}/app/attendance-sync-log?device={quote(name)}")
	page.locator(".list-row-container .list-subject a[data-name]").first.click()
	page.locator('.frappe-control[data-fieldname="checkins_created"]').first.wait_for(timeout=60_000)
	if page.locator(".page-head .primary-action:visible", has_text="Save").count():
		raise AssertionError("the Sync Log form shows a Save button")
	steps.shot("attendance-sync-log-form")
	steps.ok("a Sync Log opens read-only, without a Save button")

	map_to_employee(page, steps, base, name, veteran)

	enable_push(page, steps, base, name)

	open_missing_punches(page, steps, watch, base)

	open_workspace(page, steps, watch, base, shot="workspace-with-data")


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--url", required=True)
	parser.add_argument("--admin-password", required=True)
	parser.add_argument("--shots", required=True, type=Path)
	args = parser.parse_args()
	args.shots.mkdir(parents=True, exist_ok=True)
	base = args.url.rstrip("/")
	try:
		check_login_page(base)
	except (AssertionError, OSError) as e:
		print(f"FAIL the login page: {e}\n\nbrowser: 0 passed, 1 failed")
		return 1
	print(f"ok   {base}/login loads (200)", flush=True)
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	veteran = make_employees()
	frappe.destroy()

	with tempfile.TemporaryDirectory(prefix="attendance-sync-browser-") as tmp:
		events = Path(tmp) / "events.jsonl"
		write_events(events)
		sim = Simulator(
			devices=1,
			# A slow terminal (as over a VPN), so that a person, and this test, can watch the bar move.
			args=[
				"--password",
				PASSWORD,
				"--utc-offset",
				"+06:00",
				"--events-file",
				str(events),
				"--latency-ms",
				"700",
				"--max-results-cap",
				"10",
			],
		)
		sim.start()
		with sync_playwright() as p:
			browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
			page = browser.new_page(viewport={"width": 1440, "height": 900})
			watch = Watch(page)
			steps = Steps(page, args.shots)
			steps.passed += 1  # the login page
			try:
				run(page, steps, watch, base, args.admin_password, sim.devices[0].url, veteran)
			except Exception:
				traceback.print_exc()
				steps.failed += 1
				page.screenshot(path=str(args.shots / "failure.png"))
				(args.shots / "failure.html").write_text(page.content())
			finally:
				browser.close()
				sim.stop()
	if watch.errors:
		steps.failed += 1
		print("FAIL JavaScript errors in the browser:\n  " + "\n  ".join(watch.errors))
	else:
		steps.ok("no JavaScript error in the console")
	if watch.server_errors:
		steps.failed += 1
		print("FAIL answers with a 5xx status:\n  " + "\n  ".join(watch.server_errors))
	else:
		steps.ok("no answer with a 5xx status")
	print(f"\nbrowser: {steps.passed} passed, {steps.failed} failed")
	return 1 if steps.failed else 0


if __name__ == "__main__":
	sys.exit(main())
