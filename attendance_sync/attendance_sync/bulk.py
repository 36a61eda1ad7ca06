"""Employee Checkins in bulk, for large backfills: the rows `doc.insert()` writes, in multi-row statements.

`insert_checkins(rows)` gives, per planned check-in, what `frappe.get_doc({...}).insert(ignore_permissions=True)`
of HRMS's Employee Checkin would give, one after another with each failure rolled back alone: the new
check-in's name, or the exception that insert raises. The same code computes each row: Frappe's own document
steps (defaults, owner and timestamps, link validation and `fetch_from`, `_validate`, `get_valid_dict`) and
HRMS's own controller methods (`before_validate`, `validate_time_change`, `fetch_shift` with
`get_actual_start_end_datetime_of_shift`, `set_geolocation`, `validate_distance_from_shift_location`) run on
an unsaved EmployeeCheckin per row. What is read once per batch instead of once per row, where it cannot
differ inside one transaction:

- the Employees (status, Default Shift, the `fetch_from` values) in one query; a name that does not match
  exactly goes through Frappe's own link validation (case, or "Could not find");
- the inactive-employee check per Employee (HRMS's `validate_active_employee` raises the error);
- the duplicate check (same employee, time and log type) against one query of the batch's employees and time
  range, and against the rows before it in the batch; a hit is confirmed, and its error raised, by HRMS's own
  `validate_duplicate_log`;
- HRMS's Shift Assignment rows for (employee, date) (`get_shifts_for_date`): the batch's active submitted
  assignments are read in one query and each (employee, date) near a row is answered from them with HRMS's own
  condition (and in name order; HRMS's query names none); other dates HRMS's function reads, once per employee
  and day. An employee with neither a Default Shift nor any active submitted Shift Assignment has no shift at
  any time (the function returns nothing for them), so the function is not called for them.

Names: the doctype's series is parsed per row with `frappe.model.naming.parse_naming_series` and the numbers of
all rows that pass are reserved in one step per series key (the `tabSeries` row locked and moved by N, as
`getseries` moves it by 1), in row order, so names come out as the loop would give them. The rows are written
in multi-row INSERTs (`common.insert_rows`).

Not run (see docs/frappe.md, "Bulk insert"): `doc_events` hooks of any app on Employee Checkin (including the
generic "*" ones of frappe and erpnext), Server Scripts, Notifications, Webhooks, Assignment / Energy Point
Rules, Milestone Trackers, the realtime list update, global search. `unsupported_reason()` says when one of them
is configured for Employee Checkin (or the controller, its naming or its global search is not the one this
module reproduces); the check-in step then uses `doc.insert()`.
"""

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import frappe
from frappe.desk.form.document_follow import follow_document
from frappe.model.naming import NamingSeries, parse_naming_series, validate_name
from frappe.model.utils.link_count import notify_link_count
from frappe.utils import cint, get_datetime, now
from hrms.hr.doctype.employee_checkin.employee_checkin import EmployeeCheckin
from hrms.hr.doctype.shift_assignment import shift_assignment
from hrms.hr.utils import validate_active_employee

from attendance_sync.attendance_sync.common import QUERY_CHUNK, chunks, insert_rows

