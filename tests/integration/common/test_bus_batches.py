"""Batch consumption: the events delivered together go to one handler call in one transaction;
whatever fails there is handled again one by one, with the usual retries and dead-lettering."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel

from academy_common import bus as bus_module
from academy_common.bus import ATTEMPT_HEADER, Bus, Consumer, ConsumerSpec, PermanentError
from academy_common.consumer import idempotent, idempotent_batch
from academy_common.events import new_event
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually, get_one, queue_depth


class Put(BaseModel):
    value: int = 1


async def _record(conn, events):
    """A set-based handler: writes every event, and refuses the whole batch if one is bad."""
    for event in events:
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.id, Put(**event.data).value)
        if event.data.get("poison"):
            raise PermanentError("class 7 does not exist")


async def _record_one(conn, event):
    await _record(conn, [event])


def _watched(batches: list[list[str]], handler):
    """The batch handler, noting every call as it arrives (before any idempotency check)."""

    async def handle(events):
        batches.append([e.id for e in events])
        await handler(events)

    return handle


async def _declared(bus, queue: str, key: str) -> None:
    channel = await bus.connection.channel()
    await bus.declare_queue(channel, queue, [key])
    await channel.close()


async def _queued(bus, queue: str, key: str, events) -> None:
    """Put the events in the queue before anyone consumes it, so they are delivered together."""
    await _declared(bus, queue, key)
    for event in events:
        await bus.publish(event)


async def _consume_recorded(bus, pool, queue: str, key: str) -> tuple[list[list[str]], list[str]]:
    """Consume in batches into `effects`; returns the batch handler's calls and the one-by-one ones."""
    batches, alone = [], []

    async def one_by_one(event):
        alone.append(event.id)

    await bus.consume(ConsumerSpec(queue, [key], one_by_one,
                                   batch_handler=_watched(batches, idempotent_batch(pool, queue, _record))))
    return batches, alone


async def _effects(pool) -> list[str]:
    return sorted(await pool.fetchval("SELECT coalesce(array_agg(event_id), '{}') FROM effects"))


async def _depth(bus, queue: str, expected: int) -> bool:
    return await queue_depth(bus.connection, queue) == expected


async def test_events_delivered_together_are_handled_together_and_acked_once(bus, pool, unique):
    queue, key = f"{unique}.q", f"{unique}.put"
    events = [new_event(key, {}, source="/test") for _ in range(10)]
    await _queued(bus, queue, key, events)
    batches, alone = await _consume_recorded(bus, pool, queue, key)
    await eventually(lambda: _is(pool, events))
    await bus.drain(timeout=5)  # a message left unacked would go back to the queue here
    assert any(len(batch) > 1 for batch in batches)
    assert sorted(i for batch in batches for i in batch) == sorted(e.id for e in events)  # no redelivery
    assert alone == []
    assert await queue_depth(bus.connection, queue) == 0
    assert await _effects(pool) == sorted(e.id for e in events)
    assert REGISTRY.get_sample_value("bus_batch_size_sum", {"queue": queue}) == 10  # the metric SREs see


@pytest.mark.parametrize("poison_data, reason", [
    ({"poison": True}, "PermanentError: class 7 does not exist"),
    ({"value": "seven"}, "invalid payload: value: Input should be a valid integer"),
])
async def test_a_poison_event_is_dead_lettered_and_the_rest_of_its_batch_takes_effect_once(
        bus, pool, unique, poison_data, reason):
    queue, key = f"{unique}.q", f"{unique}.put"
    good = [new_event(key, {}, source="/test") for _ in range(8)]
    poison = new_event(key, poison_data, source="/test")
    await _queued(bus, queue, key, good[:4] + [poison] + good[4:])
    batches = []
    await bus.consume(ConsumerSpec(queue, [key], idempotent(pool, queue, _record_one),
                                   batch_handler=_watched(batches, idempotent_batch(pool, queue, _record))))
    await eventually(lambda: _depth(bus, f"{queue}.dlq", 1))
    await eventually(lambda: _is(pool, good))
    assert any(poison.id in batch and len(batch) > 1 for batch in batches)
    dead = await get_one(bus.connection, f"{queue}.dlq")
    assert dead.message_id == poison.id
    assert dead.headers["x-error"].startswith(reason)
    assert ATTEMPT_HEADER not in dead.headers  # dead-lettered at once, not retried
    await bus.drain(timeout=5)
    assert await _effects(pool) == sorted(e.id for e in good)  # the batch's own writes were rolled back
    assert await queue_depth(bus.connection, queue) == 0


