# Copyright (c) 2026, Attendance Sync contributors
# See license.txt
"""Punch Direction "By Reader": the reader a person used says IN or OUT, on pulled and pushed punches alike, and
a Reprocess works the direction out again under the device's map of the day."""

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

import dataclasses
import json
from datetime import timedelta
from typing import Any

from frappe.utils import now_datetime

from attendance_sync.attendance_sync import common, jobs
from attendance_sync.attendance_sync.doctype.device_configuration.test_push import PushCase, notification
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.testing import punch_row
from attendance_sync.logic import punches as P
from attendance_sync.logic.timezones import site_naive_to_aware
from attendance_sync.patches import keep_terminal_directions

ENTRY_AND_EXIT = [
	{"door_no": 1, "reader_no": 1, "log_type": "IN"},
	{"door_no": 1, "reader_no": 2, "log_type": "OUT"},
]


class TestReaderDirections(PushCase):
	def by_reader(self, device: str, rows: list[dict]) -> None:
		doc = frappe.get_doc(common.DEVICE, device)
		doc.punch_direction = P.BY_READER
		doc.set("reader_directions", rows)
		doc.save(ignore_permissions=True)
		frappe.db.commit()

	def punch_of(self, device: str, serial: int) -> dict:
		frappe.db.rollback()
		return frappe.db.get_value(
			common.PUNCH,
			{"device": device, "serial_no": serial},
			["door_no", "reader_no", "device_log_type", "log_type", "status", "employee_checkin"],
			as_dict=True,
		)

	def checkin_log_type(self, punch: dict) -> str | None:
		return frappe.db.get_value("Employee Checkin", punch["employee_checkin"], "log_type") or None

	def test_by_reader_needs_its_readers_each_once(self):
		device = self.make_device()
		refused = {
			"Add the entry and exit readers": [],
			"listed twice": [*ENTRY_AND_EXIT, {"door_no": 1, "reader_no": 2, "log_type": "IN"}],
			"Row 1": [{"door_no": 1, "reader_no": 0, "log_type": "IN"}],
		}
		for message, rows in refused.items():
			with self.assertRaisesRegex(frappe.ValidationError, message):
				self.by_reader(device, rows)
		self.by_reader(device, ENTRY_AND_EXIT)
		self.assertEqual(len(frappe.get_doc(common.DEVICE, device).reader_directions), 2)

	def test_pulled_punches_take_the_direction_of_their_reader(self):
		(sim,) = self.start_simulator(days=1, events_per_day=2)
		device = self.make_device(sim)
		self.by_reader(device, [*ENTRY_AND_EXIT, {"door_no": 0, "reader_no": 3, "log_type": "IN"}])
		user = self.device_user_ids(device)[0]
		self.make_employee(user)
		# The exit reader decides over the key pressed; an unlisted reader keeps the terminal's key; a row for
		# any door holds at door 2. A minute apart, inside the run's window.
		first = now_datetime() - timedelta(minutes=30)
		minutes = iter(range(5))

		def punch(**where: Any) -> dict:
			at = site_naive_to_aware(first + timedelta(minutes=next(minutes)), common.site_time_zone())
			return sim.add_events(employee_no=user, at=at, **where)[0]

		exit_with_in_key = punch(reader=2, attendance_status="checkIn")
		entry = punch(reader=1)
		unlisted = punch(door=2, reader=1, attendance_status="breakOut")
		unlisted_no_key = punch(door=2, reader=2)
		any_door = punch(door=2, reader=3, attendance_status="overtimeOut")
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		expected = {
			exit_with_in_key["serial_no"]: ((1, 2, "IN"), "OUT"),
			entry["serial_no"]: ((1, 1, None), "IN"),
			unlisted["serial_no"]: ((2, 1, "OUT"), "OUT"),
			unlisted_no_key["serial_no"]: ((2, 2, None), None),
			any_door["serial_no"]: ((2, 3, "OUT"), "IN"),
		}
		for serial, (terminal_said, log_type) in expected.items():
			punch = self.punch_of(device, serial)
			self.assertEqual(
				(punch["door_no"], punch["reader_no"], punch["device_log_type"] or None), terminal_said, punch
			)
			self.assertEqual(punch["status"], P.CHECKED_IN, punch)
			self.assertEqual((punch["log_type"] or None, self.checkin_log_type(punch)), (log_type, log_type))

	def test_pushed_punches_take_the_direction_of_their_reader(self):
		device, token = self.push_device()
		self.by_reader(device, ENTRY_AND_EXIT)
		self.make_employee("9001")
		# 504 as the captured firmware pushes: the reader without the door.
		pushed = {
			501: (2, "checkIn", {"doorNo": 1}),
			502: (1, "undefined", {"doorNo": 1}),
			503: (4, "checkOut", {"doorNo": 1}),
			504: (2, "undefined", {}),
		}
		for serial, (reader, key, door) in pushed.items():
			body = notification(serial, cardReaderNo=reader, attendanceStatus=key, **door)
			status, answer, _headers = self.post(token, json.dumps(body).encode())
			self.assertEqual(status, 200, answer)
		self.run_worker("short")
		got = {s: self.punch_of(device, s) for s in pushed}
		expected = {501: "OUT", 502: "IN", 503: "OUT", 504: "OUT"}
		self.assertEqual({s: p["log_type"] for s, p in got.items()}, expected)
		self.assertEqual(
			{s: (p["door_no"], p["reader_no"]) for s, p in got.items()},
			{501: (1, 2), 502: (1, 1), 503: (1, 4), 504: (0, 2)},
		)
		self.assertEqual({s: self.checkin_log_type(p) for s, p in got.items()}, expected)

	def test_reprocess_works_the_direction_out_again_and_leaves_check_ins_alone(self):
		device, token = self.push_device()
		self.make_employee("9001")
		# Stored under "From device": no key pressed, no direction. 9002 is nobody yet (Unmapped).
		for serial, user in ((601, "9001"), (602, "9002")):
			body = notification(serial, employee=user, doorNo=1, cardReaderNo=2)
			status, answer, _headers = self.post(token, json.dumps(body).encode())
			self.assertEqual(status, 200, answer)
		self.run_worker("short")
		self.assertEqual(self.punch_of(device, 601)["status"], P.CHECKED_IN)
		self.assertEqual(
			(self.punch_of(device, 602)["status"], self.punch_of(device, 602)["log_type"]), (P.UNMAPPED, None)
		)
		# HR maps the readers, then gives 9002 an Employee. Whichever job sends 602 back to Pending first (here
		# the push job of the next punch, before the Reprocess the Employee queued) reads the new map.
		self.by_reader(device, ENTRY_AND_EXIT)
		self.assertIsNone(
			self.punch_of(device, 602)["log_type"], "stored punches keep theirs until reprocessed"
		)
		self.make_employee("9002")
		status, answer, _headers = self.post(token, json.dumps(notification(603)).encode())
		self.assertEqual(status, 200, answer)
		self.run_worker("short")
		self.assertEqual(self.punch_of(device, 602)["status"], P.CHECKED_IN, "the push job took it up")
		self.run_worker("long")
		reprocessed = self.punch_of(device, 602)
		self.assertEqual((reprocessed["status"], reprocessed["log_type"]), (P.CHECKED_IN, "OUT"))
		self.assertEqual(self.checkin_log_type(reprocessed), "OUT")
		# A punch that already was a check-in is not rewritten, nor is its check-in.
		kept = self.punch_of(device, 601)
		self.assertEqual((kept["log_type"], self.checkin_log_type(kept)), (None, None))

	def test_punches_stored_before_keep_the_terminals_direction_where_the_device_took_it(self):
		from_device = self.make_device()
		always_in = self.make_device(punch_direction="IN")
		rows = [
			punch_row(from_device, 1, "9001", now_datetime().replace(microsecond=0)),
			punch_row(always_in, 1, "9001", now_datetime().replace(microsecond=0)),
		]
		device_punch.store_punches([dataclasses.replace(r, log_type="OUT") for r in rows], None)
		keep_terminal_directions.execute()
		stored = dict(
			frappe.get_all(
				common.PUNCH,
				filters={"name": ["in", [r.name for r in rows]]},
				fields=["device", "device_log_type"],
				as_list=True,
			)
		)
		# What an "IN" device's terminal said was never kept: it stays unknown.
		self.assertEqual(stored, {from_device: "OUT", always_in: None})
