"""Whether a bulk insert of Employee Checkins gives, on this site, what `doc.insert()` gives (`bulk`).

The controller must be HRMS's own, its `validate` the steps the bulk insert runs, and the series a plain naming
series. Hooks (see docs/frappe.md, "Bulk insert"): `doc_events` run by `insert()` (`INSERT_EVENTS`) are looked up as
`insert()` looks them up (`frappe.get_doc_hooks`). Frappe's and ERPNext's own hooks on every doctype ("*",
`STAR_HOOKS`) are each either run (once per written batch, where their effect depends on the doctype alone) or
shown not to act on Employee Checkin on this site, by the same condition they test; where that condition holds,
the bulk insert declines. Any other hook on an insert event, of every doctype or of Employee Checkin, makes it
decline, naming the hook. Server Scripts, Notifications, Webhooks and Document Naming Rules on Employee Checkin
make it decline too; the realtime list update and global search are not run. `unsupported_reason()` says why it
declines; the check-in step then uses `doc.insert()`.
"""

from collections.abc import Callable
from typing import Any

import frappe
from hrms.hr.doctype.employee_checkin.employee_checkin import EmployeeCheckin

from attendance_sync.attendance_sync.common import CHECKIN as DOCTYPE

# The names HRMS 15's `EmployeeCheckin.validate` uses, in order: the steps this module runs one by one. Another
# validate (a newer HRMS, or an app's override) may do more, so bulk declines it.
VALIDATE_NAMES = (
	"validate_active_employee",
	"employee",
	"validate_duplicate_log",
	"validate_time_change",
	"fetch_shift",
	"set_geolocation",
	"validate_distance_from_shift_location",
)


# Document methods `insert()` runs that the controller must not define for the rows to be the same.
LIFECYCLE_METHODS = (
	"before_insert",
	"before_naming",
	"autoname",
	"before_save",
	"after_insert",
	"on_update",
	"on_change",
	"db_insert",
	"set_new_name",
)


# What runs on an insert when configured for the doctype, outside `doc_events`: (DocType, its doctype field,
# filters of live rows).
CONFIGURED_ON_DOCTYPE = (
	("Server Script", "reference_doctype", {"disabled": 0, "script_type": "DocType Event"}),
	("Notification", "document_type", {"enabled": 1}),
	("Webhook", "webhook_doctype", {"enabled": 1}),
	("Document Naming Rule", "document_type", {"disabled": 0}),
)


# The events whose `doc_events` hooks `insert()` runs (through `run_method`), in its order.
INSERT_EVENTS = (
	"before_insert",
	"before_naming",
	"autoname",
	"before_validate",
	"validate",
	"before_save",
	"after_insert",
	"on_update",
	"on_change",
)


def _workflow(meta: Any) -> str | None:
	# process_workflow_actions returns at once for a doctype without an active Workflow (get_workflow_name).
	if frappe.db.exists("Workflow", {"document_type": DOCTYPE, "is_active": 1}):
		return "a Workflow is active on it"
	return None


def _attach_fields(meta: Any) -> str | None:
	# attach_files_to_document only looks at the doctype's Attach and Attach Image fields.
	fields = [df.fieldname for df in meta.get("fields", {"fieldtype": ["in", ["Attach", "Attach Image"]]})]
	return f"it has Attach fields ({', '.join(fields)})" if fields else None


def _assignment_rules(meta: Any) -> str | None:
	# apply and update_due_date act through the doctype's enabled Assignment Rules only.
	if frappe.db.exists("Assignment Rule", {"document_type": DOCTYPE, "disabled": 0}):
		return "an Assignment Rule is set on it"
	return None


def _user_types(meta: Any) -> str | None:
	# apply_permissions_for_non_standard_user_type acts on the doctype a non-standard User Type applies user
	# permissions on (get_non_standard_user_types) only.
	if frappe.db.exists("User Type", {"is_standard": 0, "apply_user_permission_on": DOCTYPE}):
		return "a non-standard User Type applies user permissions on it"
	return None


def _search_index(meta: Any) -> str | None:
	# update_doc_index acts on the doctypes of the `sqlite_search` classes' INDEXABLE_DOCTYPES only.
	for path in frappe.get_hooks("sqlite_search") or []:
		if DOCTYPE in (getattr(frappe.get_attr(path), "INDEXABLE_DOCTYPES", None) or {}):
			return f"the search index {path} indexes it"
	return None


def _energy_point_rules(meta: Any) -> str | None:
	# process_energy_points applies the doctype's enabled Energy Point Rules only.
	if frappe.db.exists("Energy Point Rule", {"reference_doctype": DOCTYPE, "enabled": 1}):
		return "an Energy Point Rule is set on it"
	return None


def _milestone_trackers(meta: Any) -> str | None:
	# evaluate_milestone applies the doctype's enabled Milestone Trackers only.
	if frappe.db.exists("Milestone Tracker", {"document_type": DOCTYPE, "disabled": 0}):
		return "a Milestone Tracker is set on it"
	return None


