"""The site's push endpoint: `POST /api/method/attendance_sync.api.push?token=...` (docs/push.md).

A terminal (ISAPI HTTP listening) or the attendance-sync relay calls it with no site account; the device's token
is the only credential. The work is in `attendance_sync.attendance_sync.push.receive`; a body Frappe refuses to
parse before this method runs is answered by the same code from `push.after_request`.
"""

from typing import Any

import frappe


@frappe.whitelist(allow_guest=True, xss_safe=True, methods=["POST"])
def push(**_body: Any) -> Any:
	"""One event, heartbeat or other notification; the raw body is read from the request, not from these
	arguments (Frappe's reading of a JSON body or a form)."""
	from attendance_sync.attendance_sync.push import receive

	return receive()
