"""Device Configuration's push buttons (System Manager): Enable Push, Rotate Token, Disable Push.

The token is made here, shown once and stored only as a hash and a prefix; the terminal's HTTP host is written
over ISAPI when the site reaches it, otherwise the form shows the values to type into the terminal's web page.
The endpoint that takes the pushes is `attendance_sync.attendance_sync.push`.
"""

from typing import Any

import frappe
from frappe import _
from frappe.utils import cint, get_url

from attendance_sync import _core
from attendance_sync.attendance_sync import common, terminal
from attendance_sync.attendance_sync.common import MANAGER, login_rejected_message, only_for
from attendance_sync.attendance_sync.maintenance import refresh_health
from attendance_sync.logic import errors
from attendance_sync.logic import push as L


def _write_host(doc: Any, url: str, secrets: list[str | None]) -> tuple[bool, str | None]:
	"""Write the terminal's HTTP listening host over ISAPI; (done, why not)."""
	if doc.auth_blocked:
		return False, f"{login_rejected_message(doc.name)} {errors.auth_hint()}"
	password = None
	try:
		password = doc.get_password("device_user_password", raise_exception=False)
		_core.set_http_host(terminal.core_device(doc, common.get_settings()), url)
	except _core.HttpListeningUnsupportedError:
		frappe.clear_messages()
		return False, _(
			"The terminal's firmware has no HTTP listening over ISAPI; type the values below on its web page, or "
			"deliver its events with the attendance-sync relay."
		)
	except _core.HttpHostSlotTakenError as e:
		# Another system's slot (a VMS, a cloud platform): never overwritten. Its URL is redacted by the core.
		frappe.clear_messages()
		return False, errors.redact(
			_(
				"HTTP listening slot {0} of the terminal posts to another system ({1}); it was left alone. Type the "
				"values below into a free slot on the terminal's web page."
			).format(e.host_id, e.url),
			[password, *secrets],
		)
	except Exception as e:
		return False, _device_failure(doc.name, e, [password, *secrets])
	return True, None


def _clear_host(doc: Any) -> tuple[bool, str | None]:
	if doc.auth_blocked:
		return False, f"{login_rejected_message(doc.name)} {errors.auth_hint()}"
	password = None
	try:
		password = doc.get_password("device_user_password", raise_exception=False)
		_core.clear_http_host(terminal.core_device(doc, common.get_settings()))
	except Exception as e:
		return False, _device_failure(doc.name, e, [password])
	return True, None


def _device_failure(device: str, exc: Exception, secrets: list[str | None]) -> str:
	"""What went wrong talking to the terminal, worded; a rejected login blocks the device as a sync does."""
	frappe.clear_messages()
	report = errors.describe_error(exc, secrets=secrets)
	if report.auth_failure:
		frappe.db.set_value(
			common.DEVICE, device, {"auth_blocked": 1, "last_error": report.text()}, update_modified=False
		)
		refresh_health(device)
	elif report.unexpected:
		frappe.log_error(
			title=_("Attendance Sync: the HTTP host of {0} could not be written").format(device),
			message=errors.redact(frappe.get_traceback(), secrets),
			reference_doctype=common.DEVICE,
			reference_name=device,
		)
	return errors.redact(frappe.utils.strip_html(report.text()), secrets)


def _new_token(doc: Any, mode: str) -> tuple[str, L.TerminalTarget]:
	token = L.new_token()
	target = L.terminal_target(get_url(), token)
	frappe.db.set_value(
		common.DEVICE,
		doc.name,
		{
			"push_token_hash": L.token_hash(token),
			"push_token_prefix": L.token_prefix(token),
			"sync_mode": mode,
		},
		update_modified=False,
	)
	return token, target


def _token_answer(doc: Any, token: str, target: L.TerminalTarget, write: bool) -> dict[str, Any]:
	written, why = _write_host(doc, target.url, [token]) if write else (False, None)
	frappe.db.set_value(common.DEVICE, doc.name, "push_host_on_terminal", int(written), update_modified=False)
	frappe.db.commit()
	return {
		"token": token,
		"prefix": L.token_prefix(token),
		**target.as_dict(),
		"written": written,
		"error": why,
		"sync_mode": frappe.db.get_value(common.DEVICE, doc.name, "sync_mode"),
	}


@frappe.whitelist(methods=["POST"])
def enable_push(device: str, write_to_terminal: int | str = 1) -> dict[str, Any]:
	"""Enable Push: a new token (returned once, never stored in clear) and, when the site reaches the terminal,
	its HTTP host written over ISAPI; otherwise the values to type into the terminal's web page."""
	only_for(MANAGER)
	doc = frappe.get_doc(common.DEVICE, device)
	doc.check_permission("write")
	mode = doc.sync_mode if doc.sync_mode in L.PUSH_MODES else L.DEFAULT_PUSH_MODE
	token, target = _new_token(doc, mode)
	return _token_answer(doc, token, target, bool(cint(write_to_terminal)))


@frappe.whitelist(methods=["POST"])
def rotate_token(device: str, write_to_terminal: int | str = 1) -> dict[str, Any]:
	"""Rotate Token: the old token stops working at once; the new one is returned once."""
	only_for(MANAGER)
	doc = frappe.get_doc(common.DEVICE, device)
	doc.check_permission("write")
	if not doc.push_token_hash:
		frappe.throw(_("Push is not enabled on {0}: use Enable Push").format(device))
	token, target = _new_token(doc, doc.sync_mode if doc.sync_mode in L.PUSH_MODES else L.DEFAULT_PUSH_MODE)
	return _token_answer(doc, token, target, bool(cint(write_to_terminal)))


@frappe.whitelist(methods=["POST"])
def disable_push(device: str) -> dict[str, Any]:
	"""Disable Push: the terminal's HTTP host cleared (when the site wrote it and reaches the terminal), the
	token dropped (its pushes get 401 from now on), Sync Mode back to Pull."""
	only_for(MANAGER)
	doc = frappe.get_doc(common.DEVICE, device)
	doc.check_permission("write")
	cleared, why = _clear_host(doc) if doc.push_host_on_terminal else (False, None)
	frappe.db.set_value(
		common.DEVICE,
		device,
		{
			"push_token_hash": None,
			"push_token_prefix": None,
			"push_host_on_terminal": 0,
			"sync_mode": L.PULL,
		},
		update_modified=False,
	)
	frappe.db.commit()
	return {"cleared": cleared, "error": why, "was_written": bool(doc.push_host_on_terminal)}