DOCTYPE = "Employee Checkin"
SAVEPOINT = "attendance_sync_bulk_checkin"
# The names HRMS 15's `EmployeeCheckin.validate` uses, in order: the steps this module runs one by one. Another
# validate (a newer HRMS, or an app's override) may do more, so bulk declines it.
VALIDATE_NAMES = (
	"validate_active_employee",
	"employee",
	"validate_duplicate_log",
	"validate_time_change",
	"fetch_shift",
	"set_geolocation",
	"validate_distance_from_shift_location",
)
# Document methods `insert()` runs that the controller must not define for the rows to be the same.
LIFECYCLE_METHODS = (
	"before_insert",
	"before_naming",
	"autoname",
	"before_save",
	"after_insert",
	"on_update",
	"on_change",
	"db_insert",
	"set_new_name",
)
# What runs on an insert when configured for the doctype: (DocType, its doctype field, filters of live rows).
CONFIGURED_ON_DOCTYPE = (
	("Server Script", "reference_doctype", {"disabled": 0, "script_type": "DocType Event"}),
	("Notification", "document_type", {"enabled": 1}),
	("Webhook", "webhook_doctype", {"enabled": 1}),
	("Document Naming Rule", "document_type", {"disabled": 0}),
	("Assignment Rule", "document_type", {"disabled": 0}),
	("Energy Point Rule", "reference_doctype", {"enabled": 1}),
	("Milestone Tracker", "document_type", {"disabled": 0}),
)
_MEMO = "attendance_sync_shifts_for_date"
# Days either side of a row's date whose shift rows the batch reads ahead: HRMS looks at the shifts of the day
# before and after a check-in, and each of those reads the assignments of its own neighbouring days.
_SHIFT_DAYS_AROUND = 2
_TOKEN = "\x00attendance-sync-series\x00"


@dataclass(frozen=True)
class PlannedCheckin:
	"""One Employee Checkin to insert: the fields the check-in step sets."""

	employee: str
	time: datetime
	log_type: str | None = None
	device_id: str | None = None
	latitude: float | None = None
	longitude: float | None = None

	def as_doc(self) -> dict[str, Any]:
		return {
			"doctype": DOCTYPE,
			"employee": self.employee,
			"time": self.time,
			"log_type": self.log_type,
			"device_id": self.device_id,
			"latitude": self.latitude,
			"longitude": self.longitude,
		}


class BulkInsertUnsupported(frappe.ValidationError):
	pass


def unsupported_reason() -> str | None:
	"""Why a bulk insert would not give what `doc.insert()` gives on this site, or None."""
	controller = type(frappe.get_doc({"doctype": DOCTYPE}))
	if controller is not EmployeeCheckin:
		return f"Employee Checkin's controller is {controller.__module__}.{controller.__name__}"
	if tuple(EmployeeCheckin.validate.__code__.co_names) != VALIDATE_NAMES:
		return "HRMS's EmployeeCheckin.validate is not the one the bulk insert reproduces"
	for method in LIFECYCLE_METHODS:
		if method in vars(EmployeeCheckin):
			return f"HRMS's EmployeeCheckin defines {method}"
	for key in frappe.get_hooks("doc_events") or {}:
		if key == DOCTYPE or (isinstance(key, tuple | list) and DOCTYPE in key):
			return "an app hooks doc_events on Employee Checkin"
	for doctype, field, filters in CONFIGURED_ON_DOCTYPE:
		if frappe.db.exists(doctype, {field: DOCTYPE, **filters}):
			return f"a {doctype} is set on Employee Checkin"
	meta = frappe.get_meta(DOCTYPE)
	if meta.get("show_name_in_global_search") or any(df.get("in_global_search") for df in meta.fields):
		return "Employee Checkin is in global search"
	autoname = meta.autoname or ""
	if "#" not in autoname or ":" in autoname or autoname.lower().startswith("format"):
		return f"Employee Checkin is named by {autoname!r}, not a naming series"
	return None


def insert_checkins(rows: Sequence[PlannedCheckin]) -> list[str | Exception]:
	"""Insert the rows as `doc.insert(ignore_permissions=True)` would one after another; per row the new
	check-in's name, or the exception that insert raises (the row is then not inserted, the others go on).

	Runs in the caller's transaction and does not commit. The caller has authorised the run (permissions are
	not checked, as with `ignore_permissions=True`). Raises BulkInsertUnsupported when `unsupported_reason()`.
	"""
	if not rows:
		return []
	reason = unsupported_reason()
	if reason:
		frappe.throw(reason, BulkInsertUnsupported)
	with _quiet(), _shift_memo():
		return _Batch(rows).run()


