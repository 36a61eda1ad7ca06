// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

const ATTENDANCE_SYNC_API = "attendance_sync.attendance_sync.api";
const SYNC_HEALTH_COLORS = {
	Synced: "green",
	Stale: "orange",
	Failing: "red",
	"Never Synced": "gray",
	Disabled: "gray",
};
const MAX_WINDOW_DAYS = 31;

frappe.ui.form.on("Device Configuration", {
	setup(frm) {
		// One form object serves every Device Configuration, so the handlers check which device spoke.
		frappe.realtime.on("attendance_sync_progress", (data) => {
			if (frm.doc && data.device === frm.doc.name) show_sync_progress(frm, data);
		});
		frappe.realtime.on("attendance_sync_done", (data) => {
			if (frm.doc && data.device === frm.doc.name) show_sync_result(frm, data);
		});
	},

	refresh(frm) {
		if (frm.is_new()) return;
		const state = frm.doc.sync_health || (frm.doc.enabled ? "Never Synced" : "Disabled");
		frm.page.set_indicator(__(state), SYNC_HEALTH_COLORS[state] || "gray");

		if (frappe.user.has_role("System Manager")) {
			frm.add_custom_button(__("Fetch Check-in"), () => show_fetch_dialog(frm));
			frm.add_custom_button(__("Test Connection"), () => test_connection(frm));
		}
		frm.add_custom_button(
			__("Sync Logs"),
			() => frappe.set_route("List", "Attendance Sync Log", { device: frm.doc.name }),
			__("View")
		);
		frm.add_custom_button(
			__("Unmapped Punches"),
			() =>
				frappe.set_route("List", "Device Punch", { device: frm.doc.name, status: "Unmapped" }),
			__("View")
		);
		if (frm.doc.auth_blocked) {
			frm.dashboard.set_headline_alert(
				__(
					"The terminal rejected the last login. Scheduled syncs are paused until Device User, the password or the address is changed and saved, or Test Connection succeeds."
				),
				"red"
			);
		} else if (frm.doc.last_sync_status === "Failed" && frm.doc.last_error) {
			frm.dashboard.set_headline_alert(frappe.utils.escape_html(frm.doc.last_error), "red");
		}
	},
});

function show_fetch_dialog(frm) {
	const now = frappe.datetime.now_datetime();
	const dialog = new frappe.ui.Dialog({
		title: __("Fetch Check-in"),
		fields: [
			{
				fieldname: "from_time",
				fieldtype: "Datetime",
				label: __("From"),
				reqd: 1,
				default: frm.doc.synced_up_to || frappe.datetime.add_days(now, -1),
			},
			{
				fieldname: "to_time",
				fieldtype: "Datetime",
				label: __("To"),
				reqd: 1,
				default: now,
			},
			{
				fieldtype: "HTML",
				options: `<p class="text-muted small">${__(
					"At most {0} days per fetch. Events already stored are skipped; a window does not move Synced Up To backwards.",
					[MAX_WINDOW_DAYS]
				)}</p>`,
			},
		],
		primary_action_label: __("Fetch"),
		primary_action(values) {
			const start = frappe.datetime.str_to_obj(values.from_time);
			const end = frappe.datetime.str_to_obj(values.to_time);
			if (start >= end) {
				frappe.msgprint(__("From must be before To"));
				return;
			}
			if (end - start > MAX_WINDOW_DAYS * 24 * 3600 * 1000) {
				frappe.msgprint(__("The window is longer than {0} days; fetch it in parts", [MAX_WINDOW_DAYS]));
				return;
			}
			frappe
				.call({
					method: `${ATTENDANCE_SYNC_API}.fetch_checkins`,
					args: { device: frm.doc.name, from_time: values.from_time, to_time: values.to_time },
					freeze: true,
				})
				.then((r) => {
					if (!r.message || !r.message.queued) return;
					dialog.hide();
					frm._attendance_sync_waiting = true;
					frm.dashboard.show_progress(__("Fetch Check-in"), 1, __("Queued"));
					frappe.show_alert({ message: __("Fetch queued"), indicator: "blue" });
				});
		},
	});
	dialog.show();
}

