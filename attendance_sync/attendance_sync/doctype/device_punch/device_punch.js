// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.ui.form.on("Device Punch", {
	refresh(frm) {
		const can_reprocess = ["Duplicate", "Unmapped", "Inactive Employee", "Failed"].includes(frm.doc.status);
		if (can_reprocess && frappe.user.has_role("System Manager")) {
			frm.add_custom_button(__("Reprocess"), () =>
				frappe
					.call({
						method: "attendance_sync.attendance_sync.api.reprocess_punches",
						args: { names: [frm.doc.name] },
						freeze: true,
					})
					.then(() => frappe.show_alert({ message: __("Queued for reprocessing"), indicator: "blue" }))
			);
		}
		if (frm.doc.status === "Unmapped" && frm.doc.device_user_id && frappe.model.can_write("Employee")) {
			frm.add_custom_button(__("Map to Employee"), () => map_to_employee(frm));
		}
	},
});

function map_to_employee(frm) {
	frappe.prompt(
		[
			{
				fieldname: "employee",
				fieldtype: "Link",
				options: "Employee",
				label: __("Employee"),
				reqd: 1,
				description: __("Attendance Device ID of this Employee becomes {0}", [frm.doc.device_user_id]),
			},
		],
		(values) =>
			// Saving the Employee triggers the reprocessing of every Unmapped punch of this ID.
			frappe.db
				.set_value("Employee", values.employee, "attendance_device_id", frm.doc.device_user_id)
				.then(() => {
					frappe.show_alert({ message: __("Mapped; the punches are being reprocessed"), indicator: "green" });
					setTimeout(() => frm.reload_doc(), 2000);
				}),
		__("Map to Employee"),
		__("Map")
	);
}
