# Copyright (c) 2025, Attendance Sync contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DeviceShiftType(Document):
	pass
