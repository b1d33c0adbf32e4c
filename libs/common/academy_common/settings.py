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

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/academy"
    api_tokens: TokenMap = Field(default_factory=dict)
    academy_timezone: str = "UTC"
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    bus_exchange: str = "academy.events"
    # Isolation knobs for tests and shared brokers; production leaves them empty.
    queue_prefix: str = ""
    bus_queue_type: str = Field(default="quorum", pattern="^(quorum|classic)$")
    db_schema: str = ""
    # Connections one replica opens at most; a request, a consumer batch or the outbox relay holds one.
    db_pool_max_size: int = Field(default=10, ge=1, le=1000)
    consumer_prefetch: int = Field(default=16, ge=1, le=1000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_delay_s: float = Field(default=5.0, gt=0)
    consumer_outage_window_s: float = Field(default=1800.0, gt=0)
    publish_timeout_s: float = Field(default=10.0, gt=0)
    # Larger bodies are refused by publishers and dead-lettered unparsed by consumers. A 300-person
    # snapshot is ~0.3 MiB; keep it under RabbitMQ's max_message_size (128 MiB by default).
    bus_max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024)
    outbox_poll_s: float = Field(default=1.0, gt=0)
    # An outbox event the broker returns (no queue bound) waits 1 s, 2 s, 4 s ... up to the
    # maximum, and moves to outbox_dead after this many returns (about an hour with these).
    outbox_backoff_s: float = Field(default=1.0, gt=0)
    outbox_backoff_max_s: float = Field(default=300.0, gt=0)
    outbox_max_attempts: int = Field(default=20, ge=1, le=1000)
    drain_timeout_s: float = Field(default=25.0, gt=0)
    # Processed-event marks (consumer idempotency) are deleted at this age, checked every interval.
    processed_events_retention_s: float = Field(default=14 * 86400.0, gt=0)
    processed_events_prune_interval_s: float = Field(default=3600.0, gt=0)

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
