"""When a change in a device's health tells people: once when an incident starts, once when it ends.

An incident is a health someone has to act on: Needs Attention (punches that did not become check-ins, or a held
Shift Type), Stale (no complete sync for two runs of its frequency, or no push) and Login Rejected (the terminal
refused the password; the device is not tried again until it is fixed). The device remembers the incident it
announced (Alerted Health), so the health check every 15 minutes and after every run tells nobody twice.
"""

from attendance_sync.logic import schedule
from attendance_sync.logic.i18n import _

LOGIN_REJECTED = "Login Rejected"
# What an Alerted Health can hold.
INCIDENTS = (schedule.ATTENTION, schedule.STALE, LOGIN_REJECTED)

STARTED = "started"
RECOVERED = "recovered"


def incident(health: str, auth_blocked: bool, stale: bool = False) -> str | None:
	"""The incident a device's health is, or None when nobody needs to act. `stale`: its news (complete sync, or
	last push) is older than two runs of its frequency; a device whose every run fails (an unreachable terminal)
	shows Failing, and is a Stale incident once its news is that old."""
	if health == schedule.FAILING:
		if auth_blocked:
			return LOGIN_REJECTED
		return schedule.STALE if stale else None
	return health if health in INCIDENTS else None


def next_alert(
	alerted: str | None, health: str, auth_blocked: bool, stale: bool = False
) -> tuple[str | None, str | None]:
	"""(the incident the device now records as announced, what to announce: STARTED, RECOVERED or None).

	Another incident (Needs Attention turning Stale) is announced too; a failed run that is not a rejected login
	(a timeout, an outage) neither starts nor ends one until the device's news is stale, since the next runs say
	more; Synced ends it; an administrator who disables the device ends it without an announcement."""
	now = incident(health, auth_blocked, stale)
	if now is not None:
		return now, (STARTED if now != alerted else None)
	if alerted and health == schedule.SYNCED:
		return None, RECOVERED
	if health == schedule.DISABLED:
		return None, None
	return alerted, None


def subject(device: str, announce: str, incident_name: str | None) -> str:
	"""The notification's subject line."""
	if announce == RECOVERED:
		return _("Attendance device {0} is syncing again").format(device)
	return _("Attendance device {0}: {1}").format(device, _(incident_name or ""))
