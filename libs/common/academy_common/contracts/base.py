"""What every event payload shares: the base model, the field types and the rules of the bus.

Consumers validate leniently where the wire allows it (unknown fields are ignored, a field a
consumer does not need may be missing), producers strictly: a field the contract does not
name is an error at the producer (`produce`), never a field silently dropped.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from academy_common.events import Instant, refuse_nul, rfc3339

_PRODUCING = "producing"
_INT64 = 2**63


def _int64(value: int) -> int:
    if value >= _INT64:
        raise ValueError("out of the 64-bit range of ids")
    return value


# A date-time on the bus: an offset required, UTC once parsed, written back as rfc3339 ('Z').
Time = Annotated[Instant, PlainSerializer(rfc3339, return_type=str),
                 WithJsonSchema({"type": "string", "format": "date-time", "pattern": "Z$",
                                 "description": "RFC 3339 in UTC"})]
Id = Annotated[int, Field(gt=0), AfterValidator(_int64), WithJsonSchema({"type": "integer", "minimum": 1,
                                                                         "maximum": _INT64 - 1})]
Version = Annotated[int, Field(ge=1, lt=2**31)]
Text = Annotated[str, Field(max_length=1000)]
# A session id where no consumer reads it as a UUID: checked by the schema, not refused by readers.
SessionRef = Annotated[str, Field(max_length=100, json_schema_extra={"format": "uuid"})]
FetchReason = Literal["active", "final", "retry", "manual"]
FinalReason = Literal["calls_ended", "grace_expired", "no_meeting_found"]


class Payload(BaseModel):
    """The `data` of an event, or a part of it."""

    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_serialization_defaults_required=True)

    _storable = field_validator("*")(refuse_nul)  # PostgreSQL text and jsonb cannot hold NUL

    @model_validator(mode="before")
    @classmethod
    def _named_fields_only_from_producers(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get(_PRODUCING) and isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"not in the {cls.__name__} contract: {', '.join(unknown)}")
        return data

    @classmethod
    def produce(cls, data: dict[str, Any]) -> Self:
        """The payload a producer sends: every field checked, none unknown."""
        return cls.model_validate(data, context={_PRODUCING: True})

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ScheduledWindow(Payload):
    scheduled_start: Time
    scheduled_end: Time

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.scheduled_end <= self.scheduled_start:
            raise ValueError("scheduled_end must be after scheduled_start")
        return self

