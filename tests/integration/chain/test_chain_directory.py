"""Directory edits after scheduling, through attendance into billing: the family's bill stays right."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from academy_common.events import rfc3339
from tests.support.closing import close_month
from tests.support.waiting import eventually

START = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
SMITH, JONES = 2, 9
ADA = {"teacher_id": 1, "name": "Ada", "email": "ada@school.org", "active": True, "version": 1}
BO = {"student_id": 3, "family_id": SMITH, "name": "Bo", "email": "bo@school.org", "active": True, "version": 1}
CY = {"student_id": 4, "family_id": SMITH, "name": "Cy", "email": "cy@school.org", "active": True, "version": 1}


def at(minutes: float) -> str:
    return rfc3339(START + timedelta(minutes=minutes))


def scheduled() -> dict:
    return {"class_id": 7, "version": 1, "status": "scheduled", "title": "Algebra", "scheduled_start": at(0),
            "scheduled_end": at(60), "duration_minutes": 60, "space_name": "spaces/AbC",
            "meeting_code": "abc-defg-hij", "meeting_uri": "https://meet.google.com/abc-defg-hij",
            "teacher": {k: ADA[k] for k in ("teacher_id", "name", "email")},
            "students": [{k: s[k] for k in ("student_id", "family_id", "name", "email")} for s in (BO, CY)]}


def participant(pid: str, email: str, start: float, end: float) -> dict:
    name = f"conferenceRecords/c1/participants/{pid}"
    return {"name": name, "kind": "signedin", "user": f"users/{pid}", "email": email, "display_name": pid,
            "sessions": [{"name": f"{name}/participantSessions/s0", "start_time": at(start), "end_time": at(end)}]}


def final_snapshot(*participants: dict) -> dict:
    return {"class_id": 7, "session_id": "0b7f3c1e-2d4a-4b6c-9d8e-7f6a5b4c3d2e", "request_id": "r", "reason": "final",
            "fetched_at": at(70), "space_name": "spaces/AbC", "scheduled_start": at(0), "scheduled_end": at(60),
            "all_ended": True, "conference_records": [{"name": "conferenceRecords/c1", "start_time": at(-5),
                                                       "end_time": at(65), "participants": list(participants)}]}


async def _a_class_after_emails_changed(chain) -> None:
    """Rates 36.00/h (Smith, Ada) and 60.00/h (Jones): a minute is 60 (100) cents."""
    for family_id, name in ((SMITH, "Smith"), (JONES, "Jones")):
        await chain.publish("family.upserted", {"family_id": family_id, "name": name, "email": f"{name}@x.org",
                                                "active": True, "version": 1})
    for party, cents in (("families/2", 3600), ("families/9", 6000), ("teachers/1", 3600)):
        status, body = await chain.billing("PUT", f"/billing/rates/{party}", json={
            "hourly_rate_cents": cents, "currency": "EUR", "effective_from": "2025-01-01"})
        assert status == 200, body
    await chain.publish("teacher.upserted", ADA)
    for person in (BO, CY):
        await chain.publish("student.upserted", person)
    await chain.publish("class.scheduled", scheduled())
    # After scheduling: both change their email, and join the call under the new one.
    await chain.publish("student.upserted", {**BO, "email": "bo.new@school.org", "version": 2})
    await chain.publish("teacher.upserted", {**ADA, "email": "ada@academy.org", "version": 2})
    await chain.publish("meet.participants.fetched", final_snapshot(
        participant("p0", "ada@academy.org", -2, 60), participant("p1", "bo.new@school.org", 0, 50),
        participant("p2", "cy@school.org", 0, 30)))


async def _bills_become(chain, year: int, month: int, expected: dict) -> None:
    async def reached() -> bool:
        return await chain.family_bills(year, month) == expected

    await eventually(reached)


async def test_an_email_edit_after_scheduling_keeps_the_family_bill_and_a_move_bills_the_new_family(chain):
    await _a_class_after_emails_changed(chain)
    await _bills_become(chain, 2025, 3, {SMITH: [("line", 50 * 60, 3000), ("line", 30 * 60, 1800)]})
    status, payroll = await chain.billing("GET", "/monitoring/payroll/teachers", params={"year": 2025, "month": 3})
    assert status == 200 and [(t["teacher_id"], t["totals"]) for t in payroll["teachers"]] == [
        (1, [{"currency": "EUR", "amount_cents": 3600, "billable_seconds": 3600, "billed_seconds": 3600}])]

    await chain.publish("student.upserted", {**BO, "email": "bo.new@school.org", "family_id": JONES, "version": 3})
    await _bills_become(chain, 2025, 3, {SMITH: [("line", 30 * 60, 1800)], JONES: [("line", 50 * 60, 5000)]})


async def test_a_move_after_the_month_closed_is_an_adjustment_for_both_families(chain):
    await _a_class_after_emails_changed(chain)
    await _bills_become(chain, 2025, 3, {SMITH: [("line", 50 * 60, 3000), ("line", 30 * 60, 1800)]})
    await close_month(chain.billing, "2025-03")

    await chain.publish("student.upserted", {**BO, "email": "bo.new@school.org", "family_id": JONES, "version": 3})
    await _bills_become(chain, 2025, 4, {SMITH: [("adjustment", -50 * 60, -3000)],
                                         JONES: [("adjustment", 50 * 60, 5000)]})
    assert await chain.family_bills(2025, 3) == {SMITH: [("line", 50 * 60, 3000), ("line", 30 * 60, 1800)]}