def _service_level_agreements(meta: Any) -> str | None:
	# ERPNext's apply returns for a doctype no Service Level Agreement names (whether enabled or not).
	if frappe.db.exists("Service Level Agreement", {"document_type": DOCTYPE}):
		return "a Service Level Agreement is set on it"
	return None


def _company_field(meta: Any) -> str | None:
	# ERPNext's check_for_running_deletion_job returns for a doctype without a company field.
	return "it has a company field" if meta.has_field("company") else None


# Frappe's and ERPNext's own doc_events on every doctype ("*") for the events an insert runs, and what the bulk
# insert does about each: None, it runs the hook once per written batch (its effect depends on the doctype
# alone); otherwise the condition under which the hook acts on Employee Checkin, where the bulk insert declines
# (the hook returns without doing anything when the condition does not hold). Any other "*" hook on an insert
# event makes the bulk insert decline.
STAR_HOOKS: dict[tuple[str, str], Callable[[Any], str | None] | None] = {
	# Deletes the cached notification count of the doctype (when the notification config names it).
	("on_update", "frappe.desk.notifications.clear_doctype_notifications"): None,
	(
		"on_update",
		"frappe.workflow.doctype.workflow_action.workflow_action.process_workflow_actions",
	): _workflow,
	("on_update", "frappe.core.doctype.file.utils.attach_files_to_document"): _attach_fields,
	("on_update", "frappe.automation.doctype.assignment_rule.assignment_rule.apply"): _assignment_rules,
	(
		"on_update",
		"frappe.automation.doctype.assignment_rule.assignment_rule.update_due_date",
	): _assignment_rules,
	(
		"on_update",
		"frappe.core.doctype.user_type.user_type.apply_permissions_for_non_standard_user_type",
	): _user_types,
	("on_update", "frappe.search.sqlite_search.update_doc_index"): _search_index,
	("on_change", "frappe.social.doctype.energy_point_rule.energy_point_rule.process_energy_points"): (
		_energy_point_rules
	),
	("on_change", "frappe.automation.doctype.milestone_tracker.milestone_tracker.evaluate_milestone"): (
		_milestone_trackers
	),
	("validate", "erpnext.support.doctype.service_level_agreement.service_level_agreement.apply"): (
		_service_level_agreements
	),
	(
		"validate",
		"erpnext.setup.doctype.transaction_deletion_record.transaction_deletion_record.check_for_running_deletion_job",
	): _company_field,
}


def unsupported_reason() -> str | None:
	"""Why a bulk insert would not give what `doc.insert()` gives on this site, or None."""
	controller = type(frappe.get_doc({"doctype": DOCTYPE}))
	if controller is not EmployeeCheckin:
		return f"Employee Checkin's controller is {controller.__module__}.{controller.__name__}"
	if tuple(EmployeeCheckin.validate.__code__.co_names) != VALIDATE_NAMES:
		return "HRMS's EmployeeCheckin.validate is not the one the bulk insert reproduces"
	for method in LIFECYCLE_METHODS:
		if method in vars(EmployeeCheckin):
			return f"HRMS's EmployeeCheckin defines {method}"
	meta = frappe.get_meta(DOCTYPE)
	reason = _hooks_reason(meta)
	if reason:
		return reason
	for doctype, field, filters in CONFIGURED_ON_DOCTYPE:
		if frappe.db.exists(doctype, {field: DOCTYPE, **filters}):
			return f"a {doctype} is set on Employee Checkin"
	if meta.get("show_name_in_global_search") or any(df.get("in_global_search") for df in meta.fields):
		return "Employee Checkin is in global search"
	autoname = meta.autoname or ""
	if "#" not in autoname or ":" in autoname or autoname.lower().startswith("format"):
		return f"Employee Checkin is named by {autoname!r}, not a naming series"
	return None


def _hooks_reason(meta: Any) -> str | None:
	"""The first doc_events hook an insert of an Employee Checkin runs that the bulk insert does not stand in for:
	the hooks as `Document.run_method` finds them (`frappe.get_doc_hooks`)."""
	hooks = frappe.get_doc_hooks()
	for event in INSERT_EVENTS:
		for handler in hooks.get(DOCTYPE, {}).get(event, []):
			return f"the doc_events hook {handler} runs on Employee Checkin's {event}"
	for event in INSERT_EVENTS:
		for handler in hooks.get("*", {}).get(event, []):
			if (event, handler) not in STAR_HOOKS:
				return (
					f"the doc_events hook {handler} runs on every doctype's {event}, "
					"and the bulk insert neither runs it nor knows when it acts"
				)
			acts = STAR_HOOKS[(event, handler)]
			why = acts(meta) if acts else None
			if why:
				return f"the doc_events hook {handler} ({event} of every doctype) acts on Employee Checkin: {why}"
	return None


def per_batch_hooks() -> list[tuple[str, str]]:
	"""(event, handler) of the "*" hooks the bulk insert runs once per written batch, as this site has them."""
	hooks = frappe.get_doc_hooks().get("*", {})
	return [
		(event, handler)
		for event in INSERT_EVENTS
		for handler in hooks.get(event, [])
		if (event, handler) in STAR_HOOKS and STAR_HOOKS[(event, handler)] is None
	]
