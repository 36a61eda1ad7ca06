"""The fleet at a glance: alerts (one notification per incident of a device's health and one when it syncs again,
to System Managers and the role and users of Attendance Sync Settings), Last Contact, the workspace's cards."""

from dataclasses import replace
from datetime import timedelta

import frappe
from frappe.desk.doctype.number_card.number_card import get_result
from frappe.utils import now_datetime

from attendance_sync.attendance_sync import common, jobs, maintenance
from attendance_sync.attendance_sync.doctype.device_configuration import device_configuration
from attendance_sync.attendance_sync.doctype.device_punch import device_punch
from attendance_sync.attendance_sync.testing import SIM_PASSWORD, AttendanceSyncTestCase, punch_row
from attendance_sync.logic import alerts
from attendance_sync.logic import punches as P

# The workspace's cards that count documents, with a device or punch each test adds to their count.
DOCUMENT_CARDS = ("Devices Needing Attention", "Stale Devices", "Punches Today", "Failed Check-ins")


class TestFleetGlance(AttendanceSyncTestCase):
	def subjects(self, device: str, user: str = "Administrator") -> list[str]:
		return frappe.get_all(
			"Notification Log",
			filters={"document_type": common.DEVICE, "document_name": device, "for_user": user},
			pluck="subject",
			order_by="creation",
		)

	def test_a_rejected_login_is_told_once_and_its_fix_once(self):
		(sim,) = self.start_simulator()
		device = self.make_device(sim, password="not-the-password")
		self.assertEqual(jobs.sync_device(device)["status"], "Failed")
		# The health checks every 15 minutes and after every run tell nobody twice.
		maintenance.refresh_health(device)
		maintenance.refresh_health(device)
		frappe.db.commit()
		self.run_worker("short")
		rejected = f"Attendance device {device}: Login Rejected"
		self.assertEqual(self.subjects(device), [rejected])
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "alerted_health"), alerts.LOGIN_REJECTED)
		self.assertIsNotNone(
			frappe.db.get_value(common.DEVICE, device, "last_contact"), "a refusal is an answer"
		)

		doc = frappe.get_doc(common.DEVICE, device)
		doc.device_user_password = SIM_PASSWORD
		doc.save()
		frappe.db.commit()
		self.assertEqual(jobs.sync_device(device)["status"], "Success")
		maintenance.refresh_health(device)
		frappe.db.commit()
		self.run_worker("short")
		self.assertEqual(self.subjects(device), [rejected, f"Attendance device {device} is syncing again"])
		self.assertFalse(frappe.db.get_value(common.DEVICE, device, "alerted_health"))

	def test_a_stale_device_is_told_once_and_a_form_save_keeps_what_was_told(self):
		device = self.make_device(None)
		frappe.db.set_value(
			common.DEVICE,
			device,
			{
				"last_sync_status": "Success",
				"synced_up_to": now_datetime() - timedelta(days=3),
			},
		)
		form = frappe.get_doc(common.DEVICE, device)  # opened before the health check
		maintenance.refresh_health(device)
		frappe.db.commit()
		self.run_worker("short")
		self.assertEqual(self.subjects(device), [f"Attendance device {device}: Stale"])
		form.sync_frequency = "Daily"
		form.save()
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "alerted_health"), "Stale")
		maintenance.refresh_health(device)
		frappe.db.commit()
		self.run_worker("short")
		self.assertEqual(len(self.subjects(device)), 1, "the save did not make the incident new")

	def test_an_unreachable_terminal_is_a_stale_incident_once_its_news_is_old(self):
		device = self.make_device(None)
		now = now_datetime()
		frappe.db.set_value(
			common.DEVICE,
			device,
			{
				"last_sync_status": "Failed",
				"last_error": "timed out",
				"synced_up_to": now - timedelta(hours=20),
			},
		)
		maintenance.refresh_health(device)
		self.assertFalse(
			frappe.db.get_value(common.DEVICE, device, "alerted_health"), "one failed run says little"
		)
		frappe.db.set_value(common.DEVICE, device, "synced_up_to", now - timedelta(days=3))
		maintenance.refresh_health(device)
		frappe.db.commit()
		self.run_worker("short")
		self.assertEqual(frappe.db.get_value(common.DEVICE, device, "sync_health"), "Failing")
		self.assertEqual(self.subjects(device), [f"Attendance device {device}: Stale"])

	def test_recipients_are_system_managers_the_role_and_the_listed_users(self):
		by_role, listed, neither = (
			self.make_user("Auditor"),
			self.make_user("Employee"),
			self.make_user("Employee"),
		)
		manager = self.make_user("System Manager")
		disabled = self.make_user("System Manager")
		frappe.db.set_value("User", disabled, "enabled", 0)
		settings = frappe.get_doc(common.SETTINGS)
		# Saved, never committed: the cached Settings must not outlive the rollback.
		self.addCleanup(frappe.clear_document_cache, common.SETTINGS, common.SETTINGS)
		self.addCleanup(frappe.db.rollback)
		settings.alert_role = "Auditor"
		settings.append("alert_users", {"user": listed})
		settings.save()
		recipients = maintenance.alert_recipients()
		for user in ("Administrator", manager, by_role, listed):
			self.assertIn(frappe.db.get_value("User", user, "email"), recipients, user)
		for user in (neither, disabled):
			self.assertNotIn(frappe.db.get_value("User", user, "email"), recipients, user)

	def card(self, name: str) -> int:
		"""A document card's count, as its widget asks for it (the card's own filters)."""
		doc = frappe.get_doc("Number Card", name)
		return get_result(doc.as_dict(), frappe.parse_json(doc.filters_json))

	def test_each_document_card_counts_what_it_names(self):
		before = {name: self.card(name) for name in DOCUMENT_CARDS}
		attention, stale = self.make_device(None), self.make_device(None)
		frappe.db.set_value(common.DEVICE, attention, "sync_health", "Needs Attention")
		frappe.db.set_value(common.DEVICE, stale, "sync_health", "Stale")
		failed = replace(
			punch_row(attention, 1, "GL-1", now_datetime().replace(microsecond=0)),
			status=P.FAILED,
			reason="a test",
		)
		device_punch.store_punches([failed], None)
		after = {name: self.card(name) for name in DOCUMENT_CARDS}
		self.assertEqual(
			{name: after[name] - before[name] for name in DOCUMENT_CARDS}, dict.fromkeys(DOCUMENT_CARDS, 1)
		)

	def test_not_heard_from_counts_enabled_devices_silent_past_the_setting(self):
		before = device_configuration.not_heard_from()["value"]
		silent, recent, disabled = self.make_device(None), self.make_device(None), self.make_device(None)
		self.make_device(None)  # never answered: not heard from either, as its list shows it
		now = now_datetime()
		frappe.db.set_value(common.DEVICE, silent, "last_contact", now - timedelta(minutes=61))
		frappe.db.set_value(common.DEVICE, recent, "last_contact", now - timedelta(minutes=59))
		frappe.db.set_value(common.DEVICE, disabled, {"last_contact": now - timedelta(days=2), "enabled": 0})
		card = device_configuration.not_heard_from()
		self.assertEqual(card["value"] - before, 2)
		listed = frappe.get_list(common.DEVICE, filters=card["route_options"], pluck="name")
		self.assertEqual(len(listed), card["value"], "the list the card opens shows what it counts")
		self.set_single_value(common.SETTINGS, "not_heard_from_minutes", 30)
		self.assertEqual(device_configuration.not_heard_from()["value"] - before, 3)

	def test_unmapped_users_card_counts_each_id_once(self):
		before = device_punch.unmapped_users()["value"]
		device = self.make_device(None)
		at = now_datetime().replace(microsecond=0)
		rows = [
			punch_row(device, 1, "GL-U1", at),
			punch_row(device, 2, "GL-U1", at + timedelta(minutes=1)),
			punch_row(device, 3, "GL-U2", at),
		]
		device_punch.store_punches([replace(row, status=P.UNMAPPED) for row in rows], None)
		self.assertEqual(device_punch.unmapped_users()["value"] - before, 2)
		self.assertEqual(device_punch.unmapped_users()["route_options"], {"status": P.UNMAPPED})

	def test_cards_refuse_whom_their_lists_refuse(self):
		frappe.set_user(self.make_user("Employee"))
		for card in (device_configuration.not_heard_from, device_punch.unmapped_users):
			with self.assertRaises(frappe.PermissionError):
				card()
		# HR Managers read Device Punch, not Device Configuration.
		frappe.set_user(self.make_user("HR Manager"))
		self.assertEqual(device_punch.unmapped_users()["fieldtype"], "Int")
		with self.assertRaises(frappe.PermissionError):
			device_configuration.not_heard_from()

	def test_an_outgoing_email_account_mails_the_incident_too(self):
		account = frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": f"_Test Alerts {frappe.generate_hash(length=6)}",
				"email_id": "alerts@example.com",
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"no_smtp_authentication": 1,
			}
		).insert(ignore_permissions=True)
		self.addCleanup(self.delete_email_account, account.name)
		device = self.make_device(None)
		frappe.db.set_value(common.DEVICE, device, {"last_sync_status": "Failed", "auth_blocked": 1})
		maintenance.refresh_health(device)
		frappe.db.commit()
		self.run_worker("short")
		mails = frappe.get_all(
			"Email Queue",
			filters={"reference_doctype": common.DEVICE, "reference_name": device},
			pluck="name",
		)
		self.assertEqual(len(mails), 1, "one email to every recipient")
		to = frappe.get_all("Email Queue Recipient", filters={"parent": mails[0]}, pluck="recipient")
		# Frappe leaves Administrator's placeholder address out of mails; the other recipients are there.
		self.assertTrue(to, "the mail has recipients")
		self.assertLessEqual(set(to), set(maintenance.alert_recipients()))

	def delete_email_account(self, name: str) -> None:
		frappe.db.rollback()
		for mail in frappe.get_all("Email Queue", filters={"reference_doctype": common.DEVICE}, pluck="name"):
			frappe.db.delete("Email Queue Recipient", {"parent": mail})
			frappe.db.delete("Email Queue", {"name": mail})
		frappe.delete_doc("Email Account", name, ignore_permissions=True, force=True)
		frappe.db.commit()
