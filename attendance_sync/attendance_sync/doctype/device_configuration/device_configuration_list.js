// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

frappe.listview_settings["Device Configuration"] = {
	add_fields: ["sync_health", "enabled"],
	get_indicator(doc) {
		// Health is computed on the server (every 15 minutes and after each run) and stored in sync_health; the
		// form uses the same colours.
		const colors = {
			Synced: "green",
			"Needs Attention": "orange",
			Stale: "orange",
			Failing: "red",
			"Never Synced": "gray",
			Disabled: "gray",
		};
		const state = doc.sync_health || (doc.enabled ? "Never Synced" : "Disabled");
		// A state added on the server later still stands out rather than passing for healthy.
		return [__(state), colors[state] || "orange", `sync_health,=,${state}`];
	},
};
