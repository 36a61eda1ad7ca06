// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.ui.form.on("Attendance Sync Settings", {
	refresh(frm) {
		frm.add_custom_button(__("Sync All Devices Now"), () =>
			frappe
				.call({ method: "attendance_sync.attendance_sync.doctype.attendance_sync_settings.attendance_sync_settings.sync_all_devices", freeze: true })
				.then((r) =>
					frappe.show_alert({
						message: __("{0} device jobs queued", [(r.message || []).length]),
						indicator: "blue",
					})
				)
		);
	},
});
