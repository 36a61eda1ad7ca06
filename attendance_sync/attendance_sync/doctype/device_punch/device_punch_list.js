// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.listview_settings["Device Punch"] = {
	add_fields: ["status", "device_user_id", "name_on_device", "reason"],
	// The name is a hash; without its column the list keeps room for Time (the first field in the doctype).
	hide_name_column: true,
	// Opens on what needs attention: punches of device users no Employee is mapped to.
	filters: [["status", "=", "Unmapped"]],
	formatters: {
		// The first column (the title, Device User ID) is the widest: it carries the name on the device too,
		// which leaves Time a column wide enough for the whole date and time.
		device_user_id(value, df, doc) {
			return [value || __("No Device User ID"), doc.name_on_device].filter(Boolean).join(" · ");
		},
	},
	get_indicator(doc) {
		const colors = {
			Pending: "blue",
			"Checked In": "green",
			Duplicate: "gray",
			Unmapped: "orange",
			"Inactive Employee": "yellow",
			Failed: "red",
		};
		return [__(doc.status), colors[doc.status] || "gray", `status,=,${doc.status}`];
	},
	onload(listview) {
		listview.page.add_inner_button(__("Unmapped by Device User"), () => show_unmapped_users(listview));
		if (!frappe.user.has_role("System Manager")) return;
		listview.page.add_actions_menu_item(__("Reprocess"), () => {
			const names = listview.get_checked_items(true);
			if (!names.length) {
				frappe.msgprint(__("Select the punches to reprocess"));
				return;
			}
			frappe
				.call({
					method: "attendance_sync.attendance_sync.doctype.device_punch.device_punch.reprocess_punches",
					args: { names },
					freeze: true,
				})
				.then((r) => {
					const m = r.message || {};
					frappe.show_alert({
						message: __("{0} punches queued for reprocessing, {1} already checked in or pending", [
							m.queued,
							m.ignored,
						]),
						indicator: "blue",
					});
				});
		});
		frappe.realtime.on("attendance_sync_done", (data) => {
			if (data.trigger !== "Reprocess") return;
			listview.refresh();
			frappe.show_alert({
				message: __("Reprocessed: {0} check-ins created, {1} still unmapped, {2} failed", [
					cint(data.checkins_created),
					cint(data.unmapped),
					cint(data.failed),
				]),
				indicator: data.failed ? "orange" : "green",
			});
		});
	},
};

function show_unmapped_users(listview) {
	frappe.call("attendance_sync.attendance_sync.doctype.device_punch.device_punch.unmapped_device_users").then((r) => {
		const rows = r.message || [];
		if (!rows.length) {
			frappe.msgprint(__("No unmapped punches"));
			return;
		}
		const esc = frappe.utils.escape_html;
		const body = rows
			.map(
				(row) => `<tr>
					<td><a class="unmapped-user" data-id="${esc(row.device_user_id || "")}">${esc(
					row.device_user_id || __("(none)")
				)}</a></td>
					<td>${esc(row.name_on_device || "")}</td>
					<td class="text-right">${cint(row.punches)}</td>
					<td>${frappe.datetime.str_to_user(row.first_seen)}</td>
					<td>${frappe.datetime.str_to_user(row.last_seen)}</td>
				</tr>`
			)
			.join("");
		const dialog = new frappe.ui.Dialog({
			title: __("Unmapped Punches by Device User"),
			size: "large",
			fields: [{ fieldname: "table", fieldtype: "HTML" }],
		});
		dialog.fields_dict.table.$wrapper.html(`
			<p class="text-muted small">${__(
				"Set the Device User ID as Attendance Device ID on the Employee: the punches then become check-ins."
			)}</p>
			<table class="table table-bordered table-condensed">
				<thead><tr><th>${__("Device User ID")}</th><th>${__("Name on Device")}</th>
				<th>${__("Punches")}</th><th>${__("First Seen")}</th><th>${__("Last Seen")}</th></tr></thead>
				<tbody>${body}</tbody>
			</table>`);
		dialog.$wrapper.on("click", ".unmapped-user", function () {
			const id = $(this).attr("data-id");
			dialog.hide();
			listview.filter_area.clear(false).then(() =>
				listview.filter_area.add([
					["Device Punch", "status", "=", "Unmapped"],
					["Device Punch", "device_user_id", "=", id],
				])
			);
		});
		dialog.show();
	});
}
