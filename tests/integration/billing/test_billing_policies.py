"""Billing policies end to end in billing: the API, scope fallback, effective dates, re-pricing
of open months, adjustments for closed ones, late cancellation, no-shows, idempotent replays."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from academy_common.events import new_event
from tests.integration.billing.billing_support import (
    MARCH,
    families,
    family,
    klass,
    log,
    log_data,
    set_rate,
    student,
    teacher_log,
    teachers,
)
from tests.support.closing import close_month
from tests.support.services import ADMIN, VIEWER

MARCH_20 = datetime(2025, 3, 20, 15, 0, tzinfo=UTC)
FAMILY_DEFAULT = "/billing/policies/families/default"
TEACHER_DEFAULT = "/billing/policies/teachers/default"


async def put_policy(api, path: str, **body) -> dict:
    status, document = await api("PUT", path, json={"effective_from": "2025-01-01"} | body)
    assert status == 200, document
    return document


def lines_of(report: dict, key: str = "families") -> dict[tuple[int, int | None], dict]:
    return {(line["class_id"], line.get("student_id")): line for s in report[key] for line in s["lines"]}


async def priced(api, feed, *events) -> None:
    """Family 2 (students 3 and 4), teacher 1, rates 3600 cents an hour (a cent a second)."""
    await feed(family(2, "Smith"), student(3, 2), student(4, 2), *events)
    await set_rate(api, "families", 2, 3600, "2025-01-01")
    await set_rate(api, "teachers", 1, 3600, "2025-01-01")


# -- the API ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path,id_field,scope", [
    (FAMILY_DEFAULT, "family_id", "default"), ("/billing/policies/families/7", "family_id", "family"),
    (TEACHER_DEFAULT, "teacher_id", "default"), ("/billing/policies/teachers/7", "teacher_id", "teacher"),
])
async def test_policy_history_oldest_first_and_the_same_effective_from_replaces(api, path, id_field, scope):
    party_id = None if scope == "default" else 7
    assert (await api("GET", path))[1] == {"scope": scope, id_field: party_id, "policies": []}
    await put_policy(api, path, effective_from="2025-06-01T08:30:00+02:00", minimum_seconds=600)
    await put_policy(api, path, minimum_seconds=900, late_cancel=None)
    document = await put_policy(api, path, minimum_seconds=1200, rounding={"unit_seconds": 60, "mode": "up"})
    assert document["repriced_lines"] == 0
    status, history = await api("GET", path, headers=ADMIN)
    assert status == 200 and history[id_field] == party_id and history["scope"] == scope
    assert [{k: v for k, v in e.items() if k not in ("updated_at", "updated_by")} for e in history["policies"]] == [
        {"effective_from": "2025-01-01T00:00:00Z", "minimum_seconds": 1200,
         "rounding": {"unit_seconds": 60, "mode": "up"}},  # replaced whole: late_cancel is left out again
        {"effective_from": "2025-06-01T06:30:00Z", "minimum_seconds": 600},
    ]
    assert history["policies"][0]["updated_by"] == "billing"


INVALID = [
    {"effective_from": "2025-03-01", "surprise": 1},
    {"effective_from": "2025-03-01", "no_students_minimum_seconds": 60},  # a teacher field on a family
    {"effective_from": "2025-03-01", "rounding": {"unit_seconds": 0, "mode": "up"}},
    {"effective_from": "2025-03-01", "rounding": {"unit_seconds": 60, "mode": "sideways"}},
    {"effective_from": "2025-03-01", "full_lesson_percent": 0},
    {"effective_from": "2025-03-01", "full_lesson_percent": 101},
    {"effective_from": "2025-03-01", "no_show_percent": -1},
    {"effective_from": "2025-03-01", "late_cancel": {"within_hours": 24, "percent": 150}},
    {"effective_from": "2025-03-01T00:00:00", "minimum_seconds": 60},  # naive date-time
    {"effective_from": 20250301, "minimum_seconds": 60},
    {"minimum_seconds": 60},
    [{"effective_from": "2025-03-01"}],
]


@pytest.mark.parametrize("path", [FAMILY_DEFAULT, "/billing/policies/families/4"])
async def test_invalid_policies_are_422_and_store_nothing(api, path):
    for body in INVALID:
        status, problem = await api("PUT", path, json=body)
        assert status == 422 and problem["status"] == 422 and problem["detail"], (body, problem)
    assert (await api("GET", path))[1]["policies"] == []


async def test_a_teacher_field_is_refused_on_a_family_and_the_reverse(api):
    status, _ = await api("PUT", TEACHER_DEFAULT, json={"effective_from": "2025-03-01", "no_show_percent": 10})
    assert status == 422
    await put_policy(api, TEACHER_DEFAULT, no_students_minimum_seconds=60)


@pytest.mark.parametrize("path", [FAMILY_DEFAULT, "/billing/policies/families/4", TEACHER_DEFAULT,
                                  "/billing/policies/teachers/4"])
async def test_viewers_may_not_see_or_set_policies(api, path):
    assert (await api("GET", path, headers=VIEWER))[0] == 403
    assert (await api("PUT", path, headers=VIEWER, json={"effective_from": "2025-03-01"}))[0] == 403
    assert (await api("GET", path))[1]["policies"] == []


# -- pricing ------------------------------------------------------------------------------------

async def test_fields_fall_back_from_the_family_to_the_default_scope_to_built_in(api, feed):
    await priced(api, feed, family(5, "Jones"), student(6, 5),
                 klass(10, MARCH, students=((3, 2), (6, 5))),
                 log(10, MARCH, seconds=600), log(10, MARCH, student_id=6, family_id=5, seconds=3125))
    await set_rate(api, "families", 5, 3600, "2025-01-01")
    await put_policy(api, FAMILY_DEFAULT, minimum_seconds=1800, rounding={"unit_seconds": 900, "mode": "up"})
    await put_policy(api, "/billing/policies/families/5", rounding={"unit_seconds": 60, "mode": "down"})
    lines = lines_of(await families(api, 2025, 3))
    # family 2: both fields from the default scope; family 5: its own rounding, the default minimum
    assert (lines[(10, 3)]["billed_seconds"], lines[(10, 3)]["rule"]) == (1800, "minimum")
    assert (lines[(10, 6)]["billed_seconds"], lines[(10, 6)]["rule"]) == (3120, "measured")
    assert lines[(10, 6)]["rule_detail"] == "attended 52:05, rounded down to 1:00 → billed 52:00"
    assert (lines[(10, 6)]["measured_seconds"], lines[(10, 6)]["amount_cents"]) == (3125, 3120)


async def test_the_entry_in_force_at_the_class_start_prices_it(api, feed):
    await priced(api, feed, klass(10, MARCH), klass(11, MARCH_20),
                 log(10, MARCH, seconds=600), log(11, MARCH_20, seconds=600))
    document = await put_policy(api, "/billing/policies/families/2", effective_from="2025-03-15",
                                minimum_seconds=1800)
    assert document["repriced_lines"] == 1
    lines = lines_of(await families(api, 2025, 3))
    assert lines[(10, 3)]["billed_seconds"] == 600 and lines[(11, 3)]["billed_seconds"] == 1800
    # a default-scope entry from before: the class of March 10 takes it, March 20 keeps its own
    await put_policy(api, FAMILY_DEFAULT, effective_from="2025-03-01", minimum_seconds=1200)
    lines = lines_of(await families(api, 2025, 3))
    assert lines[(10, 3)]["billed_seconds"] == 1200 and lines[(11, 3)]["billed_seconds"] == 1800


async def test_a_policy_change_reprices_the_open_month_and_its_totals(api, feed, service):
    await priced(api, feed, klass(10, MARCH, students=((3, 2), (4, 2))),
                 log(10, MARCH, seconds=2880), log(10, MARCH, student_id=4, seconds=600),
                 teacher_log(10, MARCH, seconds=3000))
    before = await families(api, 2025, 3)
    assert before["totals"][0]["amount_cents"] == 3480
    document = await put_policy(api, FAMILY_DEFAULT, full_lesson_percent=80, minimum_seconds=900)
    assert document["repriced_lines"] == 2
    report = await families(api, 2025, 3)
    lines = lines_of(report)
    assert (lines[(10, 3)]["billed_seconds"], lines[(10, 3)]["rule"]) == (3600, "full_lesson")
    assert lines[(10, 3)]["rule_detail"] == "attended 48:00 of 60:00 ≥ 80% → billed 60:00"
    assert (lines[(10, 4)]["billed_seconds"], lines[(10, 4)]["rule"]) == (900, "minimum")
    assert report["totals"] == [{"currency": "EUR", "amount_cents": 4500, "billable_seconds": 3480,
                                 "billed_seconds": 4500}]
    assert report["families"][0]["totals_by_rule"] == [
        {"currency": "EUR", "rule": "full_lesson", "lines": 1, "billed_seconds": 3600, "amount_cents": 3600},
        {"currency": "EUR", "rule": "minimum", "lines": 1, "billed_seconds": 900, "amount_cents": 900}]
    assert (await teachers(api, 2025, 3))["totals"][0]["amount_cents"] == 3000  # a family policy
    await assert_running_totals_match_the_lines(service.pool)


async def assert_running_totals_match_the_lines(pool) -> None:
    """The month_totals trigger kept up with every re-pricing."""
    drift = await pool.fetch(
        """SELECT * FROM (SELECT party, month, party_id, coalesce(currency, '') AS currency,
                                 coalesce(sum(amount_cents), 0) AS amount_cents, sum(billed_seconds) AS billed_seconds,
                                 count(*) AS lines
                          FROM attendance_lines WHERE counted GROUP BY 1, 2, 3, 4) AS l
           FULL JOIN month_totals t USING (party, month, party_id, currency)
           WHERE (l.amount_cents, l.billed_seconds, l.lines) IS DISTINCT FROM
                 (t.amount_cents, t.billed_seconds, t.lines)""")
    assert drift == []


async def test_a_policy_change_after_close_comes_as_an_adjustment(api, feed):
    await priced(api, feed, klass(10, MARCH), log(10, MARCH, seconds=600), teacher_log(10, MARCH, seconds=600))
    await close_month(api, "2025-03")
    await put_policy(api, FAMILY_DEFAULT, minimum_seconds=1800)
    await put_policy(api, TEACHER_DEFAULT, rounding={"unit_seconds": 900, "mode": "up"})
    assert (await families(api, 2025, 3))["totals"][0]["amount_cents"] == 600  # the closed bill stays
    [adjustment] = (await families(api, 2025, 4))["families"][0]["lines"]
    assert (adjustment["kind"], adjustment["class_id"], adjustment["billed_seconds"], adjustment["amount_cents"],
            adjustment["rule"]) == ("adjustment", 10, 1200, 1200, "minimum")
    assert adjustment["reference"] == {"period": "2025-03", "class_id": 10}
    [paid] = (await teachers(api, 2025, 4))["teachers"][0]["lines"]
    assert (paid["billed_seconds"], paid["amount_cents"]) == (300, 300)


# -- cancellations and absences -------------------------------------------------------------------

def cancellation(class_id: int, start: datetime, before: timedelta, **kwargs):
    event = klass(class_id, start, version=2, status="cancelled", type="class.cancelled", **kwargs)
    return event.model_copy(update={"time": start - before})


async def test_a_late_cancellation_bills_the_roster_and_pays_the_teacher(api, feed, service):
    await put_policy(api, FAMILY_DEFAULT, late_cancel={"within_hours": 24, "percent": 50})
    await put_policy(api, "/billing/policies/teachers/1", late_cancel={"within_hours": 12, "percent": 25})
    start_11 = MARCH + timedelta(days=2)
    await priced(api, feed, klass(10, MARCH, students=((3, 2), (4, 2))), klass(11, start_11),
                 cancellation(10, MARCH, timedelta(hours=3), students=((3, 2), (4, 2))),
                 cancellation(11, start_11, timedelta(hours=24)))  # 24 h before: in time
    report = await families(api, 2025, 3)
    lines = lines_of(report)
    assert set(lines) == {(10, 3), (10, 4)}
    assert [(line["billed_seconds"], line["rule"], line["amount_cents"]) for line in lines.values()] == \
        [(1800, "late_cancel", 1800)] * 2
    assert lines[(10, 3)]["rule_detail"] == \
        "cancelled 3 h 00 min before the start (less than 24 h): 50% of 60:00 → billed 30:00"
    [paid] = (await teachers(api, 2025, 3))["teachers"][0]["lines"]
    assert (paid["class_id"], paid["billed_seconds"], paid["rule"]) == (10, 900, "late_cancel")
    # attendance empties the logs it had computed: the roster is still billed
    await feed(log(10, MARCH, seconds=0, removed=True, version=3))
    assert lines_of(await families(api, 2025, 3))[(10, 3)]["amount_cents"] == 1800
    await assert_running_totals_match_the_lines(service.pool)


async def test_a_cancellation_without_a_late_cancel_policy_bills_nothing(api, feed):
    await priced(api, feed, klass(10, MARCH), cancellation(10, MARCH, timedelta(hours=1)))
    assert (await families(api, 2025, 3))["families"] == []
    await put_policy(api, FAMILY_DEFAULT, late_cancel={"within_hours": 2, "percent": 100})  # set afterwards
    assert (await families(api, 2025, 3))["totals"][0]["amount_cents"] == 3600


async def test_no_shows_bill_a_share_unless_no_meeting_was_found(api, feed):
    await put_policy(api, FAMILY_DEFAULT, no_show_percent=50)
    await put_policy(api, TEACHER_DEFAULT, no_students_minimum_seconds=2700)
    await priced(api, feed, klass(10, MARCH, students=((3, 2), (4, 2))), klass(11, MARCH_20),
                 klass(12, MARCH_20 + timedelta(days=1)),
                 log(10, MARCH, seconds=0), log(10, MARCH, student_id=4, seconds=3600),
                 teacher_log(10, MARCH, seconds=3600),
                 log(11, MARCH_20, seconds=0),  # the teacher did not come either
                 log(12, MARCH_20 + timedelta(days=1), seconds=0), teacher_log(12, MARCH_20 + timedelta(days=1),
                                                                                seconds=1200))
    lines = lines_of(await families(api, 2025, 3))
    assert (lines[(10, 3)]["billed_seconds"], lines[(10, 3)]["rule"]) == (1800, "no_show")
    assert (lines[(11, 3)]["billed_seconds"], lines[(11, 3)]["rule"]) == (0, "measured")
    assert (lines[(12, 3)]["billed_seconds"], lines[(12, 3)]["rule"]) == (1800, "no_show")
    paid = lines_of(await teachers(api, 2025, 3), "teachers")
    assert (paid[(12, None)]["billed_seconds"], paid[(12, None)]["rule"]) == (2700, "no_students_minimum")
    assert paid[(10, None)]["rule"] == "measured"
    # the student's late log arrives: no longer a no-show, and the teacher no longer alone
    await feed(log(12, MARCH_20 + timedelta(days=1), seconds=600, version=2))
    assert lines_of(await families(api, 2025, 3))[(12, 3)]["billed_seconds"] == 600
    assert lines_of(await teachers(api, 2025, 3), "teachers")[(12, None)]["billed_seconds"] == 1200


async def test_a_class_without_a_meeting_bills_no_shows_nothing(api, feed):
    await put_policy(api, FAMILY_DEFAULT, no_show_percent=100)
    no_meeting = {"final_reason": "no_meeting_found"}
    await priced(api, feed, klass(10, MARCH),
                 new_event("attendance.log.updated", log_data(10, MARCH, seconds=0) | no_meeting, source="/test"),
                 # the teacher's log corrected to say the lesson happened outside Meet
                 new_event("attendance.log.updated",
                           log_data(10, MARCH, role="teacher", teacher_id=1, seconds=3600, corrected=True)
                           | no_meeting, source="/test"))
    [line] = (await families(api, 2025, 3))["families"][0]["lines"]
    assert (line["billed_seconds"], line["rule"]) == (0, "measured")


async def test_replayed_events_leave_the_prices_as_they_are(api, feed, service):
    await put_policy(api, FAMILY_DEFAULT, no_show_percent=50, minimum_seconds=1800)
    events = [klass(10, MARCH, students=((3, 2), (4, 2))), log(10, MARCH, seconds=0),
              log(10, MARCH, student_id=4, seconds=60), teacher_log(10, MARCH, seconds=3600)]
    await priced(api, feed, *events)
    first = await families(api, 2025, 3)
    await feed(*events)
    await feed(*[e.model_copy(update={"id": e.id + "-again"}) for e in events])
    assert await families(api, 2025, 3) == first
    assert first["totals"][0]["amount_cents"] == 3600
    await assert_running_totals_match_the_lines(service.pool)
