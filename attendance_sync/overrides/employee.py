"""Employee doc_events: a newly set or changed Attendance Device ID turns that ID's Unmapped punches into check-ins,
and the ID it replaces is recorded as last held by this Employee (its punches still hold the person's shifts)."""

import frappe
from frappe.model.document import Document

from attendance_sync.attendance_sync.doctype.device_punch.device_punch import enqueue_reprocess
from attendance_sync.attendance_sync.doctype.device_user_id_holder.device_user_id_holder import (
	HOLDER,
	record_release,
)
from attendance_sync.logic import punches as P


def on_update(doc: Document, method: str | None = None) -> None:
	if not doc.has_value_changed("attendance_device_id"):
		return
	before = doc.get_doc_before_save()
	released = P.normalize_device_user_id(before.attendance_device_id) if before else None
	if released and released != P.normalize_device_user_id(doc.attendance_device_id):
		record_release(released, doc.name)
	device_user_id = P.normalize_device_user_id(doc.attendance_device_id)
	if not device_user_id:
		return
	# Queued whatever this transaction sees: a batch deciding this ID's punches Unmapped may commit after the
	# look this request could take. The job resets them under the ID's check-in lock, after that batch.
	enqueue_reprocess(device_user_id=device_user_id)


def on_trash(doc: Document, method: str | None = None) -> None:
	"""An Employee deleted (one made by mistake) holds no ID any more."""
	frappe.db.delete(HOLDER, {"employee": doc.name})
