"""The workspace's Punches per Day chart (issue 20): Device Punches counted per day by the database.

Frappe's Count chart groups by its date field; on Device Punch's Time, a Datetime, that is a group per distinct
second, each sent to Python and added up there: about 140,000 rows for the month at a million punches, most of
the workspace's load (benches/RESULTS.md, workspace load). This source groups by the day in the database, over
the index on (time, device, docstatus), and answers as Frappe's chart would: the same periods, labels, counts."""

from datetime import date, datetime
from typing import Any

import frappe
from frappe.query_builder.functions import Count
from frappe.utils import add_to_date, format_date, get_datetime, getdate, now_datetime
from frappe.utils.dateutils import get_dates_from_timegrain, get_period, get_period_beginning
from pypika.functions import Date

from attendance_sync.attendance_sync.common import PUNCH, READERS, only_for

# The chart's filters (punches_per_day.js): equal to a value.
FILTERS = ("device", "status")
# Frappe's timespans (frappe.utils.dateutils.get_from_date_from_timespan): how far back from now.
TIMESPANS = {
	"Last Week": {"days": -7},
	"Last Month": {"months": -1},
	"Last Quarter": {"months": -3},
	"Last Year": {"years": -1},
	"All Time": {"years": -50},
}


@frappe.whitelist()
def punches_per_day(
	chart_name: str | None = None,
	filters: Any = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	**_: Any,
) -> dict[str, Any]:
	"""The chart's labels and counts, as `frappe.desk.doctype.dashboard_chart.dashboard_chart.get` gives them for
	a Count chart on Time: periods of `time_interval` over `timespan` (or from_date..to_date), the first one
	starting at its period's beginning."""
	only_for(READERS)
	chart = frappe.get_doc("Dashboard Chart", chart_name) if chart_name else frappe._dict()
	timespan = timespan or chart.timespan or "Last Month"
	timegrain = time_interval or chart.time_interval or "Daily"
	if timespan == "Select Date Range":
		start = getdate(from_date or chart.from_date)
		end = get_datetime(to_date or chart.to_date)
	else:
		end = now_datetime()
		start = get_period_beginning(add_to_date(end, **TIMESPANS.get(timespan, {})), timegrain)
	counts = per_day(start, end, _filters(filters))
	values = []
	days = sorted(counts)
	n = 0
	for period_end in get_dates_from_timegrain(start, end, timegrain):
		total = 0
		while n < len(days) and days[n] <= period_end:
			total += counts[days[n]]
			n += 1
		values.append((period_end, total))
	return {
		"labels": [
			format_date(get_period(d, timegrain), parse_day_first=True)
			if timegrain in ("Daily", "Weekly")
			else get_period(d, timegrain)
			for d, _ in values
		],
		"datasets": [{"name": chart.name or "Punches per Day", "values": [v for _, v in values]}],
	}


def per_day(start: date, end: datetime, filters: dict[str, str]) -> dict[date, int]:
	"""Punches per day from `start` (a day) to `end` (a moment), both included."""
	punch = frappe.qb.DocType(PUNCH)
	day = Date(punch.time)
	query = (
		frappe.qb.from_(punch)
		.select(day.as_("day"), Count("*").as_("punches"))
		.where(punch.time >= start)
		.where(punch.time <= end)
		.groupby(day)
	)
	for field, value in filters.items():
		query = query.where(punch[field] == value)
	return {getdate(row.day): row.punches for row in query.run(as_dict=True)}


def _filters(filters: Any) -> dict[str, str]:
	"""The chart's filters, as its filter dialog sends them ({field: value}) or as a Dashboard Chart stores
	them ([[doctype, field, "=", value], ...]); other fields and operators are refused."""
	filters = frappe.parse_json(filters) or {}
	if isinstance(filters, list):
		pairs = []
		for f in filters:
			if len(f) < 4 or f[2] != "=":
				frappe.throw(frappe._("Punches per Day filters on a value only: {0}").format(f))
			pairs.append((f[1], f[3]))
		filters = dict(pairs)
	unknown = set(filters) - set(FILTERS)
	if unknown:
		frappe.throw(frappe._("Punches per Day cannot filter on {0}").format(", ".join(sorted(unknown))))
	return {k: v for k, v in filters.items() if v}
