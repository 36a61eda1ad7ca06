# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import json
from datetime import timedelta

from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as frappe_chart
from frappe.utils import now_datetime

from attendance_sync.attendance_sync import common
from attendance_sync.attendance_sync.doctype.device_punch import device_punch, punch_charts
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase, punch_row

CHART = "Punches per Day"


class TestPunchCharts(AttendanceSyncTestCase):
	def frappes_count_chart(self, timespan: str, timegrain: str, filters: list) -> dict:
		"""What the chart showed as Frappe's Count chart on Time (before issue 20)."""
		chart = {
			"name": CHART,
			"chart_type": "Count",
			"document_type": common.PUNCH,
			"based_on": "time",
			"type": "Bar",
			"timeseries": 1,
			"timespan": timespan,
			"time_interval": timegrain,
			"filters_json": json.dumps(filters),
		}
		return frappe_chart(chart=json.dumps(chart), no_cache=1)

	def test_punches_per_day_answers_as_frappes_count_chart(self):
		devices = [self.make_device(None), self.make_device(None)]
		now = now_datetime().replace(microsecond=0)
		rows = [
			punch_row(devices[n % 2], n, "1", now - timedelta(days=n % 100, hours=n % 7, seconds=n))
			for n in range(1, 400)
		]
		# At the edges: the first second of the first day a month back, and just now.
		rows.append(
			punch_row(devices[0], 900, "1", now.replace(hour=0, minute=0, second=0) - timedelta(days=31))
		)
		rows.append(punch_row(devices[1], 901, "1", now))
		device_punch.store_punches(rows, None)
		for timespan in ("Last Week", "Last Month", "Last Quarter", "Last Year"):
			for timegrain in ("Daily", "Weekly", "Monthly"):
				for filters, theirs in (
					({}, []),
					({"device": devices[0]}, [[common.PUNCH, "device", "=", devices[0], False]]),
				):
					with self.subTest(timespan=timespan, timegrain=timegrain, filters=filters):
						ours = punch_charts.punches_per_day(
							chart_name=CHART,
							filters=json.dumps(filters),
							timespan=timespan,
							time_interval=timegrain,
						)
						self.assertEqual(ours, self.frappes_count_chart(timespan, timegrain, theirs))
		self.assertTrue(any(punch_charts.punches_per_day(chart_name=CHART)["datasets"][0]["values"]))

	def test_the_chart_is_drawn_by_the_source(self):
		chart = frappe.get_doc("Dashboard Chart", CHART)
		self.assertEqual((chart.chart_type, chart.source), ("Custom", CHART))
		self.assertTrue(frappe.db.exists("Dashboard Chart Source", CHART))

	def test_other_filters_are_refused(self):
		with self.assertRaises(frappe.ValidationError):
			punch_charts.punches_per_day(chart_name=CHART, filters=json.dumps({"employee": "x"}))
		with self.assertRaises(frappe.ValidationError):
			punch_charts.punches_per_day(
				chart_name=CHART, filters=json.dumps([[common.PUNCH, "time", ">", "2026-01-01"]])
			)
