# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from attendance_sync.attendance_sync import jobs
from attendance_sync.attendance_sync.common import MANAGER, only_for
from attendance_sync.logic.settings import settings_from_values


class AttendanceSyncSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from attendance_sync.attendance_sync.doctype.attendance_sync_alert_user.attendance_sync_alert_user import (
			AttendanceSyncAlertUser,
		)
		from attendance_sync.attendance_sync.doctype.attendance_sync_punch_code.attendance_sync_punch_code import (
			AttendanceSyncPunchCode,
		)

		alert_role: DF.Link | None
		alert_users: DF.TableMultiSelect[AttendanceSyncAlertUser]
		bulk_insert_above: DF.Int
		connect_timeout: DF.Float
		double_punch_seconds: DF.Int
		fetch_concurrency: DF.Int
		not_heard_from_minutes: DF.Int
		overlap_minutes: DF.Int
		punch_codes: DF.Table[AttendanceSyncPunchCode]
		punch_retention_days: DF.Int
		request_timeout: DF.Float
	# end: auto-generated types

	def validate(self) -> None:
		codes = [(r.major, r.minor) for r in self.punch_codes]
		if len(set(codes)) != len(codes):
			frappe.throw(_("A punch event code is listed twice"))
		try:
			settings_from_values(self.as_dict(), codes).validate()
		except ValueError as e:
			frappe.throw(str(e))


@frappe.whitelist(methods=["POST"])
def sync_all_devices() -> list[str]:
	"""Queue a scheduled run of every enabled device now (what the daily event does)."""
	only_for(MANAGER)
	return jobs.scheduled_daily()
