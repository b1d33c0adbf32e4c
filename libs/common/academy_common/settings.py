"""Settings from environment variables (12-factor), with the defaults of docs/architecture.md."""
from __future__ import annotations

import sys
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

ROLES = ("admin", "billing", "viewer")


def parse_tokens(raw: object) -> dict[str, str]:
    """`role=token,role=token` → {token: role}. Several tokens may share a role."""
    if isinstance(raw, dict):
        return raw
    tokens: dict[str, str] = {}
    for item in str(raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        role, sep, token = item.partition("=")
        role, token = role.strip(), token.strip()
        if not sep or not token:
            raise ValueError(f"API_TOKENS item {item!r} is not role=token")
        if role not in ROLES:
            raise ValueError(f"API_TOKENS role {role!r} is not one of {', '.join(ROLES)}")
        tokens[token] = role
    return tokens


TokenMap = Annotated[dict[str, str], NoDecode, BeforeValidator(parse_tokens)]


class ServiceSettings(BaseSettings):
    """What every service reads. Services subclass it and add their own fields."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

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