async def test_a_failed_batch_falls_back_to_one_by_one_with_bounded_retries(bus, unique):
    queue, key = f"{unique}.q", f"{unique}.work"
    fine = [new_event(key, {}, source="/test") for _ in range(3)]
    flaky = new_event(key, {"fail": 1}, source="/test")
    broken = new_event(key, {"fail": bus.max_attempts + 1}, source="/test")
    await _queued(bus, queue, key, [fine[0], flaky, fine[1], broken, fine[2]])
    batches, calls = [], []

    async def deadlocked(events):
        raise RuntimeError("deadlock detected")

    async def one_by_one(event):
        calls.append(event.id)
        if calls.count(event.id) <= event.data.get("fail", 0):
            raise RuntimeError("deadlock detected")

    await bus.consume(ConsumerSpec(queue, [key], one_by_one, batch_handler=_watched(batches, deadlocked)))
    await eventually(lambda: _depth(bus, f"{queue}.dlq", 1))
    await eventually(lambda: calls.count(flaky.id) == 2)
    dead = await get_one(bus.connection, f"{queue}.dlq")
    assert dead.message_id == broken.id
    assert dead.headers["x-error"] == f"gave up after {bus.max_attempts} attempts: RuntimeError: deadlock detected"
    assert calls.count(broken.id) == bus.max_attempts
    assert all(calls.count(e.id) == 1 for e in fine)
    # A retry comes back alone: the batch handler saw each event once, on its first delivery.
    assert sorted(i for batch in batches for i in batch) == sorted(e.id for e in [*fine, flaky, broken])
    await bus.drain(timeout=5)
    assert await queue_depth(bus.connection, queue) == 0


async def test_a_malformed_message_does_not_fail_the_batch_it_arrives_with(bus, pool, unique):
    queue, key = f"{unique}.q", f"{unique}.put"
    await _declared(bus, queue, key)
    good = [new_event(key, {}, source="/test") for _ in range(2)]
    await bus.publish(good[0])
    await bus.publish_raw(b"{not json", routing_key=key, message_id="garbage")
    await bus.publish(good[1])
    _, alone = await _consume_recorded(bus, pool, queue, key)
    await eventually(lambda: _is(pool, good))
    await eventually(lambda: _depth(bus, f"{queue}.dlq", 1))
    assert (await get_one(bus.connection, f"{queue}.dlq")).headers["x-error"].startswith("not a CloudEvent")
    assert alone == []


async def test_drain_finishes_the_messages_waiting_for_a_batch(amqp_url, pool, unique):
    # Classic queues: a quorum queue keeps counting a cancelled consumer until it acks.
    bus = await Bus.connect(amqp_url, queue_type="classic", publish_timeout=5)
    queue, key = f"{unique}.q", f"{unique}.put"
    release, handling = asyncio.Event(), []

    async def slow(conn, events):
        handling.extend(e.id for e in events)
        await release.wait()
        await _record(conn, events)

    try:
        consumer = await bus.consume(ConsumerSpec(queue, [key], idempotent(pool, queue, _record_one),
                                                  batch_handler=idempotent_batch(pool, queue, slow)))
        sent = []
        while len(consumer.waiting) < 2:  # every batch in flight is stuck: the next ones queue up
            sent.append(new_event(key, {}, source="/test"))
            await bus.publish(sent[-1])
            await eventually(lambda: len(handling) + len(consumer.waiting) == len(sent))
        drained = asyncio.create_task(bus.drain(timeout=10))
        await eventually(lambda: _consumers(bus, queue, 0))  # no more deliveries
        release.set()
        await drained
        assert await _effects(pool) == sorted(e.id for e in sent)
        assert await queue_depth(bus.connection, queue) == 0
        channel = await bus.connection.channel()
        for name in (queue, f"{queue}.retry", f"{queue}.dlq"):
            await channel.queue_delete(name)
    finally:
        await bus.close(drain_timeout=1)


async def test_a_broker_connection_cut_mid_batch_strands_nothing(bus, pool, unique):
    """Both batch workers are inside the handler and a message waits for them when the
    connection drops. Their acks (and that waiting message) belong to a dead channel; the
    broker redelivers everything on the new one. Every event must take effect and be acked."""
    queue, key = f"{unique}.q", f"{unique}.put"
    proxy = await TcpProxy.for_url(bus_url := _amqp_url(bus)).start()
    cut_bus = await Bus.connect(proxy.url(bus_url) + "?reconnect_interval=0.2", queue_type="classic",
                                publish_timeout=5)
    release, handling = asyncio.Event(), []

    async def slow(conn, events):
        handling.append([e.id for e in events])
        await release.wait()
        await _record(conn, events)

    events = [new_event(key, {}, source="/test") for _ in range(5)]
    try:
        consumer = await cut_bus.consume(ConsumerSpec(queue, [key], idempotent(pool, queue, _record_one),
                                                      batch_handler=idempotent_batch(pool, queue, slow)))
        await bus.publish(events[0])
        await eventually(lambda: len(handling) == 1)
        await bus.publish(events[1])
        await eventually(lambda: len(handling) == 2)  # both workers are stuck in the handler
        await bus.publish(events[2])
        await eventually(lambda: len(consumer.waiting) == 1)
        await proxy.sever()
        await eventually(lambda: consumer.channel.is_closed)
        await proxy.restore()
        await eventually(lambda: len(consumer.waiting) >= 4)  # the three again, on the new channel
        release.set()
        await eventually(lambda: _is(pool, events[:3]))
        await bus.publish(events[3])  # the consumer still takes new work
        await eventually(lambda: _is(pool, events[:4]))
        await cut_bus.drain(timeout=5)  # a message left unacked would go back to the queue here
        assert await queue_depth(bus.connection, queue) == 0
    finally:
        await cut_bus.close(drain_timeout=1)
        await proxy.close()


