# Copyright (c) 2025, Attendance Sync contributors
# See license.txt

import unittest

try:
	import frappe
except ImportError:  # outside a bench there is no site to test against
	raise unittest.SkipTest(
		"bench test: run with bench --site SITE run-tests --app attendance_sync"
	) from None

from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from frappe.utils import add_days, get_datetime, now_datetime

from attendance_sync.attendance_sync import common, jobs, realtime
from attendance_sync.attendance_sync.doctype.attendance_sync_log import attendance_sync_log
from attendance_sync.attendance_sync.doctype.attendance_sync_log.attendance_sync_log import AttendanceSyncLog
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.testing import AttendanceSyncTestCase
from attendance_sync.logic import counters, schedule
from attendance_sync.logic import punches as P
from attendance_sync.patches import rekey_device_punches


class TestAttendanceSyncLog(AttendanceSyncTestCase):
	def test_unreachable_device_leaves_a_failed_log_and_one_error_log(self):
		device = self.make_device(None)  # port 9 on loopback: nothing listens there
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Failed")
		log = frappe.get_doc(common.LOG, result["log"])
		self.assertEqual((log.status, log.trigger, log.device), ("Failed", "Scheduled", device))
		self.assertTrue(log.error)
		self.assertGreaterEqual(log.duration, 0)
		doc = frappe.get_doc(common.DEVICE, device)
		self.assertEqual((doc.last_sync_status, doc.auth_blocked), ("Failed", 0))
		self.assertIsNone(doc.synced_up_to)
		self.assertEqual(
			frappe.db.count("Error Log", {"reference_doctype": common.DEVICE, "reference_name": device}), 1
		)

	def test_interrupted_run_is_closed_by_the_next_one(self):
		device = self.make_device(None)
		stale = attendance_sync_log.start_log(device, jobs.SCHEDULED)
		frappe.db.commit()
		jobs.sync_device(device)
		self.assertEqual(frappe.db.get_value(common.LOG, stale.name, "status"), "Failed")

	def test_clear_old_logs_keeps_recent_and_running(self):
		device = self.make_device(None)
		old, running, recent = (attendance_sync_log.start_log(device, jobs.SCHEDULED) for _ in range(3))
		frappe.db.set_value(
			common.LOG,
			old.name,
			{"status": "Success", "modified": add_days(now_datetime(), -100)},
			update_modified=False,
		)
		frappe.db.set_value(
			common.LOG, running.name, "modified", add_days(now_datetime(), -100), update_modified=False
		)
		frappe.db.set_value(common.LOG, recent.name, "status", "Success")
		AttendanceSyncLog.clear_old_logs(days=90)
		self.assertFalse(frappe.db.exists(common.LOG, old.name))
		self.assertTrue(frappe.db.exists(common.LOG, running.name))
		self.assertTrue(frappe.db.exists(common.LOG, recent.name))


def record(sim, count: int) -> list[dict]:
	"""`count` events on the terminal, one a second, the last two seconds ago (inside the next run's window)."""
	first = datetime.now(timezone.utc) - timedelta(seconds=count + 1)
	return sim.add_events(count, step_secs=1, at=first.replace(microsecond=0))


