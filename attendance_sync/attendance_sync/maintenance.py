"""Site-wide upkeep: each device's Sync Health, and pruning of processed punches past their retention."""

from typing import Any

import frappe
from frappe.desk.doctype.notification_log.notification_log import make_notification_logs
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.query_builder.functions import Count, Min
from frappe.utils import now_datetime

from attendance_sync.attendance_sync.common import DEVICE, PUNCH, SETTINGS, dt, get_settings
from attendance_sync.attendance_sync.cursors import shift_cursor_plans
from attendance_sync.logic import alerts, push, schedule
from attendance_sync.logic import punches as P


def refresh_health(device: str | None = None) -> None:
	"""Store each device's health (Synced / Needs Attention / Stale / Failing / ...) and what is wrong in words
	(Health Details), for the list and the form; tell the alert recipients when an incident starts or ends."""
	now = now_datetime()
	for d, state, attention in _health(device):
		message = (
			schedule.health_message(
				state,
				last_error=d.last_error,
				synced_up_to=_heard_up_to(d),
				attention=attention,
				push_only=d.sync_mode == push.PUSH,
			)
			or None
		)
		if (state, message) != (d.sync_health, d.health_message or None):
			frappe.db.set_value(
				DEVICE,
				d.name,
				{"sync_health": state, "health_message": message},
				update_modified=False,
			)
		stale = schedule.is_stale(_heard_up_to(d), d.sync_frequency, now)
		incident = alerts.next_alert(d.alerted_health or None, state, bool(d.auth_blocked), stale)
		if incident != (d.alerted_health or None, None):
			_alert(d.name, state, bool(d.auth_blocked), stale, message)


def _alert(device: str, state: str, auth_blocked: bool, stale: bool, message: str | None) -> None:
	"""Record the device's incident, and queue the announcement when one starts or ends. The row is locked first:
	two health checks at once (a run's and the 15-minute one) announce an incident once. The announcement is a
	job queued after the commit: a Notification Log writes each recipient's Notification Settings, which a
	health check holding device rows must not lock too."""
	alerted = frappe.db.get_value(DEVICE, device, "alerted_health", for_update=True) or None
	incident, announce = alerts.next_alert(alerted, state, auth_blocked, stale)
	if incident != alerted:
		frappe.db.set_value(DEVICE, device, "alerted_health", incident, update_modified=False)
	if announce is not None:
		frappe.enqueue(
			"attendance_sync.attendance_sync.maintenance.announce",
			queue="short",
			enqueue_after_commit=True,
			device=device,
			subject=alerts.subject(device, announce, incident),
			message=message,
		)


def announce(device: str, subject: str, message: str | None) -> None:
	"""The job that tells the alert recipients of a device's incident: a Notification Log each (the desk's bell),
	and one email to them all when the site has an outgoing email account."""
	recipients = alert_recipients()
	content = message or subject
	make_notification_logs(
		{
			"type": "Alert",
			"subject": subject,
			"email_content": content,
			"document_type": DEVICE,
			"document_name": device,
		},
		recipients,
	)
	if recipients and EmailAccount.find_outgoing():
		frappe.sendmail(
			recipients=recipients,
			subject=subject,
			message=content,
			reference_doctype=DEVICE,
			reference_name=device,
		)


def alert_recipients() -> list[str]:
	"""The email addresses of the enabled users told of incidents: System Managers, the users of Attendance Sync
	Settings' Also Notify Role and its Also Notify Users."""
	settings = frappe.get_cached_doc(SETTINGS)
	roles = ["System Manager", *([settings.alert_role] if settings.alert_role else [])]
	users = set(
		frappe.get_all("Has Role", filters={"role": ["in", roles], "parenttype": "User"}, pluck="parent")
	) | {row.user for row in settings.alert_users}
	return frappe.get_all(
		"User",
		filters={"name": ["in", sorted(users - {"Guest"}) or [""]], "enabled": 1},
		pluck="email",
		order_by="name",
	)


def _health(device: str | None = None) -> list[tuple[Any, str, schedule.Attention]]:
	"""(device row, health state, what needs attention) of one device or all."""
	now = now_datetime()
	filters = {"name": device} if device else {}
	devices = frappe.get_all(
		DEVICE,
		filters=filters,
		fields=[
			"name",
			"enabled",
			"auth_blocked",
			"last_sync_status",
			"last_error",
			"synced_up_to",
			"sync_frequency",
			"sync_health",
			"health_message",
			"sync_mode",
			"last_push_at",
			"alerted_health",
		],
	)
	if not devices:
		return []
	names = [d.name for d in devices]
	punch = frappe.qb.DocType(PUNCH)
	open_counts: dict[tuple[str, str], tuple[int, Any]] = {
		(r.device, r.status): (r.punches, r.oldest)
		for r in frappe.qb.from_(punch)
		.select(punch.device, punch.status, Count(punch.name).as_("punches"), Min(punch.time).as_("oldest"))
		.where(punch.device.isin(names) & punch.status.isin([P.FAILED, P.UNMAPPED]))
		.groupby(punch.device, punch.status)
		.run(as_dict=True)
	}
	feeds: dict[str, list[str]] = {}
	for row in frappe.get_all(
		"Device Shift Type",
		filters={"parent": ["in", names], "parenttype": DEVICE},
		fields=["parent", "shift_type"],
	):
		feeds.setdefault(row.parent, []).append(row.shift_type)
	plans = shift_cursor_plans({s for shifts in feeds.values() for s in shifts})
	result = []
	for d in devices:
		failed, oldest_failed = open_counts.get((d.name, P.FAILED), (0, None))
		unmapped, _oldest = open_counts.get((d.name, P.UNMAPPED), (0, None))
		held = tuple(
			hold for s in sorted(set(feeds.get(d.name, []))) if s in plans and (hold := plans[s].hold)
		)
		attention = schedule.Attention(
			failed=failed, oldest_failed=dt(oldest_failed), unmapped=unmapped, held=held
		)
		state = schedule.health(
			enabled=bool(d.enabled),
			auth_blocked=bool(d.auth_blocked),
			last_sync_status=d.last_sync_status,
			synced_up_to=_heard_up_to(d),
			frequency=d.sync_frequency,
			now=now,
			attention=attention,
		)
		result.append((d, state, attention))
	return result


def _heard_up_to(device: Any) -> Any:
	"""How recent the device's news is: its complete search, or, for a device that is never searched (Sync Mode
	Push), its last push (an event or a heartbeat)."""
	return dt(device.last_push_at) if device.sync_mode == push.PUSH else dt(device.synced_up_to)


def prune_punches() -> int:
	"""Delete processed punches older than the retention period; Unmapped and Failed stay until resolved."""
	days = get_settings().punch_retention_days
	if days <= 0:
		return 0
	cutoff = frappe.utils.add_days(now_datetime(), -days)
	filters = {"status": ["in", list(P.PRUNABLE_STATUSES)], "time": ["<", cutoff]}
	count = frappe.db.count(PUNCH, filters)
	if count:
		frappe.db.delete(PUNCH, filters)
	return count
