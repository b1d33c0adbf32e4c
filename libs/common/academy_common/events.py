"""CloudEvents 1.0 envelope in structured JSON mode."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
_NAMESPACE = uuid.UUID("8f7b2c1e-3d4a-5b6c-9d8e-7f6a5b4c3d2e")


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1, max_length=255)
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = None
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> CloudEvent:
        return cls.model_validate_json(body)


def deterministic_id(*parts: object) -> str:
    """The same parts give the same event id on every replica: duplicates dedupe downstream."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def new_event(
    type: str,
    data: dict[str, Any],
    *,
    source: str,
    id: str | None = None,
    subject: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    return CloudEvent(
        id=id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=time or datetime.now(UTC),
        subject=subject,
        data=data,
    )


def rfc3339(moment: datetime | None) -> str | None:
    """UTC, second precision or finer, 'Z' suffix: the one time format on the bus."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    if moment.tzinfo is not UTC:  # what the database and our parsers give needs no conversion
        moment = moment.astimezone(UTC)
    return moment.isoformat()[:-len("+00:00")] + "Z"


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is a valid RFC 3339 text but no UTC datetime
        raise ValueError("out of range") from None


_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _dated_text(value: object) -> object:
    """pydantic also reads numbers, and numeric text ("0.5"), as Unix times: an Instant is RFC 3339 text."""
    if isinstance(value, (int, float, Decimal)) or (isinstance(value, str) and not _DATE_START.match(value)):
        raise ValueError("expected an RFC 3339 date-time, such as 2026-10-15T10:00:00Z")
    return value


# A date-time in a request or an event: RFC 3339 text with an offset, converted to UTC (a
# validation error, not a crash, when it cannot be).
Instant = Annotated[AwareDatetime, BeforeValidator(_dated_text), AfterValidator(_in_utc)]


def refuse_nul(value: object) -> object:
    """A pydantic field validator (`field_validator("*")(refuse_nul)`): PostgreSQL text and
    jsonb cannot hold NUL, so a payload with one is poison, refused before any work."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("contains a NUL character")
    return value