class TestCounterResets(AttendanceSyncTestCase):
	"""A terminal's event counter restarts (factory reset, firmware upgrade) or another terminal is swapped in."""

	def synced_device(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		for device_id in self.punching_user_ids(device):
			self.make_employee(device_id)
		for _run in range(2):  # the second run searches by serial from the first one's anchor
			self.assertEqual(jobs.sync_device(device)["status"], "Success")
		last_serial = frappe.db.get_value(common.DEVICE, device, "last_serial_no")
		self.assertTrue(last_serial)
		return sim, device, last_serial

	def test_a_factory_reset_restarts_the_counter_and_no_new_punch_is_dropped(self):
		sim, device, _last = self.synced_device()
		stored = frappe.db.count(common.PUNCH, {"device": device})
		sim.reset_serial_counter(clear_log=True)
		recorded = record(sim, 5)
		self.assertEqual([e["serial_no"] for e in recorded], [1, 2, 3, 4, 5])

		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		self.assertEqual(result["new_punches"], 5, "serials 1-5 are new events, not repeats")
		self.assertEqual(frappe.db.count(common.PUNCH, {"device": device}), stored + 5)
		log = frappe.get_doc(common.LOG, result["log"])
		self.assertEqual(log.counter_reset, counters.RESTARTED)
		self.assertIn("restarted", log.counter_reset_details)
		self.assertEqual(
			frappe.db.get_value(common.DEVICE, device, "last_serial_no"), 5, "follows the counter"
		)
		self.assert_checkins_exactly_once(device)

		# The next run searches by serial again, from the new counter's anchor, and finds what is new.
		record(sim, 3)
		after = jobs.sync_device(device)
		self.assertEqual((after["status"], after["new_punches"]), ("Success", 3), after)
		log = frappe.get_doc(common.LOG, after["log"])
		self.assertFalse(log.counter_reset)
		self.assertEqual(log.serial_mode, 1)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_serial_no"), 8)

	def test_a_restarted_counter_that_passed_last_serial_loses_nothing(self):
		# A firmware upgrade restarts the counter and keeps the log; by the next sync the new counter has gone
		# past Last Serial No. A search by serial after it would return only the newest events.
		sim, device, last_serial = self.synced_device()
		sim.reset_serial_counter(clear_log=False)
		recorded = record(sim, last_serial + 3)
		self.assertEqual(recorded[-1]["serial_no"], last_serial + 3)
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		new = {e["serial_no"] for e in recorded}
		stored_new = {p.serial_no for p in self.punches(device, sync_log=result["log"])}
		self.assertEqual(stored_new, new, "every event after the restart is stored")
		self.assertEqual(result["new_punches"], len(recorded))
		self.assertEqual(frappe.get_doc(common.LOG, result["log"]).counter_reset, counters.RESTARTED)

	def test_a_restarted_counter_below_last_serial_with_its_log_kept_loses_nothing(self):
		# The counter restarts and the terminal keeps its log: Last Serial No's punch is still there at its time,
		# so the search by serial confirms it while the new events are numbered below it.
		self.assert_restart_below_last_serial_loses_nothing(old_after_anchor=0)

	def test_old_events_after_the_anchor_then_a_restart_with_the_log_kept_lose_nothing(self):
		# Two old events after the last run's anchor, then the restart: the search by serial returns the old
		# events above the anchor, the new ones sit below it.
		self.assert_restart_below_last_serial_loses_nothing(old_after_anchor=2)

	def assert_restart_below_last_serial_loses_nothing(self, old_after_anchor: int):
		sim, device, _last = self.synced_device()
		if old_after_anchor:  # before the restart: recorded before the new counter's first event
			earlier = datetime.now(timezone.utc) - timedelta(seconds=30)
			sim.add_events(old_after_anchor, step_secs=1, at=earlier.replace(microsecond=0))
		sim.reset_serial_counter(clear_log=False)
		new = record(sim, 3)
		self.assertEqual([e["serial_no"] for e in new], [1, 2, 3])
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		self.assertEqual(result["new_punches"], old_after_anchor + 3, "the new events below the cursor too")
		self.assertEqual(frappe.get_doc(common.LOG, result["log"]).counter_reset, counters.RESTARTED)
		self.assertEqual(
			frappe.db.get_value(common.DEVICE, device, "last_serial_no"), 3, "follows the new counter"
		)

		# The next runs search by serial from the new counter's anchor; the old log above it is not news.
		record(sim, 2)
		after = jobs.sync_device(device)
		self.assertEqual((after["status"], after["new_punches"]), ("Success", 2), after)
		log = frappe.get_doc(common.LOG, after["log"])
		self.assertEqual((log.counter_reset or None, log.serial_mode), (None, 1))
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_serial_no"), 5)
		idle = jobs.sync_device(device)
		self.assertEqual((idle["status"], idle["new_punches"]), ("Success", 0), idle)
		self.assertFalse(frappe.get_doc(common.LOG, idle["log"]).counter_reset)
		self.assert_checkins_exactly_once(device)

	def test_a_replaced_terminal_is_logged_and_its_events_stored(self):
		sim, device, _last = self.synced_device()
		sim.set_serial_number("DSK1T341CMFW20990101V999999ENFH0000001")
		sim.reset_serial_counter(clear_log=True)
		record(sim, 4)
		result = jobs.sync_device(device)
		self.assertEqual((result["status"], result["new_punches"]), ("Success", 4), result)
		log = frappe.get_doc(common.LOG, result["log"])
		self.assertEqual(log.counter_reset, counters.REPLACED)
		self.assertIn("DSK1T341CMFW20990101V999999ENFH0000001", log.counter_reset_details)
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "last_serial_no"), 4)

	def test_the_patch_moves_rows_keyed_by_serial_alone_to_the_new_key(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim)
		result = jobs.sync_device(device)
		self.assertEqual(result["status"], "Success", result)
		rows = self.punches(device)
		serial_rows = [r for r in rows if r.serial_no is not None]
		self.assertTrue(serial_rows)
		# Rewrite them as the previous version stored them: key `s:<serial>`, name from that key.
		for r in serial_rows:
			old_key = f"s:{r.serial_no}"
			frappe.db.sql(
				"update `tabDevice Punch` set name = %s, event_key = %s where name = %s",
				(P.punch_name(device, old_key), old_key, r.name),
			)
		frappe.db.commit()
		rekey_device_punches.execute()
		frappe.db.commit()
		self.assertEqual(sorted(p.name for p in self.punches(device)), sorted(r.name for r in rows))
		self.assertFalse(frappe.db.has_index("tabDevice Punch", rekey_device_punches.OLD_UNIQUE))
		# A re-fetch finds every row under its key: nothing new.
		again = jobs.sync_device(device, jobs.MANUAL, str(add_days(now_datetime(), -2)), str(now_datetime()))
		self.assertEqual((again["status"], again["new_punches"]), ("Success", 0), again)


