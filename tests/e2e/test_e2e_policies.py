"""The story's class (tests/support/story.py) billed under non-default billing policies,
through all four services: full lesson, no-show and rounding for families, rounding for the
teacher, each line to the cent with the rule and the sentence that made it.

Policies (from 2020): every family rounds down to 15 s and bills a no-show half the lesson;
the Byron family's own entry adds a full lesson from 80%; teachers round down to 45 s.
Its own system (database schemas and vhost): a default-scope policy must not reach the
other e2e modules' bills.
"""
from __future__ import annotations

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.conftest import ADMIN, BILLING, running_system
from tests.support.story import Story, Tap
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]

FROM_2020 = {"effective_from": "2020-01-01T00:00:00Z"}
# (student, measured, billed, rule, cents at 30.90/h, rule_detail)
EXPECTED_BILLS = {
    "Byron": [
        ("Allegra", 50, 60, "full_lesson", 52, "attended 0:50 of 1:00 ≥ 80% → billed 1:00"),
        ("George", 0, 30, "no_show", 26, "absent, the teacher attended: 50% of 1:00 → billed 0:30"),
    ],
    "Somerville": [("Mary", 48, 45, "measured", 39, "attended 0:48, rounded down to 0:15 → billed 0:45")],
}
# 45 s × 45.00/h = 56.25 → 56
EXPECTED_PAYROLL = {"Ada": [(None, 60, 45, "measured", 56, "attended 1:00, rounded down to 0:45 → billed 0:45")]}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def system(isolation):
    async with running_system(isolation.database_url, isolation.amqp_url, isolation.env) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def story(system, isolation):
    tap = Tap(queue=isolation.queue("outside-subscriber"), exchange=isolation.exchange)
    await tap.start(isolation.amqp_url)
    async with aiohttp.ClientSession() as http:
        story = Story(http, {name: system.url(name) for name in system.processes}, ADMIN)
        billing = story.urls["billing"]
        await story.call("PUT", f"{billing}/billing/policies/families/default", FROM_2020 | {
            "rounding": {"unit_seconds": 15, "mode": "down"}, "no_show_percent": 50})
        await story.call("PUT", f"{billing}/billing/policies/teachers/default", FROM_2020 | {
            "rounding": {"unit_seconds": 45, "mode": "down"}})
        await story.schedule()
        byron = story.families[0]["id"]
        await story.call("PUT", f"{billing}/billing/policies/families/{byron}", FROM_2020 | {
            "full_lesson_percent": 80})
        await eventually(lambda: bool(tap.of("attendance.class.finalized")), timeout=150)
        await story.collect_settled(BILLING)
    yield story
    await tap.close()


def priced(report: dict, key: str) -> dict[str, list[tuple]]:
    return {s["name"]: sorted((line.get("student_name"), line["measured_seconds"], line["billed_seconds"],
                               line["rule"], line["amount_cents"], line["rule_detail"]) for line in s["lines"])
            for s in report[key]}


async def test_family_bills_follow_the_policies_to_the_cent(story):
    assert priced(story.bills, "families") == EXPECTED_BILLS
    totals = {s["name"]: [t["amount_cents"] for t in s["totals"]] for s in story.bills["families"]}
    assert totals == {"Byron": [78], "Somerville": [39]}
    byron = next(s for s in story.bills["families"] if s["name"] == "Byron")
    assert [(t["rule"], t["amount_cents"]) for t in byron["totals_by_rule"]] == [("full_lesson", 52), ("no_show", 26)]


async def test_teacher_payroll_follows_the_policy_to_the_cent(story):
    assert priced(story.payroll, "teachers") == EXPECTED_PAYROLL
    assert story.payroll["totals"][0]["amount_cents"] == 56
