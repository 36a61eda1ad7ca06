// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.listview_settings["Device Configuration"] = {
	add_fields: ["sync_health", "enabled", "port", "use_https"],
	// Device Name is the title (the first column): no second column repeating it as the ID.
	hide_name_column: true,
	formatters: {
		device_ip(value, df, doc) {
			// The port the site uses: Port, else the default of the protocol.
			const host = value && value.includes(":") ? `[${value}]` : value || "";
			const port = cint(doc.port) || (cint(doc.use_https) ? 443 : 80);
			return `<span class="ellipsis">${frappe.utils.escape_html(`${host}:${port}`)}</span>`;
		},
	},
	get_indicator(doc) {
		// Health is computed on the server (every 15 minutes and after each run) and stored in sync_health; its
		// colours are the server's (logic/schedule.py HEALTH_COLORS, in the desk's boot), as on the form.
		const colors = frappe.boot.attendance_sync_health_colors || {};
		const state = doc.sync_health || (doc.enabled ? "Never Synced" : "Disabled");
		// A state without a colour still stands out rather than passing for healthy.
		return [__(state), colors[state] || "orange", `sync_health,=,${state}`];
	},
};