class Checkins:
	"""Check-ins prepared one by one and written together: for a caller that decides which rows to write from
	the outcomes (the check-in step re-plans a batch after a failure).

	`prepare(row)` is what `insert()` would do for the row up to its INSERT, without writing: the prepared
	document, or the exception. `write(prepared)` reserves the names and inserts the documents in multi-row
	statements; their names, in order. The rows must be independent (no two with the same employee, time and log
	type: the duplicate check does not look at rows prepared here and not written), and `rows` given at the
	start must cover every row prepared later (the batch's reads are made for them).
	"""

	def __init__(self, rows: Sequence[PlannedCheckin]) -> None:
		reason = unsupported_reason()
		if reason:
			frappe.throw(reason, BulkInsertUnsupported)
		# One memo for every prepare of the batch: a memo per prepare read the rows again for each check-in.
		self.shifts: dict[tuple[str, Any], list[dict[str, Any]]] = {}
		with _shift_memo(self.shifts):
			self.batch = _Batch(rows)

	def prepare(self, row: PlannedCheckin) -> Any:
		with _quiet(), _shift_memo(self.shifts):
			try:
				doc, name, _key = self.batch.prepare(row)
			except Exception as e:
				return e
		doc.flags.attendance_sync_name = name
		return doc

	def write(self, prepared: list[Any]) -> list[str]:
		names = _reserve_names([doc.flags.attendance_sync_name for doc in prepared])
		for doc, name in zip(prepared, names, strict=True):
			doc.name = name
		self.batch.write(prepared)
		return names


@contextmanager
def _quiet() -> Iterator[None]:
	# Every failure here went through frappe.throw, which also queues a message for the browser; the caller
	# gets the exceptions, as from a doc.insert it catches.
	messages = len(frappe.local.message_log)
	try:
		yield
	finally:
		del frappe.local.message_log[messages:]


def _install_shift_memo() -> None:
	"""Wrap HRMS's `get_shifts_for_date` once: inside `_shift_memo()` its rows are read once per employee and
	date (the same query, in the same transaction: the same rows); elsewhere it is HRMS's function unchanged."""
	current = shift_assignment.get_shifts_for_date
	if getattr(current, "attendance_sync_memo", False):
		return

	@functools.wraps(current)
	def get_shifts_for_date(employee: str, for_timestamp: datetime) -> list[dict[str, Any]]:
		memo = getattr(frappe.local, _MEMO, None)
		if memo is None:
			return current(employee, for_timestamp)
		key = (employee, for_timestamp.date())
		if key not in memo:
			memo[key] = current(employee, for_timestamp)
		return [frappe._dict(row) for row in memo[key]]

	get_shifts_for_date.attendance_sync_memo = True  # type: ignore[attr-defined]
	shift_assignment.get_shifts_for_date = get_shifts_for_date


@contextmanager
def _shift_memo(memo: dict[tuple[str, Any], list[dict[str, Any]]] | None = None) -> Iterator[None]:
	"""Inside it, HRMS's shift rows are read once per employee and date into `memo`, else into the memo already
	in use, else into a new one."""
	_install_shift_memo()
	previous = getattr(frappe.local, _MEMO, None)
	if memo is None:
		memo = {} if previous is None else previous
	setattr(frappe.local, _MEMO, memo)
	try:
		yield
	finally:
		setattr(frappe.local, _MEMO, previous)


def _log_type_key(value: str | None) -> str | None:
	# The database compares without case and trailing spaces; a hit is confirmed by HRMS's own query.
	return value.rstrip().casefold() if isinstance(value, str) else value