def _amqp_url(bus) -> str:
    return str(bus.connection.url)


async def test_a_message_arriving_as_the_batch_worker_finishes_is_not_stranded(monkeypatch):
    """A delivery handled in the loop turn right after the last worker's last step, before its
    task's done callbacks run, must still get a worker. Fake messages: no broker can time a
    delivery that precisely."""
    monkeypatch.setattr(bus_module, "BATCHES_IN_FLIGHT", 1)  # with more, every worker must end at once
    bus = Bus(None, "academy.events", publish_timeout=1, max_attempts=3, retry_delay_s=0.1, prefetch=16)
    handled = []
    first, second = [_FakeMessage.of(new_event("x.put", {}, source="/test")) for _ in range(2)]

    async def handle_batch(events):
        handled.extend(e.id for e in events)
        if len(handled) == 1:  # delivered while this worker is about to find nothing left to do
            asyncio.get_running_loop().call_soon(bus._wait_for_batch, consumer, second)

    async def unused(event):
        raise AssertionError("the batch path never failed")

    consumer = Consumer(ConsumerSpec("x.q", ["x.put"], unused, batch_handler=handle_batch), None, None)
    bus._wait_for_batch(consumer, first)
    await eventually(lambda: len(handled) == 2, timeout=2)
    assert first.acked and second.acked


async def test_an_ack_lost_with_the_connection_does_not_strand_the_rest_of_the_batch():
    """The first ack of a batch fails as the connection drops: that message will be redelivered,
    and the worker must still ack the others rather than die between two acks."""
    bus = Bus(None, "academy.events", publish_timeout=1, max_attempts=3, retry_delay_s=0.1, prefetch=16)
    lost, kept = [_FakeMessage.of(new_event("x.put", {}, source="/test")) for _ in range(2)]
    lost.ack_fails = ConnectionResetError("connection reset by peer")
    handled = []

    async def handle_batch(events):
        handled.append([e.id for e in events])

    async def unused(event):
        raise AssertionError("the batch path never failed")

    consumer = Consumer(ConsumerSpec("x.q", ["x.put"], unused, batch_handler=handle_batch), None, None)
    bus._wait_for_batch(consumer, lost)
    bus._wait_for_batch(consumer, kept)  # delivered together: one batch
    await eventually(lambda: not any(not t.done() for t in consumer.in_flight), timeout=2)
    assert handled == [[lost.message_id, kept.message_id]]
    assert kept.acked and not lost.acked


@dataclass
class _FakeMessage:
    body: bytes
    message_id: str
    headers: dict = field(default_factory=dict)
    acked: bool = False
    channel: object = "open"
    ack_fails: Exception | None = None

    @classmethod
    def of(cls, event) -> _FakeMessage:
        return cls(event.to_json(), event.id)

    async def ack(self) -> None:
        if self.ack_fails is not None:
            raise self.ack_fails
        self.acked = True


async def test_idempotent_batch_handles_each_event_once(pool, unique):
    seen = []

    async def record(conn, events):
        seen.append([e.id for e in events])
        await _record(conn, events)

    a, b, c, d = [new_event(f"{unique}.put", {}, source="/test") for _ in range(4)]
    await idempotent(pool, unique, _record_one)(a)  # handled one by one earlier
    await idempotent_batch(pool, unique, record)([a, b, b, c])
    assert seen == [[b.id, c.id]]  # a already done; b twice in the batch counts once
    await idempotent_batch(pool, unique, record)([c, b, a])  # the whole batch redelivered
    assert seen == [[b.id, c.id]]
    await idempotent(pool, unique, _record_one)(b)  # the one-by-one path sees the batch's marks
    await idempotent_batch(pool, unique, record)([d, d])
    assert seen == [[b.id, c.id], [d.id]]
    assert await _effects(pool) == sorted([a.id, b.id, c.id, d.id])


async def test_a_failed_idempotent_batch_leaves_no_marks(pool, unique):
    events = [new_event(f"{unique}.put", {}, source="/test") for _ in range(2)]
    events.append(new_event(f"{unique}.put", {"poison": True}, source="/test"))
    with pytest.raises(PermanentError):
        await idempotent_batch(pool, unique, _record)(events)
    assert await pool.fetchval("SELECT count(*) FROM processed_events WHERE consumer = $1", unique) == 0
    assert await _effects(pool) == []
    seen = []

    async def record(conn, batch):
        seen.extend(e.id for e in batch)

    await idempotent_batch(pool, unique, record)(events)
    assert seen == [e.id for e in events]  # nothing was marked done by the failed try


async def _is(pool, events) -> bool:
    return await _effects(pool) == sorted(e.id for e in events)


async def _consumers(bus, queue: str, expected: int) -> bool:
    channel = await bus.connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.consumer_count == expected
    finally:
        await channel.close()
