"""Run 2: two scheduler and three fetcher replicas; each app service's broker connection and
then its database connection cut (through a TCP proxy) and restored at a different moment;
after the class is final, every captured event is delivered again, newest first, and older
participant snapshots arrive again under new ids, after newer ones."""
from __future__ import annotations

import json

import aio_pika
import aiohttp
import pytest
import pytest_asyncio

from scripts.system import APP_SERVICES
from tests.e2e.conftest import ADMIN, BILLING
from tests.faults.conftest import Isolation, Step, drained, landed_on_time, running_system, tap_for
from tests.faults.outcome import (  # noqa: F401
    Run,
    test_attendance_logs_equal_the_fault_free_run,
    test_bills_and_payroll_equal_the_fault_free_run,
    test_exactly_one_finalization_with_the_exact_logs,
    work_queues_drained,
)
from tests.support.story import Story, Tap, quiet
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300), pytest.mark.asyncio(loop_scope="module")]

REPLICAS = {"scheduler": 2, "meet-fetcher": 3}
# (service, link, seconds from S to cut, seconds from S to restore)
CUTS = (
    ("scheduler", "amqp", -2, 2),
    ("meet-fetcher", "amqp", 5, 9),
    ("attendance", "amqp", 12, 16),
    ("billing", "amqp", 19, 23),
    ("scheduler", "db", 26, 30),
    ("meet-fetcher", "db", 33, 37),
    ("attendance", "db", 40, 44),
    ("billing", "db", 47, 51),
    ("scheduler", "db", 58, 62),      # the end of the class and its final fetch request
    ("attendance", "amqp", 63, 67),   # the snapshots that finalize the class
)
REPLAYED = ("meet.participants.fetched", "attendance.log.updated", "class.")


async def cut_and_restore(story: Story, proxies: dict[tuple[str, str], TcpProxy]) -> list[Step]:
    steps = sorted([(cut, "sever", (svc, link)) for svc, link, cut, _ in CUTS]
                   + [(up, "restore", (svc, link)) for svc, link, _, up in CUTS], key=lambda step: step[0])
    done = []
    for moment, action, key in steps:
        await story.until(moment)
        step = Step(moment, action, key, story.elapsed())
        if action == "sever":
            step.dropped = await proxies[key].sever()
        else:
            await proxies[key].restore()
            step.accepted = proxies[key].connections  # a reconnection adds one
        step.finished_at = story.elapsed()
        done.append(step)
    return done


async def replay(iso: Isolation, tap: Tap) -> int:
    """Publish again every captured event of the replayed kinds, newest first (same ids), then
    every participant snapshot again under a new id, oldest last."""
    events = [e for e in tap.events if e["type"].startswith(REPLAYED)]
    snapshots = [{**e, "id": e["id"] + "-again"} for e in tap.of("meet.participants.fetched")]
    connection = await aio_pika.connect_robust(iso.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(iso.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for event in [*reversed(events), *reversed(snapshots)]:
            await exchange.publish(aio_pika.Message(
                json.dumps(event).encode(), content_type="application/cloudevents+json", message_id=event["id"],
                type=event["type"], delivery_mode=aio_pika.DeliveryMode.PERSISTENT), event["type"])
    finally:
        await connection.close()
    return len(events) + len(snapshots)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def outcome(isolation):
    iso = isolation
    proxies = {}
    for service in APP_SERVICES:
        proxies[service, "amqp"] = await TcpProxy.for_url(iso.amqp_url).start()
        proxies[service, "db"] = await TcpProxy.for_url(iso.database_url).start()
    overrides = {service: {"AMQP_URL": proxies[service, "amqp"].url(iso.amqp_url),
                           "DATABASE_URL": proxies[service, "db"].url(iso.database_url)} for service in APP_SERVICES}
    try:
        async with running_system(iso, replicas=REPLICAS, overrides=overrides) as system:
            tap = await tap_for(iso)
            try:
                async with aiohttp.ClientSession() as http:
                    story = Story(http, {name: system.url(name) for name in system.processes}, ADMIN)
                    await story.schedule(lead_s=6)
                    done = await cut_and_restore(story, proxies)
                    await eventually(lambda: bool(tap.of("attendance.class.finalized")), timeout=90)
                    await drained(iso)
                    seen = {e["id"] for e in tap.events}
                    replayed = await replay(iso, tap)
                    await eventually(lambda: len(tap.events) >= len(seen) + replayed, timeout=30)
                    dlq = await drained(iso)
                    # The replayed requests answered and handled, what they caused published.
                    await quiet(story, tap, database_url=iso.database_url, amqp_url=iso.amqp_url,
                                queues=iso.work_queues)
                    await story.collect(BILLING)
                    for name in system.processes:  # every replica survived and serves again
                        await system.wait_ready(name, timeout=30)
            except Exception:
                print(system.logbook.tail(300))
                raise
            finally:
                await tap.close()
    finally:
        for proxy in proxies.values():
            await proxy.close()
    fresh = [e for e in tap.events if e["id"] not in seen and not e["id"].endswith("-again")]
    yield Run(story, tap, dlq, notes={"done": done, "fresh": fresh, "replayed": replayed,
                                      "proxies": {f"{s}/{l}": p.connections for (s, l), p in proxies.items()}})


async def test_every_link_was_cut_and_the_services_reconnected(outcome: Run):
    done = outcome.notes["done"]
    assert [(s.moment, s.action, s.what) for s in done] == sorted(
        [(c, "sever", (s, l)) for s, l, c, _ in CUTS] + [(u, "restore", (s, l)) for s, l, _, u in CUTS])
    assert all(landed_on_time(step) for step in done), [s for s in done if not landed_on_time(s)]
    # Each cut dropped live connections: the service was connected through that link then.
    cuts = [s for s in done if s.action == "sever"]
    assert all(s.dropped for s in cuts), cuts
    # After each restore the service connected through the link again: it came back.
    final = outcome.notes["proxies"]
    restores = [s for s in done if s.action == "restore"]
    assert all(final["/".join(s.what)] > s.accepted for s in restores), (restores, final)


async def test_replayed_events_changed_nothing(outcome: Run):
    assert outcome.notes["replayed"] > 20
    kinds = sorted({e["type"] for e in outcome.notes["fresh"]})
    assert not [k for k in kinds if k.startswith("attendance.")], kinds


# This run once found healthy messages in a DLQ: a database outage used up a handler's tries.
# Outages now retry for CONSUMER_OUTAGE_WINDOW_S without using tries (academy_common.bus).
async def test_work_queues_drained_and_no_dead_letters(outcome: Run):
    work_queues_drained(outcome)
