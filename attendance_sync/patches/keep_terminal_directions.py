"""Device Punches stored before Direction on Terminal was kept get it from their Log Type, where their device took
Log Type from the terminal (Punch Direction "From device"). A Reprocess works Log Type out again from Direction on
Terminal and the reader; without this, such a punch reprocessed under "From device" would lose its direction.
Rows of devices with a fixed direction keep an unknown terminal direction: what the terminal said was not kept.
"""

import frappe


def execute() -> None:
	frappe.db.sql(
		"""update `tabDevice Punch` set device_log_type = log_type
		where device_log_type is null and log_type in ('IN', 'OUT')
		and device in (select name from `tabDevice Configuration` where punch_direction = 'From device')"""
	)
