"""The compiled core of Attendance Sync: its public names, typed by `_core.pyi`, re-exported here (as
pydantic_core does) so that `from attendance_sync_core import fetch_events` carries its types."""

from attendance_sync_core._core import *  # every public name of the extension and its stubs
from attendance_sync_core._core import __version__
