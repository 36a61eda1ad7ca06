"""Site-wide upkeep: each device's Sync Health, and pruning of processed punches past their retention."""

from typing import Any

import frappe
from frappe.query_builder.functions import Count, Min
from frappe.utils import now_datetime

from attendance_sync.attendance_sync.common import DEVICE, PUNCH, dt, get_settings
from attendance_sync.attendance_sync.cursors import shift_cursor_plans
from attendance_sync.logic import punches as P
from attendance_sync.logic import push, schedule


def refresh_health(device: str | None = None) -> None:
	"""Store each device's health (Synced / Needs Attention / Stale / Failing / ...) and what is wrong in words
	(Health Details), for the list and the form."""
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
