"""A device run's fetch as a plan (logic/fetch_plan.py): the search asked for, the verdict on the answer, the
cursors after it."""

from datetime import datetime, timedelta, timezone

from event_values import Ev

from attendance_sync.logic import counters as C
from attendance_sync.logic import fetch_plan as F
from attendance_sync.logic import punches as P
from attendance_sync.logic.windows import Window


def rows(*events: Ev) -> list[P.PunchRow]:
	return P.punch_rows("Gate", events, site_tz="Asia/Dhaka", direction=P.PunchDirection()).rows


def at(hour: int, minute: int = 0) -> datetime:
	return datetime(2024, 3, 1, hour, minute, tzinfo=timezone(timedelta(hours=6)))


def site(hour: int, minute: int = 0) -> datetime:
	return datetime(2024, 3, 1, hour, minute)


OLD = rows(*(Ev(n, "1", at(8, n)) for n in range(1, 6)))
ANCHOR = C.Anchor(serial=5, key=OLD[-1].event_key, time=OLD[-1].time)
STORED = {r.serial_no: {r.event_key} for r in OLD if r.serial_no is not None}
WINDOW = Window(site(9), site(12))


def cursors(**over) -> F.DeviceCursors:
	values = {
		"scheduled": True,
		"synced_up_to": site(9, 10),
		"sync_start": site(0),
		"last_serial": 5,
		"anchor": ANCHOR,
	}
	values.update(over)
	return F.DeviceCursors(**values)


def test_a_scheduled_run_with_an_anchor_searches_by_serial_from_it():
	search = F.first_search(cursors(), WINDOW, serial_search=True)
	assert search.since == 4, "the anchor comes back, to confirm it"
	assert search.window.start <= ANCHOR.time and search.window.end == WINDOW.end
	assert F.first_search(cursors(), WINDOW, serial_search=False) == F.Search(WINDOW)
	assert F.first_search(cursors(anchor=None), WINDOW, serial_search=True) == F.Search(WINDOW)


def judge(answer, *, by_serial=True, failed=False, suspected=False, **over):
	c = cursors(**over)
	search = F.first_search(c, WINDOW, serial_search=True)
	return F.judge_answer(
		c,
		search,
		answered_by_serial=by_serial,
		reset_suspected=suspected,
		failed=failed,
		rows=answer,
		stored_keys=STORED,
	)


def test_the_anchor_back_at_its_time_is_a_healthy_counter():
	verdict = judge([OLD[-1], *rows(Ev(6, "1", at(10)))])
	assert verdict == F.Verdict(None, anchored=True)


def test_an_anchor_missing_from_the_answer_sends_the_run_to_search_by_time():
	verdict = judge(rows(Ev(6, "1", at(10))))
	assert (verdict.anchored, verdict.search_by_time, verdict.confirmed) == (False, True, True)
	# Interrupted: nothing is asked again, and what arrived proves nothing.
	verdict = judge(rows(Ev(6, "1", at(10))), failed=True)
	assert (verdict.anchored, verdict.search_by_time, verdict.confirmed) == (False, False, False)


def test_a_new_event_under_an_old_serial_is_a_restart_even_with_the_anchor_back():
	# The terminal kept its log: the anchor is there, serial 2 is a new event.
	verdict = judge([OLD[-1], *rows(Ev(2, "7", at(11)))])
	assert verdict.reset is not None and verdict.reset.kind == C.RESTARTED
	assert verdict.search_by_time and not verdict.anchored


def test_the_cores_own_search_by_time_means_the_anchor_is_gone():
	verdict = judge(rows(Ev(1, "7", at(11))), by_serial=False, suspected=True)
	assert verdict.reset is not None and not verdict.anchored and not verdict.search_by_time


def test_a_replaced_terminal_is_its_reset():
	replaced = C.terminal_replaced("A", "B")
	verdict = F.judge_answer(
		cursors(anchor=None, replaced=replaced),
		F.Search(WINDOW),
		answered_by_serial=False,
		reset_suspected=False,
		failed=False,
		rows=rows(Ev(1, "7", at(11))),
		stored_keys={},
	)
	assert verdict.reset == replaced


def test_the_time_search_adds_the_restart_the_first_answer_did_not_show():
	first = F.Verdict(None, anchored=False, search_by_time=True)
	after = F.judge_time_search(cursors(), first, rows=rows(Ev(3, "9", at(11, 30))), stored_keys=STORED)
	assert after.reset is not None and not after.search_by_time


def test_the_cursors_stop_where_the_answers_prove_complete():
	answer = [OLD[-1], *rows(Ev(6, "1", at(10)))]
	healthy = F.Verdict(None, anchored=True)
	updates = F.next_cursors(
		cursors(),
		healthy,
		searched=WINDOW,
		complete_until=site(11),
		limit=site(12),
		failed=False,
		rows=answer,
		stored_before={OLD[-1].name},
	)
	assert updates == {"synced_up_to": site(11), "last_serial_no": 6}
	# A failed fetch keeps Last Serial No; an unconfirmed one proves nothing past the search's start.
	unconfirmed = F.Verdict(None, anchored=False, confirmed=False)
	updates = F.next_cursors(
		cursors(),
		unconfirmed,
		searched=WINDOW,
		complete_until=site(11),
		limit=site(12),
		failed=True,
		rows=answer,
		stored_before=set(),
	)
	assert updates == {"synced_up_to": site(9, 10)}
