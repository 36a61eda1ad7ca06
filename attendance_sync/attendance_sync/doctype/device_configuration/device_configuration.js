// Copyright (c) 2025, Attendance Sync contributors
// For license information, please see license.txt

const DEVICE_METHODS = "attendance_sync.attendance_sync.doctype.device_configuration.device_configuration";

frappe.ui.form.on("Device Configuration", {
	setup(frm) {
		turn_off_password_strength(frm);
		// One form object serves every Device Configuration, so the handlers check which device spoke.
		frappe.realtime.on("attendance_sync_progress", (data) => {
			if (frm.doc && data.device === frm.doc.name) show_sync_progress(frm, data);
		});
		frappe.realtime.on("attendance_sync_done", (data) => {
			if (frm.doc && data.device === frm.doc.name) show_sync_result(frm, data);
		});
	},

	refresh(frm) {
		turn_off_password_strength(frm);
		if (frm.is_new()) return;
		const state = sync_health(frm.doc);
		frm.page.set_indicator(__(state), sync_health_color(state));

		if (frappe.user.has_role("System Manager")) {
			frm.add_custom_button(__("Fetch Check-in"), () => show_fetch_dialog(frm));
			frm.add_custom_button(__("Test Connection"), () => test_connection(frm));
			add_push_buttons(frm);
		}
		frm.add_custom_button(
			__("Sync Logs"),
			() => frappe.set_route("List", "Attendance Sync Log", { device: frm.doc.name }),
			__("View")
		);
		frm.add_custom_button(
			__("Failed Punches"),
			() => frappe.set_route("List", "Device Punch", { device: frm.doc.name, status: "Failed" }),
			__("View")
		);
		frm.add_custom_button(
			__("Unmapped Punches"),
			() =>
				frappe.set_route("List", "Device Punch", { device: frm.doc.name, status: "Unmapped" }),
			__("View")
		);
		show_health_alert(frm);
	},

	after_save(frm) {
		// Saving runs the health check on the server (on_update) after the saved document was read back, and a
		// changed Device User or password clears Login Rejected there: read the device again so that Sync
		// Health, its banner and Health Details show the result of this save, not the state before it.
		frm.reload_doc();
	},
});

function sync_health(doc) {
	return doc.sync_health || (doc.enabled ? "Never Synced" : "Disabled");
}

function sync_health_color(state) {
	// The colours come from the server (logic/schedule.py HEALTH_COLORS, in the desk's boot); a state without one
	// still stands out rather than passing for healthy.
	return (frappe.boot.attendance_sync_health_colors || {})[state] || "orange";
}

function turn_off_password_strength(frm) {
	// Frappe's Password control rates what is typed as if it were a login password of this site ("Include
	// symbols, numbers and capital letters") and sends it to the server to be scored. A terminal's password is
	// whatever the terminal has; the rating means nothing here, so switch it off with the control's own switch.
	for (const field of frm.fields || []) {
		if (field.df && field.df.fieldtype === "Password" && field.disable_password_checks) {
			field.disable_password_checks();
		}
	}
}

function punch_list_link(device, status, label) {
	const query = $.param({ device: device, status: status });
	const list = frappe.router.make_url([frappe.router.slug("Device Punch")]);
	return `<a href="${list}?${query}">${label}</a>`;
}

function log_link(frm) {
	return frm.doc.last_sync_log
		? frappe.utils.get_form_link(
				"Attendance Sync Log",
				frm.doc.last_sync_log,
				true,
				__("Last Sync Log")
		  )
		: "";
}

function show_health_alert(frm) {
	// Sync Health and Health Details are written by the server (maintenance.refresh_health) after every run, every
	// 15 minutes and after a Test Connection; this only shows them, with the links that resolve them.
	const doc = frm.doc;
	const state = sync_health(doc);
	const as_html = (text) => frappe.utils.escape_html(text).replace(/\n+/g, "<br>");
	const details = doc.health_message ? as_html(doc.health_message) : "";
	// The headline outlives a refresh, and one form object serves every device.
	frm.dashboard.clear_headline();
	if (doc.auth_blocked) {
		frm.dashboard.set_headline_alert(
			`${__(
				"The terminal rejected the last login. Scheduled syncs, Fetch Check-in and Test Connection leave it alone (terminals lock the account after about five failed logins) until Device User or the password is changed and saved."
			)} ${log_link(frm)}`,
			"red"
		);
		return;
	}
	if (state === "Failing") {
		const error = details || (doc.last_error ? as_html(doc.last_error) : __("The last sync failed."));
		frm.dashboard.set_headline_alert(`${error} ${log_link(frm)}`, "red");
		return;
	}
	if (["Synced", "Never Synced", "Disabled"].includes(state) && !details) return;
	const parts = [
		details ||
			(state === "Stale"
				? __("The device has missed its Sync Frequency.")
				: __(
						"Some punches did not become check-ins; auto attendance waits for them before it marks anyone absent."
				  )),
	];
	if (state === "Needs Attention") {
		parts.push(punch_list_link(doc.name, "Failed", __("Failed Punches")));
	}
	parts.push(log_link(frm));
	frm.dashboard.set_headline_alert(
		parts.filter(Boolean).join(" "),
		state === "Synced" ? "blue" : sync_health_color(state)
	);
}

