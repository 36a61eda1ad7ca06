// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.ui.form.on("Attendance Sync Log", {
	refresh(frm) {
		// A log is the record of a run, written by the run only: nothing on it to save.
		frm.disable_save();
		frm.page.set_indicator(__(frm.doc.status), attendance_sync_log_color(frm.doc.status));
		frm.add_custom_button(__("Punches of this Run"), () =>
			frappe.set_route("List", "Device Punch", { sync_log: frm.doc.name })
		);
	},
});

function attendance_sync_log_color(status) {
	return { Running: "blue", Success: "green", Partial: "orange", Failed: "red" }[status] || "gray";
}
