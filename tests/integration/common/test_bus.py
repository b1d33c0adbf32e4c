"""Publishing, consuming, idempotency, retries and the dead-letter queue on the real broker."""
from __future__ import annotations

import asyncio

import aio_pika
import pytest

from academy_common.bus import ATTEMPT_HEADER, Bus, ConsumerSpec, PermanentError, PublishError
from academy_common.consumer import idempotent
from academy_common.events import new_event
from tests.support.waiting import counted, eventually, get_one, queue_depth

CONSUMED = "bus_messages_consumed_total"


async def test_publish_consume_round_trip(bus, unique):
    received = []

    async def handler(event):
        received.append(event)

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.ping"], handler))
    sent = new_event(f"{unique}.ping", {"n": 1}, source="/test")
    await bus.publish(sent)
    await eventually(lambda: bool(received))
    assert received == [sent]


async def test_message_carries_cloudevents_properties(bus, unique):
    channel = await bus.connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(bus.exchange_name, f"{unique}.props")
    event = new_event(f"{unique}.props", {}, source="/test")
    await bus.publish(event)
    message = await queue.get(timeout=5)
    assert message.message_id == event.id
    assert message.content_type == "application/cloudevents+json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.routing_key == event.type
    await channel.close()


async def test_unroutable_publish_is_an_error(bus, unique):
    with pytest.raises(PublishError):
        await bus.publish(new_event(f"{unique}.nobody.listens", {}, source="/test"))


async def test_redelivery_does_not_double_the_effect(bus, pool, unique):
    async def record(conn, event):
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.id, event.data["value"])

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.put"], idempotent(pool, f"{unique}.q", record)))
    event = new_event(f"{unique}.put", {"value": 5}, source="/test")
    for _ in range(3):  # the same event id three times, as after a redelivery
        await bus.publish(event)
    await bus.publish(new_event(f"{unique}.put", {"value": 6}, source="/test"))
    await eventually(lambda: _handled(f"{unique}.q") == 4)  # every delivery, the three copies too
    assert await pool.fetchval('SELECT count(*) FROM effects') == 2


async def test_transient_failure_is_retried_then_succeeds(bus, unique):
    calls = []

    async def flaky(event):
        calls.append(event.id)
        if len(calls) < 3:
            raise ConnectionError("database went away")

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.flaky"], flaky))
    await bus.publish(new_event(f"{unique}.flaky", {}, source="/test"))
    await eventually(lambda: _handled(f"{unique}.q") == 1)  # acked after the third call: nothing left to retry
    assert len(calls) == 3 and counted(CONSUMED, queue=f"{unique}.q", outcome="retried") == 2
    assert await queue_depth(bus.connection, f"{unique}.q.retry") == 0
    assert await queue_depth(bus.connection, f"{unique}.q.dlq") == 0