function show_fetch_dialog(frm) {
	frappe
		.call({
			method: `${DEVICE_METHODS}.fetch_window_defaults`,
			args: { device: frm.doc.name },
		})
		.then((r) => r.message && make_fetch_dialog(frm, r.message));
}

function make_fetch_dialog(frm, defaults) {
	const max_days = defaults.max_days;
	const dialog = new frappe.ui.Dialog({
		title: __("Fetch Check-in"),
		fields: [
			{
				fieldname: "from_time",
				fieldtype: "Datetime",
				label: __("From"),
				reqd: 1,
				default: defaults.from_time,
			},
			{
				fieldname: "to_time",
				fieldtype: "Datetime",
				label: __("To"),
				reqd: 1,
				default: defaults.to_time,
			},
			{
				fieldtype: "HTML",
				options: `<p class="text-muted small">${__(
					"At most {0} days per fetch. Events already stored are skipped; a window does not move Synced Up To backwards.",
					[max_days]
				)}</p>`,
			},
			{
				fieldname: "bulk",
				fieldtype: "Check",
				label: __("Bulk insert (large backfills)"),
				default: 0,
				description: __(
					"Creates the same check-ins many times faster, without other apps' hooks, scripts or notifications on Employee Checkin (skipped automatically where any is set). Runs above Bulk Insert Above in Attendance Sync Settings use it anyway."
				),
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
			if (end - start > max_days * 24 * 3600 * 1000) {
				frappe.msgprint(__("The window is longer than {0} days; fetch it in parts", [max_days]));
				return;
			}
			frappe
				.call({
					method: `${DEVICE_METHODS}.fetch_checkins`,
					args: {
						device: frm.doc.name,
						from_time: values.from_time,
						to_time: values.to_time,
						bulk: values.bulk ? 1 : 0,
					},
					freeze: true,
				})
				.then((r) => {
					if (!r.message || !r.message.queued) return;
					dialog.hide();
					frm._attendance_sync_waiting = true;
					// The run's own progress replaces this bar (same title); the result closes it.
					frm.dashboard.show_progress(
						sync_progress_title(frm.doc.name),
						1,
						__("Queued: waiting for a background worker")
					);
				});
		},
	});
	dialog.show();
}

function sync_progress_title(device) {
	return __("Sync of {0}", [device]);
}

function hide_sync_progress(frm, device) {
	// FormDashboard.hide_progress(title) fails on a title it is not showing (a run started by the scheduler,
	// or a page reloaded while a fetch was queued), so ask only for a bar that is there.
	const title = sync_progress_title(device);
	const bars = frm.dashboard._progress_map || {};
	if (bars[title]) frm.dashboard.hide_progress(title);
	if (!Object.keys(frm.dashboard._progress_map || {}).length) frm.dashboard.progress_area.hide();
}

function show_sync_progress(frm, data) {
	// The server sets the percent and words the bar ("1 page", "2 pages"; jobs.Progress). One bar per device:
	// the one Fetch Check-in showed as Queued, taken over by the run's first message and closed by its result.
	frm.dashboard.show_progress(sync_progress_title(data.device), flt(data.percent), data.description || "");
}

function show_sync_result(frm, data) {
	hide_sync_progress(frm, data.device);
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
			indicator: { Success: "green", Partial: "orange", Failed: "red" }[data.status] || "blue",
		});
		return;
	}
	fetch_summary_extra(data).then((extra) => show_fetch_summary(data, extra));
}

function fetch_summary_extra(data) {
	// The run reports its counts; where the events that are not new punches went is read from its log (window,
	// unreadable records) and from the punches of that window stored before it. On any failure the summary
	// goes without that split.
	if (!data.log) return Promise.resolve({});
	return frappe.db
		.get_value("Attendance Sync Log", data.log, ["window_start", "window_end", "unreadable_records"])
		.then((r) => {
			const log = (r && r.message) || {};
			if (!log.window_start || !log.window_end) return {};
			return frappe.db
				.count("Device Punch", {
					filters: {
						device: data.device,
						time: ["between", [log.window_start, log.window_end]],
						sync_log: ["!=", data.log],
					},
				})
				.then((stored) => ({ stored: cint(stored), unreadable: cint(log.unreadable_records) }));
		})
		.catch(() => ({}));
}

