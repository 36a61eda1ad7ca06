"""The Frappe app's files agree with each other: doctype JSON, controllers, hooks, JS and the plain modules.

These run without a bench, so a field renamed in one place and not another fails here, not on a customer's site.
"""

import ast
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from attendance_sync import hooks
from attendance_sync.logic import counters as C
from attendance_sync.logic import punches as P
from attendance_sync.logic import schedule as S
from attendance_sync.logic.settings import DEFAULTS
from attendance_sync.logic.timezones import TIME_ZONE_HANDLING

APP = Path(__file__).resolve().parent.parent / "attendance_sync"
MODULE = APP / "attendance_sync"
DOCTYPES = MODULE / "doctype"
EXTERNAL_DOCTYPES = {"Employee", "Employee Checkin", "Role", "Shift Type", "User"}
FIELDTYPES = {
	"Check",
	"Column Break",
	"Data",
	"Datetime",
	"Float",
	"Int",
	"Link",
	"Long Int",
	"Long Text",
	"Password",
	"Section Break",
	"Select",
	"Small Text",
	"Table",
	"Table MultiSelect",
}


def load(name: str) -> dict:
	folder = name.lower().replace(" ", "_")
	return json.loads((DOCTYPES / folder / f"{folder}.json").read_text())


def all_doctypes() -> dict[str, dict]:
	result = {}
	for path in sorted(DOCTYPES.glob("*/*.json")):
		doc = json.loads(path.read_text())
		result[doc["name"]] = doc
	return result


def fields(name: str) -> dict[str, dict]:
	return {f["fieldname"]: f for f in load(name)["fields"]}


def options(name: str, fieldname: str) -> list[str]:
	return fields(name)[fieldname]["options"].split("\n")


def test_expected_doctypes():
	assert set(all_doctypes()) == {
		"Device Configuration",
		"Device Shift Type",
		"Device Reader Direction",
		"Device User ID Holder",
		"Device Punch",
		"Attendance Sync Log",
		"Attendance Sync Settings",
		"Attendance Sync Punch Code",
		"Attendance Sync Alert User",
	}


@pytest.mark.parametrize("name", sorted(all_doctypes()))
def test_doctype_json_is_well_formed(name):
	doc = all_doctypes()[name]
	folder = DOCTYPES / name.lower().replace(" ", "_")
	assert doc["doctype"] == "DocType"
	assert doc["module"] == "Attendance Sync"
	assert doc["engine"] == "InnoDB"
	names = [f["fieldname"] for f in doc["fields"]]
	assert len(names) == len(set(names))
	assert doc["field_order"] == names
	known = set(all_doctypes()) | EXTERNAL_DOCTYPES
	for f in doc["fields"]:
		assert f["fieldtype"] in FIELDTYPES, f
		assert re.fullmatch(r"[a-z][a-z0-9_]*", f["fieldname"]), f
		if f["fieldtype"] in ("Link", "Table", "Table MultiSelect"):
			assert f["options"] in known, f
		if f["fieldtype"] in ("Table", "Table MultiSelect"):
			assert all_doctypes()[f["options"]].get("istable") == 1
		if f["fieldtype"] == "Select" and "default" in f:
			assert f["default"] in f["options"].split("\n"), f
	assert (folder / "__init__.py").exists()
	controller = (folder / f"{folder.name}.py").read_text()
	assert f"class {name.replace(' ', '')}(Document):" in controller
	if not doc.get("istable"):
		roles = {p["role"]: p for p in doc["permissions"]}
		assert roles["System Manager"]["read"] == 1
		assert set(roles) <= {"System Manager", "HR Manager"}
		assert not roles.get("HR Manager", {}).get("write")
	else:
		assert doc["permissions"] == []


def test_naming():
	assert load("Device Configuration")["autoname"] == "field:device_name"
	assert fields("Device Configuration")["device_name"]["unique"] == 1
	assert load("Device Punch")["autoname"] == "hash"
	assert load("Attendance Sync Settings")["issingle"] == 1


