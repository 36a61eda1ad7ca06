"""Employee doc_events: a newly set or changed Attendance Device ID turns that ID's Unmapped punches into check-ins."""

from frappe.model.document import Document

from attendance_sync.attendance_sync.doctype.device_punch.device_punch import enqueue_reprocess
from attendance_sync.logic import punches as P


def on_update(doc: Document, method: str | None = None) -> None:
	if not doc.has_value_changed("attendance_device_id"):
		return
	device_user_id = P.normalize_device_user_id(doc.attendance_device_id)
	if not device_user_id:
		return
	# Queued whatever this transaction sees: a batch deciding this ID's punches Unmapped may commit after the
	# look this request could take. The job resets them under the ID's check-in lock, after that batch.
	enqueue_reprocess(device_user_id=device_user_id)