function show_fetch_summary(data, extra) {
	const device = data.device;
	const row = (label, value, link) =>
		`<tr><td>${label}${link ? ` <span class="small">${link}</span>` : ""}</td><td class="text-right">${cint(
			value
		)}</td></tr>`;
	const list = (status) => punch_list_link(device, status, __("Show them"));
	const fetched = cint(data.fetched);
	const known = extra.stored !== undefined;
	const stored = known ? Math.min(extra.stored, Math.max(fetched - cint(data.new_punches), 0)) : 0;
	const unreadable = cint(extra.unreadable);
	const others = known ? Math.max(fetched - cint(data.new_punches) - stored - unreadable, 0) : 0;
	const events = [
		row(__("Events read from the terminal"), fetched),
		row(__("New punches stored"), data.new_punches),
		stored && row(__("Punches already stored by an earlier sync or a push"), stored),
		others &&
			row(__("Door events that are not punches (door opened, alarms and the like): not needed"), others),
		unreadable && row(__("Records the terminal sent that could not be read: skipped"), unreadable),
	];
	const outcomes = [
		row(__("Check-ins created"), data.checkins_created),
		cint(data.duplicates) &&
			row(
				__("Already checked in at that time (the same punch from another device, or a double punch)"),
				data.duplicates,
				list("Duplicate")
			),
	];
	const for_hr = [
		cint(data.unmapped) &&
			row(__("No Employee has their Device User ID (Unmapped)"), data.unmapped, list("Unmapped")),
		cint(data.inactive) &&
			row(__("The Employee is Inactive"), data.inactive, list("Inactive Employee")),
		cint(data.failed) &&
			row(__("Could not become check-ins (Failed): the list says why"), data.failed, list("Failed")),
	].filter(Boolean);
	const table = (title, rows) =>
		`<p class="text-muted small" style="margin-bottom: 4px">${title}</p>
		<table class="table table-bordered table-condensed">${rows.filter(Boolean).join("")}</table>`;
	let verdict = "";
	if (!data.error) {
		if (for_hr.length) {
			verdict = __("Some punches need HR: see the last table.");
		} else if (cint(data.checkins_created)) {
			verdict = __("Every punch is accounted for.");
		} else {
			verdict = __("Nothing new to check in: every punch of this window is already stored or checked in.");
		}
	}
	// The server sends a message written for people (errors.describe_error); Python's own text of an
	// unexpected error is only in the Error Log.
	const error = data.error
		? `<p class="text-danger">${frappe.utils.escape_html(data.error).replace(/\n/g, "<br>")}</p>`
		: "";
	frappe.msgprint({
		title: __("Fetch Check-in: {0}", [__(data.status)]),
		indicator: { Success: "green", Partial: "orange", Failed: "red" }[data.status] || "blue",
		message: `${error}${verdict ? `<p>${verdict}</p>` : ""}
			${table(__("What the terminal sent"), events)}
			${table(__("What became of the punches"), outcomes)}
			${for_hr.length ? table(__("Needs HR"), for_hr) : ""}
			${data.log ? `<p>${frappe.utils.get_form_link("Attendance Sync Log", data.log, true)}</p>` : ""}`,
	});
}