def test_hr_manager_reads_punches_and_logs_only():
	for name in ("Device Punch", "Attendance Sync Log"):
		assert {p["role"] for p in load(name)["permissions"]} == {"System Manager", "HR Manager"}
	for name in ("Device Configuration", "Attendance Sync Settings"):
		assert {p["role"] for p in load(name)["permissions"]} == {"System Manager"}


def test_password_field_is_a_password():
	assert fields("Device Configuration")["device_user_password"]["fieldtype"] == "Password"


def test_status_fields_are_read_only():
	f = fields("Device Configuration")
	for name in (
		"synced_up_to",
		"last_serial_no",
		"last_sync_at",
		"last_sync_status",
		"last_error",
		"auth_blocked",
	):
		assert f[name].get("read_only") == 1, name
	assert all(
		x.get("read_only") == 1 for x in load("Device Punch")["fields"] if "Break" not in x["fieldtype"]
	)


def test_select_options_match_the_plain_modules():
	assert options("Device Punch", "status") == list(P.STATUSES)
	assert options("Device Configuration", "punch_direction") == list(P.PUNCH_DIRECTIONS)
	assert options("Device Configuration", "sync_frequency") == list(S.FREQUENCIES)
	assert fields("Device Configuration")["sync_frequency"]["default"] == S.DEFAULT_FREQUENCY
	assert options("Device Configuration", "sync_health")[1:] == list(S.HEALTH_STATES)
	assert options("Attendance Sync Log", "trigger") == ["Scheduled", "Manual", "Reprocess"]
	assert options("Attendance Sync Log", "status") == ["Running", "Success", "Partial", "Failed"]
	assert options("Attendance Sync Log", "counter_reset") == ["", *C.COUNTER_RESETS]
	assert options("Device Configuration", "time_zone_handling") == list(TIME_ZONE_HANDLING)


def test_every_health_state_has_one_color_the_scripts_read_from_the_server():
	assert set(S.HEALTH_COLORS) == set(S.HEALTH_STATES)
	assert hooks.boot_session.rsplit(".", 1)[1] == "boot_session"
	folder = DOCTYPES / "device_configuration"
	for script in ("device_configuration.js", "device_configuration_list.js"):
		text = (folder / script).read_text()
		assert "frappe.boot.attendance_sync_health_colors" in text, script
		assert not re.search(r'Synced"?:\s*"green"', text), f"{script} keeps a copy of the colour table"


def test_fields_written_by_the_job_exist():
	punch = fields("Device Punch")
	for name in (*P.PunchRow.FIELDS[1:], "sync_log", "employee", "employee_checkin"):
		assert name in punch, name
	assert punch["serial_no"]["fieldtype"] == "Long Int"  # serials reach 3e9, past INT
	device = fields("Device Configuration")
	for name in (
		"synced_up_to",
		"last_serial_no",
		"last_sync_at",
		"last_sync_status",
		"last_error",
		"last_sync_log",
		"auth_blocked",
		"model",
		"firmware",
		"serial_number",
		"sync_health",
		"health_message",
		"time_zone_handling",
		"release_shift_types",
	):
		assert name in device, name
	log = fields("Attendance Sync Log")
	for name in (
		*P.SyncCounts().as_dict(),
		"checkin_path",
		"window_start",
		"window_end",
		"device_time",
		"clock_skew_seconds",
		"notes",
		"pages",
		"exchanges",
		"serial_mode",
		"error",
		"duration",
		"started_at",
		"job_id",
		"user",
		"cursor_held_by",
		"held_punches",
		"open_unmapped",
		"counter_reset",
		"counter_reset_details",
	):
		assert name in log, name


def test_settings_defaults_match():
	settings = fields("Attendance Sync Settings")
	for name, value in DEFAULTS.items():
		assert float(settings[name]["default"]) == float(value), name
	assert settings["punch_codes"]["options"] == "Attendance Sync Punch Code"


