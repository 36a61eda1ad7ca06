// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.listview_settings["Attendance Sync Log"] = {
	add_fields: ["status", "device", "trigger", "fetched", "unmapped", "inactive", "failed"],
	get_indicator(doc) {
		const color = { Running: "blue", Success: "green", Partial: "orange", Failed: "red" }[doc.status];
		return [__(doc.status), color || "gray", `status,=,${doc.status}`];
	},
	formatters: {
		// The first column (the log's number otherwise) names the run: its device and what started it. A
		// Reprocess belongs to no one device.
		name(value, df, doc) {
			return doc.device
				? `${doc.device} · ${__(doc.trigger)}`
				: `${__(doc.trigger || "Reprocess")} · ${__("any device")}`;
		},
		// Check-ins created, then what waits for HR when there is any.
		checkins_created(value, df, doc) {
			const waiting = [
				[doc.unmapped, __("unmapped")],
				[doc.inactive, __("inactive")],
				[doc.failed, __("failed")],
			]
				.filter(([count]) => cint(count))
				.map(([count, label]) => `${cint(count)} ${label}`);
			const text = [String(cint(value)), ...waiting].join(", ");
			const title = __("{0} check-ins created from {1} events read", [cint(value), cint(doc.fetched)]);
			return `<span class="ellipsis ${waiting.length ? "text-warning" : ""}" title="${frappe.utils.escape_html(
				title
			)}">${frappe.utils.escape_html(text)}</span>`;
		},
	},
};
