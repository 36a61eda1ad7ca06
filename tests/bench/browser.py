"""The app in a browser: Playwright driving Debian's Chromium against `bench serve` with socketio and a worker.

Run by `tests/bench/bench.sh test` from the bench's `sites/` with the bench's Python:
    env/bin/python apps/attendance_sync/tests/bench/browser.py --site SITE --url URL --shots DIR

Logs in, creates a Device Configuration in the form, runs Test Connection and Fetch Check-in (watching the
progress bar and the summary), opens Employee Checkin, Device Punch and the Sync Log, and fails on any JavaScript
error. Screenshots go to --shots. Prints one line per step and "N passed, N failed" at the end.
"""

import argparse
import json
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

import frappe
from playwright.sync_api import Page, sync_playwright

from attendance_sync.simulator import SIM_USER, Simulator

PASSWORD = "Browser-Terminal-Pass"
USERS = ("8101", "8102", "8103", "8104", "8105", "8106")
DAYS = 5
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


def write_events(path: Path) -> None:
	"""Two punches a day for each of USERS over the last DAYS days, at +06:00."""
	tz = timezone(timedelta(hours=6))
	now = datetime.now(tz)
	lines = []
	for day in range(DAYS, 0, -1):
		date = (now - timedelta(days=day)).date()
		for n, user in enumerate(USERS):
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


def make_employees() -> None:
	company = frappe.defaults.get_global_default("company")
	gender = frappe.get_all("Gender", pluck="name", limit=1)[0]
	for user in USERS:
		if frappe.db.exists("Employee", {"attendance_device_id": user}):
			continue
		frappe.get_doc(
			{
				"doctype": "Employee",
				"first_name": f"Browser {user}",
				"gender": gender,
				"date_of_birth": "1990-01-01",
				"date_of_joining": "2020-01-01",
				"company": company,
				"attendance_device_id": user,
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()


def set_field(page: Page, fieldname: str, value: str) -> None:
	control = page.locator(f'.frappe-control[data-fieldname="{fieldname}"]:visible').first
	field = control.locator("input, textarea").first
	field.fill(value)
	field.press("Tab")


PROGRESS_STATE = """() => {
	const bar = document.querySelector(".progress-area .progress-bar");
	return bar && [bar.getAttribute("style") || "", document.querySelector(".progress-area").innerText];
}"""


def run(page: Page, steps: Steps, base: str, admin_password: str, sim_url: str) -> None:
	page.goto(f"{base}/login")
	page.fill("#login_email", "Administrator")
	page.fill("#login_password", admin_password)
	page.click(".btn-login")
	page.wait_for_url("**/app**", timeout=60_000)
	steps.ok("logged in as Administrator")

	host, port = sim_url.split("//", 1)[1].split(":")
	page.goto(f"{base}/app/device-configuration/new")
	page.locator('.frappe-control[data-fieldname="device_name"]').wait_for(timeout=60_000)
	name = f"Front Door {datetime.now():%H%M%S}"
	set_field(page, "device_name", name)
	set_field(page, "device_ip", host)
	set_field(page, "port", port.rstrip("/"))
	set_field(page, "device_user", SIM_USER)
	set_field(page, "device_user_password", PASSWORD)
	page.keyboard.press("Control+s")
	page.wait_for_url(f"**/app/device-configuration/{name.replace(' ', '%20')}", timeout=60_000)
	page.locator(".indicator-pill").first.wait_for()
	steps.ok(f"Device Configuration {name!r} created in the form")

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
	steps.shot("fetch-summary")
	steps.ok(f"the summary reports {created} check-ins created")
	page.keyboard.press("Escape")

	for route, what in (
		("employee-checkin?device_id=" + name.replace(" ", "%20"), "Employee Checkin"),
		("device-punch?device=" + name.replace(" ", "%20"), "Device Punch"),
		("attendance-sync-log?device=" + name.replace(" ", "%20"), "Attendance Sync Log"),
	):
		page.goto(f"{base}/app/{route}")
		page.locator(".list-row-container").first.wait_for(timeout=60_000)
		steps.shot(what.lower().replace(" ", "-"))
		steps.ok(f"{what} list shows the run's records")


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--url", required=True)
	parser.add_argument("--admin-password", required=True)
	parser.add_argument("--shots", required=True, type=Path)
	args = parser.parse_args()
	args.shots.mkdir(parents=True, exist_ok=True)
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	make_employees()
	frappe.destroy()

	errors: list[str] = []
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
			page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
			page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
			steps = Steps(page, args.shots)
			try:
				run(page, steps, args.url.rstrip("/"), args.admin_password, sim.devices[0].url)
			except Exception:
				traceback.print_exc()
				steps.failed += 1
				page.screenshot(path=str(args.shots / "failure.png"))
			finally:
				browser.close()
				sim.stop()
	if errors:
		steps.failed += 1
		print("FAIL JavaScript errors in the browser:\n  " + "\n  ".join(errors))
	else:
		steps.ok("no JavaScript error in the console")
	print(f"\nbrowser: {steps.passed} passed, {steps.failed} failed")
	return 1 if steps.failed else 0


if __name__ == "__main__":
	sys.exit(main())
