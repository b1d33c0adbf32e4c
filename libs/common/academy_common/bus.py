"""RabbitMQ on aio-pika: topology, confirmed publishing and consuming with a bounded retry path.

Topology for a consumer queue Q (all durable):
  academy.events (topic) --routing keys--> Q (quorum; delivery limit; dead-letters to Q.dlq)
  Q.retry (quorum, message TTL) --expires--> default exchange --> Q   (delayed retry)
  Q.dlq   (quorum)  poison messages, with the error in their headers

Both broker hops (Q.retry → Q, Q → Q.dlq) dead-letter at least once: the source quorum queue
keeps a message until the target has confirmed it, so a target that is missing or unavailable
at that moment delays the message instead of dropping it (RabbitMQ's default, at most once,
drops it). The whole topology of the system is declared from `academy_common.topology`.

`queue_type="classic"` declares the same topology with classic queues (no broker-side
delivery limit): the service tests use it because a broker creates and drops classic queues
in a fraction of the time quorum queues take, and those tests create hundreds of queues.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from aiormq.exceptions import AMQPError, ChannelInvalidStateError, DeliveryError
from pamqp.commands import Basic
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from academy_common.events import CONTENT_TYPE, CloudEvent
from academy_common.settings import DEFAULT_MAX_MESSAGE_BYTES

log = structlog.get_logger(__name__)

PUBLISHED = Counter("bus_messages_published_total", "Events published and confirmed", ["type"])
CONSUMED = Counter("bus_messages_consumed_total", "Messages consumed by outcome", ["queue", "outcome"])
BATCHED = Histogram("bus_batch_size", "Events handled together in one batch (batch consumers)", ["queue"],
                    buckets=(1, 2, 4, 8, 16, 32, 64))

ATTEMPT_HEADER = "x-academy-attempt"
ORIGINAL_KEY_HEADER = "x-original-routing-key"
OUTAGE_HEADER = "x-academy-outage-since"
Handler = Callable[[CloudEvent], Awaitable[None]]
BatchHandler = Callable[[list[CloudEvent]], Awaitable[None]]
BATCHES_IN_FLIGHT = 2  # per consumer: one fills (and computes) while the other is in the database


class PublishError(RuntimeError):
    """The broker did not confirm the message (nack, unroutable return, or timeout)."""


class UnroutableError(PublishError):
    """The broker returned the message: no queue is bound to its routing key."""


class PermanentError(Exception):
    """Retrying cannot help (malformed or contradictory input): the message goes to the DLQ."""


@dataclass
class ConsumerSpec:
    queue: str
    routing_keys: list[str]
    handler: Handler
    prefetch: int | None = None
    # Optional: the events delivered together, handled at once (one transaction instead of
    # one each). If it fails, each message goes through `handler` with the usual retries.
    batch_handler: BatchHandler | None = None
    max_batch: int = 32


@dataclass
class Consumer:
    spec: ConsumerSpec
    channel: aio_pika.abc.AbstractChannel
    queue: aio_pika.abc.AbstractQueue
    tag: str = ""
    in_flight: set[asyncio.Task] = field(default_factory=set)
    waiting: list[AbstractIncomingMessage] = field(default_factory=list)  # for a batch


class Bus:
    def __init__(self, connection: AbstractRobustConnection, exchange_name: str, *,
                 publish_timeout: float, max_attempts: int, retry_delay_s: float, prefetch: int,
                 queue_type: str = "quorum", outage_window_s: float = 1800.0,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES):
        self.connection = connection
        self.exchange_name = exchange_name
        self.publish_timeout = publish_timeout
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.prefetch = prefetch
        self.queue_type = queue_type
        self.outage_window_s = outage_window_s
        self.max_message_bytes = max_message_bytes
        self.consumers: list[Consumer] = []
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    @classmethod
    async def connect(cls, url: str, exchange: str = "academy.events", *, publish_timeout: float = 10.0,
                      max_attempts: int = 5, retry_delay_s: float = 5.0, prefetch: int = 16,
                      queue_type: str = "quorum", outage_window_s: float = 1800.0,
                      max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Bus:
        connection = await aio_pika.connect_robust(url, client_properties={"connection_name": exchange})
        bus = cls(connection, exchange, publish_timeout=publish_timeout, max_attempts=max_attempts,
                  retry_delay_s=retry_delay_s, prefetch=prefetch, queue_type=queue_type,
                  outage_window_s=outage_window_s, max_message_bytes=max_message_bytes)
        bus._channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        bus._exchange = await bus._channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        return bus

    @property
    def is_ready(self) -> bool:
        return not self.connection.is_closed and self._channel is not None and not self._channel.is_closed

    # -- publishing -------------------------------------------------------------------------

    async def publish(self, event: CloudEvent) -> None:
        await self.publish_raw(event.to_json(), routing_key=event.type, message_id=event.id)

    async def publish_raw(self, body: bytes, *, routing_key: str, message_id: str,
                          exchange: aio_pika.abc.AbstractExchange | None = None,
                          headers: dict | None = None) -> None:
        """Publish and wait for the broker's confirm; a message no queue takes is an error.

        A body over `max_message_bytes` is refused here (PermanentError), so the producer
        finds out instead of every consumer dead-lettering it.
        """
        if len(body) > self.max_message_bytes:
            raise PermanentError(f"{routing_key} {message_id}: {self._too_large(body)}")
        await self._send(body, routing_key=routing_key, message_id=message_id, exchange=exchange, headers=headers)

    async def _send(self, body: bytes, *, routing_key: str, message_id: str,
                    exchange: aio_pika.abc.AbstractExchange | None, headers: dict | None) -> None:
        message = aio_pika.Message(
            body, content_type=CONTENT_TYPE, message_id=message_id, type=routing_key,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers=headers or {},
        )
        target = exchange or self._exchange
        assert target is not None, "Bus.connect() first"
        try:
            confirmation = await target.publish(message, routing_key, mandatory=True, timeout=self.publish_timeout)
        except DeliveryError as exc:
            raise UnroutableError(f"{routing_key} {message_id}: returned by the broker (no queue bound?)") from exc
        except TimeoutError as exc:
            raise PublishError(f"{routing_key} {message_id}: no confirm within {self.publish_timeout}s") from exc
        if not isinstance(confirmation, Basic.Ack):
            raise PublishError(f"{routing_key} {message_id}: broker answered {confirmation!r}")
        PUBLISHED.labels(routing_key).inc()

    # -- topology ---------------------------------------------------------------------------

    async def declare_queue(self, channel: aio_pika.abc.AbstractChannel, name: str,
                            routing_keys: list[str]) -> aio_pika.abc.AbstractQueue:
        kind = {"x-queue-type": self.queue_type}
        quorum = self.queue_type == "quorum"
        # A handler that kills its process never acks: after this many deliveries a quorum
        # queue dead-letters the message itself, so a crash loop cannot spin forever.
        limit = {"x-delivery-limit": self.max_attempts} if quorum else {}
        # At-least-once dead-lettering needs a quorum source queue with reject-publish overflow
        # (with drop-head RabbitMQ falls back to at most once). No length limit is set, so
        # reject-publish never refuses a publish here. Classic queues (tests) cannot have it.
        safe = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"} if quorum else {}
        await channel.declare_queue(f"{name}.dlq", durable=True, arguments=kind)
        await channel.declare_queue(f"{name}.retry", durable=True, arguments={
            **kind,
            **safe,
            "x-message-ttl": int(self.retry_delay_s * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": name,
        })
        queue = await channel.declare_queue(name, durable=True, arguments={
            **kind,
            **limit,
            **safe,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": f"{name}.dlq",
        })
        exchange = await channel.get_exchange(self.exchange_name, ensure=False)
        for key in routing_keys:
            await queue.bind(exchange, routing_key=key)
        return queue

    # -- consuming --------------------------------------------------------------------------

    async def consume(self, spec: ConsumerSpec) -> Consumer:
        channel = await self.connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=spec.prefetch or self.prefetch)
        queue = await self.declare_queue(channel, spec.queue, spec.routing_keys)
        consumer = Consumer(spec, channel, queue)

        async def on_message(message: AbstractIncomingMessage) -> None:
            if spec.batch_handler is not None:
                self._wait_for_batch(consumer, message)
                return
            task = asyncio.current_task()
            consumer.in_flight.add(task)
            try:
                await self._handle(consumer, message)
            finally:
                consumer.in_flight.discard(task)

        consumer.tag = await queue.consume(on_message)
        self.consumers.append(consumer)
        log.info("consuming", queue=spec.queue, routing_keys=spec.routing_keys)
        return consumer

    def _wait_for_batch(self, consumer: Consumer, message: AbstractIncomingMessage) -> None:
        """Queue the message for the next batch. A worker started now runs after the deliveries
        already read from the socket, so under load a batch takes all of them."""
        consumer.waiting.append(message)
        # Not len(in_flight): a worker that has just found nothing left stays there until its
        # done callback runs, and a message arriving meanwhile would wait for the next delivery.
        if sum(not task.done() for task in consumer.in_flight) < BATCHES_IN_FLIGHT:
            task = asyncio.create_task(self._work_through_batches(consumer))
            consumer.in_flight.add(task)
            task.add_done_callback(consumer.in_flight.discard)

    async def _work_through_batches(self, consumer: Consumer) -> None:
        size = consumer.spec.max_batch
        while consumer.waiting:
            batch, consumer.waiting = consumer.waiting[:size], consumer.waiting[size:]
            # Delivered on a channel that has closed since: the broker redelivers those on the
            # new one, so handling them now would only do the work twice.
            batch = [message for message in batch if _channel_open(message)]
            if batch:
                await self._handle_batch(consumer, batch)

    async def _handle_batch(self, consumer: Consumer, messages: list[AbstractIncomingMessage]) -> None:
        """Fresh, well-formed events go to the batch handler together; everything else, and
        every message of a batch that failed, takes the one-by-one path with its retries and
        dead-lettering, so a poison message costs its batch only time."""
        together: list[tuple[AbstractIncomingMessage, CloudEvent]] = []
        alone: list[AbstractIncomingMessage] = []
        for message in messages:
            event = self._fresh_event(message)
            if event is None:
                alone.append(message)
            else:
                together.append((message, event))
        if together:
            queue = consumer.spec.queue
            try:
                with structlog.contextvars.bound_contextvars(queue=queue, batch=len(together)):
                    await consumer.spec.batch_handler([event for _, event in together])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("batch failed, handling its messages one by one", queue=queue, size=len(together),
                            error=_describe(exc))
                alone = messages
            else:
                for message, _ in together:
                    await _ack(message)
                CONSUMED.labels(queue, "ok").inc(len(together))
                BATCHED.labels(queue).observe(len(together))
        for message in alone:
            await self._handle(consumer, message)

    def _fresh_event(self, message: AbstractIncomingMessage) -> CloudEvent | None:
        """The event, unless the message is one to handle alone: a retry, too large, malformed."""
        if ATTEMPT_HEADER in (message.headers or {}) or len(message.body) > self.max_message_bytes:
            return None
        try:
            return CloudEvent.from_json(message.body)
        except ValidationError:
            return None

    async def _handle(self, consumer: Consumer, message: AbstractIncomingMessage) -> None:
        """Handle one message. If it can be neither acked nor sent on (the broker is in trouble),
        it goes back to the queue; a quorum queue's delivery limit bounds how often."""
        try:
            await self._handle_one(consumer, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("message returned to the queue", message_id=message.message_id, error=_describe(exc))
            with contextlib.suppress(ChannelInvalidStateError, AMQPError, OSError):
                await message.nack(requeue=True)
            CONSUMED.labels(consumer.spec.queue, "requeued").inc()

    async def _handle_one(self, consumer: Consumer, message: AbstractIncomingMessage) -> None:
        queue = consumer.spec.queue
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
        if len(message.body) > self.max_message_bytes:  # not even parsed: it could take all the memory
            await self._dead_letter(consumer, message, self._too_large(message.body))
            return
        try:
            event = CloudEvent.from_json(message.body)
        except ValidationError as exc:
            await self._dead_letter(consumer, message, f"not a CloudEvent: {_first_error(exc)}")
            return
        with structlog.contextvars.bound_contextvars(event_id=event.id, event_type=event.type, queue=queue):
            try:
                await consumer.spec.handler(event)
            except (PermanentError, ValidationError, asyncpg.DataError) as exc:
                # DataError: PostgreSQL refused a value of the event (a NUL in a text, a number
                # out of range); it would refuse it again on every retry.
                await self._dead_letter(consumer, message, _describe(exc))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # transient until proven otherwise: bounded retries
                await self._retry_or_give_up(consumer, message, attempt, exc)
            else:
                await _ack(message)
                CONSUMED.labels(queue, "ok").inc()

    async def _retry_or_give_up(self, consumer: Consumer, message: AbstractIncomingMessage, attempt: int,
                                exc: Exception) -> None:
        """Handler errors get `max_attempts` tries. An outage of the database or the broker is
        not the message's fault: it does not use up tries, but is retried only for
        `outage_window_s` from its first failure, so even that retry is bounded."""
        queue, headers = consumer.spec.queue, dict(message.headers or {})
        if _is_outage(exc):
            # Whole milliseconds: AMQP tables carry Python floats as 32-bit, which rounds an
            # epoch timestamp by up to a minute.
            now_ms = int(time.time() * 1000)
            since = int(headers.get(OUTAGE_HEADER) or now_ms)
            if now_ms - since < self.outage_window_s * 1000:
                log.warning("dependency unavailable, will retry", error=_describe(exc))
                await self._forward(message, f"{queue}.retry", {ATTEMPT_HEADER: attempt - 1, OUTAGE_HEADER: since})
                await _ack(message)
                CONSUMED.labels(queue, "retried").inc()
                return
            await self._dead_letter(consumer, message, f"outage lasted over {self.outage_window_s:.0f}s: "
                                                       f"{_describe(exc)}")
        elif attempt >= self.max_attempts:
            await self._dead_letter(consumer, message, f"gave up after {attempt} attempts: {_describe(exc)}")
        else:
            log.warning("handler failed, will retry", attempt=attempt, error=_describe(exc))
            await self._forward(message, f"{queue}.retry", {ATTEMPT_HEADER: attempt})
            await _ack(message)
            CONSUMED.labels(queue, "retried").inc()

    async def _dead_letter(self, consumer: Consumer, message: AbstractIncomingMessage, reason: str) -> None:
        log.error("poison message to the dead-letter queue", reason=reason, message_id=message.message_id)
        await self._forward(message, f"{consumer.spec.queue}.dlq", {
            "x-error": reason[:1000],
            "x-failed-at": datetime.now(UTC).isoformat(),
        })
        await _ack(message)
        CONSUMED.labels(consumer.spec.queue, "dead_lettered").inc()

    def _too_large(self, body: bytes) -> str:
        return f"message too large: {len(body)} bytes > {self.max_message_bytes}"

    async def _forward(self, message: AbstractIncomingMessage, queue_name: str, headers: dict) -> None:
        """Send a copy straight to one queue via the default exchange, confirmed, before acking.

        No size check: the message is on the broker already, and an oversized one must reach its DLQ.
        """
        assert self._channel is not None
        kept = dict(message.headers or {})
        kept.setdefault(ORIGINAL_KEY_HEADER, message.routing_key or "")
        await self._send(
            message.body, routing_key=queue_name, message_id=message.message_id or "",
            exchange=self._channel.default_exchange, headers={**kept, **headers},
        )

    # -- shutdown ---------------------------------------------------------------------------

    async def drain(self, timeout: float) -> None:
        """Stop taking messages, let in-flight handlers finish (or be redelivered), close."""
        for consumer in self.consumers:
            if consumer.tag and not consumer.channel.is_closed:
                await consumer.queue.cancel(consumer.tag)
        pending = {t for c in self.consumers for t in c.in_flight}
        if pending:
            log.info("draining in-flight messages", count=len(pending))
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:  # unacked: the broker redelivers them to another replica
                task.cancel()
        for consumer in self.consumers:
            await consumer.channel.close()
        self.consumers.clear()

    async def close(self, drain_timeout: float = 25.0) -> None:
        await self.drain(drain_timeout)
        await self.connection.close()


def _channel_open(message: AbstractIncomingMessage) -> bool:
    try:
        return message.channel is not None
    except ChannelInvalidStateError:
        return False


async def _ack(message: AbstractIncomingMessage) -> None:
    """Ack, unless the message's channel or connection is gone: the broker puts the message
    back for redelivery then (consumers are idempotent), and an ack could not reach it anyway."""
    try:
        await message.ack()
    except (ChannelInvalidStateError, AMQPError, ConnectionError) as exc:
        log.info("ack not delivered; the broker redelivers the message", message_id=message.message_id,
                 error=_describe(exc))


def _is_outage(exc: BaseException) -> bool:
    """Errors that say a dependency is down, not that the message is bad."""
    return isinstance(exc, (OSError, PublishError, AMQPError, asyncpg.PostgresConnectionError,
                            asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                            asyncpg.TooManyConnectionsError))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return f"invalid payload: {_first_error(exc)}"
    return f"{type(exc).__name__}: {exc}"
