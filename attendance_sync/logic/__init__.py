"""Plain logic of the Frappe app: no frappe, no `_core`, no device.

The Frappe glue (doctype controllers, `attendance_sync.attendance_sync.jobs` and its siblings) reads documents,
calls these functions and writes their results. Keeping the rules here lets pytest prove them outside a bench.
"""
