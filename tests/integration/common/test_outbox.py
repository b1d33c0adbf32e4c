"""The transactional outbox: nothing lost across a crash, nothing doubled in effect."""
from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from academy_common import outbox
from academy_common.bus import ConsumerSpec
from academy_common.consumer import idempotent
from academy_common.events import new_event
from academy_common.outbox import OutboxRelay
from tests.support.waiting import counted, eventually

CONSUMED = "bus_messages_consumed_total"


async def _effects(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM effects")


async def _record(conn, event):
    await conn.execute("INSERT INTO effects VALUES ($1, 1)", event.id)


async def test_event_committed_before_a_crash_is_published_after_restart(bus, pool, unique):
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.done"], idempotent(pool, unique, _record)))
    event = new_event(f"{unique}.done", {}, source="/test")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, event)
    # No relay ran ("the process died after commit"). A new relay finds the row.
    relay = OutboxRelay(pool, bus, schema=unique, poll_s=0.1)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _is(pool, 1))
        await eventually(lambda: _outbox_empty(pool))
    finally:
        task.cancel()
    assert await _effects(pool) == 1


async def test_rolled_back_state_change_publishes_nothing(bus, pool, unique):
    event = new_event(f"{unique}.never", {}, source="/test")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.enqueue(conn, event)
            raise RuntimeError("state change failed")
    except RuntimeError:
        pass
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_crash_between_publish_and_delete_is_exactly_once_in_effect(bus, pool, unique, monkeypatch):
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.twice"], idempotent(pool, unique, _record)))
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, new_event(f"{unique}.twice", {}, source="/test"))
    relay = OutboxRelay(pool, bus, schema=unique)

    real_publish = bus.publish_raw

    async def publish_then_die(*args, **kwargs):
        await real_publish(*args, **kwargs)
        raise ConnectionResetError("died after the broker confirmed, before the delete")

    monkeypatch.setattr(bus, "publish_raw", publish_then_die)
    assert await relay.relay_once() == 0
    monkeypatch.setattr(bus, "publish_raw", real_publish)
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # still there: rolled back
    assert await relay.relay_once() == 1  # published again, same event id
    await eventually(lambda: counted(CONSUMED, queue=f"{unique}.q", outcome="ok") == 2)  # both copies handled
    assert await _effects(pool) == 1


async def test_notify_wakes_the_relay_and_several_relays_share_the_work(bus, pool, unique):
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.many"], idempotent(pool, unique, _record)))
    relays = [OutboxRelay(pool, bus, schema=unique, poll_s=30, batch=7) for _ in range(3)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        # Every relay has done its first round and waits on LISTEN with a 30 s poll: only a
        # NOTIFY can wake them within the 10 s below.
        await asyncio.wait_for(asyncio.gather(*(r.idle.wait() for r in relays)), 10)
        for chunk in range(5):
            async with pool.acquire() as conn, conn.transaction():
                await outbox.enqueue(conn, *[new_event(f"{unique}.many", {}, source="/test") for _ in range(20)])
        await eventually(lambda: _is(pool, 100), timeout=10)
    finally:
        for task in tasks:
            task.cancel()
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM effects") == 100


async def _is(pool, expected: int) -> bool:
    return await _effects(pool) == expected


async def _outbox_empty(pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_an_unroutable_event_does_not_hold_back_the_others(bus, pool, unique):
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.ok"], idempotent(pool, unique, _record)))
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, new_event(f"{unique}.nobody", {}, source="/test"),
                             new_event(f"{unique}.ok", {}, source="/test"))
    relay = OutboxRelay(pool, bus, schema=unique)
    assert await relay.relay_once() == 1
    await eventually(lambda: _is(pool, 1))
    assert await pool.fetchval("SELECT routing_key FROM outbox") == f"{unique}.nobody"


async def test_an_event_the_broker_will_never_take_moves_to_outbox_dead(bus, pool, unique):
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.ok"], idempotent(pool, unique, _record)))
    bus.max_message_bytes = 2048
    too_large = new_event(f"{unique}.ok", {"pad": "x" * 4096}, source="/test")
    unroutable = new_event(f"{unique}.nobody", {}, source="/test")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, too_large, unroutable, new_event(f"{unique}.ok", {}, source="/test"))
    relay = OutboxRelay(pool, bus, schema=unique)
    assert await relay.relay_once() == 1
    dead = await pool.fetch("SELECT * FROM outbox_dead")
    assert [(d["event_id"], d["routing_key"], bytes(d["body"])) for d in dead] == \
        [(too_large.id, too_large.type, too_large.to_json())]
    assert dead[0]["error"].endswith(f"message too large: {len(too_large.to_json())} bytes > 2048")
    assert dead[0]["created_at"] <= dead[0]["failed_at"]
    assert _dead_lettered(too_large.type) == 1
    # A broker that merely refused (no queue bound yet) is retried: that row stays.
    assert await pool.fetchval("SELECT array_agg(event_id) FROM outbox") == [unroutable.id]
    assert await relay.relay_once() == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox_dead") == 1
    assert _dead_lettered(too_large.type) == 1
    await eventually(lambda: _is(pool, 1))


