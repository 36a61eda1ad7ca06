"""Realtime progress of a run (a device's sync or a Reprocess), for the form's progress bar."""

from typing import Any

import frappe
from frappe import _
from frappe.realtime import get_doc_room

from attendance_sync.attendance_sync.common import DEVICE
from attendance_sync.logic.progress import (
	Throttle,
	checkin_message,
	checkin_percent,
	fetch_message,
	fetch_percent,
)

PROGRESS_EVENT = "attendance_sync_progress"


DONE_EVENT = "attendance_sync_done"


class Progress:
	"""Realtime progress: pages and events while fetching, then check-ins.

	Device runs speak to the device's form (its document room); a Reprocess speaks to the user who asked. Every
	message carries `title` ("Sync of <device>"), `percent` and `description` (worded, with "1 page" and
	"2 pages"), ready for one progress bar: the form shows that bar as Queued when it queues a manual run, the
	run's first message ("started") takes the same bar over, and the result (DONE_EVENT, same title) closes it.
	"""

	def __init__(self, device: str | None, user: str | None = None, title: str | None = None) -> None:
		self.device = device
		self.user = user
		self.title = title or (_("Sync of {0}").format(device) if device else _("Reprocess"))
		self.throttle = Throttle(1.0)

	def publish(self, event: str, message: dict[str, Any]) -> None:
		message = {"device": self.device, "title": self.title, **message}
		try:
			if self.user:
				frappe.publish_realtime(event, message, user=self.user)
			elif self.device:
				frappe.publish_realtime(event, message, room=get_doc_room(DEVICE, self.device))
		except Exception:
			# Progress is cosmetic; an exception here would cancel the fetch it reports on.
			pass

	def started(self) -> None:
		self.publish(
			PROGRESS_EVENT,
			{"stage": "started", "percent": 1, "description": _("Connecting to the terminal")},
		)

	def fetch(self, pages: int, events: int) -> None:
		if self.throttle.ready():
			self.publish(
				PROGRESS_EVENT,
				{
					"stage": "fetch",
					"pages": pages,
					"events": events,
					"percent": fetch_percent(pages),
					"description": fetch_message(pages, events),
				},
			)

	def checkins(self, done: int, total: int) -> None:
		if self.throttle.ready(force=done >= total):
			self.publish(
				PROGRESS_EVENT,
				{
					"stage": "checkins",
					"done": done,
					"total": total,
					"percent": checkin_percent(done, total),
					"description": checkin_message(done, total),
				},
			)