class TestShiftTypeCursorHolds(AttendanceSyncTestCase):
	def test_failed_punches_hold_their_shift_types_cursor_until_reprocessed(self):
		# Two terminals feed one shift. Geolocation tracking is on and one of them has no coordinates, so its
		# punches fail HRMS validation: auto attendance must not mark those people absent.
		sim_a, sim_b = self.start_simulator(2)
		shift = self.make_shift_type()
		feeds = [{"shift_type": shift}]
		a = self.make_device(sim_a, latitude=23.78, longitude=90.41, shift_types=feeds)
		b = self.make_device(sim_b, shift_types=feeds)
		users = sorted(set(self.punching_user_ids(a)) | set(self.punching_user_ids(b)))
		for device_id in users[1:]:
			self.make_employee(device_id, default_shift=shift)
		# users[0] has no Employee: its punches stay Unmapped and hold nothing.
		self.set_single_value("HR Settings", "allow_geolocation_tracking", 1)

		self.assertEqual(jobs.sync_device(a)["status"], "Success")
		partial = jobs.sync_device(b)
		self.assertEqual(partial["status"], "Partial", partial)
		failed = self.punches(b, status=P.FAILED)
		self.assertTrue(failed)
		earliest = min(get_datetime(p.time) for p in failed)
		cursor = frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin")
		self.assertEqual(get_datetime(cursor), earliest - timedelta(seconds=1))

		log = frappe.get_doc(common.LOG, partial["log"])
		self.assertIn(shift, log.cursor_held_by)
		self.assertEqual(log.held_punches, len(failed))
		unmapped = frappe.db.count(common.PUNCH, {"device": b, "status": P.UNMAPPED})
		self.assertEqual(log.open_unmapped, unmapped)
		# Health says what is wrong instead of a green Synced with an empty Last Error.
		health, message, last_error = frappe.db.get_value(
			common.DEVICE, b, ["sync_health", "health_message", "last_error"]
		)
		self.assertEqual(health, schedule.ATTENTION)
		self.assertIn("could not become", message)
		self.assertIn(shift, message)
		self.assertIn("atitude", last_error)

		# Fixed (coordinates on the device) and reprocessed: the cursor follows the devices again, whatever
		# Unmapped punches remain.
		frappe.db.set_value(common.DEVICE, b, {"latitude": 23.78, "longitude": 90.41})
		frappe.db.commit()
		result = device_punch.reprocess(names=[p.name for p in failed])
		self.assertEqual(result["failed"], 0, result)
		self.assertEqual(result["checkins_created"] + result["duplicates"], len(failed), result)
		synced = [get_datetime(frappe.db.get_value(common.DEVICE, d, "synced_up_to")) for d in (a, b)]
		self.assertEqual(
			get_datetime(frappe.db.get_value("Shift Type", shift, "last_sync_of_checkin")), min(synced)
		)
		self.assertEqual(frappe.db.get_value(common.DEVICE, b, "sync_health"), schedule.SYNCED)
		self.assertFalse(frappe.get_doc(common.LOG, result["log"]).cursor_held_by)


class TestProgress(AttendanceSyncTestCase):
	def test_one_bar_from_queued_to_done_with_worded_counts(self):
		(sim,) = self.start_simulator(1, days=1, events_per_day=8)
		device = self.make_device(sim)
		sent = []
		with patch.object(
			frappe, "publish_realtime", lambda event, message, **kw: sent.append((event, message))
		):
			result = jobs.sync_device(
				device, jobs.MANUAL, str(add_days(now_datetime(), -2)), str(now_datetime())
			)
		self.assertEqual(result["status"], "Success", result)
		progress = [m for e, m in sent if e == realtime.PROGRESS_EVENT]
		done = [m for e, m in sent if e == realtime.DONE_EVENT]
		self.assertEqual(progress[0]["stage"], "started", "the run takes the Queued bar over at once")
		titles = {m["title"] for m in progress + done}
		self.assertEqual(titles, {f"Sync of {device}"}, "one bar")
		fetch = [m for m in progress if m["stage"] == "fetch"]
		self.assertTrue(fetch)
		self.assertEqual(fetch[0]["pages"], 1)
		self.assertIn("1 page,", fetch[0]["description"])
		self.assertNotIn("1 pages", " ".join(m["description"] for m in progress))
		self.assertTrue(all(0 <= m["percent"] <= 100 for m in progress))