@functools.cache
def module_functions(path: Path) -> frozenset[str]:
	"""The functions a module defines, or imports by name (a module keeping an old dotted path alive)."""
	tree = ast.parse(path.read_text())
	names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
	for n in tree.body:
		if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("attendance_sync."):
			source = APP.parent / (n.module.replace(".", "/") + ".py")
			if source.exists():
				names |= {a.name for a in n.names if a.name in module_functions(source)}
	return frozenset(names)


def resolve(dotted: str) -> bool:
	module, _, function = dotted.rpartition(".")
	path = APP.parent / (module.replace(".", "/") + ".py")
	return path.exists() and function in module_functions(path)


def test_hooks():
	assert hooks.app_name == "attendance_sync"
	assert hooks.required_apps == ["hrms"]
	assert resolve(hooks.after_install)
	assert resolve(hooks.before_tests)
	paths = [p for event, items in hooks.scheduler_events.items() if event != "cron" for p in items]
	paths += [p for items in hooks.scheduler_events["cron"].values() for p in items]
	paths += [p for events in hooks.doc_events.values() for p in events.values()]
	assert paths and all(resolve(p) for p in paths), paths
	assert "attendance_sync.attendance_sync.jobs.scheduled_daily" in hooks.scheduler_events["daily"]
	assert list(hooks.scheduler_events["cron"]) == ["*/15 * * * *"]
	assert set(hooks.default_log_clearing_doctypes) <= set(all_doctypes())
	log_controller = (DOCTYPES / "attendance_sync_log" / "attendance_sync_log.py").read_text()
	assert "def clear_old_logs" in log_controller


def test_modules_and_patches():
	assert (APP / "modules.txt").read_text().strip() == "Attendance Sync"
	patches = (APP / "patches.txt").read_text()
	assert patches.index("[pre_model_sync]") < patches.index("[post_model_sync]")
	assert (MODULE / "__init__.py").exists() and (DOCTYPES / "__init__.py").exists()
	listed = [
		line.strip() for line in patches.splitlines() if line.strip() and not line.startswith(("#", "["))
	]
	assert "attendance_sync.patches.rekey_device_punches" in listed
	for patch in listed:
		assert resolve(f"{patch}.execute"), patch


def test_unique_key_on_device_and_event_identity():
	# Not (device, serial_no): a terminal whose counter restarted numbers new events 1, 2, ... again.
	controller = (DOCTYPES / "device_punch" / "device_punch.py").read_text()
	assert "def on_doctype_update" in controller
	assert 'add_unique("Device Punch", ["device", "event_key"]' in controller
	assert 'add_unique("Device Punch", ["device", "serial_no"]' not in controller


def list_columns(name: str, width: int) -> list[str]:
	"""The columns Frappe's list view (v15 list_view.js `setup_columns`) shows for a doctype at `width` fields.

	The title (or name), a tag column, the indicator, then the `in_list_view` fields in field order, cut to
	4 fields on screens up to 1366 px wide and 6 above.
	"""
	doc = load(name)
	title = doc.get("title_field")
	script = (
		DOCTYPES / name.lower().replace(" ", "_") / f"{name.lower().replace(' ', '_')}_list.js"
	).read_text()
	has_indicator = "get_indicator" in script
	columns = [title or "name", "(tag)"] + (["(status)"] if has_indicator else [])
	columns += [
		f["fieldname"]
		for f in doc["fields"]
		if f.get("in_list_view")
		and f["fieldname"] != title
		and not (has_indicator and f["fieldname"] == "status")
	]
	return columns[:width]


def test_device_punch_list_shows_time_on_a_laptop_screen():
	assert "time" in list_columns("Device Punch", 4)
	assert {"time", "device"} <= set(list_columns("Device Punch", 6))
	script = (DOCTYPES / "device_punch" / "device_punch_list.js").read_text()
	assert "hide_name_column: true" in script


def whitelisted(path: Path) -> set[str]:
	tree = ast.parse(path.read_text())
	names = set()
	for node in tree.body:
		if isinstance(node, ast.FunctionDef):
			for deco in node.decorator_list:
				target = deco.func if isinstance(deco, ast.Call) else deco
				if ast.unparse(target) == "frappe.whitelist":
					names.add(node.name)
	return names


