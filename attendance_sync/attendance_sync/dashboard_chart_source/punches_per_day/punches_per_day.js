frappe.provide("frappe.dashboards.chart_sources");

// Device Punches counted per day in the database (doctype/device_punch/punch_charts.py).
frappe.dashboards.chart_sources["Punches per Day"] = {
	method: "attendance_sync.attendance_sync.doctype.device_punch.punch_charts.punches_per_day",
	filters: [
		{
			fieldname: "device",
			label: __("Device"),
			fieldtype: "Link",
			options: "Device Configuration",
		},
		{
			fieldname: "status",
			label: __("Status"),
			fieldtype: "Select",
			options: [
				"",
				"Pending",
				"Checked In",
				"Duplicate",
				"Unmapped",
				"Inactive Employee",
				"Failed",
				"Unreadable",
			],
		},
	],
};
