"""Broker-side hops while their target queue is unavailable: a retried message waiting in
Q.retry, and a message over Q's delivery limit on its way to Q.dlq, must not vanish.

RabbitMQ's default dead-lettering (at most once) drops a message whose target cannot take it
at that moment; at-least-once keeps it in the source quorum queue and sends it again. The
broker sends a held message again every `dead_letter_worker_publisher_confirm_timeout` (3 min
by default) and at once when a policy of the source queue changes: the tests set an
innocuous policy on their own source queue (in the test vhost) to take the quick way.
"""
from __future__ import annotations

import subprocess
import urllib.parse

import pytest

from academy_common.bus import Bus, ConsumerSpec
from academy_common.events import new_event
from tests.support.waiting import eventually, get_one, queue_depth

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


@pytest.fixture
async def bus(amqp_url):
    bus = await Bus.connect(amqp_url, max_attempts=3, retry_delay_s=1.5, publish_timeout=5)  # quorum queues
    yield bus
    await bus.close(drain_timeout=2)


@pytest.fixture
def nudge(amqp_url, unique):
    """`nudge(queue)`: change a policy of `queue` only, so it forwards its held dead letters now."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_url).path[1:])
    name = f"{unique}-nudge"

    def apply(queue: str) -> None:
        _rabbitmqctl("set_policy", "-p", vhost, name, f"^{_escape(queue)}$", '{"max-length": 1000000}',
                     "--apply-to", "queues")

    yield apply
    _rabbitmqctl("clear_policy", "-p", vhost, name)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _escape(name: str) -> str:
    return name.replace(".", r"\.")


async def _delete(bus: Bus, queue: str) -> None:
    channel = await bus.connection.channel()
    await channel.queue_delete(queue)
    await channel.close()


async def test_a_retry_that_expires_while_its_queue_is_gone_is_delivered_when_it_is_back(bus, unique, nudge):
    queue, calls = f"{unique}.q", []

    async def fails_once(event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")

    spec = ConsumerSpec(queue, [f"{unique}.work"], fails_once)
    await bus.consume(spec)
    await bus.publish(new_event(f"{unique}.work", {}, source="/test"))
    await eventually(lambda: _depth(bus, f"{queue}.retry", 1))  # waiting for its retry
    await bus.drain(timeout=5)
    await _delete(bus, queue)  # the target is unavailable when the retry falls due
    await eventually(lambda: _depth(bus, f"{queue}.retry", 0), timeout=30)  # it has expired
    await bus.consume(spec)  # the queue is back (empty), its consumer too
    nudge(f"{queue}.retry")
    await eventually(lambda: len(calls) >= 2, timeout=30)
    assert set(calls) == {calls[0]}


async def test_a_message_over_the_delivery_limit_waits_for_a_missing_dlq(bus, unique, nudge):
    queue = f"{unique}.q"
    channel = await bus.connection.channel()
    await bus.declare_queue(channel, queue, [f"{unique}.crash"])
    await channel.close()
    await _delete(bus, f"{queue}.dlq")
    poison = new_event(f"{unique}.crash", {}, source="/test")
    await bus.publish(poison)
    for _ in range(bus.max_attempts + 1):  # a message that kills its consumer every time: never acked
        channel = await bus.connection.channel()
        message = await (await channel.declare_queue(queue, passive=True)).get(timeout=5, fail=False)
        await channel.close()
        if message is None:
            break
    await eventually(lambda: _depth(bus, queue, 0))  # over the limit: out of the queue
    channel = await bus.connection.channel()
    await bus.declare_queue(channel, queue, [f"{unique}.crash"])  # the DLQ is declared again
    await channel.close()
    nudge(queue)
    await eventually(lambda: _at_least(bus, f"{queue}.dlq", 1), timeout=30)
    assert (await get_one(bus.connection, f"{queue}.dlq")).message_id == poison.id


async def _depth(bus: Bus, queue: str, expected: int) -> bool:
    return await queue_depth(bus.connection, queue) == expected


async def _at_least(bus: Bus, queue: str, expected: int) -> bool:
    return await queue_depth(bus.connection, queue) >= expected
