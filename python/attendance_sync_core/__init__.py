"""The compiled core of Attendance Sync (see `_core.pyi` for its typed surface)."""

from attendance_sync_core._core import __version__

__all__ = ["__version__"]
