"""A plain value with the attributes of `_core.Event` that the app's planning reads.

The plain-logic tests build exact event sequences with it (same seconds, missing serials, odd IDs) that would
be awkward to provoke from the simulator; the tests against the real extension live in test_core.py.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Ev:
	serial_no: int | None
	employee_no: str | None
	time: datetime
	log_type: str | None = None
	major: int = 5
	minor: int = 75
	verify_method: str | None = "face"
	is_punch: bool = True
	card_no: str | None = None
	name: str | None = None
	door_no: int | None = None
	reader_no: int | None = None
