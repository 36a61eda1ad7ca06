"""Database advisory locks: shared by every worker process and machine that uses the site's database.

RQ's job deduplication keeps one queued job per device, but only a lock in the database makes two runs of
one device (or two check-in writers of one employee) exclusive across machines, and releases itself if a worker
dies (the session ends).

`advisory_locks` holds several named locks at once (MariaDB allows many per session; Postgres session advisory
locks likewise). They are taken in one global order, sorted by key: a session waits only for keys greater than
every check-in key it holds, so no cycle of sessions waiting on each other can form. A first attempt takes them
all without waiting (one statement); only when one is busy are the ones had given back and the keys taken again
one by one, in that order, waiting.
"""

import hashlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import frappe

from attendance_sync.attendance_sync.common import chunks, on_postgres

# Keys per statement: far below any packet or placeholder limit.
CHUNK = 500


def _key(name: str) -> str:
	# MariaDB lock names are limited to 64 characters and the server may host several sites.
	return hashlib.sha1(f"{frappe.local.site}:{name}".encode()).hexdigest()


def _pg_id(key: str) -> int:
	return int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)


def _try_all(keys: list[str]) -> list[str]:
	"""Take every key that is free, without waiting; the keys had."""
	had: list[str] = []
	for chunk in chunks(keys, CHUNK):
		if on_postgres():
			sql = "select " + ", ".join(["pg_try_advisory_lock(%s)"] * len(chunk))
			got = frappe.db.sql(sql, [_pg_id(k) for k in chunk])[0]
			had += [k for k, ok in zip(chunk, got, strict=True) if ok]
		else:
			sql = "select " + ", ".join(["get_lock(%s, 0)"] * len(chunk))
			got = frappe.db.sql(sql, chunk)[0]
			had += [k for k, ok in zip(chunk, got, strict=True) if ok == 1]
	return had


def _take(key: str, timeout: float) -> bool:
	"""Take one key, waiting at most `timeout` seconds."""
	if on_postgres():
		deadline = time.monotonic() + timeout
		while not frappe.db.sql("select pg_try_advisory_lock(%s)", (_pg_id(key),))[0][0]:
			if time.monotonic() >= deadline:
				return False
			time.sleep(0.2)
		return True
	return frappe.db.sql("select get_lock(%s, %s)", (key, timeout))[0][0] == 1


def _release(keys: list[str]) -> None:
	for chunk in chunks(keys, CHUNK):
		if on_postgres():
			frappe.db.sql(
				"select " + ", ".join(["pg_advisory_unlock(%s)"] * len(chunk)), [_pg_id(k) for k in chunk]
			)
		else:
			frappe.db.sql("select " + ", ".join(["release_lock(%s)"] * len(chunk)), chunk)


def _release_after(keys: list[str]) -> None:
	try:
		_release(keys)
	except Exception:
		if not on_postgres():
			raise
		# An error inside the block aborts a Postgres transaction, and the unlock with it.
		frappe.db.rollback()
		_release(keys)


def _acquire(keys: list[str], timeout: float) -> bool:
	"""Take every key (sorted) within `timeout` seconds, or none."""
	if len(keys) <= 1:
		return not keys or _take(keys[0], timeout)
	had = _try_all(keys)
	if len(had) == len(keys):
		return True
	# Some key is busy. Holding keys out of order while waiting could deadlock: give them back and take all of
	# them in the global order, waiting.
	_release(had)
	deadline = time.monotonic() + timeout
	held: list[str] = []
	for key in keys:
		if not _take(key, max(deadline - time.monotonic(), 0)):
			_release(held)
			return False
		held.append(key)
	return True


@contextmanager
def advisory_locks(names: Iterable[str], timeout: float = 0) -> Iterator[bool]:
	"""Hold every lock in `names` for the block; yields False (holding none) if not all had within `timeout` s."""
	keys = sorted({_key(name) for name in names})
	if not _acquire(keys, timeout):
		yield False
		return
	try:
		yield True
	finally:
		_release_after(keys)


@contextmanager
def advisory_lock(name: str, timeout: float = 0) -> Iterator[bool]:
	"""Hold the lock `name` for the block; yields False (without holding it) if not had within `timeout` s."""
	with advisory_locks([name], timeout) as acquired:
		yield acquired
