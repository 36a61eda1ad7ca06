"""The compiled core, under the app's name.

The Rust core ships as its own distribution, attendance-sync-core (wheels per platform and Python version, so
that a bench installs this app without a Rust toolchain); this module is how the app and its users import it,
with the types of its stubs.
"""

from attendance_sync_core import *  # the core's public names
from attendance_sync_core import __version__
