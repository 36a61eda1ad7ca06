"""The dotted paths of version 0.1's job methods, for what an upgrade finds already stored.

The jobs live in `jobs` and `maintenance`, and hooks.py names those. Two kinds of stored reference outlive an
upgrade for a while and name the methods here:
- jobs queued in Redis before the upgrade (a device sync, a Reprocess of the punches of a newly mapped
  Employee) store their method as a dotted path, which the worker resolves when it runs them;
- Scheduled Job Type records keep the old paths until `bench migrate` syncs them from hooks.py (it inserts the
  new ones and deletes these), and a scheduler tick between the code update and the migrate runs them.
Nothing in the app imports this module.
"""

from attendance_sync.attendance_sync.doctype.device_punch.device_punch import reprocess
from attendance_sync.attendance_sync.jobs import scheduled_daily, scheduled_tick, sync_device
from attendance_sync.attendance_sync.maintenance import prune_punches

__all__ = ["prune_punches", "reprocess", "scheduled_daily", "scheduled_tick", "sync_device"]