class _Batch:
	def __init__(self, rows: Sequence[PlannedCheckin]) -> None:
		self.rows = rows
		self.meta = frappe.get_meta(DOCTYPE)
		self.defaults = None if frappe.flags.in_import else frappe.new_doc(DOCTYPE, as_dict=True)
		self.user = frappe.session.user
		self.keep_owner = frappe.flags.in_install or frappe.flags.in_patch or frappe.flags.in_migrate
		self.employee_link = self.meta.get_field("employee")
		self.fetch_fields = self.meta.get_fields_to_fetch("employee")
		self.other_links = [
			df.fieldname
			for df in self.meta.get_link_fields() + self.meta.get("fields", {"fieldtype": "Dynamic Link"})
			if df.fieldname != "employee"
		]
		self.employees: dict[str, frappe._dict] = {}
		self.with_assignments: set[str] = set()
		self.inactive: dict[str, Exception] = {}
		self.existing: set[tuple[str, datetime, str | None]] = set()
		self.passed: set[tuple[str, datetime, str | None]] = set()
		self._read(rows)

	def _read(self, rows: Sequence[PlannedCheckin]) -> None:
		names = sorted({r.employee for r in rows if r.employee})
		sources = sorted({df.fetch_from.split(".")[-1] for df in self.fetch_fields})
		fields = sorted({"name", "status", "default_shift", *sources})
		for chunk in chunks(names, QUERY_CHUNK):
			for row in frappe.get_all("Employee", filters={"name": ["in", chunk]}, fields=fields):
				self.employees[row.name] = row
			self.with_assignments.update(
				frappe.get_all(
					"Shift Assignment",
					filters={"employee": ["in", chunk], "docstatus": 1, "status": "Active"},
					pluck="employee",
					distinct=True,
				)
			)
		times = [get_datetime(r.time).replace(microsecond=0) for r in rows if r.time]
		if not names or not times:
			return
		self._read_shifts(rows)
		for chunk in chunks(names, QUERY_CHUNK):
			for row in frappe.get_all(
				DOCTYPE,
				filters=[["employee", "in", chunk], ["time", ">=", min(times)], ["time", "<=", max(times)]],
				fields=["employee", "time", "log_type"],
			):
				self.existing.add((row.employee, get_datetime(row.time), _log_type_key(row.log_type)))

	def _read_shifts(self, rows: Sequence[PlannedCheckin]) -> None:
		"""Fill the shift memo in use for the (employee, date)s around the rows: what HRMS's
		`get_shifts_for_date` would read for them, from one query of the batch's assignments."""
		memo = getattr(frappe.local, _MEMO, None)
		if memo is None:
			return
		keys: set[tuple[str, date]] = set()
		for row in rows:
			employee = self.employees.get(row.employee)
			if not row.time or not employee or not employee.name:
				continue
			day = get_datetime(row.time).date()
			for offset in range(-_SHIFT_DAYS_AROUND, _SHIFT_DAYS_AROUND + 1):
				keys.add((employee.name, day + timedelta(days=offset)))
		if not keys:
			return
		first, last = min(day for _e, day in keys), max(day for _e, day in keys)
		assigned = sorted({employee for employee, _day in keys} & self.with_assignments)
		assignments: dict[str, list[frappe._dict]] = {}
		for chunk in chunks(assigned, QUERY_CHUNK):
			for row in frappe.get_all(
				"Shift Assignment",
				filters=[
					["employee", "in", chunk],
					["docstatus", "=", 1],
					["status", "=", "Active"],
					["start_date", "<=", last + timedelta(days=1)],
				],
				or_filters=[["end_date", "is", "not set"], ["end_date", ">=", first - timedelta(days=1)]],
				fields=["employee", "name", "shift_type", "start_date", "end_date"],
				order_by="name asc",
			):
				assignments.setdefault(row.pop("employee"), []).append(row)
		for employee, day in keys:
			if (employee, day) in memo:
				continue
			# get_shifts_for_date's condition: starts by the next day, and open-ended or ends from the day before.
			memo[(employee, day)] = [
				row
				for row in assignments.get(employee, [])
				if row.start_date <= day + timedelta(days=1)
				and (row.end_date is None or day - timedelta(days=1) <= row.end_date)
			]

	def run(self) -> list[str | Exception]:
		results: list[str | Exception | None] = [None] * len(self.rows)
		passed: list[tuple[int, Any, _Name]] = []
		repeats: list[tuple[int, Any]] = []
		for i, planned in enumerate(self.rows):
			if not planned.employee or not planned.time:
				# Not a check-in the step plans: the document model itself decides what becomes of it.
				results[i] = self._insert_one(planned)
				continue
			try:
				doc, name, key = self.prepare(planned)
			except Exception as e:
				results[i] = e
				continue
			if key in self.passed:
				# Same employee, time and log type as an earlier row of the batch that passed: HRMS's check
				# finds that row once it is in the table.
				repeats.append((i, doc))
				continue
			self.passed.add(key)
			passed.append((i, doc, name))
		names = _reserve_names([name for _, _, name in passed])
		for (i, doc, _), name in zip(passed, names, strict=True):
			doc.name = name
			results[i] = name
		self.write([doc for _, doc, _ in passed])
		for i, doc in repeats:
			results[i] = self._repeat(doc, self.rows[i])
		return results  # type: ignore[return-value]

	def _insert_one(self, planned: PlannedCheckin) -> str | Exception:
		frappe.db.savepoint(SAVEPOINT)
		try:
			doc = frappe.get_doc(planned.as_doc()).insert(ignore_permissions=True)
		except Exception as e:
			frappe.db.rollback(save_point=SAVEPOINT)
			return e
		frappe.db.release_savepoint(SAVEPOINT)
		return doc.name

	def prepare(self, planned: PlannedCheckin) -> tuple[Any, "_Name", tuple[str, datetime, str | None]]:
		"""What `insert(ignore_permissions=True)` does up to its INSERT, in its order: the document, its name
		(the number still to reserve) and its duplicate key; a row repeating one that passed before it in
		`run` stops at the duplicate check (its key is then in `passed`)."""
		doc = frappe.get_doc(planned.as_doc())
		doc.flags.ignore_permissions = True
		doc.set("__islocal", True)
		# _set_defaults
		if self.defaults is not None:
			doc.update_if_missing(self.defaults)
		# set_user_and_timestamp, set_docstatus, check_if_latest (a new document: no read)
		doc.modified = now()
		doc.modified_by = self.user
		if not self.keep_owner:
			doc.creation = doc.modified
			doc.owner = doc.modified_by
		doc.set_docstatus()
		doc.check_if_latest()
		self._validate_links(doc)
		# set_new_name: the series number is reserved for the rows that pass, in one step
		name = _Name.of(doc, self.meta.autoname)
		doc.name = name.placeholder
		doc.flags.in_insert = True
		doc.before_validate()
		# EmployeeCheckin.validate, step by step
		if doc.employee in self.inactive or self._employee(doc.employee).status == "Inactive":
			self._raise_inactive(doc.employee)
		key = (doc.employee, get_datetime(doc.time), _log_type_key(doc.log_type))
		if key in self.existing:
			doc.validate_duplicate_log()
		if key in self.passed:
			return doc, name, key
		doc.validate_time_change()
		self._fetch_shift(doc)
		doc.set_geolocation()
		doc.validate_distance_from_shift_location()
		# before_save: none; then set_title_field and the document model's own field checks
		doc.set_title_field()
		doc._validate()
		doc.set_docstatus()
		doc.flags.in_insert = False
		return doc, name, key

	def _employee(self, name: str) -> frappe._dict:
		if name not in self.employees:
			fields = sorted(
				{
					"name",
					"status",
					"default_shift",
					*(df.fetch_from.split(".")[-1] for df in self.fetch_fields),
				}
			)
			row = frappe.db.get_value("Employee", name, fields, as_dict=True)
			self.employees[name] = row or frappe._dict(name=None, status=None, default_shift=None)
			if row and frappe.db.exists(
				"Shift Assignment", {"employee": row.name, "docstatus": 1, "status": "Active"}
			):
				self.with_assignments.add(row.name)
		return self.employees[name]

	def _raise_inactive(self, employee: str) -> None:
		if employee not in self.inactive:
			try:
				validate_active_employee(employee)
			except Exception as e:
				self.inactive[employee] = e
			else:
				self.employees[employee].status = None
				return
		raise self.inactive[employee]

	def _validate_links(self, doc: Any) -> None:
		"""Document._validate_links for the Employee link, with the Employee read once per batch."""
		if doc.flags.ignore_links:
			return
		values = self.employees.get(doc.employee)
		if not values or not values.name or any(doc.get(f) for f in self.other_links):
			# Not an exact match (the database ignores case), or other links set: Frappe's own validation.
			doc._validate_links()
			return
		doc.employee = values.name
		for df in self.fetch_fields:
			if not df.get("fetch_if_empty") or not doc.get(df.fieldname):
				doc.set_fetch_from_value(self.employee_link.options, df, values)
		notify_link_count(self.employee_link.options, values.name)

	def _fetch_shift(self, doc: Any) -> None:
		employee = self._employee(doc.employee)
		if not employee.default_shift and employee.name not in self.with_assignments:
			# get_actual_start_end_datetime_of_shift returns nothing for anyone without a Default Shift or an
			# active submitted Shift Assignment, at any time: what fetch_shift then sets.
			doc.shift = None
			doc.offshift = 1
			return
		doc.fetch_shift()

	def write(self, docs: list[Any]) -> None:
		if not docs:
			return
		dicts = [d.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True) for d in docs]
		fields = list(dicts[0])
		insert_rows(DOCTYPE, fields, [[d[f] for f in fields] for d in dicts])
		for doc in docs:
			doc.flags.in_insert = False
			if hasattr(doc, "__islocal"):
				delattr(doc, "__islocal")
		if frappe.get_cached_value("User", self.user, "follow_created_documents"):
			for doc in docs:
				follow_document(DOCTYPE, doc.name, self.user)

	def _repeat(self, doc: Any, planned: PlannedCheckin) -> str | Exception:
		"""A row repeating one inserted above: HRMS's duplicate check, now that the other row is in the table."""
		try:
			doc.validate_duplicate_log()
		except Exception as e:
			return e
		# The database told the two apart after all (it compares as `_log_type_key` does, so this is not
		# expected): the row is not a duplicate, and the document model inserts it.
		return self._insert_one(planned)