def _dead_lettered(routing_key: str) -> float:
    return REGISTRY.get_sample_value("outbox_dead_lettered_total", {"type": routing_key}) or 0


async def test_a_relay_stopped_while_starting_gives_its_connection_back(bus, pool, unique):
    """Stopping a service right after it started must not leave the LISTEN connection
    acquired: the pool's close would then wait for it forever."""
    for steps in range(12):
        task = asyncio.create_task(OutboxRelay(pool, bus, schema=unique).run())
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await eventually(lambda: pool.get_idle_size() == pool.get_size(), timeout=5)


async def test_a_stop_that_comes_with_a_wake_up_still_stops_the_relay(bus, pool, unique):
    """On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives as the awaited
    thing completes: a NOTIFY at the moment of shutdown kept the relay running forever and the
    service's stop waiting for it."""
    relay = OutboxRelay(pool, bus, schema=unique, poll_s=30)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.idle.wait(), 10)  # the first round is done; the relay waits for a wake-up
    relay._wake.set()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done and task.cancelled()


async def test_unroutable_events_at_the_head_of_the_outbox_do_not_hold_back_the_ones_behind(bus, pool, unique):
    """A whole batch of events no queue takes sat at the head: every round picked the same rows
    again and nothing behind them was ever published."""
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.ok"], idempotent(pool, unique, _record)))
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, *[new_event(f"{unique}.nobody", {}, source="/test") for _ in range(3)],
                             new_event(f"{unique}.ok", {}, source="/test"))
    relay = OutboxRelay(pool, bus, schema=unique, batch=3, backoff_s=60)
    assert await relay.relay_once() == 0  # the three at the head, returned by the broker
    assert await relay.relay_once() == 1  # the one behind them
    await eventually(lambda: _is(pool, 1))
    waiting = await pool.fetch("SELECT attempts, next_attempt_at > now() + interval '50 s' AS later FROM outbox")
    assert [(w["attempts"], w["later"]) for w in waiting] == [(1, True)] * 3
    assert _unroutable(f"{unique}.nobody") == 3


async def test_an_unroutable_event_backs_off_exponentially_and_is_published_once_a_queue_is_bound(bus, pool, unique):
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, new_event(f"{unique}.late", {}, source="/test"))
    relay = OutboxRelay(pool, bus, schema=unique, backoff_s=10, backoff_max_s=25)
    delays = []
    for _ in range(3):
        await relay.relay_once()
        delays.append(await pool.fetchval("SELECT extract(epoch FROM next_attempt_at - now()) FROM outbox"))
        await pool.execute("UPDATE outbox SET next_attempt_at = '-infinity'")  # as if the wait were over
    assert [round(d / 5) * 5 for d in delays] == [10, 20, 25]  # 10·2^n, capped
    await bus.consume(ConsumerSpec(f"{unique}.q", [f"{unique}.late"], idempotent(pool, unique, _record)))
    assert await relay.relay_once() == 1
    await eventually(lambda: _is(pool, 1))


async def test_an_event_returned_max_attempts_times_moves_to_outbox_dead(bus, pool, unique):
    event = new_event(f"{unique}.nobody", {}, source="/test")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, event)
    relay = OutboxRelay(pool, bus, schema=unique, backoff_s=0.001, backoff_max_s=0.001, max_attempts=3)
    for _ in range(3):
        await eventually(lambda: pool.fetchval("SELECT next_attempt_at <= now() FROM outbox"))
        await relay.relay_once()
    assert await _outbox_empty(pool)
    dead = await pool.fetchrow("SELECT event_id, error FROM outbox_dead")
    assert dead["event_id"] == event.id and "returned by the broker" in dead["error"]
    assert _unroutable(event.type) == 2 and _dead_lettered(event.type) == 1


def _unroutable(routing_key: str) -> float:
    return REGISTRY.get_sample_value("outbox_unroutable_total", {"type": routing_key}) or 0
