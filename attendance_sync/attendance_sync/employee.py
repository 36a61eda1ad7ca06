"""Employee doc_events: a newly set or changed Attendance Device ID turns that ID's Unmapped punches into check-ins."""

import frappe
from frappe.model.document import Document

from attendance_sync.attendance_sync import common, jobs
from attendance_sync.logic import punches as P


def on_update(doc: Document, method: str | None = None) -> None:
	if not doc.has_value_changed("attendance_device_id"):
		return
	device_user_id = P.normalize_device_user_id(doc.attendance_device_id)
	if not device_user_id:
		return
	if frappe.db.exists(common.PUNCH, {"device_user_id": device_user_id, "status": P.UNMAPPED}):
		jobs.enqueue_reprocess(device_user_id=device_user_id)
