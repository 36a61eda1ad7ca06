// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.listview_settings["Attendance Sync Log"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		const color = { Running: "blue", Success: "green", Partial: "orange", Failed: "red" }[doc.status];
		return [__(doc.status), color || "gray", `status,=,${doc.status}`];
	},
};
