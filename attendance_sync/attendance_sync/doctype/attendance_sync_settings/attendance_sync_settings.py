# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from attendance_sync.logic.settings import settings_from_values


class AttendanceSyncSettings(Document):
	def validate(self) -> None:
		codes = [(r.major, r.minor) for r in self.punch_codes]
		if len(set(codes)) != len(codes):
			frappe.throw(_("A punch event code is listed twice"))
		try:
			settings_from_values(self.as_dict(), codes).validate()
		except ValueError as e:
			frappe.throw(str(e))