def test_whitelisted_methods_check_the_role():
	# Every whitelisted method but the guest push endpoint refuses a session without the role, first thing.
	for path in sorted(APP.rglob("*.py")):
		for node in ast.parse(path.read_text()).body:
			if isinstance(node, ast.FunctionDef) and node.name in whitelisted(path):
				if "allow_guest=True" in ast.unparse(node.decorator_list[0]):
					continue
				body = [
					n
					for n in node.body
					if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
				]
				assert ast.unparse(body[0]).startswith("only_for("), (path.name, node.name)


def test_js_registers_its_doctype():
	scripts = sorted(DOCTYPES.glob("*/*.js"))
	assert scripts
	for script in scripts:
		text = script.read_text()
		doctype = all_doctypes()[
			next(d for d in all_doctypes() if d.lower().replace(" ", "_") == script.parent.name)
		]["name"]
		if script.name.endswith("_list.js"):
			assert f'frappe.listview_settings["{doctype}"]' in text
		else:
			assert f'frappe.ui.form.on("{doctype}"' in text
		assert "device_user_password" not in text, "the browser never asks for the password"
	listed = (DOCTYPES / "device_punch" / "device_punch_list.js").read_text()
	assert "Reprocess" in listed and "get_indicator" in listed


def test_plain_modules_import_without_frappe_or_core():
	code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
	def find_spec(self, name, path=None, target=None):
		if name == "frappe" or name.startswith("frappe.") or name == "attendance_sync._core":
			raise ImportError(name)
sys.meta_path.insert(0, Block())
import attendance_sync.logic.errors, attendance_sync.logic.hosts, attendance_sync.logic.progress
import attendance_sync.logic.counters, attendance_sync.logic.fetch_plan, attendance_sync.logic.checkin_plan
import attendance_sync.logic.punches, attendance_sync.logic.schedule, attendance_sync.logic.settings
import attendance_sync.logic.timezones, attendance_sync.logic.windows, attendance_sync.hooks
import attendance_sync.logic.missing_punches
assert "attendance_sync._core" not in sys.modules
print("ok")
"""
	result = subprocess.run(
		[sys.executable, "-c", code], cwd=APP.parent, capture_output=True, text=True, check=False
	)
	assert result.returncode == 0, result.stderr
	assert result.stdout.strip() == "ok"


def all_reports() -> dict[str, dict]:
	result = {}
	for path in sorted((MODULE / "report").glob("*/*.json")):
		doc = json.loads(path.read_text())
		result[doc["name"]] = doc
	return result


def test_reports_are_script_reports_of_the_module_for_the_readers():
	assert set(all_reports()) == {"Missing Punches"}
	for name, doc in all_reports().items():
		folder = MODULE / "report" / name.lower().replace(" ", "_")
		assert doc["doctype"] == "Report" and doc["module"] == "Attendance Sync"
		assert doc["report_type"] == "Script Report" and doc["is_standard"] == "Yes"
		assert doc["ref_doctype"] in set(all_doctypes()) | EXTERNAL_DOCTYPES
		assert {r["role"] for r in doc["roles"]} == {"System Manager", "HR Manager"}
		assert (folder / "__init__.py").exists() and (MODULE / "report" / "__init__.py").exists()
		assert "def execute(" in (folder / f"{folder.name}.py").read_text()
		assert f'frappe.query_reports["{name}"]' in (folder / f"{folder.name}.js").read_text()


def test_workspace_links_known_doctypes():
	workspace = json.loads((MODULE / "workspace" / "attendance_sync" / "attendance_sync.json").read_text())
	assert workspace["doctype"] == "Workspace" and workspace["module"] == "Attendance Sync"
	known = set(all_doctypes()) | EXTERNAL_DOCTYPES
	links = [link for link in workspace["links"] if link["type"] == "Link"]
	targets = [link["link_to"] for link in links if link["link_type"] == "DocType"]
	targets += [shortcut["link_to"] for shortcut in workspace["shortcuts"] if shortcut["type"] == "DocType"]
	assert targets and set(targets) <= known
	report_links = [link for link in links if link["link_type"] == "Report"]
	assert all(link["is_query_report"] == 1 for link in report_links)
	reports = [link["link_to"] for link in report_links]
	reports += [shortcut["link_to"] for shortcut in workspace["shortcuts"] if shortcut["type"] == "Report"]
	assert set(reports) == set(all_reports()), "every report of the app is on the workspace"
	blocks = json.loads(workspace["content"])
	named = {b["data"]["shortcut_name"] for b in blocks if b["type"] == "shortcut"}
	assert named == {s["label"] for s in workspace["shortcuts"]}


def enqueued_methods() -> set[str]:
	"""The dotted paths the app's Python passes to `frappe.enqueue` as a string."""
	found = set()
	for path in MODULE.rglob("*.py"):
		for node in ast.walk(ast.parse(path.read_text())):
			if (
				isinstance(node, ast.Call)
				and isinstance(node.func, ast.Attribute)
				and node.func.attr == "enqueue"
				and node.args
				and isinstance(node.args[0], ast.Constant)
			):
				found.add(node.args[0].value)
	return found


