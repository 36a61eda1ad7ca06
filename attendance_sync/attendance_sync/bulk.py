"""Employee Checkins in bulk, for large backfills: the rows `doc.insert()` writes, in multi-row statements.

`insert_checkins(rows)` gives, per planned check-in, what `frappe.get_doc({...}).insert(ignore_permissions=True)`
of HRMS's Employee Checkin would give, one after another with each failure rolled back alone: the new
check-in's name, or the exception that insert raises. Each row is computed by Frappe's own document steps and
HRMS's own controller methods on an unsaved EmployeeCheckin; what cannot differ inside one transaction is read
once per batch (the Employees, the inactive check, the existing check-ins of the batch's employees and time
range, HRMS's shift rows through `bulk_shifts`). Names come from the naming series in one step per batch
(`bulk_names`); whether this site's hooks let a bulk insert stand in for `doc.insert()` is
`bulk_support.unsupported_reason()`. docs/frappe.md ("Bulk insert") gives the whole account.

A row whose INSERT clashes with a stored row (its name taken, the series being behind the table, or a unique
value) is not written with the others: the batch's multi-row write is undone and its rows written one at a time
(`Checkins.write_one`), each under a savepoint, so that row alone fails, with the exception `insert()` raises.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import frappe
from frappe.desk.form.document_follow import follow_document
from frappe.model.utils.link_count import notify_link_count
from frappe.utils import get_datetime, now
from hrms.hr.utils import validate_active_employee

from attendance_sync.attendance_sync.bulk_names import NameTaken, SeriesName, reserve_names
from attendance_sync.attendance_sync.bulk_shifts import read_shifts_ahead, shift_memo
from attendance_sync.attendance_sync.bulk_support import per_batch_hooks, unsupported_reason
from attendance_sync.attendance_sync.common import CHECKIN as DOCTYPE
from attendance_sync.attendance_sync.common import QUERY_CHUNK, chunks, insert_rows, quiet_messages

SAVEPOINT = "attendance_sync_bulk_checkin"
WRITE_SAVEPOINT = "attendance_sync_bulk_write"


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


class WriteClash(Exception):
	"""A row of a multi-row write clashed with a stored row (a primary or unique key); nothing of it was written."""


def _clashes(exc: Exception) -> bool:
	return bool(frappe.db.is_primary_key_violation(exc) or frappe.db.is_unique_key_violation(exc))


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
	with quiet_messages(), shift_memo():
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
		with shift_memo(self.shifts):
			self.batch = _Batch(rows)

	def prepare(self, row: PlannedCheckin) -> Any:
		with quiet_messages(), shift_memo(self.shifts):
			try:
				doc, name, _key = self.batch.prepare(row)
			except Exception as e:
				return e
		doc.flags.attendance_sync_name = name
		return doc

	def write(self, prepared: list[Any]) -> list[str]:
		"""Reserve the names and insert the documents in multi-row statements; their names, in order.

		Raises WriteClash when a row clashes with a stored one (its name is taken, or a unique value): nothing of
		the write is left then (the series is not moved either), and the caller writes the rows with `write_one`.
		"""
		return self.batch.write(prepared)

	def write_one(self, doc: Any) -> str | Exception:
		"""Reserve the document's name and insert it alone, as `insert()` does after its checks: its name, or the
		exception that INSERT raises (`frappe.DuplicateEntryError` for a taken name, `frappe.UniqueValidationError`
		for a unique value), the row then not written. The number stays reserved either way: the next row takes
		the one after it, so a name the series gives that is already taken fails that row only."""
		return self.batch.write_one(doc)


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
		self.per_batch_hooks = per_batch_hooks()
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
		checkins = [
			(employee.name, get_datetime(r.time))
			for r in rows
			if r.time and (employee := self.employees.get(r.employee)) and employee.name
		]
		read_shifts_ahead(checkins, self.with_assignments)
		for chunk in chunks(names, QUERY_CHUNK):
			for row in frappe.get_all(
				DOCTYPE,
				filters=[["employee", "in", chunk], ["time", ">=", min(times)], ["time", "<=", max(times)]],
				fields=["employee", "time", "log_type"],
			):
				self.existing.add((row.employee, get_datetime(row.time), _log_type_key(row.log_type)))

	def run(self) -> list[str | Exception]:
		results: list[str | Exception | None] = [None] * len(self.rows)
		passed: list[tuple[int, Any, SeriesName]] = []
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
		for _i, doc, name in passed:
			doc.flags.attendance_sync_name = name
		try:
			written: list[str | Exception] = list(self.write([doc for _i, doc, _n in passed]))
		except WriteClash:
			written = [self.write_one(doc) for _i, doc, _n in passed]
		for (i, _doc, _name), result in zip(passed, written, strict=True):
			results[i] = result
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

	def prepare(self, planned: PlannedCheckin) -> tuple[Any, "SeriesName", tuple[str, datetime, str | None]]:
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
		name = SeriesName.of(doc, self.meta.autoname)
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

	def write(self, docs: list[Any]) -> list[str]:
		"""`Checkins.write`: the documents' names reserved in one step and the rows inserted in multi-row INSERTs."""
		if not docs:
			return []
		frappe.db.savepoint(WRITE_SAVEPOINT)
		try:
			names = reserve_names([doc.flags.attendance_sync_name for doc in docs])
			for doc, name in zip(docs, names, strict=True):
				doc.name = name
			dicts = [d.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True) for d in docs]
			fields = list(dicts[0])
			insert_rows(DOCTYPE, fields, [[d[f] for f in fields] for d in dicts])
		except Exception as e:
			if not _clashes(e):
				raise
			frappe.db.rollback(save_point=WRITE_SAVEPOINT)
			raise WriteClash(str(e)) from e
		frappe.db.release_savepoint(WRITE_SAVEPOINT)
		self._written(docs)
		return names

	def write_one(self, doc: Any) -> str | Exception:
		"""`Checkins.write_one`: the name reserved outside the row's savepoint, the row inserted by Frappe's own
		`db_insert` (which raises what `insert()` raises for a clash)."""
		doc.name = reserve_names([doc.flags.attendance_sync_name])[0]
		frappe.db.savepoint(WRITE_SAVEPOINT)
		try:
			with quiet_messages():
				doc.db_insert()
		except (frappe.DuplicateEntryError, frappe.UniqueValidationError) as e:
			frappe.db.rollback(save_point=WRITE_SAVEPOINT)
			# Frappe's own message of a taken name is the tuple (doctype, name, database error).
			return NameTaken(doc) if isinstance(e, frappe.DuplicateEntryError) else e
		frappe.db.release_savepoint(WRITE_SAVEPOINT)
		self._written([doc])
		return doc.name

	def _written(self, docs: list[Any]) -> None:
		"""What `insert()` does after its INSERT that the bulk insert does: the document's flags, the "*" hooks it
		runs once per batch (`STAR_HOOKS`), following the documents for a user who follows what they create."""
		for event, handler in self.per_batch_hooks:
			frappe.get_attr(handler)(docs[-1], event)
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
