# Copyright (c) 2026, Attendance Sync contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DeviceReaderDirection(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		door_no: DF.Int
		log_type: DF.Literal["IN", "OUT"]
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		reader_no: DF.Int
	# end: auto-generated types

	pass