def test_enqueued_and_stored_method_paths_resolve():
	"""A job's method path is stored with the job in Redis and resolved when a worker runs it; the paths of
	version 0.1 (`sync`) keep resolving for jobs queued, and Scheduled Job Types kept, before an upgrade."""
	methods = enqueued_methods()
	assert "attendance_sync.attendance_sync.jobs.sync_device" in methods
	assert "attendance_sync.attendance_sync.doctype.device_punch.device_punch.reprocess" in methods
	assert all(resolve(m) for m in methods), methods
	for name in ("sync_device", "reprocess", "scheduled_daily", "scheduled_tick", "prune_punches"):
		assert resolve(f"attendance_sync.attendance_sync.sync.{name}"), name


def test_frappe_side_modules_import_without_cycles():
	"""jobs -> maintenance -> cursors -> checkins -> common: no module of the package imports one that imports it."""
	imports: dict[str, set[str]] = {}
	for path in MODULE.glob("*.py"):
		deps = set()
		for node in ast.walk(ast.parse(path.read_text())):
			if isinstance(node, ast.ImportFrom) and node.module == "attendance_sync.attendance_sync":
				deps |= {a.name for a in node.names}
			elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
				"attendance_sync.attendance_sync."
			):
				deps.add(node.module.split(".")[2])
		imports[path.stem] = {d for d in deps if (MODULE / f"{d}.py").exists()}

	def reaches(start: str, target: str, seen: set[str]) -> bool:
		for dep in imports.get(start, ()):
			if dep == target or (dep not in seen and reaches(dep, target, seen | {dep})):
				return True
		return False

	cycles = [m for m in imports if reaches(m, m, {m})]
	assert not cycles, cycles
	assert {"jobs", "checkins", "cursors", "maintenance", "common"} <= set(imports)


def app_sources(*suffixes: str) -> list[Path]:
	return sorted(p for p in APP.rglob("*") if p.suffix in suffixes and not p.name.startswith("test_"))


def test_no_hard_coded_desk_path():
	# Frappe 16 serves the desk under /desk: links come from Frappe's route helpers.
	hard_coded = re.compile(r"""["'`]/app(/|["'`?])""")
	found = [
		f"{p.relative_to(APP)}:{n}"
		for p in app_sources(".py", ".js", ".json", ".html")
		for n, line in enumerate(p.read_text().splitlines(), 1)
		if hard_coded.search(line)
	]
	assert not found, found


QUERY_METHODS = {"get_all", "get_list", "get_value", "get_values", "get_single_value", "get_list_query"}


