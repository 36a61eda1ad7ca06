"""after_install: store the settings' defaults so the first scheduled run reads real values."""

import frappe

from attendance_sync.logic.settings import DEFAULTS


def after_install() -> None:
	settings = frappe.get_single("Attendance Sync Settings")
	for field, value in DEFAULTS.items():
		if not settings.get(field):
			settings.set(field, value)
	settings.flags.ignore_permissions = True
	settings.save()
