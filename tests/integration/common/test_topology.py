"""`python -m academy_common.topology`: the deployment step that declares the whole topology."""
from __future__ import annotations

import asyncio
import os
import sys

import aio_pika
import pytest

from academy_common import topology
from academy_common.bus import Bus
from academy_common.events import new_event
from tests.support.waiting import queue_depth


async def test_the_command_declares_every_queue_with_at_least_once_dead_lettering(amqp_url, unique):
    env = {**os.environ, "AMQP_URL": amqp_url, "QUEUE_PREFIX": f"{unique}.", "BUS_EXCHANGE": f"{unique}.events",
           "CONSUMER_RETRY_DELAY_S": "5", "LOG_FORMAT": "json"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "academy_common.topology", env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    bus = await Bus.connect(amqp_url, f"{unique}.events", retry_delay_s=5)
    try:
        await bus.publish(new_event("class.scheduled", {}, source="/test"))  # routed: no consumer ran
        for definition in topology.QUEUES:
            expected = 1 if "class.scheduled" in definition.routing_keys else 0
            assert await queue_depth(bus.connection, f"{unique}.{definition.name}") == expected
        channel = await bus.connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="x-dead-letter-strategy"):
            await channel.declare_queue(f"{unique}.billing.events.retry", durable=True, arguments={
                "x-queue-type": "quorum", "x-message-ttl": 5000, "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": f"{unique}.billing.events"})  # the old, at-most-once arguments
    finally:
        await bus.connection.close()