async def test_a_message_that_cannot_be_sent_to_its_retry_queue_goes_back_to_its_queue(bus, unique, monkeypatch):
    """The handler failed and the copy for the retry queue was not confirmed: the message must
    not sit unacked on a live channel for ever, it comes back and is handled."""
    calls, forward = [], bus._forward

    async def flaky(event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")

    async def unconfirmed_once(message, queue_name, headers):
        monkeypatch.setattr(bus, "_forward", forward)
        raise PublishError("no confirm within 5s")

    monkeypatch.setattr(bus, "_forward", unconfirmed_once)
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.flaky"], flaky))
    await bus.publish(new_event(f"{unique}.flaky", {}, source="/test"))
    await eventually(lambda: len(calls) == 2)
    await bus.drain(timeout=5)
    assert await queue_depth(bus.connection, f"{unique}.q") == 0


async def test_poison_reaches_the_dlq_after_bounded_tries_and_the_consumer_goes_on(bus, unique):
    calls, good = [], []

    async def handler(event):
        if event.data.get("poison"):
            calls.append(event.id)
            raise RuntimeError("cannot handle this")
        good.append(event.id)

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.work"], handler))
    poison = new_event(f"{unique}.work", {"poison": True}, source="/test")
    await bus.publish(poison)
    await eventually(lambda: _depth(bus, f"{unique}.q.dlq", 1))
    assert len(calls) == bus.max_attempts == 3
    later = new_event(f"{unique}.work", {}, source="/test")
    await bus.publish(later)
    await eventually(lambda: good == [later.id])
    dead = await get_one(bus.connection, f"{unique}.q.dlq")
    assert dead.message_id == poison.id
    assert "RuntimeError: cannot handle this" in dead.headers["x-error"]
    assert dead.headers["x-original-routing-key"] == f"{unique}.work"
    assert dead.headers[ATTEMPT_HEADER] == 2


async def test_permanent_errors_and_bad_envelopes_go_to_the_dlq_at_once(bus, unique):
    calls = []

    async def handler(event):
        calls.append(event.id)
        raise PermanentError("class 7 does not exist")

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.bad"], handler))
    await bus.publish(new_event(f"{unique}.bad", {}, source="/test"))
    await bus.publish_raw(b"{not json", routing_key=f"{unique}.bad", message_id="garbage")
    await eventually(lambda: _depth(bus, f"{unique}.q.dlq", 2))
    assert len(calls) == 1
    reasons = sorted([(await get_one(bus.connection, f"{unique}.q.dlq")).headers["x-error"] for _ in range(2)])
    assert reasons[0].startswith("PermanentError") and reasons[1].startswith("not a CloudEvent")


async def test_drain_lets_the_in_flight_handler_finish(bus, pool, unique):
    started = asyncio.Event()

    async def slow(conn, event):
        started.set()
        await asyncio.sleep(0.5)
        await conn.execute("INSERT INTO effects VALUES ($1, 1)", event.id)

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.slow"], idempotent(pool, unique, slow)))
    await bus.publish(new_event(f"{unique}.slow", {}, source="/test"))
    await asyncio.wait_for(started.wait(), 5)
    await bus.drain(timeout=5)
    assert await pool.fetchval('SELECT count(*) FROM effects') == 1
    assert await queue_depth(bus.connection, f"{unique}.q") == 0


async def test_drain_timeout_returns_the_message_to_the_queue(bus, pool, unique):
    started = asyncio.Event()

    async def stuck(conn, event):
        started.set()
        await asyncio.sleep(30)

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.stuck"], idempotent(pool, unique, stuck)))
    await bus.publish(new_event(f"{unique}.stuck", {}, source="/test"))
    await asyncio.wait_for(started.wait(), 5)
    await bus.drain(timeout=0.2)
    await eventually(lambda: _depth(bus, f"{unique}.q", 1))


def _handled(queue: str) -> float:
    """Deliveries the consumer of `queue` handled and acked (a deduped copy counts too)."""
    return counted(CONSUMED, queue=queue, outcome="ok")


async def _depth(bus, queue: str, expected: int) -> bool:
    return await queue_depth(bus.connection, queue) == expected


async def test_a_message_that_keeps_killing_its_consumer_is_dead_lettered_by_the_broker(bus, unique):
    """A handler that crashes the process never acks; the queue's delivery limit ends the loop."""
    queue_name = f"{unique}.q"
    channel = await bus.connection.channel()
    await bus.declare_queue(channel, queue_name, [f"{unique}.crash"])
    await channel.close()
    await bus.publish(new_event(f"{unique}.crash", {}, source="/test"))
    for _ in range(bus.max_attempts + 1):
        channel = await bus.connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        message = await queue.get(timeout=5, fail=False)
        await channel.close()  # as if the process died mid-handler: no ack
        if message is None:
            break
    await eventually(lambda: _depth(bus, f"{queue_name}.dlq", 1))
    assert await queue_depth(bus.connection, queue_name) == 0


async def test_an_outage_longer_than_the_tries_does_not_dead_letter_healthy_messages(bus, unique):
    calls = []

    async def database_down_for_a_while(event):
        calls.append(event.id)
        if len(calls) <= bus.max_attempts + 2:
            raise ConnectionRefusedError("database is restarting")

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.outage"], database_down_for_a_while))
    await bus.publish(new_event(f"{unique}.outage", {}, source="/test"))
    await eventually(lambda: _handled(f"{unique}.q") == 1, timeout=20)  # handled in the end, and acked
    assert len(calls) == bus.max_attempts + 3
    assert counted(CONSUMED, queue=f"{unique}.q", outcome="dead_lettered") == 0
    assert await queue_depth(bus.connection, f"{unique}.q.dlq") == 0


async def test_an_outage_retry_is_still_bounded_in_time(bus, unique):
    bus.outage_window_s = 0.5

    async def never_back(event):
        raise ConnectionResetError("gone for good")

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.gone"], never_back))
    await bus.publish(new_event(f"{unique}.gone", {}, source="/test"))
    await eventually(lambda: _depth(bus, f"{unique}.q.dlq", 1), timeout=20)
    dead = await get_one(bus.connection, f"{unique}.q.dlq")
    assert dead.headers["x-error"].startswith("outage lasted over")


async def test_a_message_over_the_size_limit_is_refused_at_the_source(bus, unique):
    bus.max_message_bytes = 2048
    channel = await bus.connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(bus.exchange_name, f"{unique}.big")
    with pytest.raises(PermanentError, match=r"message too large: \d+ bytes > 2048"):
        await bus.publish(new_event(f"{unique}.big", {"pad": "x" * 2048}, source="/test"))
    with pytest.raises(PermanentError, match="message too large: 2049 bytes > 2048"):
        await bus.publish_raw(b"x" * 2049, routing_key=f"{unique}.big", message_id="one-too-many")
    await bus.publish_raw(b"x" * 2048, routing_key=f"{unique}.big", message_id="just-fits")
    message = await queue.get(timeout=5)
    assert message.message_id == "just-fits"
    assert await queue.get(timeout=5, fail=False) is None
    await channel.close()


async def test_a_message_over_the_size_limit_is_dead_lettered_unparsed(bus, amqp_url, unique):
    bus.max_message_bytes = 2048
    handled = []

    async def handler(event):
        handled.append(event.id)

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.big"], handler))
    producer = await Bus.connect(amqp_url, max_message_bytes=1024 * 1024)  # a producer with a larger limit
    try:
        big = new_event(f"{unique}.big", {"pad": "x" * 4096}, source="/test")
        small = new_event(f"{unique}.big", {"pad": "x"}, source="/test")
        await producer.publish(big)
        await producer.publish(small)
    finally:
        await producer.close(drain_timeout=1)
    await eventually(lambda: handled == [small.id])
    await eventually(lambda: _depth(bus, f"{unique}.q.dlq", 1))
    dead = await get_one(bus.connection, f"{unique}.q.dlq")
    assert dead.message_id == big.id and dead.body == big.to_json()
    assert dead.headers["x-error"] == f"message too large: {len(big.to_json())} bytes > 2048"
    assert ATTEMPT_HEADER not in dead.headers


async def test_a_value_postgresql_refuses_goes_to_the_dlq_at_once(bus, pool, unique):
    async def record(conn, event):
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.data["name"], event.data["value"])

    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.put"], idempotent(pool, f"{unique}.q", record)))
    await bus.publish(new_event(f"{unique}.put", {"name": "nul\u0000", "value": 1}, source="/test"))
    await bus.publish(new_event(f"{unique}.put", {"name": "big", "value": 2**40}, source="/test"))
    await eventually(lambda: _depth(bus, f"{unique}.q.dlq", 2))
    reasons = sorted([(await get_one(bus.connection, f"{unique}.q.dlq")).headers for _ in range(2)],
                     key=lambda h: h["x-error"])
    assert "0x00" in reasons[0]["x-error"] and "out of int32 range" in reasons[1]["x-error"]
    assert all(ATTEMPT_HEADER not in h for h in reasons)  # not retried: it would fail the same way
    assert await pool.fetchval("SELECT count(*) FROM effects") == 0