def sql_in_fields(tree: ast.AST) -> list[tuple[int, str]]:
	"""String fields of a frappe query call that hold SQL (a function call or an alias)."""
	sql = re.compile(r"\w\s*\(|\s+as\s+|^\s*distinct\s", re.IGNORECASE)
	found = []
	for node in ast.walk(tree):
		if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
			continue
		if node.func.attr not in QUERY_METHODS:
			continue
		candidates = [k.value for k in node.keywords if k.arg in ("fields", "fieldname", "pluck")]
		if node.func.attr in ("get_value", "get_values") and len(node.args) > 2:
			candidates.append(node.args[2])
		for value in candidates:
			for const in ast.walk(value):
				if (
					isinstance(const, ast.Constant)
					and isinstance(const.value, str)
					and sql.search(const.value)
				):
					found.append((node.lineno, const.value))
	return found


def test_no_sql_functions_in_query_fields():
	# Frappe 16 sends get_all / get_value fields through the query builder, which refuses raw SQL there.
	found = [
		f"{p.relative_to(APP)}:{line}: {text}"
		for p in app_sources(".py")
		for line, text in sql_in_fields(ast.parse(p.read_text()))
	]
	assert not found, found


def test_the_source_checks_catch_what_they_look_for():
	assert sql_in_fields(ast.parse('frappe.get_all("X", fields=["count(name) as n"])'))
	assert sql_in_fields(ast.parse('frappe.db.get_value("X", {}, "max(time)")'))
	assert not sql_in_fields(ast.parse('frappe.get_all("X", fields=["name", "time"])'))


def called_methods(script: str) -> set[tuple[str, str | None]]:
	"""The server methods a doctype's scripts call, as (module path, function name): full paths in strings, and
	`${CONST}.name` over a module path constant (name None where the script picks it at run time)."""
	path = r"attendance_sync\.attendance_sync\.[\w.]+"
	constants = dict(re.findall(rf'const (\w+) = "({path})";', script))
	calls: set[tuple[str, str | None]] = set()
	for full in re.findall(rf'"({path})"', script):
		if full not in constants.values():
			module, name = full.rsplit(".", 1)
			calls.add((module, name))
	for const, name in re.findall(r"\$\{(\w+)\}\.(?:\$\{\w+\}|(\w+))", script):
		if const in constants:
			calls.add((constants[const], name or None))
	return calls


@pytest.mark.parametrize("folder", sorted(p.name for p in DOCTYPES.iterdir() if (p / "__init__.py").exists()))
def test_a_doctypes_buttons_call_methods_of_its_own_folder(folder):
	scripts = "\n".join(p.read_text() for p in sorted((DOCTYPES / folder).glob("*.js")))
	own = f"attendance_sync.attendance_sync.doctype.{folder}."
	for module, name in called_methods(scripts):
		assert module.startswith(own), f"{folder}'s script calls {module}.{name}, which another folder owns"
		methods = whitelisted(APP.parent / (module.replace(".", "/") + ".py"))
		assert (name in methods) if name else methods, f"{module}.{name} is not whitelisted there"


def test_the_source_check_reads_calls_as_the_scripts_write_them():
	script = (
		'const M = "attendance_sync.attendance_sync.doctype.x.x";\n'
		"frappe.call({method: `${M}.go`}); frappe.call({method: `${M}.${which}`});\n"
		'frappe.call("attendance_sync.attendance_sync.doctype.y.y.run");'
	)
	assert called_methods(script) == {
		("attendance_sync.attendance_sync.doctype.x.x", "go"),
		("attendance_sync.attendance_sync.doctype.x.x", None),
		("attendance_sync.attendance_sync.doctype.y.y", "run"),
	}


def test_the_app_has_no_module_of_whitelisted_form_methods():
	# Buttons live with their doctype; outside the doctype folders only the guest push endpoint is whitelisted.
	outside = {
		p.relative_to(APP).as_posix(): whitelisted(p)
		for p in APP.rglob("*.py")
		if "doctype" not in p.parts and whitelisted(p)
	}
	assert outside == {"api.py": {"push"}}, outside


def test_every_app_module_reads_in_one_sitting():
	# Under 400 lines: a module that grows past it is split by owner or by job.
	long = {
		p.relative_to(APP).as_posix(): n
		for p in APP.rglob("*.py")
		if not p.name.startswith("test_") and (n := len(p.read_text().splitlines())) >= 400
	}
	assert not long, long
