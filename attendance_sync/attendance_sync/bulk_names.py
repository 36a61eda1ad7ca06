"""Employee Checkin names for a bulk insert, as the naming series gives them to `doc.insert()`.

The doctype's series is parsed per row with `frappe.model.naming.parse_naming_series` and the numbers of all
rows that pass are reserved in one step per series key (the `tabSeries` row locked and moved by N, as
`getseries` moves it by 1), in row order, so names come out as the loop would give them.
"""

from dataclasses import dataclass
from typing import Any

import frappe
from frappe import _
from frappe.model.naming import NamingSeries, parse_naming_series, validate_name
from frappe.utils import cint

from attendance_sync.attendance_sync.common import CHECKIN as DOCTYPE

TOKEN = "\x00attendance-sync-series\x00"


class NameTaken(frappe.DuplicateEntryError):
	"""A check-in's name is taken by a stored row: the naming series is behind the table (check-ins imported with
	their names, a series set back by hand). `skip_taken_number` moves the series past it."""

	def __init__(self, doc: Any) -> None:
		super().__init__(
			_(
				"{0} {1} already exists: the naming series is behind the stored check-ins. This number is now "
				"skipped"
			).format(_(DOCTYPE), doc.name)
		)
		self.doc = doc


def skip_taken_number(doc: Any) -> None:
	"""Take the number of `doc`'s name from its series, once the failed insert that had taken it is rolled back:
	the next check-in gets the number after it, not the taken name again."""
	reserve(SeriesName.of(doc, frappe.get_meta(DOCTYPE).autoname).prefix, 1)


@dataclass(frozen=True)
class SeriesName:
	"""A name `set_new_name` would give, with its series number left out: `prefix` is the series key (the
	`tabSeries` row), `text` the name with `TOKEN` where the number goes."""

	prefix: str
	digits: int
	text: str

	@classmethod
	def of(cls, doc: Any, autoname: str) -> "SeriesName":
		series = NamingSeries(autoname)
		series.validate()
		keys: list[tuple[str, int]] = []

		def number(prefix: str, digits: int) -> str:
			keys.append((prefix, digits))
			return TOKEN

		text = parse_naming_series(series.series.split("."), doc=doc, number_generator=number)
		return cls(prefix=keys[0][0], digits=keys[0][1], text=text)

	@property
	def placeholder(self) -> str:
		# A name no row has, for the checks that exclude the document itself before its number is known.
		return self.text.replace(TOKEN, "?" * self.digits)

	def with_number(self, number: int) -> str:
		return validate_name(DOCTYPE, self.text.replace(TOKEN, str(number).zfill(self.digits)))


def reserve_names(names: list[SeriesName]) -> list[str]:
	"""The names, in order, each series key moved once by its count."""
	counts: dict[str, int] = {}
	for name in names:
		counts[name.prefix] = counts.get(name.prefix, 0) + 1
	following = {prefix: reserve(prefix, count) for prefix, count in counts.items()}
	result = []
	for name in names:
		result.append(name.with_number(following[name.prefix]))
		following[name.prefix] += 1
	return result


def reserve(prefix: str, count: int) -> int:
	"""Reserve `count` numbers of the series `prefix` in one step, as `getseries` takes one; the first."""
	current = frappe.db.sql("SELECT `current` FROM `tabSeries` WHERE `name`=%s FOR UPDATE", (prefix,))
	if current and current[0][0] is not None:
		frappe.db.sql("UPDATE `tabSeries` SET `current` = `current` + %s WHERE `name`=%s", (count, prefix))
		return cint(current[0][0]) + 1
	frappe.db.sql("INSERT INTO `tabSeries` (`name`, `current`) VALUES (%s, %s)", (prefix, count))
	return 1
