"""Settings from environment variables (12-factor), with the defaults of docs/architecture.md."""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MIN_PROCESSED_RETENTION_S = 86400.0
REDELIVERY_MARGIN = 4

ROLES = ("admin", "billing", "viewer")
MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Whom a token speaks for: a role, and the person or system named with the token, if any."""

    role: str
    name: str | None = None

    @property
    def actor(self) -> str:
        """What audit rows record: `admin:alice` for a named token, the bare role otherwise."""
        return f"{self.role}:{self.name}" if self.name else self.role


def parse_tokens(raw: object) -> dict[str, Principal]:
    """`role=token` or `role:name=token` items, comma-separated → {token: Principal}.

    Several tokens may share a role; a token may appear once only (under two roles it would
    be ambiguous). Errors name an item by its position, never by its text: it holds a secret.
    A dict ({token: "role" or "role:name"}) is checked the same way.
    """
    tokens: dict[str, Principal] = {}
    first_seen: dict[str, int] = {}
    for position, (spec, token) in enumerate(_items(raw), start=1):
        principal = _principal(position, spec, token)
        if token in first_seen:
            raise ValueError(f"API_TOKENS items {first_seen[token]} and {position} carry the same token")
        first_seen[token], tokens[token] = position, principal
    return tokens


def _items(raw: object) -> list[tuple[str | None, str]]:
    """(role[:name] or None when there is no `=`, token) per item."""
    if isinstance(raw, dict):
        return [(spec.actor if isinstance(spec, Principal) else str(spec), str(token).strip())
                for token, spec in raw.items()]
    items = []
    for item in (part.strip() for part in str(raw or "").split(",")):
        if item:
            spec, sep, token = item.partition("=")
            items.append((spec if sep else None, token.strip()))
    return items


def _principal(position: int, spec: str | None, token: str) -> Principal:
    where = f"API_TOKENS item {position}"
    if spec is None or not token:
        raise ValueError(f"{where} is not role=token (or role:name=token)")
    role, colon, name = (part.strip() for part in spec.partition(":"))
    if role not in ROLES:
        raise ValueError(f"{where}: the role is not one of {', '.join(ROLES)}")
    if colon and not _NAME.match(name):
        raise ValueError(f"{where}: a name is 1-64 letters, digits or . _ @ - (starting with a letter or digit)")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"{where}: the token is shorter than {MIN_TOKEN_LENGTH} characters")
    return Principal(role, name or None)


TokenMap = Annotated[dict[str, Principal], NoDecode, BeforeValidator(parse_tokens)]


class ServiceSettings(BaseSettings):
    """What every service reads. Services subclass it and add their own fields."""

    # Errors never repeat a value: API_TOKENS and the URLs hold secrets.
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore",
                                      hide_input_in_errors=True)

    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/",
                          description="RabbitMQ URL (a secret: from `academy-secrets` in Kubernetes)")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/academy",
                              description="PostgreSQL URL (a secret: from `academy-secrets` in Kubernetes)")
    api_tokens: TokenMap = Field(default_factory=dict, description=(
        "`role=token` or `role:name=token` items, comma-separated (a secret); see [API tokens](#api-tokens)"))
    academy_timezone: str = Field(default="UTC", description=(
        "the zone that decides which day and month a class falls in (bills): change it only between billing periods"))
    http_host: str = Field(default="127.0.0.1", description=(
        "the address the HTTP server binds: loopback only in development; containers (compose, Kubernetes) set "
        "`0.0.0.0` explicitly"))
    http_port: int = Field(default=8080, ge=0, le=65535, description=(
        "the HTTP port (0: any free port); set per Deployment in Kubernetes"))
    log_level: str = Field(default="INFO", description="structlog level")
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$", description=(
        "`json` (one object a line on stdout), `console`, or `auto`: console on a terminal, JSON otherwise"))
    bus_exchange: str = Field(default="academy.events", description="the topic exchange every event goes through")
    # Isolation knobs for tests and shared brokers; production leaves them empty.
    queue_prefix: str = Field(default="", description=(
        "prefix of every queue name (isolates test runs on a shared broker; production leaves it empty)"))
    bus_queue_type: str = Field(default="quorum", pattern="^(quorum|classic)$", description=(
        "queue type the topology declares: `quorum` in production, `classic` only for tests"))
    db_schema: str = Field(default="", description=(
        "the service's PostgreSQL schema (empty: the service's own name); tests isolate themselves with it"))
    db_pool_max_size: int = Field(default=10, ge=1, le=1000, description=(
        "database connections one replica opens at most. A billing CSV export holds one only while it reads "
        "the month into a temporary file (memory up to 4 MiB, then `/tmp`, 1 GiB on billing pods), never while "
        "the client downloads it"))
    consumer_prefetch: int = Field(default=16, ge=1, le=1000, description=(
        "unacknowledged messages a consumer takes at once (the fetchers use `FETCH_CONCURRENCY`)"))
    consumer_max_attempts: int = Field(default=5, ge=1, le=100, description=(
        "tries of a failing handler before its message is dead-lettered (the quorum queue's delivery limit)"))
    consumer_retry_delay_s: float = Field(default=5.0, gt=0, description=(
        "wait in the retry queue between two tries (its `x-message-ttl`)"))
    consumer_outage_window_s: float = Field(default=1800.0, gt=0, description=(
        "while PostgreSQL or RabbitMQ is down a message is retried without counting tries, for at most this long"))
    publish_timeout_s: float = Field(default=10.0, gt=0, description="wait for the broker to confirm one publish")
    bus_max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024, description=(
        "largest event body (4 MiB; a 300-person snapshot is ~0.3 MiB): a publisher refuses a larger one (an "
        "outbox relay moves it to `outbox_dead`), a consumer dead-letters it unread (`x-error: message too "
        "large: …`). Keep it below RabbitMQ's `max_message_size`"))
    outbox_poll_s: float = Field(default=1.0, gt=0, description="how often the outbox relay looks for new events")
    outbox_backoff_s: float = Field(default=1.0, gt=0, description=(
        "first wait of an outbox event the broker returned (no queue bound); doubles each return"))
    outbox_backoff_max_s: float = Field(default=300.0, gt=0, description="longest such wait")
    outbox_max_attempts: int = Field(default=20, ge=1, le=1000, description=(
        "returns before the event moves to `outbox_dead` (about an hour with the defaults)"))
    drain_timeout_s: float = Field(default=25.0, gt=0, description=(
        "on SIGTERM, how long handlers in flight may finish; see [Graceful shutdown](#graceful-shutdown)"))
    processed_events_retention_s: float = Field(default=14 * 86400.0, gt=0, description=(
        "consumers' processed-event marks (idempotency) are deleted at this age (14 days), never under the "
        "redelivery bound; see [Processed events](#processed-events)"))
    processed_events_prune_interval_s: float = Field(default=3600.0, gt=0, description=(
        "how often those marks are pruned"))

    @field_validator("academy_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.academy_timezone)

    @property
    def redelivery_bound_s(self) -> float:
        """The shortest retention of processed-event marks that is safe against a late copy.

        After its mark commits, an event comes again only as a copy: its ack lost with a
        connection (requeued at once), the outbox publishing it twice (the next poll), or a
        retry hop of a copy whose handling failed: within the outage window plus every retry
        delay. Four times that, and never under a day.
        """
        in_flight = self.consumer_outage_window_s + self.consumer_max_attempts * self.consumer_retry_delay_s
        return max(MIN_PROCESSED_RETENTION_S, REDELIVERY_MARGIN * in_flight)

    @model_validator(mode="after")
    def _marks_outlive_redelivery(self):
        if self.processed_events_retention_s < self.redelivery_bound_s:
            raise ValueError(
                f"PROCESSED_EVENTS_RETENTION_S must be at least {self.redelivery_bound_s:.0f} s (a day, and "
                f"{REDELIVERY_MARGIN}x CONSUMER_OUTAGE_WINDOW_S + CONSUMER_MAX_ATTEMPTS x CONSUMER_RETRY_DELAY_S): "
                "a redelivered event whose mark was pruned would be applied twice")
        return self


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Read settings; a bad value stops start-up with one clear line."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        print(f"configuration error: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