@dataclass(frozen=True)
class _Name:
	"""A name `set_new_name` would give, with its series number left out: `prefix` is the series key (the
	`tabSeries` row), `text` the name with `_TOKEN` where the number goes."""

	prefix: str
	digits: int
	text: str

	@classmethod
	def of(cls, doc: Any, autoname: str) -> "_Name":
		series = NamingSeries(autoname)
		series.validate()
		keys: list[tuple[str, int]] = []

		def number(prefix: str, digits: int) -> str:
			keys.append((prefix, digits))
			return _TOKEN

		text = parse_naming_series(series.series.split("."), doc=doc, number_generator=number)
		return cls(prefix=keys[0][0], digits=keys[0][1], text=text)

	@property
	def placeholder(self) -> str:
		# A name no row has, for the checks that exclude the document itself before its number is known.
		return self.text.replace(_TOKEN, "?" * self.digits)

	def with_number(self, number: int) -> str:
		return validate_name(DOCTYPE, self.text.replace(_TOKEN, str(number).zfill(self.digits)))


def _reserve_names(names: list[_Name]) -> list[str]:
	"""The names, in order, each series key moved once by its count."""
	counts: dict[str, int] = {}
	for name in names:
		counts[name.prefix] = counts.get(name.prefix, 0) + 1
	following = {prefix: _reserve(prefix, count) for prefix, count in counts.items()}
	result = []
	for name in names:
		result.append(name.with_number(following[name.prefix]))
		following[name.prefix] += 1
	return result


def _reserve(prefix: str, count: int) -> int:
	"""Reserve `count` numbers of the series `prefix` in one step, as `getseries` takes one; the first."""
	current = frappe.db.sql("SELECT `current` FROM `tabSeries` WHERE `name`=%s FOR UPDATE", (prefix,))
	if current and current[0][0] is not None:
		frappe.db.sql("UPDATE `tabSeries` SET `current` = `current` + %s WHERE `name`=%s", (count, prefix))
		return cint(current[0][0]) + 1
	frappe.db.sql("INSERT INTO `tabSeries` (`name`, `current`) VALUES (%s, %s)", (prefix, count))
	return 1
