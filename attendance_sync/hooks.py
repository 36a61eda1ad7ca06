app_name = "attendance_sync"
app_title = "Attendance Sync"
app_publisher = "Attendance Sync contributors"
app_description = (
	"Pull attendance events from Hikvision (ISAPI) access-control terminals into Frappe HRMS Employee Checkin"
)
app_email = "omfsakib@gmail.com"
app_license = "gpl-3.0"

required_apps = ["hrms"]

after_install = "attendance_sync.install.after_install"

# `bench run-tests --app attendance_sync` on a site whose setup wizard never ran (no Company to employ anyone).
before_tests = "attendance_sync.attendance_sync.testing.before_tests"

# HR may delete a wrong check-in that came from a device; the punch keeps its history (and is not re-checked-in).
ignore_links_on_delete = ["Device Punch"]

# Sync Health's indicator colours reach the desk once per session, from the one table in logic/schedule.py.
boot_session = (
	"attendance_sync.attendance_sync.doctype.device_configuration.device_configuration.boot_session"
)

doc_events = {
	"Employee": {
		"on_update": "attendance_sync.overrides.employee.on_update",
		"on_trash": "attendance_sync.overrides.employee.on_trash",
	},
	# No Error Log keeps a device's push token, Frappe's snapshot of a failed request (its URL) included.
	"Error Log": {
		"before_insert": "attendance_sync.attendance_sync.push.redact_error_log",
	},
}

# A push whose body Frappe's request parsing refuses before the endpoint runs is answered by the endpoint all the
# same (401, or 200 `unreadable`), never with Frappe's error page.
after_request = ["attendance_sync.attendance_sync.push.after_request"]

scheduler_events = {
	# The seed's promise: every enabled device once a day.
	"daily": [
		"attendance_sync.attendance_sync.jobs.scheduled_daily",
	],
	"daily_long": [
		"attendance_sync.attendance_sync.maintenance.prune_punches",
	],
	"cron": {
		# Devices whose Sync Frequency is due; also refreshes the synced / stale / failing indicators.
		"*/15 * * * *": [
			"attendance_sync.attendance_sync.jobs.scheduled_tick",
		],
	},
}

# Log Settings prunes these after N days (editable there).
default_log_clearing_doctypes = {
	"Attendance Sync Log": 90,
}
