"""What every fault run must end with, whatever broke: the fault-free figures to the second and
the cent, one finalization, nothing stuck in a work queue, no dead letter. Fault modules import
these tests; each provides a module-scoped `outcome` fixture (a Run)."""
from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.story import Story, Tap, check_logs, check_money, latest_logs


@dataclass
class Run:
    story: Story
    tap: Tap
    dlq: dict[str, int]
    meet_stats: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # what each module wants to check about its faults


async def test_attendance_logs_equal_the_fault_free_run(outcome: Run):
    check_logs(outcome.story.logs, outcome.story.start)


async def test_bills_and_payroll_equal_the_fault_free_run(outcome: Run):
    check_money(outcome.story.bills, outcome.story.payroll)


async def test_exactly_one_finalization_with_the_exact_logs(outcome: Run):
    finalized = outcome.tap.of("attendance.class.finalized")
    assert len(finalized) == 1, [e["id"] for e in finalized]
    check_logs(finalized[0]["data"]["logs"], outcome.story.start)
    check_logs(latest_logs(outcome.tap.of("attendance.log.updated")), outcome.story.start)


def work_queues_drained(outcome: Run) -> None:
    assert outcome.dlq == {queue: 0 for queue in outcome.dlq}, outcome.dlq


async def test_work_queues_drained_and_no_dead_letters(outcome: Run):
    work_queues_drained(outcome)
