"""Polling helpers for asynchronous effects (no fixed sleeps in tests)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import REGISTRY


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0, interval: float = 0.05) -> None:
    """Wait until `check()` is true; fail with a clear message after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def queue_depth(connection, name: str) -> int:
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count
    finally:
        await channel.close()


async def get_one(connection, name: str):
    """Take one message off a queue (acked), or None."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        message = await queue.get(timeout=5, fail=False)
        if message is not None:
            await message.ack()
        return message
    finally:
        await channel.close()


def counted(metric: str, **labels: str) -> float:
    """The sum of a Prometheus sample of this process over every label set matching `labels`
    (e.g. `counted("bus_messages_consumed_total", queue=q, outcome="ok")`): what a mechanism
    did, to wait on instead of a time in which it might have done it."""
    return sum(sample.value for family in REGISTRY.collect() for sample in family.samples
               if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()))