function show_sync_progress(frm, data) {
	const title = __("Sync of {0}", [data.device]);
	if (data.stage === "fetch") {
		// The event count is unknown until the last page: grow towards half the bar.
		const percent = 50 * (1 - 1 / (1 + data.pages / 10));
		frm.dashboard.show_progress(
			title,
			percent,
			__("Fetching: {0} pages, {1} events", [data.pages, data.events])
		);
	} else if (data.stage === "checkins") {
		const percent = 50 + (50 * data.done) / Math.max(data.total, 1);
		frm.dashboard.show_progress(
			title,
			percent,
			__("Check-ins: {0} of {1} punches processed", [data.done, data.total])
		);
	}
}

function show_sync_result(frm, data) {
	frm.dashboard.hide_progress(__("Sync of {0}", [data.device]));
	frm.dashboard.hide_progress(__("Fetch Check-in"));
	const waiting = frm._attendance_sync_waiting;
	frm._attendance_sync_waiting = false;
	if (data.skipped) {
		frappe.show_alert({ message: data.message, indicator: "orange" });
		return;
	}
	frm.reload_doc();
	if (!waiting) {
		frappe.show_alert({
			message: __("Sync of {0}: {1}", [data.device, __(data.status)]),
			indicator: data.status === "Failed" ? "red" : "green",
		});
		return;
	}
	const rows = [
		[__("Events fetched"), data.fetched],
		[__("New punches"), data.new_punches],
		[__("Check-ins created"), data.checkins_created],
		[__("Duplicates"), data.duplicates],
		[__("Unmapped"), data.unmapped],
		[__("Inactive employee"), data.inactive],
		[__("Failed"), data.failed],
	]
		.map(([label, value]) => `<tr><td>${label}</td><td class="text-right">${cint(value)}</td></tr>`)
		.join("");
	const error = data.error ? `<p class="text-danger">${frappe.utils.escape_html(data.error)}</p>` : "";
	frappe.msgprint({
		title: __("Fetch Check-in: {0}", [__(data.status)]),
		indicator: { Success: "green", Partial: "orange", Failed: "red" }[data.status] || "blue",
		message: `${error}<table class="table table-bordered table-condensed">${rows}</table>
			<p>${frappe.utils.get_form_link("Attendance Sync Log", data.log, true)}</p>`,
	});
}

function test_connection(frm) {
	frappe
		.call({
			method: `${ATTENDANCE_SYNC_API}.test_connection`,
			args: { device: frm.doc.name },
			freeze: true,
			freeze_message: __("Contacting the terminal..."),
		})
		.then((r) => {
			const m = r.message;
			if (!m) return;
			if (!m.ok) {
				frappe.msgprint({
					title: __("Connection failed"),
					indicator: "red",
					message: `<p>${frappe.utils.escape_html(m.message || m.kind)}</p>
						<p><b>${__("What to check")}:</b> ${frappe.utils.escape_html(m.hint)}</p>`,
				});
				return;
			}
			const yes_no = (value) => (value ? __("Yes") : __("No"));
			const rows = [
				[__("Model"), m.model],
				[__("Firmware"), m.firmware],
				[__("Serial Number"), m.serial_number],
				[__("Device Clock"), m.device_time],
				[__("Clock Skew"), __("{0} s", [flt(m.clock_skew_seconds, 1)])],
				[__("Users on Device"), m.user_count],
				[__("Event Search Supported"), yes_no(m.supports_event_search)],
				[__("Search by Serial Number"), yes_no(m.supports_serial_search)],
			]
				.map(
					([label, value]) =>
						`<tr><td>${label}</td><td>${frappe.utils.escape_html(String(value ?? ""))}</td></tr>`
				)
				.join("");
			const skew_warning =
				Math.abs(m.clock_skew_seconds) > 120
					? `<p class="text-warning">${__(
							"The terminal's clock is off by more than two minutes: punches carry its time. Set NTP on the terminal."
					  )}</p>`
					: "";
			frappe.msgprint({
				title: __("Connection OK"),
				indicator: "green",
				message: `${skew_warning}<table class="table table-bordered table-condensed">${rows}</table>`,
			});
			frm.reload_doc();
		});
}
