// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.ui.form.on("Device Punch", {
	refresh(frm) {
		const can_reprocess = ["Duplicate", "Unmapped", "Inactive Employee", "Failed"].includes(frm.doc.status);
		if (can_reprocess && frappe.user.has_role("System Manager")) {
			frm.add_custom_button(__("Reprocess"), () =>
				frappe
					.call({
						method: "attendance_sync.attendance_sync.doctype.device_punch.device_punch.reprocess_punches",
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

// A whitelisted method of Map to Employee (mapping.py beside the controller; a function: a form script may be
// evaluated again).
function mapping_method(name) {
	return `attendance_sync.attendance_sync.doctype.device_punch.mapping.${name}`;
}

// The Employee picked gets this punch's device user ID as Attendance Device ID; Employees without one are
// offered first, and replacing an Employee's ID is confirmed first, with what it changes.
function map_to_employee(frm) {
	const device_user_id = frm.doc.device_user_id;
	const dialog = new frappe.ui.Dialog({
		title: __("Map to Employee"),
		fields: [
			{
				fieldname: "employee",
				fieldtype: "Link",
				options: "Employee",
				label: __("Employee"),
				reqd: 1,
				get_query: () => ({ query: mapping_method("employees_for_mapping") }),
				description: __(
					"Employees without an Attendance Device ID come first. The Employee's Attendance Device ID becomes {0}.",
					[frappe.utils.escape_html(device_user_id).bold()]
				),
			},
		],
		primary_action_label: __("Map"),
		primary_action: ({ employee }) =>
			frappe
				.call({ method: mapping_method("mapping_preview"), args: { device_user_id, employee } })
				.then(({ message: preview }) => {
					if (preview.held_by) {
						frappe.msgprint({
							title: __("Map to Employee"),
							indicator: "orange",
							message: __("Device user ID {0} is already the Attendance Device ID of Employee {1}.", [
								frappe.utils.escape_html(preview.device_user_id).bold(),
								frappe.utils.escape_html(preview.held_by).bold(),
							]),
						});
					} else if (preview.current_id && preview.current_id !== preview.device_user_id) {
						frappe.confirm(mapping_replace_message(preview), () =>
							save_device_user_mapping(frm, dialog, preview, preview.current_id)
						);
					} else {
						save_device_user_mapping(frm, dialog, preview, null);
					}
				}),
	});
	dialog.show();
}

function mapping_replace_message(preview) {
	const esc = (value) => frappe.utils.escape_html(String(value)).bold();
	const employee = esc(preview.employee_name ? `${preview.employee_name} (${preview.employee})` : preview.employee);
	return [
		__("Employee {0} already has Attendance Device ID {1}. Replace it with {2}?", [
			employee,
			esc(preview.current_id),
			esc(preview.device_user_id),
		]),
		`<ul>
			<li>${__("{0} Unmapped punches of device user ID {1} become check-ins of this Employee.", [
				esc(cint(preview.unmapped_punches)),
				esc(preview.device_user_id),
			])}</li>
			<li>${__(
				"{0} punches of device user ID {1} are this Employee's so far; they keep their check-ins, and later punches of {1} stay Unmapped.",
				[esc(cint(preview.current_id_punches)), esc(preview.current_id)]
			)}</li>
		</ul>`,
	].join("");
}

function save_device_user_mapping(frm, dialog, preview, replace_id) {
	// Saving the Employee queues the reprocessing of every Unmapped punch of this ID.
	frappe
		.call({
			method: mapping_method("map_to_employee"),
			args: { device_user_id: preview.device_user_id, employee: preview.employee, replace_id },
			freeze: true,
		})
		.then(({ message: result }) => {
			dialog.hide();
			frappe.show_alert({
				message: __("{0} is mapped to {1}; its {2} Unmapped punches are being reprocessed", [
					frappe.utils.escape_html(result.device_user_id),
					frappe.utils.escape_html(result.employee),
					cint(result.unmapped_punches),
				]),
				indicator: "green",
			});
			setTimeout(() => frm.reload_doc(), 2000);
		});
}
