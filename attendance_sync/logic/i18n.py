"""`_()` for user-facing strings of the plain modules.

Inside a bench this is Frappe's translator, so the strings are extracted and translated like any other; outside
one (pytest) it returns the text unchanged.
"""

try:
	from frappe import _
except ImportError:

	def _(msg: str, lang: str | None = None, context: str | None = None) -> str:
		return msg


__all__ = ["_"]
