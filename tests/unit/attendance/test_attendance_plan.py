"""A class's plan (its log writes) and the merge of what one batch says about each class."""
from __future__ import annotations

from attendance.content import StoredLog, computed_content
from attendance.merge import compute_logs
from attendance.model import ClassState, ClassTouch, FetchState, Policy, merged_touches
from attendance.usecases import plan
from tests.unit.attendance.factories import ROSTER, WINDOW, at, participant, record

BO = participant("p1", [(0, 50)], email="bo@school.org")


def state(**changes) -> ClassState:
    values = {"class_id": 7, "version": 1, "cancelled": False, "window": WINDOW, "space_name": "spaces/AbC", "session_id": None,
                  "fetch": FetchState(at(30)), "final": False}
    return ClassState(**{**values, **changes})


def stored_from(s: ClassState) -> dict[str, StoredLog]:
    logs = compute_logs(WINDOW, ROSTER, [record("c1", -5, None, BO)], {}, Policy(), fetched_at=at(30), final=False)
    return {log.person.person_key: StoredLog(i, 1, computed_content(s.context(), log, final=False),
                                             computed_content(s.context(), log, final=False))
            for i, log in enumerate(logs, start=1)}


def test_a_cancelled_class_vacates_every_stored_log_and_is_never_finalized():
    cancelled = state(cancelled=True, fetch=FetchState(at(95), at(95)))
    result = plan(cancelled, [record("c1", -5, 65, BO)], ROSTER, {}, stored_from(state()), Policy())
    assert result.cancelled and not result.finalizing
    assert [(w.changed, w.version, w.content["removed"], w.content["billable_seconds"]) for w in result.writes] == \
           [(True, 2, True, 0)] * 3


def test_a_cancelled_class_without_logs_writes_nothing():
    assert plan(state(cancelled=True), [record("c1", -5, 65, BO)], ROSTER, {}, {}, Policy()).writes == []


def test_a_class_past_its_grace_is_finalized_once():
    late = state(fetch=FetchState(at(95)))
    assert plan(late, [record("c1", -5, None, BO)], ROSTER, {}, {}, Policy()).finalizing
    assert not plan(state(fetch=FetchState(at(95)), final=True), [], ROSTER, {}, {}, Policy()).finalizing


def test_touches_of_one_class_merge_to_the_first_placeholder_and_the_latest_fetches():
    first = ClassTouch(7, WINDOW, "spaces/AbC", None, FetchState(at(30)))
    lifecycle = ClassTouch(7, WINDOW, None, "session-1")
    later = ClassTouch(7, WINDOW, "spaces/Other", "session-2", FetchState(at(62), at(62)))
    other = ClassTouch(8, WINDOW)
    assert merged_touches([first, other, lifecycle, later]) == [
        ClassTouch(7, WINDOW, "spaces/AbC", "session-1", FetchState(at(62), at(62))), other]
    assert merged_touches([later, first]) == [ClassTouch(7, WINDOW, "spaces/Other", "session-2",
                                                         FetchState(at(62), at(62)))]
