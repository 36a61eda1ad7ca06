# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class AttendanceSyncLog(Document):
	@staticmethod
	def clear_old_logs(days: int = 90) -> None:
		# Called by Log Settings (default_log_clearing_doctypes); a Running log is never pruned.
		from frappe.query_builder import Interval
		from frappe.query_builder.functions import Now

		table = frappe.qb.DocType("Attendance Sync Log")
		frappe.db.delete(
			table, filters=(table.modified < (Now() - Interval(days=days))) & (table.status != "Running")
		)
