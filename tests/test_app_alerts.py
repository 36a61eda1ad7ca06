"""One announcement when a device's incident starts, one when it ends, none per health check in between."""

from datetime import datetime, timedelta

import pytest

from attendance_sync.logic import alerts as A
from attendance_sync.logic import schedule as S


@pytest.mark.parametrize(
	("health", "auth_blocked", "expected"),
	[
		(S.ATTENTION, False, S.ATTENTION),
		(S.STALE, False, S.STALE),
		(S.FAILING, True, A.LOGIN_REJECTED),
		(S.FAILING, False, None),
		(S.SYNCED, False, None),
		(S.NEVER, False, None),
		(S.DISABLED, False, None),
	],
)
def test_which_health_is_an_incident(health, auth_blocked, expected):
	assert A.incident(health, auth_blocked) == expected


def test_an_incident_is_announced_once_and_its_end_once():
	checks = [S.SYNCED, S.STALE, S.STALE, S.STALE, S.SYNCED, S.SYNCED]
	alerted, said = None, []
	for health in checks:
		alerted, announce = A.next_alert(alerted, health, False)
		said.append(announce)
	assert said == [None, A.STARTED, None, None, A.RECOVERED, None]
	assert alerted is None


def test_another_incident_is_announced_and_a_passing_failure_changes_nothing():
	alerted, announce = A.next_alert(S.ATTENTION, S.STALE, False)
	assert (alerted, announce) == (S.STALE, A.STARTED)
	# A timeout during an incident: the incident goes on, nobody is told twice.
	assert A.next_alert(S.STALE, S.FAILING, False) == (S.STALE, None)
	assert A.next_alert(S.STALE, S.NEVER, False) == (S.STALE, None)
	# A rejected login is its own incident, and ends when a run succeeds.
	assert A.next_alert(S.STALE, S.FAILING, True) == (A.LOGIN_REJECTED, A.STARTED)
	assert A.next_alert(A.LOGIN_REJECTED, S.SYNCED, False) == (None, A.RECOVERED)


def test_disabling_a_device_ends_its_incident_without_a_word():
	assert A.next_alert(S.STALE, S.DISABLED, False) == (None, None)
	# Enabled again and healthy: there was no incident left to end.
	assert A.next_alert(None, S.SYNCED, False) == (None, None)


def test_subjects_name_the_device_and_the_incident():
	assert A.subject("Gate 1", A.STARTED, A.LOGIN_REJECTED) == "Attendance device Gate 1: Login Rejected"
	assert A.subject("Gate 1", A.RECOVERED, None) == "Attendance device Gate 1 is syncing again"


def test_a_failing_device_whose_news_is_stale_is_a_stale_incident():
	"""An unreachable terminal: every run fails, so its health is Failing, never Stale; once its news is older than
	two runs of its frequency it is a Stale incident, announced once."""
	assert A.incident(S.FAILING, False, stale=True) == S.STALE
	assert A.next_alert(None, S.FAILING, False, stale=False) == (None, None)
	assert A.next_alert(None, S.FAILING, False, stale=True) == (S.STALE, A.STARTED)
	assert A.next_alert(S.STALE, S.FAILING, False, stale=True) == (S.STALE, None)
	assert A.next_alert(S.STALE, S.SYNCED, False) == (None, A.RECOVERED)


def test_news_is_stale_after_two_runs_of_the_frequency():
	now = datetime(2024, 3, 10, 12, 0)
	assert not S.is_stale(None, "Hourly", now)
	assert not S.is_stale(now - timedelta(hours=2), "Hourly", now)
	assert S.is_stale(now - timedelta(hours=2, seconds=1), "Hourly", now)
