"""Database advisory locks: shared by every worker process and machine that uses the site's database.

RQ's job deduplication keeps one queued job per device, but only a lock in the database makes two runs of
one device (or two check-in writers) exclusive across machines, and releases itself if a worker dies.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import frappe


def _key(name: str) -> str:
	# MariaDB lock names are limited to 64 characters and the server may host several sites.
	return hashlib.sha1(f"{frappe.local.site}:{name}".encode()).hexdigest()


@contextmanager
def advisory_lock(name: str, timeout: float = 0) -> Iterator[bool]:
	"""Hold the lock `name` for the block; yields False (without holding it) if not had within `timeout` s."""
	key = _key(name)
	if frappe.db.db_type == "postgres":
		lock_id = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
		deadline = time.monotonic() + timeout
		while not frappe.db.sql("select pg_try_advisory_lock(%s)", (lock_id,))[0][0]:
			if time.monotonic() >= deadline:
				yield False
				return
			time.sleep(0.2)
		try:
			yield True
		finally:
			try:
				frappe.db.sql("select pg_advisory_unlock(%s)", (lock_id,))
			except Exception:
				# An error inside the block aborts the transaction, and the unlock with it.
				frappe.db.rollback()
				frappe.db.sql("select pg_advisory_unlock(%s)", (lock_id,))
		return

	acquired = frappe.db.sql("select get_lock(%s, %s)", (key, timeout))[0][0]
	if acquired != 1:
		yield False
		return
	try:
		yield True
	finally:
		frappe.db.sql("select release_lock(%s)", (key,))
