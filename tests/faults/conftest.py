"""Fault runs: the whole system as processes, each run in a database and vhost of its own
(a run leaves durable queues and rows behind; the next must not see them): a fresh database,
and in the test session's vhost an exchange and queue names of the run's own."""
from __future__ import annotations

from dataclasses import dataclass

import aio_pika

from tests.e2e.conftest import running_system as e2e_running_system
from tests.support.isolation import Isolation, isolation  # noqa: F401 (the fixture, for the fault tests)
from tests.support.story import WORK_QUEUES, Tap, queues_empty
from tests.support.waiting import eventually, queue_depth

# Every event the re-publishing checks need (attendance.#, meet.#, class.#).
TAP_KEYS = ("attendance.#", "meet.#", "class.#")


# A fault lands at its moment when applied within this many seconds of it: well inside every
# window the fault modules schedule (a service is down or cut for 3 s at least).
LANDED_WITHIN_S = 1.5


@dataclass
class Step:
    """One fault applied: when it was due and when it was applied (seconds from S), and what
    shows it hit (the process it killed was running and died of the signal, the link it cut
    carried live connections, and took a new one after its restore)."""
    moment: float
    action: str
    what: object
    at: float
    finished_at: float = 0.0
    alive_before: bool | None = None
    code: int | None = None
    dropped: int | None = None   # live connections a cut dropped
    accepted: int | None = None  # connections the link had accepted when it was restored


def landed_on_time(step: Step) -> bool:
    return step.moment <= step.at <= step.moment + LANDED_WITHIN_S


def running_system(iso: Isolation, **options):
    """A started System in this run's database, exchange and queue names (see tests/e2e)."""
    return e2e_running_system(iso.database_url, iso.amqp_url, iso.env, **options)


async def tap_for(iso: Isolation) -> Tap:
    tap = Tap(TAP_KEYS, queue=iso.queue("outside-subscriber"), exchange=iso.exchange)
    await tap.start(iso.amqp_url)
    return tap


async def drained(iso: Isolation, timeout: float = 30) -> dict[str, int]:
    """Wait until every work queue (and its retry queue) is empty, no message ready nor being
    handled; return the depth of each DLQ."""
    await eventually(lambda: queues_empty(iso.amqp_url, iso.work_queues), timeout=timeout, interval=0.5)
    connection = await aio_pika.connect_robust(iso.amqp_url)
    try:
        return {q: await queue_depth(connection, iso.queue(f"{q}.dlq")) for q in WORK_QUEUES}
    finally:
        await connection.close()