function test_connection(frm) {
	frappe
		.call({
			method: `${DEVICE_METHODS}.test_connection`,
			args: { device: frm.doc.name },
			freeze: true,
			freeze_message: __("Contacting the terminal..."),
		})
		.then((r) => {
			const m = r.message;
			if (!m) return;
			if (!m.ok) {
				frappe.msgprint({
					title: m.blocked ? __("Login Rejected") : __("Connection failed"),
					indicator: "red",
					message: `<p>${frappe.utils.escape_html(m.message || m.kind)}</p>
						<p><b>${__("What to check")}:</b> ${frappe.utils.escape_html(m.hint)}</p>`,
				});
				// A rejected login is now recorded on the device (Login Rejected, Last Error, health).
				if (m.blocked) frm.reload_doc();
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

// Push (docs/push.md): the terminal POSTs each event to the site. The server makes the token and returns it once;
// the site keeps only its hash, so this dialog is the only place it is ever shown.
const PUSH_METHODS = "attendance_sync.attendance_sync.doctype.device_configuration.push_setup";

function add_push_buttons(frm) {
	const group = __("Push");
	if (!frm.doc.push_token_prefix) {
		frm.add_custom_button(__("Enable Push"), () => confirm_enable_push(frm), group);
		return;
	}
	frm.add_custom_button(
		__("Rotate Token"),
		() =>
			frappe.confirm(
				__("The current push address stops working at once; a terminal still using it is refused until it is given the new one. Make a new address?"),
				() => push_token_call(frm, "rotate_token")
			),
		group
	);
	frm.add_custom_button(
		__("Disable Push"),
		() =>
			frappe.confirm(
				__("The push address stops working (the terminal's punches are refused from now on) and Sync Mode goes back to Pull: the site asks the terminal on its Sync Frequency. Disable push?"),
				() => disable_push(frm)
			),
		group
	);
}

function confirm_enable_push(frm) {
	// Enable Push can rewrite where the terminal sends its events, so it asks first, as Disable Push does.
	const dialog = new frappe.ui.Dialog({
		title: __("Enable Push"),
		fields: [
			{
				fieldtype: "HTML",
				options: `<p>${__(
					"The terminal will send each punch to this site as it happens. A new push address (with its secret key) is made; it is shown once, in the next window."
				)}</p>`,
			},
			{
				fieldname: "write_to_terminal",
				fieldtype: "Check",
				label: __("Set this address on the terminal now"),
				default: 1,
				description: __(
					"The site logs in to the terminal and replaces its HTTP listening host (where it sends events) with this site. Untick it to get the values to type on the terminal's web page yourself, for example when the terminal already sends its events elsewhere."
				),
			},
		],
		primary_action_label: __("Enable Push"),
		primary_action(values) {
			dialog.hide();
			push_token_call(frm, "enable_push", values.write_to_terminal ? 1 : 0);
		},
	});
	dialog.show();
}

function push_token_call(frm, method, write_to_terminal = 1) {
	frappe
		.call({
			method: `${PUSH_METHODS}.${method}`,
			args: { device: frm.doc.name, write_to_terminal },
			freeze: true,
			freeze_message: __("Contacting the terminal..."),
		})
		.then((r) => {
			frm.reload_doc();
			if (r.message) show_push_token(r.message);
		});
}

function show_push_token(m) {
	const esc = (value) => frappe.utils.escape_html(String(value ?? ""));
	const rows = [
		[__("Protocol"), m.protocol],
		[__("Address Type"), m.addressing === "hostname" ? __("Domain Name") : __("IP Address")],
		[__("Address"), m.address],
		[__("Port"), m.port],
		[__("URL"), m.path],
		[__("Parameter Format"), "JSON"],
		[__("Authentication"), __("None (the key in the URL is the credential)")],
	]
		.map(([label, value]) => `<tr><td>${label}</td><td><code>${esc(value)}</code></td></tr>`)
		.join("");
	const status = m.written
		? `<p class="text-success">${__("The address is set on the terminal: it sends its punches to this site from now on.")}</p>`
		: `${m.error ? `<p class="text-warning">${__("The site could not set the address on the terminal")}: ${esc(m.error)}</p>` : ""}
			<p>${__("Type these values into the terminal's web page (Network, Advanced Settings, HTTP Listening), then save there:")}</p>`;
	const dialog = new frappe.ui.Dialog({
		title: __("Push URL (shown once)"),
		fields: [
			{
				fieldtype: "HTML",
				options: `${status}
					<table class="table table-bordered table-condensed">${rows}</table>
					<p>${__("Full address (for the Attendance Sync relay, or to check):")}</p>
					<pre style="white-space: pre-wrap; word-break: break-all">${esc(m.url)}</pre>
					<p class="text-muted small">${__("The site keeps only a fingerprint of the key (it starts with {0}). Copy the address now: it cannot be shown again (Rotate Token makes a new one).", [`<code>${esc(m.prefix)}</code>`])}</p>`,
			},
		],
		primary_action_label: __("Copy URL"),
		primary_action() {
			frappe.utils.copy_to_clipboard(m.url);
		},
	});
	dialog.show();
}

function disable_push(frm) {
	frappe
		.call({
			method: `${PUSH_METHODS}.disable_push`,
			args: { device: frm.doc.name },
			freeze: true,
			freeze_message: __("Contacting the terminal..."),
		})
		.then((r) => {
			frm.reload_doc();
			const m = r.message || {};
			let message = __("Push disabled: the push address no longer works and Sync Mode is Pull.");
			if (m.cleared) message += " " + __("The address was removed from the terminal.");
			else if (m.error)
				message +=
					" " +
					__("The address could not be removed from the terminal ({0}): remove it on the terminal's web page (HTTP Listening).", [
						frappe.utils.escape_html(m.error),
					]);
			else if (!m.was_written)
				message += " " + __("Remove the address on the terminal's web page (HTTP Listening) as well.");
			frappe.msgprint({ title: __("Disable Push"), indicator: m.error ? "orange" : "green", message });
		});
}
