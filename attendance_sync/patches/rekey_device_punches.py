"""Device Punches keyed by serial alone get the key of serial and wall-clock time; their names follow the key.

Before, a punch with a serial was keyed `s:<serial>` under a unique index on (device, serial_no), so after a
terminal's counter restarted every new event whose serial had been used before was dropped as a repeat. The key
is now `s:<serial>@<wall clock>` (see `punches.serial_event_key`): this patch moves the stored rows to it, so a
re-fetch of an old event still finds its row, and drops the unique index on the serial alone.
"""

import frappe

from attendance_sync.attendance_sync.common import on_postgres
from attendance_sync.attendance_sync.doctype.device_punch.device_punch import on_doctype_update
from attendance_sync.logic import punches as P

OLD_UNIQUE = "unique_device_serial_no"
CHUNK = 5000


def execute() -> None:
	drop_serial_unique()
	last = ""
	while True:
		rows = frappe.db.sql(
			"""select name, device, serial_no, event_key, device_time from `tabDevice Punch`
			where name > %s and serial_no is not null and event_key like 's:%%' and event_key not like '%%@%%'
			order by name limit %s""",
			(last, CHUNK),
			as_dict=True,
		)
		if not rows:
			break
		for row in rows:
			rekey(row)
		last = rows[-1].name
		# A transaction may hold only so many writes.
		frappe.db.commit()
	on_doctype_update()


def rekey(row: dict) -> None:
	key = P.migrated_event_key(int(row["serial_no"]), row["device_time"])
	name = P.punch_name(row["device"], key)
	if frappe.db.exists("Device Punch", name):
		# The same event was stored again under its new key (a run between the upgrade and this patch): the
		# check-in step keeps them to one check-in, and the old row stays as it is.
		return
	frappe.db.sql(
		"update `tabDevice Punch` set name = %s, event_key = %s where name = %s", (name, key, row["name"])
	)


def drop_serial_unique() -> None:
	if on_postgres():
		frappe.db.sql_ddl(f'alter table "tabDevice Punch" drop constraint if exists {OLD_UNIQUE}')
	elif frappe.db.has_index("tabDevice Punch", OLD_UNIQUE):
		frappe.db.sql_ddl(f"alter table `tabDevice Punch` drop index `{OLD_UNIQUE}`")
